"""Chapter "sparc64 and arch_unmap_one()": its scenarios, players, tables and live widget.

Plumbing only: the arch, folio kind and ADI switch go into a scenario dict; simcore decides
what is batched and how many ADI tag saves happen; this module shapes the results as HTML.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

import simcore
from bookkit import render
from bookkit.chapters.anon_exclusive import table
from bookkit.explorer import Explorer
from bookkit.frames import player_data, preset
from bookkit.scenarios import folio_scenario
from simcore import report
from simcore.scenario import ScenarioError

CHAPTER = "sparc64"
MODES = ("baseline", "patched")
ARCHES = ("x86_64", "arm64", "sparc64")
KINDS = {"anon swap-backed": True, "lazyfree (MADV_FREE)": False}
PAGES = {"all exclusive": "all", "half exclusive (rest read-only)": "half"}
BUG_CHOICES = ("none", "sparc-batch-adi")
PLAYER_COUNTERS = ("iterations", "batches", "arch_unmap_one_calls", "adi_tag_saves",
                   "barriers", "tlb_ops", "mapcount")
TABLE_COUNTERS = ("ok", "iterations", "batches", "arch_unmap_one_calls", "adi_tag_saves",
                  "barriers", "tlb_ops", "violations")


def scenario(arch: str = "sparc64", swapbacked: bool = True, pages: str = "all",
             order: int = 4, adi: bool = True, name: str = "sparc64") -> dict[str, Any]:
    """One folio of ``1 << order`` pages in one VMA on ``arch``.

    ``pages`` is ``"all"`` (every page exclusive, writable) or ``"half"`` (the second half not
    exclusive, hence read-only). A lazyfree folio is clean (MADV_FREE), so reclaim may drop it.
    ``adi`` switches ADI on or off; it only exists on sparc64 and is ignored elsewhere.
    """
    if arch not in ARCHES:
        raise ScenarioError(f"arch: choose one of {', '.join(ARCHES)}, not {arch!r}")
    if not 2 <= order <= 9:
        raise ScenarioError(f"order: an anonymous mTHP has order 2..9, not {order}")
    nr = 1 << order
    if pages == "all":
        exclusive = "E" * nr
    elif pages == "half":
        exclusive = "E" * (nr // 2) + "N" * (nr - nr // 2)
    else:
        raise ScenarioError(f"pages: 'all' or 'half', not {pages!r}")
    doc = folio_scenario(order=order, arch=arch, exclusive=exclusive, swapbacked=swapbacked,
                         dirty=swapbacked, name=name)
    if arch == "sparc64":
        doc["arch"]["adi"] = bool(adi)
    return doc


def build(arch: str = "sparc64", kind: bool = True, pages: str = "all", order: int = 4,
          adi: bool = True, bug: str = "none") -> dict[str, Any]:
    """The Explorer's ``build`` (``kind`` is True for anon swap-backed, False for lazyfree)."""
    return scenario(arch, kind, pages, order, adi)


# -- reading results ------------------------------------------------------------------------
def batches_text(result) -> str:
    """The batches of a run; a long run of one-PTE batches is written as a count."""
    bs = report.batches(result)
    if len(bs) > 4 and all(b["nr"] == 1 for b in bs):
        return f"{len(bs)} batches of 1 PTE (one per iteration)"
    return render.batches_text(result)



def tag_store_row(result) -> list[tuple[int, str]]:
    """Per slot (folio page, state) of the ADI tag store after the run.

    ``saved`` — tags saved for this address from this page's own physical address;
    ``wrong`` — something was saved for the address, but from another page;
    ``missing`` — the page went to swap without a tag save; ``n/a`` — nothing to save
    (not a swap PTE, or no ADI).
    """
    sys = result.system
    out = []
    for mm, addr, page in sys.slots():
        now = mm.pt.get(addr)
        before = sys.initial_ptes.get((mm.name, addr))
        if not (sys.arch.has_arch_unmap_one and sys.arch.adi) or now.kind != "swap" or \
                before is None or before.kind != "present":
            out.append((page, "n/a"))
            continue
        saved = mm.tag_store.get(addr)
        if saved == before.pfn << sys.arch.page_shift:
            out.append((page, "saved"))
        else:
            out.append((page, "missing" if saved is None else "wrong"))
    return out


