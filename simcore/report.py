"""Reports of one run: the `--json` result object of DESIGN.md §3.5 and the readable text.

A thin view over `simcore.api.Result`: nothing here decides anything about unmapping. The
batches are read back from the trace (events ``batch`` and ``sub_batch``, plus the
``pte_clear`` of a device-exclusive entry, which is never batched), the final PTEs from the
slots of `System.slots()` that held something before the run, the counters from the system.

Run with ``trace=True`` when you want ``batches``: `run_report()` does that for you.
"""

from __future__ import annotations

from typing import Any

from simcore.api import Result, run
from simcore.mm import MM_ANONPAGES, MM_SWAPENTS
from simcore.pte import Pte, pte_code
from simcore.system import System

#: Legend of the PTE codes in text reports (see `simcore.pte.pte_code`).
PTE_LEGEND = ("W writable, R read-only, c CONT, X swap (exclusive), S swap, D device-exclusive, "
              "- none")


# -- the pieces ---------------------------------------------------------------------------------
def estimate_ns(costs, arch_name: str, nr_folios: int = 1,
                folio_bytes: int | None = None) -> float:
    """The cost model's estimate (`simcore.costmodel.estimate_ns`).

    ``folio_bytes`` sizes the model's fixed per-folio reclaim cost (its default is the
    calibration's 64 KiB).
    """
    from simcore.costmodel import estimate_ns as model

    return float(model(costs, arch_name, nr_folios, folio_bytes=folio_bytes))


def batches(result: Result) -> list[dict[str, Any]]:
    """The batches of a traced run, in order, each with its sub-batches.

    A batch is a run of PTEs cleared together (``folio_unmap_pte_batch()``; a device-exclusive
    entry is a batch of one, kind ``device_exclusive``). Its ``sub_batches`` are the units of
    swap work: the runs of equal PG_anon_exclusive that ``page_anon_exclusive_batch()`` cut in
    the patched path; on the per-page swap-backed path (``per-pte``, ``baseline``) the unit is
    the one page, reported as a sub-batch of 1. Lazyfree batches have no swap work and no
    sub-batches. ``ok`` is false for the batch whose swap or lazyfree work failed.
    """
    if result.trace is None:
        raise ValueError("batches() needs a traced run (simcore.run(..., trace=True))")
    sys = result.system
    initial = sys.initial or {}
    swapbacked = initial.get("folio", {}).get("swapbacked", sys.folio.swapbacked)
    init_excl = sys.initial_exclusive
    out: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None

    def close() -> None:
        if cur is None:
            return
        if swapbacked and not cur["sub_batches"] and cur["nr"] == 1:
            page = cur["start_page"]
            excl = bool(init_excl[page]) if init_excl is not None else False
            cur["sub_batches"].append({"start_page": page, "nr": 1, "exclusive": excl})
        out.append(cur)

    for e in result.trace.events:
        if e.kind == "batch" or (e.kind == "clear" and e.fn == "pte_clear"):
            close()
            kind = "present" if e.kind == "batch" else "device_exclusive"
            cur = {"mm": e.mm, "start_page": e.page, "nr": e.nr, "kind": kind, "ok": True,
                   "sub_batches": []}
        elif cur is not None and e.kind == "sub_batch":
            cur["sub_batches"].append({"start_page": e.page, "nr": e.nr,
                                       "exclusive": bool(e.data.get("exclusive"))})
        elif cur is not None and e.kind == "fail":
            cur["ok"] = False
        elif e.kind == "end":
            close()
            cur = None
    close()
    return out


