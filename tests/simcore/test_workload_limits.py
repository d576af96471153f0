"""The workload's memory bound (issue 9): the estimate behind `MAX_MEMORY` tracks what a run
really allocates, and a size beyond it is refused before anything is built."""

from __future__ import annotations

import tracemalloc

import pytest

from simcore import workload


@pytest.mark.parametrize("size, folio", [("16M", "64K"), ("4M", "4K")])
def test_memory_estimate_tracks_what_a_run_allocates(size, folio):
    """Per PTE and per folio: 64 KiB folios are mostly PTEs, 4 KiB folios mostly folios."""
    w = workload.build(size, folio, "arm64")
    workload.run(w, "patched")                    # warm: imports and caches are not the run's
    tracemalloc.start()
    try:
        workload.run(w, "patched")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = workload.memory_estimate(w.nr_ptes, w.nr_folios)
    assert 0.8 * peak <= estimate <= 2 * peak, (peak, estimate)


def test_the_limit_is_checked_before_building():
    with pytest.raises(workload.WorkloadError) as e:
        workload.build("1T", "64K", "arm64")      # 64 GB: would not fit, and is not tried
    assert e.value.field == "size" and "the limit is 512 MiB" in e.value.problem
    most = workload.MAX_MEMORY // workload.memory_estimate(16, 1) * (64 << 10)
    assert workload.build(most, "64K", "arm64").size_bytes == most
    with pytest.raises(workload.WorkloadError):
        workload.build(most + (64 << 10), "64K", "arm64")


def test_old_style_error_messages_still_split_into_field_and_problem():
    e = workload.WorkloadError("size: 3M is not a multiple")
    assert (e.field, e.problem, str(e)) == ("size", "3M is not a multiple",
                                            "size: 3M is not a multiple")
