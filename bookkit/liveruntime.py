"""The live runtime of the website: Pyodide, pure-Python wheels and a bundle of simcore.

The build calls :func:`install` after Sphinx has written the site. It copies into
``html/_static/live/``:

* the **Pyodide core** (``pyodide.mjs``, ``pyodide.asm.mjs``, ``pyodide.asm.wasm``,
  ``python_stdlib.zip``, ``pyodide-lock.json``) from the npm package ``pyodide@PYODIDE``,
  fetched with ``npm pack`` into a cache (never into git);
* the **wheels** of :data:`WHEELS` (pure Python, so they run in Pyodide), fetched with
  ``pip download`` into the same cache: jsonschema 4.17.3 is the last release that needs no
  compiled extension (4.18+ needs ``rpds-py``), and simcore validates scenarios with it;
* ``simcore.zip``: simcore's sources and the few bookkit modules the page's worker runs
  (:data:`BUNDLE_BOOKKIT`), zipped from the checkout, so the browser runs the same code as
  the command line;
* ``manifest.json``: versions, files and their sizes (the worker reads it on the first run).

Nothing is loaded by a page until its reader presses "Run" in a scenario editor
(``book/_static/live.js`` starts ``book/_static/live-worker.mjs``). Without npm, pip or a
network the site is built without the live runtime and :func:`install` says so in one line;
``BOOKKIT_LIVE=0`` leaves it out on purpose; with ``BOOKKIT_LIVE=require`` (CI) a build that
cannot include it fails.

``python -m bookkit.liveruntime fetch`` fills the cache only; ``... install HTML_DIR`` copies.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: The npm package of the Pyodide core (Python 3.14 in WebAssembly).
PYODIDE = "314.0.8"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")
#: Pure-Python wheels from PyPI, pinned: jsonschema without compiled dependencies.
WHEELS = ("jsonschema==4.17.3", "pyrsistent==0.20.0", "attrs==26.1.0")
#: The bookkit modules the worker imports (they import nothing but simcore and the stdlib).
BUNDLE_BOOKKIT = ("__init__.py", "live.py", "player.py", "sitebuild.py", "frames.py", "liverun.py")
#: Packages zipped whole (their modules import what they need lazily).
BUNDLE_PACKAGES = ("simcore", "classroom")
SITE_DIR = Path("_static") / "live"
#: Suffixes of simcore's files that go into the bundle (sources, schema, shipped data).
BUNDLE_SUFFIXES = (".py", ".json", ".csv", ".txt")


class FetchError(Exception):
    """The runtime cannot be fetched here (the message is one line: what is missing)."""


def default_cache() -> Path:
    return Path(os.environ.get("BOOKKIT_LIVE_CACHE") or REPO / "_build" / ".live-cache")


def _run(cmd: list[str], what: str, timeout: int = 300) -> None:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise FetchError(f"{what} failed: {e}") from None
    if r.returncode != 0:
        lines = [ln.strip() for ln in (r.stderr or r.stdout).strip().splitlines() if ln.strip()]
        # npm: the "code" line names the problem (ECONNREFUSED, E404 ...); pip: the last line
        code = [ln for ln in lines if ln.startswith(("npm error code", "npm ERR! code"))]
        why = (code or lines[-1:] or [f"exit {r.returncode}"])[0]
        raise FetchError(f"{what} failed: {why}")


def fetch_pyodide(cache: Path) -> Path:
    """The directory of the pinned Pyodide core's files, fetched with ``npm pack`` if needed."""
    dest = cache / f"pyodide-{PYODIDE}"
    if all((dest / f).is_file() for f in PYODIDE_FILES):
        return dest
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm not found (apt-get install npm)")
    cache.mkdir(parents=True, exist_ok=True)
    tgz = cache / f"pyodide-{PYODIDE}.tgz"
    if not tgz.is_file():
        # offline, npm and pip give up within about a minute instead of retrying for long
        _run([npm, "pack", f"pyodide@{PYODIDE}", "--pack-destination", str(cache),
              "--loglevel=error", "--fetch-retries=1", "--fetch-timeout=30000"],
             f"npm pack pyodide@{PYODIDE}")
    tmp = dest.with_suffix(".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(tgz) as tar:
        for name in PYODIDE_FILES:
            member = tar.getmember(f"package/{name}")
            src = tar.extractfile(member)
            if src is None:
                raise FetchError(f"{tgz.name}: package/{name} is not a file")
            with src, open(tmp / name, "wb") as out:
                shutil.copyfileobj(src, out)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def _wheel_name(req: str) -> str:
    name, _, version = req.partition("==")
    return f"{name.replace('-', '_')}-{version}-py3-none-any.whl"


def fetch_wheels(cache: Path) -> list[Path]:
    """The pinned wheels, fetched with ``pip download`` (pure-Python wheels only) if needed."""
    dest = cache / "wheels"
    paths = [dest / _wheel_name(r) for r in WHEELS]
    missing = [r for r, p in zip(WHEELS, paths, strict=True) if not p.is_file()]
    if missing:
        dest.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--retries", "1",
              "--timeout", "30", "--only-binary",
              ":all:", "--platform", "any", "--implementation", "py", "--python-version", "3.14",
              "-d", str(dest), *missing], "pip download " + " ".join(missing))
    for p in paths:
        if not p.is_file():
            raise FetchError(f"pip download did not produce {p.name}")
    return paths


