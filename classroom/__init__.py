"""Teaching with simcore: seeded exercises, homework, grading, and course-tool exports.

* `classroom.exercises` — the topics' generators and checkers (standard library only, so they
  run in the reader's browser too);
* `classroom.identity` — who the student is (`student_id`) and which instance is theirs
  (`seed_for`, `my_exercise`);
* `classroom.homework`, `classroom.cli` — ``python -m classroom hw|assign|collect|grade|export``;
* `classroom.grading`, `classroom.lms` — rosters and answers as LMSs export them, points with
  partial credit, gradebooks and feedback files;
* `classroom.nbgrader_export`, `classroom.otter_export` — assignments for nbgrader and
  otter-grader; `classroom.hub` — the notebooks as a bundle for a class JupyterHub.

The arrows point down: classroom imports simcore, never the other way round.
"""

from classroom.identity import my_exercise, seed_for, student_id

__all__ = ["my_exercise", "seed_for", "student_id"]
