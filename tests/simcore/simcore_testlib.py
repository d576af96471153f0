"""Small helpers for writing hand-checked scenarios in the simcore tests."""

from __future__ import annotations

from typing import Any

import simcore
from simcore.pte import pte_code

BASE = 0x7F0000000000          # PMD-aligned (and CONT-block-aligned) for every profile
PS = 4096


def scenario(order: int = 4, *, arch: dict | None = None, ptes: list | None = None,
             vmas: list | None = None, mms: list | None = None, faults: list | None = None,
             **folio: Any) -> dict:
    """A scenario dict with one mm "task" whose VMA exactly covers the folio at BASE.

    ``ptes`` defaults to one writable run over the whole folio; ``folio`` keywords go into the
    folio object (exclusive, swapbacked, dirty, pinned, extra_refs, pfn).
    """
    arch = arch or {"name": "x86_64"}
    ps = arch.get("page_size", 8192 if arch["name"] == "sparc64" else 4096)
    nr = 1 << order
    f = {"order": order, "pfn": 4096}
    f.update(folio)
    if mms is None:
        mms = [{"name": "task", "vmas": vmas or [{"start": BASE, "end": BASE + nr * ps}]}]
    if ptes is None:
        ptes = [{"mm": "task", "addr": BASE, "page": 0, "nr": nr}]
    doc = {"schema": "simcore.scenario/1", "name": "test", "arch": arch, "folio": f,
           "mms": mms, "ptes": ptes}
    if faults:
        doc["faults"] = faults
    return doc


def build(doc: dict) -> simcore.System:
    return simcore.from_dict(doc)


def run(doc_or_sys, mode: str = "patched", bugs=(), trace: bool = True) -> simcore.Result:
    sys = doc_or_sys if isinstance(doc_or_sys, simcore.System) else simcore.from_dict(doc_or_sys)
    return simcore.run(sys, mode, bugs=bugs, trace=trace)


def codes(sys: simcore.System, mm: str | None = None) -> str:
    """PTE codes of the folio's slots (pte_code: W R D X S -, c for CONT) as one string."""
    return "".join(pte_code(m.pt.get(a)) for m, a, _ in sys.slots()
                   if mm is None or m.name == mm)


def violation_codes(result: simcore.Result) -> set[str]:
    return {v.code for v in result.violations}


def batches(result: simcore.Result) -> list[tuple[str, int, int]]:
    """(mm, first page, nr) of every batch the trace recorded ('batch' events)."""
    return [(e.mm, e.page, e.nr) for e in result.trace.of_kind("batch")]


def sub_batches(result: simcore.Result) -> list[tuple[int, int, bool]]:
    """(first page, nr, exclusive) of every sub-batch the patched worker formed."""
    return [(e.page, e.nr, e.data["exclusive"]) for e in result.trace.of_kind("sub_batch")]
