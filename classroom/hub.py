"""``python -m classroom.hub``: the student edition's notebooks as a folder for a class hub.

``make hub-bundle`` builds the student edition (``make student``) and then runs this, which
copies the notebooks that build emits for download (``_build/student/html/_notebooks/book/
*.ipynb``: the chapters as plain notebooks written by ``bookkit.notebook``, every computed value
in place, solutions removed, no outputs; the instructor guide left out) into
``_build/hub-bundle/`` with

* ``requirements.txt`` — the reader's runtime (the repository's ``binder/requirements.txt``)
  plus the book's own packages (simcore, bookkit, classroom) installed from the repository;
* ``README.md`` — how to make the folder its own git repository, and an example nbgitpuller
  link that clones it into every student's server on first click.

The folder is ready for ``git init && git add . && git commit``; nothing in it is specific to
this machine.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def nbgitpuller_link(hub: str, repo: str, branch: str = "main", path: str = "index.ipynb",
                     app: str = "lab") -> str:
    """The link that clones ``repo`` into a student's server and opens ``path``."""
    name = repo.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    q = urllib.parse.urlencode({"repo": repo, "branch": branch,
                                "urlpath": f"{app}/tree/{name}/{path}"})
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{q}"


README = """# {title}: notebooks for a class JupyterHub

The student edition of the book's chapters as Jupyter notebooks (no solutions, no outputs),
made by `make hub-bundle` in the book's repository.

1. Make this folder its own git repository and push it where the hub can reach it:

   ```sh
   git init -b main && git add . && git commit -m "notebooks"
   git remote add origin {repo} && git push -u origin main
   ```

2. Install the runtime once into the hub's user environment (The Littlest JupyterHub:
   `sudo -E pip install -r requirements.txt`; Zero to JupyterHub: add them to the
   single-user image).

3. Give students this link (nbgitpuller clones the folder into their home on first click and
   merges updates later without overwriting their edits):

   {link}

Chapters: {chapters}.
"""


#: Chapters a student does not need on the class hub (grading commands, the course set-up).
INSTRUCTOR_ONLY = ("instructor-guide",)


def bundle(notebooks: Path, out: Path, repo: str, hub: str, book_repo: str) -> list[Path]:
    """Write the bundle folder ``out`` from the notebooks in ``notebooks``; return them."""
    nbs = sorted(nb for nb in notebooks.glob("*.ipynb") if nb.stem not in INSTRUCTOR_ONLY)
    if not nbs:
        raise SystemExit(f"classroom.hub: no notebooks in {notebooks} (run `make student` "
                         "first)")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for nb in nbs:
        shutil.copy2(nb, out / nb.name)
    req = REPO / "binder" / "requirements.txt"
    lines = ["# the reader's runtime (binder/requirements.txt of the book's repository)"]
    lines += req.read_text().splitlines() if req.exists() else [
        "# binder/requirements.txt was not found when this bundle was made"]
    lines += ["# the book's packages: simcore, bookkit, classroom",
              f"simcore @ git+{book_repo}"]
    (out / "requirements.txt").write_text("\n".join(lines) + "\n")
    first = next((n for n in ("index.ipynb", "background.ipynb") if (out / n).exists()),
                 nbs[0].name)
    (out / "README.md").write_text(README.format(
        title="Batch unmapping of anonymous folios", repo=repo,
        link=nbgitpuller_link(hub, repo, path=first),
        chapters=", ".join(nb.stem for nb in nbs)))
    (out / ".gitignore").write_text(".ipynb_checkpoints/\n__pycache__/\n")
    return nbs


def main(argv=None) -> int:
    """``python -m classroom.hub`` (``make hub-bundle``)."""
    p = argparse.ArgumentParser(prog="classroom.hub", description=__doc__.splitlines()[0])
    p.add_argument("--notebooks", default="_build/student/html/_notebooks/book")
    p.add_argument("--out", default="_build/hub-bundle")
    p.add_argument("--repo", default="https://git.example.edu/course/unmap-notebooks",
                   help="where the bundle's own repository will live (for the link)")
    p.add_argument("--hub", default="https://hub.example.edu", help="the class hub's URL")
    p.add_argument("--book-repo", default="https://git.example.edu/course/unmap-book.git",
                   help="the book's repository (pip installs simcore/bookkit/classroom from it)")
    a = p.parse_args(argv)
    nbs = bundle(Path(a.notebooks), Path(a.out), a.repo, a.hub, a.book_repo)
    print(f"wrote {len(nbs)} notebooks, requirements.txt and README.md to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
