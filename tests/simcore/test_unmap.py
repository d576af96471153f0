"""simcore.unmap: try_to_unmap_one() / try_to_unmap() end to end, expectations worked by hand.

Kernel-brief §2.2 (baseline loop), §2.2.1 (anon sub-path), §2.7 (batched path), §4.2 (lazyfree),
§6 (device-exclusive), §7 (sparc64), §11 items 33–40.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from simcore_testlib import BASE, PS, batches, build, codes, run, scenario, sub_batches

import simcore
from simcore.bugs import BugError
from simcore.unmap import ModeError

MODES = ("per-pte", "baseline", "patched")
EXAMPLES = Path(__file__).resolve().parents[2] / "simcore" / "examples"


def _mm(r, name="task"):
    return r.system.mms[name].counters


# -- the canonical case: 64 KiB, all exclusive, writable ----------------------------------------
def test_patched_canonical_64k():
    r = run(scenario(order=4))
    f = r.system.folio
    assert r.ok and not r.violations
    # §2.7: one batch of 16, one sub-batch (all E): one dup, one share (one barrier pair)
    assert batches(r) == [("task", 0, 16)]
    assert sub_batches(r) == [(0, 16, True)]
    c = r.costs
    assert (c.iterations, c.batches, c.sub_batches, c.dup_calls, c.share_calls) == (1, 1, 1, 1, 1)
    assert c.barriers == 2 and c.rmap_calls == 1 and c.put_refs_calls == 1
    assert c.tlb_deferred == 1 and c.tlb_pages == 16 and c.tlb_flushes == 0
    # walk: 1 step, 1 check_pte; ptep_get: walk 1 + try_to_unmap_one 1 + 15 batch compares
    assert (c.walk_steps, c.check_pte, c.ptep_get) == (1, 1, 17)
    assert c.pte_writes == 16 + 16                     # 16 clears + 16 swap PTEs
    assert c.atomic_mm == 1 + 2                        # mmlist add + 2 counter adds
    # §11 items 35-37: 16 exclusive swap PTEs, slots 0..15, counters moved by 16
    assert codes(r.system) == "X" * 16
    offs = [r.system.mms["task"].pt.get(BASE + i * PS).swp_offset for i in range(16)]
    assert offs == [f.swap_offset + i for i in range(16)]
    assert _mm(r) == {"MM_ANONPAGES": 0, "MM_SWAPENTS": 16}
    assert r.system.swap_counts() == [1] * 16
    assert f.mapcount == 0 and f.refcount == 1 + 16    # caller + swap cache
    assert f.exclusive_string() == "N" * 16            # flags moved into the swap PTEs
    assert r.system.mms["task"].on_mmlist


def test_baseline_canonical_64k_is_16_iterations_with_the_same_result():
    p = run(scenario(order=4), "patched")
    r = run(scenario(order=4), "baseline")
    assert r.ok and not r.violations
    assert batches(r) == [("task", i, 1) for i in range(16)]
    c = r.costs
    # §1.1 / §2.6: per PTE: one TLB op, one dup, one share (2 barriers), one rmap, one put
    assert (c.iterations, c.tlb_deferred, c.dup_calls, c.share_calls) == (16, 16, 16, 16)
    assert c.barriers == 32 and c.rmap_calls == 16 and c.put_refs_calls == 16
    assert c.atomic_mm == 1 + 16 * 2
    # walk: 16 steps; ptep_get: walk 1 + 15 x 2 (none-skip + check_pte) + 16 in the loop
    assert (c.walk_steps, c.check_pte, c.ptep_get) == (16, 16, 47)
    assert r.system.final_state() == p.system.final_state()     # §11 item 40


def test_per_pte_equals_baseline_for_swapbacked():
    a, b = run(scenario(order=4), "per-pte"), run(scenario(order=4), "baseline")
    assert a.costs.as_dict() == b.costs.as_dict()
    assert a.system.final_state() == b.system.final_state()


def test_run_does_not_touch_the_input_system():
    sys = build(scenario(order=4))
    before = sys.final_state()
    run(sys)
    assert sys.final_state() == before and sys.costs.iterations == 0


def test_mixed_exclusivity_read_only_is_one_batch_two_sub_batches():
    doc = scenario(order=4, exclusive="E" * 8 + "N" * 8,
                   ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16, "write": False}])
    r = run(doc)
    assert r.ok and not r.violations
    assert batches(r) == [("task", 0, 16)]
    # §3.4: runs (0,8,E), (8,8,N); only the E run is shared
    assert sub_batches(r) == [(0, 8, True), (8, 8, False)]
    assert r.costs.share_calls == 1 and r.costs.barriers == 2 and r.costs.dup_calls == 2
    assert codes(r.system) == "X" * 8 + "S" * 8        # §11 item 36: marker iff it was E
    b = run(doc, "baseline")
    assert b.costs.share_calls == 8 and b.costs.barriers == 16
    assert b.system.final_state() == r.system.final_state()


def test_batch_shorter_than_folio_continues_and_skips_its_swap_ptes():
    doc = scenario(order=4, ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 8},
                                  {"mm": "task", "addr": BASE + 8 * PS, "page": 8, "nr": 8,
                                   "write": False}])
    r = run(doc)
    assert r.ok and not r.violations
    assert batches(r) == [("task", 0, 8), ("task", 8, 8)]   # write bit splits (§2.4)
    # §5.5: after each partial batch the walk visits its 7 other (now swap) PTEs and
    # check_pte rejects them
    assert len(r.trace.of_kind("skip")) == 7 + 7
    assert r.costs.iterations == 2


def test_dirty_pte_marks_the_folio_and_the_pending_flush_writable():
    doc = scenario(order=4, ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 3},
                                  {"mm": "task", "addr": BASE + 3 * PS, "page": 3, "dirty": True},
                                  {"mm": "task", "addr": BASE + 4 * PS, "page": 4, "nr": 12}])
    for mode in MODES:
        r = run(doc, mode)
        assert r.ok and r.system.folio.dirty and r.system.ubc.writable   # §2.5, §2.6, item 38
    assert batches(run(doc)) == [("task", 0, 16)]      # dirty does not split a batch


def test_no_deferral_flushes_immediately():
    doc = scenario(order=4, arch={"name": "x86_64", "defer_flush": False})
    p, b = run(doc), run(doc, "baseline")
    assert (p.costs.tlb_flushes, p.costs.tlb_deferred) == (1, 0)
    assert (b.costs.tlb_flushes, b.costs.tlb_deferred) == (16, 0)
    assert p.system.ubc.flushed == [("task", BASE, BASE + 16 * PS)]
    assert not p.violations and not b.violations


# -- lazyfree (§4.2, §11 item 44) ------------------------------------------------------------------
def test_lazyfree_clean_is_discarded():
    for mode in MODES:
        r = run(scenario(order=4, swapbacked=False), mode)
        f = r.system.folio
        assert r.ok and not r.violations
        assert codes(r.system) == "-" * 16             # PTEs none, not swap PTEs
        assert _mm(r) == {"MM_ANONPAGES": 0, "MM_SWAPENTS": 0}
        assert r.system.swap_counts() == [0] * 16      # no swap used
        assert f.mapcount == 0 and f.refcount == 1 and not f.swapbacked
    assert batches(run(scenario(order=4, swapbacked=False), "baseline")) == [("task", 0, 16)]
    assert run(scenario(order=4, swapbacked=False), "per-pte").costs.batches == 16


def test_lazyfree_redirtied_is_restored_and_made_swapbacked():
    doc = scenario(order=4, swapbacked=False, ptes=[
        {"mm": "task", "addr": BASE, "page": 0, "nr": 5},
        {"mm": "task", "addr": BASE + 5 * PS, "page": 5, "dirty": True},
        {"mm": "task", "addr": BASE + 6 * PS, "page": 6, "nr": 10}])
    for mode in ("baseline", "patched"):
        r = run(doc, mode)
        f = r.system.folio
        assert not r.ok and not r.violations
        # the whole batch of 16 is restored from the merged template: dirty everywhere, write
        # as before; the folio is marked swap-backed again
        assert codes(r.system) == "W" * 16
        assert all(r.system.mms["task"].pt.get(BASE + i * PS).dirty for i in range(16))
        assert f.swapbacked and f.dirty and f.mapcount == 16 and f.refcount == 17
        assert len(r.trace.of_kind("restore")) == 1
    # per-pte (kernels before 2025): pages 0..4 discarded one by one, page 5 fails
    r = run(doc, "per-pte")
    assert not r.ok and not r.violations
    assert codes(r.system) == "-" * 5 + "W" * 11
    assert r.system.folio.mapcount == 11 and r.system.folio.swapbacked


def test_lazyfree_dirty_in_droppable_vma_is_dropped_anyway():
    doc = scenario(order=4, swapbacked=False, dirty=True,
                   vmas=[{"start": BASE, "end": BASE + 16 * PS, "droppable": True}])
    r = run(doc)
    assert r.ok and not r.violations and codes(r.system) == "-" * 16
    assert not r.system.folio.swapbacked                # VM_DROPPABLE: never re-marked


def test_lazyfree_extra_reference_keeps_it_without_marking_swapbacked():
    r = run(scenario(order=4, swapbacked=False, extra_refs=1))
    assert not r.ok and not r.violations
    assert codes(r.system) == "W" * 16 and not r.system.folio.swapbacked
    assert r.system.folio.refcount == 16 + 1 + 1


# -- other paths ------------------------------------------------------------------------------
def test_vm_locked_keeps_the_folio():
    """try_to_unmap_one() (mm/rmap.c, 2026): in a VM_LOCKED VMA (no TTU_IGNORE_MLOCK from
    reclaim) every PTE is counted, ``ret = false``, and only when ``ptes == pvmw.nr_pages``
    (and no PVMW_PGTABLE_CROSSED) mlock_vma_folio(); nothing is unmapped."""
    doc = scenario(order=4, vmas=[{"start": BASE, "end": BASE + 16 * PS, "locked": True}])
    for mode in MODES:
        r = run(doc, mode)
        assert not r.ok and not r.violations
        assert r.system.folio.mlocked and codes(r.system) == "W" * 16
        assert r.costs.iterations == 16 and r.costs.batches == 0   # walked to the end
        assert [e.fn for e in r.trace.of_kind("fail")] == ["mlock_vma_folio"]


def test_vm_locked_partial_mapping_is_not_mlocked():
    """Same source: a folio only partly mapped in the VM_LOCKED VMA is not mlocked (the walk
    ends with ptes != nr_pages), and the rmap walk stops there (returns false)."""
    doc = scenario(order=4, vmas=[{"start": BASE + 4 * PS, "end": BASE + 16 * PS,
                                   "locked": True}],
                   ptes=[{"mm": "task", "addr": BASE + 4 * PS, "page": 4, "nr": 12}])
    for mode in MODES:
        r = run(doc, mode)
        assert not r.ok and not r.violations and not r.system.folio.mlocked
        assert r.costs.iterations == 12 and codes(r.system) == "W" * 12


def test_vm_locked_across_a_page_table_is_not_mlocked():
    """Same source: all PTEs counted, but PVMW_PGTABLE_CROSSED: the PTL covered only part of
    them, so no mlock_vma_folio()."""
    doc = scenario(order=4, vmas=[{"start": BASE, "end": BASE + (2 << 20), "locked": True}],
                   ptes=[{"mm": "task", "addr": BASE + (1 << 21) - 8 * PS, "page": 0,
                          "nr": 16}])
    doc["mms"][0]["vmas"] = [{"start": BASE, "end": BASE + (4 << 20), "locked": True}]
    r = run(doc)
    assert not r.ok and not r.system.folio.mlocked and r.costs.iterations == 16


def test_device_exclusive_entry_is_swapped_out_without_tlb_work():
    doc = scenario(order=2, ptes=[
        {"mm": "task", "addr": BASE, "page": 0, "nr": 3},
        {"mm": "task", "addr": BASE + 3 * PS, "page": 3, "kind": "device_exclusive",
         "soft_dirty": True}])
    for mode in MODES:
        r = run(doc, mode)
        assert r.ok and not r.violations
        assert codes(r.system) == "XXXX"
        last = r.system.mms["task"].pt.get(BASE + 3 * PS)
        assert last.soft_dirty and last.swp_offset == r.system.folio.swap_offset + 3
        # the device-exclusive entry counted in MM_ANONPAGES and mapcount (§6)
        assert _mm(r) == {"MM_ANONPAGES": 0, "MM_SWAPENTS": 4}
    r = run(doc)
    assert batches(r) == [("task", 0, 3)]               # never batched itself (§6)
    assert r.costs.tlb_deferred == 1                    # only the present batch
    assert r.costs.iterations == 2


def test_sparc64_stays_per_pte_for_swapbacked_and_saves_every_pages_tags():
    doc = scenario(order=3, arch={"name": "sparc64"})
    r = run(doc)
    assert r.ok and not r.violations
    assert batches(r) == [("task", i, 1) for i in range(8)]     # §7: nr stays 1
    assert r.costs.arch_unmap_one_calls == 8 and r.costs.adi_tag_saves == 8
    ps = 8192
    assert r.system.mms["task"].tag_store == {BASE + i * ps: (4096 + i) << 13 for i in range(8)}
    lz = run(scenario(order=3, arch={"name": "sparc64"}, swapbacked=False))
    assert batches(lz) == [("task", 0, 8)] and lz.costs.arch_unmap_one_calls == 0


def test_fork_both_mms_unmapped_swap_count_two():
    both = [{"mm": m, "addr": BASE, "page": 0, "nr": 16, "write": False}
            for m in ("parent", "child")]
    mms = [{"name": m, "vmas": [{"start": BASE, "end": BASE + 16 * PS}]}
           for m in ("parent", "child")]
    doc = scenario(order=4, exclusive="N" * 16, mms=mms, ptes=both)
    sys = build(doc)
    assert sys.folio.mapcount == 32 and sys.folio.refcount == 32 + 1 + 16
    for mode in MODES:
        r = run(sys, mode)
        f = r.system.folio
        assert r.ok and not r.violations
        assert r.system.swap_counts() == [2] * 16       # one count per swap PTE
        assert f.mapcount == 0 and f.refcount == 17
        for m in ("parent", "child"):
            assert _mm(r, m) == {"MM_ANONPAGES": 0, "MM_SWAPENTS": 16}
        assert codes(r.system) == "S" * 32
    r = run(sys)
    assert batches(r) == [("parent", 0, 16), ("child", 0, 16)]
    assert r.costs.share_calls == 0 and r.costs.barriers == 0   # no exclusive pages


def test_pre_existing_swap_ptes_are_skipped():
    doc = scenario(order=2, exclusive="NEEE", ptes=[
        {"mm": "task", "addr": BASE, "page": 0, "kind": "swap"},
        {"mm": "task", "addr": BASE + PS, "page": 1, "nr": 3}])
    sys = build(doc)
    assert sys.swap_counts() == [1, 0, 0, 0] and sys.mms["task"].counters["MM_SWAPENTS"] == 1
    r = run(sys)
    assert r.ok and not r.violations
    assert batches(r) == [("task", 1, 3)]
    assert codes(r.system) == "SXXX" and r.system.swap_counts() == [1, 1, 1, 1]
    # §5.5: page 0's old swap PTE is rejected by check_pte; the batch of 3 is shorter than the
    # folio, so the walk goes on and also rejects the two swap PTEs it just wrote (pages 2, 3)
    assert [e.addr for e in r.trace.of_kind("skip")] == [BASE, BASE + 2 * PS, BASE + 3 * PS]


def test_unknown_mode_and_bug():
    sys = build(scenario(order=2))
    with pytest.raises(ModeError, match="mode"):
        simcore.run(sys, "fast")
    with pytest.raises(BugError, match="bug"):
        simcore.run(sys, "patched", bugs=("nonsense",))


def test_run_modes_runs_each_mode():
    res = simcore.run_modes(build(scenario(order=4)))
    assert set(res) == set(MODES)
    assert [res[m].costs.iterations for m in MODES] == [16, 16, 1]


def test_two_pin_faults_in_one_unit_both_fire():
    # Regression: a pin fault fires when the unmap first reaches its page. A batched unit
    # reaches all its pages at once, so both pins fire before it (before the fix only the
    # lowest one fired in patched mode and the other was silently lost, so patched ended with
    # pincount 1 where baseline had 2 although both succeeded: no exclusive page to share).
    doc = scenario(order=4, exclusive="N" * 16,
                   ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16, "write": False}],
                   faults=[{"op": "pin", "page": 1}, {"op": "pin", "page": 2}])
    res = {m: run(doc, m, trace=False) for m in MODES}
    for m, r in res.items():
        assert r.ok and not r.violations, m
        assert r.system.folio.pincount == 2, m
        assert sorted(x["page"] for x in r.system.faults.fired) == [1, 2]
    assert res["patched"].system.final_state() == res["baseline"].system.final_state()


# -- round 2: what the 2026 sources say ----------------------------------------------------------
def _split_vmas(listed_high_first: bool):
    # one 64 KiB folio in a VMA split at page 8 by mlock()/mprotect() (flags differ, PTEs not)
    vmas = [{"start": BASE, "end": BASE + 8 * PS}, {"start": BASE + 8 * PS, "end": BASE + 16 * PS}]
    ptes = [{"mm": "task", "addr": BASE, "page": 0, "nr": 8},
            {"mm": "task", "addr": BASE + 8 * PS, "page": 8, "nr": 8}]
    if listed_high_first:
        vmas, ptes = vmas[::-1], ptes[::-1]
    return scenario(order=4, vmas=vmas, ptes=ptes)


@pytest.mark.parametrize("high_first", [False, True])
def test_rmap_walk_visits_vmas_by_vm_pgoff_not_listing_order(high_first):
    """rmap_walk_anon() (mm/rmap.c, 2026): anon_rmap_tree_foreach() walks the anon_vma
    interval tree in increasing vm_pgoff, so a split VMA is visited low address first,
    whatever order the scenario lists its PTE runs in."""
    r = run(_split_vmas(high_first))
    assert r.ok and batches(r) == [("task", 0, 8), ("task", 8, 8)]


def test_rmap_walk_stops_at_the_first_failing_vma_in_pgoff_order():
    """rmap_walk_anon(): ``if (!rwc->rmap_one(...)) break;`` — a failure in the low VMA
    (listed second here) leaves the high VMA unvisited."""
    doc = _split_vmas(True)
    doc["folio"]["pinned"] = True              # every exclusive page's share fails (-EBUSY)
    r = run(doc)
    assert not r.ok and batches(r) == [("task", 0, 8)]
    assert codes(r.system) == "W" * 16


def test_fork_order_breaks_ties_parent_first():
    """anon_vma_fork() → anon_vma_clone() inserts the child's avc after the parent's with the
    same vm_pgoff (an interval tree keeps equal keys in insertion order): the declared mm
    order is fork order."""
    mms = [{"name": "child", "vmas": [{"start": BASE, "end": BASE + 16 * PS}]},
           {"name": "parent", "vmas": [{"start": BASE, "end": BASE + 16 * PS}]}]
    ptes = [{"mm": m, "addr": BASE, "page": 0, "nr": 16, "write": False}
            for m in ("parent", "child")]
    r = run(scenario(order=4, exclusive="N" * 16, mms=mms, ptes=ptes))
    assert [b[0] for b in batches(r)] == ["child", "parent"]


def test_walk_ends_once_the_folio_is_unmapped():
    """try_to_unmap()'s rmap_walk_control has ``.done = folio_not_mapped``: after the VMA that
    held the last mapping, later VMAs (here one holding only swap PTEs) are not walked."""
    mms = [{"name": "a", "vmas": [{"start": BASE, "end": BASE + 16 * PS}]},
           {"name": "b", "vmas": [{"start": BASE, "end": BASE + 16 * PS}]}]
    ptes = [{"mm": "a", "addr": BASE, "page": 0, "nr": 16, "write": False},
            {"mm": "b", "addr": BASE, "page": 0, "nr": 16, "kind": "swap"}]
    r = run(scenario(order=4, exclusive="N" * 16, mms=mms, ptes=ptes))
    assert r.ok and not r.violations
    assert [e.mm for e in r.trace.of_kind("start") if e.fn == "try_to_unmap_one"] == ["a"]


@pytest.mark.parametrize("mode,extra_ref,dirty,swapbacked_after", [
    ("per-pte", True, False, True),      # before 2025: an extra reference also set it
    ("baseline", True, False, False),    # since Barry Song's v4 1/4: only a redirtied folio
    ("patched", True, False, False),
    ("per-pte", False, True, True),
    ("baseline", False, True, True),
])
def test_lazyfree_failure_sets_swapbacked_by_the_rule_of_the_mode(mode, extra_ref, dirty,
                                                                   swapbacked_after):
    """Barry Song, "mm: Set folio swapbacked iff folios are dirty in try_to_unmap_one" (v4 1/4,
    2025-02-14): before it, try_to_unmap_one() called folio_set_swapbacked() on any failure to
    drop a lazyfree folio (unless VM_DROPPABLE); after it (ttu_anon_lazyfree_folio() in the
    2026 mm/rmap.c) only when the folio is dirty."""
    doc = scenario(order=4, swapbacked=False, dirty=dirty, extra_refs=1 if extra_ref else 0)
    r = run(doc, mode)
    assert not r.ok and not r.violations
    assert r.system.folio.swapbacked is swapbacked_after
    assert codes(r.system) == "W" * 16


def test_lazyfree_old_rule_spares_a_droppable_vma():
    """Same commit: VM_DROPPABLE folios are never made swap-backed on failure."""
    doc = scenario(order=4, swapbacked=False, extra_refs=1,
                   vmas=[{"start": BASE, "end": BASE + 16 * PS, "droppable": True}])
    r = run(doc, "per-pte")
    assert not r.ok and not r.system.folio.swapbacked


def test_sparc64_flushes_once_per_pte_even_in_a_batch():
    """sparc64 (arch/sparc/include/asm/tlbflush_64.h: flush_tlb_range() is empty; mm/tlb.c
    tlb_batch_add() per PTE change): a batched lazyfree folio still costs one TLB flush per
    PTE, and nothing is deferred."""
    doc = scenario(order=3, arch={"name": "sparc64"}, swapbacked=False)
    for mode, batches_ in (("per-pte", 8), ("baseline", 1), ("patched", 1)):
        r = run(doc, mode)
        assert r.ok and not r.violations and r.costs.batches == batches_
        assert (r.costs.tlb_flushes, r.costs.tlb_deferred, r.costs.tlb_pages) == (8, 0, 8)


def test_x86_immediate_flush_is_one_range_flush_per_batch():
    """x86 arch_tlbbatch_should_defer() is false for a one-CPU mm: flush_tlb_range() at once,
    one per unmap step (live-kernel-notes.md: one flush per PTE on 6.18 for the baseline)."""
    doc = scenario(order=4, arch={"name": "x86_64", "defer_flush": False})
    base, pat = run(doc, "baseline"), run(doc, "patched")
    assert (base.costs.tlb_flushes, base.costs.tlb_deferred) == (16, 0)
    assert (pat.costs.tlb_flushes, pat.costs.tlb_deferred, pat.costs.tlb_pages) == (1, 0, 16)


def test_swap_dup_per_batch_is_the_other_reading_of_v4():
    """v4 12/12's diff is not readable: raising the swap counts per exclusivity sub-batch
    (default) or once per batch are both INFERRED. With the dup failing on page 9's slot
    (at SWAP_MAP_MAX, mm/swapfile.c), per sub-batch pages 0..3 are swapped out; per batch
    nothing of the batch is."""
    doc = json.loads((EXAMPLES / "partial_failure.json").read_text())
    sub = simcore.run(simcore.from_dict(doc), "patched", trace=True)
    whole = simcore.run(simcore.from_dict(doc), "patched", trace=True, swap_dup="batch")
    assert not sub.ok and not whole.ok and not sub.violations and not whole.violations
    assert codes(sub.system) == "XXXX" + "R" * 12
    assert codes(whole.system) == "R" * 16
    assert whole.system.swap_counts() == [0] * 9 + [62] + [0] * 6
    assert whole.costs.dup_calls == 1 and whole.costs.put_swap_calls == 0
    with pytest.raises(ModeError, match="swap_dup"):
        simcore.run(simcore.from_dict(doc), "patched", swap_dup="page")


def test_a_slot_at_the_limit_gets_a_continuation_when_memory_allows():
    """folio_dup_swap() → add_swap_count_continuation(entry, GFP_ATOMIC) (mm/swapfile.c): a
    slot at SWAP_MAP_MAX without an injected allocation failure just gets a continuation page
    and the unmap succeeds."""
    doc = scenario(order=2, swap_refs_elsewhere=[62, 0, 0, 0])
    for mode in MODES:
        r = run(doc, mode)
        assert r.ok and not r.violations
        assert r.system.swap_counts() == [63, 1, 1, 1]
        assert r.system.swap.continuations == 1
