"""simcore.contpte: arm64 contiguous PTEs (kernel-brief §8, §2.5, §11 items 16, 18, 19)."""

from __future__ import annotations

from simcore.arch import get_arch
from simcore.contpte import (
    contpte_convert,
    contpte_try_unfold,
    get_and_clear_ptes,
    ptep_get,
    set_ptes,
)
from simcore.costs import Costs
from simcore.mm import PageTable
from simcore.pte import PTE_NONE, mk_present

BASE = 0x7F0000000000
PS = 4096
CONT = 16


def _cont_table(n_blocks=1, arch=None, **bits):
    """n_blocks aligned CONT blocks at BASE mapping pfn 4096.. (one folio)."""
    pt = PageTable(arch or get_arch("arm64"))
    for i in range(n_blocks * CONT):
        pt.set(BASE + i * PS, mk_present(4096 + i, cont=True, **bits))
    return pt


def _at(i):
    return BASE + i * PS


def test_ptep_get_on_cont_scans_the_block():
    pt = _cont_table()
    c = Costs()
    p = ptep_get(pt, BASE, c, CONT)
    # §8.1: contpte_ptep_get() scans until it has both dirty and young; a clean, old block is
    # scanned whole: 1 load of the PTE + 16 loads of the block
    assert c.ptep_get == 1 and c.pte_reads == 1 + 16
    assert not p.dirty and not p.young and p.cont


def test_ptep_get_gathers_access_dirty_and_stops_early():
    pt = _cont_table()
    pt.set(_at(5), pt.get(_at(5))._replace(dirty=True))
    pt.set(_at(9), pt.get(_at(9))._replace(young=True))
    c = Costs()
    p = ptep_get(pt, _at(2), c, CONT)      # any entry: the logical A/D is the block's OR
    assert p.dirty and p.young and p.pfn == 4098
    assert c.pte_reads == 1 + 10           # entries 0..9 scanned, stop when both found


def test_ptep_get_plain_pte_is_one_load():
    pt = PageTable(get_arch("arm64"))
    pt.set(BASE, mk_present(4096))
    c = Costs()
    ptep_get(pt, BASE, c, CONT)
    assert (c.ptep_get, c.pte_reads) == (1, 1)


def test_unfold_without_bbml2():
    pt = _cont_table()
    pt.set(_at(3), pt.get(_at(3))._replace(dirty=True))
    c = Costs()
    contpte_convert(pt, _at(7), c, CONT, bbml2=False, make_cont=False)
    # §8.2: 16 get-and-clears gathering A/D, a TLBI over the block (break-before-make),
    # 16 writes without PTE_CONT carrying the gathered dirty/young
    assert c.contpte_unfolds == 1 and c.tlbi_unfold == 1
    assert c.pte_reads == 16 and c.pte_writes == 32
    for i in range(CONT):
        e = pt.get(_at(i))
        assert not e.cont and e.dirty and not e.young and e.pfn == 4096 + i


def test_unfold_with_bbml2_skips_the_tlbi():
    pt = _cont_table()
    c = Costs()
    contpte_convert(pt, BASE, c, CONT, bbml2=True, make_cont=False)
    assert c.contpte_unfolds == 1 and c.tlbi_unfold == 0


def test_try_unfold_is_a_noop_on_non_cont():
    pt = PageTable(get_arch("arm64"))
    pt.set(BASE, mk_present(4096))
    c = Costs()
    contpte_try_unfold(pt, BASE, c, CONT, False)
    assert c.contpte_unfolds == 0 and c.pte_writes == 0


def test_clear_one_pte_of_a_cont_block_unfolds_it():
    pt = _cont_table()
    c = Costs()
    v = get_and_clear_ptes(pt, _at(0), 1, c, CONT, bbml2=False)
    # §2.5 / §8.3: nr == 1 -> contpte_try_unfold then clear one entry
    assert c.contpte_unfolds == 1
    assert pt.get(_at(0)) == PTE_NONE
    assert all(not pt.get(_at(i)).cont for i in range(1, CONT))
    assert v.pfn == 4096 and not v.cont


