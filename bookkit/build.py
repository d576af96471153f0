"""Build the book's website with Jupyter Book 1 (Sphinx), strictly.

Usage (from the repository top)::

    python -m bookkit.build --edition instructor --out _build          # -> _build/html
    python -m bookkit.build --edition student --out _build/student     # -> _build/student/html

What it adds to a bare ``jupyter-book build .``:

* **Strictness.** Sphinx runs with warnings as errors, nitpicky and keep-going, so a build
  fails (exit 1, and a one-line verdict naming the first problem) on any Sphinx warning and on
  any notebook cell error (myst-nb reports those as warnings), and on any cell that shows a
  Python error -- an ``error`` output or a traceback, even in a hidden output -- without
  raising (:mod:`bookkit.cellerrors`; a cell tagged ``raises-exception`` may show one).
  Because Sphinx only re-reads changed pages, a warning would not repeat on an unchanged
  rebuild; so after a failed build the next one starts from a fresh environment (the
  notebooks still come from the cache).
* **Execution cache.** Notebooks are executed through jupyter-cache in
  ``DIR/.jupyter_cache/<fingerprint>`` (``execute_notebooks: cache``), so an unchanged rebuild
  executes nothing; the fingerprint hashes simcore's and bookkit's sources, so a change to the
  code the chapters run re-executes them instead of reusing stale outputs.
* **Editions.** ``BOOK_EDITION`` is set for the Sphinx extensions and for the kernels that
  execute the notebooks; the ``student`` edition strips solutions (``book/_ext/edition_filter.py``)
  and does not copy page sources. Switching the edition of an output directory wipes its HTML.
* **Live runtime.** After Sphinx, `bookkit.liveruntime.install` copies Pyodide (npm), pinned
  pure-Python wheels (PyPI) and a zip of simcore into ``html/_static/live`` for the scenario
  editors; where npm or the network is missing it says so in one line and the site is built
  without it.
* **Glue.** ``BOOKKIT_GLUE=myst-nb`` makes :func:`bookkit.glue.glue` record every value in
  myst-nb's glue format in those kernels (elsewhere it only remembers it, see
  :mod:`bookkit.glue`).
* **Imports.** The repository top is put on ``PYTHONPATH`` so that notebooks can
  ``import bookkit`` and ``import simcore`` from a checkout.

Exit codes: 0 built, 1 the build failed, 2 bad command line.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import TextIO

from bookkit.cellerrors import check_doctree
from bookkit.glue import ENV as GLUE_ENV
from bookkit.glue import MYST_NB as GLUE_MYST_NB

REPO = Path(__file__).resolve().parent.parent
EDITIONS = ("instructor", "student")
PROG = "python -m bookkit.build"
STATUS_FILE = ".bookkit-build-status"
#: The code the notebooks execute. jupyter-cache keys a notebook by its own text only, so a
#: change here must not reuse old outputs: the cache lives under a fingerprint of these files.
#: what the chapters import or read; _build/kernlab holds the live-kernel lab's records
#: (`make kernlab-record`), which the kernel-lab and performance chapters show. The site's own
#: scripts and styles count too: Sphinx copies static files only when some page is out of date,
#: so an edit of player.js alone would otherwise leave the old copy in _build/html/_static.
CODE_DIRS = ("simcore", "bookkit", "kernlab", "_build/kernlab", "book/_static")
CODE_SUFFIXES = (".py", ".json", ".js", ".mjs", ".css")


def code_fingerprint(repo: Path | None = None) -> str:
    """SHA-256 (16 hex digits) of every file the chapters import or read, and the site's assets."""
    import hashlib

    repo = repo or REPO
    h = hashlib.sha256()
    for d in CODE_DIRS:
        for p in sorted((repo / d).rglob("*")):
            if p.suffix in CODE_SUFFIXES and p.is_file() and "__pycache__" not in p.parts:
                h.update(p.relative_to(repo).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{PROG}: error: {message} (see --help)\n")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(
        prog=PROG,
        description="Build the website of the book into OUT/html (warnings are errors).",
    )
    parser.add_argument(
        "--edition",
        choices=EDITIONS,
        default="instructor",
        help="instructor: everything; student: no solutions (default: instructor)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="_build",
        help="output directory; the site goes to DIR/html (default: _build)",
    )
    parser.add_argument(
        "--root",
        metavar="DIR",
        default=None,
        help="the book's top directory with _config.yml (default: the repository top)",
    )
    parser.add_argument(
        "--toc",
        metavar="FILE",
        default=None,
        help="table of contents to build (default: _toc.yml in the book's top directory)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="re-read every page (the notebook execution cache is kept)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only print warnings and the verdict"
    )
    return parser.parse_args(argv)


