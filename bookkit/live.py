"""One output, two faces: the live ipywidget in Jupyter, its static twin on the website.

``Live(widget, static_html)`` is displayed like any object. Its ``_repr_mimebundle_`` returns

* ``application/vnd.jupyter.widget-view+json`` -- the widget's own view (from
  ``widget._repr_mimebundle_()``); JupyterLab, Notebook 7, VS Code and Voila rank the widget
  renderer above HTML, so a running kernel shows the live widget;
* ``text/html`` -- the static twin (usually a :func:`bookkit.player.player_html` player);
  the website's ``_config.yml`` sets ``nb_mime_priority_overrides`` so that myst-nb renders
  ``text/html`` instead of a frozen widget, and ``book/_ext/site_hygiene.py`` drops the
  widget state that the executed notebook carries;
* ``text/plain`` -- a one-line description for terminals and logs.

``static(html)`` is the HTML-only variant, for outputs that have no live counterpart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["WIDGET_VIEW_MIME", "Live", "Static", "static"]

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"

HtmlSource = str | Callable[[], str]


def _as_html(source: Any) -> str:
    if callable(source):
        source = source()
    if hasattr(source, "_repr_html_"):  # e.g. IPython.display.HTML
        source = source._repr_html_()
    if not isinstance(source, str):
        raise TypeError(f"static HTML must be a str (or a callable returning one), got {source!r}")
    return source


class Static:
    """An HTML-only output (``text/html`` plus a ``text/plain`` fallback)."""

    def __init__(self, html: HtmlSource, text: str = "(HTML output)"):
        self._html = html
        self.text = text

    @property
    def html(self) -> str:
        return _as_html(self._html)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": self.text}

    def __repr__(self) -> str:
        return f"Static({self.text!r})"


def static(html: HtmlSource, text: str = "(HTML output)") -> Static:
    """Display ``html`` as an HTML-only output."""
    return Static(html, text)


class Live:
    """A live widget and its static twin in one output.

    ``static_html`` may be a string or a callable returning one (so that the twin is only
    built when the object is displayed).
    """

    def __init__(self, widget: Any, static_html: HtmlSource, text: str | None = None):
        if not hasattr(widget, "_repr_mimebundle_"):
            raise TypeError(f"{widget!r} is not an ipywidget (no _repr_mimebundle_)")
        self.widget = widget
        self._static_html = static_html
        self.text = text or f"Live({type(widget).__name__}) with a static HTML twin"

    @property
    def static_html(self) -> str:
        return _as_html(self._static_html)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        repr_bundle = getattr(self.widget, "_repr_mimebundle_", None)
        if not callable(repr_bundle):  # ipywidgets sets it to None when the widget is closed
            raise RuntimeError(f"{type(self.widget).__name__} is closed and cannot be displayed")
        bundle = repr_bundle(include=include, exclude=exclude)
        if isinstance(bundle, tuple):  # (data, metadata)
            bundle = bundle[0]
        data = dict(bundle or {})
        if WIDGET_VIEW_MIME not in data:
            raise RuntimeError(
                f"{type(self.widget).__name__} did not return a widget view "
                "(is ipywidgets >= 8 installed and the widget not closed?)"
            )
        data["text/html"] = self.static_html
        data["text/plain"] = self.text
        return data

    def __repr__(self) -> str:
        return self.text
