"""``python -m classroom hw|assign|collect|grade|export|student-id``.

Students::

    python -m classroom hw sub-batches -s 42 [-d 2] [-c] [--answer "..."]   (see homework.py)
    python -m classroom hw sub-batches --mine          # my own instance (identity + secret)
    python -m classroom student-id                     # who the classroom thinks I am

Instructors (the course secret: ``--secret-file FILE`` or ``CLASSROOM_SECRET``)::

    python -m classroom assign roster.csv --topics batches,costs -d 2 --out class.csv \\
        --handouts handouts/                 # one CSV for the class, one text file each
    python -m classroom collect handouts/ --out answers.csv     # filled-in handouts -> CSV
    python -m classroom grade answers.csv --roster roster.csv --topics batches,costs -d 2 \\
        --out grades.csv --gradebook canvas.csv --format canvas --feedback feedback/ \\
        [--release-solutions]
    python -m classroom export nbgrader --topics batches,costs --course fall26 --out source/
    python -m classroom export otter --topics batches,costs --out otter/

Bad input (a flag, an unreadable file, a file that must not be overwritten) is one line on
stderr and exit 2; in ``grade`` a bad *row* is reported with its line and skipped. Ctrl-C is
one line and exit 130, and leaves no half-written file.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

from classroom import exercises, homework
from classroom.exercises import ExerciseError
from classroom.grading import (
    Report,
    feedback_markdown,
    grade_class,
    roster_from_table,
    submissions,
)
from classroom.identity import StudentIdError, course_secret, seed_for, student_id
from classroom.lms import FORMATS, TableError, gradebook_csv, num, read_table
from classroom.safeio import FileError, cell, check_target, read_text, write_atomic
from simcore.safeio import interrupted, one_line

PROG = "classroom"
MAX_REPORTED = 30


class UsageError(Exception):
    """Bad input; the message is the one line printed after the program name."""


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (one line) instead of exiting."""
    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message.splitlines()[0] if message else "bad arguments")


def _topics(text: str | None) -> list[str]:
    topics = [t.strip() for t in (text or ",".join(exercises.topics())).split(",") if t.strip()]
    for t in topics:
        exercises.topic_module(t)
    if not topics:
        raise UsageError("--topics: no topic given")
    return topics


def _difficulty(d: int) -> int:
    if d not in (1, 2, 3):
        raise UsageError(f"-d: difficulty must be 1, 2 or 3, not {d}")
    return d


def _secret(args) -> str:
    """The course secret: ``--secret-file``, else ``CLASSROOM_SECRET`` (never a flag's text:
    it would end up in the shell history)."""
    return course_secret(None, args.secret_file)


def _note_secret(secret: str, err) -> None:
    if not secret:
        err.write("note: no course secret (CLASSROOM_SECRET or --secret-file): seeds follow "
                  "from the student id alone, the same in every course\n")


def _csv(rows, header) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([cell(v) for v in r])
    return buf.getvalue()


def _roster(path: str, id_column: str | None = None):
    try:
        students, problems = roster_from_table(read_table(path, "roster"), id_column)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if not students:
        raise UsageError(f"roster {path!r}: no students")
    return students, problems


# -- assign / collect --------------------------------------------------------------------------
def cmd_assign(args, out, err) -> int:
    """``assign``: the class sheet (and handouts) for a roster, seeds from identity."""
    topics, d, secret = _topics(args.topics), _difficulty(args.difficulty), _secret(args)
    students, problems = _roster(args.roster, args.id_column)
    for p in problems[:MAX_REPORTED]:
        err.write(p + "\n")
    rows = [(s.id, t, seed_for(s.id, t, secret), d, "") for s in students for t in topics]
    text = _csv(rows, ("student", "topic", "seed", "difficulty", "answer"))
    if args.handouts:
        hd = Path(args.handouts)
        if hd.exists() and not hd.is_dir():
            raise UsageError(f"--handouts: {args.handouts!r} is not a directory")
        hd.mkdir(parents=True, exist_ok=True)
        for s in students:
            write_atomic(hd / f"{s.id}.txt", handout(s.id, topics, d, secret),
                         inputs=[args.roster], flag="--handouts")
    if args.out:
        write_atomic(args.out, text, inputs=[args.roster])
        out.write(f"assigned {len(topics)} topic(s) to {len(students)} students: "
                  f"{args.out}" + (f", handouts in {args.handouts}" if args.handouts else "")
                  + "\n")
    else:
        out.write(text)
    _note_secret(secret, err)
    return 0


def handout(student: str, topics, d: int, secret: str) -> str:
    """One student's sheet: each question with its picture, and a line for each answer."""
    lines = [f"student: {student}", "",
             "Write each answer after 'answer TOPIC:' on the same line, then hand the file in.",
             ""]
    for t in topics:
        inst = exercises.generate(t, seed_for(student, t, secret), d)
        lines += [f"== {t} (difficulty {d}) — {inst.title}", "", inst.strip, "",
                  "Question: " + inst.question, "", "Answer format: " + inst.answer_format, "",
                  f"answer {t}: ", ""]
    return "\n".join(lines)


