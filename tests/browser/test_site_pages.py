"""Every page of the built site in Chromium: quiet, offline, accessible; search; .ipynb download.

Per page (each page of ``_toc.yml`` plus the top ``index.html``, ``search.html`` and
``genindex.html``), at desktop (1280 x 900) and phone (375 x 800) width in the light theme and
at desktop width in the dark one: the page loads with no console error or warning, no uncaught
exception, no failed request or HTTP error and no request to a host other than localhost; it
does not scroll sideways; axe-core reports no serious or critical violation. Full-page
screenshots (light) go to ``test-artifacts/screenshots/``, axe's full reports (every impact) to
``test-artifacts/axe/``.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from browser_support import (
    ARTIFACTS,
    DESKTOP,
    EXTRA_PAGES,
    PHONE,
    format_violations,
    is_notebook,
    run_axe,
    save_axe_report,
    slug,
    toc_pages,
)

PAGES = toc_pages() + EXTRA_PAGES
NOTEBOOK_PAGES = [p for p in toc_pages() if is_notebook(p)]
SERIOUS = ("serious", "critical")


def test_every_html_page_of_the_site_is_checked(site):
    """No page of the build escapes the per-page tests (and every toc page was built)."""
    built = sorted(
        str(p.relative_to(site.html)) for p in site.html.rglob("*.html")
        if p.relative_to(site.html).parts[0] not in ("_static", "_sources", "_notebooks",
                                                     "_images", "reports")
    )
    missing = sorted(set(PAGES) - set(built))
    extra = sorted(set(built) - set(PAGES))
    assert not missing, f"pages of _toc.yml that were not built: {missing}"
    assert not extra, (f"pages in {site.html} that no test visits: {extra} (left over from a "
                       "page since removed from _toc.yml? Sphinx never deletes old pages)")


def test_the_sidebar_links_every_toc_page(open_page, site):
    page, watch = open_page("book/index.html")
    hrefs = page.eval_on_selector_all(
        "nav.bd-docs-nav a.reference.internal", "els => els.map(a => a.href)")
    linked = {h.split("#")[0].removeprefix(site.url + "/") for h in hrefs}
    assert set(toc_pages()) - {"book/index.html"} <= linked, sorted(linked)
    watch.assert_clean()


#: (label, viewport, colour scheme, screenshot?): light at both widths, and an axe-only pass in
#: the dark theme (pydata-sphinx-theme follows the reader's system setting)
PASSES = [("desktop", DESKTOP, "light", True), ("phone", PHONE, "light", True),
          ("desktop-dark", DESKTOP, "dark", False)]


@pytest.mark.parametrize("page_path", PAGES)
def test_page_loads_clean_offline_and_accessible(open_page, axe_js, page_path):
    failures = []
    for label, viewport, scheme, shoot in PASSES:
        page, watch = open_page(page_path, viewport=viewport, wait_until="networkidle",
                                color_scheme=scheme)
        if page_path == "index.html":  # the top page redirects to the book's first page
            page.wait_for_url(re.compile(r"/book/index\.html$"))
            page.wait_for_load_state("load")
        if page_path == "search.html":
            page.wait_for_selector("#search-results", state="attached")
        theme = page.get_attribute("html", "data-theme")
        if theme != scheme:
            failures.append(f"{label}: data-theme={theme!r}, the reader's scheme is {scheme}")
        if shoot:
            shots = ARTIFACTS / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"{slug(page_path)}-{label}.png"), full_page=True)
        violations = run_axe(page, axe_js)
        save_axe_report(page_path, label, violations)
        serious = [v for v in violations if v["impact"] in SERIOUS]
        if serious:
            failures.append(f"axe-core ({label}):\n{format_violations(serious)}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            failures.append(f"the page scrolls sideways by {overflow}px ({label})")
        try:
            watch.assert_clean()
        except AssertionError as e:
            failures.append(f"({label}) {e}")
        page.close()
    assert not failures, f"{page_path}:\n" + "\n".join(failures)


@pytest.mark.parametrize("term", ["folio", "try_to_unmap_one"])
def test_search_finds_pages(open_page, site, term):
    page, watch = open_page(f"search.html?q={term}")
    # Sphinx shows the results one by one, each after fetching its page for the summary
    page.wait_for_function("() => /Search finished/.test("
                           "document.querySelector('#search-results')?.textContent || '')")
    results = page.locator("#search-results ul.search li")
    n = results.count()
    assert n >= 2, f"search for {term!r}: {n} result(s)"
    hrefs = page.eval_on_selector_all("#search-results ul.search li a",
                                      "els => els.map(a => a.href)")
    assert all(h.startswith(site.url) for h in hrefs), hrefs
    assert any("/book/" in h for h in hrefs), hrefs
    # the first result opens a page of the book
    first = hrefs[0]
    page.goto(first)
    assert page.locator("article").count() >= 1
    watch.assert_clean()


def test_search_for_nothing_says_so(open_page):
    page, watch = open_page("search.html?q=zzzqqqnotaword")
    page.wait_for_function(
        "() => /did not match any documents|no.*results/i.test("
        "document.querySelector('#search-results')?.textContent || '')")
    assert page.locator("#search-results ul.search li").count() == 0
    watch.assert_clean()


@pytest.mark.parametrize("page_path", NOTEBOOK_PAGES)
def test_chapter_notebook_download_is_a_valid_notebook(open_page, site, page_path):
    nbformat = pytest.importorskip("nbformat")
    page, watch = open_page(page_path)
    links = page.locator("a[href$='.ipynb']")
    assert links.count() >= 1, f"{page_path}: no .ipynb download link"
    hrefs = {urljoin(page.url, h) for h in links.evaluate_all("els => els.map(a => a.href)")}
    assert len(hrefs) == 1, hrefs
    href = hrefs.pop()
    resp = page.request.get(href)
    assert resp.status == 200, f"{href}: HTTP {resp.status}"
    nb = nbformat.reads(resp.text(), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    # the notebook is this chapter: its first heading is the page's (without the numbering)
    title = page.locator("article h1").first.inner_text().strip().rstrip("#").strip()
    title = re.sub(r"^\d+(\.\d+)*\.?\s+", "", title)
    heading = next(line for c in nb.cells if c.cell_type == "markdown"
                   for line in c.source.splitlines() if line.startswith("# "))
    assert heading[2:].strip() == title, (heading, title)
    assert any(c.cell_type == "code" for c in nb.cells)
    watch.assert_clean()


def test_the_watch_catches_what_it_must(open_page):
    """The guard itself: a third-party request, a 404, a console error, an exception."""
    page, watch = open_page("book/index.html")
    page.evaluate("""async () => {
        console.error('boom');
        setTimeout(() => { throw new Error('uncaught'); }, 0);
        await fetch('https://cdn.example.org/x.js').catch(() => null);
        await fetch('/no-such-file.js').catch(() => null);
        await new Promise(r => setTimeout(r, 100));
    }""")
    text = "\n".join(watch.problems + watch.third_party())
    for needle in ("console error: boom", "uncaught exception", "cdn.example.org",
                   "HTTP 404", "ERR_NAME_NOT_RESOLVED"):
        assert needle in text, f"{needle!r} not caught:\n{text}"
    with pytest.raises(AssertionError):
        watch.assert_clean()
