"""Folios: the large anonymous page being unmapped.

Models `struct folio` (include/linux/mm_types.h) as far as reclaim's unmap needs it: order,
first pfn, anon / swap-backed (false = lazyfree, MADV_FREE), swap cache membership and the
first swap entry (`folio->swap`), the dirty flag, the DMA pin count (`_pincount`, read by
`folio_maybe_dma_pinned()`), the large mapcount and per-page mapcounts (CONFIG_PAGE_MAPCOUNT),
the reference count, and per-page PG_anon_exclusive. Left out: LRU state, memcg, the
deferred-split queue (only whether the folio became partially mapped is recorded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Largest order the model accepts (PMD_ORDER with 4K pages).
MAX_ORDER = 9


@dataclass
class Folio:
    order: int
    first_pfn: int
    anon: bool = True
    swapbacked: bool = True
    swapcache: bool = False
    swap_type: int = 0
    swap_offset: int = -1
    dirty: bool = False
    pincount: int = 0
    extra_refs: int = 0
    locked: bool = True
    mlocked: bool = False
    mapcount: int = 0
    refcount: int = 0
    partially_mapped: bool = False
    #: Per-page PG_anon_exclusive and per-page `_mapcount` (+1), one entry per page: plain
    #: Python lists, so that the model runs on the standard library (also in a browser).
    anon_exclusive: list[bool] = field(default=None)  # type: ignore[assignment]
    page_mapcount: list[int] = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = self.nr_pages
        if self.anon_exclusive is None:
            self.anon_exclusive = [False] * n
        else:
            self.anon_exclusive = [bool(e) for e in self.anon_exclusive]
        if self.page_mapcount is None:
            self.page_mapcount = [0] * n
        else:
            self.page_mapcount = [int(c) for c in self.page_mapcount]

    @property
    def nr_pages(self) -> int:
        """`folio_nr_pages()`."""
        return 1 << self.order

    @property
    def large(self) -> bool:
        """`folio_test_large()`."""
        return self.order > 0

    def page_index(self, pfn: int) -> int:
        """`folio_page_idx()`: index of the page with this pfn inside the folio."""
        return pfn - self.first_pfn

    def contains_pfn(self, pfn: int) -> bool:
        return self.first_pfn <= pfn < self.first_pfn + (1 << self.order)   # (nr_pages inlined)

    def expected_refcount(self) -> int:
        """What conservation says the refcount must be.

        One reference per mapping (PTE or device-exclusive entry), one held by the caller of
        `try_to_unmap()` (reclaim isolated the folio), one per page while in the swap cache,
        one per DMA pin (large folios: each pin adds 1 to the refcount and to `_pincount`),
        and any extra (speculative / GUP) references the scenario added.
        """
        cache = self.nr_pages if self.swapcache else 0
        return self.mapcount + 1 + cache + self.pincount + self.extra_refs

    def exclusive_string(self) -> str:
        return "".join("E" if e else "N" for e in self.anon_exclusive)

    def copy(self) -> Folio:
        new = Folio(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        new.anon_exclusive = list(self.anon_exclusive)
        new.page_mapcount = list(self.page_mapcount)
        return new


def folio_maybe_dma_pinned(folio: Folio) -> bool:
    """`folio_maybe_dma_pinned()` (include/linux/mm.h): large folios use `_pincount`."""
    return folio.pincount > 0


def folio_mark_dirty(folio: Folio) -> None:
    """`folio_mark_dirty()`: the merged dirty bit of cleared PTEs goes to the folio."""
    folio.dirty = True
