"""Hot-path optimisations must not change what the model does.

The speed work for the 65,536-PTE workload (see simcore.workload and `make bench`) touched
simcore's hot path (unmap, walk, contpte, mm, rmap, swap, pte). This test pins the behaviour: for
a seeded corpus of generated scenarios (every arch profile, fork, VMA cuts, PMD-straddling
folios, gaps, swap and device-exclusive entries, lazyfree, pins, injected faults, every bug-zoo
variant) run in every mode, plus the shipped examples and small workloads, the cost counters,
the final state and the trace events (kinds, functions, texts and data, without state
snapshots) must equal the golden record. The record was generated from a tree identical to the
optimised one except that every optimisation hunk was reverted (the code as it was before the
speed work, with the other, intended, semantic changes of the time).

If the unmap logic is changed on purpose, regenerate the record and review the diff:

    .venv/bin/python tests/simcore/test_hotpath_equivalence.py --regen
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from simcore.bugs import BUGS
from simcore.scenario import ScenarioError, from_dict, load
from simcore.trace import Trace
from simcore.unmap import try_to_unmap

GOLDEN = Path(__file__).with_name("golden") / "hotpath.json"
EXAMPLES = Path(__file__).resolve().parents[2] / "simcore" / "examples"
MODES = ("per-pte", "baseline", "patched")
N_SCENARIOS = 160
ARCHES = (
    {"name": "x86_64"},
    {"name": "arm64", "page_size": 4096},
    {"name": "arm64", "page_size": 4096, "bbml2": True},
    {"name": "x86_64", "defer_flush": False},        # (arm64 always defers the flush)
    {"name": "arm64", "page_size": 16384},
    {"name": "sparc64"},
)


# -- the corpus -------------------------------------------------------------------------------
def _scenario(rng: np.random.Generator, k: int) -> dict:
    arch = dict(ARCHES[k % len(ARCHES)])
    ps = arch.get("page_size", 8192 if arch["name"] == "sparc64" else 4096)
    pmd = ps // 8 * ps
    order = int(rng.choice([2, 3, 4, 4, 5, 6])) if k % 23 else 9
    nr = 1 << order
    pfn = nr * int(rng.integers(1, 64))
    swapbacked = bool(rng.random() < 0.8)
    # where page 0 of the folio sits: aligned, or straddling a PMD boundary
    region = 0x7F0000000000
    if rng.random() < 0.3:
        base = region + pmd - int(rng.integers(1, nr)) * ps
    else:
        base = region + int(rng.integers(0, 4)) * nr * ps
    excl_kind = rng.integers(0, 4)
    if excl_kind == 0:
        excl = ["E"] * nr
    elif excl_kind == 1:
        excl = ["N"] * nr
    else:
        excl = ["E" if rng.random() < 0.6 else "N" for _ in range(nr)]
    nmm = 2 if rng.random() < 0.25 else 1
    mms, ptes = [], []
    mapped_by = [set() for _ in range(nr)]
    runs_per_mm = []
    for m in range(nmm):
        name = "task" if m == 0 else "child"
        lo = 0 if rng.random() < 0.7 else int(rng.integers(0, nr))
        hi = nr if rng.random() < 0.7 else int(rng.integers(lo + 1, nr + 1))
        vstart = base + lo * ps
        vend = base + hi * ps
        if rng.random() < 0.4:      # VMA larger than the folio's part
            vstart -= ps * int(rng.integers(0, 3))
            vend += ps * int(rng.integers(0, 3))
        vma = {"start": hex(vstart), "end": hex(vend)}
        if rng.random() < 0.05:
            vma["locked"] = True
        if not swapbacked and rng.random() < 0.2:
            vma["droppable"] = True
        mms.append({"name": name, "vmas": [vma]})
        page = lo
        runs = []
        while page < hi:
            n = int(rng.integers(1, hi - page + 1))
            r = rng.random()
            if r < 0.12:
                kind = "none"
                n = min(n, 2)
            elif r < 0.2 and swapbacked:
                kind, n = "swap", 1
            elif r < 0.27:
                kind, n = "device_exclusive", 1
            else:
                kind = "present"
            runs.append((page, n, kind))
            page += n
        runs_per_mm.append((name, runs))
        for p0, n, kind in runs:
            if kind in ("present", "device_exclusive"):
                for p in range(p0, p0 + n):
                    mapped_by[p].add(name)
    for p in range(nr):
        if len(mapped_by[p]) > 1:
            excl[p] = "N"
    for name, runs in runs_per_mm:
        for p0, n, kind in runs:
            if kind == "none":
                continue
            entry = {"mm": name, "addr": hex(base + p0 * ps), "page": p0, "nr": n}
            if kind != "present":
                entry["kind"] = kind
            if kind == "swap":
                entry["exclusive"] = bool(rng.random() < 0.5)
            if kind == "present":
                all_e = all(excl[p] == "E" for p in range(p0, p0 + n))
                entry["write"] = bool(all_e and rng.random() < 0.7)
                entry["dirty"] = bool(rng.random() < 0.6)
                entry["young"] = bool(rng.random() < 0.6)
            # (no soft-dirty bit on arm64 and sparc64, no uffd-wp bit on sparc64)
            if rng.random() < 0.15 and arch["name"] == "x86_64":
                entry["soft_dirty"] = True
            if rng.random() < 0.05 and arch["name"] != "sparc64":
                entry["uffd_wp"] = True
            ptes.append(entry)
    faults = []
    for _ in range(int(rng.choice([0, 0, 1, 1, 2]))):
        op = str(rng.choice(["dup_swap", "arch_unmap_one", "pin"]))
        faults.append({"op": op, "page": int(rng.integers(0, nr))})
    folio = {"order": order, "pfn": pfn, "swapbacked": swapbacked,
             "dirty": bool(rng.random() < 0.3), "exclusive": "".join(excl),
             "pinned": bool(rng.random() < 0.1)}
    # folio_dup_swap() fails only on a slot at SWAP_MAP_MAX: others hold 62 references
    dup_pages = [f["page"] for f in faults if f["op"] == "dup_swap"]
    if dup_pages and swapbacked:
        folio["swap_refs_elsewhere"] = [62 if p in dup_pages else 0 for p in range(nr)]
    if rng.random() < 0.05:
        folio["extra_refs"] = 1
    return {"schema": "simcore.scenario/1", "name": f"gen-{k}", "arch": arch, "folio": folio,
            "mms": mms, "ptes": ptes, "faults": faults}


def corpus() -> list[dict]:
    rng = np.random.default_rng(20260526)
    out, k = [], 0
    while len(out) < N_SCENARIOS:
        doc = _scenario(rng, k)
        k += 1
        try:
            from_dict(doc)
        except ScenarioError:
            continue
        out.append(doc)
    return out


# -- what is compared -------------------------------------------------------------------------
def state_of(sys) -> dict:
    """The final state, read directly (independent of System's own views)."""
    f = sys.folio
    return {
        "ptes": {mm.name: [[a, list(p)] for a, p in mm.pt.items()] for mm in sys.mms.values()},
        "counters": {mm.name: dict(mm.counters) for mm in sys.mms.values()},
        "mm": {mm.name: [mm.on_mmlist, mm.hiwater_rss, mm.tlb_flush_batched,
                         sorted(mm.tag_store.items()), len(mm.pt.oob)]
               for mm in sys.mms.values()},
        "folio": [f.mapcount, f.refcount, f.dirty, f.swapbacked, f.pincount, f.mlocked,
                  f.partially_mapped, list(f.anon_exclusive), list(f.page_mapcount)],
        "swap": list(sys.swap.counts),
        "ubc": [sys.ubc.flush_required, sys.ubc.writable, sys.ubc.pending, sys.ubc.flushed],
        "faults": sys.faults.fired,
    }


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:20]


