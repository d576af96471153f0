"""simcore.scenario.from_dict and System.settle(): building the initial state (DESIGN §3.5)."""

from __future__ import annotations

import pytest
from simcore_testlib import BASE, PS, build, codes, run, scenario

import simcore
from simcore.scenario import ScenarioError, validate
from simcore.system import System


def test_minimal_doc_uses_the_documented_defaults():
    doc = {"folio": {}, "mms": [{"name": "t", "vmas": [{"start": BASE, "end": BASE + 16 * PS}]}],
           "ptes": [{"mm": "t", "addr": BASE, "nr": 16}]}
    s = simcore.from_dict(doc)
    # DESIGN §3.5 defaults: x86_64, order 4, pfn 4096, all pages E, PTEs writable
    assert s.arch.name == "x86_64" and s.folio.order == 4 and s.folio.first_pfn == 4096
    assert s.folio.exclusive_string() == "E" * 16
    assert all(s.mms["t"].pt.get(BASE + i * PS).write for i in range(16))


def test_settle_derives_the_bookkeeping():
    s = build(scenario(order=4, ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 10}]))
    f = s.folio
    # swap-backed: reclaim's folio_alloc_swap() gave it 16 slots with count 0 (§4.1)
    assert f.swapcache and f.swap_offset == 0 and s.swap_counts() == [0] * 16
    # 10 present PTEs -> mapcount 10, pages 0..9 mapped once
    assert f.mapcount == 10 and list(f.page_mapcount) == [1] * 10 + [0] * 6
    # refcount = 10 mappings + 1 caller + 16 swap cache
    assert f.refcount == 27
    assert s.mms["task"].counters == {"MM_ANONPAGES": 10, "MM_SWAPENTS": 0}
    assert s.mms["task"].hiwater_rss == 10
    assert s.initial == s.final_state()


def test_lazyfree_has_no_swap():
    s = build(scenario(order=4, swapbacked=False))
    assert not s.folio.swapcache and s.folio.swap_offset == -1
    assert s.folio.refcount == 16 + 1 and s.swap_counts() == [0] * 16


def test_pins_and_extra_refs_count_in_the_refcount():
    s = build(scenario(order=4, pinned=True, extra_refs=2))
    assert s.folio.pincount == 1
    assert s.folio.refcount == 16 + 1 + 16 + 1 + 2


def test_swap_and_device_exclusive_runs():
    s = build(scenario(order=2, exclusive="NENE", ptes=[
        {"mm": "task", "addr": BASE, "page": 0, "kind": "swap", "soft_dirty": True},
        {"mm": "task", "addr": BASE + PS, "page": 1, "kind": "device_exclusive"},
        {"mm": "task", "addr": BASE + 2 * PS, "page": 2, "write": False},
        {"mm": "task", "addr": BASE + 3 * PS, "page": 3, "dirty": True, "young": True}]))
    pt = s.mms["task"].pt
    sw = pt.get(BASE)
    assert sw.kind == "swap" and sw.swp_offset == s.folio.swap_offset + 0 and sw.soft_dirty
    assert pt.get(BASE + PS).kind == "device_exclusive" and pt.get(BASE + PS).pfn == 4097
    assert not pt.get(BASE + 2 * PS).write
    assert pt.get(BASE + 3 * PS).dirty and pt.get(BASE + 3 * PS).young
    # the swap PTE holds one count and one MM_SWAPENTS; the device-exclusive entry counts as a
    # mapping (§6: mapcount untouched by make_device_exclusive) and in MM_ANONPAGES
    assert s.swap_counts() == [1, 0, 0, 0]
    assert s.mms["task"].counters == {"MM_ANONPAGES": 3, "MM_SWAPENTS": 1}
    assert s.folio.mapcount == 3 and list(s.folio.page_mapcount) == [0, 1, 1, 1]


def test_fork_gives_one_mapping_per_mm_and_hex_strings_parse():
    mms = [{"name": m, "vmas": [{"start": hex(BASE), "end": hex(BASE + 4 * PS)}]}
           for m in ("parent", "child")]
    ptes = [{"mm": m, "addr": hex(BASE), "page": 0, "nr": 4, "write": False}
            for m in ("parent", "child")]
    s = build(scenario(order=2, exclusive="NNNN", mms=mms, ptes=ptes))
    assert [(v.mm.name, base) for v, base in s.mappings] == [("parent", BASE), ("child", BASE)]
    assert s.folio.mapcount == 8 and list(s.folio.page_mapcount) == [2] * 4
    assert [(m.name, a, p) for m, a, p in s.slots()] == (
        [("parent", BASE + i * PS, i) for i in range(4)]
        + [("child", BASE + i * PS, i) for i in range(4)])


