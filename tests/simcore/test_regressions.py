"""The regression cases of kernel-brief §11 item 45 (a)–(g), each worked out by hand.

Unless a test says otherwise: x86_64, 4 KiB pages, a 64 KiB folio (order 4, pfn 4096) whose
page 0 is mapped at BASE, one mm "task", reclaim defers TLB flushes.
"""

from __future__ import annotations

from simcore_testlib import (
    BASE,
    PS,
    batches,
    build,
    codes,
    run,
    scenario,
    sub_batches,
    violation_codes,
)

from simcore.bugs import BUGS

ALL_MODES = ("per-pte", "baseline", "patched")


def _events(r, *kinds):
    return [(e.kind, e.page, e.nr) for e in r.trace.events if e.kind in kinds]


# -- (a) stale nr_pages + device-exclusive: the CVE-2026-63950 scenario (§6, §1.3 #2) -----------
def _cve(swapbacked=False):
    # 64 KiB MAP_ANONYMOUS|MAP_DROPPABLE folio after MADV_FREE (clean), last page made
    # device-exclusive: pages 0..14 present, page 15 a device-exclusive entry
    # (a VM_DROPPABLE folio is never swap-backed: the swap-backed variant drops the flag)
    return scenario(order=4, swapbacked=swapbacked,
                    vmas=[{"start": BASE, "end": BASE + 16 * PS, "droppable": not swapbacked}],
                    ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 15},
                          {"mm": "task", "addr": BASE + 15 * PS, "page": 15,
                           "kind": "device_exclusive"}])


def test_a_cve_correct_code_batches_15_then_one_device_exclusive_iteration():
    for mode in ("baseline", "patched"):
        r = run(_cve(), mode)
        f = r.system.folio
        assert r.ok and not r.violations, mode
        # §6: the first iteration batches the 15 present PTEs (the device-exclusive entry is
        # not present, so it ends the batch); the second handles the entry alone, nr_pages=1
        assert batches(r) == [("task", 0, 15)]
        assert [e.nr for e in r.trace.of_kind("clear")] == [15, 1]
        assert r.trace.of_kind("clear")[1].fn == "pte_clear"        # no TLB work for it
        assert [e.nr for e in r.trace.of_kind("finish")] == [15, 1]
        assert r.costs.iterations == 2 and r.costs.tlb_deferred == 1
        assert codes(r.system) == "-" * 16 and f.mapcount == 0 and f.refcount == 1
        assert r.system.mms["task"].counters["MM_ANONPAGES"] == 0


def test_a_cve_stale_nr_pages_corrupts_mapcount_refcount_and_rss():
    for mode in ("baseline", "patched"):
        r = run(_cve(), mode, bugs="stale-nr-pages")
        f = r.system.folio
        # second iteration reuses nr_pages=15: MM_ANONPAGES 1-15 = -14, mapcount 1-15 = -14,
        # refcount 2-15 = -13, while no PTE maps the folio any more (expected refcount 1)
        assert f.mapcount == -14 and f.refcount == -13
        assert r.system.mms["task"].counters["MM_ANONPAGES"] == -14
        assert violation_codes(r) == {"mapcount", "refcount", "mm_counters"}
        assert violation_codes(r) <= set(BUGS["stale-nr-pages"].caught_by)
        assert not r.ok                                 # folio_mapped() is confused too
    # per-pte never batches, so nr_pages is 1 anyway: the bug needs batching (>= 6.15)
    r = run(_cve(), "per-pte", bugs="stale-nr-pages")
    assert r.ok and not r.violations


def test_a_cve_shape_after_the_series_swapbacked():
    # the same mapping on a swap-backed folio: patched batches 15, then the entry alone
    r = run(_cve(swapbacked=True))
    assert r.ok and not r.violations and batches(r) == [("task", 0, 15)]
    assert codes(r.system) == "X" * 16
    bad = run(_cve(swapbacked=True), bugs="stale-nr-pages")
    # the entry's own swap work is right, but finish_folio_unmap() uses nr_pages=15
    assert {"mapcount", "refcount"} <= violation_codes(bad)
    assert bad.system.folio.mapcount == 1 - 15