def run_case(doc, mode: str, bugs: tuple[str, ...]) -> dict:
    base = load(doc) if isinstance(doc, Path) else from_dict(doc)
    plain = base.copy()
    ok = try_to_unmap(plain, mode, bugs)
    traced = base.copy()
    tr = Trace(None)
    ok2 = try_to_unmap(traced, mode, bugs, tr)
    st = state_of(plain)
    assert ok == ok2 and plain.costs.as_dict() == traced.costs.as_dict()
    assert _digest(st) == _digest(state_of(traced)), "tracing changed the result"
    return {"ok": ok, "costs": {k: v for k, v in plain.costs.as_dict().items() if v},
            "state": _digest(st), "trace": _digest(tr.as_list())}


def cases():
    docs = corpus()
    bug_names = sorted(BUGS)
    for i, doc in enumerate(docs):
        for mode in MODES:
            yield f"{doc['name']}/{mode}", doc, mode, ()
        bug = bug_names[i % len(bug_names)]
        yield f"{doc['name']}/patched/{bug}", doc, "patched", (bug,)


def example_cases():
    """The shipped examples (simcore/examples/*.json) in every mode."""
    for path in sorted(EXAMPLES.glob("*.json")):
        for mode in MODES:
            yield f"example-{path.stem}/{mode}", path, mode, ()


