"""bookkit.glue and bookkit.notebook: MyST chapters as plain notebooks (no build, no kernel)."""

from __future__ import annotations

import json

import pytest

from bookkit import glue as bglue
from bookkit.notebook import (
    export,
    main,
    myst_leftovers,
    protect_numbers,
    render_markdown,
    toc_chapters,
)

GLUE = {"n": {"text/plain": "16"}, "pi": {"text/plain": "3.14159"},
        "codes": {"text/plain": "rss_counter, *mapcount*"},
        "zoo": {"text/html": "<table/>", "text/plain": "<HTML>"},
        "fig": {"image/png": "iVBOR", "text/plain": "<Figure>"}}

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
:tags: [remove-cell]

import numpy as np
from bookkit.glue import glue
```

(sec-one)=
## One

A {term}`folio <folio>` of {glue:text}`n` pages, pi is {glue:text}`pi:.2f`; see {doc}`other`
and `{glue:text}` in code. The checker says {glue:text}`codes`.

```{glue:} zoo
```

```{glue:figure} fig
:alt: a bar chart
:name: fig-one

The caption with {glue:text}`n`.
```

:::{note}
A note with `code`.
:::

```python
x = "{term}`kept in a code block`"
```

Back to {ref}`sec-one`, or {ref}`to the start <sec-one>`.
"""


def md(text, glue=GLUE):
    pieces, problems = render_markdown(text, glue, lambda t: ("Other page", True), "t")
    return pieces, problems


def test_roles_are_rendered_with_the_glued_values():
    pieces, problems = md("A {term}`folio <folio>` of {glue:text}`n` pages, "
                          "{glue:text}`pi:.2f`, {doc}`other`, {doc}`that one <other>`.")
    assert problems == []
    assert pieces == [("md", "A folio of 16 pages, 3.14, [Other page](other.ipynb), "
                             "[that one](other.ipynb).")]


def test_glued_text_is_literal_markdown():
    pieces, _ = md("Codes: {glue:text}`codes`")
    assert pieces[0][1] == r"Codes: rss\_counter, \*mapcount\*"


def test_code_spans_and_blocks_are_left_alone():
    text = "`{glue:text}` is a role\n\n```python\nx = '{term}`t`'\n```"
    pieces, problems = md(text)
    assert problems == [] and pieces == [("md", text)]


def test_glue_directives_become_show_cells_and_captions():
    pieces, problems = md("Before\n\n```{glue:} zoo\n```\n\n```{glue:figure} fig\n:alt: x\n"
                          ":name: f\n\nIts caption, {glue:text}`n`.\n```\nAfter")
    assert problems == []
    assert pieces == [("md", "Before"), ("show", "zoo"), ("show", "fig"),
                      ("md", "*Its caption, 16.*\n\nAfter")]


def test_admonitions_dropdowns_and_targets():
    pieces, problems = md("(label)=\n:::{note}\nA **note**.\n:::\n\n"
                          "::::{dropdown} More\n:class-container: solution\nHidden.\n::::")
    assert problems == []
    text = pieces[0][1]
    assert "> **Note**\n>\n> A **note**." in text
    assert "<details>\n<summary>More</summary>" in text and "Hidden." in text
    assert "label" not in text and myst_leftovers(text) == []


def test_definition_lists():
    pieces, problems = md("Term one\n: its definition\n  goes on\n\nTerm two\n: first\n: second")
    assert problems == []
    assert pieces[0][1] == ("**Term one**: its definition\n  goes on\n\n"
                            "**Term two**: first\n\nsecond")
    assert myst_leftovers(pieces[0][1]) == []
    assert myst_leftovers("Term\n: definition") == [": definition"]


def test_what_cannot_be_rendered_is_a_problem():
    _, problems = md("{glue:text}`missing` and {unknownrole}`x`\n\n```{unknowndir}\nbody\n```")
    assert len(problems) == 3
    assert "nothing glued under 'missing'" in problems[0]
    assert "{unknownrole}" in problems[1] and "{unknowndir}" in problems[2]


def test_leftovers_are_found_outside_code():
    assert myst_leftovers("x {term}`a` y") == ["{term}`a`"]
    assert myst_leftovers("```{note}\nx\n```") == ["```{note}"]
    assert myst_leftovers(":::{dropdown} t\nx\n:::")[0] == ":::{dropdown} t"
    assert myst_leftovers("(my-label)=\n# T") == ["(my-label)="]
    assert myst_leftovers("`{term}` and\n```\n{glue:text}`x`\n```") == []


def test_a_number_at_a_line_start_does_not_become_a_list():
    assert protect_numbers("(Baolin Wang,\n2026) came") == "(Baolin Wang,\n2026\\) came"
    assert protect_numbers("1. a\n2. b\n\n5. c") == "1. a\n2. b\n\n5. c"
    pieces, _ = md("x needs\n{glue:text}`n`. More")
    assert pieces[0][1] == "x needs\n16\\. More"


