"""The command line without privileges or system changes: bad flags, env, and ``check`` as an
unprivileged user (never changes a setting; says what it skipped)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernlab import cli, env

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv,flag", [
    (["check", "--bogus"], "--bogus"),
    (["bench", "--repeat", "0"], "--repeat"),
    (["bench", "--folio", "3Q"], "--folio"),
    (["nothing"], "nothing"),
    (["check", "--only", "nope"], "--only"),
])
def test_bad_flags_one_line_exit_2(argv, flag, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kernlab: ") and flag in err[0]


@pytest.mark.parametrize("cmd", [["check"], ["bench", "--repeat", "1"]])
def test_unwritable_record_is_refused_before_the_run(cmd, tmp_path, capsys):
    assert cli.main([*cmd, "--record", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--record" in err[0] and "is a directory" in err[0]


def test_record_write_error_is_one_line(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(cli.UsageError, match="--record: cannot write") as e:
        cli._write_record(str(tmp_path / "f" / "r.json"), {"a": 1})
    assert "\n" not in str(e.value) and sorted(os.listdir(tmp_path)) == ["f"]
    cli._write_record(str(tmp_path / "d" / "r.json"), {"a": 1})
    assert sorted(os.listdir(tmp_path / "d")) == ["r.json"]


def test_setup_needs_root(monkeypatch, capsys):
    monkeypatch.setattr(env.os, "geteuid", lambda: 1000)
    assert cli.main(["check", "--setup"]) == 2
    assert "needs root" in capsys.readouterr().err


def test_env_reads_only(capsys):
    assert cli.main(["env"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("kernel ") and "mTHP sizes" in out and "swap:" in out


def _drop():
    """A command prefix that runs as user nobody, or None."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return None
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def test_check_unprivileged_changes_nothing():
    prefix = _drop()
    if prefix is None:
        pytest.skip("needs setpriv to drop root")
    before = env.detect().as_dict()
    r = subprocess.run([*prefix, sys.executable, "-m", "kernlab", "check"], cwd=REPO,
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    lines = r.stdout.strip().splitlines()
    assert lines, r.stderr
    assert lines[-1].endswith("skipped") and " agree, " in lines[-1]
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr
    skipped = [x for x in lines if ": skipped: " in x]
    assert all(x.split(": skipped: ", 1)[1] for x in skipped)   # every skip says why
    assert lines[0].startswith("mode: ")
    after = env.detect().as_dict()
    assert after == before


def test_bench_without_setup_says_why_the_kernel_is_not_timed(capsys):
    """A small workload: simcore's side always runs; the kernel's only where swap and the folio
    size are already there (never set up without --setup)."""
    before = env.detect().as_dict()
    assert cli.main(["bench", "--size", "4M", "--folio", "64K", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "simcore --mode" in out and "\n   64K " in out
    if not env.detect().swaps:
        assert "kernel timing skipped: no swap" in out
    assert env.detect().as_dict() == before
