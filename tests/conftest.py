"""Fixtures shared by several test directories.

``book_html``
    the instructor edition of the real book (``_toc.yml``), built once per test session exactly
    as ``make book`` does (``python -m bookkit.build --edition instructor --out _build``;
    incremental through the jupyter cache, so an unchanged book rebuilds in seconds), and its
    ``html`` directory returned. ``BOOK_HTML=DIR`` serves an already built site instead, with
    no build (for a quick local rerun of the browser tests; CI never sets it).
``axe_core_js``
    ``(path of axe.min.js, "")``, or ``(None, why not)``: axe-core from
    ``tests/browser/package-lock.json``, installed with ``npm ci`` into
    ``tests/browser/node_modules`` (gitignored) the first time it is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD_OUT = REPO / "_build"
AXE_DIR = REPO / "tests" / "browser"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


@pytest.fixture(scope="session")
def book_html() -> Path:
    """The built instructor site of the whole book (``_build/html``), built at most once."""
    given = os.environ.get("BOOK_HTML")
    if given:
        html = Path(given).resolve()
        if not (html / "index.html").is_file():
            pytest.fail(f"BOOK_HTML={given}: no index.html there")
        return html
    env = {k: v for k, v in os.environ.items() if k != "BOOK_EDITION"}
    r = subprocess.run(
        [sys.executable, "-m", "bookkit.build", "--edition", "instructor", "--out",
         str(BUILD_OUT), "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=3600, env=env,
    )
    if r.returncode != 0:
        pytest.fail(f"the book does not build (make book): {_last_line(r.stderr)}\n"
                    f"{r.stderr[-3000:]}", pytrace=False)
    return BUILD_OUT / "html"


@pytest.fixture(scope="session")
def axe_core_js() -> tuple[Path | None, str]:
    """axe-core for the accessibility scans; ``npm ci`` installs it from the lockfile if needed."""
    if AXE_JS.is_file():
        return AXE_JS, ""
    npm = shutil.which("npm")
    if npm is None:
        return None, "axe-core is not installed and there is no npm (apt-get install npm)"
    try:
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=AXE_DIR,
                           capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return None, f"npm ci in {AXE_DIR} took longer than 600 s"
    if r.returncode != 0 or not AXE_JS.is_file():
        return None, f"npm ci in {AXE_DIR} failed: {(r.stderr or r.stdout).strip()[-800:]}"
    return AXE_JS, ""