def summary(arch: str = "sparc64", swapbacked: bool = True, mode: str = "patched", bugs=(),
            pages: str = "all", order: int = 4, adi: bool = True) -> dict[str, Any]:
    """Run one configuration and return what the chapter quotes from it."""
    system = simcore.from_dict(scenario(arch, swapbacked, pages, order, adi))
    r = simcore.run(system, mode, bugs=bugs, trace=True, snapshots=False)
    c = r.costs
    tags = tag_store_row(r)
    return {"ok": r.ok, "iterations": c.iterations, "batches": c.batches,
            "arch_unmap_one_calls": c.arch_unmap_one_calls, "adi_tag_saves": c.adi_tag_saves,
            "barriers": c.barriers, "tlb_ops": c.tlb_ops,
            "saved": sum(1 for _p, s in tags if s == "saved"),
            "unsaved": sum(1 for _p, s in tags if s in ("missing", "wrong")),
            "violations": r.violations, "result": r,
            "batches_text": batches_text(r)}


def arch_rows(mode: str = "patched") -> list[dict[str, Any]]:
    """Each arch × folio kind in ``mode``: batches, iterations, ADI work."""
    rows = []
    for arch in ARCHES:
        for label, swapbacked in KINDS.items():
            s = summary(arch, swapbacked, mode)
            rows.append({"arch": arch, "kind": label, **{k: s[k] for k in (
                "iterations", "batches", "arch_unmap_one_calls", "adi_tag_saves", "tlb_ops")}})
    return rows


def arch_table(mode: str = "patched") -> str:
    """`arch_rows` as a table."""
    return table([{"arch": r["arch"], "folio": r["kind"].split(" (")[0],
                      "iterations": r["iterations"],
                      "`arch_unmap_one()` calls": r["arch_unmap_one_calls"],
                      "tag saves": r["adi_tag_saves"], "TLB ops": r["tlb_ops"]}
                     for r in arch_rows(mode)])


# -- players --------------------------------------------------------------------------------
def _preset(key, label, arch="sparc64", swapbacked=True, mode="patched", bugs=(), pages="all",
            description=""):
    """A player preset; ``description`` is a template filled from the run's own numbers."""
    sm = summary(arch, swapbacked, mode, bugs, pages)
    facts = {k: sm[k] for k in ("iterations", "batches", "arch_unmap_one_calls",
                                "adi_tag_saves", "saved", "unsaved")}
    facts.update(arch=arch, mode=mode,
                 codes=", ".join(dict.fromkeys(v.code for v in sm["violations"])) or "nothing")
    return preset(key, label, scenario(arch, swapbacked, pages), mode=mode, bugs=bugs,
                  description=description.format(**facts), counters=PLAYER_COUNTERS)


def arch_player() -> dict[str, Any]:
    """The canonical comparison, all with the series applied."""
    return player_data("sparc64-arch", "The same folio, with the series, on two architectures", [
        _preset("x86-anon", "x86_64, anon swap-backed", arch="x86_64",
                description="{mode} on {arch}: {batches} batch, {iterations} iteration; "
                            "arch_unmap_one() is a stub."),
        _preset("sparc-anon", "sparc64, anon swap-backed",
                description="{mode} on {arch}: not batched; {iterations} iterations, "
                            "{arch_unmap_one_calls} arch_unmap_one() calls, {adi_tag_saves} "
                            "ADI tag saves."),
        _preset("sparc-lazy", "sparc64, lazyfree", swapbacked=False,
                description="{mode} on {arch}, MADV_FREE folio: {batches} batch, as before "
                            "the series; no swap PTE, {arch_unmap_one_calls} arch_unmap_one() "
                            "calls."),
    ])


def explorer_player() -> dict[str, Any]:
    """The live widget's static twin: correct sparc64 against the bug-zoo variant."""
    return player_data("sparc64-explorer", "Why each page needs its own PTE (sparc64, ADI on)", [
        _preset("correct", "per PTE (what the series does)",
                description="one arch_unmap_one() per page, with that page's own PTE: "
                            "{adi_tag_saves} tag saves, {unsaved} pages lost."),
        _preset("bug", "batched, one tag save per sub-batch (bug)", bugs=("sparc-batch-adi",),
                description="bug zoo sparc-batch-adi: one arch_unmap_one() per sub-batch, with "
                            "its first PTE: {adi_tag_saves} tag save, {unsaved} pages lost; the "
                            "checker reports {codes}."),
        _preset("bug-half", "batched, half exclusive (bug)", bugs=("sparc-batch-adi",),
                pages="half",
                description="bug zoo sparc-batch-adi, second half not exclusive: "
                            "{adi_tag_saves} tag saves, {unsaved} pages lost."),
    ], live=True)