def test_folio_partially_outside_the_vma():
    # VMA covers pages 4..11 only: the slots are those 8, page 0 would sit at BASE
    s = build(scenario(order=4, vmas=[{"start": BASE + 4 * PS, "end": BASE + 12 * PS}],
                       ptes=[{"mm": "task", "addr": BASE + 4 * PS, "page": 4, "nr": 8}]))
    assert s.mappings[0][1] == BASE
    assert [p for _, _, p in s.slots()] == list(range(4, 12))


def test_faults_are_registered():
    s = build(scenario(order=4, swap_refs_elsewhere=[0, 0, 0, 62] + [0] * 12,
                       faults=[{"op": "dup_swap", "page": 3},
                                        {"op": "pin", "page": 9},
                                        {"op": "arch_unmap_one", "page": 0}]))
    assert s.faults.dup_swap == {3} and s.faults.pin == {9} and s.faults.arch_unmap_one == {0}


def test_copy_is_independent():
    s = build(scenario(order=4))
    t = s.copy()
    t.mms["task"].pt.set(BASE, t.mms["task"].pt.get(BASE)._replace(write=False))
    t.folio.anon_exclusive[0] = False
    assert s.mms["task"].pt.get(BASE).write and s.folio.anon_exclusive[0]
    assert isinstance(t, System)


# -- arm64 CONT derivation (§8.1: folded when an aligned block maps one folio uniformly) ---------
ARM = {"name": "arm64", "page_size": 4096}


def _cont(s, mm="task"):
    return "".join("c" if s.mms[mm].pt.get(a).cont else "." for m, a, _ in s.slots()
                   if m.name == mm)


def test_aligned_fully_mapped_blocks_are_cont():
    assert _cont(build(scenario(order=5, arch=ARM))) == "c" * 32


def test_dirty_and_young_do_not_prevent_folding():
    s = build(scenario(order=4, arch=ARM, ptes=[
        {"mm": "task", "addr": BASE, "page": 0, "nr": 3, "dirty": True},
        {"mm": "task", "addr": BASE + 3 * PS, "page": 3, "nr": 13, "young": True}]))
    assert _cont(s) == "c" * 16


def test_a_non_uniform_block_is_not_cont():
    s = build(scenario(order=5, arch=ARM, ptes=[
        {"mm": "task", "addr": BASE, "page": 0, "nr": 20},
        {"mm": "task", "addr": BASE + 20 * PS, "page": 20, "write": False},
        {"mm": "task", "addr": BASE + 21 * PS, "page": 21, "nr": 11}]))
    assert _cont(s) == "c" * 16 + "." * 16       # block 1 mixes write bits


def test_a_block_cut_by_the_vma_is_not_cont():
    s = build(scenario(order=5, arch=ARM, vmas=[{"start": BASE + 8 * PS, "end": BASE + 32 * PS}],
                       ptes=[{"mm": "task", "addr": BASE + 8 * PS, "page": 8, "nr": 24}]))
    assert _cont(s) == "." * 8 + "c" * 16


def test_folios_smaller_than_a_block_or_misaligned_are_never_cont():
    assert _cont(build(scenario(order=3, arch=ARM))) == "." * 8           # 8 < CONT_PTES
    # 16K granule: CONT_PTES 128 > 64 pages; §8.4 "a 64 KiB folio would not be CONT-mapped"
    s16 = build(scenario(order=6, arch={"name": "arm64", "page_size": 16384},
                         vmas=[{"start": BASE, "end": BASE + 64 * 16384}],
                         ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 64}]))
    assert _cont(s16) == "." * 64
    # virtual address 8 pages off the pfn's block alignment
    off = BASE + 8 * PS
    s = build(scenario(order=5, arch=ARM, vmas=[{"start": off, "end": off + 32 * PS}],
                       ptes=[{"mm": "task", "addr": off, "page": 0, "nr": 32}]))
    assert _cont(s) == "." * 32


