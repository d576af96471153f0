"""A chapter as a plain Jupyter notebook: what the site shows, with nothing a reader must install.

The chapters are MyST Markdown notebooks. Their prose uses MyST roles and directives
(``{glue:text}``, ``{term}``, ``{doc}``, ``{glue:figure}``, admonitions …) that only the website
build renders: JupyterLab, Notebook, VS Code and Colab would show the markup itself. So the
notebook a reader downloads (``book/_ext/notebook_download.py``) and the one ``make lab`` opens
are made by :func:`export`, which

* writes each inline glued value (``{glue:text}`name``` and the ``{glue:}`` role) into the
  Markdown as the text the site shows (the value computed by the build's execution of the
  chapter, read from myst-nb's ``<name>.glue.json``; never typed by hand);
* turns each ``{glue:}``/``{glue:figure}`` directive into a code cell ``show("name")``
  (:func:`bookkit.glue.show`), so "Run All" displays the same table or figure, and a figure's
  caption into the Markdown after it;
* renders the other roles and directives as plain Markdown: ``{term}`` as its text, ``{doc}`` as
  a link to the sibling notebook (or the page title), admonitions as quotes, dropdowns as
  ``<details>``, the glossary as a definition list; drops ``(label)=`` targets and ``%``
  comments;
* hides the source of cells tagged ``remove-input``/``remove-cell``/``hide-input`` (JupyterLab's
  collapsed input, one click to open) and the output of ``remove-output``;
* starts with a cell that says, in one line, which packages are missing if any are.

Anything it cannot render is reported in ``problems`` (the site build turns that into a warning,
hence an error) and :func:`myst_leftovers` finds what a Markdown cell would still show as markup.

Also ``python -m bookkit.notebook --out DIR [--toc _toc.yml] [--glue DIR] [CHAPTER.md ...]``:
export chapters, with the values of a site build (``--glue _build/jupyter_execute``, what
``make lab`` does) or by executing each chapter (Binder's ``postBuild``).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Export", "export", "myst_leftovers", "read_glue", "render_markdown", "main"]

#: what runs every chapter, besides the modules its code cells import
RUNTIME = ("ipywidgets", "simcore", "bookkit")
INSTALL_HINT = ("pip install -r binder/requirements.txt plus this book's package "
                "(see the README, 'Run the chapters yourself')")


def install_hint(repo_url: str | None = None) -> str:
    """How to install what a chapter needs; concrete when the repository's URL is known (the
    site's ``repository.url``, a GitHub-style URL)."""
    if not repo_url:
        return INSTALL_HINT
    url = repo_url.rstrip("/")
    raw = url.replace("https://github.com/", "https://raw.githubusercontent.com/", 1)
    return (f'pip install -r {raw}/HEAD/binder/requirements.txt "git+{url}"'
            if raw != url else f'pip install "git+{url}" plus its binder/requirements.txt')

ADMONITIONS = {"note", "warning", "tip", "important", "hint", "caution", "attention", "danger",
               "error", "seealso", "admonition", "margin", "sidebar", "topic", "epigraph"}
HIDE_SOURCE = {"remove-input", "remove-cell", "hide-input", "hide-cell"}
HIDE_OUTPUT = {"remove-output", "remove-cell", "hide-output", "hide-cell"}
#: roles that become their text (``{term}`folios <folio>``` -> "folios")
TEXT_ROLES = {"term", "ref", "numref", "eq", "abbr", "index", "sub-ref", "download"}
#: roles that become inline code
CODE_ROLES = {"code", "literal", "samp", "file", "command", "kbd", "program", "envvar", "math",
              "py:func", "py:class", "py:mod", "py:meth", "py:attr", "py:data", "func",
              "class", "mod", "meth", "attr", "data", "any"}

