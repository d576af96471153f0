"""Trace diffs: where a broken variant's run first parts from the correct one.

Both runs are simcore traces of the same scenario; events are compared by (kind, function,
text) with difflib, and the result is an HTML table a reader scans top to bottom: equal steps
greyed, the steps only the correct run took on the left, the broken run's on the right. A view
only: it reads two `simcore.Result` objects.
"""

from __future__ import annotations

import difflib
import html

import simcore


def _sig(ev) -> str:
    return f"{ev.fn}(): {ev.text}"


def diff_rows(good, bad) -> list[tuple[str, str, str]]:
    """(tag, correct step, broken step) rows; tag is 'equal', 'replace', 'delete' or 'insert'."""
    a = [_sig(e) for e in good.trace.events]
    b = [_sig(e) for e in bad.trace.events]
    rows: list[tuple[str, str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend(("equal", a[i], b[j1 + k]) for k, i in enumerate(range(i1, i2)))
            continue
        left, right = a[i1:i2], b[j1:j2]
        for k in range(max(len(left), len(right))):
            rows.append((tag, left[k] if k < len(left) else "", right[k] if k < len(right) else ""))
    return rows


def first_divergence(good, bad) -> int | None:
    for i, (tag, _l, _r) in enumerate(diff_rows(good, bad)):
        if tag != "equal":
            return i
    return None


STYLE = ("<style>.ttu-tracediff{border-collapse:collapse;font-size:.85em;width:100%}"
         ".ttu-tracediff td,.ttu-tracediff th{border:1px solid #8884;padding:2px 6px;"
         "vertical-align:top;overflow-wrap:anywhere}"
         # long function names must wrap inside the table on a phone (themes set code's own
         # overflow-wrap, which does not let a table cell shrink)
         ".ttu-tracediff code{overflow-wrap:anywhere}"
         # greyed by colour, not opacity: opacity took inline code below 4.5:1 contrast
         ".ttu-tracediff tr.equal td{color:var(--pst-color-text-muted,"
         "var(--jp-content-font-color2,#595959))}"
         ".ttu-tracediff tr.equal code{color:inherit}"
         ".ttu-tracediff tr.replace td,.ttu-tracediff tr.insert td,.ttu-tracediff tr.delete td"
         "{background:#ffb30033;font-weight:600}"
         ".ttu-tracediff tr.fold td{text-align:center;font-style:italic}</style>")


def diff_html(good, bad, context: int = 2) -> str:
    """The diff as an HTML table, equal runs longer than 2×context folded."""
    rows = diff_rows(good, bad)
    keep = [False] * len(rows)
    for i, (tag, _l, _r) in enumerate(rows):
        if tag != "equal":
            for j in range(max(0, i - context), min(len(rows), i + context + 1)):
                keep[j] = True
    out = [STYLE, "<table class='ttu-tracediff'><thead><tr><th scope='col'>correct code</th>"
           "<th scope='col'>broken variant</th></tr></thead><tbody>"]
    folded = 0
    for i, (tag, left, right) in enumerate(rows):
        if not keep[i]:
            folded += 1
            continue
        if folded:
            out.append(f"<tr class='fold'><td colspan='2'>… {folded} identical steps …</td></tr>")
            folded = 0
        out.append(f"<tr class='{tag}'><td><code>{html.escape(left)}</code></td>"
                   f"<td><code>{html.escape(right)}</code></td></tr>")
    if folded:
        out.append(f"<tr class='fold'><td colspan='2'>… {folded} identical steps …</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def compare(scenario: dict, bug: str, mode: str = "patched"):
    """Run the scenario correctly and with the bug; return both results."""
    system = simcore.from_dict(scenario)
    return (simcore.run(system, mode, trace=True, snapshots=False),
            simcore.run(system, mode, bugs=(bug,), trace=True, snapshots=False))
