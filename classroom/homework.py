"""Homework from the command line: ``python -m simcore hw ...`` and ``python -m simcore grade ...``.

Like OSTEP's homework simulators: a topic and a seed give one fresh instance; ``-c`` shows the
worked answer. Everything is computed by simcore (`classroom.exercises`); nothing is stored.

Students::

    python -m simcore hw --list                         # the topics, with instance counts
    python -m simcore hw sub-batches -s 42              # an instance (difficulty 1)
    python -m simcore hw sub-batches -s 42 -d 3         # harder
    python -m simcore hw sub-batches -s 42 --answer "6:3:N,9:2:E"   # check (exit 0 / 1)
    python -m simcore hw sub-batches -s 42 -c           # the worked answer
    python -m simcore hw sub-batches -s 42 --json       # the instance as JSON (-c: with answer)

Instructors — giving each student their own seed:

* A student's seed is any whole number; the reproducible way is to derive it from the student
  and a secret course word, so students cannot look up each other's: ``hw --seed-for alice
  --course fall26 sub-batches`` prints ``alice``'s seed for that topic (the first 8 hex digits
  of SHA-256 of ``course/student/topic``, modulo 1,000,000).
* ``hw --assign roster.txt --topics batches,sub-batches -d 2 --course fall26 --out class.csv``
  reads one student per line (or a CSV with a ``student`` column) and writes
  ``student,topic,seed,difficulty,answer`` with the answer empty — hand each student their
  lines (each prints the question with ``hw TOPIC -s SEED -d D``), collect the answers into the
  ``answer`` column, and grade the file.
* Keep ``-c`` and the course word to yourself; the student edition of the book hides the
  solutions, and its pages hold only salted hashes of the answers.

Instructors — grading a class in bulk::

    python -m simcore grade answers.csv --out grades.csv

``answers.csv`` needs a header with the columns ``student,topic,seed,difficulty,answer`` (any
order; other columns are ignored; an empty difficulty means 1). The output has
``student,topic,seed,difficulty,correct,feedback`` — ``correct`` is ``yes``/``no`` and the
feedback explains the first thing wrong — and one summary line is printed (without ``--out``
the CSV goes to stdout and the summary to stderr). A malformed file (no header, a missing
column, a bad seed or difficulty, an unknown topic) is rejected as a whole with one line naming
the row and column, exit code 2, and no output file: nothing is written until every row is
valid, and the file is written to a temporary name and renamed.

Exit codes: 0 = printed / correct / graded, 1 = ``--answer`` was wrong, 2 = bad input or flags
(one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from classroom import exercises
from classroom.exercises import ExerciseError
from classroom.exercises.render import legend

COLUMNS = ("student", "topic", "seed", "difficulty", "answer")
OUT_COLUMNS = ("student", "topic", "seed", "difficulty", "correct", "feedback")


class UsageError(Exception):
    """Bad input; the message is the one line printed after the program name."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message.splitlines()[0] if message else "bad arguments")


def seed_for(student: str, topic: str, course: str = "") -> int:
    """A student's seed for a topic: stable, and unguessable without the course word."""
    h = hashlib.sha256(f"{course}/{student}/{topic}".encode()).hexdigest()
    return int(h[:8], 16) % 1_000_000


# -- hw ----------------------------------------------------------------------------------------
def hw_parser() -> Parser:
    p = Parser(prog="simcore hw", description="Seeded exercises over simcore.",
               epilog="Instructors: see the docstring of classroom.homework.")
    p.add_argument("topic", nargs="?", help="the topic (see --list)")
    p.add_argument("-s", "--seed", type=int, help="the seed (a whole number >= 0)")
    p.add_argument("-d", "--difficulty", type=int, default=1, help="1, 2 or 3 (default 1)")
    p.add_argument("-c", "--solve", action="store_true", help="show the worked answer")
    p.add_argument("--json", action="store_true", help="print the instance as JSON")
    p.add_argument("--answer", help="check this answer (exit 0 if correct, 1 if not)")
    p.add_argument("--list", action="store_true", help="name the topics")
    p.add_argument("--seed-for", metavar="STUDENT", help="print STUDENT's seed for TOPIC")
    p.add_argument("--course", default="", help="the course word mixed into seeds")
    p.add_argument("--assign", metavar="ROSTER", help="write an assignment CSV for a roster")
    p.add_argument("--topics", help="comma-separated topics for --assign (default: all)")
    p.add_argument("--out", help="where --assign writes (default: stdout)")
    return p


