"""The bug zoo: one hand-written scenario per variant, with the exact violations worked out.

For each variant the correct code (same mode) is clean and the broken one produces exactly the
listed violation codes, all of them declared in BUGS[name].caught_by. The generated-scenario
search for every variant is in test_properties.py; the longer stories are in
test_regressions.py.
"""

from __future__ import annotations

import pytest
from simcore_testlib import BASE, PS, run, scenario, violation_codes

from simcore.bugs import BUGS, Bug, check_bug_names
from simcore.check import INVARIANTS

# name -> (scenario, mode, exact violation codes of the buggy run, why — by hand)
CASES = {
    "skip-accounting": (
        scenario(order=4, exclusive="N" * 4 + "E" * 12, pinned=True,
                 ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16, "write": False}]),
        "patched", {"mapcount", "refcount"},
        "sub-batch [0,4) (N) is swapped out, [4,16) (E) fails to share (pinned); without "
        "finish_folio_unmap(0, 4) mapcount stays 16 with 12 PTEs, refcount 4 too high"),
    "exclusivity-from-head": (
        scenario(order=4, exclusive="EEEE" + "NNNN" + "E" * 8, ptes=[
            {"mm": "task", "addr": BASE, "page": 0, "nr": 4},
            {"mm": "task", "addr": BASE + 4 * PS, "page": 4, "nr": 12, "write": False}]),
        "patched", {"swap_exclusive"},
        "batch [4,16) reads the flags of pages 0..11 (0..3 already shared: N): pages 8..11 "
        "are E but treated N — swapped out still PG_anon_exclusive"),
    "stale-nr-pages": (
        scenario(order=4, swapbacked=False,
                 vmas=[{"start": BASE, "end": BASE + 16 * PS, "droppable": True}],
                 ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 15},
                       {"mm": "task", "addr": BASE + 15 * PS, "page": 15,
                        "kind": "device_exclusive"}]),
        "baseline", {"mapcount", "refcount", "mm_counters"},
        "CVE-2026-63950: the device-exclusive entry is accounted with nr_pages = 15"),
    "cross-pmd": (
        scenario(order=4, vmas=[{"start": BASE + (2 << 20) - 8 * PS,
                                 "end": BASE + (2 << 20) + 8 * PS}],
                 ptes=[{"mm": "task", "addr": BASE + (2 << 20) - 8 * PS, "page": 0, "nr": 16}]),
        "patched", {"page_table_bounds"},
        "batch capped at the VMA end (16) instead of the PMD boundary (8): PTE pointer "
        "runs into the next table"),
    "writable-restore": (
        scenario(order=4, exclusive="E" * 8 + "N" * 8, pinned=True,
                 ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 8},
                       {"mm": "task", "addr": BASE + 8 * PS, "page": 8, "nr": 8,
                        "write": False}]),
        "patched", {"no_write_gain"},
        "W x8 and R x8 batched together; share of the E sub-batch fails (pinned) and all 16 "
        "are restored from a writable template: pages 8..15 gain write"),
    "no-swap-offset": (
        scenario(order=4), "patched", {"swap_counts", "swap_offsets"},
        "all 16 swap PTEs name slot 0: slot 0 has count 1 but 16 names, slots 1..15 count 1 "
        "and no name; pages 1..15 name the wrong slot"),
    "sparc-batch-adi": (
        scenario(order=3, arch={"name": "sparc64"}), "patched", {"adi_tags"},
        "one batch of 8 with one arch_unmap_one(): only page 0's tags saved (for page 0's "
        "address); pages 1..7 lose theirs"),
}


def test_every_bug_has_a_hand_written_case():
    assert set(CASES) == set(BUGS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_written_case(name):
    doc, mode, expected, _why = CASES[name]
    good = run(doc, mode, trace=False)
    assert good.violations == [], [str(v) for v in good.violations]
    bad = run(doc, mode, bugs=(name,), trace=False)
    assert violation_codes(bad) == expected, [str(v) for v in bad.violations]
    assert expected <= set(BUGS[name].caught_by)
    assert bad.bugs == (name,)


def test_bug_metadata():
    for name, bug in BUGS.items():
        assert isinstance(bug, Bug) and bug.name == name
        assert bug.title and bug.what and bug.history and bug.needs
        assert bug.caught_by and set(bug.caught_by) <= set(INVARIANTS)


def test_bug_names_are_checked():
    assert check_bug_names("cross-pmd") == frozenset({"cross-pmd"})
    assert check_bug_names("") == frozenset()
    assert check_bug_names(None) == frozenset()
    with pytest.raises(ValueError, match="unknown variant"):
        check_bug_names(["cross-pmd", "typo"])


def test_bugs_only_bite_where_they_live():
    # the same scenarios in a mode that does not batch the relevant path are unaffected
    for name in ("skip-accounting", "exclusivity-from-head", "no-swap-offset"):
        doc = CASES[name][0]
        assert run(doc, "baseline", bugs=(name,), trace=False).violations == []
    doc = CASES["sparc-batch-adi"][0]
    assert run(doc, "baseline", bugs=("sparc-batch-adi",), trace=False).violations == []


def test_writable_restore_bites_only_behind_a_writable_first_pte():
    # per-pte: a single read-only PTE of a redirtied lazyfree folio is restored from itself
    one = scenario(order=0, swapbacked=False,
                   ptes=[{"mm": "task", "addr": BASE, "page": 0, "write": False,
                          "dirty": True}], exclusive="N")
    assert run(one, "per-pte", bugs=("writable-restore",), trace=False).violations == []
    # baseline: an all-read-only lazyfree batch restored from its (read-only) first PTE
    ro = scenario(order=4, swapbacked=False, exclusive="N" * 16,
                  ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16, "write": False,
                         "dirty": True}])
    assert run(ro, "baseline", bugs=("writable-restore",), trace=False).violations == []
