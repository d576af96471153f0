"""The batching chapter's live widget and players, driven from Python, checked against simcore."""

from __future__ import annotations

import re

import pytest

import simcore
from bookkit.chapters import batching as ch
from bookkit.player import read_presets
from simcore import report


def direct(mode: str = "patched", bugs=(), **knobs) -> simcore.Result:
    return simcore.run(simcore.from_dict(ch.scenario(**knobs)), mode, bugs=bugs, trace=True)


def spans(result) -> list[tuple[int, int]]:
    return [(b["start_page"], b["nr"]) for b in report.batches(result)]


def shown_rows(explorer) -> list[tuple[str, int, str]]:
    """(pages, PTEs, stopped by) of the widget's batch table."""
    return [(p, int(n), why) for p, n, why in re.findall(
        r"<tr><td[^>]*>\d+</td><td[^>]*>([^<]+)</td><td[^>]*>(\d+)</td><td[^>]*>([^<]*)</td>",
        explorer.output.value)]


@pytest.fixture()
def explorer():
    ex = ch.explorer()
    yield ex
    print(f"batching explorer: last update {ex.last_ms:.1f} ms")


def test_default_is_one_batch_for_the_whole_folio(explorer):
    assert explorer.error is None
    assert list(explorer.results) == ["patched"]
    assert shown_rows(explorer) == [("0–15", 16, "folio end; VMA end")]
    assert spans(explorer.results["patched"]) == spans(direct()) == [(0, 16)]


@pytest.mark.parametrize("knobs,reason", [
    ({"vma_end_page": "10"}, "VMA end"),
    ({"straddle_pmd": True}, "page-table (PMD) boundary"),
    ({"vma_start_page": "3"}, "folio end; VMA end"),
    ({"readonly_from": "6"}, "the write bit changes at page 6"),
    ({"hole": "5"}, "a none PTE at page 5"),
])
def test_each_stopper_matches_simcore(explorer, knobs, reason):
    for name, value in knobs.items():
        explorer.controls[name].value = value
    assert explorer.error is None
    want = direct(**{k: (int(v) if isinstance(v, str) else v) for k, v in knobs.items()})
    assert spans(explorer.results["patched"]) == spans(want)
    rows = shown_rows(explorer)
    assert [(int(p.split("–")[0]), n) for p, n, _ in rows] == spans(want)
    assert rows[0][2] == reason
    assert not explorer.results["patched"].violations


def test_combined_knobs_and_modes(explorer):
    c = explorer.controls
    c["order"].value = 5
    c["vma_start_page"].value = "2"
    c["vma_end_page"].value = "30"
    c["hole"].value = "7"
    c["readonly_from"].value = "20"
    knobs = dict(order=5, vma_start_page=2, vma_end_page=30, hole=7, readonly_from=20)
    assert spans(explorer.results["patched"]) == spans(direct(**knobs)) == \
        [(2, 5), (8, 12), (20, 10)]
    c["mode"].value = "baseline"
    assert list(explorer.results) == ["baseline"]
    assert spans(explorer.results["baseline"]) == spans(direct("baseline", **knobs))
    assert all(n == 1 for _p, n, _w in shown_rows(explorer)[:5])
    assert "this mode does not batch this folio" in explorer.output.value
    c["kind"].value = "lazyfree (clean)"                   # lazyfree is batched in baseline
    knobs["kind"] = "lazyfree (clean)"
    assert spans(explorer.results["baseline"]) == spans(direct("baseline", **knobs))
    assert explorer.results["baseline"].ok


@pytest.mark.parametrize("name,value,words", [
    ("hole", "x", "hole at page: expected a page number"),
    ("hole", "99", "hole at page: page 99 is outside 0..15"),
    ("vma_end_page", "0", "VMA ends at page: page 0 is outside 1..16"),
    ("readonly_from", "-1", "read-only from page: page -1 is outside"),
])
def test_a_bad_value_gives_one_line(explorer, name, value, words):
    explorer.controls[name].value = value
    assert explorer.error is not None and "\n" not in explorer.error
    assert explorer.error.startswith(words)
    assert "role='alert'" in explorer.output.value
    explorer.controls[name].value = ""
    assert explorer.error is None


def test_inconsistent_values_give_one_line(explorer):
    explorer.controls["vma_start_page"].value = "8"
    explorer.controls["vma_end_page"].value = "4"
    assert explorer.error == "VMA ends at page: 4 must be after the VMA start (8)"
    explorer.controls["vma_end_page"].value = ""
    explorer.controls["kind"].value = "lazyfree, redirtied"
    explorer.controls["fail_page"].value = "3"
    assert "lazyfree folio takes no swap counts" in explorer.error


def test_writable_restore_bug_is_caught(explorer):
    c = explorer.controls
    c["readonly_from"].value = "8"
    c["fail_page"].value = "10"
    fixed = explorer.results["patched"]
    assert not fixed.ok and not fixed.violations
    assert spans(fixed) == [(0, 8), (8, 8)]
    c["bug"].value = "writable-restore"
    bug = explorer.results["patched"]
    want = direct(bugs=("writable-restore",), readonly_from=8, fail_page=10)
    assert [v.code for v in bug.violations] == [v.code for v in want.violations] == \
        ["no_write_gain"]
    assert "no_write_gain" in explorer.output.value
    assert spans(bug) == [(0, 16)]
    c["mode"].value = "baseline"                           # the zoo applies to patched only
    assert not explorer.results["baseline"].violations
    assert "patched mode only" in explorer.output.value


def test_players():
    limits = read_presets(ch.limits_player())
    contents = read_presets(ch.contents_player())
    restore = read_presets(ch.restore_player())
    twin = read_presets(ch.explorer_twin())
    for presets in (limits, contents, twin):
        assert 2 <= len(presets) <= 4
        assert all(p["ok"] and not p["violations"] for p in presets.values())
    assert limits.keys() == {"folio-end", "vma-end", "pmd", "mid-folio"}
    assert contents.keys() == {"write", "hole", "device-exclusive"}
    assert restore["lazyfree-fixed"]["violations"] == []
    assert restore["swapbacked-fixed"]["violations"] == []
    assert restore["lazyfree-bug"]["violations"] == ["no_write_gain"]
    assert restore["swapbacked-bug"]["violations"] == ["no_write_gain"]
    for key in ("pmd", "mid-folio"):
        first = next(f for f in limits[key]["frames"] if f["event"] == "batch")
        assert first["highlight"][1] - first["highlight"][0] == \
            spans(simcore.run(simcore.from_dict(ch.stopper_scenario(key)), trace=True))[0][1]


def test_stopper_table_matches_simcore():
    results = ch.stopper_results()
    for key, result in results.items():
        system = simcore.from_dict(ch.stopper_scenario(key))
        assert spans(result) == spans(simcore.run(system, "patched", trace=True))
    table = ch.stopper_markdown(results)
    assert "| folio straddles a PMD boundary | 0–7 | 8 | page-table (PMD) boundary |" in table
    assert str(ch.pages_text(results["write"])) == "pages 0–5 and 6–15"
    devx = results["device-exclusive"]
    assert len(ch.batch_rows(devx)) == devx.costs.iterations == 3
    assert [r["device_exclusive"] for r in ch.batch_rows(devx)] == [False, True, False]
