"""Swap slots and their counts.

Models the swap API after Kairui Song's cleanup (mm/swapfile.c, mm/swap.h):
`folio_alloc_swap()` gives the folio a contiguous run of slots, each with count 0, and puts it
in the swap cache; every swap PTE that names a slot holds one count, taken with
`folio_dup_swap()` and given back with `folio_put_swap()`. v1 6/9 and 7/9 of the series made both
take a range of pages; their exact signatures are UNVERIFIED, so here they take
(page index, nr). The only failure modelled is -ENOMEM (no memory for a swap-count
continuation), injected by a scenario fault; a batched dup is all-or-nothing (INFERRED).
"""

from __future__ import annotations

from simcore.folio import Folio

ENOMEM = -12


class SwapDevice:
    """One swap area: a count per slot, indexed by offset."""

    def __init__(self, swp_type: int = 0, nr_slots: int = 0) -> None:
        self.swp_type = swp_type
        self.counts: list[int] = [0] * nr_slots
        self.next_free = 0

    def ensure(self, nr_slots: int) -> None:
        if nr_slots > len(self.counts):
            self.counts.extend([0] * (max(nr_slots, 2 * len(self.counts)) - len(self.counts)))

    def copy(self) -> SwapDevice:
        new = SwapDevice(self.swp_type)
        new.counts = self.counts.copy()
        new.next_free = self.next_free
        return new


def folio_alloc_swap(folio: Folio, swap: SwapDevice) -> None:
    """`folio_alloc_swap()`: reserve nr_pages consecutive slots; count 0 each; add to swap cache."""
    swap.ensure(swap.next_free + folio.nr_pages)
    folio.swap_type = swap.swp_type
    folio.swap_offset = swap.next_free
    swap.next_free += folio.nr_pages
    folio.swapcache = True


def folio_dup_swap(folio: Folio, swap: SwapDevice, idx: int, nr: int,
                   fail_pages: frozenset[int] = frozenset()) -> int:
    """`folio_dup_swap()`: one more count on the slots of pages [idx, idx+nr). 0 or -ENOMEM.

    ``fail_pages`` are pages whose slot would need a count continuation that cannot be
    allocated; the call then changes nothing and fails.
    """
    if fail_pages and any(idx <= p < idx + nr for p in fail_pages):
        return ENOMEM
    base = folio.swap_offset + idx
    if nr == 1:
        swap.counts[base] += 1
    else:
        counts = swap.counts
        for s in range(base, min(base + nr, len(counts))):
            counts[s] += 1
    return 0


def folio_put_swap(folio: Folio, swap: SwapDevice, idx: int, nr: int) -> None:
    """`folio_put_swap()`: give back the counts of pages [idx, idx+nr)."""
    base = folio.swap_offset + idx
    if nr == 1:
        swap.counts[base] -= 1
    else:
        counts = swap.counts
        for s in range(base, min(base + nr, len(counts))):
            counts[s] -= 1