def bundle(dest: Path, repo: Path = REPO) -> Path:
    """Zip simcore (and classroom, for the exercises) and the worker's bookkit modules from
    the checkout (byte-stable)."""
    files = sorted(p for pkg in BUNDLE_PACKAGES if (repo / pkg).is_dir()
                   for p in (repo / pkg).rglob("*")
                   if p.is_file() and p.suffix in BUNDLE_SUFFIXES and "__pycache__" not in p.parts)
    files += [repo / "bookkit" / name for name in BUNDLE_BOOKKIT]
    tmp = dest.with_suffix(".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p in files:
            info = zipfile.ZipInfo(p.relative_to(repo).as_posix(), date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, p.read_bytes())
    tmp.replace(dest)
    return dest


def _copy(src: Path, dst: Path) -> None:
    if not (dst.is_file() and dst.stat().st_size == src.stat().st_size
            and dst.stat().st_mtime >= src.stat().st_mtime):
        shutil.copy2(src, dst)


def install(html_dir: Path, cache: Path | None = None) -> tuple[bool, str]:
    """Put the live runtime into ``html_dir/_static/live``: (installed?, one line saying so)."""
    site = Path(html_dir) / SITE_DIR
    if os.environ.get("BOOKKIT_LIVE", "1") == "0":
        shutil.rmtree(site, ignore_errors=True)
        return False, "live runtime: left out (BOOKKIT_LIVE=0); the players show the recorded " \
                      "presets only"
    cache = cache or default_cache()
    try:
        pyodide = fetch_pyodide(cache)
        wheels = fetch_wheels(cache)
    except FetchError as e:
        shutil.rmtree(site, ignore_errors=True)
        return False, (f"live runtime: not included ({e}); the site is complete but its "
                       "scenario editors cannot run Python")
    (site / "pyodide").mkdir(parents=True, exist_ok=True)
    (site / "wheels").mkdir(parents=True, exist_ok=True)
    for name in PYODIDE_FILES:
        _copy(pyodide / name, site / "pyodide" / name)
    for w in wheels:
        _copy(w, site / "wheels" / w.name)
    bundle(site / "simcore.zip")
    files = {p.relative_to(site).as_posix(): p.stat().st_size
             for p in sorted(site.rglob("*")) if p.is_file() and p.name != "manifest.json"}
    digest = hashlib.sha256((site / "simcore.zip").read_bytes()).hexdigest()[:16]
    manifest = {"pyodide": PYODIDE, "wheels": [f"wheels/{w.name}" for w in wheels],
                "bundle": "simcore.zip", "bundle_sha256": digest, "files": files,
                "bytes": sum(files.values())}
    (site / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return True, (f"live runtime: Pyodide {PYODIDE} + simcore in {SITE_DIR.as_posix()} "
                  f"({manifest['bytes'] / 1e6:.1f} MB)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fetch"] and len(argv) == 1:
        try:
            print(fetch_pyodide(default_cache()))
            for w in fetch_wheels(default_cache()):
                print(w)
        except FetchError as e:
            print(f"bookkit.liveruntime: {e}", file=sys.stderr)
            return 1
        return 0
    if argv[:1] == ["install"] and len(argv) == 2:
        ok, line = install(Path(argv[1]))
        print(line)
        return 0 if ok else 1
    print("usage: python -m bookkit.liveruntime fetch | install HTML_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
