"""``glue(name, value)``: a computed value the chapter's prose quotes, on the site and in Jupyter.

The chapters compute every number they quote and pass it on with ``glue("name", value,
display=False)``; the prose shows it with MyST's ``{glue:text}`name``` role or the ``{glue:}`` /
``{glue:figure}`` directives. Two places read a chapter:

* **the website build** (``python -m bookkit.build`` sets ``BOOKKIT_GLUE=myst-nb`` for the
  kernels that execute the chapters): :func:`glue` records the value in the cell's output in
  the format of ``myst_nb.glue``, where myst-nb's roles and directives find it (the format is
  written here, so that no chapter imports myst-nb);
* **Jupyter** (the chapter downloaded from the site, ``make lab``, Binder, a hub): myst-nb is
  not needed and not imported. :func:`glue` only remembers the value; the notebook export
  (:mod:`bookkit.notebook`) has already written each inline value into the Markdown and turned
  each ``{glue:}``/``{glue:figure}`` directive into a code cell calling :func:`show`, which
  displays the remembered object (an HTML table, a matplotlib figure) after "Run All".
"""

from __future__ import annotations

from typing import Any

# ENV: the environment variable that makes :func:`glue` record for myst-nb (set by bookkit.build)
from bookkit.sitebuild import ENV, MYST_NB, in_site_build

__all__ = ["ENV", "MYST_NB", "glue", "glued", "show"]
#: the mime prefix of a value glued without being shown (myst_nb.ext.glue.GLUE_PREFIX)
SCRAP_PREFIX = "application/papermill.record/"

_values: dict[str, Any] = {}


def glue(name: str, value: Any, display: bool = False) -> None:
    """Remember ``value`` under ``name``; in the website build, also glue it for myst-nb."""
    _values[name] = value
    if in_site_build():
        _record(name, value, display)
    elif display:
        from IPython.display import display as show_now

        show_now(value)


def _record(name: str, value: Any, display: bool) -> None:
    """Display ``value`` the way ``myst_nb.glue`` does (myst-nb 1.x, the papermill/scrapbook
    convention): its mime bundle, prefixed unless shown, with ``scrapbook`` metadata naming it.
    myst-nb reads these outputs; written here so that no chapter imports a Sphinx package."""
    from IPython.core.formatters import format_display_data
    from IPython.display import display as raw_display

    bundle, metadata = format_display_data(value)
    prefix = "" if display else SCRAP_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    raw_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def glued(name: str) -> Any:
    """The value glued under ``name`` in this kernel (a clear error if there is none)."""
    try:
        return _values[name]
    except KeyError:
        known = ", ".join(sorted(_values)) or "none yet"
        raise LookupError(
            f"nothing is glued under {name!r} in this kernel (run the cells above first; "
            f"glued: {known})") from None


def show(name: str) -> None:
    """Display the value glued under ``name`` (what a ``{glue:}`` directive shows on the site)."""
    from IPython.display import display

    display(glued(name))
