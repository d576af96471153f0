"""Chapter "Partial failure and accounting": scenarios, players, tables and the live widget.

Plumbing only. A fault (a failing swap-count dup, a failing sparc64 ``arch_unmap_one()``, a pin
that appears part-way, or a folio pinned from the start) is placed on a page; simcore runs the
unmap in every mode and its invariant checker judges the end state. This module reads the
traces (which pages were restored, which were accounted) and shapes everything as HTML.
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
from bookkit.scenarios import folio_scenario, order_of
from simcore.check import INVARIANTS
from simcore.mm import MM_ANONPAGES, MM_SWAPENTS
from simcore.pte import pte_code
from simcore.scenario import ScenarioError

CHAPTER = "partial-failure"
MODES = ("per-pte", "baseline", "patched")
#: widget value -> label
OPS = {
    "dup_swap": "folio_dup_swap() fails (-ENOMEM)",
    "arch_unmap_one": "arch_unmap_one() fails (sparc64)",
    "pin": "a pin appears part-way (GUP-fast)",
    "pinned": "folio pinned from the start",
    "none": "no fault",
}
BUG_CHOICES = ("none", "skip-accounting", "writable-restore", "no-swap-offset")
PATTERN = "EEEENNNNEEEENNNN"
PINNED_PATTERN = "NNNNEEEENNNNEEEE"
FAULT_PAGE = 9
PLAYER_COUNTERS = ("iterations", "sub_batches", "dup_calls", "put_swap_calls", "share_calls",
                   "mapcount", "refcount")
CVE_COUNTERS = ("iterations", "batches", "rmap_calls", "put_refs_calls", "mapcount", "refcount")
# The CVE replay: a 64 KiB lazyfree folio in a VM_DROPPABLE VMA, last page device-exclusive.
CVE_URL = "https://nvd.nist.gov/vuln/detail/CVE-2026-63950"
CVE_STABLE = (
    "https://git.kernel.org/stable/c/0fcc34d0d8fefca4fea349e45c10e3a3d90350eb",
    "https://git.kernel.org/stable/c/3f8968e9cbf95d5d87d32218906cab0b9b9eddbe",
    "https://git.kernel.org/stable/c/f611db9b771b2b6775357555d2517af044fca4f0",
)


def scenario(op: str = "dup_swap", page: int = FAULT_PAGE, exclusive: str = PATTERN,
             writable: bool = False, name: str = "partial failure") -> dict[str, Any]:
    """One anon swap-backed folio in one VMA with one fault.

    ``op`` is a key of `OPS`. ``arch_unmap_one`` exists only on sparc64, so that op runs the
    scenario on sparc64 (8 KiB pages); the others on x86_64. ``writable`` maps the E pages
    writable (N pages are always read-only); by default all PTEs are read-only, so that one
    batch covers the whole folio.
    """
    if op not in OPS:
        raise ScenarioError(f"op: choose one of {', '.join(OPS)}, not {op!r}")
    order = order_of(exclusive)
    nr = 1 << order
    if op != "none" and op != "pinned" and not 0 <= page < nr:
        raise ScenarioError(f"page: the fault must sit on a page of the folio, 0..{nr - 1}, "
                            f"not {page}")
    faults = [{"op": op, "page": page}] if op in ("dup_swap", "arch_unmap_one", "pin") else []
    return folio_scenario(order=order,
                          arch="sparc64" if op == "arch_unmap_one" else "x86_64",
                          exclusive=exclusive.strip().upper(),
                          readonly_from=None if writable else 0,
                          pinned=op == "pinned", faults=faults, name=name)


def build(op: str = "dup_swap", page: int = FAULT_PAGE, exclusive: str = PATTERN,
          writable: bool = False, mode: str = "patched", bug: str = "none") -> dict[str, Any]:
    """The Explorer's ``build`` (``mode`` only picks the run the view details)."""
    return scenario(op, page, exclusive, writable)