# -- (b) mixed write bits split batches (fork + MADV_DONTFORK, §5.4) ------------------------------
def _dontfork(swapbacked=True, pinned=False, dirty_first=False):
    # parent wrote pages 0..7 (MADV_DONTFORK: not shared, E, writable); pages 8..15 were
    # shared by fork (N, read-only in both); the parent's VMAs merged again afterwards
    mms = [{"name": "parent", "vmas": [{"start": BASE, "end": BASE + 16 * PS}]},
           {"name": "child", "vmas": [{"start": BASE + 8 * PS, "end": BASE + 16 * PS}]}]
    ptes = [{"mm": "parent", "addr": BASE, "page": 0, "nr": 8, "dirty": dirty_first},
            {"mm": "parent", "addr": BASE + 8 * PS, "page": 8, "nr": 8, "write": False},
            {"mm": "child", "addr": BASE + 8 * PS, "page": 8, "nr": 8, "write": False}]
    return scenario(order=4, exclusive="E" * 8 + "N" * 8, swapbacked=swapbacked,
                    pinned=pinned, mms=mms, ptes=ptes)


def test_b_mixed_write_bits_split_the_batch():
    r = run(_dontfork())
    assert r.ok and not r.violations
    # FPB_RESPECT_WRITE: W x8 | R x8 in the parent, then the child's R x8
    assert batches(r) == [("parent", 0, 8), ("parent", 8, 8), ("child", 8, 8)]
    assert sub_batches(r) == [(0, 8, True), (8, 8, False), (8, 8, False)]
    assert r.system.swap_counts() == [1] * 8 + [2] * 8
    assert codes(r.system) == "X" * 8 + "S" * 8 + "S" * 8


def test_b_failed_writable_batch_restores_only_itself():
    r = run(_dontfork(pinned=True))
    # the W batch (E pages) fails to share (pinned): only pages 0..7 restored, writable as
    # before; the read-only half is never touched; no violations
    assert not r.ok and not r.violations
    assert batches(r) == [("parent", 0, 8)]
    assert codes(r.system) == "W" * 8 + "R" * 8 + "R" * 8


def test_b_writable_restore_bug_is_caught():
    r = run(_dontfork(pinned=True), bugs="writable-restore")
    # the bug ignores the write bit: one batch of 16 from a writable template; the first
    # sub-batch (E) fails, all 16 come back writable -> the shared pages 8..15 gained write
    assert batches(r)[0] == ("parent", 0, 16)
    assert codes(r.system, "parent") == "W" * 16
    assert "no_write_gain" in violation_codes(r)


def test_b_lazyfree_restore_bug_the_original_2026_fix():
    # Dev Jain's "fix incorrect pte restoration for lazyfree folios" (§1.8): a redirtied
    # lazyfree batch is restored; with write ignored the read-only half comes back writable
    doc = _dontfork(swapbacked=False, dirty_first=True)
    for mode in ("baseline", "patched"):
        ok = run(doc, mode)
        assert not ok.ok and not ok.violations
        assert codes(ok.system, "parent") == "W" * 8 + "R" * 8
        bad = run(doc, mode, bugs="writable-restore")
        assert "no_write_gain" in violation_codes(bad)


# -- (c) a batch starting mid-folio indexes exclusivity from its first page (§3.4) ---------------
def _mid_folio():
    # pages 0..3 writable E (batch 1); pages 4..15 read-only (batch 2 starts at page 4):
    # pages 4..7 N, 8..15 E
    return scenario(order=4, exclusive="EEEE" + "NNNN" + "E" * 8, ptes=[
        {"mm": "task", "addr": BASE, "page": 0, "nr": 4},
        {"mm": "task", "addr": BASE + 4 * PS, "page": 4, "nr": 12, "write": False}])


