"""Who the student is, and which instance of an exercise is theirs.

A student's instance of a topic comes from their identity and a course secret held by the
instructor (`seed_for`), so that nobody chooses their own seed and grading can recompute
every instance from the roster instead of trusting what a submission says.

`student_id()` finds the identity in this order (the first that applies wins):

1. ``CLASSROOM_STUDENT`` — an explicit override (an instructor trying a student's view, a
   grader's plugin, a course without a hub);
2. nbgrader's autograde context — ``NBGRADER_EXECUTION=autograde`` is set while nbgrader runs
   a submission, whose folder is ``autograded/<student>/<assignment>``: the student is that
   folder's parent's name;
3. nbgrader's own user rule — when nbgrader is installed beside the kernel (a course that uses
   it), the id nbgrader's exchange records on ``nbgrader submit``: the login name, or
   ``JUPYTERHUB_USER`` when the login is the shared ``jovyan`` of a container hub;
4. ``JUPYTERHUB_USER`` — the hub's user name (JupyterHub, The Littlest JupyterHub, Zero to
   JupyterHub set it in every single-user server).

Otherwise `StudentIdError` says how to set ``CLASSROOM_STUDENT``.

The course secret comes from ``CLASSROOM_SECRET`` or a file (``--secret-file``). It keeps one
course's instances apart from another's and from the book's examples; note that a notebook
that computes a student's own instance must carry it, so it is not hidden from students.
"""

from __future__ import annotations

import getpass
import hashlib
import importlib.util
import os
import re
from pathlib import Path

#: Ids are login names, emails or numbers; anything else (control characters, paths) is refused.
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+\-]{0,127}")
MAX_SEED = 1_000_000


class StudentIdError(ValueError):
    """No identity could be found, or it is not a usable id; the message is one line."""


def valid_id(text: str, what: str = "student id") -> str:
    """``text`` stripped, if it is a usable id; else StudentIdError."""
    t = (text or "").strip()
    if not ID_RE.fullmatch(t):
        shown = t[:40].encode("unicode_escape").decode("ascii")
        raise StudentIdError(f"{what} {shown!r}: use letters, digits and . _ @ + - "
                             "(at most 128 characters)")
    return t


def nbgrader_installed() -> bool:
    """Whether nbgrader is importable beside this kernel (the course uses it)."""
    return importlib.util.find_spec("nbgrader") is not None


def student_id(env=None, cwd: str | os.PathLike | None = None) -> str:
    """The student's id (see the module docstring for the order)."""
    env = os.environ if env is None else env
    if env.get("CLASSROOM_STUDENT"):
        return valid_id(env["CLASSROOM_STUDENT"], "CLASSROOM_STUDENT")
    if env.get("NBGRADER_EXECUTION") == "autograde":
        here = Path(cwd or os.getcwd()).resolve()
        if here.parent.parent.name == "autograded":
            return valid_id(here.parent.name, "nbgrader student folder")
    if nbgrader_installed():
        login = getpass.getuser()
        if login == "jovyan":
            login = env.get("JUPYTERHUB_USER", login)
        return valid_id(login, "login name")
    if env.get("JUPYTERHUB_USER"):
        return valid_id(env["JUPYTERHUB_USER"], "JUPYTERHUB_USER")
    raise StudentIdError("who are you? set CLASSROOM_STUDENT to your student id (on a class "
                         "JupyterHub this is found automatically)")


def course_secret(secret: str | None = None, secret_file: str | None = None, env=None) -> str:
    """The course secret: given, read from a file (first line), or ``CLASSROOM_SECRET``."""
    env = os.environ if env is None else env
    if secret_file:
        from classroom.safeio import read_text

        text, _ = read_text(secret_file, "secret file")
        secret = text.strip().splitlines()[0] if text.strip() else ""
        if not secret:
            raise StudentIdError(f"secret file {secret_file!r} is empty")
    if secret is None:
        secret = env.get("CLASSROOM_SECRET", "")
    return secret


def seed_for(student: str, topic: str, secret: str = "") -> int:
    """A student's seed for a topic: stable, and different in every course (secret)."""
    h = hashlib.sha256(f"{secret}/{student.strip().lower()}/{topic}".encode()).hexdigest()
    return int(h[:8], 16) % MAX_SEED


def my_exercise(topic: str, difficulty: int = 1, secret: str | None = None):
    """This student's own instance of ``topic`` (identity from `student_id`)."""
    from classroom import exercises

    return exercises.generate(topic, seed_for(student_id(), topic, course_secret(secret)),
                              difficulty)
