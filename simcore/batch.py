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

from collections.abc import Callable

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


def unmap_batch_refused(folio: Folio, mode: str, arch_name: str, sparc_guard: bool = True,
                        hwpoison: bool = False) -> str | None:
    """The guard of `folio_unmap_pte_batch()` that makes it return 1 for this folio, or None.

    One of ``"hwpoison"``, ``"small"`` (not a large folio), ``"per-pte"`` (no batching before
    2025), ``"baseline-swapbacked"`` (anon swap-backed, before the series) and
    ``"sparc64-swapbacked"`` (anon swap-backed on sparc64, with the series).
    """
    if hwpoison:
        return "hwpoison"
    if not folio.large:
        return "small"
    if mode == "per-pte":
        return "per-pte"
    if folio.anon and folio.swapbacked:
        if mode == "baseline":
            return "baseline-swapbacked"
        if sparc_guard and arch_name == "sparc64":
            return "sparc64-swapbacked"
    return None


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
    arch = vma.mm.arch
    if unmap_batch_refused(folio, mode, arch.name, sparc_guard, hwpoison):
        return 1
    end = vma.end if cross_pmd else pmd_addr_end(addr, vma.end, arch.pmd_size)
    max_nr = (end - addr) >> arch.page_shift
    flags = FPB_RESPECT_WRITE | FPB_RESPECT_SOFT_DIRTY if respect_write else 0
    return folio_pte_batch_flags(folio, vma.mm.pt, addr, pte, max_nr, flags, costs,
                                 arch.cont_ptes)


# -- naming the rule that ended a batch (explanations only; the functions above decide) -------
def batch_stop_rules(folio: Folio, vma: Vma, folio_addr: int, pte_at: Callable[[int], Pte],
                     page: int, nr: int) -> list[str]:
    """Why the batch of pages [page, page+nr) that simcore chose did not take page+nr too.

    ``folio_addr`` is where the folio's page 0 sits in ``vma``, ``pte_at`` reads a PTE as it was
    before the unmap. The rules are those of `folio_unmap_pte_batch()` and
    `folio_pte_batch_flags()`, as codes: ``"folio-end"``, ``"vma-end"``, ``"pmd-boundary"``
    (the caps; folio end and VMA end can hold together), else the first PTE after the batch:
    ``"not-present"``, ``"write"``, ``"soft-dirty"`` (FPB_RESPECT_WRITE / _SOFT_DIRTY), or
    ``"other"``.
    """
    arch = vma.mm.arch
    end_page = page + nr
    end_addr = folio_addr + end_page * arch.page_size
    caps = []
    if end_page >= folio.nr_pages:
        caps.append("folio-end")
    if end_addr >= vma.end:
        caps.append("vma-end")
    elif end_addr % arch.pmd_size == 0:
        caps.append("pmd-boundary")
    if caps:
        return caps
    first, nxt = pte_at(folio_addr + page * arch.page_size), pte_at(end_addr)
    if nxt.kind != "present":
        return ["not-present"]
    if nxt.write != first.write:
        return ["write"]
    if nxt.soft_dirty != first.soft_dirty:
        return ["soft-dirty"]
    return ["other"]
