"""Player data from simcore traces: what the static step-through player shows.

Each preset is one simcore run with ``trace=True``; each trace event becomes a frame with the
PTE codes of every slot, the folio's E/N string, the highlighted slots and a few counters, in
the format `bookkit.player.player_html()` renders. Nothing here decides anything about the
unmap: it only re-shapes what the trace recorded.
"""

from __future__ import annotations

from typing import Any

import simcore

DEFAULT_COUNTERS = ("iterations", "ptep_get", "pte_reads", "pte_writes", "contpte_unfolds",
                    "tlb_ops", "barriers", "atomics", "dup_calls", "share_calls", "mapcount",
                    "refcount")


def frame_counters(state: dict[str, Any], names=DEFAULT_COUNTERS) -> dict[str, int]:
    """Counters of one snapshot; ``tlb_ops`` and ``atomics`` are sums of several counters."""
    c = state["costs"]
    derived = {
        "tlb_ops": c["tlb_deferred"] + c["tlb_flushes"],
        "atomics": c["atomic_mm"] + c["atomic_mapcount"] + c["atomic_refcount"]
        + c["atomic_swap"],
        "mapcount": state["mapcount"],
        "refcount": state["refcount"],
    }
    return {n: derived[n] if n in derived else c[n] for n in names}


def preset(key: str, label: str, scenario: dict[str, Any], mode: str = "patched",
           bugs=(), description: str = "", counters=DEFAULT_COUNTERS) -> dict[str, Any]:
    """Run one scenario with a trace and shape it as a player preset."""
    system = simcore.from_dict(scenario)
    result = simcore.run(system, mode, bugs=bugs, trace=True)
    slots = system.slots()
    columns = [{"mm": mm.name, "addr": hex(addr), "page": page} for mm, addr, page in slots]
    index = {(mm.name, addr): i for i, (mm, addr, _p) in enumerate(slots)}
    frames = []
    for ev in result.trace.events:
        frame = {"event": ev.kind, "fn": ev.fn, "text": ev.text, "ptes": ev.state["ptes"],
                 "pages": ev.state["pages"], "counters": frame_counters(ev.state, counters)}
        if ev.mm is not None and ev.addr is not None and (ev.mm, ev.addr) in index:
            start = index[(ev.mm, ev.addr)]
            frame["highlight"] = [start, start + (ev.nr or 1)]
        frames.append(frame)
    verdict = "ok" if result.ok else "failed"
    if result.violations:
        verdict += "; " + "; ".join(str(v) for v in result.violations)
    return {"key": key, "label": label, "description": description or f"mode {mode}: {verdict}",
            "columns": columns, "frames": frames, "mode": mode, "ok": result.ok,
            "scenario": scenario, "bugs": [bugs] if isinstance(bugs, str) else list(bugs),
            "violations": [v.code for v in result.violations]}


def player_data(player_id: str, title: str, presets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": player_id, "title": title, "presets": presets}
