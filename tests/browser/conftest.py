"""Browser tests of the built website (Playwright + Debian's Chromium) and of a live kernel.

Fixtures:

``site``
    the instructor site (``book_html`` from tests/conftest.py: built once per session like
    ``make book``) served by a threaded ``http.server`` on 127.0.0.1 and a free port;
``browser``
    Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) launched headless through Playwright with
    the flags of ``CHROMIUM_ARGS``. Without Chromium or Playwright the tests are skipped with
    the reason -- unless ``CI`` or ``REQUIRE_BROWSER=1`` is set (``.ci/run`` sets both): then
    they fail;
``axe_js``
    ``tests/browser/node_modules/axe-core/axe.min.js``; ``npm ci`` installs it from
    ``package-lock.json`` when it is missing (same skip/fail rule as the browser).

`Watch` records everything a page does: every request (a host other than 127.0.0.1/localhost
does not even resolve, see ``OFFLINE_ARGS``, and is reported), every failed request, every HTTP
status >= 400, every console error or warning and every uncaught exception. Tests call
``watch.assert_clean()`` at the end.

Screenshots and axe reports go to ``test-artifacts/`` (gitignored; CI keeps it as artifacts).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: names other than localhost do not resolve: a request for another host fails at once (and is
#: reported) instead of reaching the network; much cheaper than routing every request
OFFLINE_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 800}
#: generous: CI is a slow 2-core machine
TIMEOUT_MS = 30_000


def required() -> bool:
    """In CI (or with REQUIRE_BROWSER=1) a missing browser or axe-core fails the run."""
    return os.environ.get("REQUIRE_BROWSER") == "1" or os.environ.get("CI", "") not in ("", "0",
                                                                                       "false")


def skip_or_fail(reason: str) -> None:
    if required():
        pytest.fail(f"{reason} (CI/REQUIRE_BROWSER=1: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


# --- the book's pages ----------------------------------------------------------------------


def toc_pages() -> list[str]:
    """Every page of ``_toc.yml`` as a path relative to the site (``book/batching.html``)."""
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)

    walk(toc)
    return [f"{f.removesuffix('.md').removesuffix('.ipynb')}.html" for f in files]


#: the pages Sphinx adds to the toc's pages (the top index.html redirects to the root page)
EXTRA_PAGES = ["index.html", "search.html", "genindex.html"]


def is_notebook(page: str) -> bool:
    """Is the page's source a MyST notebook (code cells, a downloadable .ipynb)?"""
    src = REPO / page.replace(".html", ".md")
    return src.is_file() and src.read_text().startswith("---\njupytext:")


def slug(page: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", page.removesuffix(".html"))


# --- serving the site ----------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@dataclass
class Site:
    html: Path
    url: str

    def page_url(self, page: str) -> str:
        return f"{self.url}/{page}"


@pytest.fixture(scope="session")
def site(book_html) -> Iterator[Site]:
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(book_html, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_api():
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        skip_or_fail("the playwright Python package is not installed (pip install -r "
                     "requirements.txt)")
    return sync_api


@pytest.fixture(scope="session")
def browser(playwright_api):
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + OFFLINE_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def axe_js() -> Path:
    if not AXE_JS.is_file():
        npm = shutil.which("npm")
        if npm is None:
            skip_or_fail("axe-core is not installed and there is no npm to install it "
                         "(apt-get install npm)")
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE,
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0 or not AXE_JS.is_file():
            skip_or_fail(f"npm ci in {HERE} failed: {(r.stderr or r.stdout).strip()[-800:]}")
    return AXE_JS


# --- watching a page -----------------------------------------------------------------------


@dataclass
class Watch:
    """What one page did: requests, failures, console errors, uncaught exceptions."""

    where: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.problems.append(f"uncaught exception: {err}"))
        page.on("request", lambda req: self.requests.append(req.url))
        page.on("requestfailed", lambda req: self.problems.append(
            f"request failed: {req.url} ({req.failure})"))
        page.on("response", self._response)

    def _console(self, msg) -> None:
        if msg.type in ("error", "warning"):
            loc = msg.location or {}
            at = f" at {loc.get('url')}:{loc.get('lineNumber')}" if loc.get("url") else ""
            self.problems.append(f"console {msg.type}: {msg.text}{at}")

    def _response(self, resp) -> None:
        if resp.status >= 400:
            self.problems.append(f"HTTP {resp.status}: {resp.url}")

    def third_party(self) -> list[str]:
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out

    def assert_clean(self) -> None:
        problems = list(self.problems)
        problems += [f"request leaves localhost: {u}" for u in self.third_party()]
        assert not problems, f"{self.where}:\n  " + "\n  ".join(problems)


@pytest.fixture
def open_page(browser, site):
    """``open_page(page_path, viewport=DESKTOP, **context_options) -> (page, watch)``."""
    contexts = []

    def _open(path: str, viewport=None, wait_until: str = "load", **options):
        ctx = browser.new_context(viewport=viewport or DESKTOP, **options)
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        page = ctx.new_page()
        watch = Watch(f"{path} at {(viewport or DESKTOP)['width']} px")
        watch.attach(page)
        page.goto(site.page_url(path), wait_until=wait_until)
        return page, watch

    yield _open
    for ctx in contexts:
        ctx.close()


# --- axe-core ------------------------------------------------------------------------------

#: axe-core options: every default rule, plus the one experimental rule DESIGN.md names
AXE_OPTIONS = {"rules": {"label-content-name-mismatch": {"enabled": True}}}


def run_axe(page, axe_path: Path) -> list[dict]:
    """axe-core's violations on ``page`` (every impact), as plain dicts."""
    page.add_script_tag(path=str(axe_path))
    return page.evaluate(
        """async (options) => {
             const r = await axe.run(document, options);
             return r.violations.map(v => ({
               id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                         html: n.html.slice(0, 160),
                                         summary: (n.failureSummary || '').slice(0, 300)}))}));
           }""",
        AXE_OPTIONS,
    )


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} -- {len(v['nodes'])} node(s)")
        for n in v["nodes"][:8]:
            lines.append(f"    {n['target']}: {n['html']}")
            if n["summary"]:
                lines.append("      " + n["summary"].replace("\n", " | "))
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


def save_axe_report(page_path: str, label: str, violations: list[dict]) -> None:
    out = ARTIFACTS / "axe"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{slug(page_path)}-{label}.json").write_text(json.dumps(violations, indent=1))