def cmd_collect(args, out, err) -> int:
    """``collect``: the answers of filled-in handouts as one CSV."""
    src = Path(args.dir)
    if not src.is_dir():
        raise UsageError(f"{args.dir!r} is not a directory of handouts")
    rows, n = [], 0
    files = sorted(src.glob("*.txt"))[:10_000]
    if args.out:
        check_target(args.out, files)            # never over a handout
    for f in files:
        try:
            text, _ = read_text(f, "handout")
        except FileError as e:
            err.write(f"{e} (skipped)\n")
            continue
        m = re.search(r"^student:\s*(\S+)\s*$", text, flags=re.M)
        if not m:
            err.write(f"handout {f.name}: no 'student:' line (skipped)\n")
            continue
        n += 1
        for t, a in re.findall(r"^answer ([a-z0-9-]+):[ \t]*(.*)$", text, flags=re.M):
            rows.append((m.group(1), t, a.strip()))
    text = _csv(rows, ("student", "topic", "answer"))
    if args.out:
        write_atomic(args.out, text, inputs=files)
        out.write(f"collected {len(rows)} answers from {n} handouts: {args.out}\n")
    else:
        out.write(text)
    return 0


# -- grade -------------------------------------------------------------------------------------
def cmd_grade(args, out, err) -> int:
    """``grade``: grades, gradebook and feedback for a class (see `classroom.grading`)."""
    topics, d, secret = _topics(args.topics), _difficulty(args.difficulty), _secret(args)
    if not 0 < args.points <= 1000:
        raise UsageError(f"--points: must be more than 0 and at most 1000, not {args.points}")
    targets = [t for t in (args.out, args.gradebook) if t]
    inputs = [args.file, args.roster]
    for t in targets:                         # refuse before any work, not after
        check_target(t, inputs)
    if args.feedback and Path(args.feedback).exists() and not Path(args.feedback).is_dir():
        raise UsageError(f"--feedback: {args.feedback!r} is not a directory")
    students, problems = _roster(args.roster, args.id_column) if args.roster else (None, [])
    columns = {}
    for spec in args.column:
        header, sep, topic = spec.rpartition("=")
        if not sep or not header.strip():
            raise UsageError(f"--column: {spec[:60]!r} is not HEADER=TOPIC")
        columns[header.strip()] = topic.strip()
    try:
        records, row_problems = submissions(read_table(args.file, "answers"), columns)
    except ValueError as e:
        raise UsageError(str(e)) from None
    report = grade_class(students, records, secret, topics, d, args.points,
                         problems + row_problems)
    rows = [(g.student, g.topic, g.seed, g.difficulty, num(g.points), num(g.possible),
             "yes" if g.correct else "no", g.feedback + (f" ({g.parts}.)" if g.parts else ""))
            for g in report.graded]
    text = _csv(rows, ("student", "topic", "seed", "difficulty", "points", "possible",
                       "correct", "feedback"))
    assignment = args.assignment or f"classroom: {', '.join(topics)}"
    if args.out:
        write_atomic(args.out, text, inputs=inputs)
    else:
        out.write(text)
    if args.gradebook:
        book = gradebook_csv(report.students, report.totals(), report.possible, args.format,
                             assignment)
        write_atomic(args.gradebook, book, inputs=inputs, flag="--gradebook")
    if args.feedback:
        write_feedback(report, args.feedback, args.release_solutions, assignment, inputs)
    for p in report.problems[:MAX_REPORTED]:
        err.write(p + "\n")
    if len(report.problems) > MAX_REPORTED:
        err.write(f"... and {len(report.problems) - MAX_REPORTED} more problems\n")
    line = summary(report)
    (out if args.out else err).write(line + "\n")
    _note_secret(secret, err)
    return 0


def write_feedback(report: Report, directory: str, release: bool, assignment: str,
                   inputs) -> None:
    """One Markdown feedback file per roster student."""
    fd = Path(directory)
    fd.mkdir(parents=True, exist_ok=True)
    by = {}
    for g in report.graded:
        by.setdefault(g.student, []).append(g)
    for s in report.students:
        write_atomic(fd / f"{s.id}.md", feedback_markdown(s, by.get(s.id, []), report.possible,
                                                          release, assignment),
                     inputs=inputs, flag="--feedback")


def summary(report: Report) -> str:
    """The one-line summary of a graded class."""
    g = report.graded
    n, ok = len(g), sum(1 for x in g if x.correct)
    pts = sum(x.points for x in g)
    skipped = sum(1 for p in report.problems if p.endswith("(skipped)"))
    return (f"graded {n} answer{'s' if n != 1 else ''} from {len({x.student for x in g})} "
            f"of {len(report.students)} students: {ok} fully correct, {pts:g} points in all; "
            f"{skipped} row(s) skipped, {len(report.problems) - skipped} note(s)")


