"""simcore.batch: folio_pte_batch_flags() and folio_unmap_pte_batch() (kernel-brief §2.3, §2.4)."""

from __future__ import annotations

import pytest
from simcore_testlib import BASE, PS, build, scenario

from simcore.arch import get_arch
from simcore.batch import (
    FPB_RESPECT_DIRTY,
    FPB_RESPECT_SOFT_DIRTY,
    FPB_RESPECT_WRITE,
    MODES,
    batch_stop_rules,
    folio_pte_batch_flags,
    folio_unmap_pte_batch,
    pmd_addr_end,
    pte_batch_clear_ignored,
    pte_batch_hint,
    unmap_batch_refused,
)
from simcore.costs import Costs
from simcore.folio import Folio
from simcore.mm import PageTable
from simcore.pte import mk_device_exclusive, mk_present, mk_swap

UNMAP_FLAGS = FPB_RESPECT_WRITE | FPB_RESPECT_SOFT_DIRTY


def _table(ptes, arch=None):
    """A page table with ptes[i] at BASE + i pages (None = leave none)."""
    arch = arch or get_arch("x86_64")
    pt = PageTable(arch)
    for i, p in enumerate(ptes):
        if p is not None:
            pt.set(BASE + i * arch.page_size, p)
    return pt


def _run(over=None, n=16):
    """n present PTEs of pages 0..n-1 of a folio at pfn 4096; over = {index: changes}."""
    over = over or {}
    out = []
    for i in range(n):
        p = mk_present(4096 + i, write=True)
        if i in over:
            p = p._replace(**over[i]) if isinstance(over[i], dict) else over[i]
        out.append(p)
    return out


def _batch(ptes, max_nr=512, flags=UNMAP_FLAGS, order=4, start=0, arch=None):
    pt = _table(ptes, arch)
    f = Folio(order=order, first_pfn=4096)
    costs = Costs()
    ps = (arch or get_arch("x86_64")).page_size
    addr = BASE + start * ps
    cont = (arch or get_arch("x86_64")).cont_ptes
    return folio_pte_batch_flags(f, pt, addr, pt.get(addr), max_nr, flags, costs, cont), costs


def test_modes():
    assert MODES == ("per-pte", "baseline", "patched")


def test_clear_ignored_bits():
    p = mk_present(1, write=True, dirty=True, young=True, soft_dirty=True, uffd_wp=True)
    # §2.4: young always dropped; dirty unless RESPECT_DIRTY; soft-dirty unless
    # RESPECT_SOFT_DIRTY; write unless RESPECT_WRITE; everything else (uffd-wp) kept
    assert pte_batch_clear_ignored(p, 0) == mk_present(1, write=False, uffd_wp=True)
    assert pte_batch_clear_ignored(p, UNMAP_FLAGS) == mk_present(1, write=True,
                                                                 soft_dirty=True, uffd_wp=True)
    assert pte_batch_clear_ignored(p, FPB_RESPECT_DIRTY).dirty
    assert not pte_batch_clear_ignored(p, FPB_RESPECT_DIRTY).young


def test_pmd_addr_end():
    two_mib = 2 << 20
    assert pmd_addr_end(BASE + PS, BASE + 10 * two_mib, two_mib) == BASE + two_mib
    assert pmd_addr_end(BASE + PS, BASE + 5 * PS, two_mib) == BASE + 5 * PS   # VMA end first
    assert pmd_addr_end(BASE, BASE + 10 * two_mib, two_mib) == BASE + two_mib


def test_uniform_run_is_one_batch():
    assert _batch(_run())[0] == 16


def test_dirty_and_young_may_differ():
    # §2.4: with the unmap flags dirty and young are ignored
    ptes = _run({3: {"dirty": True}, 7: {"young": True}, 12: {"dirty": True, "young": True}})
    assert _batch(ptes)[0] == 16


def test_write_difference_ends_the_batch_and_is_ignored_without_respect_write():
    ptes = _run({i: {"write": False} for i in range(8, 16)})
    assert _batch(ptes)[0] == 8            # W x8 then R: FPB_RESPECT_WRITE splits at page 8
    assert _batch(ptes, flags=0)[0] == 16  # plain folio_pte_batch would merge them (§5.4 bug)


def test_soft_dirty_difference_ends_the_batch():
    assert _batch(_run({5: {"soft_dirty": True}}))[0] == 5


def test_uffd_wp_always_compared():
    # §2.4: "every other bit (…, uffd-wp bit, …) must be identical"
    assert _batch(_run({3: {"uffd_wp": True}}), flags=0)[0] == 3