def pte_entry(sys: System, mm_name: str, addr: int, page: int, pte: Pte) -> dict[str, Any]:
    """One final PTE as JSON: mm, addr (hex), kind, page, and the bits that apply to its kind."""
    folio = sys.folio
    d: dict[str, Any] = {"mm": mm_name, "addr": hex(addr), "kind": pte.kind, "page": page}
    if pte.kind in ("present", "device_exclusive") and folio.contains_pfn(pte.pfn):
        d["page"] = folio.page_index(pte.pfn)
    if pte.kind == "present":
        d.update(write=pte.write, dirty=pte.dirty, young=pte.young, soft_dirty=pte.soft_dirty,
                 uffd_wp=pte.uffd_wp)
        if sys.arch.cont_ptes:
            d["cont"] = pte.cont
    elif pte.kind == "swap":
        if folio.swap_offset >= 0:
            d["page"] = pte.swp_offset - folio.swap_offset
        d.update(swp_offset=pte.swp_offset, exclusive=pte.exclusive, soft_dirty=pte.soft_dirty,
                 uffd_wp=pte.uffd_wp)
    elif pte.kind == "device_exclusive":
        d.update(soft_dirty=pte.soft_dirty, uffd_wp=pte.uffd_wp)
    return d


def mapped_slots(sys: System) -> list[tuple[str, int, int]]:
    """(mm name, address, page) of every slot that held a mapping of the folio before the run:
    a present or device-exclusive entry of one of its pages, or a swap PTE naming its slot."""
    out = []
    for mm, addr, page in sys.slots():
        before = sys.initial_ptes.get((mm.name, addr))
        if before is not None and before.kind != "none":
            out.append((mm.name, addr, page))
    return out


def final_ptes(sys: System) -> list[dict[str, Any]]:
    """The ``ptes`` list: the final entry of each slot that mapped the folio."""
    return [pte_entry(sys, name, addr, page, sys.mms[name].pt.get(addr))
            for name, addr, page in mapped_slots(sys)]


def arch_info(sys: System) -> dict[str, Any]:
    a = sys.arch
    return {"name": a.name, "page_size": a.page_size, "bbml2": a.bbml2,
            "defer_flush": a.defer_flush, "adi": a.adi, "description": a.describe()}


# -- the result object --------------------------------------------------------------------------
def to_json(result: Result, name: str | None = None, trace: bool = False) -> dict[str, Any]:
    """The `--json` object of DESIGN.md §3.5 for one run (needs a traced `Result`).

    Keys: ok, mode, scenario, arch, bugs, batches, ptes, folio, mms, swap_counts, costs,
    estimate_ns (None when `simcore.costmodel` is not available), violations, faults_fired;
    with ``trace`` also the events.
    """
    sys = result.system
    f = sys.folio
    costs = result.costs
    out: dict[str, Any] = {
        "ok": bool(result.ok),
        "mode": result.mode,
        "scenario": name,
        "arch": arch_info(sys),
        "bugs": list(result.bugs),
        "batches": batches(result),
        "ptes": final_ptes(sys),
        "folio": {"mapcount": int(f.mapcount), "refcount": int(f.refcount), "dirty": bool(f.dirty),
                  "exclusive": f.exclusive_string(), "swapbacked": bool(f.swapbacked),
                  "pincount": int(f.pincount)},
        "mms": {n: {MM_ANONPAGES: int(mm.counters[MM_ANONPAGES]),
                    MM_SWAPENTS: int(mm.counters[MM_SWAPENTS])} for n, mm in sys.mms.items()},
        "swap_counts": sys.swap_counts(),
        "costs": costs.as_dict(),
        "estimate_ns": estimate_ns(costs, sys.arch.name, 1, f.nr_pages * sys.arch.page_size),
        "violations": [{"code": v.code, "message": v.message} for v in result.violations],
        "faults_fired": [dict(x) for x in sys.faults.fired],
    }
    caller = caller_info(result)
    if caller is not None:
        out["caller"] = caller
    if trace and result.trace is not None:
        out["trace"] = result.trace.as_list()
    return out


def caller_info(result: Result) -> dict[str, Any] | None:
    """``{"name", "reaches_unmap", "why"}`` when the scenario names MADV_PAGEOUT as its caller
    or when no caller would hand this folio to the unmap whole (`simcore.reach`)."""
    sys = result.system
    why = result.not_reached
    if sys.caller == "reclaim" and why is None:
        return None
    return {"name": sys.caller, "reaches_unmap": why is None, "why": why}


