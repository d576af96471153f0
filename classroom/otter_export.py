"""``python -m classroom export otter``: a master notebook for ``otter assign``.

Writes ``OUT/NAME.ipynb`` in otter-assign's format: each topic is a question whose instance is
the student's own (`classroom.identity`), a solution cell, and hidden tests — one test case
per field of a multi-field answer (partial credit: otter gives each case its share of the
points), one for a single-valued answer; a failing case's message is the checker's
explanation. ``otter assign NAME.ipynb dist`` writes the student notebook and
``dist/autograder/autograder.zip``; ``otter run -a autograder.zip alice.ipynb`` grades one
submission without Docker, with `classroom.otter_plugin.StudentIdentity` telling the kernel
whose it is (from the file name, or Gradescope's metadata).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from classroom import exercises
from classroom.nbgrader_export import POINTS, var
from classroom.safeio import write_atomic


def _fields(topic: str, difficulty: int) -> list[str]:
    from classroom.notebook import fields

    return fields(exercises.generate(topic, 0, difficulty))


def notebook(topics, difficulty: int, course: str, secret: str, name: str):
    """The otter-assign master notebook (nbformat)."""
    config = (f"# ASSIGNMENT CONFIG\nname: {json.dumps(name)}\ninit_cell: false\n"
              "check_all_cell: false\nexport_cell: false\nrun_tests: false\n"
              "generate:\n  plugins:\n    - classroom.otter_plugin.StudentIdentity\n")
    cells = [
        new_raw_cell(config),
        new_markdown_cell(f"# {name}: batch unmapping of anonymous folios\n\nCourse "
                          f"`{course}`. Each exercise is your own instance. Answer each by "
                          "assigning a string to the variable in its answer cell."),
        new_code_cell("from classroom.notebook import feedback, field_right, mine, show\n\n"
                      f"SECRET = {json.dumps(secret)}   # the course's; it selects your "
                      "instances"),
    ]
    for t in topics:
        v = var(t)
        keys = _fields(t, difficulty)
        cells += [
            new_raw_cell(f"# BEGIN QUESTION\nname: {v}\npoints: {POINTS}"),
            new_markdown_cell(f"## {t}: {exercises.topic_module(t).SUMMARY}"),
            new_code_cell(f"ex_{v} = mine({t!r}, {difficulty}, SECRET)\nshow(ex_{v})"),
            new_raw_cell("# BEGIN SOLUTION"),
            new_code_cell(f"answer_{v} = ex_{v}.answer  # SOLUTION"),
            new_raw_cell("# END SOLUTION"),
            new_raw_cell("# BEGIN TESTS"),
        ]
        for k in keys or [None]:
            cells.append(new_code_cell(f"# HIDDEN\nassert field_right(ex_{v}, answer_{v}, "
                                       f"{k!r}), feedback(ex_{v}, answer_{v})"))
        cells += [new_raw_cell("# END TESTS"), new_raw_cell("# END QUESTION")]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def export(out: Path, topics, difficulty: int, course: str, secret: str,
           name: str = "simcore-hw") -> Path:
    """Write the master notebook; return its path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.ipynb"
    write_atomic(path, nbformat.writes(notebook(topics, difficulty, course, secret, name)),
                 flag="--out")
    return path
