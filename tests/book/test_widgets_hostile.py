"""Hostile values typed into the chapters' live widgets (issue 9): every free-text control
answers with nothing or one short escaped line, and nothing typed reaches the page as markup.

Sliders, dropdowns and bounded integer boxes cannot hold such values (ipywidgets clamps or
refuses them); the text boxes can hold anything, so each is tried with everything below.
"""

from __future__ import annotations

import importlib

import ipywidgets as widgets
import pytest

CHAPTERS = ["anon_exclusive", "background", "batching", "contpte", "partial_failure",
            "performance", "sparc64"]

HOSTILE_TEXT = [
    "9" * 5000,                          # past int()'s 4,300-digit limit
    "x" * 100_000,                       # a pasted page
    "E" * 100_000,
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "1\n2",
    "\x1b[2J\x1b]0;t\x07",
    "\ud800",
    "0x" + "f" * 40,
    "1e3", "-0", " 3 ", "1_0", "٣", "ＥＮＥＮ", "ß" * 8, "",
]


def _explorer(name: str):
    ch = importlib.import_module(f"bookkit.chapters.{name}")
    return ch.explorer()


def _text_controls(explorer) -> list[str]:
    return [k for k, w in explorer.controls.items() if isinstance(w, widgets.Text)]


def test_the_chapters_with_text_boxes_are_covered():
    with_text = {name for name in CHAPTERS if _text_controls(_explorer(name))}
    assert with_text >= {"anon_exclusive", "batching", "partial_failure"}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_hostile_text_gives_at_most_one_short_line(chapter):
    explorer = _explorer(chapter)
    for name in _text_controls(explorer):
        default = explorer.controls[name].value
        for value in HOSTILE_TEXT:
            explorer.controls[name].value = value
            html = explorer.output.value
            assert "<script" not in html and "<img" not in html, (name, value[:20])
            if explorer.error is not None:
                assert "\n" not in explorer.error and len(explorer.error) <= 300
                assert "\x1b" not in explorer.error and "\ud800" not in explorer.error
                assert "role='alert'" in html
        explorer.controls[name].value = default
        assert explorer.error is None, (chapter, name, explorer.error)
