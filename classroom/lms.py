"""Class tables as learning-management systems export them, and gradebooks they import.

Reading (`read_table`): UTF-8 with or without Excel's BOM, or Latin-1; comma, semicolon (Excel
in many locales) or tab separated, detected from the header; header names compared without
case, spaces or punctuation (``Email Address`` = ``email_address``); Canvas's second row
``Points Possible`` (and ``Muted``) skipped. A row with more fields than the header (an
unquoted comma) or an over-long field is *reported* with its row number, never cut short.

Which column is what, per system (`IDENTITY`, `ANSWER_COLUMNS`):

========== ============================================= =====================================
system     roster / submissions export                   identity column used
========== ============================================= =====================================
Canvas     Student, ID, SIS User ID, SIS Login ID, ...   SIS Login ID (Student is a display
                                                         name "Doe, Jane")
Moodle     First name, Surname, ID number, Email address Username, else Email address
Google     Timestamp, Email Address, <one column per     Email Address (the part before @ is
Forms      question>                                     matched too)
Gradescope Name, SID, Email, ...                         Email, else SID
ours       student, topic, answer[, seed, difficulty]    student
========== ============================================= =====================================

Writing (`gradebook_csv`): the columns each system's grade import expects.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from classroom.safeio import MAX_FILE_BYTES, cell, read_text

#: The longest field a class table can sensibly hold (an answer is at most 2,000 characters).
MAX_FIELD = 10_000

#: Header names (normalised by `key`) that name a student, best first.
IDENTITY = ("student", "login", "sisloginid", "loginid", "username", "user", "emailaddress",
            "email", "sid", "studentid", "idnumber", "sisuserid", "id", "name")
TOPIC_COLUMNS = ("topic", "exercise", "question")
ANSWER_COLUMNS = ("answer", "response", "submission")
TIME_COLUMNS = ("timestamp", "submittedat", "submissiontime", "completed", "submitted",
                "startedon", "time", "date")
SKIP_FIRST_CELL = ("pointspossible", "muted")


def key(header: str) -> str:
    """A header as compared: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", (header or "").lower())


class TableError(Exception):
    """The file as a whole cannot be read; one line."""


@dataclass
class Row:
    line: int                          # the row's line number in the file (header = 1)
    values: dict[str, str]             # normalised header -> cell
    problem: str | None = None         # why it cannot be used (reported, skipped)


@dataclass
class Table:
    path: str
    headers: list[str]                 # as written
    keys: list[str]                    # normalised
    rows: list[Row] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","

    def column(self, candidates) -> str | None:
        for c in candidates:
            if c in self.keys:
                return c
        return None


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(path: str, what: str = "file") -> Table:
    """Read a class table (see the module docstring); bad rows carry their problem."""
    text, encoding = read_text(path, what)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    if not first:
        raise TableError(f"{what} {path!r}: empty")
    delim = _delimiter(first)
    if csv.field_size_limit() < MAX_FILE_BYTES:   # long fields are reported per row, below
        csv.field_size_limit(MAX_FILE_BYTES)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    table = None
    try:
        for rec in reader:
            line = reader.line_num
            if table is None:
                if not any(c.strip() for c in rec):
                    continue
                heads = [c.strip() for c in rec]
                table = Table(path, heads, [key(h) for h in heads], encoding=encoding,
                              delimiter=delim)
                continue
            if not any(c.strip() for c in rec):
                continue
            if rec and key(rec[0]) in SKIP_FIRST_CELL:
                continue
            values = {k: v.strip() for k, v in zip(table.keys, rec, strict=False) if k}
            problem = None
            if len(rec) > len(table.headers):
                problem = (f"{len(rec)} fields but the header has {len(table.headers)}: an "
                           "unquoted comma in an answer? Quote it")
            elif any(len(v) > MAX_FIELD for v in rec):
                problem = f"a field longer than {MAX_FIELD:,} characters"
                values = {k: v[:MAX_FIELD] for k, v in values.items()}
            table.rows.append(Row(line, values, problem))
    except csv.Error as e:
        raise TableError(f"{what} {path!r}: row {reader.line_num}: {e}") from None
    if table is None:
        raise TableError(f"{what} {path!r}: empty")
    return table


# -- gradebooks --------------------------------------------------------------------------------
FORMATS = ("generic", "canvas", "moodle", "gradescope", "google")


def gradebook_csv(students, totals: dict[str, float], possible: float, fmt: str,
                  assignment: str) -> str:
    """A gradebook CSV: one row per student, the total points of ``assignment``.

    ``students`` are `grading.Student` records (roster order); ``fmt`` one of FORMATS:
    Canvas's import columns (with its Points Possible row), Moodle's (matched on the email
    address), Gradescope's (Name, SID, Email, Total Score), Google Classroom's (Email Address
    and the grade), or ours (student, points, possible).
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")

    def row(values):
        w.writerow([cell(v) for v in values])

    pts = lambda s: num(totals.get(s.id, 0.0))  # noqa: E731
    if fmt == "canvas":
        row(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
        row(["    Points Possible", "", "", "", "", num(possible)])
        for s in students:
            row([s.name or s.id, s.get("id"), s.get("sisuserid"), s.id, s.get("section"),
                 pts(s)])
    elif fmt == "moodle":
        row(["Email address", assignment])
        for s in students:
            row([s.email or s.id, pts(s)])
    elif fmt == "gradescope":
        row(["Name", "SID", "Email", "Total Score"])
        for s in students:
            row([s.name or s.id, s.get("sid"), s.email, pts(s)])
    elif fmt == "google":
        row(["Email Address", assignment])
        for s in students:
            row([s.email or s.id, pts(s)])
    else:
        row(["student", "points", "possible"])
        for s in students:
            row([s.id, pts(s), num(possible)])
    return buf.getvalue()


def num(x: float) -> str:
    """Points as a spreadsheet shows them: 2, 4.29."""
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))