def run_report(system: System, mode: str = "patched", bugs=(), name: str | None = None,
               trace: bool = False, snapshots: bool | None = None) -> tuple[Result, dict[str, Any]]:
    """Run ``system`` traced in ``mode`` and return (result, its JSON object).

    With ``trace`` the object holds the events, each with the state after it unless
    ``snapshots`` is False (the text report prints the events only).
    """
    result = run(system, mode, bugs, trace=True, snapshots=trace if snapshots is None
                 else snapshots)
    return result, to_json(result, name, trace=trace)


# -- text ---------------------------------------------------------------------------------------
def _pages(start: int, nr: int) -> str:
    return f"{start}" if nr == 1 else f"{start}..{start + nr - 1}"


def _strips(sys: System) -> list[tuple[str, str, str]]:
    """Per mm: (label, PTE codes before the run, after it), slots in address order."""
    rows: dict[str, list[tuple[int, str, str]]] = {}
    for mm, addr, _page in sys.slots():
        before = pte_code(sys.initial_ptes.get((mm.name, addr), Pte()))
        rows.setdefault(mm.name, []).append((addr, before, pte_code(mm.pt.get(addr))))
    out = []
    for name, cells in rows.items():
        cells.sort()
        width = max(len(c) for _a, b, a in cells for c in (b, a))   # 2 with CONT ("Wc")
        out.append((f"{name} @{cells[0][0]:#x}",
                    "".join(b.ljust(width) for _a, b, _ in cells).rstrip(),
                    "".join(a.ljust(width) for _a, _, a in cells).rstrip()))
    return out


def format_batches(items: list[dict[str, Any]]) -> list[str]:
    lines = []
    for b in items:
        subs = " ".join(f"[{_pages(s['start_page'], s['nr'])} {'E' if s['exclusive'] else 'N'}]"
                        for s in b["sub_batches"])
        kind = " device-exclusive" if b["kind"] == "device_exclusive" else ""
        fail = "  FAILED" if not b["ok"] else ""
        lines.append(f"  {b['mm']:<8} pages {_pages(b['start_page'], b['nr']):<9} nr {b['nr']:<4}"
                     f"{kind}" + (f"  sub-batches {subs}" if subs else "") + fail)
    return lines


def format_text(result: Result, name: str | None = None, trace: bool = False) -> str:
    """The readable report of one traced run."""
    sys = result.system
    f = sys.folio
    init = sys.initial or {}
    init_folio = init.get("folio", {})
    lines = [
        f"scenario: {name or '(unnamed)'}",
        f"arch:     {sys.arch.describe()}",
        f"mode:     {result.mode}" + (f"   bugs: {', '.join(result.bugs)}" if result.bugs else ""),
        f"folio:    order {f.order} ({f.nr_pages} pages) at pfn {f.first_pfn:#x}, "
        f"{'swap-backed' if init_folio.get('swapbacked', f.swapbacked) else 'lazyfree'}, "
        f"exclusive {init_folio.get('exclusive', f.exclusive_string())}"
        + (", pinned" if init_folio.get("pincount") else ""),
        f"result:   try_to_unmap() returned {'true' if result.ok else 'false'}",
        "",
    ]
    caller = caller_info(result)
    if caller is not None and not caller["reaches_unmap"]:
        lines[-1:-1] = [f"caller:   {caller['name']} would not reach try_to_unmap(): "
                        f"{caller['why']}"]
    items = batches(result)
    lines.append(f"batches ({len(items)}):")
    lines += format_batches(items) or ["  (none)"]
    lines += ["", f"PTEs ({PTE_LEGEND}):"]
    for label, b, a in _strips(sys):
        lines.append(f"  {label:<24} before {b}")
        lines.append(f"  {'':<24} after  {a}")
    lines += [
        "",
        f"folio:    mapcount {f.mapcount}, refcount {f.refcount}, "
        f"dirty {'yes' if f.dirty else 'no'}, exclusive {f.exclusive_string()}"
        + ("" if f.swapbacked == init_folio.get("swapbacked", f.swapbacked)
           else f", swap-backed again: {'yes' if f.swapbacked else 'no'}"),
    ]
    for n, mm in sys.mms.items():
        lines.append(f"{'mm ' + n + ':':<9} MM_ANONPAGES {mm.counters[MM_ANONPAGES]}, "
                     f"MM_SWAPENTS {mm.counters[MM_SWAPENTS]}")
    if f.swap_offset >= 0:
        lines.append(f"swap:     counts {' '.join(str(c) for c in sys.swap_counts())}")
    costs = {k: v for k, v in result.costs.as_dict().items() if v}
    lines.append("costs:    " + ", ".join(f"{k} {v}" for k, v in costs.items()))
    est = estimate_ns(result.costs, sys.arch.name, 1, f.nr_pages * sys.arch.page_size)
    lines.append("estimate: " + (f"{est:,.0f} ns (simcore.costmodel)" if est is not None
                                 else "n/a (simcore.costmodel not available)"))
    if sys.faults.fired:
        lines.append("faults:   " + ", ".join(f"{x['op']} on page {x['page']}"
                                              for x in sys.faults.fired))
    lines.append("")
    if result.violations:
        lines.append(f"invariants: {len(result.violations)} violated")
        lines += [f"  {v}" for v in result.violations]
    else:
        lines.append("invariants: all hold")
    if trace and result.trace is not None:
        lines += ["", f"trace ({len(result.trace)} events):"]
        width = max(len(e.fn) for e in result.trace.events)
        for e in result.trace.events:
            lines.append(f"  {e.kind:<10} {e.fn:<{width}}  {e.mm or '':<8} {e.text}")
    return "\n".join(lines)