def test_c_exclusivity_indexed_from_the_batchs_first_page():
    r = run(_mid_folio())
    assert r.ok and not r.violations
    assert batches(r) == [("task", 0, 4), ("task", 4, 12)]
    # batch 2 from page 4: N,N,N,N,E x8 -> (4,4,N), (8,8,E)
    assert sub_batches(r) == [(0, 4, True), (4, 4, False), (8, 8, True)]
    assert codes(r.system) == "XXXX" + "SSSS" + "X" * 8
    assert r.system.folio.exclusive_string() == "N" * 16


def test_c_exclusivity_from_head_bug_is_caught():
    r = run(_mid_folio(), bugs="exclusivity-from-head")
    # batch 2 reads the flags of pages 0..11 instead of 4..15. Batch 1 has already shared
    # pages 0..3, so they read N,N,N,N,N,N,N,N,E,E,E,E -> runs (0,8,N), (8,4,E) applied to
    # pages 4..11 and 12..15: the E pages 8..11 are treated as N: not shared, no exclusive
    # marker, and they stay PG_anon_exclusive although they are swapped out
    assert sub_batches(r)[1:] == [(4, 8, False), (12, 4, True)]
    assert codes(r.system) == "XXXX" + "SSSS" + "SSSS" + "XXXX"
    assert r.system.folio.exclusive_string() == "N" * 8 + "EEEE" + "NNNN"
    assert violation_codes(r) == {"swap_exclusive"}
    assert {v.message.split(":")[0] for v in r.violations} == {"task"}
    assert set(BUGS["exclusivity-from-head"].caught_by) == {"swap_exclusive"}


def test_c_exclusivity_from_head_bug_wrong_marker_variant():
    """The head pages are still E when batch [4,16) is formed: the rmap walk reaches the
    folio's tail first. `rmap_walk_anon()` (mm/rmap.c, 2026) visits VMAs in anon_vma
    interval-tree order, increasing vm_pgoff; here the tail (pages 4..15, mremap()ed) sits in
    a VMA that starts 2 pages below where page 0 would be (its vm_pgoff is the folio index
    - 2), the head VMA at page 0 (index + 0), so the tail VMA comes first."""
    tail = BASE + (1 << 21)
    doc = scenario(order=4, exclusive="EEEE" + "NNNN" + "E" * 8,
                   vmas=[{"start": BASE, "end": BASE + 4 * PS},
                         {"start": tail - 2 * PS, "end": tail + 16 * PS}],
                   ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 4},
                         {"mm": "task", "addr": tail + 4 * PS, "page": 4, "nr": 12,
                          "write": False}])
    r = run(doc)
    assert r.ok and not r.violations
    assert batches(r) == [("task", 4, 12), ("task", 0, 4)]
    assert sub_batches(r) == [(4, 4, False), (8, 8, True), (0, 4, True)]
    bad = run(doc, bugs="exclusivity-from-head")
    # flags of pages 0..11 = E,E,E,E,N,N,N,N,E,E,E,E -> (4,4,E), (8,4,N), (12,4,E):
    # the N pages 4..7 get the exclusive marker (swap-in could map a shared page writable)
    # and the E pages 8..11 stay PG_anon_exclusive without a marker
    assert sub_batches(bad)[:3] == [(4, 4, True), (8, 4, False), (12, 4, True)]
    msgs = " ".join(v.message for v in bad.violations)
    assert violation_codes(bad) == {"swap_exclusive"}
    assert "carries the exclusive marker" in msgs and "still PG_anon_exclusive" in msgs


# -- (d) pinned folio with mixed E/N: partial success then failure, §5.2 accounting ---------------
EXCL_D = "NNNN" + "E" * 8 + "NNNN"


def _pinned_mixed(**run_bits):
    bits = {"write": False}
    bits.update(run_bits)
    return scenario(order=4, exclusive=EXCL_D, pinned=True,
                    ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16, **bits}])


