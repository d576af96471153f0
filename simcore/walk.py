"""The rmap walk over one VMA: `page_vma_mapped_walk()` and `check_pte()`.

Models mm/page_vma_mapped.c for a PTE-mapped folio with PVMW_SYNC (reclaim sets TTU_SYNC for
large folios): the walk starts at the folio's first address inside the VMA and stops at
`vma_address_end()`. Each call returns the next PTE that maps a page of the folio:

* none PTEs are stepped over by the `next_pte` loop (one `ptep_get()` each);
* a non-none PTE goes to `check_pte()` (its own `ptep_get()`), which accepts a present PTE or a
  device-exclusive entry whose pfn lies in the folio and rejects every other entry — an ordinary
  swap PTE names a swap slot, not a pfn, so the walk rejects it and moves on;
* crossing a page-table (PMD) boundary restarts from the top-level walk (PVMW_PGTABLE_CROSSED).

Left out: PMD-mapped THPs, hugetlb, migration entries, the lockless path without PVMW_SYNC.
"""

from __future__ import annotations

from simcore.contpte import ptep_get
from simcore.costs import Costs
from simcore.folio import Folio
from simcore.mm import Vma
from simcore.pte import Pte


def check_pte(pte: Pte, folio: Folio) -> bool:
    """`check_pte()`: does this entry map a pfn inside the folio?"""
    if pte.kind == "present" or pte.kind == "device_exclusive":
        return folio.contains_pfn(pte.pfn)
    return False      # swap PTEs (and anything else) carry no pfn


def vma_address_range(folio_addr: int, nr_pages: int, vma: Vma, page_size: int) -> tuple[int, int]:
    """`vma_address()` / `vma_address_end()`: the part of the folio's range inside the VMA."""
    return max(vma.start, folio_addr), min(vma.end, folio_addr + nr_pages * page_size)


class PageVmaMappedWalk:
    """`struct page_vma_mapped_walk` plus `page_vma_mapped_walk()` as the method `walk()`."""

    def __init__(self, folio: Folio, vma: Vma, folio_addr: int, costs: Costs) -> None:
        arch = vma.mm.arch
        self.folio = folio
        self.vma = vma
        self.pt = vma.mm.pt
        self.costs = costs
        self.page_size = arch.page_size
        self.pmd_mask = arch.pmd_size - arch.page_size
        self.cont = arch.cont_ptes
        self.address, self.end = vma_address_range(folio_addr, folio.nr_pages, vma,
                                                   arch.page_size)
        self.pte: Pte | None = None
        self.started = False
        self.pgtable_crossed = False
        self.rejected: list[int] = []     # addresses check_pte() rejected during the last call

    def _ptep_get(self, addr: int) -> Pte:
        return ptep_get(self.pt, addr, self.costs, self.cont)

    def walk(self) -> bool:
        """Advance to the next PTE mapping the folio; False when there is none left."""
        costs = self.costs
        pt, cont = self.pt, self.cont        # (locals: ptep_get is called directly below)
        if self.rejected:
            self.rejected = []
        addr = self.address
        if not self.started:
            self.started = True
            if addr >= self.end:
                return False
            costs.pgtable_walks += 1
            costs.walk_steps += 1
            pte = ptep_get(pt, addr, costs, cont)    # check_pte()'s ptep_get
            costs.check_pte += 1
            if check_pte(pte, self.folio):
                self.pte = pte
                return True
            if pte.kind != "none":
                self.rejected.append(addr)
        while True:                              # next_pte:
            addr += self.page_size
            if addr >= self.end:
                self.address = addr
                self.pte = None
                return False
            costs.walk_steps += 1
            if (addr & self.pmd_mask) == 0:
                # Crossed into the next page table: restart from the top; map_pte() with
                # PVMW_SYNC only locks, so this slot goes straight to check_pte().
                self.pgtable_crossed = True
                costs.pgtable_walks += 1
            else:
                pte = ptep_get(pt, addr, costs, cont)   # while (pte_none(ptep_get(pvmw->pte)))
                if pte.kind == "none":
                    continue
            pte = ptep_get(pt, addr, costs, cont)    # this_pte: check_pte()'s own ptep_get
            costs.check_pte += 1
            if check_pte(pte, self.folio):
                self.address = addr
                self.pte = pte
                return True
            if pte.kind != "none":
                self.rejected.append(addr)

    def done(self) -> None:
        """`page_vma_mapped_walk_done()`: stop early (drop the PTL)."""
        self.pte = None
        self.rejected = []          # already reported by the caller for this step
