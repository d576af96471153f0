"""simcore.workload: the cover letter's MADV_PAGEOUT of 256 MiB of mTHPs, generated.

No timing assertions here (the speed targets live in `make bench`).
"""

from __future__ import annotations

import pytest

from simcore import api, workload
from simcore.costs import COUNTERS
from simcore.scenario import derive_cont, from_dict
from simcore.system import System

K, M = 1 << 10, 1 << 20


def one(counts: dict[str, int]) -> dict[str, int]:
    """The full counter dict from the non-zero entries."""
    return {k: counts.get(k, 0) for k in COUNTERS}


def folio_counters(arch: str, mode: str, folio: int = 64 * K, n: int = 1, **kw):
    return workload.counters(workload.build(n * folio, folio, arch, **kw), mode)


# -- sizes and geometry ------------------------------------------------------------------------
@pytest.mark.parametrize("text,value", [("256M", 256 * M), ("64K", 64 * K), ("2MiB", 2 * M),
                                        ("4096", 4096), ("1g", 1 << 30), (8192, 8192)])
def test_parse_size(text, value):
    assert workload.parse_size(text) == value


@pytest.mark.parametrize("bad", ["", "12Q", "-4K", "1.5M", "K"])
def test_parse_size_rejects(bad):
    with pytest.raises(workload.WorkloadError, match="size"):
        workload.parse_size(bad)


def test_cover_letter_geometry():
    w = workload.build("256M", "64K", "arm64")
    assert (w.nr_folios, w.nr_ptes, w.folio_pages, w.order) == (4096, 65536, 16, 4)
    assert w.cont and w.arch.cont_ptes == 16
    assert not workload.build("256M", "64K", "x86_64").cont
    # 16K granule: a 64 KiB folio is 4 PTEs, a CONT block 128: never CONT (kernel brief §8.4)
    w16 = workload.build("256M", "64K", "arm64", page_size=16384)
    assert w16.folio_pages == 4 and not w16.cont


@pytest.mark.parametrize("size,folio,match", [
    ("256M", "3K", "folio"), ("256M", "48K", "folio"), ("100K", "64K", "size"),
    ("256M", "4M", "folio"), ("0", "64K", "size")])
def test_build_rejects(size, folio, match):
    with pytest.raises(workload.WorkloadError, match=match):
        workload.build(size, folio, "x86_64")


# -- one 64 KiB folio, hand-checked (kernel brief §8.3 / §8.4) ----------------------------------
# The stage: 16 PTEs, present, writable, dirty, young, CONT (one aligned 64 KiB block on arm64,
# 4K granule, no BBML2); all 16 pages PG_anon_exclusive; TLB flushes deferred (TTU_BATCH_FLUSH).
#
# baseline (anon swap-backed: folio_unmap_pte_batch() returns 1), 16 iterations:
#  * walk: 16 iterations, 16 walk steps, 1 page-table walk, 16 check_pte;
#  * ptep_get: iteration 1 = check_pte's + try_to_unmap_one's = 2; iterations 2..16 = the walk's
#    pte_none test + check_pte's + try_to_unmap_one's = 3 each → 2 + 45 = 47;
#  * raw loads: iteration 1: each ptep_get on the CONT PTE loads it and scans the block until it
#    has seen dirty and young — the first entry has both, so 2 loads each (4); the unfold
#    (contpte_convert) loads all 16; the one-PTE clear loads 1 → 21. Iterations 2..16: the block
#    is no longer CONT: 3 ptep_get loads + 1 clear load = 4 each (60) → 81;
#  * stores: the unfold clears 16 and rewrites 16, each iteration clears 1 (16) and writes one
#    swap PTE (16) → 64;
#  * 1 contpte unfold with its break-before-make TLBI; 16 deferred TLB adds of 1 page each;
#  * per page: 1 folio_dup_swap (1 swap-count update), 1 share (2 barriers), MM_ANONPAGES -1
#    and MM_SWAPENTS +1 (2 atomics; the very first swap entry also puts the mm on the mmlist:
#    +1), 1 folio_remove_rmap_ptes (large mapcount + the page's mapcount: 2 atomics),
#    1 folio_put_refs (1 atomic); 16 batches of 1 and 16 units of swap work.
BASELINE_64K_ARM64 = one({
    "iterations": 16, "walk_steps": 16, "pgtable_walks": 1, "check_pte": 16,
    "ptep_get": 47, "pte_reads": 81, "pte_writes": 64,
    "contpte_unfolds": 1, "tlbi_unfold": 1, "tlb_deferred": 16, "tlb_pages": 16,
    "barriers": 32, "atomic_mm": 33, "atomic_mapcount": 32, "atomic_refcount": 16,
    "atomic_swap": 16, "dup_calls": 16, "share_calls": 16, "rmap_calls": 16,
    "put_refs_calls": 16, "batches": 16, "sub_batches": 16})