def test_d_pinned_mixed_partial_success_then_failure():
    sys0 = build(_pinned_mixed())
    f0 = sys0.folio
    assert (f0.mapcount, f0.refcount) == (16, 16 + 1 + 16 + 1)     # + swap cache + pin
    r = run(sys0)
    f = r.system.folio
    assert not r.ok and not r.violations
    assert batches(r) == [("task", 0, 16)]
    # sub-batches (0,4,N) then (4,8,E): the N one succeeds, the E one's share fails (-EBUSY)
    assert sub_batches(r) == [(0, 4, False), (4, 8, True)]
    assert _events(r, "sub_batch", "dup", "share", "counters", "swap_ptes", "fail",
                   "restore", "finish") == [
        ("sub_batch", 0, 4), ("dup", 0, 4), ("counters", None, 4), ("swap_ptes", 0, 4),
        ("sub_batch", 4, 8), ("dup", 4, 8), ("fail", 4, 8), ("restore", 4, 12),
        ("finish", 0, 4)]
    # §5.2, s = 4, N = 16:
    # [0,4): swap PTEs, counters -4/+4, swap count +1, rmap -4, refs -4
    assert codes(r.system) == "SSSS" + "R" * 12
    assert r.system.swap_counts() == [1] * 4 + [0] * 12          # the E sub-batch's dup undone
    assert r.system.mms["task"].counters == {"MM_ANONPAGES": 12, "MM_SWAPENTS": 4}
    assert f.mapcount == 12 and f.refcount == 34 - 4
    # partially mapped now, but in the swap cache: deferred_split_folio() (mm/huge_memory.c)
    # returns early for swap-cache folios, so it is not queued for deferred split
    assert list(f.page_mapcount) == [0] * 4 + [1] * 12 and not f.partially_mapped
    # [4,16): present again, identical to before (all clean/old, so merged A/D = before)
    for i in range(4, 16):
        assert r.system.mms["task"].pt.get(BASE + i * PS) == sys0.mms["task"].pt.get(
            BASE + i * PS)
    assert f.exclusive_string() == EXCL_D                         # flags unchanged
    c = r.costs
    assert (c.dup_calls, c.put_swap_calls, c.share_calls, c.barriers) == (2, 1, 1, 1)
    assert (c.rmap_calls, c.put_refs_calls, c.iterations) == (1, 1, 1)   # walk stopped
    # baseline fails on page 4 after pages 0..3: the very same final state
    assert run(sys0, "baseline").system.final_state() == r.system.final_state()


def test_d_restored_tail_carries_the_merged_dirty_and_young():
    doc = _pinned_mixed()
    doc["ptes"] = [{"mm": "task", "addr": BASE, "page": 0, "nr": 2, "write": False,
                    "young": True},
                   {"mm": "task", "addr": BASE + 2 * PS, "page": 2, "nr": 11, "write": False},
                   {"mm": "task", "addr": BASE + 13 * PS, "page": 13, "nr": 3, "write": False,
                    "dirty": True}]
    r = run(doc)
    assert not r.ok and not r.violations
    # §5.2: [s, N) restored from the merged pteval: dirty and young OR-ed over the batch
    for i in range(4, 16):
        p = r.system.mms["task"].pt.get(BASE + i * PS)
        assert p.kind == "present" and p.dirty and p.young and not p.write
    assert r.system.folio.dirty                                   # folio_mark_dirty()


def test_d_skip_accounting_bug_is_caught():
    r = run(_pinned_mixed(), bugs="skip-accounting")
    # [0,4) became swap PTEs but rmap/refcount were not updated: mapcount 16 vs 12 mapped,
    # refcount 34 vs 12 + 1 + 16 + 1 = 30
    assert r.system.folio.mapcount == 16 and r.system.folio.refcount == 34
    assert violation_codes(r) == {"mapcount", "refcount"} == set(
        BUGS["skip-accounting"].caught_by)


# -- (e) injected dup failure on a middle sub-batch (§5.1 #2) -----------------------------------
EXCL_E = "EEEE" + "NNNN" + "EEEE" + "NNNN"


