"""Chapter "Anon-exclusivity sub-batches": its scenarios, players, tables and live widget.

Plumbing only. Every number comes from a simcore run; this module chooses the scenarios (E/N
pattern, where the VMA starts, write bits, a pin) and shapes the results as HTML.

The E/N text gives one letter per page of the folio, so its length sets the folio's size
(4, 8, 16, … 512 letters). By default every PTE is read-only, as after ``mprotect(PROT_READ)``:
a batch respects the write bit and a private anonymous page without PG_anon_exclusive is never
mapped writable, so only read-only runs can mix E and N pages in one batch.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

import simcore
from bookkit import render
from bookkit.explorer import Explorer
from bookkit.frames import player_data, preset
from bookkit.scenarios import folio_scenario, order_of
from simcore import report
from simcore.scenario import ScenarioError

CHAPTER = "anon-exclusive"
MODES = ("baseline", "patched")
BUG_CHOICES = ("none", "exclusivity-from-head")
PLAYER_COUNTERS = ("iterations", "sub_batches", "share_calls", "barriers", "tlb_ops",
                   "mapcount", "refcount")
TABLE_COUNTERS = ("ok", "iterations", "sub_batches", "share_calls", "barriers", "violations")

#: Canonical patterns (the players and the table use them).
HALF = "EEEEEEEENNNNNNNN"
ALTERNATING = "EN" * 8
MID_FOLIO = "NNNNEEEEEEEENNNN"
MID_START = 4


def scenario(exclusive: str = HALF, vma_start: int = 0, writable: bool = False,
             pinned: bool = False, name: str = "anon-exclusive") -> dict[str, Any]:
    """One anon swap-backed folio in one VMA, from the widget's knobs.

    ``vma_start`` is the first page of the folio inside the VMA (the walk, and the first batch,
    start there); ``writable`` maps the E pages writable (the N pages are always read-only);
    ``pinned`` gives the folio a DMA pin before the unmap.
    """
    order = order_of(exclusive)
    nr = 1 << order
    if not 0 <= vma_start < nr:
        raise ScenarioError(f"vma_start: the VMA must start at a page of the folio, 0..{nr - 1}, "
                            f"not {vma_start}")
    return folio_scenario(order=order, exclusive=exclusive.strip().upper(),
                          vma_start_page=vma_start, readonly_from=None if writable else 0,
                          pinned=pinned, name=name)


def build(exclusive: str = HALF, vma_start: int = 0, writable: bool = False,
          pinned: bool = False, bug: str = "none") -> dict[str, Any]:
    """The Explorer's ``build``: the bug is applied by the Explorer (patched run only)."""
    return scenario(exclusive, vma_start, writable, pinned)


class Plain:
    """A value that glues as plain text: ``glue("x", Plain("a b"))`` shows ``a b``, no quotes."""

    def __init__(self, text: Any) -> None:
        self.text = str(text)

    def __repr__(self) -> str:
        return self.text


def _cell(value: Any) -> str:
    """Escape a cell; `backticked` parts become inline code, as in Markdown."""
    parts = str(value).split("`")
    return "".join(f"<code class='docutils literal notranslate'>{html.escape(p)}</code>"
                   if k % 2 else html.escape(p) for k, p in enumerate(parts))


