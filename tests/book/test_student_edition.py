"""The student edition of the real book carries no solution and no answer key.

Builds the book exactly as `make student` does (into ``_build/student``, incremental with its
execution cache) and searches every file of the site — pages, search index, downloadable
notebooks — for the text of every built-in exercise's answer and worked explanation.
"""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

import pytest

from classroom import exercises

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "_build" / "student"


@pytest.fixture(scope="module")
def student_site() -> Path:
    proc = subprocess.run([sys.executable, "-m", "bookkit.build", "--edition", "student",
                           "--out", str(OUT), "-q"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return OUT / "html"


@pytest.fixture(scope="module")
def site_text(student_site) -> str:
    parts = []
    for p in student_site.rglob("*"):
        if p.is_file() and p.suffix in (".html", ".js", ".ipynb", ".txt", ".json", ".md"):
            parts.append(p.read_text(errors="ignore"))
    return "\n".join(parts)


def _solution_lines(inst) -> list[str]:
    """Lines of the worked explanation long enough to be specific to it."""
    return [line.strip() for line in inst.explanation.splitlines() if len(line.strip()) >= 40]


@pytest.mark.parametrize("chapter", list(exercises.CHAPTERS))
def test_no_worked_answer_in_student_site(site_text, chapter):
    for inst in exercises.builtin(chapter):
        for line in _solution_lines(inst):
            for form in {line, html.escape(line), html.escape(line, quote=False)}:
                assert form not in site_text, (chapter, inst.topic, inst.seed, line)


def test_no_solution_blocks(site_text):
    assert "ttu-solution" not in site_text
    assert "<summary>Solution</summary>" not in site_text


def test_exercises_are_still_there(student_site):
    # the questions and the client-side checks stay; only the answers go
    page = (student_site / "book" / "anon-exclusive.html").read_text()
    assert page.count("class='ttu-exercise'") + page.count('class="ttu-exercise"') >= 2
    assert "ttu-ex-data" in page


def test_instructor_edition_has_the_solutions(book_html):
    """The same search on `make book`'s output finds the solutions: the check can fail."""
    page = (book_html / "book" / "anon-exclusive.html").read_text()
    inst = exercises.builtin("anon-exclusive")[0]
    assert any(html.escape(line) in page or line in page for line in _solution_lines(inst))
