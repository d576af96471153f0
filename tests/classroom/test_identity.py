"""classroom.identity: the documented order of student_id(), seeds, the secret."""

from __future__ import annotations

import pytest

from classroom import identity
from classroom.identity import StudentIdError, seed_for, student_id


def test_order(tmp_path, monkeypatch):
    folder = tmp_path / "autograded" / "bob" / "hw1"
    folder.mkdir(parents=True)
    env = {"CLASSROOM_STUDENT": "alice", "NBGRADER_EXECUTION": "autograde",
           "JUPYTERHUB_USER": "carol"}
    assert student_id(env, cwd=folder) == "alice"                  # 1. the override
    del env["CLASSROOM_STUDENT"]
    assert student_id(env, cwd=folder) == "bob"                    # 2. nbgrader autograde
    monkeypatch.setattr(identity, "nbgrader_installed", lambda: True)
    monkeypatch.setattr(identity.getpass, "getuser", lambda: "jovyan")
    assert student_id(env, cwd=tmp_path) == "carol"                # 3. nbgrader: jovyan -> hub
    monkeypatch.setattr(identity.getpass, "getuser", lambda: "dave")
    assert student_id(env, cwd=tmp_path) == "dave"                 # 3. nbgrader: the login
    monkeypatch.setattr(identity, "nbgrader_installed", lambda: False)
    assert student_id(env, cwd=tmp_path) == "carol"                # 4. the hub user
    with pytest.raises(StudentIdError, match="CLASSROOM_STUDENT"):
        student_id({}, cwd=tmp_path)
    with pytest.raises(StudentIdError):
        student_id({"CLASSROOM_STUDENT": "../../etc\x1b[2J"})


def test_seeds():
    a = seed_for("alice", "batches", "fall26")
    assert a == seed_for(" Alice ", "batches", "fall26")          # ids compare without case
    assert a != seed_for("bob", "batches", "fall26")
    assert a != seed_for("alice", "costs", "fall26")
    assert a != seed_for("alice", "batches", "spring27")
    assert 0 <= a < identity.MAX_SEED


def test_secret_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CLASSROOM_SECRET", "from-env")
    assert identity.course_secret() == "from-env"
    f = tmp_path / "s"
    f.write_text("from-file\nignored\n")
    assert identity.course_secret(secret_file=str(f)) == "from-file"
    f.write_text("\n")
    with pytest.raises(StudentIdError, match="empty"):
        identity.course_secret(secret_file=str(f))