def test_export_makes_a_plain_notebook(tmp_path):
    src = tmp_path / "chapter.md"
    src.write_text(CHAPTER)
    (tmp_path / "other.md").write_text(CHAPTER.replace("# A chapter", "# Other page"))
    result = export(src, GLUE)
    assert result.problems == []
    nb = result.notebook
    first = nb.cells[0]
    assert first.cell_type == "code" and "MissingPackages" in first.source
    assert '"numpy"' in first.source and '"simcore"' in first.source
    assert "from bookkit.glue import show" in first.source
    assert first.metadata["jupyter"]["source_hidden"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[1].metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert [c.source for c in code if c.source.startswith("show(")] == ["show('zoo')",
                                                                         "show('fig')"]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert myst_leftovers(cell.source) == [], cell.source
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Back to One, or to the start." in text
    assert "A folio of 16 pages, pi is 3.14; see [Other page](other.ipynb)" in text
    assert "*The caption with 16.*" in text
    assert "jupytext" not in nb.metadata
    import nbformat
    nbformat.validate(nb)


def test_the_first_cell_says_what_is_missing_in_one_line(tmp_path):
    src = tmp_path / "chapter.md"
    src.write_text(CHAPTER)
    first = export(src, GLUE).notebook.cells[0].source
    namespace: dict = {}
    import importlib.util

    real = importlib.util.find_spec
    try:
        importlib.util.find_spec = lambda m: None if m == "simcore" else real(m)
        with pytest.raises(Exception) as err:
            exec(first, namespace)
    finally:
        importlib.util.find_spec = real
    lines = err.value._render_traceback_()
    assert len(lines) == 1 and lines[0].startswith("This notebook needs simcore: pip install")


def test_glue_outside_the_build_only_remembers(monkeypatch):
    monkeypatch.delenv(bglue.ENV, raising=False)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append((a, k)))
    bglue.glue("answer", 42, display=False)
    assert shown == [] and bglue.glued("answer") == 42
    bglue.show("answer")
    assert shown == [((42,), {})]
    with pytest.raises(LookupError, match="nothing is glued under 'nope'"):
        bglue.glued("nope")


def test_glue_in_the_build_writes_what_myst_nb_glue_writes(monkeypatch):
    myst_glue = pytest.importorskip("myst_nb.ext.glue")
    ours, theirs = [], []
    monkeypatch.setenv(bglue.ENV, bglue.MYST_NB)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: ours.append((a, k)))
    monkeypatch.setattr(myst_glue, "ipy_display", lambda *a, **k: theirs.append((a, k)))
    for display in (False, True):
        bglue.glue("x", [1, 2], display=display)
        myst_glue.glue("x", [1, 2], display=display)
    assert ours == theirs and len(ours) == 2


def test_cli_keeps_an_edited_notebook(tmp_path, capsys):
    import nbformat

    book = tmp_path / "book"
    book.mkdir()
    (book / "chapter.md").write_text(CHAPTER)
    (book / "other.md").write_text(CHAPTER)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/chapter\n"
                                       "chapters:\n  - file: book/other\n")
    assert [p.name for p in toc_chapters(tmp_path / "_toc.yml")] == ["chapter.md", "other.md"]
    glue_dir = tmp_path / "jupyter_execute" / "book"
    glue_dir.mkdir(parents=True)
    data = {k: {"data": v, "metadata": {}, "output_type": "display_data"}
            for k, v in GLUE.items()}
    for name in ("chapter", "other"):
        (glue_dir / f"{name}.glue.json").write_text(json.dumps(data))
    out = tmp_path / "notebooks"
    args = ["--toc", str(tmp_path / "_toc.yml"), "--glue", str(tmp_path / "jupyter_execute"),
            "--out", str(out), "--keep-edited"]
    assert main(args) == 0
    assert main(args) == 0
    assert capsys.readouterr().out.count("unchanged") == 2
    nb = nbformat.read(out / "chapter.ipynb", as_version=4)
    nb.cells[-1].source += "\n# my note"
    nbformat.write(nb, out / "chapter.ipynb")
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "chapter.ipynb: kept" in said and "other.ipynb: unchanged" in said
    assert "# my note" in nbformat.read(out / "chapter.ipynb", as_version=4).cells[-1].source
    assert main(["--out", str(out)]) == 2


def test_no_chapter_imports_a_sphinx_package():
    """A chapter runs as a notebook with binder/requirements.txt only: it glues through
    bookkit.glue (fix: sed -i 's/^from myst_nb import glue$/from bookkit.glue import glue/')."""
    import re
    from pathlib import Path

    book = Path(__file__).resolve().parents[2] / "book"
    bad = re.compile(r"^\s*(?:from|import)\s+(myst_nb|myst_parser|sphinx\w*|jupyter_book)\b",
                     re.M)
    found = [f"{p.name}: {m.group(0).strip()}" for p in sorted(book.glob("*.md"))
             for m in bad.finditer(p.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


def test_the_install_hint_names_the_repository_when_known():
    from bookkit.notebook import INSTALL_HINT, install_hint

    assert install_hint(None) == install_hint("") == INSTALL_HINT
    assert install_hint("https://github.com/o/r/") == (
        'pip install -r https://raw.githubusercontent.com/o/r/HEAD/binder/requirements.txt '
        '"git+https://github.com/o/r"')
