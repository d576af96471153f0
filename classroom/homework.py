"""The student's command: ``python -m classroom hw ...`` (one instance: print, solve, check).

Like OSTEP's homework simulators: a topic and a seed give one fresh instance; ``-c`` shows the
worked answer. Everything is computed by simcore (`classroom.exercises`); nothing is stored::

    python -m classroom hw --list                         # the topics, with instance counts
    python -m classroom hw sub-batches -s 42              # an instance (difficulty 1)
    python -m classroom hw sub-batches -s 42 -d 3         # harder
    python -m classroom hw sub-batches -s 42 --answer "6:3:N,9:2:E"   # check (exit 0 / 1)
    python -m classroom hw sub-batches -s 42 -c           # the worked answer
    python -m classroom hw sub-batches -s 42 --json       # the instance as JSON (-c: answer)
    python -m classroom hw sub-batches --mine             # my own instance (student_id())

The instructor's commands (assign, collect, grade, export) are in `classroom.cli`.
Exit codes: 0 = printed / correct, 1 = ``--answer`` was wrong, 2 = bad input.
"""

from __future__ import annotations

import argparse
import json

from classroom import exercises
from classroom.exercises.render import legend
from classroom.identity import course_secret, seed_for, student_id


def hw_parser(parser_class) -> argparse.ArgumentParser:
    """The ``hw`` command's flags."""
    p = parser_class(prog="classroom hw", description="Seeded exercises over simcore.",
                     epilog="Instructors: python -m classroom --help.")
    p.add_argument("topic", nargs="?", help="the topic (see --list)")
    p.add_argument("-s", "--seed", type=int, help="the seed (a whole number >= 0)")
    p.add_argument("--mine", action="store_true",
                   help="my own instance: the seed from my identity and CLASSROOM_SECRET")
    p.add_argument("-d", "--difficulty", type=int, default=1, help="1, 2 or 3 (default 1)")
    p.add_argument("-c", "--solve", action="store_true", help="show the worked answer")
    p.add_argument("--json", action="store_true", help="print the instance as JSON")
    p.add_argument("--answer", help="check this answer (exit 0 if correct, 1 if not)")
    p.add_argument("--list", action="store_true", help="name the topics")
    return p


def cmd_list(out) -> int:
    """``hw --list``: each topic, its chapter and instance counts."""
    names = exercises.topics()
    w = max(len(n) for n in names) + 2
    out.write("topics (python -m classroom hw TOPIC -s SEED [-d 1|2|3] [-c]):\n")
    for n in names:
        mod = exercises.topic_module(n)
        counts = ", ".join(f"d{d}: {_big(exercises.count_instances(n, d))}" for d in (1, 2, 3))
        out.write(f"  {n:<{w}}{mod.SUMMARY}\n  {'':<{w}}chapter {mod.CHAPTER}; distinct "
                  f"instances {counts}\n")
    return 0


def _big(n: int) -> str:
    return f"{n:,}" if n < 10 ** 12 else f"{n:.2e}"


def render(inst, solve: bool) -> str:
    """An instance as the terminal shows it (with the worked answer if ``solve``)."""
    lines = [f"classroom homework - {inst.topic}, difficulty {inst.difficulty}, seed {inst.seed}: "
             f"{inst.title}",
             f"reproduce: {inst.command}", "", inst.strip, "", legend(), "",
             "Question: " + inst.question, "", "Answer format: " + inst.answer_format,
             f"Check an answer: {inst.command} --answer \"...\""]
    if solve:
        lines += ["", "Answer: " + inst.answer, "", "Worked answer:", inst.explanation]
    return "\n".join(lines) + "\n"


def cmd_hw(args, out, usage_error) -> int:
    """``hw``: print, solve or check one instance (exit 1 for a wrong answer)."""
    if args.list:
        return cmd_list(out)
    if not args.topic:
        raise usage_error("give a TOPIC and -s SEED (or --mine), or --list")
    exercises.topic_module(args.topic)
    if args.mine:
        if args.seed is not None:
            raise usage_error("give -s SEED or --mine, not both")
        args.seed = seed_for(student_id(), args.topic, course_secret())
    if args.seed is None:
        raise usage_error(f"-s/--seed is required (e.g. python -m classroom hw {args.topic} "
                          "-s 1)")
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
