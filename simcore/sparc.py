"""sparc64's `arch_unmap_one()`: saving ADI tags before a page goes to swap.

Models arch/sparc/include/asm/pgtable_64.h and arch/sparc/kernel/adi_64.c. With ADI
(Application Data Integrity) on and the PTE's `_PAGE_MCD_4V` bit set, `adi_save_tags()` finds
or allocates the mm's tag storage slot for the *virtual address* and reads the tags of the
*physical page named by the PTE* (`pte_val(oldpte) & _PAGE_PADDR_4V`), one ADI block at a time.
It is inherently one page: one address, one PTE. That is why v4 12/12 keeps sparc64's anon
swap-backed case at one PTE per iteration.

In the model every present PTE of an ADI-enabled sparc64 run has the MCD bit; the tag store
records, per virtual address, the physical address whose tags it saved; a scenario fault makes
the tag-store allocation fail (`alloc_tag_store` → -1).
"""

from __future__ import annotations

from simcore.costs import Costs
from simcore.mm import Mm
from simcore.pte import Pte


def arch_unmap_one(mm: Mm, addr: int, pteval: Pte, costs: Costs, fail: bool = False) -> int:
    """`arch_unmap_one()`: 0 on success, -1 when ADI tag storage cannot be allocated.

    A no-op returning 0 on every architecture but sparc64, and on sparc64 when ADI is off.
    """
    arch = mm.arch
    if not arch.has_arch_unmap_one or not arch.adi or pteval.kind != "present":
        return 0
    costs.arch_unmap_one_calls += 1
    if fail:
        return -1
    adi_save_tags(mm, addr, pteval, costs)
    return 0


def adi_save_tags(mm: Mm, addr: int, pteval: Pte, costs: Costs) -> None:
    """`adi_save_tags()`: store the tags of the page at paddr = pfn << PAGE_SHIFT for addr."""
    mm.tag_store[addr] = pteval.pfn << mm.arch.page_shift
    costs.adi_tag_saves += 1
