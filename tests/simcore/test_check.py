"""simcore.check: each invariant fires on a hand-corrupted state (kernel-brief §11 35–44)."""

from __future__ import annotations

from simcore_testlib import BASE, PS, build, run, scenario

from simcore.check import INVARIANTS, Violation, check
from simcore.pte import PTE_NONE, mk_present

SEEN: set[str] = set()


def codes_of(sys, ok=None) -> set[str]:
    got = {v.code for v in check(sys, ok)}
    SEEN.update(got)
    return got


def _after(doc=None, mode="patched"):
    """A system after a successful unmap (all 16 pages swapped out)."""
    r = run(doc or scenario(order=4), mode, trace=False)
    assert r.ok and not r.violations
    return r.system


def test_settled_and_unmapped_states_are_clean():
    assert check(build(scenario(order=4))) == []
    assert check(_after()) == []


def test_mapcount():
    s = build(scenario(order=4))
    s.folio.mapcount -= 1                      # one mapping too few
    assert codes_of(s) == {"mapcount"}         # refcount is checked against real PTEs


def test_per_page_mapcount():
    s = build(scenario(order=4))
    s.folio.page_mapcount[0] -= 1
    s.folio.page_mapcount[1] += 1              # total right, pages wrong
    assert codes_of(s) == {"mapcount"}
    assert "Page 0" in check(s)[0].message


def test_refcount():
    s = build(scenario(order=4))
    s.folio.refcount += 1                      # a leaked reference
    assert codes_of(s) == {"refcount"}
    assert "leak" in check(s)[0].message
    s.folio.refcount -= 2
    assert "dropped twice" in check(s)[0].message


def test_refcount_is_checked_against_the_ptes_not_against_mapcount():
    # §5.3: skipping finish_folio_unmap leaves mapcount AND refcount s too high; §6: the CVE
    # drops both by the same wrong amount. Conservation must count the real mappings, so
    # both invariants fire (before the fix the refcount check used folio.mapcount and could
    # never see a refcount error that mirrored a mapcount error).
    s = build(scenario(order=4))
    s.folio.mapcount -= 3
    s.folio.refcount -= 3
    for i in range(3):
        s.folio.page_mapcount[i] -= 1
    assert codes_of(s) == {"mapcount", "refcount"}


def test_mm_counters():
    s = build(scenario(order=4))
    s.mms["task"].counters["MM_ANONPAGES"] += 1
    assert codes_of(s) == {"mm_counters"}
    s = _after()
    s.mms["task"].counters["MM_SWAPENTS"] -= 1
    assert codes_of(s) == {"mm_counters"}


def test_swap_counts():
    s = _after()
    s.swap.counts[s.folio.swap_offset + 3] += 1
    assert codes_of(s) == {"swap_counts"}
    assert "leaks" in check(s)[0].message


def test_swap_offsets():
    s = _after()
    pt = s.mms["task"].pt
    wrong = pt.get(BASE + 3 * PS)
    pt.set(BASE + 2 * PS, wrong)               # page 2's swap PTE names page 3's slot
    assert "swap_offsets" in codes_of(s)


def test_swap_exclusive_marker_on_a_non_exclusive_page():
    doc = scenario(order=4, exclusive="N" * 16,
                   ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16, "write": False}])
    s = _after(doc)
    pt = s.mms["task"].pt
    pt.set(BASE, pt.get(BASE)._replace(exclusive=True))
    assert codes_of(s) == {"swap_exclusive"}


def test_swap_exclusive_page_flag_not_cleared():
    s = _after()
    s.folio.anon_exclusive[5] = True           # swapped out but still PG_anon_exclusive
    assert codes_of(s) == {"swap_exclusive"}


def test_no_write_gain():
    doc = scenario(order=4, exclusive="N" * 16,
                   ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16, "write": False}])
    s = build(doc)
    pt = s.mms["task"].pt
    pt.set(BASE + PS, pt.get(BASE + PS)._replace(write=True))
    assert codes_of(s) == {"no_write_gain"}


def test_mapping_lost():
    s = _after()
    s.mms["task"].pt.set(BASE, PTE_NONE)       # a swap-backed folio's PTE became none
    assert "mapping_lost" in codes_of(s)
    s = build(scenario(order=4))
    pt = s.mms["task"].pt
    pt.set(BASE, mk_present(4096 + 1))         # slot of page 0 now maps page 1
    assert "mapping_lost" in codes_of(s)


def test_lazyfree_discard_then_failure_is_not_a_lost_mapping():
    # Regression: per-pte lazyfree discards clean pages 0..4, then page 5 is dirty -> restore
    # and folio_set_swapbacked() (§4.2, BASE). The discarded PTEs were clean (MADV_FREE
    # allows dropping them); only a folio swap-backed from the start may not lose a PTE.
    doc = scenario(order=4, swapbacked=False, ptes=[
        {"mm": "task", "addr": BASE, "page": 0, "nr": 5},
        {"mm": "task", "addr": BASE + 5 * PS, "page": 5, "dirty": True},
        {"mm": "task", "addr": BASE + 6 * PS, "page": 6, "nr": 10}])
    r = run(doc, "per-pte")
    assert not r.ok and r.system.folio.swapbacked
    assert check(r.system, r.ok) == []


def test_dirty_lost():
    doc = scenario(order=4, ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16,
                                   "dirty": True}])
    s = _after(doc)
    s.folio.dirty = False
    assert codes_of(s) == {"dirty_lost"}


def test_tlb():
    s = _after()
    s.ubc.pending.clear()
    assert codes_of(s) == {"tlb"}


def test_page_table_bounds():
    s = build(scenario(order=4))
    s.mms["task"].pt.oob.append((BASE + (2 << 20), BASE + (2 << 20) - PS))
    assert codes_of(s) == {"page_table_bounds"}


def test_adi_tags():
    s = _after(scenario(order=3, arch={"name": "sparc64"}))
    del s.mms["task"].tag_store[BASE + 8192]
    assert codes_of(s) == {"adi_tags"}
    s = _after(scenario(order=3, arch={"name": "sparc64"}))
    s.mms["task"].tag_store[BASE + 8192] = 4096 << 13      # page 0's tags saved for page 1
    assert codes_of(s) == {"adi_tags"}


def test_still_mapped_only_when_success_was_claimed():
    s = build(scenario(order=4))
    assert codes_of(s, ok=True) == {"still_mapped"}
    assert check(s, ok=False) == [] and check(s) == []


def test_violation_str():
    v = Violation("tlb", "x")
    assert str(v) == "[tlb] x"


def test_every_invariant_is_exercised_by_a_test_here():
    # re-run the corruption tests above (order independent) and collect the codes they saw
    SEEN.clear()
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and name != "test_every_invariant_is_exercised_by_a_test_here":
            fn()
    assert SEEN == set(INVARIANTS)
