"""The anon-exclusivity chapter's live widget, driven from Python and checked against simcore."""

from __future__ import annotations

import re

import numpy as np
import pytest

import simcore
from bookkit.chapters import anon_exclusive as ch
from simcore.exclusive import exclusive_sub_batches


def direct(exclusive: str, mode: str, vma_start: int = 0, writable: bool = False,
           pinned: bool = False, bugs=()) -> simcore.Result:
    system = simcore.from_dict(ch.scenario(exclusive, vma_start, writable, pinned))
    return simcore.run(system, mode, bugs=bugs)


def expected_runs(exclusive: str, first_page: int, nr: int, offset: int) -> str:
    """simcore's own sub-batches, written as the widget writes them ([page+nr E|N])."""
    flags = np.array([c == "E" for c in exclusive])
    runs = exclusive_sub_batches(flags, first_page, nr)
    return " ".join(f"[{offset + s}+{n} {'E' if e else 'N'}]" for s, n, e in runs)


def shown_barriers(explorer, mode: str) -> int:
    m = re.search(rf"<b>{re.escape(mode)}[^<]*</b>:.*?<b>(\d+) barrier\(s\)</b>",
                  explorer.output.value, re.S)
    assert m, f"no barrier count shown for {mode}"
    return int(m.group(1))


@pytest.fixture()
def explorer():
    ex = ch.explorer()
    yield ex
    print(f"anon-exclusive explorer: last update {ex.last_ms:.1f} ms")


def test_default_half_exclusive(explorer):
    assert explorer.error is None
    assert set(explorer.results) == {"baseline", "patched"}
    html = explorer.output.value
    assert expected_runs(ch.HALF, 0, 16, 0) in html
    for mode in ("baseline", "patched"):
        r = direct(ch.HALF, mode)
        assert r.ok and not r.violations
        assert shown_barriers(explorer, mode) == r.costs.barriers
        assert explorer.results[mode].costs.sub_batches == r.costs.sub_batches
    assert shown_barriers(explorer, "patched") < shown_barriers(explorer, "baseline")


def test_alternating_pattern_has_one_sub_batch_per_page(explorer):
    explorer.controls["exclusive"].value = ch.ALTERNATING
    assert explorer.error is None
    r = direct(ch.ALTERNATING, "patched")
    assert r.costs.sub_batches == len(ch.ALTERNATING)
    assert explorer.results["patched"].costs.sub_batches == r.costs.sub_batches
    assert shown_barriers(explorer, "patched") == r.costs.barriers
    assert shown_barriers(explorer, "patched") == shown_barriers(explorer, "baseline")


def test_mid_folio_batch_indexes_from_its_first_page(explorer):
    explorer.controls["exclusive"].value = ch.MID_FOLIO
    explorer.controls["vma_start"].value = ch.MID_START
    assert explorer.error is None
    nr = len(ch.MID_FOLIO) - ch.MID_START
    assert expected_runs(ch.MID_FOLIO, ch.MID_START, nr, ch.MID_START) in explorer.output.value
    assert not explorer.results["patched"].violations
    explorer.controls["bug"].value = "exclusivity-from-head"
    assert expected_runs(ch.MID_FOLIO, 0, nr, ch.MID_START) in explorer.output.value
    codes = {v.code for v in explorer.results["patched"].violations}
    assert codes == {v.code for v in direct(ch.MID_FOLIO, "patched", ch.MID_START,
                                            bugs=("exclusivity-from-head",)).violations}
    assert "swap_exclusive" in codes
    assert "[swap_exclusive]" in explorer.output.value
    assert not explorer.results["baseline"].violations      # the bug changes patched only


def test_writable_exclusive_pages_split_the_batch(explorer):
    explorer.controls["writable"].value = True
    r = direct(ch.HALF, "patched", writable=True)
    assert explorer.results["patched"].costs.iterations == r.costs.iterations == 2
    assert not explorer.results["patched"].violations


def test_pinned_folio_fails_at_the_first_exclusive_sub_batch(explorer):
    explorer.controls["exclusive"].value = "NNNNNNNNEEEEEEEE"
    explorer.controls["pinned"].value = True
    r = direct("NNNNNNNNEEEEEEEE", "patched", pinned=True)
    assert not r.ok and not explorer.results["patched"].ok
    assert ch.swap_markers(explorer.results["patched"]) == "S" * 8 + "R" * 8
    assert "not unmapped" in explorer.output.value


@pytest.mark.parametrize("field, value, words", [
    ("exclusive", "ENX", "not 3"),
    ("exclusive", "EEEEEEEX", "not 'X'"),
    ("vma_start", 16, "0..15"),
])
def test_bad_values_give_one_line(explorer, field, value, words):
    explorer.controls[field].value = value
    assert explorer.error is not None and "\n" not in explorer.error
    assert words in explorer.error
    assert "role='alert'" in explorer.output.value
    assert "Traceback" not in explorer.output.value


def test_players_and_table_come_from_simcore():
    half = ch.half_player()
    assert [p["key"] for p in half["presets"]] == ["baseline", "patched"]
    r = direct(ch.HALF, "patched")
    assert half["presets"][1]["frames"][-1]["counters"]["barriers"] == r.costs.barriers
    twin = ch.explorer_player()
    assert twin["presets"][-1]["violations"]            # the bug-zoo preset is caught
    assert "swap_exclusive" in ch.canonical_table()
