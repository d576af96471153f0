"""Offer every chapter as a Jupyter notebook (.ipynb) download.

The chapters are MyST Markdown notebooks (``.md`` with a jupytext header): reviewable text, but
only JupyterLab with jupytext opens them as notebooks. So for every page whose source is a
notebook this extension

* writes ``_notebooks/<docname>.ipynb`` into the HTML output at the end of the build, made
  by :func:`bookkit.notebook.export` from the source: without outputs and without the jupytext
  header, its MyST roles and directives rendered as plain Markdown, every glued value written
  in as the page shows it (from myst-nb's ``jupyter_execute/<docname>.glue.json``) and every
  glued table or figure a cell that shows it after "Run All", so it reads the same anywhere:
  JupyterLab, Notebook, VS Code, Colab, a class JupyterHub; in the student edition the solution
  cells and solution blocks are removed first
  (:func:`edition_filter.strip_solutions_from_notebook`);
* puts a visible link, "Download this chapter as a notebook (.ipynb)", under the page title;
* adds the same ``.ipynb`` to the theme's download menu, and removes the menu's link to the
  page source when sources are not copied (student edition), where it would be a dead link.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)

NB_DIR = "_notebooks"
LINK_TEXT = "Download this chapter as a notebook (.ipynb)"


def is_notebook_page(app: Sphinx, docname: str) -> bool:
    """myst-nb records the kernelspec of every page it read as a notebook."""
    return bool(app.env.metadata.get(docname, {}).get("kernelspec"))


def notebook_relpath(docname: str) -> str:
    return f"{NB_DIR}/{docname}.ipynb"


def glue_path(app: Sphinx, docname: str) -> Path:
    """Where myst-nb wrote the values the page glued (``<out>/jupyter_execute/<doc>.glue.json``)."""
    return Path(app.outdir).parent / "jupyter_execute" / f"{docname}.glue.json"


def make_download_notebook(source: Path, student: bool, glue_json: Path | None = None,
                           repo_url: str | None = None):
    """The notebook offered for download (:func:`bookkit.notebook.export`): no outputs, no
    jupytext header, MyST rendered as plain Markdown with the glued values written in, maybe no
    solutions. Returns ``(notebook, problems)``."""
    from edition_filter import strip_solutions_from_notebook

    from bookkit.notebook import export, read_glue

    glue = read_glue(glue_json) if glue_json is not None else {}
    result = export(source, glue, strip=strip_solutions_from_notebook if student else None,
                    repo_url=repo_url)
    return result.notebook, result.problems


def add_download_link(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html" or not is_notebook_page(app, docname):
        return
    href = relative_uri(app.builder.get_target_uri(docname), notebook_relpath(docname))
    name = Path(docname).name + ".ipynb"
    html = (
        f'<p class="bookkit-nb-download"><a class="reference download" href="{href}" '
        f'download="{name}">{LINK_TEXT}</a></p>\n'
    )
    link = nodes.raw("", html, format="html")
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None and section.children and isinstance(section[0], nodes.title):
        section.insert(1, link)
    else:
        doctree.insert(0, link)


def adjust_download_menu(app: Sphinx, pagename, templatename, context, doctree) -> None:
    buttons = context.get("header_buttons")
    if not buttons:
        return
    for group in buttons:
        if group.get("label") != "download-buttons":
            continue
        items = group.get("buttons", [])
        if not app.config.html_copy_source:
            items[:] = [b for b in items if b.get("label") != "download-source-button"]
        if is_notebook_page(app, pagename):
            items.insert(
                0,
                {
                    "type": "link",
                    "url": context["pathto"](notebook_relpath(pagename), 1),
                    "text": ".ipynb",
                    "tooltip": "Download this chapter as a notebook",
                    "icon": "fas fa-code",
                    "label": "download-notebook-button",
                },
            )


def write_notebooks(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import nbformat

    student = getattr(app.config, "bookkit_edition", "instructor") == "student"
    # _config.yml's repository.url (Jupyter Book passes it on as a theme option): the first cell
    # of each notebook then names the exact pip command
    repo_url = (app.config.html_theme_options or {}).get("repository_url") or None
    target_root = Path(app.outdir) / NB_DIR
    shutil.rmtree(target_root, ignore_errors=True)
    count = 0
    for docname in sorted(app.env.found_docs):
        if not is_notebook_page(app, docname):
            continue
        nb, problems = make_download_notebook(Path(app.env.doc2path(docname)), student,
                                              glue_path(app, docname), repo_url)
        for problem in problems:  # a warning fails the build (bookkit.build: -W)
            logger.warning("[notebook_download] %s", problem)
        target = target_root / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        count += 1
    logger.info("[notebook_download] %d notebook(s) written to %s", count, NB_DIR)


def setup(app: Sphinx) -> dict:
    app.setup_extension("edition_filter")
    app.connect("doctree-resolved", add_download_link)
    app.connect("html-page-context", adjust_download_menu, priority=600)
    app.connect("build-finished", write_notebooks)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
