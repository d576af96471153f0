"""simcore runs on the standard library: with numpy hidden, `run --json` gives the same bytes.

The model must run where numpy does not exist (a reader's browser, under Pyodide). Two fresh
interpreters run the same scenarios through the real command line (`simcore.cli.main`): one
where ``import numpy`` fails, one where numpy is imported first. Their `run --json` outputs
must be byte-identical, for every example scenario in every mode and for a few hundred random
scenarios.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Run by each interpreter: argv[1] = "hide" or "load"; prints one JSON list of outputs.
DRIVER = r'''
import io, json, sys, tempfile
from pathlib import Path

if sys.argv[1] == "hide":
    class _NoNumpy:
        def find_spec(self, name, path=None, target=None):
            if name == "numpy" or name.startswith("numpy."):
                raise ImportError("numpy is hidden for this test")
            return None
    sys.meta_path.insert(0, _NoNumpy())
else:
    import numpy  # noqa: F401  (loaded, so nothing could differ by its absence)

from simcore import cli
from simcore.random_scenario import random_scenario

examples = sorted(Path(sys.argv[2]).glob("*.json"))
nr_random = int(sys.argv[3])
outputs = []

def run(path, mode):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["run", str(path), "--json", "--mode", mode], out=out, err=err)
    outputs.append([path.name, mode, code, out.getvalue(), err.getvalue()])

for path in examples:
    for mode in ("per-pte", "baseline", "patched"):
        run(path, mode)
with tempfile.TemporaryDirectory() as tmp:
    for seed in range(nr_random):
        path = Path(tmp) / f"random-{seed}.json"
        path.write_text(json.dumps(random_scenario(seed)))
        run(path, ("per-pte", "baseline", "patched")[seed % 3])
if sys.argv[1] == "hide":
    assert "numpy" not in sys.modules, "something imported numpy"
print(json.dumps(outputs))
'''


def _outputs(how: str, nr_random: int) -> list:
    proc = subprocess.run([sys.executable, "-c", DRIVER, how, str(REPO / "simcore" / "examples"),
                           str(nr_random)], capture_output=True, text=True, cwd=REPO,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def both():
    return _outputs("hide", 300), _outputs("load", 300)


def test_runs_without_numpy(both):
    hidden, _ = both
    assert len(hidden) > 300
    codes = {code for _name, _mode, code, _out, _err in hidden}
    assert codes <= {0, 1}, "every example and random scenario is valid input"
    assert all(json.loads(out)["violations"] == [] for _n, _m, _c, out, _e in hidden)


def test_output_is_byte_identical_with_and_without_numpy(both):
    hidden, loaded = both
    assert len(hidden) == len(loaded)
    for a, b in zip(hidden, loaded, strict=True):
        assert a == b, f"{a[0]} --mode {a[1]} differs with numpy loaded"


def test_model_modules_do_not_import_numpy():
    code = ("import sys, simcore, simcore.cli, simcore.costmodel, simcore.workload, "
            "simcore.random_scenario, simcore.report, simcore.scenario\n"
            "simcore.costmodel.default_calibration()\n"
            "print('numpy' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
