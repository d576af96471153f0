"""HTML views of simcore results for the live widgets (inline styles: works in any Jupyter).

A PTE strip per mm (one cell per slot, letter + colour), the batches and sub-batches a run
chose, and a table of counters side by side for several modes. Views only: every number comes
from a `simcore.Result`.
"""

from __future__ import annotations

import html
from typing import Any

import simcore
from simcore.pte import pte_code
from simcore.report import batches

COLOURS = {"W": "#1b5e20", "R": "#33691e", "D": "#4a148c", "X": "#0d47a1", "S": "#01579b",
           "-": "#616161"}
LABELS = {"W": "present, writable", "R": "present, read-only", "D": "device-exclusive",
          "X": "swap PTE, exclusive marker", "S": "swap PTE", "-": "none"}


def pte_strip(system, title: str = "") -> str:
    """One row of cells per mm for the slots that map (or mapped) the folio."""
    rows: dict[str, list[str]] = {}
    for mm, addr, page in system.slots():
        code = pte_code(mm.pt.get(addr))
        kind = code[0]
        label = f"page {page} at {addr:#x}: {LABELS[kind]}{', CONT' if code.endswith('c') else ''}"
        style = (f"display:inline-block;min-width:1.6em;text-align:center;margin:1px;"
                 f"padding:2px 0;color:#fff;background:{COLOURS[kind]};font:12px monospace;"
                 + ("border-bottom:3px solid #ffb300;" if code.endswith("c") else ""))
        rows.setdefault(mm.name, []).append(
            f'<span title="{html.escape(label)}" style="{style}">{html.escape(code)}</span>')
    out = [f"<div><b>{html.escape(title)}</b></div>"] if title else []
    for name, cells in rows.items():
        out.append(f'<div style="white-space:nowrap;overflow-x:auto"><span style="display:'
                   f'inline-block;width:4.5em;font:12px monospace">{html.escape(name)}</span>'
                   + "".join(cells) + "</div>")
    return "".join(out)


def batches_text(result) -> str:
    """The batches of a traced run (`simcore.report.batches`), with the sub-batches of those
    longer than one page."""
    parts = []
    for b in batches(result):
        subs = "".join(f" [{s['start_page']}+{s['nr']} {'E' if s['exclusive'] else 'N'}]"
                       for s in b["sub_batches"]) if b["nr"] > 1 else ""
        parts.append(f"{b['mm']}: pages {b['start_page']}..{b['start_page'] + b['nr'] - 1}"
                     f"{subs}")
    return "; ".join(parts) or "(no batch)"


def counters_table(results: dict[str, Any], names: tuple[str, ...]) -> str:
    """Counters per mode, side by side, with a row per counter."""
    head = "".join(f"<th style='padding:2px 8px'>{html.escape(m)}</th>" for m in results)
    rows = []
    for n in names:
        cells = "".join(f"<td style='text-align:right;padding:2px 8px'>{_value(r, n)}</td>"
                        for r in results.values())
        rows.append(f"<tr><td style='padding:2px 8px'><code>{html.escape(n)}</code></td>{cells}"
                    "</tr>")
    return (f"<table style='border-collapse:collapse'><thead><tr><th></th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _value(result, name: str) -> str:
    c = result.costs
    if name == "tlb_ops":
        return str(c.tlb_ops)
    if name == "ok":
        return "yes" if result.ok else "no"
    if name == "violations":
        return str(len(result.violations))
    if name in ("mapcount", "refcount"):
        return str(getattr(result.system.folio, name))
    return str(getattr(c, name))


def results_html(results: dict[str, Any], counters: tuple[str, ...]) -> str:
    """The default live-widget view: per mode the final strip, the batches, then counters."""
    blocks = []
    for mode, r in results.items():
        verdict = "unmapped" if r.ok else "not unmapped (try_to_unmap failed)"
        blocks.append(f"<div style='margin:6px 0'><b>{html.escape(mode)}</b>: {verdict}. "
                      f"Batches: {html.escape(batches_text(r))}{pte_strip(r.system)}"
                      f"{violations_html(r)}</div>")
    return "".join(blocks) + counters_table(results, counters)


def violations_html(result) -> str:
    """The invariant checker's verdict on a run as a red list ('' when everything holds)."""
    if not result.violations:
        return ""
    return ("<ul style='color:#b71c1c;margin:2px 0'>" + "".join(
        f"<li>{html.escape(str(v))}</li>" for v in result.violations) + "</ul>")


def markdown_table(rows: list[dict[str, Any]], columns: list[str],
                   headers: dict[str, str] | None = None,
                   align_right: tuple[str, ...] | list[str] = ()) -> str:
    """A Markdown table of ``rows`` (the book renders ``text/markdown`` outputs as MyST, in the
    theme's light and dark colours): ``headers`` renames columns, ``align_right`` lists the
    right-aligned ones; a ``|`` or a line break in a cell is escaped so it cannot break the
    table."""
    headers = headers or {}

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")
    head = "| " + " | ".join(cell(headers.get(c, c)) for c in columns) + " |"
    rule = "|" + "|".join("---:" if c in align_right else "---" for c in columns) + "|"
    body = ["| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def error_html(message: str) -> str:
    return f"<p role='alert' style='color:#b71c1c'>{html.escape(message)}</p>"


def run_all(scenario: dict[str, Any], modes, bugs=(), traced=None) -> dict[str, Any]:
    """Run ``scenario`` in every mode (the bug variants in ``patched`` only); with a trace in
    the modes of ``traced`` (default: all)."""
    system = simcore.from_dict(scenario)
    return {m: simcore.run(system, m, bugs=bugs if m == "patched" else (),
                           trace=traced is None or m in traced, snapshots=False)
            for m in modes}