_ROLE = re.compile(r"\{(?P<name>[A-Za-z][\w:+.-]*)\}(?P<ticks>`+)(?P<body>.+?)(?P=ticks)"
                   r"|(?P<code>(?P<cticks>`+).+?(?P=cticks))", re.S)
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\s*(?P<rest>.*)$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[A-Za-z][\w:+.-]*)\}\s*(?P<arg>.*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):(?:\s+(?P<value>.*))?$")
_TARGET = re.compile(r"^\s*\(([^()\s]+)\)=\s*$")
_TEXT_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
#: what would make a line a list item or a heading (``17.``, ``3)``, ``-``, ``+``)
_LINE_START = re.compile(r"^(\d*)([.)+-])(?=\s|$)")
_ORDERED = re.compile(r"^(?P<indent>\s*)(?P<n>\d{1,9})[.)](?=\s|$)")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$#])")

Glue = Mapping[str, Mapping[str, Any]]


@dataclass
class Export:
    """The notebook and what could not be rendered (one line each)."""

    notebook: Any
    problems: list[str] = field(default_factory=list)


# -- glue data ----------------------------------------------------------------------------------
def read_glue(path: Path) -> dict[str, dict[str, Any]]:
    """``name -> {mime: data}`` from myst-nb's ``<doc>.glue.json`` (empty if there is none)."""
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {name: dict(out.get("data", {})) for name, out in raw.items()}


def glue_from_notebook(nb: Any) -> dict[str, dict[str, Any]]:
    """``name -> {mime: data}`` from an executed notebook's glue outputs (myst-nb's format)."""
    found: dict[str, dict[str, Any]] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            scrap = out.get("metadata", {}).get("scrapbook")
            if scrap:
                prefix = len(scrap.get("mime_prefix", ""))
                found[scrap["name"]] = {k[prefix:]: v for k, v in out.get("data", {}).items()}
    return found


def format_plain_text(text: str, spec: str) -> str:
    """What myst-nb's ``{glue:text}`` shows for ``text/plain`` and a format spec."""
    try:
        value: Any = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if spec == "":
        return str(value)
    kind = spec[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, spec)


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown (the site pastes glued text as a text node)."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


# -- roles --------------------------------------------------------------------------------------
@dataclass
class _Context:
    glue: Glue
    doc_title: Callable[[str], tuple[str, bool] | None]
    problems: list[str]
    where: str
    labels: Mapping[str, str] = field(default_factory=dict)  #: (label)= -> section title

    def problem(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}")


def _split_text_target(body: str) -> tuple[str, str]:
    m = _TEXT_TARGET.match(body.strip())
    return (m["text"].strip(), m["target"].strip()) if m else (body.strip(), body.strip())


def _glue_inline(ctx: _Context, role: str, body: str) -> str:
    key, _, spec = body.partition(":")
    if "::" in body:
        ctx.problem(f"{{{role}}}`{body}` glues from another document; not supported")
        return escape_markdown(body)
    data = ctx.glue.get(key)
    if data is None:
        ctx.problem(f"{{{role}}}`{body}`: nothing glued under {key!r}")
        return escape_markdown(key)
    if role == "glue:md":
        if "text/markdown" in data:
            return str(data["text/markdown"]).strip()
        ctx.problem(f"{{{role}}}`{body}`: no text/markdown glued under {key!r}")
    if "text/plain" not in data:
        ctx.problem(f"{{{role}}}`{body}`: no text/plain glued under {key!r}")
        return escape_markdown(key)
    try:
        return escape_markdown(format_plain_text(str(data["text/plain"]), spec or "s"))
    except (TypeError, ValueError) as exc:
        ctx.problem(f"{{{role}}}`{body}`: cannot format {data['text/plain']!r}: {exc}")
        return escape_markdown(str(data["text/plain"]))


