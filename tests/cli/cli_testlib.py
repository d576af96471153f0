"""Paths the command-line tests share (a module of its own: ``from conftest import …`` would
find whichever test folder's conftest came first on sys.path)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "simcore" / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"


def example_doc(name: str = "anon_exclusive") -> dict:
    """An example scenario, parsed (a fresh copy to change)."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def write_scenario(tmp_path: Path, doc, name: str = "s.json") -> Path:
    """Write ``doc`` (an object, or text as it is) to ``tmp_path/name``."""
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p
