"""The arm64 contpte chapter (book/contpte.md): its scenarios, live widget and players.

Plumbing only: scenarios are written in simcore's format, simcore derives the CONT bits
(`simcore.scenario.derive_cont`), runs the unmap and counts; this module picks the knobs and
shapes the counters for the page.

Knobs of `contpte_scenario()`:

* ``order`` — folio size (2**order base pages);
* ``offset_pages`` — the folio's virtual address is this many pages past a 1 TiB boundary; a
  CONT block needs virtual and physical alignment, so an offset that is not a multiple of
  CONT_PTES leaves the folio without any CONT block;
* ``granule`` — the arm64 base page size ("4K", "16K", "64K"); CONT_PTES is 16, 128 or 32;
* ``bbml2`` — the CPU has BBML2 without aborts: an unfold needs no TLB invalidation;
* ``split_at`` — a VMA boundary at this page of the folio (0: none), made after the block was
  folded by something that changes only the VMA flags (``madvise(MADV_DONTFORK)`` splits the
  VMA without touching the PTEs — INFERRED), so a CONT block can straddle two VMAs and a batch
  covers it only in part;
* ``dirty`` — the PTEs are dirty (written, as after the benchmark's memset); clean PTEs make
  `contpte_ptep_get()` scan its whole block looking for a dirty bit;
* ``arch`` — ``arm64`` or ``x86_64`` (x86 has no contiguous-PTE hint).
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

import simcore
from bookkit import render
from bookkit.explorer import Explorer
from bookkit.frames import player_data, preset
from bookkit.player import player_html
from bookkit.scenarios import BASE, PFN, folio_scenario
from simcore import costmodel
from simcore.arch import ARM64_CONT_PTES
from simcore.pte import pte_code
from simcore.scenario import ScenarioError

GRANULES = {"4K": 4096, "16K": 16384, "64K": 65536}
MODES = ("baseline", "patched")
#: the counters this chapter is about, in the order the tables show them
COUNTERS = ("iterations", "ptep_get", "pte_reads", "contpte_unfolds", "tlbi_unfold", "tlb_ops")
COUNTER_LABELS = {
    "iterations": "loop iterations",
    "ptep_get": "ptep_get() calls",
    "pte_reads": "raw PTE reads",
    "contpte_unfolds": "CONT blocks unfolded",
    "tlbi_unfold": "unfold TLBIs (break-before-make)",
    "tlb_ops": "TLB operations (queued or flushed)",
}
PLAYER_COUNTERS = ("iterations", "ptep_get", "pte_reads", "pte_writes", "contpte_unfolds",
                   "tlbi_unfold", "tlb_ops")


def contpte_scenario(order: int = 4, offset_pages: int = 0, granule: str = "4K",
                     bbml2: bool = False, split_at: int = 0, dirty: bool = True,
                     arch: str = "arm64", name: str = "contpte") -> dict[str, Any]:
    """A fully exclusive, swap-backed folio mapped by one task (see the module docstring)."""
    if granule not in GRANULES:
        raise ScenarioError(f"granule: choose one of {', '.join(GRANULES)}, not {granule!r}")
    if order < 0:
        raise ScenarioError(f"folio.order: must be 0 or more, not {order}")
    if offset_pages < 0:
        raise ScenarioError(f"offset_pages: must be 0 or more, not {offset_pages}")
    nr = 1 << order
    if not 0 <= split_at < nr:
        raise ScenarioError(f"split_at: a VMA boundary inside an order-{order} folio lies at "
                            f"page 1..{nr - 1} (0 = no split), not {split_at}")
    doc = folio_scenario(order=order, arch=arch, page_size=GRANULES[granule], bbml2=bbml2,
                         offset_pages=offset_pages, dirty=dirty, name=name)
    if split_at:
        doc = _split_vma(doc, split_at)
    return doc


def _split_vma(doc: dict[str, Any], split_at: int) -> dict[str, Any]:
    """Cut the folio's VMA at page ``split_at``, keeping the CONT bits simcore derived before."""
    system = simcore.from_dict(doc)               # derive_cont on the unsplit mapping
    ps = system.arch.page_size
    mm = system.mms["task"]
    vma = mm.vmas[0]
    cut = vma.start + split_at * ps
    runs: list[dict[str, Any]] = []
    template = doc["ptes"][0]
    for m, addr, page in system.slots():
        pte = m.pt.get(addr)
        key = (addr < cut, pte.cont)
        if runs and runs[-1]["_key"] == key:
            runs[-1]["nr"] += 1
            continue
        runs.append({"_key": key, "mm": "task", "addr": hex(addr), "page": page, "nr": 1,
                     "write": template["write"], "dirty": template["dirty"],
                     "young": template["young"], "cont": pte.cont})
    for r in runs:
        del r["_key"]
    out = dict(doc)
    out["mms"] = [{"name": "task", "vmas": [{"start": hex(vma.start), "end": hex(cut)},
                                            {"start": hex(cut), "end": hex(vma.end)}]}]
    out["ptes"] = runs
    return out


