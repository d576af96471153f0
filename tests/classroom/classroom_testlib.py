"""What the nbgrader and otter round trips share: running a course tool as a student's course
would, with this repository importable in every kernel it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_tool(cwd: Path, module: str, *argv) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGV...`` in ``cwd``; fails the test (with its output) unless 0.

    The venv's bin directory goes first on PATH (nbgrader calls ``alembic``), and no
    ``CLASSROOM_STUDENT`` leaks in: identity must come from the tool's own context."""
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    env.pop("CLASSROOM_STUDENT", None)
    r = subprocess.run([sys.executable, "-m", module, *map(str, argv)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r
