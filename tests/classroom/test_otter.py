"""The otter-grader round trip with real otter-grader: export, ``otter assign``, and
``otter run`` (no Docker) on a right and a wrong submission; the plugin supplies identity."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from classroom_testlib import run_tool

from classroom import exercises as X
from classroom.identity import seed_for

pytest.importorskip("otter", reason="otter-grader is not installed (requirements.txt has it)")

SECRET = "s3cret"
TOPICS = ["batches", "partial-failure"]


def otter(cwd: Path, *argv):
    return run_tool(cwd, "otter", *argv)


def test_otter_round_trip(tmp_path):
    from classroom import cli

    (tmp_path / "secret").write_text(SECRET)
    assert cli.main(["export", "otter", "--topics", ",".join(TOPICS), "-d", "2", "--name",
                     "hw1", "--secret-file", str(tmp_path / "secret"),
                     "--out", str(tmp_path)]) == 0
    otter(tmp_path, "assign", "hw1.ipynb", "dist")
    student = nbformat.read(tmp_path / "dist" / "student" / "hw1.ipynb", as_version=4)
    assert not any("field_right(" in c.source and "assert" in c.source for c in student.cells)
    (zipfile,) = (tmp_path / "dist" / "autograder").glob("*.zip")
    pf = X.generate("partial-failure", seed_for("bob", "partial-failure", SECRET), 2)
    parts = pf.answer.split("; ")
    k, v = parts[0].split("=")
    parts[0] = f"{k}={'none' if v != 'none' else '0'}"
    answers = {"alice": {t: X.generate(t, seed_for("alice", t, SECRET), 2).answer
                         for t in TOPICS},
               "bob": {"batches": "0:1", "partial-failure": "; ".join(parts)}}
    scores = {}
    for who, ans in answers.items():
        nb = nbformat.read(tmp_path / "dist" / "student" / "hw1.ipynb", as_version=4)
        for c in nb.cells:
            for t in TOPICS:
                name = t.replace("-", "_")
                if c.source.startswith(f"answer_{name} = "):
                    c.source = f"answer_{name} = {ans[t]!r}"
        nbformat.write(nb, tmp_path / f"{who}.ipynb")     # the file name says whose it is
        out = tmp_path / f"out-{who}"
        out.mkdir()
        otter(tmp_path, "run", "-a", str(zipfile), f"{who}.ipynb", "-o", str(out))
        res = json.loads((out / "results.json").read_text())
        scores[who] = {t["name"]: (t["score"], t.get("output", "")) for t in res["tests"]
                       if t.get("max_score")}
    n = len(parts)
    assert {q: s for q, (s, _) in scores["alice"].items()} == {"batches": 2,
                                                                 "partial_failure": 2}
    assert scores["bob"]["batches"][0] == 0
    assert scores["bob"]["partial_failure"][0] == pytest.approx(2 * (n - 1) / n, abs=0.01)
    assert X.check(X.generate("batches", seed_for("bob", "batches", SECRET), 2), "0:1").message[
        :40] in scores["bob"]["batches"][1].replace("\n", " ")