def workload_cases():
    for arch in ("x86_64", "arm64", "sparc64"):
        for mode in MODES:
            yield f"workload-{arch}/{mode}", arch, mode


def run_workload(arch: str, mode: str) -> dict:
    from simcore import workload

    w = workload.build(8 * 64 * 1024 if arch != "sparc64" else 8 * 64 * 1024, 64 * 1024, arch)
    st = workload.instantiate(w)
    res = workload.unmap_all(st, mode)
    s = {"ptes": [[a, list(p)] for a, p in st.mm.pt.items()],
         "counters": dict(st.mm.counters),
         "folios": [[f.mapcount, f.refcount, f.dirty, list(f.anon_exclusive)]
                    for f in st.folios],
         "swap": list(st.swap.counts)}
    return {"ok": res, "costs": {k: v for k, v in st.costs.as_dict().items() if v},
            "state": _digest(s)}


def record() -> dict:
    out = {}
    for name, doc, mode, bugs in cases():
        out[name] = run_case(doc, mode, bugs)
    for name, path, mode, bugs in example_cases():
        out[name] = run_case(path, mode, bugs)
    for name, arch, mode in workload_cases():
        out[name] = run_workload(arch, mode)
    return out


# -- the tests --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def golden() -> dict:
    if not GOLDEN.exists():
        pytest.skip("no golden record (run this file with --regen)")
    return json.loads(GOLDEN.read_text())


def test_corpus_is_varied():
    docs = corpus()
    assert len(docs) == N_SCENARIOS
    assert {d["arch"]["name"] for d in docs} == {"x86_64", "arm64", "sparc64"}
    assert any(d["faults"] for d in docs) and any(len(d["mms"]) == 2 for d in docs)


def test_scenarios_match_golden(golden):
    bad = []
    for name, doc, mode, bugs in cases():
        got = run_case(doc, mode, bugs)
        if got != golden.get(name):
            bad.append((name, golden.get(name), got))
    assert not bad, f"{len(bad)} case(s) differ; first: {bad[0]}"


def test_examples_match_golden(golden):
    """Examples recorded in the golden file must still give the same result (examples added
    later are not in the record: regenerate it to pin them too)."""
    bad, seen = [], 0
    for name, path, mode, bugs in example_cases():
        if name not in golden:
            continue
        seen += 1
        got = run_case(path, mode, bugs)
        if got != golden[name]:
            bad.append((name, golden[name], got))
    assert seen or not any(EXAMPLES.glob("*.json")), "no example is in the golden record"
    assert not bad, f"{len(bad)} example case(s) differ; first: {bad[0]}"


@pytest.mark.parametrize("arch", ["x86_64", "arm64", "sparc64"])
def test_workload_matches_golden(golden, arch):
    for name, a, mode in workload_cases():
        if a == arch:
            assert run_workload(a, mode) == golden[name], name


if __name__ == "__main__":
    if "--regen" in sys.argv:
        rec = record()
        GOLDEN.write_text(json.dumps(rec, indent=0, sort_keys=True) + "\n")
        print(f"wrote {len(rec)} cases to {GOLDEN}")
