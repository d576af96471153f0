"""Paths the command-line tests share (a module of its own: ``from conftest import …`` would
find whichever test folder's conftest came first on sys.path)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "simcore" / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