@pytest.mark.parametrize("entry", [None, mk_swap(0, 10), mk_device_exclusive(4096 + 10)])
def test_non_present_entry_ends_the_batch(entry):
    ptes = _run()
    ptes[10] = entry
    assert _batch(ptes)[0] == 10           # §2.4: a none/swap PTE ends the batch


def test_non_consecutive_pfn_ends_the_batch():
    # after mremap the next slot may map another page of the folio: pfns must be consecutive
    assert _batch(_run({6: mk_present(4096 + 9)}))[0] == 6


def test_max_nr_and_folio_end_clamps():
    assert _batch(_run(), max_nr=5)[0] == 5
    # starting at page 12 the folio end caps at 16 - 12 = 4 whatever max_nr says
    ptes = _run() + [mk_present(4096 + 16 + i) for i in range(8)]    # next folio's pages
    assert _batch(ptes, start=12)[0] == 4
    assert _batch(_run(), max_nr=1)[0] == 1


def test_cont_hint_strides_over_whole_blocks():
    arm = get_arch("arm64")
    pt = _table([mk_present(4096 + i, cont=True) for i in range(32)], arm)
    # pte_batch_hint on a CONT PTE: entries left to the end of the 16-entry block
    assert pte_batch_hint(pt, BASE, pt.get(BASE), 16) == 16
    assert pte_batch_hint(pt, BASE + 5 * PS, pt.get(BASE + 5 * PS), 16) == 11
    assert pte_batch_hint(pt, BASE, mk_present(1), 16) == 1
    assert pte_batch_hint(pt, BASE, pt.get(BASE), 0) == 1          # generic
    cont_ptes = [mk_present(4096 + i, cont=True) for i in range(32)]
    n, costs = _batch(cont_ptes, order=5, arch=arm)
    # §2.4 / §8.4: one comparison per CONT block: block 0 skipped by the first hint, block 1
    # compared once (its ptep_get scans the block), then its hint reaches 32
    assert n == 32 and costs.ptep_get == 1
    plain = [mk_present(4096 + i) for i in range(32)]
    n, costs = _batch(plain, order=5, arch=arm)
    assert n == 32 and costs.ptep_get == 31        # non-CONT: one ptep_get per further PTE


def test_cont_bit_is_compared_like_any_other_bit():
    # the model compares PTE_CONT raw (pte_same): a CONT block after non-CONT PTEs ends it
    arm = get_arch("arm64")
    ptes = [mk_present(4096 + i) for i in range(16)] + [mk_present(4096 + 16 + i, cont=True)
                                                         for i in range(16)]
    assert _batch(ptes, order=5, arch=arm)[0] == 16


# -- folio_unmap_pte_batch: who batches ------------------------------------------------------
def _unmap_batch(doc, mode, **kw):
    sys = build(doc)
    vma, _ = sys.mappings[0]
    addr = BASE
    return folio_unmap_pte_batch(sys.folio, vma, addr, vma.mm.pt.get(addr), mode, Costs(), **kw)


@pytest.mark.parametrize("swapbacked, arch, expect", [
    # §2.3 baseline: anon swap-backed -> 1; lazyfree -> batched
    (True, "x86_64", {"per-pte": 1, "baseline": 1, "patched": 16}),
    (False, "x86_64", {"per-pte": 1, "baseline": 16, "patched": 16}),
    # §7: sparc64 keeps anon swap-backed at 1 in patched; lazyfree is batched there too
    (True, "sparc64", {"per-pte": 1, "baseline": 1, "patched": 1}),
    (False, "sparc64", {"per-pte": 1, "baseline": 16, "patched": 16}),
])
def test_who_batches(swapbacked, arch, expect):
    doc = scenario(order=4, arch={"name": arch}, swapbacked=swapbacked)
    for mode, n in expect.items():
        assert _unmap_batch(doc, mode) == n, mode


def test_small_folio_and_hwpoison_never_batch():
    assert _unmap_batch(scenario(order=0), "patched") == 1         # !folio_test_large
    assert _unmap_batch(scenario(order=4), "patched", hwpoison=True) == 1   # TTU_HWPOISON


def test_sparc_guard_off_batches_sparc64():
    # the bug-zoo switch "sparc-batch-adi" lifts the sparc64 guard
    doc = scenario(order=4, arch={"name": "sparc64"})
    assert _unmap_batch(doc, "patched", sparc_guard=False) == 16


def test_vma_end_caps_the_batch():
    doc = scenario(order=4, vmas=[{"start": BASE, "end": BASE + 6 * PS}],
                   ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 6}])
    assert _unmap_batch(doc, "patched") == 6     # §2.3: max_nr from pmd_addr_end(.., vm_end)


