"""Chapter "PTE batching": what stops a batch — widget, players and tables (plumbing only).

Batches come from simcore's `folio_unmap_pte_batch()` / `folio_pte_batch_flags()`; this module
picks scenarios, runs them and shapes HTML. `stop_reasons()` only *labels* where a batch
simcore chose ended, with the rule `simcore.batch.batch_stop_rules()` names; it never decides
a batch.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

import simcore
from bookkit.chapters.background import (
    MODE_TEXT,
    MODES,
    ORDERS,
    Plain,
    counter_rows,
    counter_values,
    markdown_table,
    size_text,
    slot_codes,
    strip_html,
    verdict_html,
)
from bookkit.explorer import Explorer
from bookkit.frames import player_data, preset
from bookkit.player import player_html
from bookkit.scenarios import folio_scenario
from simcore import report
from simcore.batch import batch_stop_rules, unmap_batch_refused
from simcore.pte import PTE_NONE
from simcore.scenario import ScenarioError

CHAPTER = "batching"
KINDS = ("swap-backed", "lazyfree (clean)", "lazyfree, redirtied")
BUG_CHOICES = ("none", "writable-restore")

#: page numbers in the canonical presets (one 64 KiB folio of 16 pages)
VMA_END = 10
VMA_START = 3
READONLY_FROM = 6
HOLE = 5
DEVICE_EXCLUSIVE = 11
SHARED_FROM = 8       # restore-bug presets: pages from here on are shared, hence read-only
FAIL_PAGE = 10        # restore-bug presets: folio_dup_swap() fails (-ENOMEM) on this page


# -- scenarios --------------------------------------------------------------------------------
def _page(text: Any, name: str, lo: int, hi: int) -> int | None:
    """A page-number control: empty means 'none'; otherwise an integer in lo..hi."""
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        text = str(text).strip()
        if not text:
            return None
        try:
            value = int(text, 0)
        except ValueError:
            raise ScenarioError(f"{name}: expected a page number {lo}..{hi} or nothing, "
                                f"got {text!r}") from None
    if not lo <= value <= hi:
        raise ScenarioError(f"{name}: page {value} is outside {lo}..{hi}")
    return value


def scenario(order: int = 4, kind: str = "swap-backed", vma_start_page: Any = 0,
             vma_end_page: Any = None, straddle_pmd: bool = False, readonly_from: Any = None,
             hole: Any = None, fail_page: Any = None, exclusive: str | None = None,
             device_exclusive: int | None = None, name: str = "batching") -> dict[str, Any]:
    """One folio in one VMA, with the knobs that stop a batch (page numbers or empty)."""
    if order not in ORDERS:
        raise ScenarioError(f"folio order: anonymous mTHP orders are {ORDERS[0]}..{ORDERS[-1]}, "
                            f"not {order}")
    if kind not in KINDS:
        raise ScenarioError(f"folio kind: choose one of {', '.join(KINDS)}, not {kind!r}")
    nr = 1 << order
    start = _page(vma_start_page, "VMA starts at page", 0, nr - 1) or 0
    end = _page(vma_end_page, "VMA ends at page", 1, nr)
    if end is not None and end <= start:
        raise ScenarioError(f"VMA ends at page: {end} must be after the VMA start ({start})")
    readonly = _page(readonly_from, "read-only from page", 0, nr - 1)
    hole_page = _page(hole, "hole at page", 0, nr - 1)
    fail = _page(fail_page, "swap dup fails at page", 0, nr - 1)
    swapbacked = kind == "swap-backed"
    if fail is not None and not swapbacked:
        raise ScenarioError("swap dup fails at page: a lazyfree folio takes no swap counts "
                            "(leave it empty)")
    faults = [{"op": "dup_swap", "page": fail}] if fail is not None else []
    return folio_scenario(order=order, swapbacked=swapbacked,
                          dirty=kind != "lazyfree (clean)", exclusive=exclusive,
                          vma_start_page=start, vma_end_page=end, straddle_pmd=straddle_pmd,
                          readonly_from=readonly, hole=hole_page,
                          device_exclusive=device_exclusive, faults=faults, name=name)


# -- where did each batch stop? ------------------------------------------------------------------
#: simcore.batch.batch_stop_rules() codes, as the batch table's labels
STOP_LABELS = {"folio-end": "folio end", "vma-end": "VMA end",
               "pmd-boundary": "page-table (PMD) boundary",
               "not-present": "{kind} at page {page}",
               "write": "the write bit changes at page {page}",
               "soft-dirty": "the soft-dirty bit changes at page {page}",
               "other": "page {page}'s PTE differs in another respected bit"}
KIND_LABELS = {"none": "a none PTE", "device_exclusive": "a device-exclusive (non-present) entry",
               "swap": "a swap PTE", "present": "a present PTE"}


def stop_reasons(system, mode: str, batch: dict[str, Any]) -> list[str]:
    """Why a batch simcore chose ended where it did (simcore's rule codes, as labels)."""
    folio = system.folio.copy()
    folio.swapbacked = system.initial["folio"]["swapbacked"]      # (a run may change it)
    if unmap_batch_refused(folio, mode, system.arch.name):
        return ["this mode does not batch this folio (nr_pages = 1)"]
    mm, page = system.mms[batch["mm"]], batch["start_page"]
    base = next(b for v, b in system.mappings if v.mm is mm)
    ps = system.arch.page_size
    end_page = page + batch["nr"]
    initial = {a: pte for (name, a), pte in system.initial_ptes.items() if name == mm.name}
    codes = batch_stop_rules(folio, mm.find_vma(base + page * ps), base,
                             lambda a: initial.get(a, PTE_NONE), page, batch["nr"])
    kind = KIND_LABELS[initial.get(base + end_page * ps, PTE_NONE).kind]
    return [STOP_LABELS[c].format(page=end_page, kind=kind) for c in codes]


def batch_rows(result) -> list[dict[str, Any]]:
    """One row per loop iteration's unit: pages, length, sub-batches and why it stopped."""
    rows = []
    for b in report.batches(result):
        devx = b["kind"] == "device_exclusive"
        subs = " ".join(f"{s['start_page']}–{s['start_page'] + s['nr'] - 1}"
                        f"{'E' if s['exclusive'] else 'N'}" for s in b["sub_batches"])
        why = ("a device-exclusive entry: never batched (nr_pages = 1)"
               if devx else "; ".join(stop_reasons(result.system,
                                                                    result.mode, b)))
        rows.append({"mm": b["mm"], "start_page": b["start_page"], "nr": b["nr"],
                     "pages": (f"{b['start_page']}" if b["nr"] == 1 else
                               f"{b['start_page']}–{b['start_page'] + b['nr'] - 1}"),
                     "sub_batches": subs, "device_exclusive": devx,
                     "stopped_by": why})
    return rows


def batch_table(result, limit: int = 12) -> str:
    rows = batch_rows(result)
    cells = []
    for i, r in enumerate(rows[:limit], 1):
        cells.append(f"<tr><td style='padding:1px 8px'>{i}</td>"
                     f"<td style='padding:1px 8px'>{r['pages']}</td>"
                     f"<td style='padding:1px 8px;text-align:right'>{r['nr']}</td>"
                     f"<td style='padding:1px 8px'>{html.escape(r['stopped_by'])}</td></tr>")
    more = (f"<tr><td colspan='4' style='padding:1px 8px'>… and {len(rows) - limit} more "
            "batches like these</td></tr>" if len(rows) > limit else "")
    return ("<table style='border-collapse:collapse;margin:4px 0'><thead><tr>"
            "<th style='padding:1px 8px'>batch</th><th style='padding:1px 8px'>pages</th>"
            "<th style='padding:1px 8px'>PTEs</th><th style='padding:1px 8px'>stopped by</th>"
            f"</tr></thead><tbody>{''.join(cells)}{more}</tbody></table>")


def batch_marks(result) -> dict[int, str]:
    """Slot index -> batch number, for the 'before' strip."""
    slots = {(mm.name, page): i for i, (mm, _a, page) in enumerate(result.system.slots())}
    marks = {}
    for k, b in enumerate(report.batches(result), 1):
        for p in range(b["start_page"], b["start_page"] + b["nr"]):
            if (b["mm"], p) in slots:
                marks[slots[(b["mm"], p)]] = str(k)
    return marks


# -- the chapter's widget ----------------------------------------------------------------------
def view(values: dict[str, Any], results: dict[str, Any]) -> str:
    mode = values["mode"]
    r = results[mode]
    order = values["order"]
    bug = values.get("bug", "none")
    note = ""
    if bug != "none" and mode != "patched":
        note = ("<p style='margin:4px 0;color:#8a4b00'>The bug variant is applied in the "
                "patched mode only: choose mode patched to see it.</p>")
    elif bug != "none":
        note = (f"<p style='margin:4px 0;color:#8a4b00'>Bug-zoo variant "
                f"<code>{html.escape(bug)}</code>: {html.escape(simcore.BUGS[bug].what)}</p>")
    head = (f"<p style='margin:4px 0'><b>{html.escape(mode)}</b>: "
            f"{html.escape(MODE_TEXT[mode])}.<br>Order-{order} {html.escape(values['kind'])} "
            f"folio of {1 << order} pages ({size_text(order)}), x86_64. Numbers under the "
            "cells: the batch that cleared the PTE.</p>")
    strips = (strip_html("before", slot_codes(r.system, before=True), batch_marks(r))
              + strip_html("after", slot_codes(r.system)))
    return (head + note + strips + batch_table(r) + verdict_html(r)
            + counter_rows({mode: counter_values(r)}))


def explorer() -> Explorer:
    """The chapter's live widget: the batch stoppers, the folio kind, the mode, a bug variant."""
    style = {"description_width": "initial"}
    small = widgets.Layout(width="13em")

    def page_box(description: str, value: str = "", placeholder: str = "none") -> widgets.Text:
        return widgets.Text(value=value, placeholder=placeholder, description=description,
                            continuous_update=False, style=style, layout=small)

    controls = {
        "order": widgets.Dropdown(
            options=[(f"{1 << o} pages (order {o})", o) for o in ORDERS], value=4,
            description="folio", style=style),
        "kind": widgets.Dropdown(options=list(KINDS), value="swap-backed", description="kind",
                                 style=style),
        "vma_start_page": page_box("VMA starts at page", "0", "0"),
        "vma_end_page": page_box("VMA ends at page", "", "folio end"),
        "straddle_pmd": widgets.Checkbox(value=False, description="folio straddles a PMD "
                                         "boundary", style=style, indent=False),
        "readonly_from": page_box("read-only from page"),
        "hole": page_box("hole at page"),
        "fail_page": page_box("swap dup fails at page"),
        "mode": widgets.Dropdown(options=list(MODES), value="patched", description="mode",
                                 style=style),
        "bug": widgets.Dropdown(options=list(BUG_CHOICES), value="none",
                                description="bug variant", style=style),
    }

    def build(order, kind, vma_start_page, vma_end_page, straddle_pmd, readonly_from, hole,
              fail_page, mode, bug) -> dict[str, Any]:
        return scenario(order, kind, vma_start_page, vma_end_page, straddle_pmd,
                        readonly_from, hole, fail_page)

    return Explorer(controls, build, modes=("patched",), view=view, follow_mode=True)


# -- players and tables ----------------------------------------------------------------------
def _preset(key: str, label: str, sc: dict[str, Any], text: str, mode: str = "patched",
            bugs=()) -> dict[str, Any]:
    p = preset(key, label, sc, mode=mode, bugs=bugs)
    p["description"] = f"{text} ({p['description']})"
    return p


STOPPERS: dict[str, tuple[str, dict[str, Any]]] = {
    "folio-end": ("whole folio mapped", {}),
    "vma-end": (f"VMA ends at page {VMA_END}", {"vma_end_page": VMA_END}),
    "pmd": ("folio straddles a PMD boundary", {"straddle_pmd": True}),
    "mid-folio": (f"VMA starts at page {VMA_START}", {"vma_start_page": VMA_START}),
    "write": (f"read-only from page {READONLY_FROM}", {"readonly_from": READONLY_FROM}),
    "hole": (f"no PTE for page {HOLE}", {"hole": HOLE}),
    "device-exclusive": (f"device-exclusive entry at page {DEVICE_EXCLUSIVE}",
                         {"device_exclusive": DEVICE_EXCLUSIVE}),
}


def stopper_scenario(key: str) -> dict[str, Any]:
    label, knobs = STOPPERS[key]
    return scenario(4, name=label, **knobs)


def _player_of_stoppers(player_id: str, title: str, texts: dict[str, str]) -> str:
    """A player with one preset per `STOPPERS` key, each with its caption."""
    return player_html(player_data(player_id, title, [
        _preset(key, STOPPERS[key][0], stopper_scenario(key), text)
        for key, text in texts.items()]))


def limits_player() -> str:
    """Where a batch must stop: the folio end, the VMA, the page table; and where it starts."""
    return _player_of_stoppers("batching-limits", "Where a batch must stop (patched, x86_64)", {
        "folio-end": "One batch from the first PTE to the folio end.",
        "vma-end": "The VMA ends inside the folio: the batch stops at the VMA end.",
        "pmd": "The folio's middle is on a page-table boundary: two batches, one per PTE table.",
        "mid-folio": f"The first PTE the walk finds maps page {VMA_START}: the batch starts "
                     "there.",
    })


def contents_player() -> str:
    """What the PTEs themselves can stop: a write-bit change, a hole, a non-present entry."""
    return _player_of_stoppers("batching-contents",
                            "What stops a batch inside the folio (patched, x86_64)", {
        "write": "Writable and read-only PTEs never share a batch (FPB_RESPECT_WRITE).",
        "hole": "A none PTE ends the batch; the walk steps over it and starts a new one.",
        "device-exclusive": "A device-exclusive entry is not present: it ends the batch and is "
                            "unmapped on its own, with nr_pages = 1.",
    })


def restore_scenario(swapbacked: bool) -> dict[str, Any]:
    """Pages from SHARED_FROM on are not exclusive (shared after fork), hence read-only; the
    swap-backed variant's swap-count duplication fails on FAIL_PAGE, the lazyfree one was
    redirtied (dirty PTEs)."""
    nr = 16
    excl = "E" * SHARED_FROM + "N" * (nr - SHARED_FROM)
    if swapbacked:
        return scenario(4, "swap-backed", exclusive=excl, fail_page=FAIL_PAGE,
                        name="restore after a failed swap-count dup")
    return scenario(4, "lazyfree, redirtied", exclusive=excl, name="redirtied lazyfree folio")


def restore_player() -> str:
    """The restore-writable bug (fixed 2026-03-03) and why the anon batching relies on the fix."""
    lazy, sb = restore_scenario(False), restore_scenario(True)
    return player_html(player_data("batching-restore", "Restoring a failed batch: the "
                                   "writable-restore bug", [
        _preset("lazyfree-fixed", "lazyfree, redirtied (fixed)", lazy,
                "The batch stops where the write bit changes, so the restore template is "
                "right for every PTE it restores.", mode="baseline"),
        _preset("lazyfree-bug", "lazyfree, redirtied (the bug)", lazy,
                "Write ignored: one batch over writable and read-only PTEs, restored from the "
                "first PTE's writable template.", mode="baseline", bugs=("writable-restore",)),
        _preset("swapbacked-fixed", "swap-backed, dup fails (fixed)", sb,
                f"The series: the second batch fails at page {FAIL_PAGE} and is restored "
                "read-only, as it was."),
        _preset("swapbacked-bug", "swap-backed, dup fails (the bug)", sb,
                "The same failure with write ignored: the restored tail comes back writable.",
                bugs=("writable-restore",)),
    ]))


def explorer_twin() -> str:
    """The widget's static twin: a few combinations of the knobs."""
    start, end, hole, ro = 2, 14, 7, 20
    cut = scenario(4, vma_start_page=start, vma_end_page=end, hole=hole,
                   name="cut VMA with a hole")
    tail = scenario(5, straddle_pmd=True, readonly_from=ro,
                    name="straddling folio with a read-only tail")
    cut_label = f"VMA pages {start}–{end - 1}, hole at {hole}"
    return player_html(player_data("batching-explorer", "Combining the stoppers", [
        _preset("cut-patched", f"{cut_label} (patched)", cut,
                "Three stoppers in one folio: the VMA start, a hole and the VMA end."),
        _preset("cut-baseline", f"{cut_label} (baseline)", cut,
                "Before the series the same folio takes one iteration per PTE.",
                mode="baseline"),
        _preset("tail-patched", f"{size_text(5)} folio over a PMD boundary, read-only tail",
                tail, f"The page table cuts the folio at page {(1 << 5) // 2} and the write bit "
                      f"at page {ro}."),
    ], live=True))


def stopper_results(mode: str = "patched") -> dict[str, Any]:
    """simcore results of every canonical stopper scenario."""
    return {key: simcore.run(simcore.from_dict(stopper_scenario(key)), mode, trace=True,
                             snapshots=False) for key in STOPPERS}


def stopper_table(mode: str = "patched") -> str:
    """One row per stopper: the scenario, the batches simcore chose and what stopped each."""
    rows = []
    for key, r in stopper_results(mode).items():
        batches = "; ".join(f"pages {b['pages']} ({b['nr']}): {b['stopped_by']}"
                            for b in batch_rows(r))
        rows.append(f"<tr><td style='padding:2px 8px'>{html.escape(STOPPERS[key][0])}</td>"
                    f"<td style='padding:2px 8px'>{html.escape(batches)}</td></tr>")
    return ("<table style='border-collapse:collapse'><thead><tr>"
            "<th style='padding:2px 8px'>scenario (order-4 folio, patched)</th>"
            "<th style='padding:2px 8px'>batches: pages (PTEs): stopped by</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def stopper_markdown(results: dict[str, Any] | None = None) -> str:
    """The stopper table as Markdown (the theme styles it, light and dark)."""
    results = results or stopper_results()
    rows = []
    for key, r in results.items():
        for i, b in enumerate(batch_rows(r)):
            rows.append({"scenario": STOPPERS[key][0] if i == 0 else "",
                         "batch (pages)": b["pages"], "PTEs": b["nr"],
                         "stopped by": b["stopped_by"]})
    return markdown_table(rows, ["scenario", "batch (pages)", "PTEs", "stopped by"])


def pages_text(result) -> Plain:
    """'pages 0–5 and 6–15': the batches of a run, for the prose."""
    spans = [b["pages"] for b in batch_rows(result)]
    if len(spans) > 1:
        return Plain("pages " + ", ".join(spans[:-1]) + " and " + spans[-1])
    return Plain("pages " + spans[0]) if spans else Plain("no batch")
