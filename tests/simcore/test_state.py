"""simcore.folio, swap, mm, tlb, sparc, costs: the state unmap acts on (brief §4, §7, §11)."""

from __future__ import annotations

import numpy as np
import pytest

from simcore.arch import get_arch
from simcore.costs import COUNTERS, Costs
from simcore.folio import Folio, folio_mark_dirty, folio_maybe_dma_pinned
from simcore.mm import MM_ANONPAGES, MM_SWAPENTS, Mm, PageTable, add_mm_counter, update_hiwater_rss
from simcore.pte import mk_device_exclusive, mk_present
from simcore.sparc import arch_unmap_one
from simcore.swap import (
    ENOMEM,
    SWAP_MAP_MAX,
    SwapDevice,
    add_swap_count_continuation,
    continuation_pages_for,
    folio_alloc_swap,
    folio_dup_swap,
    folio_put_swap,
    swap_count_capacity,
)
from simcore.tlb import TlbUbc, flush_tlb_range, set_tlb_ubc_flush_pending

BASE = 0x7F0000000000


# -- folio ------------------------------------------------------------------------------------
def test_folio_basics():
    f = Folio(order=4, first_pfn=4096)
    assert f.nr_pages == 16 and f.large
    assert not Folio(order=0, first_pfn=7).large
    assert f.page_index(4101) == 5
    assert f.contains_pfn(4096) and f.contains_pfn(4111) and not f.contains_pfn(4112)
    assert f.exclusive_string() == "N" * 16         # flags default clear
    assert f.anon_exclusive == [False] * 16 and f.page_mapcount == [0] * 16   # plain lists


def test_expected_refcount():
    f = Folio(order=4, first_pfn=4096, pincount=1, extra_refs=2)
    f.mapcount = 10
    # §11 item 43: mapcount + 1 (caller) + swap cache (1 per page) + pins + extra refs
    assert f.expected_refcount() == 10 + 1 + 0 + 1 + 2
    f.swapcache = True
    assert f.expected_refcount() == 10 + 1 + 16 + 1 + 2


def test_pin_and_dirty_helpers():
    f = Folio(order=2, first_pfn=4)
    assert not folio_maybe_dma_pinned(f)
    f.pincount = 1
    assert folio_maybe_dma_pinned(f)
    folio_mark_dirty(f)
    assert f.dirty


def test_folio_copy_is_deep():
    f = Folio(order=2, first_pfn=4)
    g = f.copy()
    g.anon_exclusive[0] = True
    g.page_mapcount[1] = 5
    assert not f.anon_exclusive[0] and f.page_mapcount[1] == 0


# -- swap -------------------------------------------------------------------------------------
def test_alloc_dup_put():
    swap = SwapDevice()
    f = Folio(order=3, first_pfn=8)
    folio_alloc_swap(f, swap)
    # §4.1: a contiguous run of slots, each count 0, folio in the swap cache
    assert f.swapcache and f.swap_offset == 0 and list(swap.counts[:8]) == [0] * 8
    g = Folio(order=2, first_pfn=16)
    folio_alloc_swap(g, swap)
    assert g.swap_offset == 8                     # the next free run
    assert folio_dup_swap(f, swap, 2, 3) == 0
    assert list(swap.counts[:8]) == [0, 0, 1, 1, 1, 0, 0, 0]
    folio_put_swap(f, swap, 3, 1)
    assert list(swap.counts[:8]) == [0, 0, 1, 0, 1, 0, 0, 0]