def test_pmd_boundary_caps_the_batch_unless_the_cross_pmd_bug():
    start = BASE + (2 << 20) - 8 * PS            # pages 0..7 below the boundary
    doc = scenario(order=4, vmas=[{"start": start, "end": start + 16 * PS}],
                   ptes=[{"mm": "task", "addr": start, "page": 0, "nr": 16}])
    sys = build(doc)
    vma, _ = sys.mappings[0]
    pte = vma.mm.pt.get(start)
    assert folio_unmap_pte_batch(sys.folio, vma, start, pte, "patched", Costs()) == 8
    assert not vma.mm.pt.oob
    n = folio_unmap_pte_batch(sys.folio, vma, start, pte, "patched", Costs(), cross_pmd=True)
    assert n == 16 and vma.mm.pt.oob             # the pointer ran into the next table


def test_respect_write_switch():
    doc = scenario(order=4, exclusive="E" * 16, ptes=[
        {"mm": "task", "addr": BASE, "page": 0, "nr": 8},
        {"mm": "task", "addr": BASE + 8 * PS, "page": 8, "nr": 8, "write": False}])
    assert _unmap_batch(doc, "patched") == 8
    assert _unmap_batch(doc, "patched", respect_write=False) == 16


# -- naming the rule (explanations for the book and the exercises) ---------------------------
@pytest.mark.parametrize("order, swapbacked, arch, mode, code", [
    (0, True, "x86_64", "patched", "small"),
    (4, True, "x86_64", "per-pte", "per-pte"),
    (4, True, "x86_64", "baseline", "baseline-swapbacked"),
    (4, False, "x86_64", "baseline", None),
    (4, True, "x86_64", "patched", None),
    (4, True, "sparc64", "patched", "sparc64-swapbacked"),
    (4, False, "sparc64", "patched", None),
])
def test_unmap_batch_refused_names_the_guard(order, swapbacked, arch, mode, code):
    f = Folio(order=order, first_pfn=4096, swapbacked=swapbacked)
    assert unmap_batch_refused(f, mode, arch) == code
    assert unmap_batch_refused(f, mode, arch, hwpoison=True) == "hwpoison"
    if arch == "sparc64" and code:
        assert unmap_batch_refused(f, mode, arch, sparc_guard=False) is None


def _stop(doc, page, nr):
    """batch_stop_rules() for the batch [page, page+nr) of a scenario, before any unmap."""
    sys = build(doc)
    vma, base = sys.mappings[0]
    return batch_stop_rules(sys.folio, vma, base, vma.mm.pt.get, page, nr)


@pytest.mark.parametrize("ptes, page, nr, codes", [
    ([{"mm": "task", "addr": BASE, "page": 0, "nr": 8},
      {"mm": "task", "addr": BASE + 8 * PS, "page": 8, "nr": 8, "write": False}], 0, 8, ["write"]),
    ([{"mm": "task", "addr": BASE, "page": 0, "nr": 8},
      {"mm": "task", "addr": BASE + 8 * PS, "page": 8, "nr": 8, "soft_dirty": True}], 0, 8,
     ["soft-dirty"]),
    ([{"mm": "task", "addr": BASE, "page": 0, "nr": 5},
      {"mm": "task", "addr": BASE + 6 * PS, "page": 6, "nr": 10}], 0, 5, ["not-present"]),
    ([{"mm": "task", "addr": BASE, "page": 0, "nr": 8},
      {"mm": "task", "addr": BASE + 8 * PS, "page": 8, "nr": 8, "uffd_wp": True}], 0, 8,
     ["other"]),
])
def test_batch_stop_rules_name_the_first_pte_after_the_batch(ptes, page, nr, codes):
    assert _stop(scenario(order=4, exclusive="E" * 16, ptes=ptes), page, nr) == codes


def test_batch_stop_rules_name_the_caps():
    # VMA end inside the folio; folio end and VMA end together; a PMD boundary
    doc = scenario(order=4, vmas=[{"start": BASE, "end": BASE + 6 * PS}],
                   ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 6}])
    assert _stop(doc, 0, 6) == ["vma-end"]
    assert _stop(scenario(order=4), 0, 16) == ["folio-end", "vma-end"]   # VMA = the folio
    doc = scenario(order=4, vmas=[{"start": BASE, "end": BASE + 32 * PS}])
    assert _stop(doc, 0, 16) == ["folio-end"]
    start = BASE + (2 << 20) - 8 * PS
    doc = scenario(order=4, vmas=[{"start": start, "end": start + 16 * PS}],
                   ptes=[{"mm": "task", "addr": start, "page": 0, "nr": 16}])
    assert _stop(doc, 0, 8) == ["pmd-boundary"]
