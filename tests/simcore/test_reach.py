"""simcore.reach: which folios the callers hand to try_to_unmap() at all.

Sources: `madvise_cold_or_pageout_pte_range()` (mm/madvise.c, 2025) — large folios that may be
mapped by more than one process are skipped, folios its range / a VMA boundary / a page table
cuts are split first; `shrink_folio_list()` (mm/vmscan.c) — a partially mapped anon folio not
yet in the swap cache is split before `folio_alloc_swap()`. Measured on 6.18 in
live-kernel-notes.md ("MADV_PAGEOUT is not all of reclaim").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from simcore_testlib import BASE, PS, build, run, scenario

from simcore.cli import main
from simcore.reach import why_not_reached

EXAMPLES = Path(__file__).resolve().parents[2] / "simcore" / "examples"


def _doc(caller, **kw):
    doc = scenario(order=4, **kw)
    doc["caller"] = caller
    return doc


def test_a_whole_private_folio_reaches_the_unmap_from_both_callers():
    for caller in ("reclaim", "madv_pageout"):
        assert why_not_reached(build(_doc(caller))) is None


def test_madv_pageout_skips_a_folio_mapped_by_two_processes():
    mms = [{"name": n, "vmas": [{"start": BASE, "end": BASE + 16 * PS}]} for n in ("p", "c")]
    ptes = [{"mm": n, "addr": BASE, "page": 0, "nr": 16, "write": False} for n in ("p", "c")]
    doc = _doc("madv_pageout", exclusive="N" * 16, mms=mms, ptes=ptes)
    assert "more than one process" in why_not_reached(build(doc))
    doc["caller"] = "reclaim"
    assert why_not_reached(build(doc)) is None     # kswapd / memcg reclaim does reach it


@pytest.mark.parametrize("vmas,ptes,why", [
    ([{"start": BASE, "end": BASE + 8 * PS}, {"start": BASE + 8 * PS, "end": BASE + 16 * PS}],
     None, "VMA boundary"),
    ([{"start": BASE - (1 << 21), "end": BASE + (1 << 21)}],
     [{"mm": "task", "addr": BASE - 8 * PS, "page": 0, "nr": 16}], "page-table (PMD)"),
])
def test_madv_pageout_splits_a_cut_folio(vmas, ptes, why):
    doc = _doc("madv_pageout", vmas=vmas, ptes=ptes)
    assert why in why_not_reached(build(doc))
    doc["caller"] = "reclaim"
    assert why_not_reached(build(doc)) is None


def test_reclaim_splits_a_folio_whose_head_was_unmapped():
    doc = _doc("reclaim", vmas=[{"start": BASE + 4 * PS, "end": BASE + 16 * PS}],
               ptes=[{"mm": "task", "addr": BASE + 4 * PS, "page": 4, "nr": 12}])
    assert "partially mapped" in why_not_reached(build(doc))


def test_the_verdict_is_reported_not_enforced():
    """The unmap is still simulated; the text and the JSON carry the verdict."""
    doc = _doc("madv_pageout", vmas=[{"start": BASE, "end": BASE + 8 * PS},
                                     {"start": BASE + 8 * PS, "end": BASE + 16 * PS}])
    r = run(doc)
    assert r.ok and r.not_reached and "VMA boundary" in r.not_reached


def test_examples_name_a_caller_that_reaches_them(tmp_path, capsys):
    for path in sorted(EXAMPLES.glob("*.json")):
        doc = json.loads(path.read_text())
        assert doc.get("caller") in ("reclaim", "madv_pageout"), path.name
        assert why_not_reached(build(doc)) is None, path.name
    bad = _doc("madv_pageout", vmas=[{"start": BASE, "end": BASE + 8 * PS},
                                     {"start": BASE + 8 * PS, "end": BASE + 16 * PS}])
    f = tmp_path / "cut.json"
    f.write_text(json.dumps(bad))
    assert main(["run", str(f)]) == 0
    assert "caller:   madv_pageout would not reach try_to_unmap()" in capsys.readouterr().out
    assert main(["run", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["caller"]["reaches_unmap"] is False
