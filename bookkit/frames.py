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


def _frame(state: dict[str, Any], event: str, fn: str, text: str, counters) -> dict[str, Any]:
    return {"event": event, "fn": fn, "text": text, "ptes": state["ptes"],
            "pages": state["pages"], "counters": frame_counters(state, counters)}


def preset(key: str, label: str, scenario: dict[str, Any], mode: str = "patched",
           bugs=(), description: str = "", counters=DEFAULT_COUNTERS,
           max_cells: int | None = None) -> dict[str, Any]:
    """Run one scenario with a trace and shape it as a player preset.

    With ``max_cells``, a run whose steps × PTE slots exceed it is shown as two frames, before
    and after (a snapshot of every slot at every step is what makes big traces slow); the
    preset's ``thinned`` then says how many steps were left out.
    """
    system = simcore.from_dict(scenario)
    slots = system.slots()
    columns = [{"mm": mm.name, "addr": hex(addr), "page": page} for mm, addr, page in slots]
    thinned = 0
    if max_cells is not None:
        result = simcore.run(system, mode, bugs=bugs, trace=True, snapshots=False)
        if len(result.trace) * max(1, len(slots)) > max_cells:
            thinned = len(result.trace)
    if thinned:
        frames = [_frame(system.snapshot(), "start", "try_to_unmap", "before the unmap",
                         counters),
                  _frame(result.system.snapshot(), "end", "try_to_unmap",
                         f"after the unmap: {thinned} steps × {len(slots)} PTEs are too many "
                         "to draw one by one here", counters)]
    else:
        result = simcore.run(system, mode, bugs=bugs, trace=True)
        index = {(mm.name, addr): i for i, (mm, addr, _p) in enumerate(slots)}
        frames = []
        for ev in result.trace.events:
            frame = _frame(ev.state, ev.kind, ev.fn, ev.text, counters)
            if ev.mm is not None and ev.addr is not None and (ev.mm, ev.addr) in index:
                start = index[(ev.mm, ev.addr)]
                frame["highlight"] = [start, start + (ev.nr or 1)]
            frames.append(frame)
    verdict = "ok" if result.ok else "failed"
    if result.violations:
        verdict += "; " + "; ".join(str(v) for v in result.violations)
    out = {"key": key, "label": label, "description": description or f"mode {mode}: {verdict}",
           "columns": columns, "frames": frames, "mode": mode, "ok": result.ok,
           "scenario": scenario, "bugs": [bugs] if isinstance(bugs, str) else list(bugs),
           "violations": [v.code for v in result.violations]}
    if thinned:
        out["thinned"] = thinned
    return out


def player_data(player_id: str, title: str, presets: list[dict[str, Any]],
                live: bool = False) -> dict[str, Any]:
    """A player's data; with ``live`` the website adds a scenario editor that runs simcore in
    the reader's browser (``book/_static/live.js``), starting from these presets."""
    data: dict[str, Any] = {"id": player_id, "title": title, "presets": presets}
    if live:
        from bookkit.liverun import editor_config

        data["live"] = editor_config()
    return data
