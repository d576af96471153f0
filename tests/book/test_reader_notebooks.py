"""The chapters as a reader runs them: downloaded from the site, in a fresh environment.

``reader_venv`` makes a virtual environment from ``binder/requirements.txt`` alone (cached in
``_build/reader-venv/<hash of that file and the Python version>``, so it is built once per
machine, and ``make clean`` removes it) and installs into it a wheel of the package built from
this checkout (every session, ``--no-deps``: the package's own dependencies must already be in
``binder/requirements.txt``). Each chapter notebook the site offers for download
(``_build/html/_notebooks``) is then executed with nbclient in that environment, from a
directory holding nothing but the notebook, so nothing of the checkout is importable. The test
fails on any error or stderr output, on a Markdown cell that would show MyST markup in
JupyterLab, on a glued value of the page that the notebook does not show, and on a ``show``
cell without output. Creating the environment needs PyPI (pip); without network it fails with
pip's one-line reason.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bookkit.notebook import myst_leftovers

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
KernelManager = pytest.importorskip("jupyter_client").KernelManager

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "binder" / "requirements.txt"
VENV_ROOT = REPO / "_build" / "reader-venv"
PACKAGE_PARTS = ("pyproject.toml", "simcore", "bookkit", "classroom", "kernlab")
KERNEL = "bookkit-reader"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _run(cmd: list[str], what: str, **kw) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, **kw)
    if r.returncode != 0:
        lines = [x for x in (r.stderr or r.stdout).strip().splitlines() if x.strip()]
        pytest.fail(f"{what} failed: {lines[-1] if lines else r.returncode}\n"
                    f"{(r.stderr or r.stdout)[-2000:]}", pytrace=False)


@pytest.fixture(scope="session")
def reader_venv(tmp_path_factory) -> Path:
    """A venv from binder/requirements.txt (cached) with this checkout's package installed."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()[:12]
    venv = VENV_ROOT / key
    python = venv / "bin" / "python"
    if not (venv / ".ready").is_file():
        shutil.rmtree(VENV_ROOT, ignore_errors=True)  # older requirements: not needed any more
        _run([sys.executable, "-m", "venv", str(venv)], "python -m venv")
        _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
              "-r", str(REQUIREMENTS)], f"pip install -r {REQUIREMENTS.relative_to(REPO)}")
        # matplotlib builds its font cache on first import and says so on stderr: do it here
        _run([str(python), "-c", "import matplotlib.font_manager"], "matplotlib font cache")
        (venv / ".ready").write_text(REQUIREMENTS.read_text())
    # the package, from a copy of the checkout's sources (an in-tree build would write build/
    # and *.egg-info into the repository), as a wheel
    work = tmp_path_factory.mktemp("package")
    src = work / "src"
    src.mkdir()
    for part in PACKAGE_PARTS:
        path = REPO / part
        if path.is_dir():
            shutil.copytree(path, src / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.is_file():
            shutil.copy(path, src / part)
    # without setuptools here (a venv of Python 3.12+ has none) pip fetches it to build
    isolation = [] if importlib.util.find_spec("setuptools") is None else [
        "--no-build-isolation"]
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation,
          "--disable-pip-version-check", "-w", str(work / "dist"), str(src)], "pip wheel")
    wheel = next((work / "dist").glob("*.whl"))
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
          "--disable-pip-version-check", str(wheel)], f"pip install {wheel.name}")
    return venv


@pytest.fixture(scope="session")
def reader_kernel(reader_venv, tmp_path_factory) -> Path:
    """A kernelspec directory (for JUPYTER_PATH) whose kernel is the reader venv's Python."""
    share = tmp_path_factory.mktemp("jupyter")
    spec = share / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(reader_venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "the reader's environment", "language": "python"}))
    return share


def execute(nb, reader_kernel: Path, cwd: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(reader_kernel))
    for var in ("PYTHONPATH", "BOOK_EDITION", "BOOKKIT_GLUE", "MPLBACKEND"):
        monkeypatch.delenv(var, raising=False)
    # IPC sockets in the run directory, not TCP ports: jupyter_client picks a free port and the
    # kernel binds it later, a race another process on a busy machine can win ("Address already
    # in use", the kernel dies before replying; seen once in CI).
    km = KernelManager(kernel_name=KERNEL, transport="ipc", ip=str(cwd / "kernel"))
    client = nbclient.NotebookClient(nb, km=km, timeout=600, kernel_name=KERNEL,
                                     allow_errors=True, resources={"metadata": {"path": str(cwd)}})
    client.execute()


