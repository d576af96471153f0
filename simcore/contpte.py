"""arm64 contiguous PTEs: how reading and clearing PTEs cost on a CONT block.

Models arch/arm64/mm/contpte.c and arch/arm64/include/asm/pgtable.h:

* `ptep_get()` of a valid CONT PTE is `contpte_ptep_get()`: it scans the block from its start,
  OR-ing in dirty and young, until both are found (up to CONT_PTES loads);
* `contpte_try_unfold()` → `contpte_convert()`: clear every entry of the block (gathering A/D),
  invalidate the TLB for the block unless the CPU has BBML2 without aborts, then rewrite the
  entries without the CONT bit;
* `get_and_clear_ptes()` for nr > 1 is `contpte_get_and_clear_full_ptes()`: unfold only the
  partially covered blocks at the two ends (`contpte_try_unfold_partial`), then raw-clear all;
* `set_ptes()` folds every aligned block it writes completely (`contpte_set_ptes`).
On x86_64 and sparc64 the same entry points are the generic one-load / one-store versions.
"""

from __future__ import annotations

from simcore.costs import Costs
from simcore.mm import PageTable
from simcore.pte import PTE_NONE, Pte, pte_mkcont_ad


def _block_start(pt: PageTable, addr: int, cont: int) -> int:
    span = cont << pt.shift
    return addr & ~(span - 1)


def ptep_get(pt: PageTable, addr: int, costs: Costs, cont: int) -> Pte:
    """`ptep_get()`: one load; on a valid arm64 CONT PTE, `contpte_ptep_get()`'s block scan."""
    costs.ptep_get += 1
    costs.pte_reads += 1
    pte = pt.get(addr)
    if not (cont and pte.cont and pte.kind == "present"):
        return pte
    dirty = young = False
    start = _block_start(pt, addr, cont)
    for i in range(cont):
        costs.pte_reads += 1
        e = pt.get(start + (i << pt.shift))
        dirty |= e.dirty
        young |= e.young
        if dirty and young:
            break
    if dirty == pte.dirty and young == pte.young:
        return pte                    # (equal value; skips a slow namedtuple _replace)
    return pte._replace(dirty=dirty, young=young)


def contpte_convert(pt: PageTable, addr: int, costs: Costs, cont: int, bbml2: bool,
                    make_cont: bool) -> None:
    """`contpte_convert()`: rewrite one whole block with the CONT bit cleared (or set)."""
    start = _block_start(pt, addr, cont)
    # An aligned CONT block never straddles two PTE tables: work on its slice of the table.
    table, off = pt.slot(start)
    entries = table[off: off + cont]
    dirty = any(e.dirty for e in entries)
    young = any(e.young for e in entries)
    costs.pte_reads += cont
    costs.pte_writes += cont          # get-and-clear of every entry
    if not bbml2:
        costs.tlbi_unfold += 1        # __flush_tlb_range over the block (break-before-make)
    table[off: off + cont] = [pte_mkcont_ad(e, make_cont, dirty, young)
                              if e.kind == "present" else e for e in entries]
    costs.pte_writes += cont
    if make_cont:
        costs.contpte_folds += 1
    else:
        costs.contpte_unfolds += 1


def contpte_try_unfold(pt: PageTable, addr: int, costs: Costs, cont: int, bbml2: bool) -> None:
    """`contpte_try_unfold()`: unfold the block around addr if its PTE has the CONT bit."""
    if cont and pt.get(addr).cont:
        contpte_convert(pt, addr, costs, cont, bbml2, make_cont=False)


def get_and_clear_ptes(pt: PageTable, addr: int, nr: int, costs: Costs, cont: int,
                       bbml2: bool) -> Pte:
    """`get_and_clear_ptes()`: clear nr PTEs, return the first with dirty/young OR-ed in.

    arm64, nr == 1: unfold the block if CONT, then clear one entry. arm64, nr > 1: unfold only
    the partially covered end blocks, then raw-clear all nr entries. Generic: nr clears.
    """
    if cont:
        last = addr + ((nr - 1) << pt.shift)
        if nr == 1:
            contpte_try_unfold(pt, addr, costs, cont, bbml2)
        else:   # contpte_try_unfold_partial() at both ends
            if addr != _block_start(pt, addr, cont):
                contpte_try_unfold(pt, addr, costs, cont, bbml2)
            end_block = _block_start(pt, last, cont)
            if last != end_block + ((cont - 1) << pt.shift):
                contpte_try_unfold(pt, last, costs, cont, bbml2)
    pteval = pt.get(addr)
    dirty, young = pteval.dirty, pteval.young
    pt.set(addr, PTE_NONE)
    for i in range(1, nr):
        a = pt.ptep(addr, i)
        e = pt.get(a)
        dirty |= e.dirty
        young |= e.young
        pt.set(a, PTE_NONE)
    costs.pte_reads += nr
    costs.pte_writes += nr
    if dirty == pteval.dirty and young == pteval.young and not pteval.cont:
        return pteval                 # (equal value; skips a slow namedtuple _replace)
    return pteval._replace(dirty=dirty, young=young, cont=False)


def set_ptes(pt: PageTable, addr: int, pte: Pte, nr: int, costs: Costs, cont: int,
             folio_first_pfn: int, folio_nr: int) -> None:
    """`set_ptes()`: write nr PTEs from a template, advancing the pfn by one each.

    arm64 (`contpte_set_ptes`): a written block that is aligned, complete, and inside one
    folio is folded (CONT set); the model does not refold blocks only partly written.
    """
    for i in range(nr):
        a = pt.ptep(addr, i)
        pt.set(a, pte._replace(pfn=pte.pfn + i, cont=False))
    costs.pte_writes += nr
    if not cont or nr < cont:
        return
    span = cont << pt.shift
    block = _block_start(pt, addr + span - (1 << pt.shift), cont)
    end = addr + (nr << pt.shift)
    while block + span <= end:
        first = pt.get(block)
        in_folio = (folio_first_pfn <= first.pfn and first.pfn + cont <= folio_first_pfn + folio_nr
                    and (first.pfn - folio_first_pfn) % cont == 0)
        if block >= addr and in_folio:
            for i in range(cont):
                a = block + (i << pt.shift)
                pt.set(a, pt.get(a)._replace(cont=True))
            costs.contpte_folds += 1
        block += span
