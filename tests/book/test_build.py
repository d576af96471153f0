"""The website build (python -m bookkit.build) and what the built site contains.

One session fixture builds a small book -- the real _config.yml, book/_ext, book/_static and
book/_templates, a one-line preface and the machinery's demo chapter (book/demo.md, which
exercises players, a live widget and every kind of solution) -- in both editions into a
temporary directory, so the tests do not depend on the chapters being written; a second,
deliberately broken mini book checks that every kind of problem fails the build with a
one-line verdict. The browser
test serves the instructor site on 127.0.0.1 and loads it in Chromium (skipped without
Chromium unless REQUIRE_BROWSER=1; the axe-core scan needs tests/browser/node_modules/axe-core,
installed from its lockfile by the axe_core_js fixture, see AXE_CORE_JS, and is skipped without
it unless REQUIRE_AXE=1).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROG = "python -m bookkit.build"
MARKERS = ("sol-marker-admonition", "sol-marker-dropdown", "sol-marker-markdown-cell",
           "sol-marker-code-cell")
DEMO_SRC = REPO / "book" / "demo.md"
DEMO_TOC = "format: jb-book\nroot: book/index\nchapters:\n  - file: book/demo\n"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE_JS = Path(os.environ.get("AXE_CORE_JS",
                             REPO / "tests/browser/node_modules/axe-core/axe.min.js"))

EXTERNAL = [
    re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//""", re.I),
    re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//""", re.I),
    re.compile(r"""@import\s+(?:url\()?\s*["']?(?:https?:)?//""", re.I),
]


