"""simcore.exclusive: page_anon_exclusive_batch() and the sub-batch loop (kernel-brief §3.4)."""

from __future__ import annotations

import numpy as np
import pytest

from simcore.exclusive import exclusive_sub_batches, page_anon_exclusive_batch


def flags(s: str) -> np.ndarray:
    return np.array([c == "E" for c in s], dtype=bool)


def test_brief_example():
    # §3.4 example: E,E,N,N,N,E -> runs (0,2,E),(2,3,N),(5,1,E)
    assert exclusive_sub_batches(flags("EENNNE"), 0, 6) == [(0, 2, True), (2, 3, False),
                                                            (5, 1, True)]


def test_helper_semantics():
    f = flags("EENNNE")
    # from start_idx 2 (expected N), up to 4 entries: N,N,N then E -> 3
    assert page_anon_exclusive_batch(f, 0, 2, 4, False) == 3
    # always >= 1 even if only one entry remains
    assert page_anon_exclusive_batch(f, 0, 5, 1, True) == 1
    # never more than max_len even if the run continues
    assert page_anon_exclusive_batch(flags("EEEEEE"), 0, 0, 4, True) == 4
    # the first entry is not compared (it defines `expected`): a run of 1 before a change
    assert page_anon_exclusive_batch(f, 0, 1, 5, True) == 1


def test_uniform_batches_are_one_run():
    assert exclusive_sub_batches(flags("E" * 16), 0, 16) == [(0, 16, True)]
    assert exclusive_sub_batches(flags("N" * 16), 0, 16) == [(0, 16, False)]
    assert exclusive_sub_batches(flags("E"), 0, 1) == [(0, 1, True)]


def test_alternating_flags_give_one_page_runs():
    runs = exclusive_sub_batches(flags("ENEN"), 0, 4)
    assert runs == [(0, 1, True), (1, 1, False), (2, 1, True), (3, 1, False)]


def test_indexed_from_the_batchs_first_page():
    # §3.4: first_page = page mapped by the batch's first PTE. Folio NNNNEEEENNNNEEEE, batch
    # of 8 starting at page 4 -> pages 4..7 E, 8..11 N: runs (0,4,E),(4,4,N) (batch-relative)
    f = flags("NNNNEEEENNNNEEEE")
    assert exclusive_sub_batches(f, 4, 8) == [(0, 4, True), (4, 4, False)]
    # the bug: indexing from the folio head reads pages 0..7 instead: (0,4,N),(4,4,E)
    assert exclusive_sub_batches(f, 0, 8) == [(0, 4, False), (4, 4, True)]


@pytest.mark.parametrize("pattern", ["EENNNE", "NNNNNNNN", "ENNNNNNE", "EEEENNNNEEEENNNN"])
def test_runs_partition_the_batch_in_address_order(pattern):
    f = flags(pattern)
    runs = exclusive_sub_batches(f, 0, len(pattern))
    assert sum(n for _, n, _ in runs) == len(pattern)
    idx = 0
    for s, n, e in runs:
        assert s == idx and n >= 1
        assert all(f[s:s + n] == e)                 # each run is uniform ...
        idx += n
    for (_, _, a), (_, _, b) in zip(runs, runs[1:], strict=False):
        assert a != b                               # ... and maximal