def _dup_fail():
    # folio_dup_swap() fails only on a slot at SWAP_MAP_MAX (mm/swapfile.c): page 6's slot is
    # also named by 62 swap PTEs of other processes, and its continuation page cannot be
    # allocated (the fault)
    return scenario(order=4, exclusive=EXCL_E, faults=[{"op": "dup_swap", "page": 6}],
                    swap_refs_elsewhere=[0] * 6 + [62] + [0] * 9,
                    ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16, "write": False}])


def test_e_dup_failure_on_a_middle_sub_batch():
    r = run(_dup_fail())
    f = r.system.folio
    assert not r.ok and not r.violations
    # sub-batch (0,4,E) done; (4,4,N) fails its batched dup (all or nothing: nothing to undo)
    assert sub_batches(r) == [(0, 4, True), (4, 4, False)]
    assert r.system.faults.fired == [{"op": "dup_swap", "page": 6}]
    assert codes(r.system) == "XXXX" + "R" * 12
    assert f.exclusive_string() == "NNNN" + "NNNN" + "EEEE" + "NNNN"   # 0..3 shared
    assert r.system.swap_counts() == [1] * 4 + [0, 0, 62] + [0] * 9
    assert r.system.mms["task"].counters == {"MM_ANONPAGES": 12, "MM_SWAPENTS": 4}
    assert f.mapcount == 12 and f.refcount == 33 - 4
    assert r.costs.put_swap_calls == 0


def test_e_baseline_gets_further_a_teaching_point():
    r = run(_dup_fail(), "baseline")
    # one page at a time: pages 0..5 are swapped out, page 6's dup fails
    assert not r.ok and not r.violations
    assert codes(r.system) == "XXXX" + "SS" + "R" * 10
    assert r.system.folio.mapcount == 10
    assert r.system.final_state() != run(_dup_fail()).system.final_state()


def test_e_skip_accounting_bug_is_caught():
    r = run(_dup_fail(), bugs="skip-accounting")
    assert violation_codes(r) == {"mapcount", "refcount"}


# -- (f) folio crossing a PMD boundary and the VMA end (§2.3, Lance Yang) -------------------------
START = BASE + (2 << 20) - 8 * PS            # pages 0..7 below the 2 MiB boundary


def _straddle(swapbacked=True):
    # VMA ends 4 pages after the boundary: pages 0..11 mapped, 12..15 outside the VMA
    return scenario(order=4, swapbacked=swapbacked,
                    vmas=[{"start": START - 4 * PS, "end": START + 12 * PS}],
                    ptes=[{"mm": "task", "addr": START, "page": 0, "nr": 12}])


def test_f_batches_capped_at_pmd_boundary_and_vma_end():
    r = run(_straddle())
    assert r.ok and not r.violations
    # max_nr = (pmd_addr_end(addr, vm_end) - addr) >> PAGE_SHIFT: 8 (PMD), then 4 (VMA end)
    assert batches(r) == [("task", 0, 8), ("task", 8, 4)]
    assert r.costs.pgtable_walks == 2                  # the walk restarts in the next table
    assert codes(r.system) == "X" * 12 and r.system.folio.mapcount == 0
    assert batches(run(_straddle(swapbacked=False), "baseline")) == [("task", 0, 8),
                                                                    ("task", 8, 4)]
    assert batches(run(_straddle(), "baseline")) == [("task", i, 1) for i in range(12)]


def test_f_cross_pmd_bug_is_caught_by_page_table_bounds():
    for mode, sb in (("patched", True), ("baseline", False)):
        r = run(_straddle(swapbacked=sb), mode, bugs="cross-pmd")
        assert batches(r)[0] == ("task", 0, 12)       # capped at the VMA end only
        assert violation_codes(r) == {"page_table_bounds"} == set(BUGS["cross-pmd"].caught_by)
    # entries 8..11 are reached through the first table's pointer: patched (swap-backed) reads
    # them in the batcher, clears them and writes their swap PTEs (4 + 4 + 4); lazyfree
    # baseline only reads and clears them (4 + 4)
    r = run(_straddle(), "patched", bugs="cross-pmd")
    assert len(r.system.mms["task"].pt.oob) == 12
    r = run(_straddle(swapbacked=False), "baseline", bugs="cross-pmd")
    assert len(r.system.mms["task"].pt.oob) == 8


