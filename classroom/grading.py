"""Grading a class: roster, submissions, each student's own instance, points and feedback.

`grade_class(roster, submissions, secret, topics, difficulty)`:

* every student's instance of every topic is *recomputed* from the roster and the course
  secret (`classroom.identity.seed_for`); a seed or difficulty in the submission is only
  compared with it (a mismatch is reported: a classmate's seed, the documentation's, an easier
  difficulty), never trusted;
* a row whose student is not on the roster, whose topic is unknown, or whose cells are broken
  (an unquoted comma, an over-long field) is reported with its line and skipped — one bad row
  never stops the class;
* of duplicate submissions (same student and topic) the latest counts (by a timestamp column
  when there is one, else the later row), and the others are reported;
* points: ``points`` per topic, with partial credit for answers of several fields (each field
  right = its share; the checker's verdict decides full marks);
* feedback per student: each answer, its points and the checker's explanation; the worked
  answer only when the instructor releases it.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from datetime import datetime

from classroom import exercises
from classroom.exercises.base import AnswerError, bounded
from classroom.exercises.client import VALUE, spec_for
from classroom.identity import StudentIdError, seed_for, valid_id
from classroom.lms import ANSWER_COLUMNS, IDENTITY, TIME_COLUMNS, TOPIC_COLUMNS, Row, Table, key


@dataclass
class Student:
    id: str                                   # the identity the seed is derived from
    name: str = ""
    email: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def get(self, k: str) -> str:
        return self.extra.get(k, "")


@dataclass
class Graded:
    student: str
    topic: str
    seed: int
    difficulty: int
    answer: str
    points: float
    possible: float
    correct: bool
    feedback: str
    parts: str = ""                           # partial credit: "2/3 fields right"
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    graded: list[Graded]
    problems: list[str]                       # "row N: reason (skipped)" and other notes
    students: list[Student]
    possible: float

    def totals(self) -> dict[str, float]:
        out = {s.id: 0.0 for s in self.students}
        for g in self.graded:
            out[g.student] = out.get(g.student, 0.0) + g.points
        return out


# -- the roster --------------------------------------------------------------------------------
def roster_from_table(t: Table, id_column: str | None = None) -> tuple[list[Student], list[str]]:
    """Students from a roster table (the identity column as `classroom.lms` says), and the
    rows that could not be used."""
    col = key(id_column) if id_column else None
    if col and col not in t.keys:
        raise ValueError(f"--id-column: no column {id_column!r} in {t.path} "
                         f"(it has {', '.join(t.headers)})")
    if col is None:
        # Canvas's Student column is a display name; prefer a login when there is one
        logins = [c for c in ("sisloginid", "loginid", "login", "username", "user")
                  if c in t.keys]
        col = logins[0] if logins else t.column(IDENTITY)
    if col is None:
        if len(t.keys) == 1:           # a plain list of names, one per line: the header is one
            col = t.keys[0]
        else:
            raise ValueError(f"{t.path}: no column names the student (one of "
                             "student, login, username, email, sid, id)")
    students, problems, seen = [], [], set()
    rows = list(t.rows)
    if len(t.keys) == 1 and t.keys[0] not in IDENTITY:
        rows.insert(0, Row(1, {col: t.headers[0]}))     # a plain list: no header line
    for r in rows:
        raw = r.values.get(col, "")
        if r.problem:
            problems.append(f"roster row {r.line}: {r.problem} (skipped)")
            continue
        try:
            sid = valid_id(raw)
        except StudentIdError as e:
            problems.append(f"roster row {r.line}: {e} (skipped)")
            continue
        if sid.lower() in seen:
            problems.append(f"roster row {r.line}: {sid} is listed twice (kept once)")
            continue
        seen.add(sid.lower())
        v = r.values
        name = v.get("student") or v.get("name") or " ".join(
            x for x in (v.get("firstname"), v.get("surname") or v.get("lastname")) if x)
        email = v.get("emailaddress") or v.get("email") or ""
        students.append(Student(sid, name if name != sid else "", email, dict(v)))
    return students, problems


def _lookup(students: list[Student]) -> dict[str, Student]:
    """Every way a submission may name a student -> the student (ids, emails, logins)."""
    out: dict[str, Student] = {}
    for s in students:
        for k in (s.id, s.email, s.email.split("@")[0] if "@" in s.email else "",
                  *(s.extra.get(c, "") for c in ("sid", "sisuserid", "idnumber", "username",
                                                  "sisloginid", "loginid"))):
            if k:
                out.setdefault(k.strip().lower(), s)
    return out


# -- submissions -------------------------------------------------------------------------------
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %I:%M:%S %p",
                 "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
                 "%d %B %Y %I:%M %p")                      # the last: Moodle's quiz reports


def _when(text: str):
    """A submission time as the LMSs write it (the zone dropped: one export, one zone)."""
    t = re.sub(r"(?:\s*(?:GMT|UTC)\s*(?:[+-]\d{1,2}(?::?\d\d)?)?|Z|[+-]\d\d:?\d\d)$", "",
               re.sub(r"\s+", " ", (text or "").strip()[:40]))
    for f in _TIME_FORMATS:
        try:
            return datetime.strptime(t, f)
        except ValueError:
            pass
    return None


def submissions(t: Table, columns: dict[str, str] | None = None) -> tuple[list[dict], list[str]]:
    """Long (student, topic, answer) or wide (one column per topic) rows -> answer records.

    ``columns`` maps headers to topics for a wide export whose question columns are not named
    after the topics (Moodle's ``Response 1``, a form's own wording): ``{"Response 1":
    "batches"}``."""
    scol = t.column(IDENTITY)
    if scol is None:
        raise ValueError(f"{t.path}: no column names the student (need one of student, "
                         "login, username, email, sid)")
    if t.column(("sisloginid", "loginid", "username", "emailaddress", "email")) and \
            scol in ("name", "student"):
        scol = t.column(("sisloginid", "loginid", "username", "emailaddress", "email"))
    tcol, acol = t.column(TOPIC_COLUMNS), t.column(ANSWER_COLUMNS)
    wide = {}
    for header, topic in (columns or {}).items():
        if key(header) not in t.keys:
            raise ValueError(f"--column: no column {header!r} in {t.path} (it has "
                             f"{', '.join(t.headers)})"[:300])
        exercises.topic_module(topic)
        wide[key(header)] = topic
    if not wide and (tcol is None or acol is None):
        for k in t.keys:     # a form's question titles: "batches", "Batches (seed 12)", ...
            topic = next((tp for tp in exercises.topics() if k.startswith(key(tp))), None)
            if topic and topic not in wide.values():
                wide[k] = topic
        if not wide:
            raise ValueError(f"{t.path}: need columns topic and answer, or one column per "
                             f"topic (named like {', '.join(exercises.topics())})")
    timecol = t.column(TIME_COLUMNS)
    out, problems = [], []
    for r in t.rows:
        if r.problem:
            problems.append(f"row {r.line}: {r.problem} (skipped)")
            continue
        v = r.values
        base = {"line": r.line, "who": v.get(scol, ""), "seed": v.get("seed", ""),
                "difficulty": v.get("difficulty", ""), "when": _when(v.get(timecol, ""))}
        if wide:
            for k, topic in wide.items():
                if v.get(k, "").strip():
                    out.append({**base, "topic": topic, "answer": v[k]})
        else:
            out.append({**base, "topic": v.get(tcol, "").strip().lower(),
                        "answer": v.get(acol, "")})
    return out, problems


# -- points ------------------------------------------------------------------------------------
def _field_values(inst, text: str) -> dict[str, str]:
    spec = spec_for(inst)
    vals = {}
    for part in re.split(r"[;\n]+", text):
        m = re.fullmatch(r"\s*([^=:]+?)\s*[=:]\s*(.*?)\s*", part, flags=re.S)
        if not m:
            continue
        k = spec["aliases"].get(re.sub(r"[\s\-]+", "_", m.group(1).strip().lower()))
        if k is not None:
            vals[k] = VALUE[spec["types"][k]](m.group(2))
    return vals


def credit(inst, text: str) -> tuple[float, str, exercises.Feedback]:
    """(fraction of the points, "k/n fields right" or "", the checker's feedback)."""
    fb = exercises.check(inst, text)
    if fb.correct:
        return 1.0, "", fb
    spec = spec_for(inst)
    if spec["kind"] != "fields":
        return 0.0, "", fb
    try:
        right = len(fields_right(inst, text))
    except AnswerError:
        return 0.0, "", fb
    n = len(spec["keys"])
    right = min(right, n - 1)                     # the checker decides full marks
    return right / n, f"{right}/{n} fields right", fb


def fields_right(inst, text: str) -> set[str]:
    """The fields of a multi-field answer that equal the worked answer's (AnswerError if the
    text is too long to read)."""
    got = _field_values(inst, bounded(text))
    want = _field_values(inst, inst.answer)
    return {k for k in spec_for(inst)["keys"] if got.get(k) is not None and got[k] == want[k]}


def grade_class(students: list[Student] | None, records: list[dict], secret: str,
                topics: list[str] | None, difficulty: int, points: float = 1.0,
                problems: list[str] | None = None) -> Report:
    """Grade a class (see the module docstring): a `Report`."""
    problems = list(problems or [])
    topics = topics or exercises.topics()
    lookup = _lookup(students) if students is not None else None
    found: dict[str, Student] = {}
    latest: dict[tuple[str, str], dict] = {}
    for rec in records:
        line, who = rec["line"], rec["who"].strip()
        if not who:
            problems.append(f"row {line}: no student named (skipped)")
            continue
        if lookup is not None:
            s = lookup.get(who.lower())
            if s is None:
                shown = who[:40].encode("unicode_escape").decode("ascii")
                problems.append(f"row {line}: {shown!r} is not on the roster (skipped)")
                continue
        else:
            try:
                s = found.setdefault(who.lower(), Student(valid_id(who)))
            except StudentIdError as e:
                problems.append(f"row {line}: {e} (skipped)")
                continue
        if rec["topic"] not in topics:
            shown = rec["topic"][:40].encode("unicode_escape").decode("ascii")
            problems.append(f"row {line}: topic {shown!r} is not in this assignment "
                            f"({', '.join(topics)}) (skipped)")
            continue
        k = (s.id, rec["topic"])
        prev = latest.get(k)
        rec = {**rec, "student": s}
        if prev is not None:
            newer = (rec["when"] >= prev["when"] if rec["when"] and prev["when"] else True)
            old, new = (prev, rec) if newer else (rec, prev)
            problems.append(f"row {old['line']}: an earlier submission of {s.id}'s "
                            f"{rec['topic']} (row {new['line']} counts)")
            rec = new
        latest[k] = rec
    roster = students if students is not None else list(found.values())
    cache: dict[tuple, object] = {}
    graded = []
    for (sid, topic), rec in sorted(latest.items(), key=lambda kv: kv[1]["line"]):
        seed = seed_for(sid, topic, secret)
        ck = (topic, seed, difficulty)
        inst = cache.get(ck) or cache.setdefault(ck, exercises.generate(topic, seed, difficulty))
        notes = []
        if rec["seed"].strip() and rec["seed"].strip() != str(seed):
            notes.append(f"the submission names seed {rec['seed'].strip()[:20]!r}, but "
                         f"{sid}'s instance is seed {seed}: graded against {sid}'s own")
        if rec["difficulty"].strip() and rec["difficulty"].strip() != str(difficulty):
            notes.append(f"the submission names difficulty {rec['difficulty'].strip()[:5]!r}; "
                         f"the assignment's is {difficulty}")
        for n in notes:
            problems.append(f"row {rec['line']}: {n}")
        answer = rec["answer"]
        if not answer.strip():
            frac, parts = 0.0, ""
            fb = exercises.Feedback(False, f"No answer. Write it as {inst.answer_format}.")
        else:
            frac, parts, fb = credit(inst, answer)
        graded.append(Graded(sid, topic, seed, difficulty, answer, round(points * frac, 2),
                             points, fb.correct, fb.message, parts, notes))
    return Report(graded, problems, roster, points * len(topics))


# -- feedback files ----------------------------------------------------------------------------
def feedback_markdown(student: Student, graded: list[Graded], possible: float,
                      release: bool, assignment: str) -> str:
    """One student's feedback file."""
    total = sum(g.points for g in graded)
    out = [f"# {assignment}: feedback for {student.name or student.id}", "",
           f"**{total:g} of {possible:g} points.**", ""]
    for g in graded:
        inst = exercises.generate(g.topic, g.seed, g.difficulty)
        out += [f"## {g.topic} (difficulty {g.difficulty}) — {g.points:g} / {g.possible:g}", "",
                f"Your instance: `python -m classroom hw {g.topic} -s {g.seed} -d "
                f"{g.difficulty}`", "", "Your answer:", "", "```",
                g.answer.strip()[:2000] or "(none)", "```", "",
                textwrap.fill(g.feedback + (f" ({g.parts}.)" if g.parts else ""), 88), ""]
        for n in g.notes:
            out += [f"*Note:* {n}.", ""]
        if release:
            out += ["**Worked answer:** `" + inst.answer + "`", "",
                    "\n".join(textwrap.fill(ln, 88) for ln in inst.explanation.splitlines()),
                    ""]
    if not graded:
        out += ["No answers were received.", ""]
    return "\n".join(out)
