"""Address spaces: mms, VMAs and their PTE tables.

Models `struct mm_struct` (its MM_ANONPAGES / MM_SWAPENTS rss counters, the hiwater mark, the
swapoff mmlist membership), `struct vm_area_struct` (start, end, VM_LOCKED, VM_DROPPABLE) and
the last level of the page table: one table of PTRS_PER_PTE entries per PMD. A PTE pointer that
walks off the end of its table (what Lance Yang's fix in `folio_unmap_pte_batch()` prevents) is
recorded as an out-of-bounds access, which the invariant checker reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simcore.arch import Arch
from simcore.pte import PTE_NONE, Pte

MM_ANONPAGES = "MM_ANONPAGES"
MM_SWAPENTS = "MM_SWAPENTS"


class PageTable:
    """The PTE level of one mm: a list of PTRS_PER_PTE entries per PMD index."""

    def __init__(self, arch: Arch) -> None:
        self.arch = arch
        self.shift = arch.page_shift
        self.ptrs = arch.ptrs_per_pte
        # PTRS_PER_PTE is a power of two: an address's table is (addr >> table_shift), its
        # entry (addr >> shift) & index_mask — pte_index() and pmd_index()'s arithmetic
        self.table_shift = self.shift + self.ptrs.bit_length() - 1
        self.index_mask = self.ptrs - 1
        self.tables: dict[int, list[Pte]] = {}
        self.oob: list[tuple[int, int]] = []   # (address accessed, address of the pointer base)

    def _table(self, addr: int) -> tuple[list[Pte], int]:
        key = addr >> self.table_shift
        table = self.tables.get(key)
        if table is None:
            table = self.tables[key] = [PTE_NONE] * self.ptrs
        return table, (addr >> self.shift) & self.index_mask

    def slot(self, addr: int) -> tuple[list[Pte], int]:
        """(the PTE table holding addr, index of addr's entry in it) — for whole-block work."""
        return self._table(addr)

    def get(self, addr: int) -> Pte:
        # (_table() inlined: this is the hottest call of the 65,536-PTE workload; a read of a
        # table that was never written does not create it)
        table = self.tables.get(addr >> self.table_shift)
        return PTE_NONE if table is None else table[(addr >> self.shift) & self.index_mask]

    def set(self, addr: int, pte: Pte) -> None:
        key = addr >> self.table_shift
        table = self.tables.get(key)
        if table is None:
            table = self.tables[key] = [PTE_NONE] * self.ptrs
        table[(addr >> self.shift) & self.index_mask] = pte

    def same_table(self, a: int, b: int) -> bool:
        return a >> self.table_shift == b >> self.table_shift

    def ptep(self, base: int, i: int) -> int:
        """Address of the i-th PTE after the one at ``base`` (pointer arithmetic `ptep + i`).

        Past the end of base's table the real kernel reads memory that is not this table;
        the model records the access (and, as the worst case, lets it alias the next table).
        """
        addr = base + (i << self.shift)
        if i and not self.same_table(addr, base):
            self.oob.append((addr, base))
        return addr

    def items(self):
        """(address, pte) of every entry that is not none, in address order."""
        for key in sorted(self.tables):
            base = key * self.ptrs
            for off, pte in enumerate(self.tables[key]):
                if pte.kind != "none":
                    yield (base + off) << self.shift, pte


@dataclass(eq=False)
class Vma:
    """`struct vm_area_struct`: [start, end), with the flags the unmap path tests."""

    mm: Mm
    start: int
    end: int
    locked: bool = False      # VM_LOCKED
    droppable: bool = False   # VM_DROPPABLE

    def contains(self, addr: int) -> bool:
        return self.start <= addr < self.end


@dataclass(eq=False)
class Mm:
    """`struct mm_struct`, reduced to what reclaim's unmap touches."""

    name: str
    arch: Arch
    vmas: list[Vma] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: {MM_ANONPAGES: 0, MM_SWAPENTS: 0})
    on_mmlist: bool = False
    hiwater_rss: int = 0
    tlb_flush_batched: int = 0
    #: sparc64 ADI tag storage: virtual address -> physical address whose tags were saved.
    tag_store: dict[int, int] = field(default_factory=dict)
    pt: PageTable = field(init=False)

    def __post_init__(self) -> None:
        self.pt = PageTable(self.arch)

    def add_vma(self, start: int, end: int, **flags: bool) -> Vma:
        vma = Vma(self, start, end, **flags)
        self.vmas.append(vma)
        return vma

    def find_vma(self, addr: int) -> Vma | None:
        for vma in self.vmas:
            if vma.contains(addr):
                return vma
        return None

    def rss(self) -> int:
        return self.counters[MM_ANONPAGES]


def add_mm_counter(mm: Mm, member: str, value: int) -> None:
    """`add_mm_counter()`: one atomic add on a per-mm rss counter."""
    mm.counters[member] += value


def update_hiwater_rss(mm: Mm) -> None:
    """`update_hiwater_rss()`: remember the rss high-water mark before lowering it."""
    rss = mm.counters[MM_ANONPAGES]          # (mm.rss(), inlined)
    if rss > mm.hiwater_rss:
        mm.hiwater_rss = rss