# -- (g) arm64 CONT block fully vs partially covered (§8.3, §8.4) ----------------------------------
ARM = {"name": "arm64", "page_size": 4096}


def _unfolds(doc, mode):
    r = run(doc, mode)
    assert r.ok and not r.violations
    return r.costs.contpte_unfolds, r.costs.tlbi_unfold


def test_g_aligned_64k_folio():
    doc = scenario(order=4, arch=ARM)
    assert codes(build(doc)) == "Wc" * 16                 # derived: one CONT block
    # §8.4: a batch covering the whole aligned block unfolds nothing
    assert _unfolds(doc, "patched") == (0, 0)
    # §8.3: per PTE, the first clear unfolds the block (16 clears + TLBI + 16 writes)
    assert _unfolds(doc, "baseline") == (1, 1)
    assert _unfolds(doc, "per-pte") == (1, 1)
    bb = scenario(order=4, arch=dict(ARM, bbml2=True))
    assert _unfolds(bb, "baseline") == (1, 0)             # BBML2: no break-before-make TLBI


def test_g_256k_folio_one_unfold_per_block_in_baseline():
    doc = scenario(order=6, arch=ARM)
    assert _unfolds(doc, "patched") == (0, 0)
    assert _unfolds(doc, "baseline") == (4, 4)            # 4 blocks touched


def test_g_unaligned_batches_unfold_only_the_partial_end_blocks():
    # 256 KiB folio, 4 CONT blocks. madvise (e.g. MADV_DONTFORK) split the VMA at pages 8
    # and 56 without touching the PTEs, so blocks 0 and 3 straddle VMA boundaries (CONT
    # given explicitly: derivation only folds blocks inside one VMA)
    vmas = [{"start": BASE + a * PS, "end": BASE + b * PS} for a, b in ((0, 8), (8, 56),
                                                                          (56, 64))]
    doc = scenario(order=6, arch=ARM, vmas=vmas,
                   ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 64, "cont": True}])
    r = run(doc)
    assert r.ok and not r.violations
    # patched: VMA 1 batch [0,8) ends inside block 0 -> unfold block 0; VMA 2 ends inside
    # block 3 -> unfold block 3; blocks 1 and 2 are covered whole -> never unfolded
    assert r.costs.contpte_unfolds == 2
    covered = sorted(p for _, p, n in batches(r) for p in range(p, p + n))
    assert covered == list(range(64))
    # baseline: one unfold per block touched
    assert _unfolds(doc, "baseline") == (4, 4)


def test_g_the_redundant_work_of_section_8_3_counted():
    # aligned 64 KiB CONT block, clean and old (so every contpte_ptep_get scans all 16)
    doc = scenario(order=4, arch=ARM)
    p, b = run(doc, "patched", trace=False).costs, run(doc, "baseline", trace=False).costs
    # patched: walk's ptep_get (1 + 16 block loads) + try_to_unmap_one's (1 + 16); the batch
    # hint covers the block, so no compare; aligned clear: 16 raw loads, no unfold
    assert (p.ptep_get, p.pte_reads) == (2, 17 + 17 + 16)
    assert p.pte_writes == 16 + 16 and p.tlb_deferred == 1
    # baseline, iteration 1: the same two block scans, then the unfold (16 loads, 32 stores,
    # a TLBI), then 1 clear; iterations 2..16 on plain PTEs: walk none-skip + check_pte +
    # try_to_unmap_one ptep_get + 1 clear = 4 loads each
    assert (b.ptep_get, b.pte_reads) == (2 + 15 * 3, 17 + 17 + 16 + 1 + 15 * 4)
    assert b.pte_writes == 32 + 16 + 16 and b.tlb_deferred == 16