def _render_role(ctx: _Context, name: str, body: str) -> str:
    if name in ("glue", "glue:", "glue:any", "glue:text", "glue:md"):
        return _glue_inline(ctx, name, body)
    if name == "doc":
        text, target = _split_text_target(body)
        page = target.rsplit("/", 1)[-1]
        found = ctx.doc_title(target)
        if found is None:
            ctx.problem(f"{{doc}}`{body}`: no page {target!r}")
            return escape_markdown(text)
        title, is_notebook = found
        label = text if text != target else title
        return f"[{escape_markdown(label)}]({page}.ipynb)" if is_notebook else (
            f"*{escape_markdown(label)}*")
    if name in ("ref", "numref"):
        text, target = _split_text_target(body)
        if text == target and target in ctx.labels:
            return ctx.labels[target]
    if name in TEXT_ROLES:
        return _split_text_target(body)[0] if name != "abbr" else re.sub(r"\s*\(.*\)$", "",
                                                                          body)
    if name in CODE_ROLES:
        ticks = "``" if "`" in body else "`"
        return f"{ticks}{body}{ticks}"
    if name in ("sub", "sup"):
        return f"<{name}>{body}</{name}>"
    if name in ("strong", "emphasis"):
        return f"**{body}**" if name == "strong" else f"*{body}*"
    ctx.problem(f"the role {{{name}}} has no plain-Markdown rendering")
    return body


def render_roles(ctx: _Context, text: str) -> str:
    """Every role in ``text`` (outside code spans) as plain Markdown."""

    def one(m: re.Match) -> str:
        if m["code"] is not None:
            return m["code"]
        out = _render_role(ctx, m["name"], m["body"])
        line_start = text.rfind("\n", 0, m.start()) + 1
        if not text[line_start:m.start()].strip():  # at the start of a line: not a list item
            out = _LINE_START.sub(r"\1\\\2", out, count=1)
            if out.isdigit() and text[m.end():m.end() + 1] in (".", ")"):
                out += "\\"  # "17" + ". ..." would start an ordered list
        return out

    return _ROLE.sub(one, text)


def definition_lists(lines: list[str]) -> list[str]:
    """MyST definition lists (``Term`` then ``: definition``) as ``**Term**: definition``."""
    out: list[str] = []
    term_done = False
    for line in lines:
        if line.startswith(": ") and out and out[-1].strip():
            if term_done:  # a second definition of the same term
                out.append("")
                out.append(line[2:])
            else:
                out[-1] = f"**{out[-1].strip()}**: {line[2:]}"
            term_done = True
            continue
        if line.strip() and not line[:1].isspace():
            term_done = False
        out.append(line)
    return out


def protect_numbers(text: str) -> str:
    """Escape ``2026)``/``17.`` at the start of a line that continues a paragraph.

    CommonMark (the site's markdown-it) lets only ``1.`` interrupt a paragraph, so "… (Baolin
    Wang,\\n2026) came first" is one paragraph there; JupyterLab's marked starts a list at
    ``2026)``. A number that does not continue an ordered list gets its ``.``/``)`` escaped.
    """
    out, expected, prev_blank = [], None, True
    for line in text.split("\n"):
        m = _ORDERED.match(line)
        if m:
            n = int(m["n"])
            if prev_blank or n == 1 or n == expected:
                expected = n + 1
            else:
                line = f"{m['indent']}{m['n']}\\{line[m.end('n'):]}"
        elif line.strip() and prev_blank and not line[:1].isspace():
            expected = None  # a paragraph after a blank line: the list has ended
        prev_blank = not line.strip()
        out.append(line)
    return "\n".join(out)


# -- directives ---------------------------------------------------------------------------------
@dataclass
class _Block:
    name: str
    arg: str
    options: dict[str, str]
    body: list[str]


def _closes(line: str, fence: str) -> bool:
    s = line.strip()
    return bool(s) and set(s) == {fence[0]} and len(s) >= len(fence)


def _parse_directive(lines: list[str], start: int, fence: str) -> tuple[int, list[str]]:
    """Index of the line closing the block opened at ``start`` (or len) and the lines inside.

    As in CommonMark and MyST, the first line of only the fence's character, at least as long,
    closes it; a nested block therefore has a shorter fence than the one around it."""
    for i in range(start + 1, len(lines)):
        if _closes(lines[i], fence):
            return i, lines[start + 1:i]
    return len(lines), lines[start + 1:]