# patched, 1 iteration:
#  * walk: 1 iteration, 1 step, 1 page-table walk, 1 check_pte;
#  * ptep_get: check_pte's + try_to_unmap_one's = 2 (2 loads each, as above); the batch needs no
#    more: pte_batch_hint() on the CONT PTE says "16 to the block end" = the whole folio;
#  * get_and_clear_ptes(16) covers the aligned block exactly: contpte_try_unfold_partial()
#    unfolds nothing; 16 raw clears (16 loads, 16 stores) → loads 4 + 16 = 20;
#  * 1 deferred TLB add covering 16 pages;
#  * all pages exclusive → one sub-batch: 1 dup (16 slot counts), 1 share (2 barriers), rss
#    counters -16/+16 (2 atomics, +1 mmlist), 16 swap-PTE stores → stores 32;
#    1 folio_remove_rmap_ptes (1 + 16 atomics), 1 folio_put_refs.
PATCHED_64K_ARM64 = one({
    "iterations": 1, "walk_steps": 1, "pgtable_walks": 1, "check_pte": 1,
    "ptep_get": 2, "pte_reads": 20, "pte_writes": 32,
    "tlb_deferred": 1, "tlb_pages": 16,
    "barriers": 2, "atomic_mm": 3, "atomic_mapcount": 17, "atomic_refcount": 1,
    "atomic_swap": 16, "dup_calls": 1, "share_calls": 1, "rmap_calls": 1,
    "put_refs_calls": 1, "batches": 1, "sub_batches": 1})


def test_one_folio_baseline_arm64_by_hand():
    assert folio_counters("arm64", "baseline") == BASELINE_64K_ARM64


def test_one_folio_patched_arm64_by_hand():
    assert folio_counters("arm64", "patched") == PATCHED_64K_ARM64


def test_one_folio_summary_matches_kernel_brief():
    """§8.3/§8.4 in one line: 16 iterations, 16 TLB ops, 1 unfold → 1, 1, 0."""
    b, p = BASELINE_64K_ARM64, PATCHED_64K_ARM64
    assert (b["iterations"], b["tlb_deferred"] + b["tlb_flushes"], b["contpte_unfolds"]) == \
        (16, 16, 1)
    assert (p["iterations"], p["tlb_deferred"] + p["tlb_flushes"], p["contpte_unfolds"]) == \
        (1, 1, 0)


def test_one_folio_bbml2_skips_only_the_unfold_tlbi():
    b = folio_counters("arm64", "baseline", bbml2=True)
    assert b == {**BASELINE_64K_ARM64, "tlbi_unfold": 0}


def test_one_folio_x86_patched_batch_scans_every_pte():
    """No CONT hint on x86: folio_pte_batch_flags() compares 15 more PTEs one at a time."""
    p = folio_counters("x86_64", "patched")
    assert p["ptep_get"] == 2 + 15 and p["pte_reads"] == 2 + 15 + 16
    assert p["contpte_unfolds"] == 0 and p["tlb_deferred"] == 1


def test_sparc64_patched_stays_per_pte():
    """v4 12/12 disables the sparc64 anon swap-backed batch: patched == baseline there."""
    assert folio_counters("sparc64", "patched") == folio_counters("sparc64", "baseline")
    assert folio_counters("sparc64", "patched")["adi_tag_saves"] == 8      # 64K / 8K pages


