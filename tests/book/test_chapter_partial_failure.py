"""The partial-failure chapter's live widget, driven from Python and checked against simcore."""

from __future__ import annotations

import html
import re

import pytest

import simcore
from bookkit.chapters import partial_failure as ch
from simcore.check import INVARIANTS
from simcore.pte import pte_code


def direct(op="dup_swap", page=ch.FAULT_PAGE, exclusive=ch.PATTERN, mode="patched", bugs=(),
           writable=False) -> simcore.Result:
    system = simcore.from_dict(ch.scenario(op, page, exclusive, writable))
    return simcore.run(system, mode, bugs=bugs, trace=True)


def swapped(result) -> str:
    """The pages whose PTE ended as a swap PTE, as ranges (computed here, not by the widget)."""
    pages = [p for mm, a, p in result.system.slots() if pte_code(mm.pt.get(a))[0] in "XS"]
    return ch._ranges(pages)


def shown_row(explorer, mode: str) -> list[str]:
    """The summary-table row of ``mode``: [ok, now swap PTEs, still present, violations]."""
    m = re.search(rf"<tr><td>(?:<b>)?{re.escape(mode)}[^<]*(?:</b>)?</td>(.*?)</tr>",
                  explorer.output.value, re.S)
    assert m, f"no row for {mode}"
    return re.findall(r"<td>(.*?)</td>", m.group(1))


@pytest.fixture()
def explorer():
    ex = ch.explorer()
    yield ex
    print(f"partial-failure explorer: last update {ex.last_ms:.1f} ms")


def test_dup_fault_on_page_9_differs_by_mode(explorer):
    assert explorer.error is None
    for mode in ch.MODES:
        r = direct(mode=mode)
        row = shown_row(explorer, mode)
        assert row[0] == ("ok" if r.ok else "failed") == "failed"
        assert row[1] == swapped(r)
        assert row[3] == str(len(r.violations)) == "0"
    assert shown_row(explorer, "per-pte")[1] == "0..8"
    assert shown_row(explorer, "patched")[1] == "0..7"
    html = explorer.output.value
    assert "Restored as present PTEs" in html and "pages 8..15" in html
    assert "finish_folio_unmap()</code> (rmap, refs): pages 0..7" in html
    assert "consistent (no violation)" in html


def test_detail_follows_the_mode_control(explorer):
    explorer.controls["mode"].value = "per-pte"
    html = explorer.output.value
    assert "<b>per-pte</b> in detail" in html
    assert "pages 9..9" in html                      # only page 9's PTE restored


def test_skip_accounting_is_caught_with_its_sentences(explorer):
    explorer.controls["bug"].value = "skip-accounting"
    r = direct(bugs=("skip-accounting",))
    codes = {v.code for v in r.violations}
    assert codes and codes <= {"mapcount", "refcount"}
    assert {v.code for v in explorer.results["patched"].violations} == codes
    for code in codes:
        assert html.escape(INVARIANTS[code]) in explorer.output.value
    assert f"{len(r.violations)} violation(s)" in explorer.output.value
    good = direct()
    assert r.system.folio.mapcount - good.system.folio.mapcount == 8
    assert r.system.folio.refcount - good.system.folio.refcount == 8


@pytest.mark.parametrize("bug, code", [("writable-restore", "no_write_gain"),
                                       ("no-swap-offset", "swap_offsets")])
def test_other_bug_variants(explorer, bug, code):
    # writable-restore bites only behind a writable first PTE: map the E pages writable
    writable = bug == "writable-restore"
    explorer.controls["writable"].value = writable
    explorer.controls["bug"].value = bug
    assert code in {v.code for v in explorer.results["patched"].violations}
    assert code in {v.code for v in direct(bugs=(bug,), writable=writable).violations}
    assert f"<b>{code}</b>" in explorer.output.value


def test_pinned_and_pin_part_way(explorer):
    explorer.controls["op"].value = "pinned"
    explorer.controls["exclusive"].value = ch.PINNED_PATTERN
    r = direct("pinned", exclusive=ch.PINNED_PATTERN)
    assert shown_row(explorer, "patched")[1] == swapped(r) == "0..3"
    explorer.controls["op"].value = "pin"
    explorer.controls["exclusive"].value = ch.PATTERN
    r = direct("pin")
    assert shown_row(explorer, "patched")[1] == swapped(r) == "0..7"
    assert "Fault fired: pin on page 9" in explorer.output.value


def test_arch_unmap_one_runs_on_sparc64_one_pte_at_a_time(explorer):
    explorer.controls["op"].value = "arch_unmap_one"
    for mode in ch.MODES:
        r = direct("arch_unmap_one", mode=mode)
        assert r.system.arch.name == "sparc64"
        assert shown_row(explorer, mode)[1] == swapped(r) == "0..8"
    assert "runs on sparc64" in explorer.output.value


def test_no_fault_unmaps_everything(explorer):
    explorer.controls["op"].value = "none"
    for mode in ch.MODES:
        assert shown_row(explorer, mode)[:2] == ["ok", "0..15"]


@pytest.mark.parametrize("field, value, words", [
    ("page", 16, "0..15"),
    ("exclusive", "EEENN", "not 5"),
    ("exclusive", "EEEENNNNEEEENNNQ", "not 'Q'"),
])
def test_bad_values_give_one_line(explorer, field, value, words):
    explorer.controls[field].value = value
    assert explorer.error is not None and "\n" not in explorer.error
    assert words in explorer.error and "role='alert'" in explorer.output.value


def test_tables_and_players_come_from_simcore():
    cve = ch.cve_rows()
    assert cve[0]["checker"] == "consistent" and cve[1]["checker"] != "consistent"
    walk = {r["case"]: r for r in ch.walk_cost_rows()}
    cut = walk[ch.CUT_CASE]
    assert cut["skipped"] == cut["ptes"] - cut["batches"]
    assert walk["one batch (all read-only)"]["walk_steps"] == 1
    dup9 = ch.dup9_player()
    assert [p["key"] for p in dup9["presets"]] == ["per-pte", "patched"]
    stale = ch.cve_player()["presets"][1]
    assert "mapcount" in stale["violations"]
