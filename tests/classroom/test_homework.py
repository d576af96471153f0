"""classroom.homework: ``hw`` (print, solve, check, list, seeds, assign) and ``grade`` (bulk CSV)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from classroom import exercises as X
from classroom import homework


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = homework.main(list(argv), out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def one_line_error(rc, out, err):
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("simcore "), err
    assert "Traceback" not in err + out


# -- hw ----------------------------------------------------------------------------------------
def test_list_names_every_topic_with_counts():
    rc, out, err = run("hw", "--list")
    assert rc == 0 and not err
    for t in X.topics():
        assert t in out
    assert "distinct instances" in out


def test_print_instance_without_and_with_solution():
    rc, out, _ = run("hw", "sub-batches", "-s", "0")
    assert rc == 0
    inst = X.generate("sub-batches", 0, 1)
    assert "python -m simcore hw sub-batches -s 0 -d 1" in out      # how to reproduce it
    assert inst.question in out and inst.answer_format in out
    assert inst.strip in out
    assert inst.answer not in out and "Worked answer" not in out
    rc, out, _ = run("hw", "sub-batches", "-s", "0", "-c")
    assert rc == 0 and f"Answer: {inst.answer}" in out and "Worked answer" in out


@pytest.mark.parametrize("topic", X.topics())
def test_every_topic_prints_and_solves(topic):
    for d in ("1", "2", "3"):
        rc, out, err = run("hw", topic, "-s", "5", "-d", d, "-c")
        assert rc == 0 and not err
        assert X.generate(topic, 5, int(d)).answer in out


def test_json_hides_the_solution_unless_asked():
    rc, out, _ = run("hw", "costs", "-s", "3", "-d", "2", "--json")
    d = json.loads(out)
    assert rc == 0 and "answer" not in d and "explanation" not in d
    assert d["command"] == "python -m simcore hw costs -s 3 -d 2"
    assert d["scenario"]["schema"] == "simcore.scenario/1"
    rc, out, _ = run("hw", "costs", "-s", "3", "-d", "2", "--json", "-c")
    assert json.loads(out)["answer"] == X.generate("costs", 3, 2).answer


def test_answer_check_exit_codes():
    inst = X.generate("batches", 11, 1)
    rc, out, _ = run("hw", "batches", "-s", "11", "--answer", " 0:5 , 5:3 ")
    assert rc == 0 and out.startswith("correct")
    rc, out, _ = run("hw", "batches", "-s", "11", "--answer", "0:8")
    assert rc == 1 and out.startswith("not correct") and "FPB_RESPECT_WRITE" in out
    rc, out, _ = run("hw", "batches", "-s", "11", "--answer", "eight")
    assert rc == 1 and "Write it as" in out
    assert inst.answer == "0:5,5:3"


def test_without_the_hw_word():
    rc, out, _ = run("batches", "-s", "11")
    assert rc == 0 and "Question:" in out


@pytest.mark.parametrize("argv", [
    ("hw", "--bogus"),
    ("hw", "batches"),                       # no seed
    ("hw", "batches", "-s", "x"),
    ("hw", "batches", "-s", "-3"),
    ("hw", "batches", "-s", "1", "-d", "4"),
    ("hw", "nope", "-s", "1"),
    ("hw",),
    ("hw", "--seed-for", "alice"),           # no topic
    ("grade",),
    ("grade", "/nonexistent/answers.csv"),
])
def test_bad_flags_one_line_exit_2(argv):
    one_line_error(*run(*argv))


def test_seeds_per_student_are_stable_and_differ():
    a = homework.seed_for("alice", "batches", "fall26")
    assert a == homework.seed_for("alice", "batches", "fall26")
    assert a != homework.seed_for("bob", "batches", "fall26")
    assert a != homework.seed_for("alice", "batches", "spring27")
    rc, out, _ = run("hw", "--seed-for", "alice", "--course", "fall26", "batches")
    assert rc == 0 and out.strip() == str(a)


def test_assign_then_grade_round_trip(tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\nbob\n\n")
    out_csv = tmp_path / "class.csv"
    rc, _, _ = run("hw", "--assign", str(roster), "--topics", "batches,costs", "-d", "2",
                   "--course", "c1", "--out", str(out_csv))
    assert rc == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert [(r["student"], r["topic"]) for r in rows] == [
        ("alice", "batches"), ("alice", "costs"), ("bob", "batches"), ("bob", "costs")]
    assert all(r["difficulty"] == "2" and r["answer"] == "" for r in rows)
    assert rows[0]["seed"] == str(homework.seed_for("alice", "batches", "c1"))
    # alice answers correctly, bob leaves his blank
    for r in rows:
        if r["student"] == "alice":
            r["answer"] = X.generate(r["topic"], int(r["seed"]), 2).answer
    with out_csv.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    rc, out, err = run("grade", str(out_csv))
    assert rc == 0
    graded = list(csv.DictReader(io.StringIO(out)))
    assert [g["correct"] for g in graded] == ["yes", "yes", "no", "no"]
    assert "No answer" in graded[2]["feedback"]
    assert "graded 4 answers from 2 students: 2 correct (50%)" in err


# -- grade -------------------------------------------------------------------------------------
def sample_csv(path):
    sb = X.generate("sub-batches", 0, 1)           # answer 7:1:N,8:8:E
    pf = X.generate("partial-failure", 0, 2)
    bz = X.generate("bug-zoo", 1, 3)               # cross-pmd
    rows = [
        ("student", "topic", "seed", "difficulty", "answer", "comment"),
        ("ann", "sub-batches", "0", "1", "7:1:n, 8:8:e", "lower case, spaces"),
        ("ann", "partial-failure", "0", "2", pf.answer, ""),
        ("ann", "bug-zoo", "1", "3", bz.answer, ""),
        ("ben", "sub-batches", "0", "1", "7:1:N,8:5:E,13:3:E", ""),
        ("ben", "partial-failure", "0", "2", pf.answer.replace("refcount=-5", "refcount=-6"), ""),
        ("ben", "bug-zoo", "1", "", "page_table_bounds", "difficulty empty = 1"),
        ("cat", "sub-batches", "0", "1", "0:1:E,1:15:N", "head-indexed? no: wrong"),
        ("cat", "batches", "11", "1", "", "no answer"),
    ]
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return sb, pf, bz


def test_grade_sample_csv(tmp_path):
    src = tmp_path / "answers.csv"
    sample_csv(src)
    dst = tmp_path / "grades.csv"
    rc, out, err = run("grade", str(src), "--out", str(dst))
    assert rc == 0 and not err
    assert out.startswith("graded 8 answers from 3 students: 4 correct (50%); by topic: "
                          "sub-batches 1/3, partial-failure 1/2, bug-zoo 2/2, batches 0/1")
    graded = list(csv.DictReader(dst.open()))
    assert list(graded[0]) == list(homework.OUT_COLUMNS)
    assert [g["correct"] for g in graded] == ["yes", "yes", "yes", "no", "no", "yes", "no", "no"]
    assert graded[3]["feedback"].startswith("Your second sub-batch (8:5:E) ends at page 12")
    assert graded[4]["feedback"].startswith("refcount: you wrote -6")
    assert graded[5]["difficulty"] == "1"
    assert graded[7]["feedback"].startswith("No answer.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.csv", "grades.csv"]


def test_grade_to_stdout(tmp_path):
    src = tmp_path / "answers.csv"
    sample_csv(src)
    rc, out, err = run("grade", str(src))
    assert rc == 0
    assert out.splitlines()[0] == ",".join(homework.OUT_COLUMNS)
    assert len(list(csv.DictReader(io.StringIO(out)))) == 8
    assert err.startswith("graded 8 answers")


@pytest.mark.parametrize("content, where", [
    ("student,topic,seed,answer\nann,batches,1,0:8\n", "column 'difficulty'"),
    ("student,topic,seed,difficulty,answer\nann,batches,x1,1,0:8\n", "row 2, column seed"),
    ("student,topic,seed,difficulty,answer\nann,batches,1,1,0:8\nbo,nope,1,1,x\n",
     "row 3, column topic"),
    ("student,topic,seed,difficulty,answer\nann,batches,1,5,0:8\n", "row 2, column difficulty"),
    ("student,topic,seed,difficulty,answer\n,batches,1,1,0:8\n", "row 2, column student"),
    ("student,topic,seed,difficulty,answer\nann,batches,1,1,0:8,5:3\n", "row 2"),
    ("", "empty file"),
    ("student,topic,seed,difficulty,answer\n", "no answers"),
])
def test_malformed_csv_rejected_whole(tmp_path, content, where):
    src = tmp_path / "answers.csv"
    src.write_text(content)
    dst = tmp_path / "grades.csv"
    dst.write_text("old grades\n")                 # must survive untouched
    rc, out, err = run("grade", str(src), "--out", str(dst))
    one_line_error(rc, out, err)
    assert where in err
    assert dst.read_text() == "old grades\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.csv", "grades.csv"]


def test_malformed_csv_leaves_no_output_file(tmp_path):
    src = tmp_path / "answers.csv"
    src.write_text("student,topic,seed,difficulty,answer\nann,batches,-1,1,0:8\n")
    dst = tmp_path / "grades.csv"
    rc, out, err = run("grade", str(src), "--out", str(dst))
    one_line_error(rc, out, err)
    assert "row 2, column seed" in err
    assert not dst.exists()


def test_grade_out_into_a_missing_directory(tmp_path):
    src = tmp_path / "answers.csv"
    sample_csv(src)
    one_line_error(*run("grade", str(src), "--out", str(tmp_path / "no" / "g.csv")))


def test_cli_dispatches_to_homework():
    cli = pytest.importorskip("simcore.cli")
    out, err = io.StringIO(), io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(["hw", "batches", "-s", "11", "--answer", "0:5,5:3"])
    assert rc == 0 and "correct" in out.getvalue()