def cmd_list(out) -> int:
    names = exercises.topics()
    w = max(len(n) for n in names) + 2
    out.write("topics (python -m simcore hw TOPIC -s SEED [-d 1|2|3] [-c]):\n")
    for n in names:
        mod = exercises.topic_module(n)
        counts = ", ".join(f"d{d}: {_big(exercises.count_instances(n, d))}" for d in (1, 2, 3))
        out.write(f"  {n:<{w}}{mod.SUMMARY}\n  {'':<{w}}chapter {mod.CHAPTER}; distinct "
                  f"instances {counts}\n")
    return 0


def _big(n: int) -> str:
    return f"{n:,}" if n < 10 ** 12 else f"{n:.2e}"


def render(inst, solve: bool) -> str:
    lines = [f"simcore homework - {inst.topic}, difficulty {inst.difficulty}, seed {inst.seed}: "
             f"{inst.title}",
             f"reproduce: {inst.command}", "", inst.strip, "", legend(), "",
             "Question: " + inst.question, "", "Answer format: " + inst.answer_format,
             f"Check an answer: {inst.command} --answer \"...\""]
    if solve:
        lines += ["", "Answer: " + inst.answer, "", "Worked answer:", inst.explanation]
    return "\n".join(lines) + "\n"


def cmd_hw(args, out) -> int:
    if args.list:
        return cmd_list(out)
    if args.assign:
        return cmd_assign(args, out)
    if args.seed_for is not None:
        if not args.topic:
            raise UsageError("--seed-for needs a TOPIC")
        exercises.topic_module(args.topic)
        out.write(f"{seed_for(args.seed_for, args.topic, args.course)}\n")
        return 0
    if not args.topic:
        raise UsageError("give a TOPIC and -s SEED, or --list")
    if args.seed is None:
        raise UsageError(f"-s/--seed is required (e.g. python -m simcore hw {args.topic} -s 1)")
    inst = exercises.generate(args.topic, args.seed, args.difficulty)
    if args.answer is not None:
        fb = exercises.check(inst, args.answer)
        out.write(("correct: " if fb.correct else "not correct: ") + fb.message + "\n")
        return 0 if fb.correct else 1
    if args.json:
        d = inst.as_dict(solutions=args.solve)
        d["legend"] = legend()
        out.write(json.dumps(d, indent=1) + "\n")
        return 0
    out.write(render(inst, args.solve))
    return 0