# -- the stage equals what scenario + settle() would build ------------------------------------
def _scenario_of(w: workload.Workload) -> dict:
    arch = {"name": w.arch.name, "page_size": w.arch.page_size}
    if w.arch.bbml2:
        arch["bbml2"] = True
    nr = w.folio_pages
    return {"schema": "simcore.scenario/1", "name": "one folio of the workload", "arch": arch,
            "folio": {"order": w.order, "pfn": w.first_pfn, "dirty": True, "exclusive": "E" * nr},
            "mms": [{"name": "task", "vmas": [{"start": w.base,
                                               "end": w.base + w.folio_bytes}]}],
            "ptes": [{"mm": "task", "addr": w.base, "page": 0, "nr": nr, "write": True,
                      "dirty": True, "young": True}]}


@pytest.mark.parametrize("arch,page_size,folio", [
    ("arm64", 4096, 64 * K), ("arm64", 4096, 16 * K), ("arm64", 4096, 2 * M),
    ("arm64", 16384, 64 * K), ("arm64", 16384, 2 * M), ("x86_64", 4096, 64 * K),
    ("sparc64", 8192, 64 * K)])
@pytest.mark.parametrize("mode", ["per-pte", "baseline", "patched"])
def test_one_folio_equals_the_scenario_path(arch, page_size, folio, mode):
    """Direct bookkeeping (no settle()) gives the same stage, costs and result as from_dict."""
    w = workload.build(folio, folio, arch, page_size)
    st = workload.instantiate(w)
    sys = from_dict(_scenario_of(w))
    # the stage: PTE values (incl. the derived CONT bits), folio bookkeeping, rss counters
    assert dict(st.mm.pt.items()) == dict(sys.mms["task"].pt.items())
    f, g = st.folios[0], sys.folio
    assert (f.mapcount, f.refcount, f.swapcache, f.swap_offset, f.dirty) == \
        (g.mapcount, g.refcount, g.swapcache, g.swap_offset, g.dirty)
    assert list(f.page_mapcount) == list(g.page_mapcount)
    assert st.mm.counters == sys.mms["task"].counters
    assert st.mm.hiwater_rss == sys.mms["task"].hiwater_rss
    # the run
    ok = workload.unmap_all(st, mode)
    res = api.run(sys, mode)
    assert ok == res.ok is True
    assert st.costs.as_dict() == res.costs.as_dict()
    assert dict(st.mm.pt.items()) == dict(res.system.mms["task"].pt.items())
    assert (st.folios[0].mapcount, st.folios[0].refcount) == \
        (res.system.folio.mapcount, res.system.folio.refcount)


@pytest.mark.parametrize("page_size,folio", [(4096, 64 * K), (4096, 32 * K), (4096, 512 * K),
                                             (16384, 2 * M), (65536, 2 * M)])
def test_cont_bits_equal_derive_cont(page_size, folio):
    """The workload's CONT rule is scenario.derive_cont() for aligned single-folio blocks."""
    w = workload.build(folio, folio, "arm64", page_size)
    st = workload.instantiate(w)
    doc = _scenario_of(w)
    sys = from_dict(doc)
    mm = sys.mms["task"]
    for addr, pte in mm.pt.items():              # derive again from scratch, non-CONT start
        mm.pt.set(addr, pte._replace(cont=False))
    derive_cont(sys)
    assert [p.cont for _, p in st.mm.pt.items()] == [p.cont for _, p in mm.pt.items()]
    assert isinstance(sys, System)


# -- many folios: linearity, consistency, the invariant checker ---------------------------------
@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
@pytest.mark.parametrize("mode", ["baseline", "patched"])
def test_counters_are_linear_in_folio_count(arch, mode):
    """n folios cost n × one folio, except the mmlist add, done once per mm."""
    single = folio_counters(arch, mode)
    for n in (2, 3, 8, 33):
        many = folio_counters(arch, mode, n=n)
        want = {k: n * v for k, v in single.items()}
        want["atomic_mm"] -= n - 1
        assert many == want, n