# -- reading results ------------------------------------------------------------------------
def _ranges(pages: list[int]) -> str:
    """[0,1,2,5] -> '0..2, 5'."""
    if not pages:
        return "none"
    out, start, prev = [], pages[0], pages[0]
    for p in pages[1:] + [None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        out.append(f"{start}" if start == prev else f"{start}..{prev}")
        if p is not None:
            start = prev = p
    return ", ".join(out)


def outcome(result) -> dict[str, Any]:
    """What a run did, read from its final state and its trace."""
    sys = result.system
    f = sys.folio
    codes = [(page, pte_code(mm.pt.get(a))) for mm, a, page in sys.slots()]
    ev = result.trace.events if result.trace is not None else []
    restored = [(e.page, e.nr) for e in ev if e.kind == "restore"]
    accounted = [(e.page, e.nr) for e in ev if e.kind == "finish"]
    failed = [e for e in ev if e.kind == "fail"]
    present = [0] * f.nr_pages
    swapents: dict[str, int] = {}
    anon: dict[str, int] = {}
    for mm in sys.mms.values():
        anon[mm.name] = sum(1 for _a, p in mm.pt.items() if p.kind in ("present",
                                                                         "device_exclusive"))
        swapents[mm.name] = sum(1 for _a, p in mm.pt.items() if p.kind == "swap")
        for _a, p in mm.pt.items():
            if p.kind in ("present", "device_exclusive") and f.contains_pfn(p.pfn):
                present[p.pfn - f.first_pfn] += 1
    mapped = sum(present)
    cache = f.nr_pages if f.swapcache else 0
    return {
        "ok": result.ok,
        "swapped": [p for p, c in codes if c[0] in "XS"],
        "present": [p for p, c in codes if c[0] in "WRD"],
        "codes": "".join(c[0] for _p, c in codes),
        "restored": restored,
        "accounted": accounted,
        "failed": [(e.fn, e.page, e.nr, e.text) for e in failed],
        "fired": list(sys.faults.fired),
        "exclusive": f.exclusive_string(),
        "mapcount": f.mapcount, "mapped": mapped,
        "refcount": f.refcount, "refcount_expected": mapped + 1 + cache + f.pincount
        + f.extra_refs,
        "mm_counters": {n: dict(mm.counters) for n, mm in sys.mms.items()},
        "pt_anon": anon, "pt_swapents": swapents,
        "swap_counts": sys.swap_counts(),
        "violations": result.violations,
    }


def run(op: str = "dup_swap", page: int = FAULT_PAGE, exclusive: str = PATTERN,
        writable: bool = False, mode: str = "patched", bugs=()) -> dict[str, Any]:
    """One configuration, one mode: its outcome (plus the result itself under "result")."""
    system = simcore.from_dict(scenario(op, page, exclusive, writable))
    r = simcore.run(system, mode, bugs=bugs, trace=True, snapshots=False)
    out = outcome(r)
    out["result"] = r
    out["before"] = system
    return out


def compare_modes(op="dup_swap", page=FAULT_PAGE, exclusive=PATTERN, writable=False,
                  modes=MODES) -> dict[str, dict[str, Any]]:
    return {m: run(op, page, exclusive, writable, m) for m in modes}


CUT_AT = 8
CUT_WRITABLE = f"0..{CUT_AT - 1}"
CUT_CASE = f"cut at page {CUT_AT} ({CUT_WRITABLE} writable)"


def walk_cost_rows() -> list[dict[str, Any]]:
    """The cost of skipping swap PTEs: batches cut by the write bit, all in patched mode."""
    rows = []
    cases = [("one batch (all read-only)", 0, "patched"),
             (CUT_CASE, CUT_AT, "patched"),
             ("cut at page 4 (0..3 writable)", 4, "patched"),
             ("one PTE per iteration", 8, "baseline")]
    for label, ro, mode in cases:
        system = simcore.from_dict(folio_scenario(readonly_from=ro, name=label))
        r = simcore.run(system, mode, trace=True, snapshots=False)
        c = r.costs
        rows.append({"case": label, "mode": mode, "batches": c.batches,
                     "walk_steps": c.walk_steps, "check_pte": c.check_pte,
                     "skipped": len(r.trace.of_kind("skip")),
                     "ptes": system.folio.nr_pages})
    return rows


def mode_rows(op="dup_swap", page=FAULT_PAGE, exclusive=PATTERN) -> list[dict[str, Any]]:
    rows = []
    for mode, o in compare_modes(op, page, exclusive).items():
        rows.append({"mode": mode, "try_to_unmap": "ok" if o["ok"] else "failed",
                     "now swap PTEs": _ranges(o["swapped"]),
                     "still present": _ranges(o["present"]),
                     "restored": ", ".join(f"{p}..{p + n - 1}" if n > 1 else str(p)
                                           for p, n in o["restored"]) or "none",
                     "mapcount": o["mapcount"], "refcount": o["refcount"]})
    return rows


def mode_table(op="dup_swap", page=FAULT_PAGE, exclusive=PATTERN) -> str:
    return table(mode_rows(op, page, exclusive))


def walk_table() -> str:
    rows = [{"case": r["case"], "mode": r["mode"], "batches": r["batches"],
             "walk steps": r["walk_steps"], "check_pte() calls": r["check_pte"],
             "swap PTEs skipped": r["skipped"]} for r in walk_cost_rows()]
    return table(rows)


def cve_table() -> str:
    return table(cve_rows())


def cve_scenario() -> dict[str, Any]:
    """CVE-2026-63950 (v1 2/9): 64 KiB MADV_FREE folio, VM_DROPPABLE, page 15 device-exclusive."""
    return folio_scenario(order=4, swapbacked=False, droppable=True, device_exclusive=15,
                          name="CVE-2026-63950")


def _accounted_text(nrs: list[int]) -> str:
    """[15, 1] -> '15 + 1'; sixteen 1s -> '16 × 1'."""
    if len(nrs) > 3 and len(set(nrs)) == 1:
        return f"{len(nrs)} × {nrs[0]}"
    return " + ".join(map(str, nrs)) or "none"


def cve_rows() -> list[dict[str, Any]]:
    system = simcore.from_dict(cve_scenario())
    rows = []
    for label, mode, bugs in (("fixed (baseline)", "baseline", ()),
                              ("stale nr_pages (baseline)", "baseline", ("stale-nr-pages",)),
                              ("stale nr_pages (per-pte)", "per-pte", ("stale-nr-pages",))):
        r = simcore.run(system, mode, bugs=bugs, trace=True, snapshots=False)
        accounted = [e.nr for e in r.trace.of_kind("finish")]
        rows.append({"variant": label,
                     "accounted": _accounted_text(accounted),
                     "mapcount": r.system.folio.mapcount, "refcount": r.system.folio.refcount,
                     "MM_ANONPAGES": r.system.mms["task"].counters[MM_ANONPAGES],
                     "checker": ", ".join(sorted({v.code for v in r.violations}))
                     or "consistent"})
    return rows


# -- players --------------------------------------------------------------------------------
def _facts(o: dict[str, Any]) -> dict[str, Any]:
    """What a preset description may quote about a run (from `outcome`)."""
    fail = o["failed"][0] if o["failed"] else None
    return {"swapped": _ranges(o["swapped"]), "present": _ranges(o["present"]),
            "restored": ", ".join(f"{p}..{p + n - 1}" if n > 1 else str(p)
                                  for p, n in o["restored"]) or "none",
            "accounted": ", ".join(f"{p}..{p + n - 1}" for p, n in o["accounted"]) or "none",
            "fail_unit": (f"{fail[1]}..{fail[1] + fail[2] - 1}" if fail and fail[2] > 1
                          else str(fail[1]) if fail else "none"),
            "fail_fn": fail[0] if fail else "nothing",
            "mapcount": o["mapcount"], "mapped": o["mapped"], "refcount": o["refcount"],
            "codes": ", ".join(dict.fromkeys(v.code for v in o["violations"])) or "consistent"}


def _preset(key, label, sc, mode="patched", bugs=(), description="", counters=PLAYER_COUNTERS):
    """A player preset; ``description`` is a template filled from the run's own outcome."""
    r = simcore.run(simcore.from_dict(sc), mode, bugs=bugs, trace=True, snapshots=False)
    facts = {"mode": mode, **_facts(outcome(r))}
    return preset(key, label, sc, mode=mode, bugs=bugs, counters=counters,
                  description=description.format(**facts))


def dup9_player() -> dict[str, Any]:
    """The canonical scenario: a dup failure on page 9 of 16, mixed E/N, every mode."""
    sc = scenario("dup_swap", FAULT_PAGE, PATTERN)
    return player_data("partial-failure-dup9", f"folio_dup_swap() fails on page {FAULT_PAGE}", [
        _preset("per-pte", "one PTE per iteration (per-pte)", sc, mode="per-pte",
                description="{mode}: pages {swapped} become swap PTEs one by one; the dup of "
                            "the next page fails and only its PTE, {restored}, is restored."),
        _preset("patched", "batched (patched)", sc,
                description="{mode}: the dup of sub-batch {fail_unit} fails as a whole; PTEs "
                            "{restored} are restored and pages {accounted} are accounted by "
                            "finish_folio_unmap()."),
    ])


def explorer_player() -> dict[str, Any]:
    """The live widget's static twin."""
    def p(key, label, op, bugs=(), desc="", pattern=PATTERN):
        return _preset(key, label, scenario(op, FAULT_PAGE, pattern), bugs=bugs,
                       description=desc)
    return player_data("partial-failure-explorer", "Failing part-way (patched)", [
        p("pinned", "folio pinned from the start", "pinned", pattern=PINNED_PATTERN,
          desc="{fail_fn}() refuses sub-batch {fail_unit} (-EBUSY); pages {swapped} went to "
               "swap before it, PTEs {restored} are restored."),
        p("pin9", f"a pin appears at page {FAULT_PAGE}", "pin",
          desc="the pin comes after the first exclusive sub-batch was shared; {fail_fn}() "
               "refuses sub-batch {fail_unit}; pages {accounted} are accounted."),
        p("skip", "skip-accounting (bug)", "dup_swap", bugs=("skip-accounting",),
          desc="bug zoo: pages {swapped} became swap PTEs, but finish_folio_unmap() is not "
               "called for them: mapcount {mapcount} with {mapped} PTEs mapping; the checker "
               "reports {codes}."),
        p("offset", "no-swap-offset (bug)", "dup_swap", bugs=("no-swap-offset",),
          desc="bug zoo: every swap PTE of a sub-batch names the sub-batch's first slot; the "
               "checker reports {codes}."),
    ], live=True)


def cve_player() -> dict[str, Any]:
    sc = cve_scenario()
    return player_data("partial-failure-cve", "CVE-2026-63950 replayed (lazyfree, VM_DROPPABLE)", [
        _preset("fixed", "nr_pages = 1 at loop start", sc, mode="baseline", counters=CVE_COUNTERS,
                description="a batch of present PTEs, then the device-exclusive entry alone; "
                            "mapcount ends at {mapcount}; checker: {codes}."),
        _preset("stale", "stale nr_pages (bug)", sc, mode="baseline", bugs=("stale-nr-pages",),
                counters=CVE_COUNTERS,
                description="the device-exclusive entry is accounted with the previous "
                            "iteration's nr_pages: mapcount ends at {mapcount}; checker: "
                            "{codes}."),
    ])


def skip_player() -> dict[str, Any]:
    sc = folio_scenario(readonly_from=CUT_AT, name="write bit cuts the folio")
    return player_data("partial-failure-skip", "The walk steps over the swap PTEs of a batch", [
        _preset("patched", "two batches (patched)", sc,
                counters=("iterations", "walk_steps", "check_pte", "batches", "mapcount"),
                description="the write bit cuts the folio into two batches; after each, the "
                            "walk visits the batch's swap PTEs and check_pte() rejects them."),
    ])


# -- the live widget ------------------------------------------------------------------------
def _row(name: str, before: Any, after: Any, tables: Any) -> str:
    bad = str(after) != str(tables)
    mark = ";color:#b71c1c;font-weight:bold" if bad else ""
    return (f"<tr><td>{name}</td><td style='text-align:right'>{before}</td>"
            f"<td style='text-align:right{mark}'>{after}</td>"
            f"<td style='text-align:right'>{tables}</td></tr>")


def detail_html(o: dict[str, Any], before) -> str:
    bf = before.folio
    parts = []
    if o["fired"]:
        fired = ", ".join(f"{x['op']} on page {x['page']}" for x in o["fired"])
        parts.append(f"<div>Fault fired: {html.escape(fired)}.</div>")
    for fn, _page, _nr, text in o["failed"]:
        parts.append(f"<div>Failed in <code>{html.escape(fn)}()</code>: {html.escape(text)}"
                     "</div>")
    if o["restored"]:
        parts.append("<div>Restored as present PTEs from the batch template (<code>set_ptes()"
                     "</code>): pages " + ", ".join(f"{p}..{p + n - 1}" for p, n in o["restored"])
                     + ".</div>")
    if o["accounted"]:
        parts.append("<div>Accounted by <code>finish_folio_unmap()</code> (rmap, refs): pages "
                     + ", ".join(f"{p}..{p + n - 1}" for p, n in o["accounted"]) + ".</div>")
    rows = [_row("mapcount", bf.mapcount, o["mapcount"], o["mapped"]),
            _row("refcount", bf.refcount, o["refcount"], o["refcount_expected"])]
    for name, c in o["mm_counters"].items():
        b = before.mms[name].counters
        rows.append(_row(f"{name} MM_ANONPAGES", b[MM_ANONPAGES], c[MM_ANONPAGES],
                         o["pt_anon"][name]))
        rows.append(_row(f"{name} MM_SWAPENTS", b[MM_SWAPENTS], c[MM_SWAPENTS],
                         o["pt_swapents"][name]))
    def counts(c: list[int]) -> str:
        return "".join(map(str, c)) if len(c) <= 64 and max(c, default=0) < 10 else (
            f"sum {sum(c)}")
    rows.append(f"<tr><td>swap counts</td><td><code>{counts(before.swap_counts())}</code></td>"
                f"<td><code>{counts(o['swap_counts'])}</code></td><td></td></tr>")
    rows.append(f"<tr><td>PG_anon_exclusive</td><td><code>{bf.exclusive_string()}</code></td>"
                f"<td><code>{o['exclusive']}</code></td><td></td></tr>")
    parts.append("<table style='border-collapse:collapse;margin:4px 0'><thead><tr><th></th>"
                 "<th>before</th><th>after</th><th>what the page tables say</th></tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table>")
    if o["violations"]:
        items = "".join(
            f"<li><b>{html.escape(v.code)}</b> — <i>{html.escape(INVARIANTS.get(v.code, ''))}"
            f"</i>: {html.escape(v.message)}</li>" for v in o["violations"])
        parts.append(f"<div style='color:#b71c1c'>Invariant checker: "
                     f"{len(o['violations'])} violation(s)<ul style='margin:2px 0'>{items}</ul>"
                     "</div>")
    else:
        parts.append("<div style='color:#1b5e20'>Invariant checker: consistent (no violation)."
                     "</div>")
    return "".join(parts)


def view(values: dict[str, Any], results: dict[str, Any]) -> str:
    mode = values["mode"]
    bug = values["bug"]
    system = simcore.from_dict(build(**values))
    rows = []
    outs = {m: outcome(r) for m, r in results.items()}
    for m, o in outs.items():
        label = m + (f" + {bug}" if m == "patched" and bug != "none" else "")
        rows.append(f"<tr><td>{'<b>' if m == mode else ''}{html.escape(label)}"
                    f"{'</b>' if m == mode else ''}</td>"
                    f"<td>{'ok' if o['ok'] else 'failed'}</td>"
                    f"<td>{_ranges(o['swapped'])}</td><td>{_ranges(o['present'])}</td>"
                    f"<td>{len(o['violations'])}</td></tr>")
    parts = ["<table style='border-collapse:collapse'><thead><tr><th>mode</th>"
             "<th>try_to_unmap</th><th>now swap PTEs</th><th>still present</th>"
             f"<th>violations</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"]
    if bug != "none" and mode != "patched":
        parts.append("<div>The bug-zoo variant changes the patched run only; choose mode "
                     "patched to see it in detail.</div>")
    if values["op"] == "arch_unmap_one":
        parts.append("<div>arch_unmap_one() does something only on sparc64, so this fault runs "
                     "on sparc64, where the anon swap-backed case is never batched.</div>")
    r = results[mode]
    parts.append(f"<div style='margin-top:6px'><b>{html.escape(mode)}</b> in detail:</div>")
    parts.append(render.pte_strip(r.system))
    parts.append(detail_html(outs[mode], system))
    return "".join(parts)


def controls() -> dict[str, widgets.Widget]:
    style = {"description_width": "initial"}
    return {
        "op": widgets.Dropdown(options=[(v, k) for k, v in OPS.items()], value="dup_swap",
                               description="fault:", style=style),
        "page": widgets.BoundedIntText(value=FAULT_PAGE, min=0, max=511, description="on page:",
                                       style=style, layout=widgets.Layout(width="9em")),
        "exclusive": widgets.Text(value=PATTERN, description="pages (E/N):", style=style,
                                  continuous_update=False, layout=widgets.Layout(width="26em")),
        "writable": widgets.Checkbox(value=False, description="E pages writable", indent=False),
        "mode": widgets.Dropdown(options=MODES, value="patched", description="detail mode:",
                                 style=style),
        "bug": widgets.Dropdown(options=BUG_CHOICES, value="none", description="bug zoo:",
                                style=style),
    }


def explorer() -> Explorer:
    """The chapter's live widget: a fault on a page, E/N pattern, mode, bug variant."""
    return Explorer(controls(), build, modes=MODES,
                    counters=("ok", "iterations", "dup_calls", "put_swap_calls", "violations"),
                    view=view)


# -- round 2: when does the batched path raise the swap counts? -----------------------------------
SWAP_DUP_LABELS = {"sub-batch": "per sub-batch (simcore's default, INFERRED)",
                   "batch": "once for the whole batch (INFERRED)"}


def dup_unit_rows(page: int = FAULT_PAGE, exclusive: str = PATTERN) -> list[dict[str, Any]]:
    """The same dup failure under the two readings of v4 12/12 (`simcore.unmap`'s
    ``swap_dup``), side by side: what ends up swapped out, restored and accounted."""
    system = simcore.from_dict(scenario("dup_swap", page, exclusive))
    rows = []
    for unit, label in SWAP_DUP_LABELS.items():
        r = simcore.run(system, "patched", trace=True, snapshots=False, swap_dup=unit)
        o = outcome(r)
        rows.append({"swap counts raised": label,
                     "swapped out": _ranges(o["swapped"]),
                     "restored": _ranges(o["present"]),
                     "folio_dup_swap() calls": r.costs.dup_calls,
                     "mapcount": o["mapcount"], "refcount": o["refcount"],
                     "violations": len(o["violations"])})
    return rows