def chapters(html_dir: Path) -> list[Path]:
    return sorted((html_dir / "_notebooks").rglob("*.ipynb"))


PASTED = re.compile(r'<span class="pasted-text">(.*?)</span>', re.S)


def pasted_values(page: str) -> list[str]:
    """The glued values a built page shows inline (myst-nb's ``pasted-text`` spans)."""
    return [html.unescape(re.sub(r"<[^>]+>", "", v)) for v in PASTED.findall(page)]


def unescape_markdown(text: str) -> str:
    return re.sub(r"\\([\\`*_\[\]<>|~$#])", r"\1", text)


def test_downloaded_chapters_run_in_a_fresh_environment(book_html, reader_kernel, tmp_path,
                                                        monkeypatch):
    notebooks = chapters(book_html)
    assert len(notebooks) >= 8, notebooks
    failures: list[str] = []
    for path in notebooks:
        doc = path.relative_to(book_html / "_notebooks").with_suffix("")
        nb = nbformat.read(path, as_version=4)
        where = f"{doc}.ipynb"
        # nothing JupyterLab would show as MyST markup
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                for left in myst_leftovers(cell.source):
                    failures.append(f"{where} cell {i}: MyST markup left: {left}")
        # every value the page pastes inline is written into the notebook's Markdown
        markdown = unescape_markdown("\n".join(c.source for c in nb.cells
                                               if c.cell_type == "markdown"))
        markdown = re.sub(r"\s+", " ", markdown)
        page = (book_html / f"{doc}.html").read_text(encoding="utf-8")
        for value in pasted_values(page):
            if re.sub(r"\s+", " ", value) not in markdown:
                failures.append(f"{where}: the site shows {value!r}, the notebook does not")
        # run it where only the notebook is: the package must come from the reader's venv
        run_dir = tmp_path / doc.name
        run_dir.mkdir()
        shutil.copy(path, run_dir / path.name)
        nb.cells.append(nbformat.v4.new_code_cell(
            "import bookkit, simcore\nprint(bookkit.__file__)\nprint(simcore.__file__)"))
        execute(nb, reader_kernel, run_dir, monkeypatch)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            for out in cell.outputs:
                if out.output_type == "error":
                    failures.append(f"{where} cell {i}: {out.ename}: {out.evalue}")
                elif out.output_type == "stream" and out.name == "stderr":
                    failures.append(f"{where} cell {i}: stderr: {out.text.strip()[:300]}")
            if cell.source.startswith("show(") and not any(
                    {"text/html", "image/png"} & set(out.get("data", {}))
                    for out in cell.outputs):
                failures.append(f"{where} cell {i}: {cell.source} shows nothing")
        where_from = "".join(o.get("text", "") for o in nb.cells[-1].outputs).split()
        if len(where_from) != 2 or not all(p.startswith(str(VENV_ROOT)) for p in where_from):
            failures.append(f"{where}: bookkit/simcore not imported from the reader's venv: "
                            f"{where_from}")
        if "contpte" in where or "batching" in where:
            views = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                     if WIDGET_VIEW in o.get("data", {})]
            if not views:
                failures.append(f"{where}: no live widget displayed")
    assert not failures, "\n".join(failures)


def test_first_cell_names_what_is_missing(book_html, reader_kernel, tmp_path, monkeypatch):
    """Without the book's package the first cell says so in one line, and Run All stops."""
    nb = nbformat.read(book_html / "_notebooks" / "book" / "batching.ipynb", as_version=4)
    hide = nbformat.v4.new_code_cell('import sys\nsys.modules["simcore"] = None  # not installed')
    nb.cells = [hide, nb.cells[0]]
    execute(nb, reader_kernel, tmp_path, monkeypatch)
    errors = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert len(errors) == 1, nb.cells[1].outputs
    shown = errors[0].traceback
    assert len(shown) == 1 and "\n" not in shown[0], shown
    assert shown[0].startswith("This notebook needs simcore:"), shown[0]
    assert "binder/requirements.txt" in shown[0]
