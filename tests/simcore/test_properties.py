"""Property tests over generated scenarios (DESIGN §5 layer 2; kernel-brief §11 items 35–44).

(i)   the invariants hold after every run, in every mode, on every arch profile;
(ii)  modes agree on the final state where they must (and only there — see below);
(iii) with faults the state stays consistent, and ok is False exactly when something failed,
      for a reason the input explains;
(iv)  every bug-zoo variant is caught by the checker on some generated scenario.

Hypothesis runs derandomized ("simcore-ci" profile in conftest.py) so CI is reproducible; set
SIMCORE_HYPOTHESIS=dev for a random, ten-times-longer exploration.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from simcore_strategies import page_size_of, scenario_docs

import simcore
from simcore.check import check
from simcore.trace import Trace
from simcore.unmap import try_to_unmap

MODES = ("per-pte", "baseline", "patched")
DEV = os.environ.get("SIMCORE_HYPOTHESIS") == "dev"
PROFILE = settings.get_profile("simcore-dev" if DEV else "simcore-ci")
SCALE = 10 if DEV else 1


def unmap(doc: dict, mode: str, bugs=()):
    """Build the scenario afresh and unmap it, with an event list but no per-event snapshots.

    (Building from the dict is ~3x cheaper than System.copy(), which deep-copies every PTE
    table.) Returns (ok, system after the run, trace).
    """
    s = simcore.from_dict(doc)
    tr = Trace(None)
    ok = try_to_unmap(s, mode, bugs, tr)
    return ok, s, tr


def initially_mapping(sys: simcore.System):
    return [(m, a) for m, a, _ in sys.slots()
            if (p := m.pt.get(a)).kind in ("present", "device_exclusive")
            and sys.folio.contains_pfn(p.pfn)]


# -- the generator reaches everything it claims to (simcore_strategies docstring) ------------------
def _pages_outside_vma(d):
    nr = 1 << d["folio"]["order"]
    mapped = {r["page"] + k for r in d["ptes"] if r["mm"] == "parent" for k in range(r["nr"])}
    return len(mapped) < nr


def _has_cont(d):
    s = simcore.from_dict(d)
    return any(p.cont for m in s.mms.values() for _, p in m.pt.items())


def _straddles(d):
    ps = page_size_of(d["arch"])
    pmd = ps // 8 * ps
    tables = {(int(r["addr"], 16) + k * ps) // pmd for r in d["ptes"] for k in range(r["nr"])}
    return len(tables) > 1


def _mixed_write(d):
    ws = {r.get("write", True) for r in d["ptes"]
          if r["mm"] == "parent" and r.get("kind", "present") == "present"}
    return ws == {True, False}


FEATURES = {
    "arm64 64K bbml2": lambda d: d["arch"] == {"name": "arm64", "page_size": 65536,
                                               "bbml2": True},
    "arm64 16K": lambda d: d["arch"].get("page_size") == 16384,
    "sparc64": lambda d: d["arch"]["name"] == "sparc64",
    "x86 no deferral": lambda d: d["arch"].get("defer_flush") is False,
    "order 0": lambda d: d["folio"]["order"] == 0,
    "order 6": lambda d: d["folio"]["order"] == 6,
    "device-exclusive": lambda d: any(r.get("kind") == "device_exclusive" for r in d["ptes"]),
    "swap PTE": lambda d: any(r.get("kind") == "swap" for r in d["ptes"]),
    "folio straddles a PMD boundary": _straddles,
    "VMA split inside the folio": lambda d: len(d["mms"][0]["vmas"]) == 2,
    "pages outside the VMA": _pages_outside_vma,
    "fork": lambda d: len(d["mms"]) == 2,
    "lazyfree": lambda d: not d["folio"]["swapbacked"],
    "droppable": lambda d: d["mms"][0]["vmas"][0].get("droppable", False),
    "locked": lambda d: d["mms"][0]["vmas"][0].get("locked", False),
    "pinned": lambda d: d["folio"].get("pinned", False),
    "extra refs": lambda d: d["folio"].get("extra_refs", 0) > 0,
    "dup fault": lambda d: any(f["op"] == "dup_swap" for f in d.get("faults", [])),
    "arch fault": lambda d: any(f["op"] == "arch_unmap_one" for f in d.get("faults", [])),
    "pin fault": lambda d: any(f["op"] == "pin" for f in d.get("faults", [])),
    "mixed write bits": _mixed_write,
    "mixed exclusivity": lambda d: set(d["folio"]["exclusive"]) == {"E", "N"},
    "soft-dirty": lambda d: any(r.get("soft_dirty") for r in d["ptes"]),
    "uffd-wp": lambda d: any(r.get("uffd_wp") for r in d["ptes"]),
    "CONT blocks": _has_cont,
}


def test_generator_reaches_every_feature():
    seen: set[str] = set()

    @settings(PROFILE, max_examples=400 * SCALE)
    @given(scenario_docs())
    def collect(doc):
        for name, has in FEATURES.items():
            if name not in seen and has(doc):
                seen.add(name)

    collect()
    assert seen == set(FEATURES), sorted(set(FEATURES) - seen)


# -- (i) + (iii): invariants everywhere; ok is False exactly when something failed --------------
@settings(PROFILE, max_examples=250 * SCALE)
@given(scenario_docs())
def test_invariants_hold_and_failures_are_explained(doc):
    sys = simcore.from_dict(doc)
    mapping = initially_mapping(sys)
    results = {}
    for mode in MODES:
        ok, s, tr = unmap(doc, mode)
        results[mode] = (ok, s)
        violations = check(s, ok)
        assert violations == [], (mode, [str(v) for v in violations])     # (i)
        fails = tr.of_kind("fail")
        # (iii) ok is False exactly when a failure event was recorded ...
        assert ok == (not fails), mode
        if ok:
            # ... success means nothing maps the folio any more: each slot that mapped it is
            # a swap PTE (swap-backed) or none (lazyfree discard)
            want = "swap" if sys.folio.swapbacked else "none"
            assert all(s.mms[m.name].pt.get(a).kind == want for m, a in mapping)
            assert s.folio.mapcount == 0
            continue
        # ... failure leaves the folio mapped (reclaim keeps it) and the walk stopped there
        assert s.folio.mapcount > 0
        assert len(fails) == 1
        # ... and the failure has a cause in the input
        f = fails[0]
        fired = {x["op"] for x in s.faults.fired}
        if f.fn == "folio_dup_swap":
            assert "dup_swap" in fired
        elif f.fn == "arch_unmap_one":
            assert "arch_unmap_one" in fired and sys.arch.name == "sparc64"
        elif f.fn.startswith("folio_try_share_anon_rmap_pte"):
            assert s.folio.pincount > 0                          # pinned, or a pin fault fired
        elif f.fn == "ttu_anon_lazyfree_folio" or (f.fn == "try_to_unmap_one"
                                                    and "lazyfree" in f.text):
            # (per-pte: the pre-2025 rule, inline in try_to_unmap_one())
            assert not sys.folio.swapbacked
            assert s.folio.dirty or s.folio.refcount != 1 + s.folio.mapcount
        else:
            # VM_LOCKED: the walk counts the PTEs, unmaps nothing and returns false
            assert f.fn in ("try_to_unmap_one", "mlock_vma_folio") and any(
                v.locked for m in sys.mms.values() for v in m.vmas)
        # faults fire at most once each, and only ones that were placed
        placed = [(x["op"], x["page"]) for x in doc.get("faults", [])]
        assert all((x["op"], x["page"]) in placed for x in s.faults.fired)
    # (ii, wide form) whenever every mode succeeds, they end in the same state
    if all(ok for ok, _ in results.values()):
        ref = results["per-pte"][1].final_state()
        for mode in ("baseline", "patched"):
            assert results[mode][1].final_state() == ref, mode


# -- (ii): mode equivalence ------------------------------------------------------------------------
# Where the modes must agree (kernel-brief §11 item 40), and why the property is restricted:
# * no faults, no pins, no extra references, no VM_LOCKED, and lazyfree folios only in a form
#   that is always discarded (clean, or every VMA VM_DROPPABLE). Every failure path stops the
#   rmap walk at the unit that failed, and the units differ by mode (one page, a batch, a
#   sub-batch), so which pages were already unmapped differs — e.g. a dup failure on page 6
#   leaves pages 0..5 swapped out in baseline but only the first sub-batch in patched
#   (test_regressions.test_e_baseline_gets_further_a_teaching_point). A failed batch is also
#   restored from the *merged* template, so dirty/young of the restored PTEs differ from a
#   per-page restore. And per-pte lazyfree discards clean pages one by one until a dirty one
#   fails, where the batched modes fail the whole batch (test_unmap lazyfree tests).
# * Within that space the three modes must reach the same System.final_state() — page tables,
#   page flags, mapcounts, refcount, rss counters, swap counts — only costs differ.
@settings(PROFILE, max_examples=250 * SCALE)
@given(scenario_docs(faults=False, pins=False, extra_refs=False, locked=False,
                     easy_lazyfree=True))
def test_modes_agree_without_faults(doc):
    states, costs = {}, {}
    for mode in MODES:
        ok, s, _ = unmap(doc, mode)
        assert ok, mode                 # nothing in this space can fail
        states[mode] = s.final_state()
        costs[mode] = s.costs
    assert states["baseline"] == states["per-pte"]
    assert states["patched"] == states["per-pte"]
    # ... and batching never adds work of the kinds the series removes (§1.1, §8.3): loop
    # iterations, TLB operations, barriers, dup/share/rmap/put-refs calls, contpte unfolds
    for k in ("iterations", "tlb_deferred", "tlb_flushes", "barriers", "dup_calls",
              "share_calls", "rmap_calls", "put_refs_calls", "contpte_unfolds", "tlbi_unfold"):
        p, b, q = (getattr(costs[m], k) for m in ("patched", "baseline", "per-pte"))
        assert p <= b <= q, (k, p, b, q)


def test_modes_differ_with_a_fault_by_design():
    # the honest counterpart of the restriction above: a fault makes the modes differ
    # (page 5's swap slot is at SWAP_MAP_MAX: 62 references held by other processes)
    doc = {"arch": {"name": "x86_64"}, "folio": {"order": 3, "exclusive": "NNNNNNNN",
                                                 "swap_refs_elsewhere": [0] * 5 + [62, 0, 0]},
           "mms": [{"name": "t", "vmas": [{"start": 0x10000, "end": 0x18000}]}],
           "ptes": [{"mm": "t", "addr": 0x10000, "nr": 8, "write": False}],
           "faults": [{"op": "dup_swap", "page": 5}]}
    base, pat = unmap(doc, "baseline")[1], unmap(doc, "patched")[1]
    assert base.folio.mapcount == 3            # pages 0..4 swapped out one by one
    assert pat.folio.mapcount == 8             # the single sub-batch [0,8) failed as a unit
    assert check(base) == [] and check(pat) == []


# -- (iv): every bug-zoo variant is caught on some generated scenario -----------------------------
# What each variant needs (the search space given to hypothesis.find; BUGS[name].needs):
SEARCH = {
    # a failure after the first sub-batch, in patched mode
    "skip-accounting": (scenario_docs(lazyfree=False, min_faults=1, max_order=5,
                                      fault_ops=("dup_swap", "pin")), ("patched",)),
    # a batch that starts mid-folio over mixed E/N pages, in patched mode
    "exclusivity-from-head": (scenario_docs(lazyfree=False, max_order=5), ("patched",)),
    # a batch followed by a device-exclusive entry in the same VMA (baseline: lazyfree)
    "stale-nr-pages": (scenario_docs(dev_excl=4, max_order=5, min_order=1),
                       ("baseline", "patched")),
    # a batched folio straddling a PMD boundary
    "cross-pmd": (scenario_docs(places=("straddle",), min_order=1, max_order=5),
                  ("baseline", "patched")),
    # mixed write bits in one batch (a writable first PTE, read-only ones after it), and a
    # failure that restores it; per-pte never batches, so the variant cannot bite there
    "writable-restore": (scenario_docs(min_order=2, max_order=5, min_faults=1,
                                       fault_ops=("dup_swap", "pin")),
                         ("baseline", "patched")),
    # a sub-batch of two or more pages, in patched mode
    "no-swap-offset": (scenario_docs(lazyfree=False, max_order=5), ("patched",)),
    # sparc64 with ADI, patched, a large swap-backed folio
    "sparc-batch-adi": (scenario_docs(lazyfree=False, min_order=1, max_order=5,
                                      arches=({"name": "sparc64"},)), ("patched",)),
}


def _caught(bug: str):
    caught_by = set(simcore.BUGS[bug].caught_by)

    def condition(example) -> bool:
        doc, mode = example
        ok, s, _ = unmap(doc, mode)
        if check(s, ok):
            return False                       # the correct code must be clean here
        ok, s, _ = unmap(doc, mode, (bug,))
        return bool({v.code for v in check(s, ok)} & caught_by)
    return condition


def test_search_covers_every_bug():
    assert set(SEARCH) == set(simcore.BUGS)


@pytest.mark.parametrize("bug", sorted(simcore.BUGS))
def test_every_bug_is_caught_on_a_generated_scenario(bug):
    strategy, modes = SEARCH[bug]
    # generation only (no shrinking): we need a witness, not the smallest one
    doc, mode = find(st.tuples(strategy, st.sampled_from(modes)), _caught(bug),
                     settings=settings(PROFILE, max_examples=1500, phases=[Phase.generate]))
    ok, s, _ = unmap(doc, mode, (bug,))
    got = {v.code for v in check(s, ok)}
    assert got & set(simcore.BUGS[bug].caught_by)
