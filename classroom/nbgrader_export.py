"""``python -m classroom export nbgrader``: a source assignment for nbgrader.

Writes ``OUT/nbgrader_config.py`` (the course id) and ``OUT/source/NAME/NAME.ipynb``, so that
``OUT`` is an nbgrader course directory: run ``nbgrader generate_assignment NAME`` there, then
release, collect, ``autograde``, ``generate_feedback`` and ``export`` as usual.

The notebook, per topic: the student's own instance (computed from their identity, see
`classroom.identity.student_id`: in ``autograde`` it is the submission's student folder), an
answer cell (an nbgrader solution cell), and an autograded test cell whose tests are hidden:
it calls the checker, prints its explanation (it appears in the feedback) and ends with the
points earned, which nbgrader takes as partial credit. One manually graded Markdown cell asks
for an explanation in prose.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from classroom import exercises
from classroom.safeio import write_atomic

POINTS = 2          # per topic; partial credit per field of multi-field answers
PROSE_POINTS = 2


def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=0, task=False):
    md = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
          "solution": solution, "task": task}
    if grade or task:
        md["points"] = points
    return {"nbgrader": md}


def var(topic: str) -> str:
    """The Python name part for a topic (``partial-failure`` -> ``partial_failure``)."""
    return topic.replace("-", "_")


def notebook(topics, difficulty: int, course: str, secret: str, name: str):
    """The source notebook (nbformat)."""
    cells = [
        new_markdown_cell(
            f"# {name}: batch unmapping of anonymous folios\n\n"
            f"Course `{course}`. Each exercise below is **your own instance**: it is computed "
            "from your identity on this server, so your neighbour's differs. Answer each one "
            "by assigning a string to the variable in its answer cell, run the whole notebook, "
            "then submit. The checker's explanation of each answer comes back in your "
            "feedback.", metadata=_meta("intro", locked=True)),
        new_code_cell(
            "from classroom.notebook import check_answer, mine, show\n\n"
            f"SECRET = {json.dumps(secret)}   # the course's; it selects your instances",
            metadata=_meta("setup", locked=True)),
    ]
    for t in topics:
        v = var(t)
        mod = exercises.topic_module(t)
        cells += [
            new_markdown_cell(f"## {t}: {mod.SUMMARY}", metadata=_meta(f"title_{v}",
                                                                      locked=True)),
            new_code_cell(f"ex_{v} = mine({t!r}, {difficulty}, SECRET)\nshow(ex_{v})",
                          metadata=_meta(f"question_{v}", locked=True)),
            new_code_cell(f"# answer_{v} = \"...\"   (your answer, as a string)\n"
                          f"### BEGIN SOLUTION\nanswer_{v} = ex_{v}.answer\n### END SOLUTION",
                          metadata=_meta(f"answer_{v}", solution=True)),
            new_code_cell(f"# the checker runs here when your notebook is graded\n"
                          f"### BEGIN HIDDEN TESTS\ncheck_answer(ex_{v}, answer_{v}, "
                          f"points={POINTS})\n### END HIDDEN TESTS",
                          metadata=_meta(f"test_{v}", grade=True, locked=True,
                                         points=POINTS)),
        ]
    cells += [
        new_markdown_cell("## In your own words\n\nPick one of your answers above and explain, "
                          "in a few sentences and in kernel terms, *why* it is so (which "
                          "function decides it, and what would go wrong otherwise).",
                          metadata=_meta("prose_question", locked=True)),
        new_markdown_cell("YOUR ANSWER HERE\n\n=== BEGIN MARK SCHEME ===\n\nNames the "
                          "deciding kernel function and the invariant at stake.\n\n"
                          "=== END MARK SCHEME ===",
                          metadata=_meta("prose_answer", grade=True, solution=True,
                                         points=PROSE_POINTS)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def export(out: Path, topics, difficulty: int, course: str, secret: str,
           name: str = "simcore-hw") -> Path:
    """Write the course directory; return the notebook's path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "source" / name).mkdir(parents=True, exist_ok=True)
    cfg = out / "nbgrader_config.py"
    write_atomic(cfg, "c = get_config()  # noqa: F821\n"
                      f"c.CourseDirectory.course_id = {json.dumps(course)}\n"
                      "c.CourseDirectory.root = __file__.rsplit('/', 1)[0]\n", flag="--out")
    path = out / "source" / name / f"{name}.ipynb"
    write_atomic(path, nbformat.writes(notebook(topics, difficulty, course, secret, name)),
                 flag="--out")
    return path