@pytest.mark.parametrize("arch", ["arm64", "x86_64", "sparc64"])
@pytest.mark.parametrize("mode", ["per-pte", "baseline", "patched"])
def test_run_reports_a_clean_result(arch, mode):
    w = workload.build("4M", "64K", arch)
    r = workload.run(w, mode)
    assert r["ok"] is True and r["nr_folios"] == 64 and r["nr_ptes"] == w.nr_ptes
    assert r["consistency"] == []
    assert set(r["violations_sampled"]) == {0, 32, 63}
    assert all(v == [] for v in r["violations_sampled"].values())
    assert r["seconds"] >= 0 and r["estimate_ns"] > 0
    assert set(r["costs"]) == set(COUNTERS)


def test_modes_end_in_the_same_state():
    """Mode equivalence on the workload: only the costs differ."""
    w = workload.build("1M", "64K", "arm64")
    states = []
    for mode in ("per-pte", "baseline", "patched"):
        st = workload.instantiate(w)
        assert workload.unmap_all(st, mode)
        states.append((list(st.mm.pt.items()), dict(st.mm.counters),
                       [(f.mapcount, f.refcount, f.exclusive_string()) for f in st.folios],
                       list(st.swap.counts)))
    assert states[0] == states[1] == states[2]


def test_checks_catch_a_corrupted_workload():
    """The whole-workload check and the sampled invariant check are not vacuous."""
    w = workload.build("1M", "64K", "x86_64")
    st = workload.instantiate(w)
    workload.unmap_all(st, "patched", sample=(0, 15))
    assert workload.final_consistency(st) == []
    assert all(v == [] for v in workload.sampled_violations(st).values())
    st.folios[0].refcount += 1              # a leaked reference
    st.swap.counts[3] += 1                  # a swap count nobody holds
    assert len(workload.final_consistency(st)) == 2
    codes = {v.code for v in workload.sampled_violations(st)[0]}
    assert {"refcount", "swap_counts"} <= codes


def test_tlb_pending_list_is_drained():
    w = workload.build("4M", "64K", "arm64", flush_every=8)
    st = workload.instantiate(w)
    workload.unmap_all(st, "baseline")
    assert st.sys.ubc.pending == [] and not st.sys.ubc.flush_required


# -- the lazyfree workload (round 2) --------------------------------------------------------------
def test_lazyfree_workload_drops_clean_folios_in_one_batch_since_2025():
    """Barry Song's benchmark shape (memset, MADV_FREE, MADV_PAGEOUT): madvise_free_pte_range()
    (mm/madvise.c) leaves clean, old, writable PTEs of a lazyfree folio; try_to_unmap_one()
    drops them (ttu_anon_lazyfree_folio(), mm/rmap.c) one batch per folio since "mm: Support
    batched unmap for lazyfree large folios during reclamation" (2025), one PTE per iteration
    before."""
    w = workload.build(8 * 64 * K, 64 * K, "arm64", kind="lazyfree")
    runs = {m: workload.run(w, m) for m in ("per-pte", "baseline", "patched")}
    for m, r in runs.items():
        assert r["ok"] and not r["consistency"], m
        assert not any(r["violations_sampled"].values()), m
        assert r["kind"] == "lazyfree" and r["estimate_scope"] == "unmap"
        assert r["costs"]["dup_calls"] == 0 and r["costs"]["share_calls"] == 0
    assert runs["per-pte"]["costs"]["iterations"] == 8 * 16
    assert runs["baseline"]["costs"] == runs["patched"]["costs"]
    assert runs["baseline"]["costs"]["iterations"] == 8
    assert runs["per-pte"]["estimate_ns"] > runs["baseline"]["estimate_ns"] > 0


def test_workload_kind_and_tlb_are_checked():
    with pytest.raises(workload.WorkloadError, match="kind: unknown"):
        workload.build(64 * K, 64 * K, "arm64", kind="free")
    x = workload.build(64 * K, 64 * K, "x86_64", defer_flush=False)
    assert x.arch.tlb_policy == "immediate"
    c = workload.counters(x, "baseline")
    assert (c["tlb_flushes"], c["tlb_deferred"]) == (16, 0)
