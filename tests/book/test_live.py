"""The website's live mode, on the Python side: `bookkit.liverun` (what the page's worker
runs), `bookkit.liveruntime` (what the build copies into the site) and the player's thinning.

The browser side (Pyodide in Chromium, the editor, sharing) is tests/browser/test_site_live.py.
"""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bookkit import liverun, liveruntime
from bookkit.frames import player_data
from bookkit.player import player_html
from bookkit.scenarios import folio_scenario
from simcore import cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "simcore" / "examples").glob("*.json"))
MODES = ("per-pte", "baseline", "patched")


def cli_run(path: Path, mode: str, bugs=()) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["run", str(path), "--mode", mode, *(f"--bug={b}" for b in bugs), "--json"],
                    out=out, err=err)
    return code, out.getvalue(), err.getvalue()


_WITHOUT_NUMPY = """
import json, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" or name.startswith("numpy."):
            raise ImportError("no numpy in the browser")
sys.meta_path.insert(0, Block())
from bookkit import liverun
out = {}
for path in sys.argv[1:]:
    for mode in ("per-pte", "baseline", "patched"):
        r = liverun.run(open(path).read(), mode, workdir=sys.argv[0].rsplit("/", 1)[0])
        out[path + " " + mode] = [r.get("exit"), r.get("report"), len(r["preset"]["frames"])]
print(json.dumps(out))
"""


def test_examples_without_numpy_match_the_command_line(tmp_path):
    """As in the browser (no numpy): every example in every mode gives the CLI's report."""
    script = tmp_path / "run.py"
    script.write_text(_WITHOUT_NUMPY)
    r = subprocess.run([sys.executable, str(script), *map(str, EXAMPLES)], cwd=REPO,
                       capture_output=True, text=True, timeout=300,
                       env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout)
    assert len(got) == len(EXAMPLES) * len(MODES)
    for path in EXAMPLES:
        for mode in MODES:
            # the CLI reads the file under its own name; the page names it scenario.json
            doc = json.loads(path.read_text())
            copy = tmp_path / "scenario.json"
            copy.write_text(json.dumps(doc))
            code, out, _err = cli_run(copy, mode)
            exit_code, report, nframes = got[f"{path} {mode}"]
            assert (exit_code, report) == (code, out), f"{path.name} {mode}"
            assert nframes >= 2


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["folio"].update(exclusive="EEXN" * 4), "folio.exclusive"),
    (lambda d: d["ptes"][0].update(nr="x"), "ptes[0].nr"),
    (lambda d: d["ptes"][0].update(nr=40), "ptes[0]"),
    (lambda d: d["arch"].update(page_size=8192), "arch.page_size"),
    (lambda d: d.update(faults=[{"op": "pin", "page": 99}]), "faults[0].page"),
])
def test_bad_input_is_the_command_lines_line(tmp_path, edit, field):
    doc = json.loads((REPO / "simcore/examples/anon_exclusive.json").read_text())
    edit(doc)
    text = json.dumps(doc)
    r = liverun.run(text, "patched", workdir=tmp_path)
    path = tmp_path / "scenario.json"
    code, _out, err = cli_run(path, "patched")
    assert code == 2 and err.count("\n") == 1
    assert r == {"error": err.strip(), "field": field}


def test_bad_flags_name_the_flag(tmp_path):
    text = (REPO / "simcore/examples/anon_exclusive.json").read_text()
    assert liverun.run(text, "patched", ["nope"], workdir=tmp_path)["field"] == "--bug"
    assert liverun.run(text, "fast", workdir=tmp_path)["field"] == "--mode"
    assert liverun.run("{", "patched", workdir=tmp_path)["field"] == "scenario.json"


@pytest.mark.parametrize("text, error", [
    ("\ud800", "scenario.json: not UTF-8 text (byte 0 is 0xed)"),
    ("[" * 5000, "scenario.json: JSON nested too deeply"),
    ("x" * (2 << 20), "scenario.json: too large"),
    ('{"schema": "simcore.scenario/1", "folio": {"order": 4.0}, '
     '"mms": [{"name": "a", "vmas": [{"start": 0, "end": 4096}]}]}',
     "folio.order: 4.0 is not of type 'integer'"),
])
def test_hostile_text_is_the_command_lines_line(tmp_path, text, error):
    """Issue 9: what a reader pastes into the editor gets one line, never an exception."""
    r = liverun.run(text, "patched", workdir=tmp_path)
    assert set(r) == {"error", "field"} and error in r["error"], r
    assert "\n" not in r["error"] and len(r["error"]) < 400


