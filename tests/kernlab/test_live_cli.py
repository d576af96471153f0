"""The lab's command line with --setup on the real kernel: it restores everything, also on
Ctrl-C. Runs only with KERNLAB_LIVE=1 as root (.ci/run), after test_kernlab_live.py (whose
settings must be restored first: a second run waits for no one, it refuses while the journal's
run lives)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from kernlab_testlib import REPO, SKIP_UNLESS_LIVE, settings_snapshot

pytestmark = pytest.mark.skipif(**SKIP_UNLESS_LIVE)


def _run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "kernlab", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, **kw)


def test_cli_check_setup_restores():
    before = settings_snapshot()
    r = _run("check", "--setup", "--only", "swapout-64K")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("mode: agree") and lines[-1] == "2 agree, 0 disagree, 0 skipped"
    assert "added swap on /dev/zram0" in r.stderr and "restored swap" in r.stderr
    assert settings_snapshot() == before


def test_ctrl_c_restores_and_exits_130():
    before = settings_snapshot()
    p = subprocess.Popen([sys.executable, "-m", "kernlab", "check", "--setup"], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline()          # the mode line: the settings are in place now
    assert first.startswith("mode:")
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert err.strip().splitlines()[-1] == "kernlab: interrupted; settings restored"
    assert "Traceback" not in err
    assert settings_snapshot() == before
