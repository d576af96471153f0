"""classroom.hub: the hub bundle folder and its nbgitpuller link."""

from __future__ import annotations

import urllib.parse

import nbformat

from classroom import hub


def test_bundle_and_link(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    for name in ("index", "batching", "instructor-guide"):
        nbformat.write(nbformat.v4.new_notebook(), src / f"{name}.ipynb")
    out = tmp_path / "bundle"
    nbs = hub.bundle(src, out, "https://git.example.edu/c/nbs", "https://hub.example.edu",
                     "https://git.example.edu/c/book.git")
    assert [p.name for p in nbs] == ["batching.ipynb", "index.ipynb"]
    assert sorted(p.name for p in out.iterdir()) == [
        ".gitignore", "README.md", "batching.ipynb", "index.ipynb", "requirements.txt"]
    assert "git+https://git.example.edu/c/book.git" in (out / "requirements.txt").read_text()
    link = hub.nbgitpuller_link("https://hub.example.edu/", "https://git.example.edu/c/nbs")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert link.startswith("https://hub.example.edu/hub/user-redirect/git-pull?")
    assert q == {"repo": ["https://git.example.edu/c/nbs"], "branch": ["main"],
                 "urlpath": ["lab/tree/nbs/index.ipynb"]}
    assert link in (out / "README.md").read_text()