def test_64k_granule_block_of_32():
    ps = 65536
    s = build(scenario(order=5, arch={"name": "arm64", "page_size": ps},
                       vmas=[{"start": BASE, "end": BASE + 32 * ps}],
                       ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 32}]))
    assert _cont(s) == "c" * 32


def test_explicit_cont_turns_derivation_off():
    s = build(scenario(order=4, arch=ARM,
                       ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16, "cont": False}]))
    assert _cont(s) == "." * 16


# -- errors name the field -------------------------------------------------------------------
def _vma(n=16):
    return [{"start": BASE, "end": BASE + n * PS}]


@pytest.mark.parametrize("doc, field", [
    (scenario(order=4, pfn=4100), "folio.pfn"),
    (scenario(order=10), "folio.order"),
    (scenario(order=2, exclusive="EEE"), "folio.exclusive"),
    (scenario(order=2, exclusive="EEXE"), "folio.exclusive"),
    (scenario(order=2, swapbacked=False, swapcache=True), "folio.swapcache"),
    (scenario(order=2, pfn="four"), "folio.pfn"),
    # a writable PTE of an N page: never writable without PG_anon_exclusive
    (scenario(order=2, exclusive="ENEE"), "ptes[0]"),
    (scenario(order=2, ptes=[{"mm": "task", "addr": BASE - PS, "page": 0}]), "ptes[0].addr"),
    (scenario(order=2, ptes=[{"mm": "task", "addr": BASE + 1, "page": 0}]), "ptes[0].addr"),
    (scenario(order=2, ptes=[{"mm": "task", "addr": BASE, "page": 2, "nr": 3}]), "ptes[0]"),
    (scenario(order=2, ptes=[{"mm": "nobody", "addr": BASE}]), "ptes[0].mm"),
    (scenario(order=2, ptes=[{"mm": "task", "addr": BASE, "page": 0},
                             {"mm": "task", "addr": BASE + PS, "page": 2}]), "ptes[1]"),
    (scenario(order=2, ptes=[{"mm": "task", "addr": BASE, "page": 0},
                             {"mm": "task", "addr": BASE, "page": 0}]), "ptes[1].addr"),
    (scenario(order=2, swapbacked=False,
              ptes=[{"mm": "task", "addr": BASE, "page": 0, "kind": "swap"}]), "ptes[0].kind"),
    (scenario(order=2, ptes=[{"mm": "task", "addr": BASE, "page": 0, "kind": "hwpoison"}]),
     "ptes[0].kind"),
    (scenario(order=2, vmas=[{"start": BASE, "end": BASE + 4 * PS},
                             {"start": BASE + 2 * PS, "end": BASE + 8 * PS}]), "mms[0].vmas[1]"),
    (scenario(order=2, vmas=[{"start": BASE + 1, "end": BASE + 4 * PS}]), "mms[0].vmas[0]"),
    (scenario(order=2, mms=[{"name": "task", "vmas": _vma(4)},
                            {"name": "task", "vmas": _vma(4)}]), "mms[1].name"),
    (scenario(order=2, faults=[{"op": "oom", "page": 0}]), "faults[0].op"),
    (scenario(order=2, faults=[{"op": "pin", "page": 4}]), "faults[0].page"),
    (scenario(order=2, arch={"name": "arm64", "page_size": 8192}), "arch.page_size"),
])
def test_bad_input_names_the_field(doc, field):
    with pytest.raises(ScenarioError) as e:
        simcore.from_dict(doc)
    assert str(e.value).startswith(field), str(e.value)
    assert "\n" not in str(e.value)


def test_shared_page_cannot_be_exclusive():
    mms = [{"name": m, "vmas": _vma(4)} for m in ("a", "b")]
    ptes = [{"mm": m, "addr": BASE, "page": 0, "nr": 4, "write": False} for m in ("a", "b")]
    with pytest.raises(ScenarioError, match="^folio.exclusive: page 0 is mapped by a, b"):
        simcore.from_dict(scenario(order=2, exclusive="EEEE", mms=mms, ptes=ptes))


def test_schema_validation_names_the_field():
    good = scenario(order=4)
    validate(good)                              # the helper builds schema-valid documents
    bad = scenario(order=4)
    bad["folio"]["order"] = 20
    with pytest.raises(ScenarioError, match="^folio.order"):
        validate(bad)


