"""The performance chapter's cost widget, driven from Python and checked against the cost model."""

from __future__ import annotations

import re

import pytest

from bookkit.chapters import performance as ch
from simcore import costmodel as cm


@pytest.fixture(scope="module")
def explorer():
    ex = ch.explorer()
    yield ex
    print(f"performance explorer: last update {ex.last_ms:.1f} ms")


def shown_ms(explorer) -> float:
    m = re.search(r"<b>([0-9.]+) ms</b> estimated", explorer.output.value)
    assert m, explorer.output.value[:200]
    return float(m.group(1))


def set_values(explorer, **values):
    for name, value in values.items():
        explorer.controls[name].value = value
    print(f"performance explorer {values}: {explorer.last_ms:.1f} ms")


def test_default_is_the_cover_letter_workload(explorer):
    set_values(explorer, arch="arm64", folio="64K", mode="patched", size="256M")
    assert explorer.error is None
    want = cm.predict("arm64", "patched", 64 << 10)
    assert explorer.result["ns"] == pytest.approx(want, rel=1e-12)
    assert shown_ms(explorer) == pytest.approx(want / 1e6, abs=0.006)
    # the calibration meets the measurement, so the widget shows the cover letter's number
    measured = next(m.ns for m in cm.MEASUREMENTS if (m.arch, m.mode) == ("arm64", "patched"))
    assert explorer.result["ns"] == pytest.approx(measured, rel=0.01)
    assert explorer.result["speedup"] == pytest.approx(
        cm.predict("arm64", "baseline") / cm.predict("arm64", "patched"), rel=1e-12)


def test_breakdown_adds_up_and_matches_the_model(explorer):
    set_values(explorer, arch="x86_64", folio="128K", mode="baseline", size="64M")
    r = explorer.result
    counts = cm.counters_dict("x86_64", "baseline", size=64 << 20, folio=128 << 10)
    assert r["counters"] == counts
    assert sum(r["breakdown"].values()) == pytest.approx(r["ns"], rel=1e-12)
    assert r["ns"] == pytest.approx(
        cm.estimate_ns(counts, "x86_64", (64 << 20) // (128 << 10), folio_bytes=128 << 10),
        rel=1e-12)
    for stack in ("fixed", "tlb", "calls"):
        assert ch.STACK_LABELS[stack] in explorer.output.value


def test_extrapolation_is_exact_against_a_direct_count():
    # 32 folios: the widget extrapolates from 4 and 8; simcore.workload counts all of them
    from simcore import workload

    direct = workload.counters(workload.build("2M", "64K", "arm64"), "patched")
    assert ch.workload_counters("arm64", "patched", 64 << 10, 2 << 20) == direct


def test_order_zero_folios_are_identical_in_both_modes(explorer):
    set_values(explorer, arch="arm64", folio="4K", mode="patched", size="16M")
    assert explorer.error is None
    assert explorer.result["speedup"] == 1.0
    b = ch.estimate("arm64", "baseline", 4096, 16 << 20)
    p = ch.estimate("arm64", "patched", 4096, 16 << 20)
    assert b["counters"] == p["counters"]
    assert all(r["counters that differ"] == "none" for r in ch.regression_rows("4K"))


def test_sparc64_is_flagged_uncalibrated_and_bad_sizes_give_one_line(explorer):
    set_values(explorer, arch="sparc64", folio="64K", mode="patched", size="16M")
    assert explorer.error is None
    assert "not calibrated" in explorer.output.value
    assert explorer.result["speedup"] == 1.0          # sparc64 anon stays at one PTE
    set_values(explorer, folio="4K")                   # 4 KiB < one 8 KiB sparc64 page
    assert explorer.error is not None and "\n" not in explorer.error
    assert explorer.error.startswith("folio")
    assert "role='alert'" in explorer.output.value
    set_values(explorer, arch="arm64")
    assert explorer.error is None


def test_static_twin_lists_every_size():
    html = ch.static_twin(arches=("arm64",), sizes=("16K", "64K"))
    assert html.count("<tr>") == 3                      # header + 2 rows
    assert f"{cm.predict('arm64', 'patched') / 1e6:.2f}" in html