def _options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    i = 0
    if body and body[0].strip() == "---":  # a YAML block of options
        end = next((j for j in range(1, len(body)) if body[j].strip() == "---"), None)
        if end is not None:
            for line in body[1:end]:
                key, _, value = line.partition(":")
                options[key.strip()] = value.strip()
            return options, body[end + 1:]
    while i < len(body):
        m = _OPTION.match(body[i].strip())
        if not m:
            break
        options[m["key"]] = (m["value"] or "").strip()
        i += 1
    return options, body[i:]


#: a piece of a Markdown cell: ("md", text) or ("show", glue name)
Piece = tuple[str, str]


def _render_block(ctx: _Context, block: _Block) -> list[Piece]:
    name, arg = block.name, block.arg.strip()
    if name in ("glue", "glue:", "glue:any", "glue:figure"):
        key = arg
        if key not in ctx.glue:
            ctx.problem(f"{{{name}}} {key}: nothing glued under {key!r}")
        pieces: list[Piece] = [("show", key)]
        caption = "\n".join(block.body).strip()
        if caption:
            pieces.append(("md", f"*{render_markdown_text(ctx, caption)}*"))
        return pieces
    if name == "glue:md":
        data = ctx.glue.get(arg, {})
        if "text/markdown" not in data:
            ctx.problem(f"{{glue:md}} {arg}: no text/markdown glued under {arg!r}")
            return []
        return [("md", str(data["text/markdown"]))]
    inner = _render_pieces(ctx, "\n".join(block.body))
    if name in ADMONITIONS or name == "dropdown":
        title = arg or ("" if name in ("admonition", "dropdown") else name.capitalize())
        dropdown = name == "dropdown" or "dropdown" in block.options.get("class", "").split()
        if dropdown:
            head = f"<details>\n<summary>{render_markdown_text(ctx, title or 'Details')}"
            return [("md", head + "</summary>\n")] + inner + [("md", "</details>")]
        if title:
            inner = [("md", f"**{render_markdown_text(ctx, title)}**")] + inner
        quoted: list[Piece] = []
        for kind, text in _merge(inner):
            quoted.append((kind, "\n".join(f"> {line}".rstrip() for line in text.splitlines())
                           if kind == "md" else text))
        return quoted
    if name == "glossary":
        entries, term_lines, definition = [], [], []

        def flush() -> None:
            if term_lines:
                entries.append(f"**{' / '.join(term_lines)}**: {' '.join(definition).strip()}")

        for line in block.body:
            if not line.strip():
                continue
            if line[:1].isspace():
                definition.append(line.strip())
            else:
                if definition:
                    flush()
                    term_lines, definition = [], []
                term_lines.append(line.strip())
        flush()
        return [("md", render_markdown_text(ctx, "\n\n".join(entries)))]
    if name in ("code-block", "code", "sourcecode"):
        return [("md", f"```{arg}\n" + "\n".join(block.body) + "\n```")]
    if name in ("figure", "image"):
        alt = block.options.get("alt", "")
        caption = "\n".join(block.body).strip()
        text = f"![{alt}]({arg})"
        return [("md", text + (f"\n\n*{render_markdown_text(ctx, caption)}*" if caption else ""))]
    ctx.problem(f"the directive {{{name}}} has no plain-Markdown rendering")
    return inner


def _render_pieces(ctx: _Context, text: str) -> list[Piece]:
    lines = text.split("\n")
    pieces: list[Piece] = []
    plain: list[str] = []

    def flush() -> None:
        if plain:
            joined = protect_numbers(render_roles(ctx, "\n".join(definition_lists(plain))))
            pieces.append(("md", joined))
            plain.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        m = _FENCE.match(line)
        if m and (d := _DIRECTIVE.match(m["rest"])):
            close, body = _parse_directive(lines, i, m["fence"])
            options, body = _options(body)
            flush()
            pieces.extend(_render_block(ctx, _Block(d["name"], d["arg"], options, body)))
            i = close + 1
            continue
        if m and m["fence"][0] == "`":  # a plain code block: copied as it is
            close = next((j for j in range(i + 1, len(lines)) if _closes(lines[j], m["fence"])),
                         len(lines) - 1)
            flush()
            pieces.append(("md", "\n".join(lines[i:close + 1])))
            i = close + 1
            continue
        if _TARGET.match(line) or line.startswith("%"):
            i += 1
            continue
        plain.append(line)
        i += 1
    flush()
    return pieces


