"""Helpers of the browser tests (the fixtures are in conftest.py): constants, the page list,
`Watch` (what a page did), axe-core runs and reports.

A module of its own, not conftest.py, so that test modules can import it by a unique name.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
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


@dataclass
class Site:
    html: Path
    url: str

    def page_url(self, page: str) -> str:
        return f"{self.url}/{page}"


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


# --- axe-core ------------------------------------------------------------------------------

#: axe-core options: every default rule, plus the one experimental rule DESIGN.md names
AXE_OPTIONS = {"rules": {"label-content-name-mismatch": {"enabled": True}}}


def run_axe(page, axe_path: Path, within: str | None = None) -> list[dict]:
    """axe-core's violations on ``page`` (every impact), as plain dicts; ``within``: a CSS
    selector to scan only that part of the page."""
    page.add_script_tag(path=str(axe_path))
    return page.evaluate(
        """async ([options, within]) => {
             const r = await axe.run(within || document, options);
             return r.violations.map(v => ({
               id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                         html: n.html.slice(0, 160),
                                         summary: (n.failureSummary || '').slice(0, 300)}))}));
           }""",
        [AXE_OPTIONS, within],
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