def build(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BOOK_EDITION"}
    return subprocess.run(
        [sys.executable, "-m", "bookkit.build", *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env,
    )


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def make_book(root: Path, pages: dict[str, str], toc: str) -> Path:
    """A book at ``root`` with the repository's configuration, extensions and assets."""
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    for sub in ("_ext", "_static", "_templates"):
        shutil.copytree(REPO / "book" / sub, root / "book" / sub)
    shutil.copytree(REPO / "bookkit" / "static", root / "bookkit" / "static")  # player.js/.css
    for name, text in pages.items():
        (root / "book" / f"{name}.md").write_text(text)
    (root / "_toc.yml").write_text(toc)
    return root


@pytest.fixture(scope="session")
def sites(tmp_path_factory):
    base = tmp_path_factory.mktemp("book")
    (base / "src").mkdir()
    root = make_book(
        base / "src",
        {"index": "# Demo book\n\nThe machinery's test book.\n", "demo": DEMO_SRC.read_text()},
        DEMO_TOC,
    )
    out = {"root": root}
    for edition in ("instructor", "student"):
        r = build("--root", str(root), "--edition", edition, "--out", str(base / edition), "-q")
        assert r.returncode == 0, r.stderr[-4000:]
        assert last_line(r.stdout).startswith(f"{PROG}: OK: {edition} edition")
        out[edition] = base / edition / "html"
    return out


# --- command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--edition", "teacher"], ["--bogus"], ["--out"], ["--toc", "/nonexistent/toc.yml"]],
)
def test_bad_command_line_is_one_line_and_exit_2(args, tmp_path):
    r = build(*args, "--out", str(tmp_path)) if args != ["--out"] else build(*args)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith(f"{PROG}: error:")
    assert "Traceback" not in r.stderr


# --- the Sphinx extensions' helpers (no build) ---------------------------------------------


@pytest.fixture(scope="module")
def ext():
    sys.path.insert(0, str(REPO / "book" / "_ext"))
    try:
        import edition_filter
        import site_hygiene

        yield {"edition_filter": edition_filter, "site_hygiene": site_hygiene}
    finally:
        sys.path.remove(str(REPO / "book" / "_ext"))


def test_duplicate_inline_scripts_are_dropped(ext):
    """Sphinx 7 registers add_js_file(None, body=...) twice, as None and as '' (THEBE_JS_URL)."""
    assets = pytest.importorskip("sphinx.builders.html._assets")
    js = assets._JavaScript
    scripts = [js("a.js"), js(None, body="const X = 1"), js("b.js"), js("", body="const X = 1"),
               js("a.js"), js("", body="var y = 2")]
    ext["site_hygiene"].dedupe_page_scripts(None, "p", "page.html", {"script_files": scripts}, None)
    assert [(j.filename or "", j.attributes.get("body")) for j in scripts] == [
        ("a.js", None), ("", "const X = 1"), ("b.js", None), ("", "var y = 2"),
    ]


def test_external_reference_scan(ext):
    find = ext["site_hygiene"].external_references
    html = (
        '<script src="_static/x.js"></script>\n<script defer src="https://cdn.example/y.js">'
        '</script>\n<link rel="stylesheet" href="//fonts.example/f.css" />\n'
        '<a href="https://lore.kernel.org/">a link is fine</a>\n'
        '<style>@import url("https://fonts.googleapis.com/css");</style>'
    )
    found = [(line, kind) for line, kind, _ in find(html, css=False)]
    assert sorted(found) == [(2, "script"), (3, "link"), (5, "@import")]
    assert find("a { background: url(https://x.example/a.png) }", css=True)[0][1] == "css url()"
    assert find("a { background: url(../img/a.png) }", css=True) == []


SOLUTION_MD = """Intro.

:::::{admonition} Exercise
Question?
::::{dropdown} Hint
Not a solution.
::::
:::{admonition} Answer
:class: dropdown solution
SECRET-1
:::
:::::

::::{dropdown} Answer
:class-container: solution
SECRET-2
```python
print("SECRET-3")
```
::::

```{admonition} Also
---
class: solution
---
SECRET-4
```

```markdown
:::{admonition} quoted in a code block
:class: solution
kept
:::
```
Outro.
"""


def test_solution_blocks_are_stripped_from_markdown(ext):
    out = ext["edition_filter"].strip_solution_blocks(SOLUTION_MD)
    for secret in ("SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4"):
        assert secret not in out
    for kept in ("Intro.", "Question?", "Not a solution.", "quoted in a code block", "kept",
                 "Outro."):
        assert kept in out
    assert out.count(":::::{admonition} Exercise") == 1 and out.count(":::::\n") == 1
    assert ext["edition_filter"].strip_solution_blocks("no blocks\n") == "no blocks\n"


def test_solution_cells_are_hidden_but_kept_for_execution(ext):
    ef = ext["edition_filter"]
    text = DEMO_SRC.read_text()
    assert ef.is_myst_notebook_text(text)
    new, marked = ef.mark_solution_cells_removed(text)
    assert marked == 2
    jupytext = pytest.importorskip("jupytext")
    before, after = jupytext.reads(text, fmt="md:myst"), jupytext.reads(new, fmt="md:myst")
    assert [c.source for c in before.cells] == [c.source for c in after.cells]
    hidden = [c for c in after.cells if "remove-cell" in c.metadata.get("tags", [])]
    assert {c.cell_type for c in hidden} == {"markdown", "code"}
    assert ef.mark_solution_cells_removed("---\njupytext: {}\n---\n# x\n")[1] == 0


# --- the instructor edition -----------------------------------------------------------------


def test_site_has_pages_player_assets_and_no_sources_leak(sites):
    html = sites["instructor"]
    demo = (html / "book" / "demo.html").read_text()
    assert (html / "index.html").exists() and (html / "book" / "index.html").exists()
    # the top page redirects to the root page with an inline empty icon (else the browser asks
    # for /favicon.ico: a 404 in the console when that request beats the redirect)
    top = (html / "index.html").read_text()
    assert '<meta http-equiv="Refresh" content="0; url=book/index.html">' in top
    assert '<link rel="icon" href="data:,">' in top
    assert '<a href="book/index.html">' in top
    for asset in ("player.js", "player.css", "bookkit.css", "favicon.svg"):
        assert (html / "_static" / asset).exists(), asset
        assert asset in demo
    assert demo.count('class="ttu-player"') == 2
    assert 'data-frame-index="0"' in demo
    # the glossary works through plain Sphinx
    assert 'href="#term-PTE"' in demo


def test_site_loads_nothing_from_elsewhere(sites):
    for path in sorted(sites["instructor"].rglob("*")):
        if path.suffix in (".html", ".css"):
            text = path.read_text(errors="replace")
            for pattern in EXTERNAL:
                m = pattern.search(text)
                assert m is None, f"{path}: {text[m.start():m.start() + 120]}"
    demo = (sites["instructor"] / "book" / "demo.html").read_text()
    for needle in ("THEBE_JS_URL", "thebe", "require.js", "mathjax", "MathJax", "unpkg",
                   "cdn.jsdelivr", "googleapis", "@jupyter-widgets/html-manager"):
        assert needle not in demo, needle


def test_live_output_renders_its_static_twin_not_a_frozen_widget(sites):
    demo = (sites["instructor"] / "book" / "demo.html").read_text()
    assert "application/vnd.jupyter.widget-view+json" not in demo
    assert "application/vnd.jupyter.widget-state+json" not in demo
    assert "Loading widget" not in demo
    assert 'id="ttu-demo-live"' in demo and 'id="ttu-demo-small"' in demo


def test_live_output_in_jupyter_is_the_widget(tmp_path):
    """Executed by nbclient (as Jupyter would), the Live output carries the widget view."""
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    nb = jupytext.read(REPO / "book" / "demo.md")
    env_path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path
    try:
        nbclient.NotebookClient(
            nb, timeout=120, kernel_name="python3",
            resources={"metadata": {"path": str(REPO / "book")}},
        ).execute()
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    bundles = [o["data"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if o.get("output_type") == "execute_result"]
    live = [b for b in bundles if "application/vnd.jupyter.widget-view+json" in b]
    assert len(live) == 1
    assert 'class="ttu-player"' in live[0]["text/html"]
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata.get("widgets", {})


def test_chapter_notebook_download(sites):
    html = sites["instructor"]
    demo = (html / "book" / "demo.html").read_text()
    assert "Download this chapter as a notebook (.ipynb)" in demo
    hrefs = re.findall(r'href="([^"]*_notebooks/[^"]*\.ipynb)"', demo)
    assert hrefs and all(h == "../_notebooks/book/demo.ipynb" for h in hrefs)
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(html / "_notebooks" / "book" / "demo.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "jupytext" not in nb.metadata
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    text = json.dumps(nb)
    for marker in MARKERS:
        assert marker in text, marker
    # the index page is not a notebook: no download link
    assert "Download this chapter" not in (html / "book" / "index.html").read_text()


def test_instructor_edition_shows_solutions(sites):
    demo = (sites["instructor"] / "book" / "demo.html").read_text()
    for marker in MARKERS:
        assert marker in demo, marker
    assert (sites["instructor"] / "_sources" / "book" / "demo.md").exists()


# --- the student edition --------------------------------------------------------------------


def test_student_edition_has_no_solution_anywhere(sites):
    html = sites["student"]
    assert not (html / "_sources").exists()
    for path in html.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for marker in MARKERS:
                assert marker.encode() not in data, f"{marker} in {path}"
    demo = (html / "book" / "demo.html").read_text()
    assert "edition: student" in demo
    # the solution cell still ran (the checker after it needs its result)
    assert "checked: True" in demo
    assert "Exercise 1" in demo
    assert "download-source-button" not in demo
    nb = json.loads((html / "_notebooks" / "book" / "demo.ipynb").read_text())
    assert not any("solution" in c.get("metadata", {}).get("tags", []) for c in nb["cells"])
    assert any("Exercise 1" in "".join(c["source"]) for c in nb["cells"])


def test_unchanged_rebuild_reads_and_executes_nothing(sites):
    out = sites["instructor"].parent
    r = build("--root", str(sites["root"]), "--edition", "instructor", "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "0 added, 0 changed, 0 removed" in r.stdout
    assert "Executing notebook" not in r.stdout + r.stderr


# --- failures -------------------------------------------------------------------------------

# page -> (is a notebook, body, what the build must report); few notebooks: kernels are slow
BROKEN_PAGES = {
    "cell_error": (True, "```{code-cell} ipython3\nraise ValueError('boom')\n```\n",
                   ["Executing notebook failed"]),
    "outputs": (
        True,
        "```{code-cell} ipython3\nimport sys\nprint('oops', file=sys.stderr)\n```\n\n"
        "```{code-cell} ipython3\nimport ipywidgets\nipywidgets.IntSlider()\n```\n",
        ["stderr", "without a static twin"],
    ),
    "markdown": (False, "Some {math}`x^2` here. See {doc}`nowhere`.\n",
                 ["math is not supported", "unknown document"]),
}
NB_HEADER = (
    "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
    "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
)


@pytest.fixture(scope="session")
def broken_book(tmp_path_factory):
    pages = {"index": "# Broken\n\nA book with one problem per page.\n"}
    toc = ["format: jb-book", "root: book/index", "chapters:"]
    for name, (notebook, body, _msgs) in BROKEN_PAGES.items():
        pages[name] = f"{NB_HEADER if notebook else ''}# {name}\n\n{body}"
        toc.append(f"  - file: book/{name}")
    return make_book(tmp_path_factory.mktemp("broken"), pages, "\n".join(toc) + "\n")


def test_every_problem_fails_the_build_with_a_one_line_verdict(broken_book, tmp_path):
    out = tmp_path / "out"
    r = build("--root", str(broken_book), "--out", str(out), "-q")
    assert r.returncode == 1
    verdict = last_line(r.stderr)
    assert verdict.startswith(f"{PROG}: FAILED (instructor edition): ")
    assert "warning(s) treated as errors; first: " in verdict
    assert "Traceback" not in verdict
    expected = [(name, m) for name, (_nb, _body, msgs) in BROKEN_PAGES.items() for m in msgs]
    for name, message in expected:
        assert message in r.stderr, f"{name}: {message!r} not reported"
    count = int(re.search(r": (\d+) warning", verdict).group(1))
    assert count >= len(expected)

    # nothing changed: the next build must fail again, not reuse the cached environment
    again = build("--root", str(broken_book), "--out", str(out), "-q")
    assert again.returncode == 1
    assert int(re.search(r": (\d+) warning", last_line(again.stderr)).group(1)) == count


# --- cells that show a Python error without raising ---------------------------------------


def _code(source: str, *outputs: dict, tags: tuple[str, ...] = ()) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)},
            "outputs": list(outputs)}


def _stream(name: str, text: str) -> dict:
    return {"output_type": "stream", "name": name, "text": text}


TB = ('Traceback (most recent call last):\n  File "<x>", line 1\n'
      "ZeroDivisionError: division by zero\n")


def test_cell_problems_finds_every_shown_error_but_not_deliberate_ones():
    from bookkit.cellerrors import cell_problems

    nb = {
        "metadata": {"source_map": [3, 5, 9, 14, 20, 26, 31, 36]},
        "cells": [
            {"cell_type": "markdown", "source": "prose", "metadata": {}},
            _code("fine", _stream("stdout", "all good\n"), _stream("stderr", "a warning\n")),
            _code("formatter", {"output_type": "error", "ename": "TypeError",
                                "evalue": "static HTML must be a str\nsecond line",
                                "traceback": ["..."]}),
            _code("hidden", _stream("stderr", "before\n" + TB), tags=("remove-output",)),
            _code("stdout", _stream("stdout", TB)),
            _code("on purpose", {"output_type": "error", "ename": "ValueError", "evalue": "x",
                                 "traceback": []}, _stream("stderr", TB),
                  tags=("raises-exception",)),
            {"cell_type": "markdown", "source": "Traceback (most recent call last):",
             "metadata": {}},
            _code("list-valued text", _stream("stderr", TB.splitlines(keepends=True)),
                  tags=("remove-stderr", "remove-input")),
        ],
    }
    problems = cell_problems(nb)
    assert [(p.cell, p.line) for p in problems] == [(2, 9), (3, 14), (4, 20), (6, 36)]
    assert problems[0].message.startswith(
        "code cell 2 shows a Python error (TypeError: static HTML must be a str second line)")
    assert problems[1].message.startswith(
        "code cell 3 prints a Python traceback on stderr (ZeroDivisionError: division by zero)")
    assert "on stdout" in problems[2].message
    assert all("\n" not in p.message and "raises-exception" in p.message for p in problems)
    # no source map (a notebook not read from MyST Markdown): the cell, without a line
    del nb["metadata"]["source_map"]
    assert [(p.cell, p.line) for p in cell_problems(nb)][:1] == [(2, None)]


SHOWN_ERRORS_PAGE = (
    NB_HEADER + "# Shown errors\n\n"
    "```{code-cell} ipython3\nprint('fine')\n```\n\n"
    # the real case: a Live whose static twin is not a string; IPython catches the TypeError
    # of the display formatter, shows it as an error output and replies "ok"
    "```{code-cell} ipython3\nimport ipywidgets as w\nfrom bookkit.live import Live, static\n"
    "Live(w.Button(), static('<p>note</p>'))\n```\n\n"
    "```{code-cell} ipython3\n:tags: [remove-output]\nimport traceback\ntry:\n    1 / 0\n"
    "except ZeroDivisionError:\n    traceback.print_exc()\n```\n\n"
    "```{code-cell} ipython3\n:tags: [raises-exception]\nraise ValueError('shown on purpose')\n"
    "```\n\n"
    "```{code-cell} ipython3\ntry:\n    {}['key']\nexcept KeyError:\n"
    "    print(traceback.format_exc())\n```\n"
)


def test_a_cell_that_shows_an_error_without_raising_fails_the_build(tmp_path):
    (tmp_path / "src").mkdir()
    root = make_book(tmp_path / "src", {"index": "# Errors\n\nOne page.\n",
                                        "shown": SHOWN_ERRORS_PAGE},
                     "format: jb-book\nroot: book/index\nchapters:\n  - file: book/shown\n")
    r = build("--root", str(root), "--out", str(tmp_path / "out"), "-q")
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    verdict = last_line(r.stderr)
    page = root / "book" / "shown.md"
    line = SHOWN_ERRORS_PAGE.splitlines().index("import ipywidgets as w")  # 1-based fence line
    assert verdict.startswith(
        f"{PROG}: FAILED (instructor edition): 3 warning(s) treated as errors; first: "
        f"{page}:{line}: WARNING: code cell 2 shows a Python error (TypeError: static HTML "
        "must be a str"), verdict
    assert "code cell 3 prints a Python traceback on stderr (ZeroDivisionError" in r.stderr
    assert "code cell 5 prints a Python traceback on stdout (KeyError: 'key')" in r.stderr
    assert "code cell 4" not in r.stderr  # tagged raises-exception: shown on purpose


# --- in a browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(sites):
    handler = functools.partial(
        _QuietHandler, directory=str(sites["instructor"])
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _browser_or_skip():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    return pytest.importorskip("playwright.sync_api")


def test_pages_in_chromium_are_quiet_offline_and_accessible(served, axe_core_js):
    pw_api = _browser_or_skip()  # axe_core_js: npm ci in tests/browser if axe-core is missing
    axe = AXE_JS.read_text() if AXE_JS.exists() else None
    if axe is None and os.environ.get("REQUIRE_AXE") == "1":
        pytest.fail(f"REQUIRE_AXE=1 but no axe-core at {AXE_JS}")
    report = []
    with pw_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        everything = ("index.html", "book/index.html", "book/demo.html", "search.html")
        for scheme, width, height, pages in (
            ("light", 1280, 900, everything),
            ("dark", 1280, 900, ("book/demo.html",)),
            ("dark", 375, 800, ("book/index.html", "book/demo.html")),
        ):
            ctx = browser.new_context(viewport={"width": width, "height": height},
                                      color_scheme=scheme)
            for page_path in pages:
                page = ctx.new_page()
                seen: list[str] = []
                page.on("console", lambda m, s=seen: s.append(f"console {m.type}: {m.text}")
                        if m.type in ("error", "warning") else None)
                page.on("pageerror", lambda e, s=seen: s.append(f"page error: {e}"))
                page.on("requestfailed", lambda r, s=seen: s.append(f"failed: {r.url}"))
                page.on("request", lambda r, s=seen: None if r.url.startswith(served)
                        or r.url.startswith("data:") else s.append(f"third-party: {r.url}"))
                page.goto(f"{served}/{page_path}", wait_until="networkidle")
                where = f"{page_path} ({scheme}, {width}px)"
                theme = page.get_attribute("html", "data-theme")
                assert theme == scheme, f"{where}: data-theme={theme}"
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{where}: the page scrolls sideways by {overflow}px"
                if page_path == "book/demo.html":
                    assert page.locator(".ttu-player.ttu-ready").count() == 2
                    live = page.locator("#ttu-demo-live")
                    live.get_by_role("button", name="Next").click()
                    assert live.get_attribute("data-frame-index") == "1"
                    assert page.get_attribute("#ttu-demo-small", "data-frame-index") == "0"
                if axe is not None:
                    page.add_script_tag(content=axe)
                    violations = page.evaluate(
                        """async () => (await axe.run(document, {rules: {
                            'label-content-name-mismatch': {enabled: true}}})).violations
                           .filter(v => v.impact === 'serious' || v.impact === 'critical')
                           .map(v => v.id + ' ' + v.nodes.map(n => n.target.join(' ')))"""
                    )
                    seen.extend(f"axe: {v}" for v in violations)
                report.extend(f"{where}: {s}" for s in seen)
                page.close()
            ctx.close()
        browser.close()
    assert not report, "\n".join(report)


def test_fingerprint_covers_the_sites_scripts_and_styles(tmp_path):
    # Sphinx copies static files only when a page is out of date: an edit of player.js or
    # live.css alone must still make the next build fresh (a stale _static copy was seen).
    from bookkit.build import code_fingerprint

    for rel in ("bookkit/static/player.js", "bookkit/static/player.css", "book/_static/live.css",
                "book/_static/live-worker.mjs", "simcore/x.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("one")
    before = code_fingerprint(tmp_path)
    for rel in ("bookkit/static/player.js", "bookkit/static/player.css", "book/_static/live.css",
                "book/_static/live-worker.mjs"):
        (tmp_path / rel).write_text("two")
        after = code_fingerprint(tmp_path)
        assert after != before, rel
        before = after
    (tmp_path / "book" / "_static" / "notes.txt").write_text("not an asset")
    assert code_fingerprint(tmp_path) == before
