"""The comparison logic on synthetic kernel observations (no kernel needed): it agrees when the
kernel did what simcore says, names the field when it did not, and detects the mode from
rss_stat counts. This is what makes the live tests able to fail."""

from __future__ import annotations

import dataclasses

import pytest

from kernlab import env, experiments

ADDR = 0x7F0000000000
N = 16


def _lab(root=True, mode="baseline"):
    e = dataclasses.replace(env.detect(), root=root)
    return experiments.Lab(e, None, mode)


def _out(after_kinds, offsets, anon_kb=(64, 0), swap_kb=(0, 64), swpout=1):
    before = [{"kind": "present", "pfn": 0x70000 + i, "off": None, "type": None,
               "uffd_wp": False} for i in range(N)]
    after = [{"kind": k, "pfn": None, "off": o, "type": 0, "uffd_wp": False}
             for k, o in zip(after_kinds, offsets, strict=True)]
    region = [{"vmas": [(ADDR, ADDR + N * 4096)], "anon_kb": anon_kb[0], "swap_kb": swap_kb[0]},
              {"vmas": [(ADDR, ADDR + N * 4096)], "anon_kb": anon_kb[1], "swap_kb": swap_kb[1]}]
    return {"addr": ADDR, "npages": N, "before": before, "after": after, "region": region,
            "mthp": {str(64 * 1024): {"swpout": swpout}}, "vmstat": {}}


def _compare(out, lab=None):
    o = experiments.Outcome("swapout-64K", "t")
    return experiments._compare_single(lab or _lab(), o, out, 64 * 1024, 1, "")[0]


def test_agrees_with_what_simcore_says():
    o = _compare(_out(["swap"] * N, list(range(512, 512 + N))))
    assert o.status == "agree", o.line()
    assert {f.name for f in o.fields} >= {"unmapped", "PTEs per folio", "swap slots per folio"}


@pytest.mark.parametrize("kinds,offsets,field", [
    (["swap"] * 15 + ["present"], list(range(512, 527)) + [None], "PTEs per folio"),
    (["swap"] * N, list(range(520, 520 + N)), "swap slots per folio"),      # not aligned
    (["swap"] * N, list(range(512, 512 + N))[::-1], "swap slots per folio"),
])
def test_disagreement_names_the_field(kinds, offsets, field):
    o = _compare(_out(kinds, offsets))
    assert o.status == "disagree"
    assert field in o.line() and o.line().startswith("swapout-64K: disagree: ")


def test_split_folio_disagrees():
    o = _compare(_out(["swap"] * N, list(range(512, 512 + N)), swpout=0))
    assert o.status == "disagree" and "mTHP swpout" in o.line()


def test_without_root_slots_are_not_compared():
    o = _compare(_out(["swap"] * N, [0] * N), _lab(root=False))
    assert o.status == "agree" and "swap slots per folio" not in {f.name for f in o.fields}


def _events(per_folio, nf=8):
    ev = []
    for _ in range(nf):
        ev += [("rss_stat", {"type": "MM_ANONPAGES"})] * (per_folio // 2 or per_folio)
        ev += [("rss_stat", {"type": "MM_SWAPENTS"})] * (per_folio // 2)
    return ev


@pytest.mark.parametrize("sb,lz,mode", [(32, 1, "baseline"), (2, 1, "patched"),
                                        (32, 16, "per-pte"), (7, 3, None)])
def test_mode_detection(monkeypatch, sb, lz, mode):
    outs = iter([{"addr": ADDR, "events": _events(sb)}, {"addr": ADDR, "events": _events(lz)}])
    monkeypatch.setattr(experiments, "_probe", lambda *a, **k: next(outs))
    lab = _lab(mode="baseline")
    monkeypatch.setattr(lab, "ready", lambda size: None)
    monkeypatch.setattr(lab, "tracer", lambda: "/nonexistent")
    o = experiments.exp_mode(lab)
    if mode is None:
        assert o.status == "disagree" and not lab.mode_detected
    else:
        assert o.status == "agree" and lab.mode == mode and lab.mode_detected


@pytest.mark.parametrize("name", ["fork", "mode", "tlb-one-cpu", "layout-pmd"])
def test_missing_requirement_is_a_skip_never_a_pass(name):
    lab = experiments.Lab(dataclasses.replace(env.detect(), swaps=[]), None)
    o = experiments.run_one(name, dict(experiments.plan(lab))[name])
    assert o.status == "skipped" and o.reason and o.line().startswith(f"{name}: skipped: ")
