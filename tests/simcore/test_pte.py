"""simcore.pte: PTE values, swap-PTE construction (kernel-brief §4.1, §6, §11 items 1–4)."""

from __future__ import annotations

import pytest

from simcore.pte import (
    KINDS,
    PTE_NONE,
    is_device_exclusive,
    is_swap_pte,
    mk_device_exclusive,
    mk_present,
    mk_swap,
    pte_advance_pfn,
    pte_code,
    pte_mkcont_ad,
    pte_mkold_mkclean,
    pte_none,
    pte_present,
    swp_pte_prepare,
)


def test_kinds_and_predicates():
    assert KINDS == ("none", "present", "swap", "device_exclusive")
    assert pte_none(PTE_NONE) and not pte_present(PTE_NONE)
    p = mk_present(4096)
    assert pte_present(p) and not pte_none(p) and not is_swap_pte(p)
    assert is_swap_pte(mk_swap(0, 7)) and not pte_present(mk_swap(0, 7))
    d = mk_device_exclusive(4100)
    assert is_device_exclusive(d) and not pte_present(d)   # not present, but names a pfn (§6)
    assert d.pfn == 4100


def test_present_defaults():
    # DESIGN §3.5: missing bits default to false, write to true
    p = mk_present(4096)
    assert (p.write, p.dirty, p.young, p.soft_dirty, p.uffd_wp, p.cont) == (
        True, False, False, False, False, False)


def test_ptes_are_immutable_values():
    p = mk_present(4096)
    with pytest.raises(AttributeError):
        p.pfn = 1  # type: ignore[misc]
    assert mk_present(4096) == p                     # equal by value


def test_pte_advance_pfn_keeps_every_other_bit():
    p = mk_present(4096, write=False, dirty=True, young=True, soft_dirty=True, uffd_wp=True)
    q = pte_advance_pfn(p, 5)
    assert q.pfn == 4101
    assert q._replace(pfn=4096) == p


def test_mkold_mkclean():
    p = pte_mkold_mkclean(mk_present(1, dirty=True, young=True))
    assert not p.dirty and not p.young and p.write


def test_swap_pte_from_present_carries_soft_dirty_and_uffd_not_dirty():
    # §4.1: swap PTE = type+offset, exclusive iff the page was exclusive and shared OK,
    # soft-dirty and uffd-wp copied from the present PTE; dirty/young are not stored.
    old = mk_present(4096, write=True, dirty=True, young=True, soft_dirty=True, uffd_wp=True)
    s = swp_pte_prepare(0, 42, old, anon_exclusive=True)
    assert s.kind == "swap" and s.swp_type == 0 and s.swp_offset == 42
    assert s.exclusive and s.soft_dirty and s.uffd_wp
    assert not s.dirty and not s.young and not s.write and not s.cont
    s2 = swp_pte_prepare(1, 43, mk_present(4096), anon_exclusive=False)
    assert not s2.exclusive and not s2.soft_dirty and not s2.uffd_wp and s2.swp_type == 1


def test_swap_pte_from_device_exclusive_uses_its_swap_style_bits():
    # §6: for a device-exclusive old entry, soft-dirty/uffd-wp come from the entry's bits
    old = mk_device_exclusive(4100, soft_dirty=True, uffd_wp=False)
    s = swp_pte_prepare(0, 9, old, anon_exclusive=False)
    assert s.soft_dirty and not s.uffd_wp and not s.exclusive and s.swp_offset == 9


@pytest.mark.parametrize("soft_dirty", [False, True])
@pytest.mark.parametrize("uffd_wp", [False, True])
@pytest.mark.parametrize("exclusive", [False, True])
def test_swp_pte_prepare_equals_mk_swap(soft_dirty, uffd_wp, exclusive):
    # swp_pte_prepare() builds its tuple directly (hot path); it must be mk_swap()'s value
    old = mk_present(4096, soft_dirty=soft_dirty, uffd_wp=uffd_wp, dirty=True, cont=True)
    assert swp_pte_prepare(2, 77, old, exclusive) == mk_swap(
        2, 77, exclusive=exclusive, soft_dirty=soft_dirty, uffd_wp=uffd_wp)


@pytest.mark.parametrize("cont", [False, True])
@pytest.mark.parametrize("dirty", [False, True])
@pytest.mark.parametrize("young", [False, True])
def test_pte_mkcont_ad_equals_replace(cont, dirty, young):
    # contpte_convert()'s direct build must equal the generic _replace of the same bits
    for e in (mk_present(4096, write=False, soft_dirty=True, cont=not cont),
              mk_present(4097, uffd_wp=True, dirty=not dirty, young=not young)):
        assert pte_mkcont_ad(e, cont, dirty, young) == e._replace(cont=cont, dirty=dirty,
                                                                  young=young)
        assert type(pte_mkcont_ad(e, cont, dirty, young)) is type(e)


@pytest.mark.parametrize("pte, code", [
    (PTE_NONE, "-"),
    (mk_present(1), "W"),
    (mk_present(1, write=False), "R"),
    (mk_present(1, cont=True), "Wc"),
    (mk_present(1, write=False, cont=True), "Rc"),
    (mk_swap(0, 1, exclusive=True), "X"),
    (mk_swap(0, 1), "S"),
    (mk_device_exclusive(1), "D"),
])
def test_pte_code(pte, code):
    assert pte_code(pte) == code
