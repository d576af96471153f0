"""Fail the build on every cell that shows a Python error, not only on cells that raise.

myst-nb fails a notebook (a warning, which ``bookkit.build`` treats as an error) only when the
kernel's *execute reply* says a cell raised. A cell can show a Python error without that:

* an exception in a display formatter -- a ``_repr_html_``/``_repr_mimebundle_`` that raises,
  e.g. :class:`bookkit.live.Live` given a static twin that is not a string -- is caught by
  IPython, which puts an ``error`` output into the cell and replies "ok";
* code that catches an exception and shows it (``get_ipython().showtraceback()`` gives an
  ``error`` output, ``traceback.print_exc()`` a traceback on stderr, ``print(format_exc())``
  one on stdout);
* a traceback on stderr is a warning (``stderr_output: warn``) only while it is rendered: a
  ``remove-output`` or ``remove-stderr`` cell hides it, and myst-nb renders ``error`` outputs
  without any warning at all.

:func:`check_doctree` (connected to Sphinx's ``doctree-read`` by ``bookkit.build``) reads the
executed notebook myst-nb has just written for the page and warns, naming the page, the code
cell and its line, for every ``error`` output and every stream output with a Python traceback,
whatever the cell's tags -- except in cells tagged ``raises-exception``, which show an error on
purpose (nbclient lets those raise, too).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

#: the tag with which a cell may show an error on purpose (nbclient's allow-errors tag)
ALLOW_TAG = "raises-exception"
TRACEBACK = "Traceback (most recent call last):"
#: the warning's type and subtype: "... [bookkit.cell-error]"
WARNING_TYPE, WARNING_SUBTYPE = "bookkit", "cell-error"


class CellProblem(NamedTuple):
    cell: int  # 1-based number among the page's code cells
    line: int | None  # the line of the cell in the page's source, when known
    message: str


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def cell_problems(notebook: dict) -> list[CellProblem]:
    """The code cells of an executed notebook (nbformat JSON as a dict) that show an error."""
    source_map = notebook.get("metadata", {}).get("source_map") or []
    problems: list[CellProblem] = []
    number = 0
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        number += 1
        if ALLOW_TAG in (cell.get("metadata", {}).get("tags") or []):
            continue
        line = source_map[index] if index < len(source_map) else None
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                error = f"{output.get('ename', '?')}: {_text(output.get('evalue'))}"
                what = f"shows a Python error ({_one_line(error)})"
            elif kind == "stream" and TRACEBACK in _text(output.get("text")):
                text = _text(output.get("text"))
                last = _last_line(text[text.rindex(TRACEBACK):])
                what = (f"prints a Python traceback on {output.get('name', 'a stream')} "
                        f"({_one_line(last)})")
            else:
                continue
            problems.append(CellProblem(
                number, line,
                f"code cell {number} {what}; fix the cell, or tag it {ALLOW_TAG} if the error "
                f"is meant to be shown",
            ))
    return problems


def check_doctree(app: Any, doctree: Any) -> None:
    """Sphinx ``doctree-read``: warn about the cells of the page's executed notebook."""
    from sphinx.util import logging

    env = app.env
    config = getattr(env, "mystnb_config", None)
    folder = getattr(config, "output_folder", None)
    # myst-nb records execution data for every page it executed (or took from its cache) in
    # this read, and wrote the executed notebook to its output folder; other pages have none
    exec_data = getattr(env, "nb_metadata", {}).get(env.docname, {}).get("exec_data")
    if not folder or not exec_data:
        return
    path = Path(folder).joinpath(*f"{env.docname}.ipynb".split("/"))
    try:
        notebook = json.loads(path.read_text(encoding="utf8"))
    except (OSError, ValueError) as exc:
        problems = [CellProblem(0, None, f"cannot check the executed notebook {path}: {exc}")]
    else:
        problems = cell_problems(notebook)
    logger = logging.getLogger(__name__)
    for problem in problems:
        logger.warning(problem.message, location=(env.docname, problem.line),
                       type=WARNING_TYPE, subtype=WARNING_SUBTYPE)
