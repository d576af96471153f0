"""The otter-grader plugin that tells a graded notebook whose submission it is.

Otter runs a submission in a fresh kernel with no hub user and no nbgrader folder, so
`classroom.identity.student_id` would not know the student. Before execution this plugin puts
a first cell into the submission that sets ``CLASSROOM_STUDENT``, from (first that applies):

1. the plugin's configuration ``{"student": "..."}`` (one submission graded by hand);
2. Gradescope's submission metadata (``users[0]``: ``email``, else ``sid``);
3. the submission's file name: ``alice.ipynb`` or ``alice.zip`` (how an instructor saves the
   files collected from an LMS, one per student).

Name it in the assignment config: ``generate: {plugins: [classroom.otter_plugin.StudentIdentity]}``
(`classroom.otter_export` does).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin

from classroom.identity import valid_id


class StudentIdentity(AbstractOtterPlugin):
    """Sets ``CLASSROOM_STUDENT`` in the graded kernel (see the module docstring)."""
    def student(self) -> str:
        cfg = self.plugin_config or {}
        if cfg.get("student"):
            return valid_id(cfg["student"])
        users = (self.submission_metadata or {}).get("users") or []
        if users and (users[0].get("email") or users[0].get("sid")):
            return valid_id(users[0].get("email") or str(users[0]["sid"]))
        return valid_id(Path(self.submission_path).stem)

    def before_execution(self, submission):
        code = ("import os\n"
                f"os.environ['CLASSROOM_STUDENT'] = {json.dumps(self.student())}")
        if isinstance(submission, str):
            return code + "\n" + submission
        submission.cells.insert(0, nbformat.v4.new_code_cell(code))
        return submission
