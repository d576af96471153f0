"""The simcore side of the lab: its scenarios are valid simcore files, and the fields derived
from ``python -m simcore run --json`` give the signatures the mode detection relies on."""

from __future__ import annotations

import pytest

from kernlab import simcompare

ADDR = 0x7F0000000000


def _scn(swapbacked=True):
    return simcompare.scenario(
        "t", 4, {"task": [(ADDR, ADDR + 0x10000)]},
        [{"mm": "task", "addr": ADDR, "page": 0, "nr": 16, "write": True,
          "dirty": swapbacked, "young": swapbacked}],
        pfn=0x70000, swapbacked=swapbacked, dirty=swapbacked)


@pytest.mark.parametrize("mode,swapbacked,lazyfree", [("per-pte", 32, 16),
                                                      ("baseline", 32, 1),
                                                      ("patched", 2, 1)])
def test_rss_signature_per_mode(mode, swapbacked, lazyfree):
    for sb, want in ((True, swapbacked), (False, lazyfree)):
        s = _scn(sb)
        v = simcompare.SimView(simcompare.run(s, mode), s)
        assert v.rss_updates() == want


def test_fields_of_a_swap_out():
    s = _scn()
    v = simcompare.SimView(simcompare.run(s, "baseline"), s)
    assert v.ok and v.kinds("task") == ["swap"] * 16
    assert v.slots("task") == list(range(16))
    assert v.counter_deltas("task") == (-16, 16)


def test_unaligned_pfn_falls_back_and_bad_scenario_is_one_line():
    s = simcompare.scenario("t", 4, {"task": [(ADDR, ADDR + 0x10000)]},
                            [{"mm": "task", "addr": ADDR, "nr": 16}], pfn=3)
    assert int(s["folio"]["pfn"], 16) % 16 == 0
    bad = dict(s, ptes=[{"mm": "nobody", "addr": hex(ADDR), "nr": 16}])
    with pytest.raises(simcompare.SimcoreError) as e:
        simcompare.run(bad, "baseline")
    assert "\n" not in str(e.value)


def test_in_process_equals_the_command_line():
    s = _scn()
    a = simcompare.run(s, "baseline")
    b = simcompare.run(s, "baseline", subprocess_only=True)
    for key in ("ok", "batches", "ptes", "folio", "mms", "swap_counts", "costs"):
        assert a[key] == b[key], key