def test_big_traces_are_thinned_and_huge_scenarios_capped(tmp_path):
    doc = folio_scenario(order=9, name="512 PTEs")
    r = liverun.run(json.dumps(doc), "per-pte", workdir=tmp_path)
    frames = r["preset"]["frames"]
    assert r["exit"] == 0 and r["preset"]["thinned"] > 500 and len(frames) == 2
    assert frames[0]["ptes"] == ["W"] * 512 and set(frames[1]["ptes"]) == {"X"}
    report = json.loads(r["report"])
    assert frames[1]["counters"]["iterations"] == report["costs"]["iterations"]
    small = liverun.run(json.dumps(folio_scenario(order=4)), "per-pte", workdir=tmp_path)
    assert "thinned" not in small["preset"] and len(small["preset"]["frames"]) > 16

    doc = folio_scenario(order=9, fork=True)          # shared pages: N, read-only
    doc["mms"] = [dict(doc["mms"][0], name=f"mm{i}") for i in range(3)]
    doc["ptes"] = [dict(run, mm=f"mm{i}") for i in range(3) for run in doc["ptes"][:1]]
    big = liverun.run(json.dumps(doc), "patched", workdir=tmp_path)
    assert "preset" not in big and "1536 PTE slots" in big["capped"]
    assert json.loads(big["report"])["ok"] is True


def test_editor_choices_come_from_simcore():
    from simcore.batch import MODES as SIM_MODES
    from simcore.bugs import BUGS

    cfg = liverun.editor_config()
    assert cfg["modes"] == list(SIM_MODES) and cfg["bugs"] == list(BUGS)
    assert 65536 in cfg["page_sizes"] and "device_exclusive" in cfg["kinds"]
    assert cfg["max_order"] == 9  # the schema's folio.order maximum: a 2 MiB folio of 4K pages
    data = player_data("x", "t", [{"key": "a", "label": "A", "columns": [{"mm": "m"}],
                                   "frames": [{"ptes": ["W"]}]}], live=True)
    assert 'data-live="true"' in player_html(data)
    assert "data-live" not in player_html(dict(data, live=None))


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_bundle_holds_what_the_worker_imports(tmp_path):
    """Everything bookkit.liverun reaches is in simcore.zip; nothing needs a compiled package
    that Pyodide lacks here; the zip is byte-stable."""
    z1 = liveruntime.bundle(tmp_path / "a.zip")
    z2 = liveruntime.bundle(tmp_path / "b.zip")
    assert z1.read_bytes() == z2.read_bytes()
    names = set(zipfile.ZipFile(z1).namelist())
    assert {"simcore/__init__.py", "simcore/schema/scenario.schema.json",
            "bookkit/liverun.py", "bookkit/frames.py"} <= names
    stdlib = set(sys.stdlib_module_names) | {"jsonschema"}
    for name in (f"bookkit/{m}" for m in liveruntime.BUNDLE_BOOKKIT):
        for mod in _imports((REPO / name).read_text()):
            top = mod.split(".")[0]
            if top == "bookkit":
                assert f"{mod.replace('.', '/')}.py" in names or mod == "bookkit", (name, mod)
            else:
                assert top in stdlib | {"simcore", "classroom"}, (name, mod)


def test_without_npm_the_site_is_built_without_live_mode(tmp_path, monkeypatch):
    monkeypatch.setattr(liveruntime.shutil, "which", lambda name: None)
    (tmp_path / "html" / "_static" / "live").mkdir(parents=True)   # a stale copy goes
    ok, line = liveruntime.install(tmp_path / "html", cache=tmp_path / "empty-cache")
    assert not ok and "\n" not in line and "npm not found" in line
    assert not (tmp_path / "html" / "_static" / "live").exists()
    monkeypatch.setenv("BOOKKIT_LIVE", "0")
    ok, line = liveruntime.install(tmp_path / "html")
    assert not ok and "BOOKKIT_LIVE=0" in line


def test_fresh_exercise_variants_are_checked_by_the_python_checker():
    ex = liverun._exercises()
    shown = json.loads(liverun.call_json("exercise", json.dumps(
        {"topic": "sub-batches", "seed": 4242, "difficulty": 2})))
    inst = ex.generate("sub-batches", 4242, 2)
    assert shown["question"] == inst.question and shown["command"] == inst.command
    assert "answer" not in shown and "explanation" not in shown
    args = {"topic": "sub-batches", "seed": 4242, "difficulty": 2}
    right = json.loads(liverun.call_json("check", json.dumps(dict(args, answer=inst.answer))))
    assert right == {"correct": True, "message": ex.check(inst, inst.answer).message}
    wrong = json.loads(liverun.call_json("check", json.dumps(dict(args, answer="0:1:E"))))
    assert wrong == {"correct": False, "message": ex.check(inst, "0:1:E").message}
    assert "error" in liverun.exercise_variant("no-such-topic", 1, 1)
