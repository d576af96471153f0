"""Scenario dicts for the chapters, from a handful of knobs a reader turns.

Plumbing only: these functions write the JSON-shaped scenario of simcore's format
(``simcore.scenario/1``); simcore builds, validates and runs it.
"""

from __future__ import annotations

from typing import Any

from simcore.scenario import ScenarioError
from simcore.swap import refs_at_limit

BASE = 0x7F0000000000          # 1 TiB aligned: aligned to every PMD and CONT span
PFN = 1 << 20                  # aligned to every folio order the book uses
PAGE_SIZES = {"x86_64": 4096, "arm64": 4096, "sparc64": 8192}


def order_of(exclusive: str) -> int:
    """The folio order an E/N string (one PG_anon_exclusive letter per page) describes.

    4 … 512 letters, a power of two; anything else is a ScenarioError naming ``exclusive``.
    """
    letters = exclusive.strip().upper()
    n = len(letters)
    if n < 4 or n > 512 or n & (n - 1):
        raise ScenarioError(f"exclusive: give 4, 8, 16, 32, 64, 128, 256 or 512 letters E/N "
                            f"(one per page of the folio), not {n}")
    if set(letters) - {"E", "N"}:
        bad = sorted(set(letters) - {"E", "N"})[0]
        raise ScenarioError(f"exclusive: only the letters E and N, not {bad!r}")
    return n.bit_length() - 1


def folio_scenario(order: int = 4, arch: str = "x86_64", page_size: int | None = None,
                   bbml2: bool = False, exclusive: str | None = None, swapbacked: bool = True,
                   dirty: bool = True, pinned: bool = False, extra_refs: int = 0,
                   vma_start_page: int = 0, vma_end_page: int | None = None,
                   offset_pages: int = 0, straddle_pmd: bool = False,
                   readonly_from: int | None = None, hole: int | None = None,
                   device_exclusive: int | None = None, droppable: bool = False,
                   faults: list[dict[str, Any]] | None = None, fork: bool = False,
                   name: str = "scenario") -> dict[str, Any]:
    """One folio mapped in one VMA (two mms with ``fork``), as the chapters need it.

    ``offset_pages`` shifts the folio's virtual address off alignment (arm64 CONT blocks then
    cover it only partly); ``straddle_pmd`` puts its middle on a page-table boundary;
    ``vma_start_page`` / ``vma_end_page`` cut the VMA inside the folio; ``readonly_from`` makes
    the PTEs from that page on read-only; ``hole`` leaves one page unmapped;
    ``device_exclusive`` turns one page's PTE into a device-exclusive entry.
    """
    nr = 1 << order
    ps = page_size or PAGE_SIZES[arch]
    if not exclusive:
        exclusive = ("N" if fork else "E") * nr
    exclusive = exclusive.strip().upper()
    if len(exclusive) != nr or set(exclusive) - {"E", "N"}:
        raise ScenarioError(f"folio.exclusive: needs {nr} letters E or N (one per page of the "
                            f"order-{order} folio), got {exclusive!r}")
    pmd = (ps // 8) * ps
    folio_addr = BASE + offset_pages * ps
    if straddle_pmd:
        folio_addr = BASE + pmd - (nr // 2) * ps
    end_page = nr if vma_end_page is None else vma_end_page
    vma = {"start": hex(folio_addr + vma_start_page * ps),
           "end": hex(folio_addr + max(end_page, vma_start_page + 1) * ps)}
    if droppable:
        vma["droppable"] = True
    mm_names = ["parent", "child"] if fork else ["task"]
    ptes: list[dict[str, Any]] = []
    for mm in mm_names:
        for p in range(vma_start_page, end_page):
            if p == hole:
                continue
            run: dict[str, Any] = {"mm": mm, "addr": hex(folio_addr + p * ps), "page": p, "nr": 1}
            if p == device_exclusive:
                run["kind"] = "device_exclusive"
            else:
                writable = exclusive[p] == "E" and (readonly_from is None or p < readonly_from)
                run.update(write=writable, dirty=dirty, young=True)
            ptes.append(run)
    ptes = _merge_runs(ptes, ps)
    # folio_dup_swap() fails only on a slot at SWAP_MAP_MAX: other processes hold the rest
    refs = refs_at_limit(nr, faults) if swapbacked else None
    doc = {
        "schema": "simcore.scenario/1",
        "name": name,
        "arch": {"name": arch, "page_size": ps, **({"bbml2": True} if bbml2 else {})},
        "folio": {"order": order, "pfn": PFN, "swapbacked": swapbacked, "dirty": False,
                  "exclusive": exclusive, "pinned": pinned, "extra_refs": extra_refs},
        "mms": [{"name": mm, "vmas": [dict(vma)]} for mm in mm_names],
        "ptes": ptes,
        "faults": list(faults or []),
    }
    if refs:
        doc["folio"]["swap_refs_elsewhere"] = refs
    return doc


def _merge_runs(ptes: list[dict[str, Any]], ps: int) -> list[dict[str, Any]]:
    """Join single-page runs that continue each other with equal bits (shorter JSON)."""
    out: list[dict[str, Any]] = []
    for r in ptes:
        if out:
            last = out[-1]
            same = {k: v for k, v in last.items() if k not in ("addr", "page", "nr")} == \
                   {k: v for k, v in r.items() if k not in ("addr", "page", "nr")}
            if same and last["page"] + last["nr"] == r["page"] and \
                    int(last["addr"], 16) + last["nr"] * ps == int(r["addr"], 16):
                last["nr"] += 1
                continue
        out.append(dict(r))
    return out
