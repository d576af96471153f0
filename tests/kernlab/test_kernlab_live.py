"""The experiments on the real kernel. They change global settings (mTHP sizes, a zram swap
device, a tracefs instance, a memory cgroup), so they run only when asked: ``.ci/run`` sets
``KERNLAB_LIVE=1`` (root, a machine like the project's: Linux with mTHP, zram, tracefs, memcg).
Elsewhere they are skipped with the reason and touch nothing.

They run serially in one module, under one `Settings` that a fixture's teardown restores (and
the teardown checks that every setting is back). LRU aging in memory-cgroup reclaim is retried
inside the lab (bounded). With KERNLAB_LIVE=1 an experiment that skips fails: a missing
requirement on the CI machine is a broken CI machine, not a pass.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from kernlab_testlib import REPO, SKIP_UNLESS_LIVE, settings_snapshot

from kernlab import env, experiments, probes, worker

pytestmark = pytest.mark.skipif(**SKIP_UNLESS_LIVE)


@pytest.fixture(scope="module")
def lab():
    before = settings_snapshot()
    logs: list[str] = []
    with env.Settings(log=logs.append) as s:
        yield experiments.Lab(env.detect(), s)
    assert settings_snapshot() == before, "the lab did not restore every setting"
    assert logs and all("could not restore" not in m for m in logs)


def _names() -> list[str]:
    return [name for name, _ in experiments.plan(experiments.Lab(env.detect()))]


@pytest.mark.parametrize("name", _names())
def test_experiment_agrees(lab, name):
    thunk = dict(experiments.plan(lab))[name]
    o = experiments.run_one(name, thunk)
    assert o.status != "skipped", o.line()
    assert o.status == "agree", o.line()
    if name == "mode":
        assert lab.mode_detected
    assert o.scenarios, "every comparison names the simcore scenario it ran"


def test_timing_sanity(lab):
    lab.folio(64 * 1024)
    lab.swap()
    t = worker.run(probes.probe_timing, 64 * 1024, 32 << 20, 3)
    assert "skip" not in t, t
    assert all(0 < c < 10 for c in t["cpu"])          # loose bounds: no timing asserts


def test_unprivileged_user_runs_what_works(lab):
    """With zram swap and 64K mTHP in place (root's settings), user nobody runs the
    experiments that need no privilege and skips the rest, saying why."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.fail("setpriv (util-linux) is missing on the CI machine")
    lab.folio(64 * 1024)
    lab.swap()
    r = subprocess.run([setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        sys.executable, "-m", "kernlab", "check", "--only", "swapout-64K",
                        "--only", "lazyfree", "--only", "fork", "--only", "uffd-wp",
                        "--only", "half-exclusive", "--only", "tlb-one-cpu"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = dict(line.split(": ", 1) for line in r.stdout.strip().splitlines()[:-1])
    assert lines["mode"].startswith("skipped: needs a tracefs instance"), r.stdout
    assert lines["tlb-one-cpu"].startswith("skipped: "), r.stdout
    for name in ("swapout-64K", "lazyfree", "fork", "uffd-wp", "half-exclusive"):
        assert lines[name].startswith("agree"), r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "5 agree, 0 disagree, 2 skipped"
