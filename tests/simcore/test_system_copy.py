"""System.copy() is hand-written for speed; it must behave exactly like a deep copy."""

import copy
from pathlib import Path

import pytest

import simcore
from simcore.unmap import try_to_unmap

EXAMPLES = sorted(Path(simcore.__file__).with_name("examples").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("mode", simcore.MODES)
def test_copy_runs_like_deepcopy(path, mode):
    system = simcore.load(path)
    fast = system.copy()
    slow = copy.deepcopy(system)
    ok_fast = try_to_unmap(fast, mode)
    ok_slow = try_to_unmap(slow, mode)
    assert ok_fast == ok_slow
    assert fast.final_state() == slow.final_state()
    assert fast.costs.as_dict() == slow.costs.as_dict()
    assert simcore.check(fast, ok_fast) == simcore.check(slow, ok_slow)
    # the original is untouched by running the copy
    assert system.final_state() == system.initial
