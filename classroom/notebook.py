"""What an exported assignment notebook calls (nbgrader, otter-grader): small and safe.

``ex = mine("batches", 2, SECRET)`` is this student's instance (`classroom.identity.my_exercise`);
``show(ex)`` prints the question; ``check_answer(ex, answer, points)`` prints the checker's
explanation and returns the points earned, with partial credit per field (nbgrader takes a
number as a test cell's last value as its score); ``field_right(ex, answer, key)`` is one
field's verdict (otter-grader gives points per test case).
"""

from __future__ import annotations

import textwrap

from classroom import exercises
from classroom.exercises.client import spec_for
from classroom.exercises.render import legend
from classroom.grading import credit, fields_right
from classroom.identity import my_exercise as mine  # noqa: F401  (the notebooks' name)


def show(ex) -> None:
    """Print the instance: picture, legend, question, answer format."""
    print(f"{ex.title} (your instance: python -m classroom hw {ex.topic} -s {ex.seed} "
          f"-d {ex.difficulty})\n")
    print(ex.strip, legend(), "", _wrap("Question: " + ex.question), "",
          _wrap("Answer format: " + ex.answer_format), sep="\n")


def _wrap(text: str) -> str:
    """Lines that fit a notebook's output area and nbgrader's feedback page."""
    return textwrap.fill(text, width=88)


def check_answer(ex, answer, points: float = 1.0) -> float:
    """Print the feedback; return the points (0 .. points)."""
    text = answer if isinstance(answer, str) else str(answer)
    frac, parts, fb = credit(ex, text)
    print(_wrap(("Correct. " if fb.correct and not fb.message.startswith("Correct") else "")
                + fb.message + (f" ({parts}.)" if parts else "")))
    return round(points * frac, 2)


def fields(ex) -> list[str]:
    """The fields an answer has (one test case each), or [] for a single-valued answer."""
    spec = spec_for(ex)
    return list(spec["keys"]) if spec["kind"] == "fields" else []


def field_right(ex, answer, key: str | None) -> bool:
    """Whether the answer is right (``key`` None) or right in field ``key``."""
    text = answer if isinstance(answer, str) else str(answer)
    if exercises.check(ex, text).correct:
        return True
    if key is None:
        return False
    try:
        return key in fields_right(ex, text)
    except exercises.AnswerError:
        return False


def feedback(ex, answer) -> str:
    """The checker's explanation (a failing otter test case shows it)."""
    return exercises.check(ex, answer if isinstance(answer, str) else str(answer)).message
