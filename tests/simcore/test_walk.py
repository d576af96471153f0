"""simcore.walk: page_vma_mapped_walk() and check_pte() (kernel-brief §5.5, §6, §11 item 15)."""

from __future__ import annotations

from simcore_testlib import BASE, PS, build, scenario

from simcore.costs import Costs
from simcore.folio import Folio
from simcore.pte import PTE_NONE, mk_device_exclusive, mk_present, mk_swap
from simcore.walk import PageVmaMappedWalk, check_pte, vma_address_range


def _walk_all(sys, which=0):
    """Run a fresh walk over mapping ``which``; return (accepted addrs, rejected, walk, costs)."""
    vma, base = sys.mappings[which]
    costs = Costs()
    w = PageVmaMappedWalk(sys.folio, vma, base, costs)
    got, rejected = [], []
    while w.walk():
        got.append(w.address)
        rejected += w.rejected
    rejected += w.rejected
    return got, rejected, w, costs


def test_check_pte_accepts_only_entries_that_name_a_pfn_in_the_folio():
    f = Folio(order=4, first_pfn=4096)
    assert check_pte(mk_present(4096), f)                  # present, page 0
    assert check_pte(mk_present(4111), f)                  # present, page 15
    assert not check_pte(mk_present(4112), f)              # the next folio
    assert not check_pte(mk_present(4095), f)
    assert check_pte(mk_device_exclusive(4100), f)         # §6: device-exclusive names a pfn
    assert not check_pte(mk_swap(0, 0), f)                 # §5.5: a swap PTE names a slot
    assert not check_pte(PTE_NONE, f)


def test_vma_address_range_clips_to_the_vma():
    sys = build(scenario(order=4, vmas=[{"start": BASE + 2 * PS, "end": BASE + 6 * PS}],
                         ptes=[{"mm": "task", "addr": BASE + 2 * PS, "page": 2, "nr": 4}]))
    vma, base = sys.mappings[0]
    assert base == BASE                                    # page 0 would be at BASE
    # vma_address() / vma_address_end(): [max(start, folio addr), min(end, folio end))
    assert vma_address_range(base, 16, vma, PS) == (BASE + 2 * PS, BASE + 6 * PS)


def _mixed():
    # pages: 0 W, 1 none, 2 swap, 3 swap, 4 W, 5 device-exclusive, 6 W, 7 none
    return build(scenario(order=3, exclusive="EENNEEEE", ptes=[
        {"mm": "task", "addr": BASE, "page": 0},
        {"mm": "task", "addr": BASE + 2 * PS, "page": 2, "nr": 2, "kind": "swap"},
        {"mm": "task", "addr": BASE + 4 * PS, "page": 4},
        {"mm": "task", "addr": BASE + 5 * PS, "page": 5, "kind": "device_exclusive"},
        {"mm": "task", "addr": BASE + 6 * PS, "page": 6},
    ]))


def test_walk_returns_present_and_device_exclusive_and_skips_swap_and_none():
    got, rejected, w, _ = _walk_all(_mixed())
    # §5.5: none PTEs stepped over, swap PTEs rejected by check_pte, present and (§6)
    # device-exclusive entries returned, in address order
    assert got == [BASE, BASE + 4 * PS, BASE + 5 * PS, BASE + 6 * PS]
    assert rejected == [BASE + 2 * PS, BASE + 3 * PS]
    assert not w.pgtable_crossed


def test_walk_costs_by_hand():
    _, _, _, c = _walk_all(_mixed())
    # start: 1 top-down walk, slot 0: 1 step, check_pte's ptep_get, check_pte -> accept
    # slot 1: step + none-skip ptep_get; slots 2,3 (swap): step + none-skip ptep_get +
    # check_pte's ptep_get + check_pte (reject); slots 4,5,6: same, accepted; slot 7: step +
    # none-skip ptep_get; slot 8 is past vma_address_end: stop.
    assert c.pgtable_walks == 1
    assert c.walk_steps == 8                   # slots 0..7
    assert c.check_pte == 6                    # slots 0, 2, 3, 4, 5, 6
    assert c.ptep_get == 1 + 1 + 2 + 2 + 2 + 2 + 2 + 1   # = 13
    assert c.pte_reads == 13                   # x86: one load per ptep_get


def test_walk_restarts_at_a_page_table_boundary():
    # order 3 folio whose pages 0..3 sit below a 2 MiB boundary and 4..7 above it
    start = BASE + (2 << 20) - 4 * PS
    sys = build(scenario(order=3, vmas=[{"start": start, "end": start + 8 * PS}],
                         ptes=[{"mm": "task", "addr": start, "page": 0, "nr": 8}]))
    got, rejected, w, c = _walk_all(sys)
    assert got == [start + i * PS for i in range(8)] and rejected == []
    assert w.pgtable_crossed                    # PVMW_PGTABLE_CROSSED
    assert c.pgtable_walks == 2                 # initial walk + restart at the boundary
    # slot 0: 1 ptep_get; slots 1-3: 2 each; slot 4 (new table, straight to check_pte): 1;
    # slots 5-7: 2 each -> 1 + 6 + 1 + 6 = 14
    assert c.ptep_get == 14 and c.check_pte == 8 and c.walk_steps == 8


def test_walk_covers_only_the_part_of_the_folio_inside_the_vma():
    sys = build(scenario(order=4, vmas=[{"start": BASE + 2 * PS, "end": BASE + 6 * PS}],
                         ptes=[{"mm": "task", "addr": BASE + 2 * PS, "page": 2, "nr": 4}]))
    got, _, _, c = _walk_all(sys)
    assert got == [BASE + i * PS for i in range(2, 6)]
    assert c.walk_steps == 4


def test_walk_on_an_empty_range_returns_nothing():
    # the VMA maps pages 0..3 of the folio, but none of them is populated
    sys = build(scenario(order=2, ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 1}]))
    vma, base = sys.mappings[0]
    vma.mm.pt.set(BASE, PTE_NONE)
    got, _, _, c = _walk_all(sys)
    assert got == [] and c.check_pte == 1 and c.walk_steps == 4


def test_walk_done_drops_the_current_pte():
    sys = _mixed()
    vma, base = sys.mappings[0]
    w = PageVmaMappedWalk(sys.folio, vma, base, Costs())
    assert w.walk() and w.pte is not None
    w.done()
    assert w.pte is None
