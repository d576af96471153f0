"""Shared setup for the command-line tests: the in-process runner and golden updates.

Goldens are regenerated with ``pytest tests/cli --update-golden`` or ``UPDATE_GOLDEN=1 pytest
tests/cli``; review the diff before committing them.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/cli/golden/*.json from the current simcore")


@pytest.fixture
def update_golden(request) -> bool:
    try:
        flag = request.config.getoption("--update-golden")
    except ValueError:      # this conftest was not an initial one: the option is unknown
        flag = False
    return bool(flag) or os.environ.get("UPDATE_GOLDEN") == "1"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli():
    """Run ``python -m simcore ARGS`` in-process: cli(*argv) -> CliResult(code, out, err)."""
    from simcore.cli import main

    def call(*argv: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        code = main([str(a) for a in argv], out=out, err=err)
        return CliResult(code, out.getvalue(), err.getvalue())

    return call