def test_batched_dup_is_all_or_nothing():
    """`folio_dup_swap()` (mm/swapfile.c, 2025): ``while (__swap_duplicate() == -ENOMEM) err
    = add_swap_count_continuation(entry, GFP_ATOMIC)`` — a slot at SWAP_MAP_MAX (0x3e,
    include/linux/swap.h) needs a continuation page; if that allocation fails the call fails.
    The batched dup changes nothing then (INFERRED: the classic __swap_duplicate() relied on
    nr == 1 and did not roll back)."""
    swap = SwapDevice()
    f = Folio(order=3, first_pfn=8)
    folio_alloc_swap(f, swap)
    swap.counts[5] = SWAP_MAP_MAX
    assert folio_dup_swap(f, swap, 0, 8, lambda p: p == 5) == ENOMEM == -12
    assert list(swap.counts[:8]) == [0] * 5 + [62, 0, 0]      # nothing changed
    assert folio_dup_swap(f, swap, 0, 4, lambda p: True) == 0   # no slot at the limit there
    assert swap.continuations == 0
    # the allocation succeeds: one continuation page, the count goes past 62
    assert folio_dup_swap(f, swap, 4, 4, lambda p: False) == 0
    assert swap.continuations == 1 and swap.counts[5] == 63
    assert not swap.at_limit(5)


def test_swap_count_needs_a_continuation_only_at_the_limit():
    """swap_count_continued() / add_swap_count_continuation() (mm/swapfile.c): counts up to
    SWAP_MAP_MAX fit the swap_map byte; each continuation page adds a base-128 digit
    (SWAP_CONT_MAX 0x7f), shared by the slots of one swap_map page."""
    assert swap_count_capacity(0) == 62 and swap_count_capacity(1) == 62 + 127
    assert continuation_pages_for(62) == 0 and continuation_pages_for(63) == 1
    swap = SwapDevice(nr_slots=8)
    swap.counts[0] = 61
    assert not swap.at_limit(0)
    swap.counts[0] = 62
    assert swap.at_limit(0)
    assert add_swap_count_continuation(swap, 0, fails=True) == ENOMEM and not swap.cont
    assert add_swap_count_continuation(swap, 0) == 0 and not swap.at_limit(0)
    swap.counts[3] = 62
    assert not swap.at_limit(3)           # the same swap_map page: its continuation serves


# -- mm ---------------------------------------------------------------------------------------
def test_mm_counters_and_hiwater():
    mm = Mm("m", get_arch("x86_64"))
    add_mm_counter(mm, MM_ANONPAGES, 16)
    update_hiwater_rss(mm)
    add_mm_counter(mm, MM_ANONPAGES, -16)
    add_mm_counter(mm, MM_SWAPENTS, 16)
    assert mm.counters == {MM_ANONPAGES: 0, MM_SWAPENTS: 16}
    assert mm.hiwater_rss == 16


def test_page_table_pointer_out_of_bounds_is_recorded():
    pt = PageTable(get_arch("x86_64"))
    last = BASE + (2 << 20) - 4096              # last slot of a table
    assert pt.ptep(last, 0) == last and not pt.oob
    nxt = pt.ptep(last, 1)
    assert nxt == BASE + (2 << 20) and pt.oob == [(nxt, last)]
    assert pt.same_table(BASE, last) and not pt.same_table(last, nxt)


@pytest.mark.parametrize("name, page_size", [("x86_64", None), ("arm64", 4096), ("arm64", 16384),
                                             ("arm64", 65536), ("sparc64", None)])
