"""Every chapter of the real book, as built by `make book`: its player(s), and nothing frozen.

A chapter with a live widget must carry the widget's static twin (a step-through player) and
no trace of the ipywidget itself: no widget view, no widget state, no "Loading widget" text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
CHAPTERS = [c["file"] for part in TOC["parts"] for c in part["chapters"]]
#: chapters whose live widget must have a player twin (the topic chapters)
WITH_PLAYER = ["book/background", "book/batching", "book/anon-exclusive", "book/sparc64",
               "book/partial-failure", "book/contpte"]


@pytest.mark.parametrize("doc", CHAPTERS)
def test_no_ipywidget_on_the_site(book_html, doc):
    page = (book_html / f"{doc}.html").read_text()
    for frozen in ("application/vnd.jupyter.widget-view+json",
                   "application/vnd.jupyter.widget-state+json", "Loading widget",
                   "jupyter-widgets"):
        assert frozen not in page, (doc, frozen)


@pytest.mark.parametrize("doc", WITH_PLAYER)
def test_topic_chapter_has_a_player(book_html, doc):
    page = (book_html / f"{doc}.html").read_text()
    assert 'class="ttu-player"' in page or "class='ttu-player'" in page, doc


def test_performance_chapter_has_its_static_twin(book_html):
    # the performance widget's twin is a table of every arch x folio size, not a player
    page = (book_html / "book" / "performance.html").read_text()
    assert "<table" in page and "arm64" in page and "x86_64" in page
