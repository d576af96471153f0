"""Cost counters: what one run of the unmap path did, counted, not timed.

Each counter names an operation the kernel performs; `simcore.costmodel` turns them into an
estimated time per architecture. Counters are plain integer attributes so that the hot loop of a
65,536-PTE workload stays cheap.
"""

from __future__ import annotations

#: counter name -> what it counts (used by reports, the book and the cost model)
COUNTERS: dict[str, str] = {
    "iterations": "iterations of the `while (page_vma_mapped_walk())` loop body",
    "walk_steps": "PTE slots the rmap walk stepped over or stopped at",
    "pgtable_walks": "top-down page-table walks (walk start, or restart after a PMD boundary)",
    "check_pte": "calls of check_pte()",
    "ptep_get": "calls of ptep_get() on a present or device-exclusive PTE",
    "pte_reads": "raw PTE loads (an arm64 CONT block scan is up to CONT_PTES loads)",
    "pte_writes": "PTE stores (clears, swap PTEs, restores, contpte rewrites)",
    "contpte_unfolds": "contpte_convert() unfolds of a CONT block",
    "contpte_folds": "CONT blocks folded again by set_ptes() on restore",
    "tlbi_unfold": "break-before-make TLB invalidations inside an unfold (no BBML2)",
    "tlb_deferred": "set_tlb_ubc_flush_pending() calls that queued a flush",
    "tlb_flushes": "flush_tlb_range() calls",
    "tlb_pages": "pages covered by those TLB operations",
    "barriers": "full memory barriers (smp_mb / smp_mb__after_atomic)",
    "atomic_mm": "atomic updates of mm rss counters",
    "atomic_mapcount": "atomic updates of mapcounts (folio_remove_rmap_ptes)",
    "atomic_refcount": "atomic updates of the folio refcount (folio_put_refs)",
    "atomic_swap": "swap-count updates (dup and put)",
    "dup_calls": "calls of folio_dup_swap()",
    "put_swap_calls": "calls of folio_put_swap()",
    "share_calls": "calls of folio_try_share_anon_rmap_pte(s)()",
    "rmap_calls": "calls of folio_remove_rmap_ptes()",
    "put_refs_calls": "calls of folio_put_refs()",
    "arch_unmap_one_calls": "calls of arch_unmap_one() that reach the sparc64 ADI code",
    "adi_tag_saves": "pages whose ADI tags adi_save_tags() copied",
    "batches": "batches (runs of PTEs cleared together, 1 PTE = a batch of 1)",
    "sub_batches": "units of swap work (a page, or a sub-batch of equal exclusivity)",
}


class Costs:
    __slots__ = tuple(COUNTERS)

    def __init__(self) -> None:
        for name in COUNTERS:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}

    def add(self, other: Costs) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def tlb_ops(self) -> int:
        return self.tlb_deferred + self.tlb_flushes

    def __repr__(self) -> str:
        nz = {k: v for k, v in self.as_dict().items() if v}
        return f"Costs({nz})"
