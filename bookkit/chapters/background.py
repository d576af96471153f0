"""Chapter "Background": the live widget, its players and tables (plumbing only).

The chapter steps through `try_to_unmap_one()` (mm/rmap.c) as it was before the series: one
PTE per loop iteration for an anonymous swap-backed folio, a whole batch for a lazyfree one
(Barry Song, 2025). Everything shown comes from simcore runs; this module only picks the
scenarios and shapes the HTML.

Also home of the small HTML views the next chapters reuse: `strip_html`, `counter_rows` and
`batch_summary`. The widget runs only the mode its ``mode`` control selects
(`Explorer(..., follow_mode=True)`).
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

import simcore
from bookkit import render
from bookkit.explorer import Explorer
from bookkit.frames import frame_counters, player_data, preset
from bookkit.player import player_html
from bookkit.scenarios import PAGE_SIZES, folio_scenario
from simcore import report
from simcore.pte import pte_code
from simcore.scenario import ScenarioError

CHAPTER = "background"
ARCHES = ("x86_64", "arm64", "sparc64")
MODES = ("per-pte", "baseline", "patched")
KINDS = ("swap-backed", "lazyfree")
ORDERS = tuple(range(2, 10))          # anonymous mTHP orders: 2 .. PMD_ORDER (4K pages)

MODE_TEXT = {
    "per-pte": "kernels before 2025: every folio one PTE per loop iteration",
    "baseline": "the kernel just before the series: lazyfree folios batched (2025), "
                "anon swap-backed folios one PTE at a time",
    "patched": "with the series (v4 12/12): anon swap-backed folios batched too "
               "(except on sparc64)",
}

#: counters the chapter's views and tables show, in this order
VIEW_COUNTERS = ("iterations", "batches", "ptep_get", "pte_writes", "tlb_ops", "barriers",
                 "atomics", "dup_calls", "share_calls", "contpte_unfolds")


# -- scenarios --------------------------------------------------------------------------------
def size_text(order: int, page_size: int = 4096) -> str:
    """'64 KiB' for an order-4 folio of 4 KiB pages."""
    kib = (page_size << order) // 1024
    return f"{kib // 1024} MiB" if kib >= 1024 else f"{kib} KiB"


def scenario(order: int = 4, kind: str = "swap-backed", arch: str = "x86_64",
             name: str | None = None) -> dict[str, Any]:
    """One anonymous folio of ``order`` fully mapped by one task, ready for reclaim.

    A swap-backed folio has dirty PTEs (it was written, as the cover letter's memset does); a
    lazyfree folio (MADV_FREE) is clean, so reclaim may drop it.
    """
    if order not in ORDERS:
        raise ScenarioError(f"folio order: anonymous mTHP orders are {ORDERS[0]}..{ORDERS[-1]}, "
                            f"not {order}")
    if kind not in KINDS:
        raise ScenarioError(f"folio kind: choose {' or '.join(KINDS)}, not {kind!r}")
    if arch not in ARCHES:
        raise ScenarioError(f"arch: choose one of {', '.join(ARCHES)}, not {arch!r}")
    swapbacked = kind == "swap-backed"
    return folio_scenario(order=order, arch=arch, swapbacked=swapbacked, dirty=swapbacked,
                          name=name or f"{size_text(order, PAGE_SIZES[arch])} {kind} folio "
                                       f"on {arch}")


# -- a widget that runs only the chosen mode -----------------------------------------------------
# -- small HTML views ----------------------------------------------------------------------------
def slot_codes(system, before: bool = False) -> list[tuple[str, int, str]]:
    """(mm name, folio page, PTE code) per slot, now or as it was before the run."""
    out = []
    for mm, addr, page in system.slots():
        pte = system.initial_ptes.get((mm.name, addr)) if before else mm.pt.get(addr)
        out.append((mm.name, page, pte_code(pte) if pte is not None else "-"))
    return out


def strip_html(label: str, codes: list[tuple[str, int, str]],
               marks: dict[int, str] | None = None) -> str:
    """One row of coloured PTE cells per mm; ``marks`` puts a small label under some slots."""
    rows: dict[str, list[str]] = {}
    for i, (mm, page, code) in enumerate(codes):
        kind = code[0]
        title = f"page {page}: {render.LABELS[kind]}{', CONT' if code.endswith('c') else ''}"
        style = ("display:inline-block;min-width:1.7em;text-align:center;margin:1px;"
                 f"padding:2px 0;color:#fff;background:{render.COLOURS[kind]};"
                 "font:12px monospace;vertical-align:top;"
                 + ("border-bottom:3px solid #ffb300;" if code.endswith("c") else ""))
        mark = ""
        if marks and i in marks:
            mark = (f"<br><span style='font-size:10px;color:#000;background:#fff'>"
                    f"{html.escape(marks[i])}</span>")
        rows.setdefault(mm, []).append(f'<span title="{html.escape(title)}" style="{style}">'
                                       f"{html.escape(code)}{mark}</span>")
    out = []
    for mm, cells in rows.items():
        out.append("<div style='white-space:nowrap;overflow-x:auto'>"
                   "<span style='display:inline-block;width:9em;font:12px monospace'>"
                   f"{html.escape(label)} {html.escape(mm)}</span>{''.join(cells)}</div>")
    return "".join(out)


def counter_values(result) -> dict[str, int]:
    """The chapter's counters for one simcore result (same derivations as the players)."""
    state = {"costs": result.costs.as_dict(), "mapcount": result.system.folio.mapcount,
             "refcount": result.system.folio.refcount}
    names = [n for n in VIEW_COUNTERS if n not in ("tlb_ops", "atomics")]
    values = frame_counters(state, ("tlb_ops", "atomics"))
    values.update({n: state["costs"][n] for n in names})
    return {n: values[n] for n in VIEW_COUNTERS}


def counter_rows(columns: dict[str, dict[str, int]]) -> str:
    """A table: one row per counter, one column per named run."""
    head = "".join(f"<th style='padding:2px 8px'>{html.escape(k)}</th>" for k in columns)
    rows = []
    for name in VIEW_COUNTERS:
        cells = "".join(f"<td style='text-align:right;padding:2px 8px'>{c[name]}</td>"
                        for c in columns.values())
        rows.append(f"<tr><td style='padding:2px 8px'><code>{name}</code></td>{cells}</tr>")
    return ("<table style='border-collapse:collapse'><thead><tr><th></th>"
            f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def batch_summary(result) -> str:
    """'16 × 1 PTE' or '1 × 16 PTEs': the batch lengths of a run, run-length encoded."""
    sizes = [b["nr"] for b in report.batches(result)]
    if not sizes:
        return "no batch"
    parts: list[list[int]] = []
    for n in sizes:
        if parts and parts[-1][0] == n:
            parts[-1][1] += 1
        else:
            parts.append([n, 1])
    return ", then ".join(f"{count} × {n} PTE{'s' if n > 1 else ''}" for n, count in parts)


def first_iteration_calls(result) -> list[str]:
    """Kernel functions of the loop's first iteration, in order, from the trace."""
    calls: list[str] = []
    walks = 0
    for ev in result.trace.events:
        if ev.kind == "walk":
            walks += 1
            if walks == 2:
                break
        if walks == 1 and ev.kind not in ("skip", "end") and (not calls or calls[-1] != ev.fn):
            calls.append(ev.fn)
    return calls


def verdict_html(result) -> str:
    text = ("try_to_unmap() succeeded: the folio is unmapped." if result.ok else
            "try_to_unmap() failed: the folio stays mapped (a valid outcome).")
    out = f"<p style='margin:4px 0'>{html.escape(text)}</p>"
    return out + render.violations_html(result)


# -- the chapter's widget ----------------------------------------------------------------------
def view(values: dict[str, Any], results: dict[str, Any]) -> str:
    mode = values["mode"]
    r = results[mode]
    arch = r.system.arch
    order = values["order"]
    head = (f"<p style='margin:4px 0'><b>{html.escape(mode)}</b>: "
            f"{html.escape(MODE_TEXT[mode])}.<br>{html.escape(arch.describe())}; order-{order} "
            f"{html.escape(values['kind'])} folio = {1 << order} pages "
            f"({size_text(order, arch.page_size)}).</p>")
    strips = (strip_html("before", slot_codes(r.system, before=True))
              + strip_html("after", slot_codes(r.system)))
    calls = " → ".join(f"<code>{html.escape(c)}</code>" for c in first_iteration_calls(r))
    loop = (f"<p style='margin:4px 0'>Loop: {r.costs.iterations} iteration(s); batches: "
            f"{html.escape(batch_summary(r))}.<br>First iteration: {calls}</p>")
    return (head + strips + loop + verdict_html(r)
            + counter_rows({mode: counter_values(r)}))


def explorer() -> Explorer:
    """The chapter's live widget: folio order, swap-backed vs lazyfree, mode, arch."""
    style = {"description_width": "initial"}
    controls = {
        "order": widgets.Dropdown(
            options=[(f"{1 << o} pages (order {o})", o) for o in ORDERS], value=4,
            description="folio", style=style),
        "kind": widgets.ToggleButtons(options=list(KINDS), value="swap-backed",
                                      description="kind", style=style),
        "mode": widgets.Dropdown(options=list(MODES), value="baseline", description="mode",
                                 style=style),
        "arch": widgets.Dropdown(options=list(ARCHES), value="x86_64", description="arch",
                                 style=style),
    }

    def build(order: int, kind: str, mode: str, arch: str) -> dict[str, Any]:
        return scenario(order, kind, arch)

    return Explorer(controls, build, modes=("baseline",), view=view, follow_mode=True)


# -- players and tables ----------------------------------------------------------------------
def _preset(key: str, label: str, sc: dict[str, Any], mode: str, text: str,
            bugs=()) -> dict[str, Any]:
    p = preset(key, label, sc, mode=mode, bugs=bugs)
    p["description"] = f"{text} ({p['description']})"
    return p


def baseline_player() -> str:
    """Step through `try_to_unmap_one()` before the series: swap-backed and lazyfree folios."""
    sb = scenario(4, "swap-backed")
    lazy = scenario(4, "lazyfree")
    nr = 1 << 4
    system = simcore.from_dict(sb)
    before = system.folio.exclusive_string()
    after = simcore.run(system, "baseline").system.folio.exclusive_string()
    title = f"try_to_unmap_one() before the series, on a {size_text(4)} folio (x86_64)"
    return player_html(player_data("background-before", title, [
        _preset("swapbacked-baseline", "swap-backed folio, baseline", sb, "baseline",
                f"One PTE per loop iteration: every step of the swap path runs {nr} times. "
                f"The folio's pages start as {before} and end as {after}: each share clears "
                "one page's flag, and its swap PTE keeps the exclusive marker instead."),
        _preset("lazyfree-per-pte", "lazyfree folio, before 2025", lazy, "per-pte",
                "A clean MADV_FREE folio, unmapped one PTE per iteration as before Barry "
                "Song's 2025 batching."),
        _preset("lazyfree-baseline", "lazyfree folio, baseline", lazy, "baseline",
                f"Barry Song's 2025 batching: one batch clears all {nr} PTEs and the folio is "
                "discarded."),
    ]))


def explorer_twin() -> str:
    """The widget's static twin: a few points of its space, each a step-through."""
    return player_html(player_data("background-explorer", "Other folios, modes and "
                                   "architectures", [
        _preset("x86-patched", f"{size_text(4)} swap-backed, x86_64, patched", scenario(4),
                "patched",
                "A preview of the series: one batch for the whole folio."),
        _preset("arm64-baseline", f"{size_text(4)} swap-backed, arm64, baseline",
                scenario(4, arch="arm64"), "baseline",
                "The PTEs form one CONT block; the first single-PTE clear unfolds it."),
        _preset("sparc64-patched", f"{size_text(2, 8192)} swap-backed, sparc64, patched",
                scenario(2, arch="sparc64"), "patched",
                "sparc64 keeps anon swap-backed folios at one PTE even with the series."),
        _preset("lazyfree-order2", f"{size_text(2)} lazyfree, x86_64, per-pte",
                scenario(2, "lazyfree"), "per-pte", "The smallest anonymous mTHP."),
    ], live=True))


def mode_counters(order: int = 4, kind: str = "swap-backed",
                  arch: str = "x86_64") -> dict[str, dict[str, int]]:
    """Counters of the three modes for one canonical folio (for the chapter's table)."""
    system = simcore.from_dict(scenario(order, kind, arch))
    return {m: counter_values(simcore.run(system, m, trace=True, snapshots=False))
            for m in MODES}


def mode_table(order: int = 4, kind: str = "swap-backed", arch: str = "x86_64") -> str:
    return counter_rows(mode_counters(order, kind, arch))


def counter_parts(order: int = 4, kind: str = "swap-backed", arch: str = "x86_64",
                  mode: str = "baseline") -> dict[str, int]:
    """What the chapter's first counters are made of, for one run (every number from simcore).

    ``ptep_get`` splits into the rmap walk's reads (`page_vma_mapped_walk()` / `check_pte()`)
    and `try_to_unmap_one()`'s own read, one per loop iteration; ``atomics`` is the sum of the
    four atomic counters (`counter_values`, as the players count it); the refcount left after
    a complete unmap is the swap cache's (one per page) plus the reference of the reclaimer
    that isolated the folio.
    """
    system = simcore.from_dict(scenario(order, kind, arch))
    result = simcore.run(system, mode)
    c, folio = result.costs.as_dict(), result.system.folio
    cache = folio.nr_pages if folio.swapcache else 0
    return {"nr": folio.nr_pages, "iterations": c["iterations"], "ptep_get": c["ptep_get"],
            "own_reads": c["iterations"], "walk_reads": c["ptep_get"] - c["iterations"],
            "pte_writes": c["pte_writes"], "atomic_mm": c["atomic_mm"],
            "atomic_mapcount": c["atomic_mapcount"], "atomic_refcount": c["atomic_refcount"],
            "atomic_swap": c["atomic_swap"], "atomics": counter_values(result)["atomics"],
            "refcount": folio.refcount, "mapcount": folio.mapcount, "swapcache_refs": cache,
            "other_refs": folio.refcount - cache}


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A Markdown table, every column left-aligned (`bookkit.render.markdown_table`)."""
    return render.markdown_table(rows, columns)


def mode_markdown(order: int = 4, kind: str = "swap-backed", arch: str = "x86_64") -> str:
    """The three modes side by side for one folio, as a Markdown table (zero rows left out)."""
    counters = mode_counters(order, kind, arch)
    rows = [{"counter": f"`{name}`", **{m: counters[m][name] for m in MODES}}
            for name in VIEW_COUNTERS if any(counters[m][name] for m in MODES)]
    return markdown_table(rows, ["counter", *MODES])


def order_rows(page_size: int = 4096) -> list[dict[str, Any]]:
    """Anonymous mTHP sizes: order, pages, bytes."""
    return [{"order": o, "pages": 1 << o, "size": size_text(o, page_size),
             "sysfs directory": f"hugepages-{(page_size << o) // 1024}kB"} for o in ORDERS]


class Plain(str):
    """A string that glues as itself ({glue:text} shows text/plain, which for str is a repr)."""

    def __repr__(self) -> str:
        return str(self)
