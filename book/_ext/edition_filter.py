"""Two editions of the book: ``instructor`` (everything) and ``student`` (no solutions).

The edition comes from the Sphinx config value ``bookkit_edition`` (set by
``python -m bookkit.build --edition ...``), else from the environment variable ``BOOK_EDITION``,
else ``instructor``. The notebooks see it as ``os.environ["BOOK_EDITION"]`` when executed.

How to mark a solution (the convention)
---------------------------------------
Anything carrying the class or tag ``solution`` is a solution:

* a directive with the class ``solution``::

      :::{admonition} Solution
      :class: dropdown solution
      The answer is ...
      :::

      ::::{dropdown} Show the answer
      :class-container: solution
      The answer is ...
      ::::

  (any directive whose ``:class:``, ``:class-container:`` or ``:class-body:`` option contains
  ``solution``; nested directives need more colons or backticks on the outer fence);
* a code cell tagged ``solution`` (``:tags: [solution]`` in the ``{code-cell}`` options);
* a Markdown cell tagged ``solution`` (a ``+++ {"tags": ["solution"]}`` line before it).

What the student edition does with them
---------------------------------------
* solution cells are tagged ``remove-cell`` while the page is read (``source-read``): they are
  still executed, so later cells that use their results work, but nothing of them is rendered;
* every docutils node with the class ``solution`` (or a cell container with ``tag_solution``)
  is removed from the doctree right after reading (``doctree-read``), before the search index,
  the HTML and the environment pickle see it;
* page sources are not copied (``html_copy_source = False``), so ``_sources/`` does not exist;
  the downloadable notebooks (``book/_ext/notebook_download.py``) drop the same cells and
  blocks (:func:`strip_solutions_from_notebook`);
* after the build every HTML file is checked for leftover ``solution`` classes and a stray
  ``_sources`` directory is deleted; a leftover is a build warning, so an error.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)

EDITIONS = ("instructor", "student")
SOLUTION = "solution"
_CLASS_OPTIONS = re.compile(r"^\s*:(class|class-container|class-body):\s*(?P<v>.*)$")
_YAML_CLASS = re.compile(r"^\s*(class|class-container|class-body)\s*:\s*(?P<v>.*)$")
_DIRECTIVE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,}|~{3,})\{[^}]+\}")
_CODE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?!\{)")


def edition(app: Sphinx) -> str:
    return app.config.bookkit_edition


def is_student(app: Sphinx) -> bool:
    return edition(app) == "student"


# --- pure helpers (also used by notebook_download and the tests) ---------------------------


def _has_solution_class(value: str) -> bool:
    return SOLUTION in re.split(r"[\s,\[\]'\"]+", value)


def _is_close(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (
        len(stripped) >= len(fence)
        and set(stripped) == {fence[0]}
    )


def _find_close(lines: list[str], start: int, fence: str) -> int:
    """Index of the line closing the fence opened on line ``start - 1`` (or len(lines))."""
    for j in range(start, len(lines)):
        if _is_close(lines[j], fence):
            return j
    return len(lines)


def _directive_is_solution(lines: list[str], start: int, close: int) -> bool:
    """Do the options of the directive whose body is lines[start:close] mark a solution?"""
    j = start
    if j < close and lines[j].strip() == "---":  # YAML options block
        for k in range(j + 1, close):
            if lines[k].strip() == "---":
                break
            m = _YAML_CLASS.match(lines[k])
            if m and _has_solution_class(m.group("v")):
                return True
        return False
    while j < close and lines[j].lstrip().startswith(":"):
        m = _CLASS_OPTIONS.match(lines[j])
        if m and _has_solution_class(m.group("v")):
            return True
        j += 1
    return False


def strip_solution_blocks(markdown: str) -> str:
    """Remove every MyST directive block whose class options contain ``solution``.

    Handles colon (``:::``) and backtick fences, nesting (an exercise admonition holding a
    solution dropdown) and leaves code blocks alone.
    """
    lines = markdown.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _DIRECTIVE_OPEN.match(line)
        if m:
            fence = m.group("fence")
            close = _find_close(lines, i + 1, fence)
            if _directive_is_solution(lines, i + 1, close):
                i = close + 1
                # drop one blank line left behind, so paragraphs do not double-space
                if out and out[-1].strip() == "" and i < len(lines) and lines[i].strip() == "":
                    i += 1
                continue
            out.append(line)  # keep the opening; look inside for nested solutions
            i += 1
            continue
        m = _CODE_OPEN.match(line)
        if m:  # a plain code block: copy verbatim up to its closing fence
            close = _find_close(lines, i + 1, m.group("fence"))
            out.extend(lines[i : close + 1])
            i = close + 1
            continue
        out.append(line)
        i += 1
    return "".join(out)


def cell_is_solution(cell: Any) -> bool:
    tags = cell.get("metadata", {}).get("tags", []) or []
    return SOLUTION in tags


def strip_solutions_from_notebook(nb: Any) -> int:
    """Remove solution cells and solution blocks from an nbformat notebook, in place.

    Returns how many cells or blocks were removed.
    """
    removed = 0
    kept = []
    for cell in nb.cells:
        if cell_is_solution(cell):
            removed += 1
            continue
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(source)
            stripped = strip_solution_blocks(source)
            if stripped != source:
                removed += 1
                stripped = stripped.rstrip() + ("\n" if source.endswith("\n") else "")
                cell["source"] = stripped
                if not stripped.strip():
                    continue
        kept.append(cell)
    nb.cells = kept
    return removed


def is_myst_notebook_text(text: str) -> bool:
    """Is this the text of a MyST Markdown notebook (jupytext header, format myst)?"""
    if not text.startswith("---"):
        return False
    end = text.find("\n---", 3)
    header = text[: end if end > 0 else 0]
    return ("jupytext" in header and "myst" in header) or "kernelspec" in header


def mark_solution_cells_removed(text: str) -> tuple[str, int]:
    """Tag ``remove-cell`` every ``solution`` cell of a MyST notebook text (via jupytext).

    Returns the new text and the number of cells marked (the text is unchanged if none).
    """
    import jupytext

    nb = jupytext.reads(text, fmt="md:myst")
    marked = 0
    for cell in nb.cells:
        if cell_is_solution(cell):
            tags = cell.metadata.setdefault("tags", [])
            if "remove-cell" not in tags:
                tags.append("remove-cell")
            marked += 1
    if not marked:
        return text, 0
    return jupytext.writes(nb, fmt="md:myst"), marked


# --- Sphinx events ------------------------------------------------------------------------


def check_edition(app: Sphinx, config) -> None:
    if config.bookkit_edition not in EDITIONS:
        raise ConfigError(
            f"bookkit_edition (or BOOK_EDITION) must be one of {', '.join(EDITIONS)}, "
            f"not {config.bookkit_edition!r}"
        )
    os.environ["BOOK_EDITION"] = config.bookkit_edition  # for the executing kernels
    if config.bookkit_edition == "student":
        config.html_copy_source = False


def hide_solution_cells(app: Sphinx, docname: str, source: list[str]) -> None:
    if not is_student(app) or not is_myst_notebook_text(source[0]):
        return
    if SOLUTION not in source[0]:
        return
    source[0], marked = mark_solution_cells_removed(source[0])
    if marked:
        logger.verbose("[edition] %s: %d solution cell(s) hidden", docname, marked)


# sphinx-design keeps a dropdown's :class-container: / :class-body: in these attributes until
# its HTML post-transform; docutils and MyST put :class: into "classes".
_CLASS_ATTRIBUTES = ("classes", "container_classes", "body_classes")


def _is_solution_node(node: nodes.Node) -> bool:
    if not isinstance(node, nodes.Element):
        return False
    for attr in _CLASS_ATTRIBUTES:
        classes = node.get(attr) or []
        if SOLUTION in classes or f"tag_{SOLUTION}" in classes:
            return True
    return False


def remove_solution_nodes(app: Sphinx, doctree: nodes.document) -> None:
    if not is_student(app):
        return
    removed = 0
    for node in list(doctree.findall(_is_solution_node)):
        if node.parent is not None:
            node.parent.remove(node)
            removed += 1
    if removed:
        logger.verbose("[edition] %s: %d solution node(s) removed", app.env.docname, removed)


_CLASS_ATTR = re.compile(r"""class\s*=\s*["']([^"']*)["']""", re.I)


def check_student_site(app: Sphinx, exception) -> None:
    if exception is not None or not is_student(app) or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    sources = outdir / "_sources"
    if sources.exists():
        shutil.rmtree(sources)
    for path in sorted(outdir.rglob("*.html")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in _CLASS_ATTR.finditer(text):
            if _has_solution_class(m.group(1)) or f"tag_{SOLUTION}" in m.group(1).split():
                line = text.count("\n", 0, m.start()) + 1
                logger.warning(
                    "student edition: a solution is left in %s:%d",
                    path.relative_to(outdir).as_posix(),
                    line,
                    type="bookkit",
                    subtype="edition",
                )


def setup(app: Sphinx) -> dict:
    app.add_config_value(
        "bookkit_edition", os.environ.get("BOOK_EDITION", "instructor"), "env", [str]
    )
    app.connect("config-inited", check_edition)
    app.connect("source-read", hide_solution_cells)
    app.connect("doctree-read", remove_solution_nodes, priority=100)
    app.connect("build-finished", check_student_site)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