def render_markdown_text(ctx: _Context, text: str) -> str:
    """Markdown without MyST (for places where a code cell cannot go: titles, captions)."""
    out = []
    for kind, value in _render_pieces(ctx, text):
        if kind == "show":
            ctx.problem(f"a {{glue}} directive inside a title or caption: {value}")
        else:
            out.append(value)
    return "\n\n".join(out).strip()


def section_labels(text: str) -> dict[str, str]:
    """``(label)=`` targets of a MyST text and the titles of the headings they mark."""
    return {m["label"]: m["title"].strip() for m in re.finditer(
        r"^\((?P<label>[^()\s]+)\)=[ \t]*\n(?:[ \t]*\n)*#+[ \t]+(?P<title>.+)$", text, re.M)}


def render_markdown(text: str, glue: Glue | None = None,
                    doc_title: Callable[[str], tuple[str, bool] | None] | None = None,
                    where: str = "markdown",
                    labels: Mapping[str, str] | None = None) -> tuple[list[Piece], list[str]]:
    """Render one Markdown cell's MyST: ``(pieces, problems)``; a piece is ("md", text) or
    ("show", glue name). ``labels`` names the sections ``{ref}`` may point to."""
    problems: list[str] = []
    ctx = _Context(glue or {}, doc_title or (lambda target: None), problems, where,
                   labels or {})
    return _merge(_render_pieces(ctx, text)), problems


def _merge(pieces: Iterable[Piece]) -> list[Piece]:
    """Adjacent Markdown pieces joined into one (a paragraph break between them)."""
    merged: list[Piece] = []
    for kind, value in pieces:
        if kind == "md" and not value.strip():
            continue
        if kind == "md" and merged and merged[-1][0] == "md":
            merged[-1] = ("md", merged[-1][1].rstrip("\n") + "\n\n" + value.strip("\n"))
        else:
            merged.append((kind, value.strip("\n") if kind == "md" else value))
    return merged


# -- leftovers ----------------------------------------------------------------------------------
def myst_leftovers(markdown: str) -> list[str]:
    """What a Markdown cell would show as MyST markup in JupyterLab: roles outside code spans,
    directive fences, ``(label)=`` targets (one short excerpt each)."""
    found = []
    code_blocks = False
    fence = ""
    for line in markdown.split("\n"):
        m = _FENCE.match(line)
        if code_blocks:
            if _closes(line, fence):
                code_blocks = False
            continue
        if m and _DIRECTIVE.match(m["rest"]):
            found.append(line.strip())
            continue
        if m and m["fence"][0] == "`":
            code_blocks, fence = True, m["fence"]
            continue
        if m and m["fence"][0] == ":":
            found.append(line.strip())
            continue
        if _TARGET.match(line) or line.startswith(": "):
            found.append(line.strip())
            continue
        for r in _ROLE.finditer(line):
            if r["name"] is not None:
                found.append(r.group(0)[:80])
    return found


# -- the notebook -------------------------------------------------------------------------------
def _needed_modules(nb: Any) -> list[str]:
    """Top-level modules the code cells import that are not in the standard library."""
    names: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue  # IPython magics: the kernel says what is wrong
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            else:
                continue
            for mod in mods:
                top = mod.split(".")[0]
                if top not in sys.stdlib_module_names and top not in names and top != "IPython":
                    names.append(top)
    for mod in RUNTIME:
        if mod not in names:
            names.append(mod)
    return names


