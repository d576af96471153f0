"""The background chapter's live widget and players, driven from Python, checked against simcore."""

from __future__ import annotations

import itertools
import re

import pytest

import simcore
from bookkit.chapters import background as ch
from bookkit.player import read_presets
from simcore import report
from simcore.scenario import ScenarioError


def shown(explorer, counter: str) -> int:
    """The number the widget's counter table shows for ``counter`` (one mode per update)."""
    row = re.search(rf"<code>{counter}</code></td><td[^>]*>(\d+)</td>", explorer.output.value)
    assert row, f"no row for {counter}"
    return int(row.group(1))


def direct(order: int, kind: str, arch: str, mode: str) -> simcore.Result:
    return simcore.run(simcore.from_dict(ch.scenario(order, kind, arch)), mode, trace=True)


@pytest.fixture()
def explorer():
    ex = ch.explorer()
    yield ex
    print(f"background explorer: last update {ex.last_ms:.1f} ms")


def test_default_is_the_baseline_swapbacked_64k_folio(explorer):
    assert explorer.error is None
    assert list(explorer.results) == ["baseline"]          # only the chosen mode runs
    r = direct(4, "swap-backed", "x86_64", "baseline")
    assert r.ok and not r.violations
    for name, value in ch.counter_values(r).items():
        assert shown(explorer, name) == value
    assert shown(explorer, "iterations") == 16
    assert "16 × 1 PTE" in explorer.output.value
    assert "<code>folio_dup_swap</code>" in explorer.output.value


@pytest.mark.parametrize("order,kind,arch,mode", list(itertools.product(
    (2, 4, 5), ch.KINDS, ch.ARCHES, ch.MODES)))
def test_every_control_combination_matches_simcore(explorer, order, kind, arch, mode):
    c = explorer.controls
    c["order"].value, c["kind"].value, c["arch"].value, c["mode"].value = order, kind, arch, mode
    assert explorer.error is None
    assert list(explorer.results) == [mode]
    r = direct(order, kind, arch, mode)
    for name, value in ch.counter_values(r).items():
        assert shown(explorer, name) == value, name
    assert ch.batch_summary(r) in explorer.output.value
    assert f"{1 << order} pages" in explorer.output.value
    after = [code for _mm, _p, code in ch.slot_codes(explorer.results[mode].system)]
    want = [code for _mm, _p, code in ch.slot_codes(r.system)]
    assert after == want
    # swap-backed folios end as swap PTEs, lazyfree ones as none PTEs
    assert set(c[0] for c in after) == ({"X"} if kind == "swap-backed" else {"-"})


def test_order_nine_runs_one_mode(explorer):
    explorer.controls["order"].value = 9
    explorer.controls["mode"].value = "patched"
    assert explorer.error is None
    r = direct(9, "swap-backed", "x86_64", "patched")
    assert shown(explorer, "iterations") == r.costs.iterations == 1
    assert "512 pages" in explorer.output.value


def test_a_bad_value_gives_one_line(explorer):
    with pytest.raises(ScenarioError) as e:
        ch.scenario(order=1)
    assert "\n" not in str(e.value) and "order" in str(e.value)
    explorer.build = lambda **values: ch.scenario(order=1)
    explorer.update()
    assert explorer.error and "\n" not in explorer.error
    assert "role='alert'" in explorer.output.value
    assert explorer.results == {}


def test_baseline_player_presets():
    presets = read_presets(ch.baseline_player())
    assert list(presets) == ["swapbacked-baseline", "lazyfree-per-pte", "lazyfree-baseline"]
    sb = presets["swapbacked-baseline"]
    assert sb["mode"] == "baseline" and sb["ok"] and not sb["violations"]
    assert set(sb["frames"][-1]["ptes"]) == {"X"}
    assert sum(f["event"] == "batch" for f in sb["frames"]) == 16
    lazy = presets["lazyfree-baseline"]
    assert set(lazy["frames"][-1]["ptes"]) == {"-"}
    assert sum(f["event"] == "batch" for f in lazy["frames"]) == 1
    assert sum(f["event"] == "batch" for f in presets["lazyfree-per-pte"]["frames"]) == 16


def test_twin_and_mode_table_agree_with_simcore():
    presets = read_presets(ch.explorer_twin())
    assert len(presets) >= 2 and all(p["ok"] and not p["violations"] for p in presets.values())
    sparc = presets["sparc64-patched"]
    assert sum(f["event"] == "batch" for f in sparc["frames"]) == 4   # one PTE at a time
    counters = ch.mode_counters(4, "swap-backed")
    for mode in ch.MODES:
        assert counters[mode] == ch.counter_values(direct(4, "swap-backed", "x86_64", mode))
    assert counters["per-pte"] == counters["baseline"]
    assert counters["patched"]["iterations"] == 1
    table = ch.mode_markdown()
    assert table.splitlines()[0] == "| counter | per-pte | baseline | patched |"
    assert "contpte_unfolds" not in table                  # all-zero rows are left out on x86
    assert report.batches(direct(4, "lazyfree", "x86_64", "baseline"))[0]["nr"] == 16