# -- inputs the kernel cannot produce (round 2) ---------------------------------------------------
@pytest.mark.parametrize("patch,field,why", [
    # arm64 and sparc64 do not select HAVE_ARCH_SOFT_DIRTY (arch/arm64/Kconfig,
    # arch/sparc/Kconfig); sparc64 does not select HAVE_ARCH_USERFAULTFD_WP
    ({"arch": {"name": "arm64"}, "pte": {"soft_dirty": True}}, "ptes[0].soft_dirty",
     "arm64 has no soft-dirty PTE bit"),
    ({"arch": {"name": "sparc64"}, "pte": {"soft_dirty": True}}, "ptes[0].soft_dirty",
     "sparc64 has no soft-dirty PTE bit"),
    ({"arch": {"name": "sparc64"}, "pte": {"uffd_wp": True}}, "ptes[0].uffd_wp",
     "sparc64 has no uffd-wp PTE bit"),
    # THP_ORDERS_ALL_ANON (include/linux/huge_mm.h) starts at order 2
    ({"folio": {"order": 1}}, "folio.order", "1 is not an anonymous mTHP order"),
    # folio_add_new_anon_rmap() (mm/rmap.c) leaves VM_DROPPABLE folios lazyfree
    ({"vma": {"droppable": True}}, "mms[0].vmas[0].droppable",
     "a VM_DROPPABLE mapping's folios are never swap-backed"),
    # ttu_anon_folio() (mm/rmap.c, 2026): WARN_ON_ONCE(swapbacked != swapcache), keep the folio
    ({"folio": {"swapcache": False}}, "folio.swapcache",
     "a swap-backed folio reaches try_to_unmap() only in the swap cache"),
    # folio_dup_swap() fails only at SWAP_MAP_MAX (mm/swapfile.c)
    ({"faults": [{"op": "dup_swap", "page": 3}]}, "faults[0]",
     "folio_dup_swap() fails only when a slot at SWAP_MAP_MAX"),
    ({"folio": {"swapbacked": False}, "faults": [{"op": "dup_swap", "page": 3}]},
     "faults[0].op", "dup_swap on a lazyfree folio"),
    ({"folio": {"swapbacked": False, "swap_refs_elsewhere": 3}},
     "folio.swap_refs_elsewhere", "a lazyfree folio has no swap slots"),
    ({"folio": {"swap_refs_elsewhere": [1, 2]}}, "folio.swap_refs_elsewhere",
     "needs 16 counts"),
])
def test_inputs_the_kernel_cannot_produce_are_refused(patch, field, why):
    doc = scenario(order=patch.get("folio", {}).get("order", 4),
                   arch=patch.get("arch"), faults=patch.get("faults"))
    doc["folio"].update(patch.get("folio", {}))
    nr = 1 << doc["folio"]["order"]
    doc["mms"][0]["vmas"][0]["end"] = BASE + nr * 8192
    doc["mms"][0]["vmas"][0].update(patch.get("vma", {}))
    doc["ptes"][0]["nr"] = nr
    doc["ptes"][0].update(patch.get("pte", {}))
    with pytest.raises(ScenarioError) as e:
        build(doc)
    text = str(e.value)
    assert text.startswith(f"{field}: ") and why in text and "\n" not in text


def test_a_dup_fault_is_accepted_where_the_slot_can_reach_the_limit():
    """mm/swapfile.c: a slot named by 61 other swap PTEs reaches SWAP_MAP_MAX (62) with the
    dup of a page mapped twice (parent and child), so a fault there can fire — on the second
    dup, not the first."""
    mms = [{"name": n, "vmas": [{"start": BASE, "end": BASE + 16 * PS}]}
           for n in ("parent", "child")]
    ptes = [{"mm": n, "addr": BASE, "page": 0, "nr": 16, "write": False}
            for n in ("parent", "child")]
    doc = scenario(order=4, exclusive="N" * 16, mms=mms, ptes=ptes,
                   swap_refs_elsewhere=[61] + [0] * 15,
                   faults=[{"op": "dup_swap", "page": 0}])
    r = run(doc, "baseline")
    assert not r.ok and not r.violations
    assert codes(r.system) == "S" * 16 + "R" * 16     # the parent is out; the child fails at once
    assert r.system.swap_counts()[0] == 62