def table(rows: list[dict[str, Any]], cols: list[str] | None = None) -> str:
    """Rows of dicts as an HTML table styled like the book's own tables (numbers right).

    The markup Sphinx writes for a Markdown table (class ``table`` inside the theme's
    scrollable container), so it looks the same on the site and needs no Markdown rendering
    of notebook outputs; ``dataframe`` keeps pydata-sphinx-theme from painting the output light
    in the dark theme. In Jupyter it is a plain table.
    """
    cols = cols or list(rows[0])
    num = {c: all(isinstance(r[c], int) for r in rows) for c in cols}
    head = "".join(f"<th class='head{' text-right' if num[c] else ''}'>{_cell(c)}</th>"
                   for c in cols)
    body = "".join("<tr>" + "".join(
        f"<td{' class=text-right style=text-align:right' if num[c] else ''}>{_cell(r[c])}</td>"
        for c in cols) + "</tr>" for r in rows)
    return (f"<div class='pst-scrollable-table-container'><table class='table dataframe'>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


# -- reading results ------------------------------------------------------------------------
def sub_batches(result) -> list[tuple[int, int, bool]]:
    """All sub-batches of a traced run as (first page, nr, exclusive), in order."""
    return [(s["start_page"], s["nr"], s["exclusive"])
            for b in report.batches(result) for s in b["sub_batches"]]


def swap_markers(result) -> str:
    """Per slot of the final state: X (swap PTE with the exclusive marker), S, W/R or -."""
    from simcore.pte import pte_code
    return "".join(pte_code(mm.pt.get(a))[0] for mm, a, _p in result.system.slots())


def summary(exclusive: str, vma_start: int = 0, writable: bool = False, pinned: bool = False,
            mode: str = "patched", bugs=()) -> dict[str, Any]:
    """Run one configuration and return what the chapter quotes from it."""
    system = simcore.from_dict(scenario(exclusive, vma_start, writable, pinned))
    r = simcore.run(system, mode, bugs=bugs, trace=True, snapshots=False)
    c = r.costs
    return {"ok": r.ok, "sub_batches": sub_batches(r), "nr_sub_batches": c.sub_batches,
            "barriers": c.barriers, "share_calls": c.share_calls, "iterations": c.iterations,
            "markers": swap_markers(r), "violations": r.violations, "result": r}


def runs_text(subs: list[tuple[int, int, bool]], limit: int | None = None) -> str:
    """Sub-batches as ``[first+nr E|N]``; with ``limit``, long lists are shortened."""
    parts = [f"[{p}+{n} {'E' if e else 'N'}]" for p, n, e in subs]
    if limit is not None and len(parts) > limit:
        sizes = {n for _p, n, _e in subs}
        if len(sizes) == 1:
            size = sizes.pop()
            return f"{len(parts)} × {size} page{'s' if size > 1 else ''}"
        return " ".join(parts[:2]) + f" … ({len(parts)})"
    return " ".join(parts) or "(none)"


def canonical_rows() -> list[dict[str, Any]]:
    """The chapter's table: each canonical scenario in baseline and patched."""
    cases = [("half exclusive", HALF, 0, ()), ("alternating", ALTERNATING, 0, ()),
             ("batch starts mid-folio", MID_FOLIO, MID_START, ()),
             ("mid-folio, exclusivity-from-head (bug)", MID_FOLIO, MID_START,
              ("exclusivity-from-head",))]
    rows = []
    for label, pattern, start, bugs in cases:
        base = summary(pattern, start, mode="baseline")
        pat = summary(pattern, start, mode="patched", bugs=bugs)
        rows.append({"scenario": label, "pages": pattern, "vma_start": start,
                     "baseline_barriers": base["barriers"], "patched_barriers": pat["barriers"],
                     "sub_batches": runs_text(pat["sub_batches"], limit=4),
                     "markers": pat["markers"],
                     "verdict": ", ".join(dict.fromkeys(v.code for v in pat["violations"]))
                     or "consistent"})
    return rows


def canonical_table() -> str:
    """The canonical scenarios as a table."""
    rows = [{"scenario": r["scenario"] + ("" if r["verdict"] == "consistent"
                                          else f" — checker: {r['verdict']}"),
             "pages": f"`{r['pages'][:r['vma_start']].lower()}{r['pages'][r['vma_start']:]}`",
             "barriers": f"{r['baseline_barriers']} → {r['patched_barriers']}",
             "sub-batches": f"`{r['sub_batches']}`", "swap PTEs": f"`{r['markers']}`"}
            for r in canonical_rows()]
    return table(rows)


# -- players --------------------------------------------------------------------------------
def _preset(key, label, pattern, start=0, mode="patched", bugs=(), description=""):
    """A player preset; ``description`` is a template filled from the run's own numbers."""
    sm = summary(pattern, start, mode=mode, bugs=bugs)
    facts = {"mode": mode, "iterations": sm["iterations"], "barriers": sm["barriers"],
             "n_subs": sm["nr_sub_batches"], "runs": runs_text(sm["sub_batches"], limit=4),
             "pairs": sm["share_calls"], "start": start, "nr": len(pattern),
             "codes": ", ".join(dict.fromkeys(v.code for v in sm["violations"])) or "nothing"}
    return preset(key, label, scenario(pattern, start), mode=mode, bugs=bugs,
                  description=description.format(**facts), counters=PLAYER_COUNTERS)


def half_player() -> dict[str, Any]:
    """The canonical scenario: a half-exclusive 64 KiB folio, before and after the series."""
    return player_data("anon-exclusive-half", "A 64 KiB folio, half exclusive, read-only", [
        _preset("baseline", "Before the series (one PTE per iteration)", HALF, mode="baseline",
                description="{mode}: {iterations} iterations; each exclusive page is shared on "
                            "its own ({pairs} share calls, {barriers} barriers)."),
        _preset("patched", "After the series (one batch, sub-batches)", HALF,
                description="{mode}: one batch of {nr} PTEs cut into {runs}; {pairs} share "
                            "call for the exclusive run, {barriers} barriers."),
    ])


def explorer_player() -> dict[str, Any]:
    """The live widget's static twin: its four canonical settings."""
    return player_data("anon-exclusive-explorer", "Sub-batches of equal exclusivity", [
        _preset("half", "half exclusive", HALF,
                description="{mode}: sub-batches {runs}; {barriers} barriers."),
        _preset("alternating", "alternating", ALTERNATING,
                description="{mode}: sub-batches {runs}; {pairs} share calls, {barriers} "
                            "barriers, as many as before the series."),
        _preset("mid", "batch starts mid-folio", MID_FOLIO, MID_START,
                description="{mode}: the VMA starts at page {start}, so the batch's first PTE "
                            "maps page {start}; sub-batches {runs}."),
        _preset("from-head", "exclusivity-from-head (bug)", MID_FOLIO, MID_START,
                bugs=("exclusivity-from-head",),
                description="bug zoo: flags read from page 0 on for PTEs that map pages "
                            "{start} on; sub-batches {runs}; the checker reports {codes}."),
    ], live=True)


# -- the live widget ------------------------------------------------------------------------
_CELL = ("display:inline-block;min-width:1.6em;text-align:center;margin:1px;padding:2px 0;"
         "font:12px monospace;")


def _page_ruler(exclusive: str, vma_start: int) -> str:
    """The folio's pages: E/N, pages before the VMA greyed."""
    cells = []
    for i, c in enumerate(exclusive.strip().upper()):
        inside = i >= vma_start
        bg = ("#1565c0" if c == "E" else "#ef6c00") if inside else "#9e9e9e"
        title = f"page {i}: {'PageAnonExclusive' if c == 'E' else 'not exclusive'}" + (
            "" if inside else " (outside the VMA)")
        cells.append(f"<span title='{title}' style='{_CELL}color:#fff;background:{bg}'>{c}</span>")
    return ("<div style='white-space:nowrap;overflow-x:auto'><span style='display:inline-block;"
            "width:4.5em;font:12px monospace'>pages</span>" + "".join(cells) + "</div>")


def _sub_batch_bar(result, nr_pages: int) -> str:
    """One cell per folio page: which sub-batch (numbered) covered it, E/N coloured."""
    cells = ["&nbsp;"] * nr_pages
    styles = ["background:transparent;color:inherit"] * nr_pages
    for k, (p, n, e) in enumerate(sub_batches(result)):
        for i in range(p, min(p + n, nr_pages)):
            cells[i] = str(k + 1) if n < 100 else "·"
            styles[i] = f"background:{'#1565c0' if e else '#ef6c00'};color:#fff" + (
                ";border-left:2px solid #000" if i == p else "")
    spans = "".join(f"<span style='{_CELL}{st}'>{c}</span>"
                    for c, st in zip(cells, styles, strict=True))
    return ("<div style='white-space:nowrap;overflow-x:auto'><span style='display:inline-block;"
            "width:4.5em;font:12px monospace'>units</span>" + spans + "</div>")


def pte_row(result, nr_pages: int, label: str = "PTEs") -> str:
    """The final PTE of every folio page's slot, aligned with the page ruler (blank = no slot)."""
    from simcore.pte import pte_code
    codes = {page: pte_code(mm.pt.get(a)) for mm, a, page in result.system.slots()}
    cells = []
    for i in range(nr_pages):
        code = codes.get(i)
        if code is None:
            cells.append(f"<span style='{_CELL}'>&nbsp;</span>")
            continue
        kind = code[0]
        cells.append(f"<span title='page {i}: {render.LABELS[kind]}' style='{_CELL}color:#fff;"
                     f"background:{render.COLOURS[kind]}'>{html.escape(code)}</span>")
    return ("<div style='white-space:nowrap;overflow-x:auto'><span style='display:inline-block;"
            f"width:4.5em;font:12px monospace'>{label}</span>" + "".join(cells) + "</div>")


def view(values: dict[str, Any], results: dict[str, Any]) -> str:
    exclusive = values["exclusive"].strip().upper()
    nr = len(exclusive)
    parts = [_page_ruler(exclusive, values["vma_start"])]
    for mode, r in results.items():
        c = r.costs
        subs = sub_batches(r)
        bug = values.get("bug", "none")
        title = mode + (f" + {bug}" if mode == "patched" and bug != "none" else "")
        verdict = "unmapped" if r.ok else "not unmapped (try_to_unmap failed)"
        parts.append(
            f"<div style='margin:8px 0 2px'><b>{html.escape(title)}</b>: {verdict}; "
            f"{c.iterations} iteration(s), {c.sub_batches} unit(s) of swap work "
            f"({'sub-batches' if mode == 'patched' else 'one page each'}), "
            f"{c.share_calls} share call(s), <b>{c.barriers} barrier(s)</b>.</div>")
        if mode == "patched":
            parts.append(_sub_batch_bar(r, nr))
            parts.append(f"<div style='font:12px monospace'>sub-batches: "
                         f"{html.escape(runs_text(subs))}</div>")
        parts.append(pte_row(r, nr))
        parts.append(render.violations_html(r))
    parts.append("<div style='font-size:90%;margin-top:4px'>PTE letters: W/R present, "
                 "X swap PTE with the exclusive marker, S swap PTE without it.</div>")
    parts.append(render.counters_table(results, TABLE_COUNTERS))
    return "".join(parts)


def controls() -> dict[str, widgets.Widget]:
    style = {"description_width": "initial"}
    return {
        "exclusive": widgets.Text(value=HALF, description="pages (E/N):", style=style,
                                  continuous_update=False,
                                  layout=widgets.Layout(width="26em")),
        "vma_start": widgets.BoundedIntText(value=0, min=0, max=511,
                                            description="VMA starts at page:", style=style,
                                            layout=widgets.Layout(width="13em")),
        "writable": widgets.Checkbox(value=False, description="E pages writable", style=style,
                                     indent=False),
        "pinned": widgets.Checkbox(value=False, description="folio pinned (GUP)", style=style,
                                   indent=False),
        "bug": widgets.Dropdown(options=BUG_CHOICES, value="none", description="bug zoo:",
                                style=style),
    }


def explorer() -> Explorer:
    """The chapter's live widget: E/N per page, VMA start, write bits, a pin, the bug."""
    return Explorer(controls(), build, modes=MODES, counters=TABLE_COUNTERS, view=view)
