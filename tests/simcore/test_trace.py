"""simcore.trace: events come in a sensible order and their snapshots redraw the state."""

from __future__ import annotations

from hypothesis import given, settings
from simcore_strategies import scenario_docs
from simcore_testlib import BASE, PS, run, scenario

import simcore
from simcore.pte import pte_code
from simcore.trace import EVENT_KINDS, Trace


def _final_codes(sys):
    return [pte_code(m.pt.get(a)) for m, a, _ in sys.slots()]


def test_canonical_patched_event_sequence():
    r = run(scenario(order=4))
    # try_to_unmap start, try_to_unmap_one start, one walk stop, the batch, its clear and TLB
    # op, one sub-batch: dup, share, counters, swap PTEs, then the accounting and the end
    assert r.trace.kinds() == ["start", "start", "walk", "batch", "clear", "tlb", "sub_batch",
                               "dup", "share", "counters", "swap_ptes", "finish", "end"]
    assert r.trace.events[0].fn == "try_to_unmap"
    assert r.trace.events[1].fn == "try_to_unmap_one"
    assert r.trace.events[-1].data == {"ok": True}


def test_baseline_event_sequence_repeats_per_page():
    r = run(scenario(order=2), "baseline")
    one = ["walk", "batch", "clear", "tlb", "dup", "share", "counters", "swap_ptes", "finish"]
    assert r.trace.kinds() == ["start", "start"] + one * 4 + ["end"]
    assert [e.page for e in r.trace.of_kind("walk")] == [0, 1, 2, 3]


def test_failure_sequence():
    doc = scenario(order=2, pinned=True,
                   ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 4, "write": False}],
                   exclusive="NNEE")
    r = run(doc)
    assert r.trace.kinds() == ["start", "start", "walk", "batch", "clear", "tlb",
                               "sub_batch", "dup", "counters", "swap_ptes",
                               "sub_batch", "dup", "fail", "restore", "finish", "end"]
    assert r.trace.events[-1].data == {"ok": False}


def test_snapshots_redraw_each_step():
    r = run(scenario(order=4))
    ev = {e.kind: e for e in r.trace.events}
    assert r.trace.events[0].state["ptes"] == ["W"] * 16           # before anything
    assert ev["clear"].state["ptes"] == ["-"] * 16                 # after the batched clear
    assert ev["share"].state["pages"] == "N" * 16                  # flags cleared by share
    assert ev["counters"].state["mm_counters"]["task"] == {"MM_ANONPAGES": 0,
                                                            "MM_SWAPENTS": 16}
    assert ev["swap_ptes"].state["ptes"] == ["X"] * 16
    assert ev["swap_ptes"].state["mapcount"] == 16                 # rmap not yet updated
    assert ev["finish"].state["mapcount"] == 0
    assert ev["dup"].state["swap_counts"] == [1] * 16


def test_event_as_dict():
    r = run(scenario(order=2))
    d = r.trace.as_list()
    assert len(d) == len(r.trace)
    walk = next(x for x in d if x["kind"] == "walk")
    assert walk["addr"] == hex(BASE) and walk["mm"] == "task" and walk["page"] == 0
    assert "state" in walk


def test_emit_rejects_unknown_kinds_and_works_without_snapshots():
    t = Trace()
    t.emit("walk", "f", "text", addr=BASE + PS)
    assert t.events[0].state is None and t.kinds() == ["walk"]
    try:
        t.emit("nonsense", "f", "x")
    except AssertionError:
        pass
    else:   # pragma: no cover
        raise AssertionError("unknown event kind accepted")


def _check_trace(r: simcore.Result) -> None:
    """Order and snapshot properties every trace must have."""
    ev = r.trace.events
    kinds = [e.kind for e in ev]
    assert set(kinds) <= set(EVENT_KINDS)
    assert ev[0].kind == "start" and ev[0].fn == "try_to_unmap"
    # try_to_unmap_one calls are bracketed start ... end, one per VMA reached
    depth = 0
    for e in ev[1:]:
        if e.kind == "start":
            assert depth == 0
            depth = 1
        elif e.kind == "end":
            assert depth == 1
            depth = 0
        else:
            assert depth == 1, e.kind
    assert depth == 0
    ends = [e for e in ev if e.kind == "end"]
    # the rmap walk stops at the first failing VMA: only the last end may say false
    assert all(e.data["ok"] for e in ends[:-1])
    if ends and not ends[-1].data["ok"]:
        assert not r.ok
    prev = None
    for i, e in enumerate(ev):
        if e.kind == "batch":
            assert prev.kind == "walk" and prev.addr == e.addr         # batch after walk stop
            assert ev[i + 1].kind in ("clear", "unfold")
        if e.kind == "tlb":
            assert prev.kind == "clear" and prev.nr == e.nr
        if e.kind == "dup":
            assert prev.kind in ("sub_batch", "fault", "walk", "clear", "tlb", "dirty")
        if e.kind == "fail":
            # after a failure only the restore, the accounting of what succeeded, the end
            assert {x.kind for x in ev[i + 1:]} <= {"restore", "finish", "end", "skip"}
        prev = e
    # snapshots: costs never go down, and the last one is the final state
    for a, b in zip(ev, ev[1:], strict=False):
        assert all(b.state["costs"][k] >= v for k, v in a.state["costs"].items())
    last = ev[-1].state
    sys = r.system
    assert last["ptes"] == _final_codes(sys)
    assert last["pages"] == sys.folio.exclusive_string()
    assert last["mapcount"] == sys.folio.mapcount and last["refcount"] == sys.folio.refcount
    assert last["mm_counters"] == {n: dict(m.counters) for n, m in sys.mms.items()}
    assert last["swap_counts"] == sys.swap_counts()
    assert last["costs"] == r.costs.as_dict()


def test_trace_properties_on_the_regression_scenarios():
    docs = [scenario(order=4), scenario(order=4, swapbacked=False),
            scenario(order=4, pinned=True, exclusive="NNNN" + "E" * 12,
                     ptes=[{"mm": "task", "addr": BASE, "page": 0, "nr": 16, "write": False}]),
            scenario(order=4, arch={"name": "arm64"}),
            scenario(order=3, arch={"name": "sparc64"})]
    for doc in docs:
        for mode in ("per-pte", "baseline", "patched"):
            _check_trace(run(doc, mode))


@settings(settings.get_profile("simcore-ci"), max_examples=60)
@given(scenario_docs(max_order=5))
def test_trace_properties_on_generated_scenarios(doc):
    sys = simcore.from_dict(doc)
    for mode in ("per-pte", "baseline", "patched"):
        _check_trace(simcore.run(sys, mode, trace=True))