# -- the live widget ------------------------------------------------------------------------
_CELL = ("display:inline-block;min-width:1.6em;text-align:center;margin:1px;padding:2px 0;"
         "font:12px monospace;")
_TAG_STYLE = {"saved": ("T", "#2e7d32", "ADI tags saved from this page's own PTE"),
              "missing": ("!", "#b71c1c", "went to swap, ADI tags not saved"),
              "wrong": ("?", "#b71c1c", "tags saved from another page's address"),
              "n/a": ("·", "#9e9e9e", "nothing to save")}


def _tag_strip(result) -> str:
    cells = []
    for page, state in tag_store_row(result):
        letter, bg, what = _TAG_STYLE[state]
        cells.append(f"<span title='page {page}: {what}' style='{_CELL}color:#fff;"
                     f"background:{bg}'>{letter}</span>")
    return ("<div style='white-space:nowrap;overflow-x:auto'><span style='display:inline-block;"
            "width:4.5em;font:12px monospace'>ADI</span>" + "".join(cells) + "</div>")


def view(values: dict[str, Any], results: dict[str, Any]) -> str:
    parts = []
    arch = values["arch"]
    if arch != "sparc64":
        parts.append(f"<div>On {html.escape(arch)} <code>arch_unmap_one()</code> is the generic "
                     "stub (returns 0): there are no ADI tags.</div>")
    elif not values["adi"]:
        parts.append("<div>sparc64 with ADI off: <code>arch_unmap_one()</code> returns 0 "
                     "without saving anything; the batching rule does not look at ADI.</div>")
    for mode, r in results.items():
        c = r.costs
        bug = values.get("bug", "none")
        title = mode + (f" + {bug}" if mode == "patched" and bug != "none" else "")
        verdict = "unmapped" if r.ok else "not unmapped (try_to_unmap failed)"
        parts.append(
            f"<div style='margin:8px 0 2px'><b>{html.escape(title)}</b>: {verdict}; "
            f"batches: {html.escape(batches_text(r))}</div>"
            f"<div>{c.iterations} iteration(s), {c.arch_unmap_one_calls} "
            f"<code>arch_unmap_one()</code> call(s), {c.adi_tag_saves} ADI tag save(s).</div>")
        parts.append(render.pte_strip(r.system))
        if arch == "sparc64" and values["adi"]:
            parts.append(_tag_strip(r))
        parts.append(render.violations_html(r))
    parts.append("<div style='font-size:90%;margin-top:4px'>ADI row: T tags saved from the "
                 "page's own PTE, ! not saved, · nothing to save.</div>")
    parts.append(render.counters_table(results, TABLE_COUNTERS))
    return "".join(parts)


def controls() -> dict[str, widgets.Widget]:
    style = {"description_width": "initial"}
    return {
        "arch": widgets.ToggleButtons(options=ARCHES, value="sparc64", description="arch:",
                                      style={"button_width": "6em", **style}),
        "kind": widgets.Dropdown(options=list(KINDS.items()), value=True, description="folio:",
                                 style=style),
        "pages": widgets.Dropdown(options=list(PAGES.items()), value="all",
                                  description="pages:", style=style),
        "order": widgets.Dropdown(options=[(f"{1 << o} pages", o) for o in range(2, 7)],
                                  value=4, description="size:", style=style),
        "adi": widgets.Checkbox(value=True, description="ADI on (sparc64)", indent=False),
        "bug": widgets.Dropdown(options=BUG_CHOICES, value="none", description="bug zoo:",
                                style=style),
    }


def explorer() -> Explorer:
    """The chapter's live widget: arch, folio kind, exclusivity, size, ADI, the bug."""
    return Explorer(controls(), build, modes=MODES, counters=TABLE_COUNTERS, view=view)
