"""Anon-exclusivity sub-batches: `page_anon_exclusive_batch()`.

Models the helper of mm/mprotect.c (born as `page_anon_exclusive_sub_batch()` in cac1db8c3aad
"mm: optimize mprotect() by PTE batching"; v4 12/12 exports it to mm/internal.h for
`try_to_unmap_one()`). The PTE batcher never looks at `struct page`, so a batch may mix pages
with and without PG_anon_exclusive; the swap work is done per maximal run of equal
exclusivity, in address order.

The runs are indexed from the page mapped by the *first PTE of the batch*. Indexing from the
folio's head page instead was a real bug (fixed by "mm: Pass page directly instead of using
folio_page"); the bug zoo keeps it as ``exclusivity-from-head``.
"""

from __future__ import annotations

from collections.abc import Sequence


def page_anon_exclusive_batch(anon_exclusive: Sequence[bool], first_page: int, start_idx: int,
                              max_len: int, expected: bool) -> int:
    """Length of the run from ``first_page + start_idx`` whose flag equals ``expected``.

    ``anon_exclusive`` is the folio's per-page PG_anon_exclusive; ``first_page`` the index of
    the page mapped by the batch's first PTE. Returns 1 … max_len.
    """
    base = first_page + start_idx
    for k in range(1, max_len):
        if bool(anon_exclusive[base + k]) != expected:
            return k
    return max_len


def exclusive_sub_batches(anon_exclusive: Sequence[bool], first_page: int,
                          nr: int) -> list[tuple[int, int, bool]]:
    """The caller's loop (`commit_anon_folio_batch()` shape): [(start_idx, len, exclusive)]."""
    runs = []
    idx = 0
    while idx < nr:
        expected = bool(anon_exclusive[first_page + idx])
        length = page_anon_exclusive_batch(anon_exclusive, first_page, idx, nr - idx, expected)
        runs.append((idx, length, expected))
        idx += length
    return runs