def cont_ptes(arch: str = "arm64", granule: str = "4K") -> int:
    """CONT_PTES of the profile (0 where there is no contiguous-PTE hint)."""
    return simcore.get_arch(arch, GRANULES[granule]).cont_ptes


def counters(result, names=COUNTERS) -> dict[str, int]:
    """The chapter's counters of one `simcore.Result`."""
    c = result.costs
    return {n: (c.tlb_ops if n == "tlb_ops" else getattr(c, n)) for n in names}


def compare(scenario: dict[str, Any], modes=MODES,
            names=COUNTERS + ("pte_writes",)) -> dict[str, dict[str, int]]:
    """Counters per mode for one scenario (no trace)."""
    system = simcore.from_dict(scenario)
    return {m: counters(simcore.run(system, m), names) for m in modes}


def cont_blocks(system) -> tuple[int, int]:
    """(CONT blocks, blocks the folio's slots touch) in the initial page tables."""
    cont = system.arch.cont_ptes
    if not cont:
        return 0, 0
    ps = system.arch.page_size
    span = cont * ps
    touched, folded = set(), set()
    for (_mm, addr), pte in system.initial_ptes.items():
        touched.add(addr // span)
        if pte.cont:
            folded.add(addr // span)
    return len(folded), len(touched)


# -- the live widget ----------------------------------------------------------------------------
def _initial_strip(system) -> str:
    """The page table before the unmap: CONT entries underlined (same cells as render)."""
    cells = []
    for _mm, addr, page in system.slots():
        code = pte_code(system.initial_ptes[("task", addr)])
        kind = code[0]
        cont = code.endswith("c")
        label = f"page {page} at {addr:#x}: {render.LABELS[kind]}{', CONT' if cont else ''}"
        style = ("display:inline-block;min-width:1.6em;text-align:center;margin:1px;"
                 f"padding:2px 0;color:#fff;background:{render.COLOURS[kind]};font:12px monospace;"
                 + ("border-bottom:3px solid #ffb300;" if cont else ""))
        cells.append(f'<span title="{html.escape(label)}" style="{style}">{html.escape(code)}'
                     "</span>")
    return ('<div style="white-space:nowrap;overflow-x:auto;max-width:100%">'
            + "".join(cells) + "</div>")


def describe(system) -> str:
    """One sentence on the geometry: folio size, CONT_PTES, how many blocks are CONT."""
    arch = system.arch
    nr = system.folio.nr_pages
    kib = nr * arch.page_size // 1024
    size = f"{kib // 1024} MiB" if kib >= 1024 and kib % 1024 == 0 else f"{kib} KiB"
    text = (f"order-{system.folio.order} folio: {nr} page(s) of {arch.page_size // 1024} KiB "
            f"= {size}; {arch.describe()}")
    if arch.cont_ptes:
        folded, touched = cont_blocks(system)
        text += (f". A CONT block is {arch.cont_ptes} PTEs "
                 f"({arch.cont_ptes * arch.page_size // 1024} KiB); "
                 f"{folded} of the {touched} block(s) the folio touches are CONT")
    if len(system.mappings) > 1:
        text += f"; the folio spans {len(system.mappings)} VMAs"
    return text + "."


def view(values: dict[str, Any], results: dict[str, Any]) -> str:
    """The widget's output: geometry, the PTEs before, batches per mode, counters side by side."""
    first = next(iter(results.values())).system
    parts = [f"<p style='margin:4px 0'>{html.escape(describe(first))}</p>",
             "<div style='font:12px sans-serif'>PTEs before the unmap "
             "(<code>Wc</code> = present, writable, CONT):</div>", _initial_strip(first)]
    for mode, r in results.items():
        verdict = "unmapped" if r.ok else "NOT unmapped"
        parts.append(f"<div style='margin:4px 0'><b>{html.escape(mode)}</b>: {verdict}; "
                     f"batches: {html.escape(render.batches_text(r))}</div>")
    head = "".join(f"<th style='padding:2px 8px;text-align:right'>{html.escape(m)}</th>"
                   for m in results)
    rows = []
    per_mode = {m: counters(r) for m, r in results.items()}
    for n in COUNTERS:
        cells = "".join(f"<td style='text-align:right;padding:2px 8px'>{per_mode[m][n]}</td>"
                        for m in results)
        rows.append(f"<tr><td style='padding:2px 8px'>{html.escape(COUNTER_LABELS[n])} "
                    f"(<code>{n}</code>)</td>{cells}</tr>")
    bad = [f"{m}: {v}" for m, r in results.items() for v in r.violations]
    if bad:
        rows.append("<tr><td colspan='3' style='color:#b71c1c'>"
                    + html.escape("; ".join(bad)) + "</td></tr>")
    parts.append("<table style='border-collapse:collapse;margin-top:6px'><thead><tr><th></th>"
                 f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return "".join(parts)


def controls() -> dict[str, widgets.Widget]:
    style = {"description_width": "initial"}
    return {
        "order": widgets.IntSlider(value=4, min=0, max=9, description="folio order",
                                   style=style),
        "offset_pages": widgets.IntSlider(value=0, min=0, max=64,
                                          description="offset (pages)", style=style),
        "granule": widgets.Dropdown(options=list(GRANULES), value="4K", description="granule",
                                    style=style),
        "bbml2": widgets.Checkbox(value=False, description="BBML2", indent=False),
        "split_at": widgets.IntSlider(value=0, min=0, max=511,
                                      description="VMA split at page (0: none)", style=style),
        "dirty": widgets.Checkbox(value=True, description="PTEs dirty", indent=False),
        "arch": widgets.Dropdown(options=["arm64", "x86_64"], value="arm64",
                                 description="arch", style=style),
    }


def explorer() -> Explorer:
    """The chapter's live widget: baseline vs patched counters for the scenario the knobs make."""
    return Explorer(controls(), contpte_scenario, modes=MODES, counters=COUNTERS, view=view)


# -- the players (static twins) -------------------------------------------------------------------
def _preset(key: str, label: str, mode: str, description: str, **knobs) -> dict[str, Any]:
    return preset(key, label, contpte_scenario(name=label, **knobs), mode=mode,
                  description=description, counters=PLAYER_COUNTERS)


def aligned_player() -> str:
    """The canonical scenario: an aligned 64 KiB folio on arm64 4K, before and after."""
    n = cont_ptes("arm64", "4K")
    title = "An aligned 64 KiB folio on arm64 (4K pages)"
    return player_html(player_data("contpte-aligned", title, [
        _preset("baseline", "before the series (baseline)", "baseline",
                f"One PTE per iteration: the first clear unfolds the CONT block ({n} clears, a "
                f"block TLBI, {n} writes), then {n} single-page TLB operations."),
        _preset("patched", "with the series (patched)", "patched",
                f"One batch of {n}: the block is covered completely, so nothing is unfolded; "
                "one TLB operation for 64 KiB."),
    ]))


def explorer_player() -> str:
    """The static twin of the live widget: the other scenarios worth comparing."""
    pages_16k = 64 * 1024 // GRANULES["16K"]
    return player_html(player_data("contpte-explorer", "Other contpte scenarios", [
        _preset("split-patched", "128 KiB folio, VMA split at page 8 (patched)", "patched",
                "The VMA ends after page 7, inside CONT block 0: the first batch unfolds that "
                "block (contpte_try_unfold_partial); block 1 is covered whole.",
                order=5, split_at=8),
        _preset("split-baseline", "128 KiB folio, VMA split at page 8 (baseline)", "baseline",
                "One PTE at a time: both blocks are unfolded, each by its first clear.",
                order=5, split_at=8),
        _preset("granule16k", "64 KiB folio, 16K granule (patched)", "patched",
                f"64 KiB is {pages_16k} PTEs of 16 KiB, fewer than a "
                f"{cont_ptes('arm64', '16K')}-PTE block: nothing is CONT.",
                order=pages_16k.bit_length() - 1, granule="16K"),
        _preset("offset", "64 KiB folio, 8 pages off alignment (patched)", "patched",
                "Virtual and physical addresses are not aligned alike: no CONT block, so "
                "batching saves what it saves on x86.", order=4, offset_pages=8),
    ], live=True))


def live():
    """`Live(explorer.widget, its static twin)`, as the chapter displays it."""
    from bookkit.live import Live
    ex = explorer()
    return ex, Live(ex.widget, explorer_player)


def folio_64k(arch: str = "arm64", **knobs) -> dict[str, Any]:
    """The benchmark's folio: 64 KiB, aligned, written (dirty)."""
    granule = knobs.pop("granule", "4K")
    order = (64 * 1024 // GRANULES[granule]).bit_length() - 1
    return contpte_scenario(order=order, granule=granule, arch=arch, **knobs)


#: the 64 KiB folio under the configurations the chapter compares: label -> knobs
CONFIGS = {
    "arm64 4K": {"arch": "arm64", "granule": "4K"},
    "arm64 4K, BBML2": {"arch": "arm64", "granule": "4K", "bbml2": True},
    "arm64 16K": {"arch": "arm64", "granule": "16K"},
    "arm64 64K": {"arch": "arm64", "granule": "64K"},
    "x86_64": {"arch": "x86_64", "granule": "4K"},
}
#: short column headings for the tables (the long labels are COUNTER_LABELS)
SHORT_LABELS = {
    "iterations": "iterations", "ptep_get": "`ptep_get()`", "pte_reads": "raw reads",
    "contpte_unfolds": "unfolds", "tlbi_unfold": "unfold TLBIs", "tlb_ops": "TLB ops",
    "pte_writes": "PTE writes",
}


def config_rows(configs=None) -> list[dict[str, Any]]:
    """One row per (configuration, mode) for the 64 KiB folio: the chapter's counters."""
    rows = []
    for label, knobs in (configs or CONFIGS).items():
        for mode, cnt in compare(folio_64k(**knobs)).items():
            rows.append({"configuration": label, "mode": mode, **cnt})
    return rows


def config_table(configs=None, names=("ptep_get", "pte_reads", "pte_writes", "contpte_unfolds",
                                      "tlbi_unfold", "tlb_ops")) -> str:
    """One row per configuration, each cell "baseline → patched" (a Markdown table)."""
    rows = []
    for label, knobs in (configs or CONFIGS).items():
        res = compare(folio_64k(**knobs))
        row = {"configuration": label}
        for n in names:
            row[n] = f"{res['baseline'][n]}\u202f→\u202f{res['patched'][n]}"  # no line break
        rows.append(row)
    return markdown_table(rows, ["configuration", *names], SHORT_LABELS)


def markdown_table(rows: list[dict[str, Any]], columns: list[str],
                   headers: dict[str, str] | None = None) -> str:
    """A Markdown table, the columns after the first right-aligned
    (`bookkit.render.markdown_table`)."""
    return render.markdown_table(rows, columns, headers, align_right=tuple(columns[1:]))


def counters_figure(configs=("arm64 4K", "x86_64"),
                    names=("ptep_get", "pte_reads", "pte_writes", "tlb_ops", "tlbi_unfold")):
    """Grouped bars: the counters of one 64 KiB folio, baseline vs patched, per configuration."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(configs), figsize=(3.7 * len(configs), 3.6), sharey=True,
                             facecolor="white")
    axes = np.atleast_1d(axes)
    x = np.arange(len(names))
    style = {"baseline": ("#b0413e", "//"), "patched": ("#2f6690", "")}
    for ax, label in zip(axes, configs, strict=True):
        ax.set_facecolor("white")
        res = compare(folio_64k(**CONFIGS[label]))
        for k, (mode, (colour, hatch)) in enumerate(style.items()):
            vals = [res[mode][n] for n in names]
            bars = ax.bar(x + (k - 0.5) * 0.38, vals, 0.38, label=mode, color=colour,
                          hatch=hatch, edgecolor="black", linewidth=0.5)
            ax.bar_label(bars, fontsize=9, padding=1)
        ax.set_title(label, fontsize=11)
        ax.set_xticks(x, [n.replace("_", "_\n", 1) if len(n) > 8 else n for n in names],
                      fontsize=9)
        ax.tick_params(axis="y", labelsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("count for one 64 KiB folio", fontsize=10)
    axes[0].legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


__all__ = [
    "ARM64_CONT_PTES", "BASE", "CONFIGS", "COUNTERS", "COUNTER_LABELS", "GRANULES", "MODES",
    "PFN", "SHORT_LABELS", "aligned_player", "compare", "config_rows", "config_table",
    "cont_blocks", "cont_ptes",
    "contpte_scenario", "controls", "counters", "counters_figure", "describe", "explorer",
    "explorer_player", "folio_64k", "live", "markdown_table", "view",
    "TLB_CASES", "tlb_policy_rows", "tlb_policy_table",
]


# -- round 2: the TLB policy per architecture -----------------------------------------------------
TLB_CASES = {
    "arm64 (always deferred)": {"arch": "arm64"},
    "x86, mm ran on another CPU (deferred)": {"arch": "x86_64"},
    "x86, one-CPU process (immediate)": {"arch": "x86_64", "defer_flush": False},
}


def tlb_policy_rows() -> list[dict[str, Any]]:
    """One 64 KiB folio: the TLB operations of baseline and patched under each policy
    (`simcore.arch.Arch.tlb_policy`): deferred adds or immediate range flushes."""
    rows = []
    for label, knobs in TLB_CASES.items():
        doc = folio_64k(knobs["arch"])
        if "defer_flush" in knobs:
            doc["arch"]["defer_flush"] = knobs["defer_flush"]
        system = simcore.from_dict(doc)
        row: dict[str, Any] = {"policy": label}
        for mode in ("baseline", "patched"):
            c = simcore.run(system, mode).costs
            row[f"{mode}: deferred"] = c.tlb_deferred
            row[f"{mode}: immediate"] = c.tlb_flushes
        rows.append(row)
    return rows


def tlb_policy_table() -> str:
    """`tlb_policy_rows()` as a Markdown table."""
    rows = tlb_policy_rows()
    return markdown_table(rows, list(rows[0]))


def arm64_saving_ms() -> dict[str, float]:
    """The cost model's arm64 saving for the cover-letter benchmark, in ms: TLB, unfold, total."""
    saved = costmodel.saving_breakdown("arm64", costmodel.default_calibration())
    return {"tlb": saved["tlb"] / 1e6, "contpte": saved["contpte"] / 1e6,
            "total": sum(saved.values()) / 1e6}