def requirements_cell_source(modules: Iterable[str], hint: str = INSTALL_HINT) -> str:
    """The first cell: one line naming what is missing (no traceback), else nothing."""
    mods = ", ".join(f'"{m}"' for m in modules)
    return (
        "# This chapter of the book runs on its package (simcore, bookkit) and ipywidgets:\n"
        f"# {hint}.\n"
        "import importlib.util\n\n\n"
        "class MissingPackages(Exception):\n"
        "    def _render_traceback_(self):  # IPython shows this one line, not a traceback\n"
        "        return [str(self)]\n\n\n"
        f"missing = [m for m in ({mods},) if importlib.util.find_spec(m) is None]\n"
        "if missing:\n"
        "    raise MissingPackages(f\"This notebook needs {', '.join(missing)}: \"\n"
        f"                          {hint + '.'!r})\n\n"
        "from bookkit.glue import show  # shows the tables and figures the site shows\n"
    )


def _hide(cell: Any) -> None:
    tags = set(cell.metadata.get("tags", []))
    jupyter = dict(cell.metadata.get("jupyter", {}))
    if tags & HIDE_SOURCE:
        jupyter["source_hidden"] = True
    if tags & HIDE_OUTPUT:
        jupyter["outputs_hidden"] = True
    if jupyter:
        cell.metadata["jupyter"] = jupyter


def page_titles(book_dir: Path) -> Callable[[str], tuple[str, bool] | None]:
    """``target -> (title, is a notebook)`` for ``{doc}`` links to pages in ``book_dir``."""
    cache: dict[str, tuple[str, bool] | None] = {}

    def title(target: str) -> tuple[str, bool] | None:
        name = target.removesuffix(".md").rsplit("/", 1)[-1]
        if name not in cache:
            path = book_dir / f"{name}.md"
            if not path.is_file():
                cache[name] = None
            else:
                text = path.read_text(encoding="utf-8")
                head = re.search(r"^#\s+(.+?)\s*$", text, re.M)
                cache[name] = (head[1] if head else name, _is_notebook(text))
        return cache[name]

    return title


def export(source: Path, glue: Glue, *, strip: Callable[[Any], Any] | None = None,
           repo_url: str | None = None,
           doc_title: Callable[[str], tuple[str, bool] | None] | None = None) -> Export:
    """The plain notebook of the chapter ``source`` (a MyST ``.md``) with ``glue``'s values.

    ``strip`` edits the jupytext notebook first (the student edition drops solutions).
    """
    import jupytext
    import nbformat

    nb = jupytext.read(source)
    nb.metadata.pop("jupytext", None)
    nb.metadata.pop("mystnb", None)
    if strip is not None:
        strip(nb)
    titles = doc_title or page_titles(source.parent)
    labels = section_labels(source.read_text(encoding="utf-8"))
    problems: list[str] = []
    cells = [nbformat.v4.new_code_cell(requirements_cell_source(_needed_modules(nb),
                                                                install_hint(repo_url)),
                                       metadata={"tags": ["remove-input", "requirements"],
                                                 "jupyter": {"source_hidden": True}})]
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            _hide(cell)
            cells.append(cell)
            continue
        if cell.cell_type != "markdown":
            cells.append(cell)
            continue
        pieces, found = render_markdown(cell.source, glue, titles,
                                        where=f"{source.name}, cell {index + 1}",
                                        labels=labels)
        problems += found
        for kind, value in pieces:
            if kind == "md":
                cells.append(nbformat.v4.new_markdown_cell(value, metadata=dict(cell.metadata)))
            else:
                shown = nbformat.v4.new_code_cell(
                    f"show({value!r})",
                    metadata={"tags": ["remove-input"], "jupyter": {"source_hidden": True}})
                cells.append(shown)
    for cell in cells:
        cell.pop("id", None)
    nb.cells = cells
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return Export(nb, problems)


# -- command line ---------------------------------------------------------------------------------
def _execute_for_glue(source: Path) -> dict[str, dict[str, Any]]:
    """Run the chapter (as the site build does) and collect what it glues."""
    import os

    import jupytext
    from nbclient import NotebookClient

    from bookkit.glue import ENV, MYST_NB

    nb = jupytext.read(source)
    old = os.environ.get(ENV)
    os.environ[ENV] = MYST_NB
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(source.parent)}}).execute()
    finally:
        if old is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = old
    return glue_from_notebook(nb)


