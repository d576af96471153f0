"""The nbgrader round trip with real nbgrader: export, generate_assignment, two fake
submissions (one right, one wrong with partial credit), autograde, generate_feedback, export."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from classroom_testlib import run_tool

from classroom import exercises as X
from classroom.identity import seed_for

pytest.importorskip("nbgrader", reason="nbgrader is not installed (requirements.txt has it)")

SECRET = "s3cret"
TOPICS = ["batches", "partial-failure"]
NAME = "hw1"


def nbgrader(cwd: Path, *argv):
    return run_tool(cwd, "nbgrader", *argv)


def submit(course: Path, student: str, answers: dict[str, str]):
    nb = nbformat.read(course / "release" / NAME / f"{NAME}.ipynb", as_version=4)
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id", "")
        if gid.startswith("answer_"):
            topic = gid[len("answer_"):].replace("_", "-")
            assert "raise NotImplementedError" in c.source        # the solution is gone
            c.source = f"answer_{gid[7:]} = {answers[topic]!r}"
        if gid.startswith("test_"):
            assert "check_answer" not in c.source                 # the tests are hidden
        if gid == "prose_answer":
            c.source = "try_to_unmap_one() decides it; the mapcount must match the PTEs."
    d = course / "submitted" / student / NAME
    d.mkdir(parents=True)
    nbformat.write(nb, d / f"{NAME}.ipynb")


def test_nbgrader_round_trip(tmp_path):
    course = tmp_path / "course"
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n")
    from classroom import cli

    assert cli.main(["export", "nbgrader", "--topics", ",".join(TOPICS), "-d", "2",
                     "--course", "fall26", "--name", NAME, "--secret-file", str(secret),
                     "--out", str(course)]) == 0
    nbgrader(course, "generate_assignment", NAME)
    right = {t: X.generate(t, seed_for("alice", t, SECRET), 2).answer for t in TOPICS}
    bob = {t: X.generate(t, seed_for("bob", t, SECRET), 2) for t in TOPICS}
    # bob: batches wrong; partial-failure with one field wrong (partial credit)
    parts = bob["partial-failure"].answer.split("; ")
    k, v = parts[0].split("=")
    parts[0] = f"{k}={'none' if v != 'none' else '0'}"
    n = len(parts)
    submit(course, "alice", right)
    submit(course, "bob", {"batches": "0:1", "partial-failure": "; ".join(parts)})
    nbgrader(course, "autograde", NAME)
    nbgrader(course, "generate_feedback", NAME)
    nbgrader(course, "export")
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    # autograded: alice 2 x 2 points; bob 0 + 2 * (n - 1) / n; the prose cell awaits a human
    assert float(rows["alice"]["raw_score"]) == pytest.approx(4)
    assert float(rows["bob"]["raw_score"]) == pytest.approx(round(2 * (n - 1) / n, 2))
    assert float(rows["alice"]["max_score"]) == 6
    fb = (course / "feedback" / "bob" / NAME / f"{NAME}.html").read_text()
    assert f"{n - 1}/{n} fields right" in fb
    assert "I could not read your answer" in fb or "batch" in fb
    alice_fb = (course / "feedback" / "alice" / NAME / f"{NAME}.html").read_text()
    assert "Correct" in alice_fb
    if os.environ.get("CLASSROOM_KEEP"):           # for a screenshot of the feedback page
        shutil.copytree(course, os.environ["CLASSROOM_KEEP"], dirs_exist_ok=True)
