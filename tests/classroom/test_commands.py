"""classroom.cli: ``hw`` (students), ``assign``, ``collect``, ``grade`` (instructors), bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from classroom import cli
from classroom import exercises as X
from classroom.identity import seed_for

ROOT = Path(__file__).resolve().parents[2]


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main([str(a) for a in argv], out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def one_line_error(rc, out, err):
    assert rc == 2, (rc, err)
    assert err.count("\n") == 1 and err.startswith("classroom"), err
    assert "Traceback" not in err + out


# -- hw ----------------------------------------------------------------------------------------
def test_hw_print_solve_check_json():
    inst = X.generate("sub-batches", 0, 1)
    rc, out, _ = run("hw", "sub-batches", "-s", "0")
    assert rc == 0 and "python -m classroom hw sub-batches -s 0 -d 1" in out
    assert inst.question in out and inst.answer not in out
    rc, out, _ = run("hw", "sub-batches", "-s", "0", "-c")
    assert rc == 0 and f"Answer: {inst.answer}" in out
    rc, out, _ = run("hw", "sub-batches", "-s", "0", "--answer", inst.answer.lower())
    assert rc == 0 and out.startswith("correct")
    rc, out, _ = run("hw", "sub-batches", "-s", "0", "--answer", "0:1:E")
    assert rc == 1 and out.startswith("not correct")
    rc, out, _ = run("hw", "costs", "-s", "3", "-d", "2", "--json")
    assert rc == 0 and "answer" not in json.loads(out)
    rc, out, _ = run("hw", "--list")
    assert rc == 0 and all(t in out for t in X.topics())


def test_hw_mine_uses_identity_and_secret(monkeypatch):
    monkeypatch.setenv("CLASSROOM_STUDENT", "alice")
    monkeypatch.setenv("CLASSROOM_SECRET", "s3")
    rc, out, _ = run("hw", "batches", "--mine")
    assert rc == 0 and f"-s {seed_for('alice', 'batches', 's3')} " in out


@pytest.mark.parametrize("argv", [
    ("hw", "--bogus"), ("hw", "batches"), ("hw", "batches", "-s", "x"),
    ("hw", "batches", "-s", "-3"), ("hw", "batches", "-s", "1", "-d", "4"),
    ("hw", "batches", "-s", "9" * 4000), ("hw", "batches", "-s", "10000000000"),
    ("hw", "nope", "-s", "1"), ("hw",), ("grade",), ("grade", "/nonexistent/a.csv"),
    ("grade", "/dev/zero"), ("grade", "/proc/self/status"), ("assign", "/nonexistent"),
    ("export", "moodle", "--out", "x"), ("bogus",),
])
def test_bad_flags_one_line_exit_2(argv):
    one_line_error(*run(*argv))


def test_simcore_hw_points_here():
    r = subprocess.run([sys.executable, "-m", "simcore", "hw", "batches", "-s", "1"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "python -m classroom hw" in r.stderr
    assert r.stderr.count("\n") == 1


# -- assign, collect, grade --------------------------------------------------------------------
def test_assign_collect_grade_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSROOM_SECRET", "c1")
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\nbob\n\n")
    rc, _, err = run("assign", roster, "--topics", "batches,costs", "-d", "2",
                     "--out", tmp_path / "class.csv", "--handouts", tmp_path / "ho")
    assert rc == 0, err
    rows = list(csv.DictReader((tmp_path / "class.csv").open()))
    assert [(r["student"], r["topic"]) for r in rows] == [
        ("alice", "batches"), ("alice", "costs"), ("bob", "batches"), ("bob", "costs")]
    assert rows[0]["seed"] == str(seed_for("alice", "batches", "c1"))
    # alice fills in her handout correctly; bob answers only one, wrongly
    for who in ("alice", "bob"):
        f = tmp_path / "ho" / f"{who}.txt"
        text = f.read_text()
        for t in ("batches", "costs"):
            ans = X.generate(t, seed_for(who, t, "c1"), 2).answer if who == "alice" else \
                ("0:1" if t == "batches" else "")
            text = text.replace(f"answer {t}: ", f"answer {t}: {ans}")
        f.write_text(text)
    one_line_error(*run("collect", tmp_path / "ho", "--out", tmp_path / "ho" / "bob.txt"))
    rc, _, err = run("collect", tmp_path / "ho", "--out", tmp_path / "answers.csv")
    assert rc == 0, err
    rc, out, err = run("grade", tmp_path / "answers.csv", "--roster", roster, "--topics",
                       "batches,costs", "-d", "2", "--gradebook", tmp_path / "gb.csv",
                       "--out", tmp_path / "grades.csv")
    assert rc == 0, err
    book = list(csv.DictReader((tmp_path / "gb.csv").open()))
    assert [(r["student"], r["points"], r["possible"]) for r in book] == [
        ("alice", "2", "2"), ("bob", "0", "2")]


def test_safe_out(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSROOM_SECRET", "c1")
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\n")
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    ro = tmp_path / "ro.csv"
    ro.write_text("keep\n")
    ro.chmod(0o444)
    for target in (roster, link, tmp_path, ro, "/proc/self/x", "/dev/null",
                   tmp_path / "missing" / "x.csv"):
        one_line_error(*run("assign", roster, "--out", target))
    assert roster.read_text() == "alice\n" and ro.read_text() == "keep\n"
    assert not (tmp_path / "elsewhere.csv").exists()
    # an existing file keeps its permissions
    keep = tmp_path / "keep.csv"
    keep.write_text("old")
    keep.chmod(0o640)
    assert run("assign", roster, "--out", keep)[0] == 0
    assert oct(keep.stat().st_mode & 0o777) == "0o640" and "alice" in keep.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_ctrl_c_one_line_130_no_temp_file(tmp_path):
    """SIGINT while grading a big class: one line, exit 130, nothing half-written."""
    ans = tmp_path / "answers.csv"
    ans.write_text("student,topic,answer\n" + "".join(
        f"s{i},costs,tlb=1\n" for i in range(20_000)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLASSROOM_SECRET": "x"}
    p = subprocess.Popen([sys.executable, "-m", "classroom", "grade", str(ans), "--topics",
                          "costs", "--out", str(tmp_path / "g.csv")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(5)        # well into grading (20,000 instances take a minute), not startup
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err == "classroom grade: interrupted\n", err
    assert [x.name for x in tmp_path.iterdir()] == ["answers.csv"]


def test_latin1_roster(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSROOM_SECRET", "c1")
    roster = tmp_path / "roster.csv"
    roster.write_bytes("username,name\njose,Jos\xe9 Mu\xf1oz\n".encode("latin-1"))
    rc, out, err = run("assign", roster, "--topics", "batches")
    assert rc == 0 and out.splitlines()[1].startswith("jose,batches,"), err


def test_formula_cells_are_neutralised(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSROOM_SECRET", "c1")
    ans = tmp_path / "a.csv"
    rows = [("bob", "batches", v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1")]
    with ans.open("w", newline="") as f:
        csv.writer(f).writerows([("student", "topic", "answer"), *rows])
    rc, out, err = run("grade", ans, "--topics", "batches", "--feedback", tmp_path / "fb")
    assert rc == 0, err
    for r in csv.DictReader(io.StringIO(out)):
        for v in r.values():
            assert not v.startswith(("=", "+", "-", "@", "\t", "\r")), v
