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
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    OFFLINE_ARGS,
    TIMEOUT_MS,
    Site,
    Watch,
    skip_or_fail,
)

# --- serving the site ----------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a browser that navigates on drops the rest of a response: not the site's problem
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def site(book_html) -> Iterator[Site]:
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(book_html, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright_api():
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        skip_or_fail("the playwright Python package is not installed (pip install -r "
                     "requirements.txt)")
    return sync_api


@pytest.fixture(scope="module")
def browser(playwright_api):
    # per module, not per session: Playwright's sync API allows one instance at a time, and
    # other test files (tests/book) start their own
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + OFFLINE_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def axe_js(axe_core_js) -> Path:
    """axe-core's axe.min.js (tests/conftest.py installs it with npm ci when missing)."""
    path, why = axe_core_js
    if path is None:
        skip_or_fail(why)
    return path


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


