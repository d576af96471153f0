"""Keep the website offline, quiet and free of frozen widgets.

A Sphinx extension (loaded from ``_config.yml``) that fixes or guards what a stock Jupyter Book
1.0.4 site gets wrong for us:

* **Duplicated inline scripts.** Sphinx 7's ``app.add_js_file(None, body=...)`` called after the
  builder is initialised (sphinx-togglebutton, sphinx-thebe, myst-nb do this) registers the
  script twice: once on the builder as ``_JavaScript(None, ...)``, and again from the registry
  as ``_JavaScript('', ...)`` in ``prepare_writing``; ``None != ''`` defeats Sphinx's
  de-duplication. For a ``const`` (sphinx-thebe's ``THEBE_JS_URL``) that is a SyntaxError in the
  console. We drop sphinx-thebe altogether (``_config.yml``) and de-duplicate every page's
  script list here, so no other extension can bring the error back.
* **Widget state.** myst-nb puts the executed notebook's ipywidgets state on the page as
  ``<script type="application/vnd.jupyter.widget-state+json">`` (and, unless
  ``nb_ipywidgets_js: {}``, the widget manager from a CDN). Our pages show the static twin
  (``text/html``) of every widget (:class:`bookkit.live.Live`), so the state is dead weight;
  it is removed.
* **Frozen widgets.** A bare widget output (a widget view without ``text/html``) would render
  as an empty, non-responding placeholder: that is a build warning (so an error). Wrap it in
  ``bookkit.live.Live(widget, static_html)`` or tag the cell ``remove-output``.
* **Math.** No MathJax is served from the site (Sphinx would load it from a CDN), so a page with
  math is a build warning.
* **The root redirect.** sphinx-external-toc writes ``index.html`` as a bare ``<meta>`` refresh
  when the root page is not ``index``; having no icon link, it makes the browser fetch
  ``/favicon.ico`` — a 404 in the console whenever that request beats the redirect (and a
  real icon's request is aborted by the redirect instead). It is written here as a small,
  complete page with an empty inline icon (no request at all), a title, and a link for
  browsers that do not follow the refresh; sphinx-external-toc leaves an existing
  ``index.html`` alone.
* **Third-party requests.** After the build, every HTML and CSS file is scanned for scripts,
  stylesheets, fonts, images or frames loaded from outside the site; each one is a warning.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"

# Things that make the browser fetch from elsewhere ("//host" included).
_EXTERNAL = r"""(?:https?:)?//"""
EXTERNAL_PATTERNS = {
    "script": re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']?""" + _EXTERNAL, re.I),
    "link": re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?""" + _EXTERNAL, re.I),
    "img/iframe": re.compile(
        r"""<(?:img|iframe|source|video|audio|embed)\b[^>]*\bsrc\s*=\s*["']?""" + _EXTERNAL, re.I
    ),
    "@import": re.compile(r"""@import\s+(?:url\()?\s*["']?""" + _EXTERNAL, re.I),
    "css url()": re.compile(r"""url\(\s*["']?""" + _EXTERNAL, re.I),
}
# css url() only matters inside CSS (an HTML page may mention URLs in text or code).
_HTML_KINDS = ("script", "link", "img/iframe", "@import")


def dedupe_page_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Remove duplicated entries (see the module docstring) from this page's script list."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for js in scripts:
        filename = getattr(js, "filename", js) or ""
        attrs = tuple(sorted(getattr(js, "attributes", {}).items()))
        key = (filename, attrs)
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    if len(unique) != len(scripts):
        scripts[:] = unique


def drop_widget_state(app: Sphinx, doctree: nodes.document) -> None:
    """Forget the ipywidgets JS files/state myst-nb registered for this page."""
    env = app.env
    docname = env.docname
    meta = getattr(env, "nb_metadata", None)
    if not meta or docname not in meta:
        return
    js_files = meta[docname].get("js_files", {})
    for key in [k for k in js_files if k.startswith("ipywidgets")]:
        del js_files[key]


def check_outputs(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Warn about frozen widget placeholders and about math.

    Runs on the resolved doctree: before that, myst-nb keeps every mime type of an output
    (the widget view next to its text/html twin) and only its SelectMimeType post-transform
    picks the one this builder shows.
    """
    if app.builder.format != "html":
        return
    for raw in doctree.findall(nodes.raw):
        if WIDGET_VIEW_MIME in raw.astext():
            logger.warning(
                "a widget is shown without a static twin (it would be frozen on the site): "
                "display bookkit.live.Live(widget, static_html) or tag the cell remove-output",
                location=raw,
                type="bookkit",
                subtype="widget",
            )
    for node in doctree.findall(lambda n: isinstance(n, nodes.math | nodes.math_block)):
        logger.warning(
            "math is not supported: the site serves no MathJax (it would come from a CDN); "
            "write it as text or code",
            location=node,
            type="bookkit",
            subtype="math",
        )


def external_references(text: str, css: bool) -> list[tuple[int, str, str]]:
    """(line, kind, excerpt) of every third-party load in an HTML (or CSS) text."""
    found = []
    kinds = EXTERNAL_PATTERNS.keys() if css else _HTML_KINDS
    for kind in kinds:
        for m in EXTERNAL_PATTERNS[kind].finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            end = text.find(">", m.end())
            excerpt = text[m.start() : (end + 1 if 0 <= end - m.start() < 200 else m.end() + 60)]
            found.append((line, kind, " ".join(excerpt.split())))
    return found


def scan_for_external_assets(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for path in sorted(outdir.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".css":
            # source-map comments are not requests
            text = re.sub(r"/\*#\s*sourceMappingURL=[^*]*\*/", "", text)
        for line, kind, excerpt in external_references(text, css=path.suffix == ".css"):
            logger.warning(
                "third-party request (%s) in %s:%d: %s",
                kind,
                path.relative_to(outdir).as_posix(),
                line,
                excerpt,
                type="bookkit",
                subtype="offline",
            )


REDIRECT_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" href="data:,">
<meta http-equiv="Refresh" content="0; url={target}">
</head>
<body><p><a href="{target}">{title}</a></p></body>
</html>
"""


def write_root_redirect(app: Sphinx, exception: Exception | None) -> None:
    """Write the site's ``index.html`` as a redirect page to the root document."""
    if exception is not None or app.builder.format != "html" or app.config.root_doc == "index":
        return
    from html import escape

    target = app.builder.get_target_uri(app.config.root_doc)
    Path(app.outdir, "index.html").write_text(REDIRECT_PAGE.format(
        lang=escape(app.config.language or "en"), title=escape(app.config.html_title or ""),
        target=escape(target)), encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", dedupe_page_scripts, priority=900)
    app.connect("doctree-read", drop_widget_state)
    app.connect("doctree-resolved", check_outputs)
    app.connect("build-finished", write_root_redirect, priority=400)   # before etoc's (500)
    app.connect("build-finished", scan_for_external_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
