"""Choosing how many PTEs to unmap at once: `folio_pte_batch_flags()` and `folio_unmap_pte_batch()`.

Models mm/internal.h (`folio_pte_batch_flags`, `__pte_batch_clear_ignored`, `pte_batch_hint`)
and mm/rmap.c (`folio_unmap_pte_batch`). A batch is a run of present PTEs mapping consecutive
pages of one folio that never leaves the folio, the VMA or the current page table, and whose
PTEs are equal after the ignored bits are cleared. Unmap respects write and soft-dirty
(FPB_RESPECT_WRITE | FPB_RESPECT_SOFT_DIRTY, Dev Jain's 2026 lazyfree restore fix); dirty and
young may differ. On arm64 `pte_batch_hint()` lets one comparison cover the rest of a CONT
block. The arm64 CONT bit itself is compared like any other bit (raw `pte_same`).
"""

from __future__ import annotations

from simcore.contpte import ptep_get
from simcore.costs import Costs
from simcore.folio import Folio
from simcore.mm import PageTable, Vma
from simcore.pte import Pte

FPB_RESPECT_DIRTY = 1 << 0
FPB_RESPECT_SOFT_DIRTY = 1 << 1
FPB_RESPECT_WRITE = 1 << 2

#: The modes of `try_to_unmap_one()` the model runs (see simcore.unmap).
MODES = ("per-pte", "baseline", "patched")


def pte_batch_clear_ignored(pte: Pte, flags: int) -> Pte:
    """`__pte_batch_clear_ignored()`: drop the bits the comparison ignores."""
    return pte._replace(
        young=False,
        dirty=pte.dirty if flags & FPB_RESPECT_DIRTY else False,
        soft_dirty=pte.soft_dirty if flags & FPB_RESPECT_SOFT_DIRTY else False,
        write=pte.write if flags & FPB_RESPECT_WRITE else False,
    )


def pte_batch_hint(pt: PageTable, addr: int, pte: Pte, cont: int) -> int:
    """`pte_batch_hint()`: 1, or on arm64 CONT the entries left to the end of the block."""
    if cont and pte.cont:
        return cont - ((addr >> pt.shift) & (cont - 1))
    return 1


def folio_pte_batch_flags(folio: Folio, pt: PageTable, addr: int, pte: Pte, max_nr: int,
                          flags: int, costs: Costs, cont: int = 0) -> int:
    """`folio_pte_batch_flags()`: length of the batch starting at ``addr`` (1 … max_nr)."""
    max_nr = min(max_nr, folio.first_pfn + folio.nr_pages - pte.pfn)
    nr = pte_batch_hint(pt, addr, pte, cont)
    expected = pte_batch_clear_ignored(pte._replace(pfn=pte.pfn + nr), flags)
    while nr < max_nr:
        a = pt.ptep(addr, nr)
        e = ptep_get(pt, a, costs, cont)
        if e.kind != "present" or pte_batch_clear_ignored(e, flags) != expected:
            break
        hint = pte_batch_hint(pt, a, e, cont)
        expected = expected._replace(pfn=expected.pfn + hint)
        nr += hint
    return min(nr, max_nr)


def pmd_addr_end(addr: int, end: int, pmd_size: int) -> int:
    """`pmd_addr_end()`: the next PMD boundary after addr, or end if that comes first."""
    boundary = (addr + pmd_size) & ~(pmd_size - 1)
    return min(boundary, end)


def folio_unmap_pte_batch(folio: Folio, vma: Vma, addr: int, pte: Pte, mode: str,
                          costs: Costs, cross_pmd: bool = False, respect_write: bool = True,
                          sparc_guard: bool = True, hwpoison: bool = False) -> int:
    """`folio_unmap_pte_batch()` (mm/rmap.c): how many PTEs to unmap from ``addr``.

    Returns 1 (no batching) for a small folio, under TTU_HWPOISON, in the ``per-pte`` mode
    (kernels before 2025), for anon swap-backed folios in ``baseline`` (the kernel just before
    the series) and — in ``patched`` — still on sparc64 for anon swap-backed folios
    ("just disable the sparc64-anon-swapbacked case for now", v4 12/12; the exact guard is
    UNVERIFIED). Otherwise the batch is capped at the VMA end and the page-table (PMD)
    boundary, then `folio_pte_batch_flags()` decides.

    ``cross_pmd``, ``respect_write=False`` and ``sparc_guard=False`` exist only for the bug
    zoo (no PMD cap; the pre-2026 lazyfree rule that ignored write and soft-dirty; batching
    sparc64's anon swap-backed folios anyway).
    """
    if hwpoison or not folio.large or mode == "per-pte":
        return 1
    anon_swapbacked = folio.anon and folio.swapbacked
    if anon_swapbacked and (mode == "baseline" or (sparc_guard and vma.mm.arch.name == "sparc64")):
        return 1
    arch = vma.mm.arch
    end = vma.end if cross_pmd else pmd_addr_end(addr, vma.end, arch.pmd_size)
    max_nr = (end - addr) >> arch.page_shift
    flags = FPB_RESPECT_WRITE | FPB_RESPECT_SOFT_DIRTY if respect_write else 0
    return folio_pte_batch_flags(folio, vma.mm.pt, addr, pte, max_nr, flags, costs,
                                 arch.cont_ptes)