def _roster(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and "," in lines[0]:
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows or "student" not in rows[0]:
            raise UsageError(f"{path}: a CSV roster needs a 'student' column")
        names = [r["student"].strip() for r in rows if (r.get("student") or "").strip()]
    else:
        names = lines
    if not names:
        raise UsageError(f"{path}: no students")
    return names


def cmd_assign(args, out) -> int:
    topics = [t.strip() for t in (args.topics or ",".join(exercises.topics())).split(",")
              if t.strip()]
    for t in topics:
        exercises.topic_module(t)
    if args.difficulty not in (1, 2, 3):
        raise UsageError(f"-d: difficulty must be 1, 2 or 3, not {args.difficulty}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for student in _roster(args.assign):
        for t in topics:
            w.writerow([student, t, seed_for(student, t, args.course), args.difficulty, ""])
    if args.out:
        write_atomic(args.out, buf.getvalue())
    else:
        out.write(buf.getvalue())
    return 0


# -- grade -------------------------------------------------------------------------------------
def grade_parser() -> Parser:
    p = Parser(prog="simcore grade", description="Grade a CSV of answers.",
               epilog="Columns: student,topic,seed,difficulty,answer. See classroom.homework.")
    p.add_argument("file", help="the answers CSV")
    p.add_argument("--out", help="write the grades CSV here (default: stdout)")
    return p


def read_answers(path: str) -> list[dict]:
    """Read and validate every row; raise UsageError naming the row and column."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a UTF-8 text file") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        raise UsageError(f"{path}: empty file (need a header: {','.join(COLUMNS)})")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise UsageError(f"{path}: row 1 (header): missing column {missing[0]!r} "
                         f"(need {','.join(COLUMNS)})")
    reader.fieldnames = header
    rows = []
    for rec in reader:
        line = reader.line_num
        if None in rec:
            raise UsageError(f"{path}: row {line}: more fields than the header has columns "
                             "(quote answers that contain commas)")
        if all(not (v or "").strip() for v in rec.values()):
            continue
        student = (rec.get("student") or "").strip()
        if not student:
            raise UsageError(f"{path}: row {line}, column student: empty")
        topic = (rec.get("topic") or "").strip()
        if topic not in exercises.TOPICS:
            raise UsageError(f"{path}: row {line}, column topic: unknown topic {topic!r} "
                             f"(choose one of {', '.join(exercises.topics())})")
        seed_text = (rec.get("seed") or "").strip()
        if not re.fullmatch(r"[0-9]+", seed_text):
            raise UsageError(f"{path}: row {line}, column seed: {seed_text!r} is not a whole "
                             "number >= 0")
        d_text = (rec.get("difficulty") or "").strip() or "1"
        if d_text not in ("1", "2", "3"):
            raise UsageError(f"{path}: row {line}, column difficulty: {d_text!r} is not 1, 2 "
                             "or 3")
        if rec.get("answer") is None:
            raise UsageError(f"{path}: row {line}, column answer: missing")
        rows.append({"student": student, "topic": topic, "seed": int(seed_text),
                     "difficulty": int(d_text), "answer": rec["answer"]})
    if not rows:
        raise UsageError(f"{path}: no answers below the header")
    return rows


def grade_rows(rows: list[dict]) -> list[dict]:
    cache: dict[tuple, object] = {}
    out = []
    for r in rows:
        key = (r["topic"], r["seed"], r["difficulty"])
        if key not in cache:
            cache[key] = exercises.generate(*key)
        inst = cache[key]
        if not r["answer"].strip():
            correct, msg = False, f"No answer. Write it as {inst.answer_format}."
        else:
            fb = exercises.check(inst, r["answer"])
            correct, msg = fb.correct, fb.message
        out.append({"student": r["student"], "topic": r["topic"], "seed": r["seed"],
                    "difficulty": r["difficulty"], "correct": "yes" if correct else "no",
                    "feedback": msg})
    return out


def summary(graded: list[dict]) -> str:
    n = len(graded)
    ok = sum(1 for g in graded if g["correct"] == "yes")
    students = len({g["student"] for g in graded})
    per = {}
    for g in graded:
        a, b = per.get(g["topic"], (0, 0))
        per[g["topic"]] = (a + (g["correct"] == "yes"), b + 1)
    topics = ", ".join(f"{t} {a}/{b}" for t, (a, b) in per.items())
    return (f"graded {n} answer{'s' if n != 1 else ''} from {students} student"
            f"{'s' if students != 1 else ''}: {ok} correct ({100 * ok / n:.0f}%); by topic: "
            f"{topics}")


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"--out: directory {str(directory)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def cmd_grade(args, out, err) -> int:
    rows = read_answers(args.file)
    graded = grade_rows(rows)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=OUT_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(graded)
    line = summary(graded)
    if args.out:
        write_atomic(args.out, buf.getvalue())
        out.write(f"{line}; grades written to {args.out}\n")
    else:
        out.write(buf.getvalue())
        err.write(line + "\n")
    return 0


# -- entry point -------------------------------------------------------------------------------
def main(argv: list[str] | None = None, out=None, err=None) -> int:
    """``argv`` starts with ``hw`` or ``grade`` (as `simcore.cli` passes it); without either,
    ``hw`` is assumed. Returns the exit code; never raises on bad input."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    err = err or sys.stderr
    cmd = "hw"
    if argv and argv[0] in ("hw", "grade"):
        cmd, argv = argv[0], argv[1:]
    prog = f"simcore {cmd}"
    try:
        if cmd == "grade":
            return cmd_grade(grade_parser().parse_args(argv), out, err)
        return cmd_hw(hw_parser().parse_args(argv), out)
    except (UsageError, ExerciseError) as e:
        err.write(f"{prog}: {str(e).splitlines()[0] if str(e) else 'bad input'}\n")
        return 2
    except SystemExit as e:          # --help
        return int(e.code or 0) if isinstance(e.code, int) else 0


if __name__ == "__main__":           # pragma: no cover
    sys.exit(main())