# -- export ------------------------------------------------------------------------------------
def cmd_export(args, out, err) -> int:
    """``export nbgrader|otter``: an assignment for the course tool."""
    topics, d = _topics(args.topics), _difficulty(args.difficulty)
    secret = _secret(args)
    if args.tool == "nbgrader":
        from classroom.nbgrader_export import export
    else:
        from classroom.otter_export import export
    path = export(Path(args.out), topics, d, args.course or "course", secret, args.name)
    out.write(f"wrote {path}\n")
    _note_secret(secret, err)
    return 0


def cmd_student_id(args, out, err) -> int:
    """``student-id``: print `classroom.identity.student_id()`."""
    out.write(student_id() + "\n")
    return 0


# -- parser and entry point --------------------------------------------------------------------
def _secret_flags(p):
    p.add_argument("--secret-file", help="the course secret (first line); default: "
                   "$CLASSROOM_SECRET")


def build_parser() -> Parser:
    """The parser of every command but ``hw`` (`classroom.homework`)."""
    parser = Parser(prog=PROG, description="Exercises, homework and grading over simcore.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    sub.add_parser("hw", help="one exercise: print, solve, check (students)", add_help=False)
    p = sub.add_parser("assign", help="hand out: a class CSV and a handout per student")
    p.add_argument("roster", help="roster CSV (Canvas, Moodle, Gradescope, Google, plain list)")
    p.add_argument("--topics", help="comma-separated topics (default: all)")
    p.add_argument("-d", "--difficulty", type=int, default=1)
    p.add_argument("--id-column", help="the roster column holding the student id")
    p.add_argument("--out", help="the class CSV (default: stdout)")
    p.add_argument("--handouts", metavar="DIR", help="write one handout file per student")
    _secret_flags(p)
    p = sub.add_parser("collect", help="filled-in handouts -> an answers CSV")
    p.add_argument("dir")
    p.add_argument("--out")
    p = sub.add_parser("grade", help="grade a class's answers against the roster")
    p.add_argument("file", help="answers CSV (ours, or an LMS export)")
    p.add_argument("--roster", help="the class roster (strongly recommended)")
    p.add_argument("--id-column", help="the roster column holding the student id")
    p.add_argument("--topics", help="the assignment's topics (default: all)")
    p.add_argument("-d", "--difficulty", type=int, default=1)
    p.add_argument("--column", action="append", default=[], metavar="HEADER=TOPIC",
                   help="a question column of a wide export and its topic (repeatable)")
    p.add_argument("--points", type=float, default=1.0, help="points per topic (default 1)")
    p.add_argument("--out", help="per-answer grades CSV (default: stdout)")
    p.add_argument("--gradebook", help="per-student totals CSV for an LMS import")
    p.add_argument("--format", choices=FORMATS, default="generic", help="the gradebook format")
    p.add_argument("--assignment", help="the assignment's name in the gradebook")
    p.add_argument("--feedback", metavar="DIR", help="one Markdown feedback file per student")
    p.add_argument("--release-solutions", action="store_true",
                   help="include the worked answers in the feedback files")
    _secret_flags(p)
    p = sub.add_parser("export", help="an nbgrader or otter-grader assignment")
    p.add_argument("tool", choices=("nbgrader", "otter"))
    p.add_argument("--topics", help="comma-separated topics (default: all)")
    p.add_argument("-d", "--difficulty", type=int, default=1)
    p.add_argument("--course", default="", help="the course id (nbgrader's course_id)")
    p.add_argument("--name", default="simcore-hw", help="the assignment name")
    p.add_argument("--out", required=True, help="directory to write")
    _secret_flags(p)
    sub.add_parser("student-id", help="print who the classroom thinks you are")
    return parser


COMMANDS = {"assign": cmd_assign, "collect": cmd_collect, "grade": cmd_grade,
            "export": cmd_export, "student-id": cmd_student_id}
ERRORS = (UsageError, ExerciseError, FileError, TableError, StudentIdError)


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    """Run the command line; return the exit code (never raises on bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    err = err or sys.stderr
    prog = f"{PROG} {argv[0]}" if argv and argv[0] in (*COMMANDS, "hw") else PROG
    try:
        if argv and argv[0] == "hw":
            args = homework.hw_parser(Parser).parse_args(argv[1:])
            return homework.cmd_hw(args, out, UsageError)
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args, out, err)
    except ERRORS as e:
        err.write(f"{prog}: {one_line(str(e).splitlines()[0]) if str(e) else 'bad input'}\n")
        return 2
    except KeyboardInterrupt:
        return interrupted(prog, err)
    except SystemExit as e:          # --help
        return int(e.code or 0) if isinstance(e.code, int) else 0
