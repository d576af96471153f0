"""`make bench` for the website's live mode: size and speed of simcore in the reader's browser.

* **size**: the bytes the live runtime adds to the site (`bookkit.liveruntime.install` into a
  scratch directory: Pyodide core, wheels, ``simcore.zip``), uncompressed and gzip-compressed
  (what a server with compression sends) — target ≤ 15 MB uncompressed;
* **first live result**: the time from pressing Run to the drawn result on a page whose
  Pyodide is not booted, in headless Chromium on this machine, served from 127.0.0.1: *cold*
  (a fresh browser profile, nothing cached) and *cached* (the same profile, page reloaded, so
  the files come from the browser's cache and only the start-up work remains);
* **one live update once booted**: Run → result drawn for one folio of 16, 64 and 512 PTEs
  (x86_64, all exclusive, patched; median of ``--repeat``) — target ≤ 200 ms for 64 PTEs —
  and, for scale, the same in per-pte mode (the longest traces; 512 PTEs are drawn as before
  and after, see `bookkit.liverun.MAX_CELLS`).

The page is a scratch site holding the anon-exclusivity chapter's live player and the site's
own ``player.js``, ``live.js`` and ``live-worker.mjs``; no book build is needed. Without npm
or Chromium the rows say why and the rest still runs. Every target is reported PASS or
MISSED; the exit status is 0 either way (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bookkit import liveruntime

STATIC = liveruntime.REPO / "book" / "_static"
PLAYER_STATIC = liveruntime.REPO / "bookkit" / "static"  # the player's files: package data
PAGE_FILES = ("player.js", "player.css", "live.js", "live.css", "live-worker.mjs")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
SIZE_TARGET_MB = 15.0
UPDATE_TARGET_MS = 200.0
PTE_COUNTS = (16, 64, 512)
LIVE = ".ttu-live"


def make_site(root: Path) -> tuple[bool, str]:
    """A scratch site: one page with a live player, the page scripts, the live runtime."""
    from bookkit.chapters import anon_exclusive
    from bookkit.player import player_html

    static = root / "_static"
    static.mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES:
        src = PLAYER_STATIC if name.startswith("player.") else STATIC
        shutil.copy(src / name, static / name)
    ok, line = liveruntime.install(root)
    body = player_html(anon_exclusive.explorer_player(), inline_assets=False)  # as on the site
    (root / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>live bench</title>'
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="_static/player.css">'
        '<link rel="stylesheet" href="_static/live.css">'
        '<script src="_static/player.js"></script><script src="_static/live.js"></script>'
        f"</head><body><main>{body}</main></body></html>")
    return ok, line


def runtime_size(site: Path) -> dict[str, float]:
    live = site / liveruntime.SITE_DIR
    files = [p for p in live.rglob("*") if p.is_file()]
    raw = sum(p.stat().st_size for p in files)
    gz = sum(len(gzip.compress(p.read_bytes(), 6)) for p in files)
    return {"mb": raw / 1e6, "gzip_mb": gz / 1e6, "files": len(files)}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _scenario(nr: int) -> str:
    from bookkit.scenarios import folio_scenario

    doc = folio_scenario(order=nr.bit_length() - 1, name=f"{nr} PTEs")
    return json.dumps(doc, indent=2) + "\n"


def _run(page, timeout_ms: int = 300_000) -> float:
    page.click(f"{LIVE} .ttu-live-run")
    page.wait_for_function(
        f"['done', 'error'].includes(document.querySelector('{LIVE}')"
        ".getAttribute('data-live-state'))", timeout=timeout_ms)
    state = page.get_attribute(LIVE, "data-live-state")
    if state != "done":
        raise RuntimeError(f"live run ended in {state}: "
                           + " ".join(page.locator(f"{LIVE} .ttu-live-err:visible, "
                                                   f"{LIVE} .ttu-live-error:visible")
                                      .all_inner_texts()))
    return float(page.get_attribute(LIVE, "data-live-total-ms"))


def _set_scenario(page, text: str, mode: str) -> None:
    if not page.locator(f"{LIVE} .ttu-live-json[open]").count():
        page.locator(f"{LIVE} .ttu-live-json > summary").click()
    page.fill(f"{LIVE} .ttu-live-json textarea", text)
    page.click(f"{LIVE} .ttu-live-json button")
    page.select_option(f'{LIVE} [data-field="--mode"]', mode)


def browser_timings(url: str, repeat: int) -> dict[str, object]:
    """Cold and cached Run → first result, and booted updates per PTE count and mode (ms)."""
    from playwright.sync_api import sync_playwright

    out: dict[str, object] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.goto(url)
            page.click(f"{LIVE} > summary")
            out["cold_ms"] = _run(page)
            page.reload()           # the URL now holds the scenario: the editor opens itself
            out["cached_ms"] = _run(page)
            updates: dict[str, dict[int, float]] = {}
            for mode in ("patched", "per-pte"):
                updates[mode] = {}
                for nr in PTE_COUNTS:
                    _set_scenario(page, _scenario(nr), mode)
                    times = [_run(page) for _ in range(repeat)]
                    updates[mode][nr] = statistics.median(times)
            out["update_ms"] = updates
        finally:
            browser.close()
    return out


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bookkit.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per update size (median)")
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = ap.parse_args(argv)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bookkit-bench-") as tmp:
        site = Path(tmp)
        ok, line = make_site(site)
        results["runtime"] = line
        if ok:
            results["size"] = runtime_size(site)
            if not Path(CHROMIUM).exists():
                results["browser"] = f"no Chromium at {CHROMIUM}"
            else:
                server = ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_Quiet, directory=str(site)))
                threading.Thread(target=server.serve_forever, daemon=True).start()
                try:
                    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
                    results.update(browser_timings(url, max(1, args.repeat)))
                except Exception as exc:  # a benchmark reports what it could not measure
                    results["browser"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
                finally:
                    server.shutdown()
                    server.server_close()
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print("live mode (simcore in the browser, bookkit.bench)")
    print(f"  {results['runtime']}")
    size = results.get("size")
    if size:
        print(f"  size added to the site        {size['mb']:6.1f} MB ({size['gzip_mb']:.1f} MB "
              f"gzip, {size['files']} files)   target <= {SIZE_TARGET_MB:.0f} MB  "
              f"{_verdict(size['mb'] <= SIZE_TARGET_MB)}")
    if "browser" in results:
        print(f"  browser timings: not measured ({results['browser']})")
    if "cold_ms" in results:
        print(f"  Run -> first result, cold     {results['cold_ms'] / 1000:6.1f} s "
              "(fresh profile: download + boot + run)")
        print(f"  Run -> first result, cached   {results['cached_ms'] / 1000:6.1f} s "
              "(reloaded page: boot + run)")
        upd = results["update_ms"]
        print(f"  one live update once booted (Run -> drawn, median of {args.repeat}):")
        print(f"    {'PTEs':>6} {'patched':>10} {'per-pte':>10}")
        for nr in PTE_COUNTS:
            print(f"    {nr:>6} {upd['patched'][nr]:>8.0f} ms {upd['per-pte'][nr]:>7.0f} ms")
        print(f"  64 PTEs, patched: target <= {UPDATE_TARGET_MS:.0f} ms  "
              f"{_verdict(upd['patched'][64] <= UPDATE_TARGET_MS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
