"""kernlab.env.Settings: every change is journaled and undone, on success, exception, Ctrl-C
and SIGTERM; a journal left by a killed run is restored. Runs everywhere: the settings here
are files in a temporary directory (no system setting is touched)."""

from __future__ import annotations

import json
import os
import signal

import pytest

from kernlab import env


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("always [madvise] never\n")
    b.write_text("7\n")
    return a, b, str(tmp_path / "journal.json")


def _settings(journal, logs):
    return env.Settings(log=logs.append, journal=journal)


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_restored_on_error_and_ctrl_c(files, exc):
    a, b, journal = files
    logs: list[str] = []
    with pytest.raises(exc):
        with _settings(journal, logs) as s:
            s.write(str(a), "never")
            s.write(str(b), "9")
            s.write(str(b), "10")          # the first old value is the one restored
            assert json.load(open(journal))["records"][1]["old"] == "7"
            raise exc()
    assert a.read_text() == "madvise" and b.read_text() == "7"
    assert not os.path.exists(journal)
    assert any("restored" in m for m in logs) and any("-> never" in m for m in logs)


def test_sigterm_restores_then_exits(files):
    a, _, journal = files
    with pytest.raises(SystemExit) as e:
        with _settings(journal, []) as s:
            s.write(str(a), "never")
            os.kill(os.getpid(), signal.SIGTERM)
    assert e.value.code == 128 + signal.SIGTERM
    assert a.read_text() == "madvise"


def test_journal_of_a_killed_run_is_restored(files):
    a, _, journal = files
    a.write_text("never")
    with open(journal, "w") as f:
        json.dump({"pid": 2 ** 22 + 12345, "records": [
            {"op": "write", "path": str(a), "old": "madvise", "new": "never"}]}, f)
    assert env.restore_journal(journal) == 1
    assert a.read_text() == "madvise" and not os.path.exists(journal)


def test_journal_of_a_live_run_is_a_lock(files):
    _, _, journal = files
    with open(journal, "w") as f:
        json.dump({"pid": os.getpid(), "records": []}, f)
    with pytest.raises(env.Unavailable, match="still running"):
        env.restore_journal(journal)


def test_unchanged_value_is_not_recorded(files):
    a, _, journal = files
    with _settings(journal, []) as s:
        s.write(str(a), "madvise")
        assert s.records == []


def test_needs_root(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(env.Unavailable, match="root"):
        with env.Settings(journal=str(tmp_path / "j")):
            pass
