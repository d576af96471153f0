"""Swap slots and their counts.

Models the swap API after Kairui Song's cleanup (mm/swapfile.c, mm/swap.h):
`folio_alloc_swap()` gives the folio a contiguous run of slots, each with count 0, and puts it
in the swap cache; every swap PTE that names a slot holds one count, taken with
`folio_dup_swap()` and given back with `folio_put_swap()`. v1 6/9 and 7/9 of the series made both
take a range of pages; their exact signatures are UNVERIFIED, so here they take
(page index, nr).

The count limit (include/linux/swap.h, mm/swapfile.c `__swap_duplicate()`,
`swap_count_continued()`, `add_swap_count_continuation()`): the swap_map byte of a slot holds
counts up to SWAP_MAP_MAX (0x3e = 62); beyond that the count continues in "continuation"
pages, one byte per slot each, digits 0..SWAP_CONT_MAX (0x7f). A continuation page belongs to
one page of swap_map (PAGE_SIZE slots) and serves all its slots. When an increment finds its
slot at the limit and no continuation page left, `__swap_duplicate()` returns -ENOMEM and
`folio_dup_swap()` calls `add_swap_count_continuation(entry, GFP_ATOMIC)` and retries; only if
that GFP_ATOMIC allocation fails does `folio_dup_swap()` fail with -ENOMEM (Kairui Song's
`folio_dup_swap()`, 2025: ``while (!err && __swap_duplicate(...) == -ENOMEM) err =
add_swap_count_continuation(entry, GFP_ATOMIC);``). So the failure is possible only on a slot
already holding SWAP_MAP_MAX references — a folio mapped by one process never gets there;
here other references come from swap PTEs the scenario names or from
``swap_refs_elsewhere`` (processes not in the scenario). The classic `__swap_duplicate()` does
not roll back a range ("if usage == 1, there must be nr == 1"); the batched dup of the series
must have changed that: here it is all-or-nothing (INFERRED).
"""

from __future__ import annotations

from collections.abc import Callable

from simcore.folio import Folio

ENOMEM = -12
#: Largest count the swap_map byte itself holds (include/linux/swap.h).
SWAP_MAP_MAX = 0x3E
#: Largest digit of a count-continuation page (include/linux/swap.h).
SWAP_CONT_MAX = 0x7F
#: Slots covered by one page of swap_map (one byte per slot; 4 KiB pages).
SWAP_MAP_PAGE_SLOTS = 4096


def swap_count_capacity(cont_pages: int) -> int:
    """The largest count a slot can hold with ``cont_pages`` continuation pages."""
    return SWAP_MAP_MAX + (SWAP_CONT_MAX + 1) ** cont_pages - 1


def continuation_pages_for(count: int) -> int:
    """The fewest continuation pages under which a slot can hold ``count``."""
    k = 0
    while count > swap_count_capacity(k):
        k += 1
    return k


class SwapDevice:
    """One swap area: a count per slot, indexed by offset."""

    def __init__(self, swp_type: int = 0, nr_slots: int = 0) -> None:
        self.swp_type = swp_type
        self.counts: list[int] = [0] * nr_slots
        self.next_free = 0
        #: swap_map page (offset // SWAP_MAP_PAGE_SLOTS) -> its count-continuation pages
        self.cont: dict[int, int] = {}
        #: count-continuation pages allocated during the run (for traces)
        self.continuations = 0

    def capacity(self, offset: int) -> int:
        """The largest count this slot can hold with the continuation pages it has now."""
        return swap_count_capacity(self.cont.get(offset // SWAP_MAP_PAGE_SLOTS, 0))

    def at_limit(self, offset: int) -> bool:
        """Would one more reference on this slot need a new continuation page?"""
        c = self.counts[offset]
        return c >= SWAP_MAP_MAX and c >= self.capacity(offset)

    def ensure(self, nr_slots: int) -> None:
        if nr_slots > len(self.counts):
            self.counts.extend([0] * (max(nr_slots, 2 * len(self.counts)) - len(self.counts)))

    def copy(self) -> SwapDevice:
        new = SwapDevice(self.swp_type)
        new.counts = self.counts.copy()
        new.next_free = self.next_free
        new.cont = dict(self.cont)
        new.continuations = self.continuations
        return new


def folio_alloc_swap(folio: Folio, swap: SwapDevice) -> None:
    """`folio_alloc_swap()`: reserve nr_pages consecutive slots; count 0 each; add to swap cache."""
    swap.ensure(swap.next_free + folio.nr_pages)
    folio.swap_type = swap.swp_type
    folio.swap_offset = swap.next_free
    swap.next_free += folio.nr_pages
    folio.swapcache = True


def add_swap_count_continuation(swap: SwapDevice, offset: int, fails: bool = False) -> int:
    """`add_swap_count_continuation(entry, GFP_ATOMIC)`: one more continuation page for the
    swap_map page holding ``offset``; -ENOMEM when the atomic allocation fails (``fails``)."""
    if fails:
        return ENOMEM
    key = offset // SWAP_MAP_PAGE_SLOTS
    swap.cont[key] = swap.cont.get(key, 0) + 1
    swap.continuations += 1
    return 0


def folio_dup_swap(folio: Folio, swap: SwapDevice, idx: int, nr: int,
                   alloc_fails: Callable[[int], bool] | None = None) -> int:
    """`folio_dup_swap()`: one more count on the slots of pages [idx, idx+nr). 0 or -ENOMEM.

    A slot at its limit needs a count-continuation page first; ``alloc_fails(page)`` says
    whether that GFP_ATOMIC allocation fails for the page whose slot needed it. On failure
    nothing has changed.
    """
    base = folio.swap_offset + idx
    counts = swap.counts
    end = min(base + nr, len(counts))     # (the bug zoo's stale nr_pages can ask past the end)
    while max(counts[base: end]) >= SWAP_MAP_MAX:     # (cheap test first)
        needing = [o - folio.swap_offset for o in range(base, end) if swap.at_limit(o)]
        if not needing:
            break
        page = needing[0]                 # __swap_duplicate() stops at the first such slot
        if add_swap_count_continuation(swap, folio.swap_offset + page,
                                       bool(alloc_fails) and alloc_fails(page)) < 0:
            return ENOMEM
    if nr == 1:
        counts[base] += 1
    else:
        for s in range(base, end):
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


def refs_at_limit(nr_pages: int, faults, counted: int = 0) -> list[int] | None:
    """``swap_refs_elsewhere`` for a scenario builder: put the slot of every ``dup_swap`` fault's
    page at SWAP_MAP_MAX (less ``counted`` references the scenario itself holds), so that its
    first `folio_dup_swap()` needs a count continuation. None when there is no such fault."""
    pages = {f["page"] for f in faults or () if f.get("op") == "dup_swap"}
    if not pages:
        return None
    return [SWAP_MAP_MAX - counted if p in pages else 0 for p in range(nr_pages)]
