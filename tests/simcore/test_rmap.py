"""simcore.rmap: sharing exclusive pages, dropping mappings and refs (brief §3.2, §3.3, §4.3)."""

from __future__ import annotations

from simcore.costs import Costs
from simcore.folio import Folio
from simcore.rmap import (
    EBUSY,
    finish_folio_unmap,
    folio_put_refs,
    folio_remove_rmap_ptes,
    folio_try_share_anon_rmap_pte,
    folio_try_share_anon_rmap_ptes,
)


def _folio(order=4, pinned=False):
    f = Folio(order=order, first_pfn=4096, pincount=int(pinned))
    n = f.nr_pages
    f.anon_exclusive = [True] * n
    f.page_mapcount = [1] * n
    f.mapcount = n
    f.refcount = f.expected_refcount()
    return f


def test_share_clears_nr_flags_under_one_barrier_pair():
    f = _folio()
    c = Costs()
    assert folio_try_share_anon_rmap_ptes(f, 4, 8, c) == 0
    # §3.3: one smp_mb + one smp_mb__after_atomic for the whole range, flags 4..11 cleared
    assert c.barriers == 2 and c.share_calls == 1
    assert f.exclusive_string() == "EEEE" + "N" * 8 + "EEEE"


def test_share_one_page_version():
    f = _folio()
    c = Costs()
    assert folio_try_share_anon_rmap_pte(f, 3, c) == 0
    assert f.exclusive_string() == "EEENEEEEEEEEEEEE" and c.barriers == 2


def test_share_refused_when_maybe_pinned():
    f = _folio(pinned=True)
    c = Costs()
    # §3.2: smp_mb, then folio_maybe_dma_pinned -> -EBUSY with nothing changed (no 2nd barrier)
    assert folio_try_share_anon_rmap_ptes(f, 0, 16, c) == EBUSY == -16
    assert c.barriers == 1 and c.share_calls == 1
    assert f.exclusive_string() == "E" * 16


def test_pin_check_is_folio_wide():
    # §3.2: failure is folio-wide: a pin fails the share of every exclusive page
    f = _folio(pinned=True)
    for i in range(16):
        assert folio_try_share_anon_rmap_pte(f, i, Costs()) == EBUSY


def test_remove_rmap_ptes_and_partial_mapping():
    f = _folio()
    c = Costs()
    folio_remove_rmap_ptes(f, 0, 4, c)
    # §4.3: mapcount -4; per-page _mapcount of pages 0..3 -1; folio now partially mapped
    assert f.mapcount == 12
    assert list(f.page_mapcount) == [0] * 4 + [1] * 12
    assert f.partially_mapped
    assert c.rmap_calls == 1 and c.atomic_mapcount == 1 + 4   # _large_mapcount + 4 pages


def test_removing_everything_at_once_is_not_partial():
    # §4.3 (Barry's motivation): one folio_remove_rmap_ptes over the whole folio never makes
    # it transiently partially mapped
    f = _folio()
    folio_remove_rmap_ptes(f, 0, 16, Costs())
    assert f.mapcount == 0 and not f.partially_mapped


def test_one_page_at_a_time_marks_partially_mapped():
    f = _folio()
    folio_remove_rmap_ptes(f, 0, 1, Costs())
    assert f.partially_mapped                 # the spurious deferred-split case of per-PTE


def test_put_refs_and_finish():
    f = _folio()
    before = f.refcount                       # 16 mappings + 1 caller = 17 (no swap cache)
    assert before == 17
    c = Costs()
    folio_put_refs(f, 5, c)
    assert f.refcount == 12 and c.atomic_refcount == 1 and c.put_refs_calls == 1
    g = _folio()
    c = Costs()
    finish_folio_unmap(g, 8, 8, c)            # finish_folio_unmap = rmap -8 and refs -8
    assert g.mapcount == 8 and g.refcount == 9
    assert g.page_mapcount == [1] * 8 + [0] * 8
    assert c.rmap_calls == 1 and c.put_refs_calls == 1