class _WarningTee:
    """A stream for Sphinx warnings: passes everything on and remembers the problems."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.problems: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self.stream.write(text)
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            line = _ANSI.sub("", line).strip()
            if any(tag in line for tag in ("WARNING:", "ERROR:", "CRITICAL:", "SEVERE:")):
                self.problems.append(line)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def _prewarm_matplotlib() -> None:
    """Build matplotlib's font cache here, not in a notebook, where its stderr notice
    ("Matplotlib is building the font cache") would fail the build (stderr_output: warn)."""
    try:
        import matplotlib  # noqa: F401
        import matplotlib.font_manager  # noqa: F401
    except Exception:  # matplotlib missing or broken: the notebooks will tell
        pass


def _sphinx_build(
    root: Path, edition: str, out: Path, toc: Path, fresh: bool, quiet: bool, warn: _WarningTee,
    cache: Path,
) -> int:
    from jupyter_book.config import get_final_config
    from sphinx.application import Sphinx
    from sphinx.util.console import nocolor
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    if os.environ.get("NO_COLOR") or not sys.stderr.isatty():
        nocolor()
    html_dir = out / "html"
    overrides = {
        # what `jupyter-book build` passes for a book
        "external_toc_path": toc.as_posix(),
        "latex_individualpages": False,
        # -n
        "nitpicky": True,
        # ours
        "bookkit_edition": edition,
        "html_copy_source": edition != "student",
        "nb_execution_cache_path": str(cache),
    }
    sphinx_config, _meta = get_final_config(
        user_yaml=root / "_config.yml",
        cli_config=overrides,
        sourcedir=root,
        validate=True,
        raise_on_invalid=True,
    )
    if "sphinx_comments" not in sphinx_config.get("extensions", []):
        # Jupyter Book's defaults always carry html.comments; without sphinx_comments (we load
        # no hypothes.is/utterances) Sphinx would warn "unknown config value 'comments_config'".
        sphinx_config.pop("comments_config", None)
    with patch_docutils(root), docutils_namespace():
        app = Sphinx(
            srcdir=root,
            confdir=None,
            outdir=html_dir,
            doctreedir=out / ".doctrees",
            buildername="html",
            confoverrides=sphinx_config,
            status=None if quiet else sys.stdout,
            warning=warn,  # type: ignore[arg-type]
            freshenv=fresh,
            warningiserror=True,
            keep_going=True,
            verbosity=0,
            parallel=1,
        )
        # a cell can show a Python error without failing its notebook: see bookkit.cellerrors
        app.connect("doctree-read", check_doctree)
        app.build()
        return app.statuscode


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    edition: str = args.edition
    out = Path(args.out)
    if not out.is_absolute():
        out = Path.cwd() / out
    out = out.resolve()
    root = Path(args.root).resolve() if args.root else REPO
    if out == root or root.is_relative_to(out):
        print(f"{PROG}: error: --out {args.out} would overwrite the sources", file=sys.stderr)
        return 2
    toc = Path(args.toc).resolve() if args.toc else root / "_toc.yml"
    for needed in (root / "_config.yml", toc):
        if not needed.is_file():
            print(f"{PROG}: error: {needed} is missing", file=sys.stderr)
            return 2 if (args.root or args.toc) else 1

    out.mkdir(parents=True, exist_ok=True)
    status_path = out / STATUS_FILE
    previous = status_path.read_text().split() if status_path.is_file() else []
    fresh = bool(args.fresh)
    if previous and previous[0] != edition:
        # Never mix editions in one directory (a student site must not keep instructor files).
        shutil.rmtree(out / "html", ignore_errors=True)
        shutil.rmtree(out / ".doctrees", ignore_errors=True)
    elif previous[1:2] != ["ok"]:
        fresh = True  # first build, or the last one failed: make every warning show again
    fingerprint = code_fingerprint()
    if previous[2:3] != [fingerprint]:
        fresh = True  # simcore or bookkit changed: re-read (and so re-execute) every page
    cache_root = out / ".jupyter_cache"
    if cache_root.is_dir():
        for old in cache_root.iterdir():
            if old.name != fingerprint:
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    status_path.write_text(f"{edition} running\n")
    # myst-nb leaves failing cells' tracebacks in html/reports/; never publish stale ones
    shutil.rmtree(out / "html" / "reports", ignore_errors=True)

    os.environ["BOOK_EDITION"] = edition
    os.environ[GLUE_ENV] = GLUE_MYST_NB  # bookkit.glue: glue for myst-nb's roles and directives
    path = os.environ.get("PYTHONPATH", "")
    if str(REPO) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), path) if p)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    os.chdir(root)
    _prewarm_matplotlib()

    warn = _WarningTee(sys.stderr)
    started = time.monotonic()
    try:
        status = _sphinx_build(root, edition, out, toc, fresh, args.quiet, warn,
                               cache_root / fingerprint)
    except Exception as exc:  # Sphinx/extension crash: keep the traceback, say one line
        log = out / "build-error.log"
        log.write_text("".join(traceback.format_exception(exc)))
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"{PROG}: FAILED ({edition} edition): {type(exc).__name__}: {first} "
            f"(traceback in {log})",
            file=sys.stderr,
        )
        return 1
    elapsed = time.monotonic() - started

    if status != 0 or warn.problems:
        n = len(warn.problems)
        first = f"; first: {warn.problems[0]}" if warn.problems else ""
        print(
            f"{PROG}: FAILED ({edition} edition): {n} warning(s) treated as errors{first}",
            file=sys.stderr,
        )
        return 1
    status_path.write_text(f"{edition} ok {fingerprint}\n")
    from bookkit.liveruntime import install

    live_ok, live_line = install(out / "html")
    print(live_line)
    if not live_ok and os.environ.get("BOOKKIT_LIVE") == "require":
        print(f"{PROG}: FAILED ({edition} edition): BOOKKIT_LIVE=require but {live_line}",
              file=sys.stderr)
        return 1
    print(f"{PROG}: OK: {edition} edition in {out / 'html'} ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