def test_page_table_geometry_is_pte_index_and_pmd_index(name, page_size):
    # get/set find an address's table and slot with shift and mask; that must be divmod by
    # PTRS_PER_PTE of the page index (pte_index() / pmd_index()), for every geometry
    arch = get_arch(name, page_size)
    pt = PageTable(arch)
    ps, ptrs = arch.page_size, arch.ptrs_per_pte
    addrs = [BASE + k * ps for k in (0, 1, ptrs - 1, ptrs, ptrs + 1, 3 * ptrs - 1)]
    for k, a in enumerate(addrs):
        pt.set(a, mk_present(100 + k))
    for k, a in enumerate(addrs):
        key, off = divmod(a // ps, ptrs)
        assert pt.tables[key][off] == pt.get(a) == mk_present(100 + k)
    assert pt.get(BASE + 5 * ptrs * ps).kind == "none"          # a table never written
    assert pt.same_table(addrs[0], addrs[2]) and not pt.same_table(addrs[2], addrs[3])


def test_vma_lookup():
    mm = Mm("m", get_arch("x86_64"))
    v = mm.add_vma(BASE, BASE + 0x4000, droppable=True)
    assert mm.find_vma(BASE + 0x3FFF) is v and mm.find_vma(BASE + 0x4000) is None
    assert v.droppable and not v.locked


# -- tlb --------------------------------------------------------------------------------------
def test_deferred_flush_records_pending_and_writable():
    ubc, mm, c = TlbUbc(), Mm("m", get_arch("x86_64")), Costs()
    set_tlb_ubc_flush_pending(ubc, mm, mk_present(1, dirty=False), BASE, BASE + 0x10000, c, 16)
    assert ubc.flush_required and not ubc.writable and ubc.pending == [("m", BASE,
                                                                       BASE + 0x10000)]
    assert c.tlb_deferred == 1 and c.tlb_pages == 16 and mm.tlb_flush_batched == 1
    # §2.6: a dirty PTE makes the pending flush "writable" (flush before I/O)
    set_tlb_ubc_flush_pending(ubc, mm, mk_present(1, dirty=True), BASE, BASE + 0x1000, c, 1)
    assert ubc.writable and c.tlb_deferred == 2


def test_not_accessible_pte_needs_no_flush():
    ubc, mm, c = TlbUbc(), Mm("m", get_arch("x86_64")), Costs()
    set_tlb_ubc_flush_pending(ubc, mm, mk_device_exclusive(1), BASE, BASE + 0x1000, c, 1)
    assert not ubc.flush_required and c.tlb_deferred == 0


def test_immediate_flush():
    ubc, mm, c = TlbUbc(), Mm("m", get_arch("x86_64")), Costs()
    flush_tlb_range(ubc, mm, BASE, BASE + 0x2000, c, 2)
    assert ubc.flushed == [("m", BASE, BASE + 0x2000)] and c.tlb_flushes == 1
    assert c.tlb_ops == 1


# -- sparc64 ----------------------------------------------------------------------------------
def test_arch_unmap_one_saves_tags_from_the_ptes_own_pfn():
    mm = Mm("m", get_arch("sparc64"))
    c = Costs()
    assert arch_unmap_one(mm, BASE + 0x2000, mk_present(4097), c) == 0
    # §7: paddr read from the PTE: pfn << PAGE_SHIFT (8 KiB pages: shift 13)
    assert mm.tag_store == {BASE + 0x2000: 4097 << 13}
    assert c.arch_unmap_one_calls == 1 and c.adi_tag_saves == 1


def test_arch_unmap_one_failure_and_noops():
    mm = Mm("m", get_arch("sparc64"))
    c = Costs()
    assert arch_unmap_one(mm, BASE, mk_present(1), c, fail=True) == -1
    assert mm.tag_store == {} and c.arch_unmap_one_calls == 1
    # stub elsewhere; ADI off; device-exclusive entries (§6: assumed a no-op)
    for m, pte in ((Mm("x", get_arch("x86_64")), mk_present(1)),
                   (Mm("s", get_arch("sparc64", adi=False)), mk_present(1)),
                   (Mm("s", get_arch("sparc64")), mk_device_exclusive(1))):
        c = Costs()
        assert arch_unmap_one(m, BASE, pte, c, fail=True) == 0
        assert c.arch_unmap_one_calls == 0 and m.tag_store == {}


# -- costs ------------------------------------------------------------------------------------
def test_costs():
    c = Costs()
    assert set(c.as_dict()) == set(COUNTERS) and not any(c.as_dict().values())
    c.tlb_deferred, c.tlb_flushes = 2, 3
    d = Costs()
    d.add(c)
    d.add(c)
    assert d.tlb_ops == 10 and "tlb_deferred" in repr(d)
    assert np.all([isinstance(v, int) for v in d.as_dict().values()])