def toc_chapters(toc: Path) -> list[Path]:
    """The pages of a Jupyter Book ``_toc.yml`` that are notebooks (a jupytext header with a
    kernelspec), as paths."""
    import yaml

    found: list[Path] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    found.append(toc.parent / f"{node[key]}.md")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(toc.read_text(encoding="utf-8")))
    return [p for p in found if p.is_file() and _is_notebook(p.read_text(encoding="utf-8"))]


def _is_notebook(text: str) -> bool:
    return text.startswith("---") and "\nkernelspec:" in text.split("\n---", 1)[0]


def _sources_sha(nb: Any) -> str:
    import hashlib

    h = hashlib.sha256()
    for cell in nb.cells:
        h.update(cell.cell_type.encode() + b"\0" + cell.source.encode() + b"\0")
    return h.hexdigest()[:16]


def write_notebook(nb: Any, target: Path, keep_edited: bool) -> str:
    """Write ``nb`` to ``target``; with ``keep_edited`` an existing notebook whose cells the
    reader changed since it was written is kept. Returns what happened (one word)."""
    import nbformat

    nb.metadata.setdefault("bookkit", {})["exported_sha"] = _sources_sha(nb)
    if keep_edited and target.is_file():
        try:
            old = nbformat.read(target, as_version=4)
        except Exception:  # unreadable: the reader's file, leave it alone
            return "kept"
        stamp = old.metadata.get("bookkit", {}).get("exported_sha")
        if _sources_sha(old) == nb.metadata["bookkit"]["exported_sha"]:
            return "unchanged"
        if stamp != _sources_sha(old):
            return "kept"
    tmp = target.with_name(f".{target.name}.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(target)
    return "written"


def main(argv: list[str] | None = None) -> int:
    prog = "python -m bookkit.notebook"
    ap = argparse.ArgumentParser(
        prog=prog,
        description="Export MyST chapters as plain notebooks with their glued values.")
    ap.add_argument("chapters", nargs="*", type=Path, metavar="CHAPTER.md")
    ap.add_argument("--toc", type=Path, metavar="FILE",
                    help="also every notebook page of this _toc.yml")
    ap.add_argument("--out", type=Path, required=True, metavar="DIR")
    ap.add_argument("--glue", type=Path, metavar="DIR",
                    help="myst-nb's jupyter_execute/ folder of a site build, with "
                         "<page>.glue.json (default: execute each chapter to compute them)")
    ap.add_argument("--keep-edited", action="store_true",
                    help="do not overwrite a notebook in DIR that was edited since written")
    args = ap.parse_args(argv)

    chapters = list(args.chapters)
    if args.toc:
        if not args.toc.is_file():
            print(f"{prog}: error: no table of contents {args.toc}", file=sys.stderr)
            return 2
        chapters += toc_chapters(args.toc)
    if not chapters:
        print(f"{prog}: error: no chapters given (CHAPTER.md or --toc)", file=sys.stderr)
        return 2
    for source in chapters:
        if not source.is_file():
            print(f"{prog}: error: no chapter {source}", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    status = 0
    for source in chapters:
        if args.glue:
            rel = source.resolve().relative_to(args.toc.resolve().parent) if args.toc else (
                Path(source.name))
            glue = read_glue(args.glue / rel.with_suffix(".glue.json"))
        else:
            glue = _execute_for_glue(source)
        result = export(source, glue)
        target = args.out / f"{source.stem}.ipynb"
        what = write_notebook(result.notebook, target, args.keep_edited)
        for problem in result.problems:
            print(f"{prog}: {problem}", file=sys.stderr)
            status = 1
        note = " (edited since written: kept; delete it for the current version)" if (
            what == "kept") else ""
        print(f"{target}: {what}{note}")
    return status


if __name__ == "__main__":
    sys.exit(main())