def test_clear_an_aligned_whole_block_unfolds_nothing():
    pt = _cont_table()
    pt.set(_at(11), pt.get(_at(11))._replace(young=True))
    c = Costs()
    v = get_and_clear_ptes(pt, BASE, 16, c, CONT, bbml2=False)
    # §8.4: a batch covering whole aligned blocks -> no unfold, 16 raw clears
    assert c.contpte_unfolds == 0 and c.tlbi_unfold == 0
    assert c.pte_writes == 16 and c.pte_reads == 16
    assert all(pt.get(_at(i)) == PTE_NONE for i in range(16))
    # returned: the first PTE's value with the batch's dirty/young OR-ed in
    assert v.pfn == 4096 and v.young and not v.dirty and not v.cont


def test_clear_unaligned_range_unfolds_only_the_partial_end_blocks():
    pt = _cont_table(3)
    c = Costs()
    get_and_clear_ptes(pt, _at(4), 36, c, CONT, bbml2=False)    # entries 4..39
    # §2.5 contpte_try_unfold_partial: block 0 (0..15) and block 2 (32..47) are partially
    # covered -> 2 unfolds; block 1 (16..31) fully covered -> raw clear, no unfold
    assert c.contpte_unfolds == 2 and c.tlbi_unfold == 2
    assert all(pt.get(_at(i)).kind == "present" and not pt.get(_at(i)).cont for i in range(4))
    assert all(pt.get(_at(i)) == PTE_NONE for i in range(4, 40))
    assert all(pt.get(_at(i)).kind == "present" and not pt.get(_at(i)).cont
               for i in range(40, 48))


def test_clear_partial_tail_block_only():
    pt = _cont_table(2)
    c = Costs()
    get_and_clear_ptes(pt, BASE, 20, c, CONT, bbml2=True)       # block 0 whole, block 1 part
    assert c.contpte_unfolds == 1 and c.tlbi_unfold == 0        # BBML2: no TLBI


def test_generic_clear_has_no_cont_work():
    pt = PageTable(get_arch("x86_64"))
    for i in range(8):
        pt.set(_at(i), mk_present(4096 + i, dirty=(i == 6)))
    c = Costs()
    v = get_and_clear_ptes(pt, BASE, 8, c, 0, False)
    assert v.dirty and v.pfn == 4096                 # §2.5 generic: OR dirty/young
    assert c.pte_writes == 8 and c.contpte_unfolds == 0


def test_set_ptes_advances_pfn_and_folds_complete_aligned_blocks():
    arm = get_arch("arm64")
    pt = PageTable(arm)
    c = Costs()
    tmpl = mk_present(4096, write=False, dirty=True)
    set_ptes(pt, BASE, tmpl, 32, c, CONT, 4096, 32)
    assert [pt.get(_at(i)).pfn for i in range(32)] == list(range(4096, 4128))
    assert c.pte_writes == 32
    assert c.contpte_folds == 2                                  # both blocks refolded
    assert all(pt.get(_at(i)).cont and not pt.get(_at(i)).write for i in range(32))


def test_set_ptes_does_not_fold_a_partial_block():
    pt = PageTable(get_arch("arm64"))
    c = Costs()
    set_ptes(pt, _at(4), mk_present(4100), 28, c, CONT, 4096, 32)   # entries 4..31
    assert c.contpte_folds == 1                  # only block 1 (16..31) is complete
    assert not any(pt.get(_at(i)).cont for i in range(4, 16))
    assert all(pt.get(_at(i)).cont for i in range(16, 32))


def test_set_ptes_generic():
    pt = PageTable(get_arch("x86_64"))
    c = Costs()
    set_ptes(pt, BASE, mk_present(4096), 3, c, 0, 4096, 16)
    assert [pt.get(_at(i)).pfn for i in range(3)] == [4096, 4097, 4098]
    assert c.contpte_folds == 0 and c.pte_writes == 3