# -- comparing modes -----------------------------------------------------------------------------
#: Counters shown side by side by `format_compare`.
KEY_COUNTERS = ("iterations", "batches", "sub_batches", "ptep_get", "pte_reads", "pte_writes",
                "contpte_unfolds", "tlbi_unfold", "tlb_deferred", "tlb_flushes", "barriers",
                "dup_calls", "share_calls", "rmap_calls", "arch_unmap_one_calls")


def compare_json(results: dict[str, Result], name: str | None = None) -> dict[str, Any]:
    """Side-by-side object: one `to_json` per mode, and whether the final states are equal."""
    modes = {m: to_json(r, name) for m, r in results.items()}
    states = {m: r.system.final_state() for m, r in results.items()}
    names = list(results)
    equal = all(states[m] == states[names[0]] for m in names[1:])
    pairs = {f"{a}={b}": states[a] == states[b]
             for i, a in enumerate(names) for b in names[i + 1:]}
    return {"scenario": name, "modes": modes, "final_states_equal": equal,
            "final_states_equal_pairs": pairs, "ok": all(r.ok for r in results.values())}


def format_compare(results: dict[str, Result], name: str | None = None) -> str:
    """The modes in columns: result, batches, key counters, estimate, invariants."""
    obj = compare_json(results, name)
    names = list(results)
    first = next(iter(results.values())).system
    w = max(12, *(len(m) for m in names)) + 2
    lines = [f"scenario: {name or '(unnamed)'}", f"arch:     {first.arch.describe()}", ""]

    def row(label: str, values) -> None:
        lines.append(f"{label:<22}" + "".join(f"{str(v):>{w}}" for v in values))

    row("", names)
    row("try_to_unmap()", ["true" if obj["modes"][m]["ok"] else "false" for m in names])
    for k in KEY_COUNTERS:
        vals = [obj["modes"][m]["costs"][k] for m in names]
        if any(vals):
            row(k, vals)
    ests = [obj["modes"][m]["estimate_ns"] for m in names]
    row("estimate_ns", [f"{e:,.0f}" if e is not None else "n/a" for e in ests])
    row("violations", [len(obj["modes"][m]["violations"]) for m in names])
    lines.append("")
    for m in names:
        lines.append(f"{m} batches:")
        lines += format_batches(obj["modes"][m]["batches"]) or ["  (none)"]
    lines.append("")
    lines.append("final states: " + ("all equal" if obj["final_states_equal"] else "DIFFER ("
                 + ", ".join(f"{k} {'yes' if v else 'no'}"
                             for k, v in obj["final_states_equal_pairs"].items()) + ")"))
    return "\n".join(lines)
