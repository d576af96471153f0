"""TLB maintenance after clearing PTEs: deferred (batched) flush or an immediate range flush.

Models `should_defer_flush()`, `set_tlb_ubc_flush_pending()` and `flush_tlb_range()` in
mm/rmap.c. Reclaim passes TTU_BATCH_FLUSH, so whether a flush is deferred is the architecture's
call (`arch_tlbbatch_should_defer()`): arm64 always defers, x86 only when the mm has run on
another CPU (the profile's ``defer_flush``), sparc64 never (see `simcore.arch`). On sparc64
`flush_tlb_range()` is empty and each PTE update queues its own flush (`tlb_batch_add()`,
arch/sparc/mm/tlb.c), modelled by `tlb_batch_add()` below. A deferred flush is recorded in
the reclaiming task's `tlb_ubc`: `flush_required`, `writable` if a dirty PTE was cleared,
and the pending ranges, which `try_to_unmap_flush()` later drains once for many folios.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simcore.costs import Costs
from simcore.mm import Mm
from simcore.pte import Pte


@dataclass
class TlbUbc:
    """`struct tlbflush_unmap_batch` of the reclaiming task."""

    flush_required: bool = False
    writable: bool = False
    pending: list[tuple[str, int, int]] = field(default_factory=list)   # (mm, start, end)
    flushed: list[tuple[str, int, int]] = field(default_factory=list)


def pte_accessible(pte: Pte) -> bool:
    """`pte_accessible()`: could a TLB hold this translation? (present PTEs; here: all are)."""
    return pte.kind == "present"


def set_tlb_ubc_flush_pending(ubc: TlbUbc, mm: Mm, pteval: Pte, start: int, end: int,
                              costs: Costs, pages: int) -> None:
    """`set_tlb_ubc_flush_pending()`: queue one flush of [start, end) for later."""
    if not pte_accessible(pteval):
        return
    costs.tlb_deferred += 1
    costs.tlb_pages += pages
    ubc.pending.append((mm.name, start, end))
    ubc.flush_required = True
    mm.tlb_flush_batched += 1
    if pteval.dirty:
        ubc.writable = True


def flush_tlb_range(ubc: TlbUbc, mm: Mm, start: int, end: int, costs: Costs, pages: int) -> None:
    """`flush_tlb_range()`: invalidate [start, end) now."""
    costs.tlb_flushes += 1
    costs.tlb_pages += pages
    ubc.flushed.append((mm.name, start, end))


def tlb_batch_add(ubc: TlbUbc, mm: Mm, start: int, nr: int, page_size: int,
                  costs: Costs) -> None:
    """sparc64 `tlb_batch_add()` (arch/sparc/mm/tlb.c): one flush per valid PTE cleared.

    sparc64's `ptep_get_and_clear()` / `set_pte_at()` queue the old translation for a TSB and
    TLB flush as they change it, so clearing nr PTEs costs nr flushes whatever the batch; the
    `flush_tlb_range()` that follows is empty (arch/sparc/include/asm/tlbflush_64.h).
    """
    costs.tlb_flushes += nr
    costs.tlb_pages += nr
    for i in range(nr):
        a = start + i * page_size
        ubc.flushed.append((mm.name, a, a + page_size))
