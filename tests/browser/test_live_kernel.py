"""One live-kernel round trip: JupyterLab on localhost, a chapter run, a widget moved in Chromium.

The fixture converts a chapter (``book/<chapter>.md``, MyST) to ``.ipynb`` with jupytext in a
temporary directory and starts ``jupyter lab`` there on 127.0.0.1 and a free port (no token, no
browser, no news or update checks, its own config/data/runtime/settings directories); the test
opens the notebook in Chromium, runs all cells ("Run All"), finds the chapter's live widget by
the label of one of its controls, moves that control with the keyboard and waits until the
widget's output shows exactly what the same explorer computes in this Python process for the
new value (``bookkit.chapters.<chapter>.explorer()`` with the control set: simcore runs behind
it). It reports the round-trip time from the key press to the updated output. The server and
its kernels are shut down at the end (SIGTERM to the server, which stops its kernels; then
the process ids it started, if any is left).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, REPO, TIMEOUT_MS

#: chapter page, its helper module, the control to move (a key of ``explorer().controls``),
#: the key that moves it, and the value it moves to
CHAPTER = "contpte"
MODULE = "bookkit.chapters.contpte"
CONTROL = "order"
KEY = "ArrowRight"
#: notebook startup on a slow 2-core machine: kernel start plus every cell of the chapter
RUN_ALL_TIMEOUT_MS = 240_000


class _Text(HTMLParser):
    """textContent of an HTML fragment, as a browser computes it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def text_of(fragment: str) -> str:
    p = _Text()
    p.feed(fragment)
    p.close()
    return "".join(p.parts)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc): the kernels the server started."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


@pytest.fixture(scope="module")
def lab(tmp_path_factory, playwright_api):
    jupytext = pytest.importorskip("jupytext")
    base = tmp_path_factory.mktemp("lab")
    for sub in ("work", "config", "data", "runtime", "settings", "workspaces"):
        (base / sub).mkdir()
    nb = jupytext.read(REPO / "book" / f"{CHAPTER}.md")
    jupytext.write(nb, base / "work" / f"{CHAPTER}.ipynb", fmt="ipynb")
    port = _free_port()
    env = dict(os.environ)
    env.update(JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_DATA_DIR=str(base / "data"),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"), JUPYTER_PLATFORM_DIRS="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p))
    env.pop("BOOK_EDITION", None)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           "--IdentityProvider.token=", f"--ServerApp.root_dir={base / 'work'}",
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True",
           f"--LabApp.user_settings_dir={base / 'settings'}",
           f"--LabApp.workspaces_dir={base / 'workspaces'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(base / "server.log", "w")  # noqa: SIM115 - closed in the finalizer
    server = subprocess.Popen(cmd, cwd=base / "work", env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    kernels: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited ({server.returncode}):\n"
                            f"{(base / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("jupyter lab did not answer within 120 s:\n"
                            f"{(base / 'server.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield {"url": url, "notebook": f"{CHAPTER}.ipynb", "log": base / "server.log",
               "kernels": kernels, "pid": server.pid}
    finally:
        kernels.update(_children(server.pid))
        server.send_signal(signal.SIGTERM)  # the server stops its kernels, then exits
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # its process group: the server and what it forked
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        for pid in kernels:  # a kernel that outlived its server (it has a session of its own)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()


def expected_outputs() -> tuple[str, str, object]:
    """The explorer's output text before and after the move, computed here (simcore)."""
    mod = importlib.import_module(MODULE)
    explorer = mod.explorer()
    control = explorer.controls[CONTROL]
    before = text_of(explorer.output.value)
    new = control.value + 1 if KEY == "ArrowRight" else control.value - 1
    control.value = new
    assert explorer.error is None, explorer.error
    return before, text_of(explorer.output.value), control


def test_live_widget_round_trip(browser, lab):
    before, after, control = expected_outputs()
    assert before != after, f"moving {CONTROL} does not change the explorer's output"
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"uncaught exception: {e}"))
    try:
        page.goto(f"{lab['url']}/lab/tree/{lab['notebook']}?reset")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell",
                               timeout=120_000)
        t0 = time.monotonic()
        page.evaluate(
            """async (name) => {
                 const app = window.jupyterapp;
                 await app.restored;
                 let panel = null;
                 for (let i = 0; i < 600 && !panel; i++) {
                   const w = app.shell.currentWidget;
                   if (w && w.context && w.context.path === name && w.sessionContext) panel = w;
                   else await new Promise(r => setTimeout(r, 200));
                 }
                 if (!panel) throw new Error('the notebook did not open: ' + name);
                 await panel.context.ready;
                 await panel.sessionContext.ready;
                 await app.commands.execute('notebook:run-all-cells');
               }""",
            lab["notebook"],
        )
        # every code cell ran (an execution count), the kernel is idle again, no error output
        page.wait_for_function(
            """() => {
                 const panel = window.jupyterapp.shell.currentWidget;
                 const kernel = panel.sessionContext.session?.kernel;
                 const cells = panel.content.widgets.filter(c => c.model.type === 'code');
                 return kernel && kernel.status === 'idle' && cells.length > 0 &&
                   cells.every(c => c.model.executionCount !== null);
               }""",
            timeout=RUN_ALL_TIMEOUT_MS, polling=500)
        run_all_s = time.monotonic() - t0
        failed = page.locator(".jp-OutputArea-output[data-mime-type="
                              "'application/vnd.jupyter.error']")
        assert failed.count() == 0, failed.first.inner_text()[:2000]

        # the explorer: the widget box holding the control labelled like CONTROL
        label = control.description
        box = page.locator(".widget-vbox").filter(
            has=page.locator(".widget-label", has_text=label)).last
        box.scroll_into_view_if_needed()
        output = box.locator(".widget-html-content").last
        output.wait_for()
        page.wait_for_function("([el, want]) => el.textContent === want",
                               arg=[output.element_handle(), before], timeout=30_000)

        handle = box.locator(".widget-slider", has=page.locator(
            ".widget-label", has_text=label)).locator(".noUi-handle")
        if handle.count() == 0:  # not a slider: the control's own input/select
            handle = box.locator(".widget-inline-hbox", has=page.locator(
                ".widget-label", has_text=label)).locator("input, select").first
        handle.focus()
        page.evaluate(
            """([el, want]) => {
                 window.__ttuRoundTrip = new Promise(resolve => {
                   let pressed = null;
                   document.addEventListener('keydown', () => {
                     if (pressed === null) pressed = performance.now(); }, {capture: true});
                   const check = () => {
                     if (pressed !== null && el.textContent === want) {
                       observer.disconnect(); resolve(performance.now() - pressed); }
                   };
                   const observer = new MutationObserver(check);
                   observer.observe(el, {childList: true, subtree: true, characterData: true});
                 });
               }""",
            [output.element_handle(), after])
        wall0 = time.monotonic()
        page.keyboard.press(KEY)
        try:
            rtt_ms = page.evaluate(
                "() => Promise.race([window.__ttuRoundTrip, new Promise((_, no) =>"
                " setTimeout(() => no(new Error('timeout')), 30000))])")
        except Exception as exc:
            shown = output.text_content()
            raise AssertionError(
                f"after {KEY} on {label!r} the output did not become what simcore computes "
                f"for {CONTROL}={control.value}.\nshown:    {shown[:600]}\nexpected: "
                f"{after[:600]}") from exc
        wall_ms = (time.monotonic() - wall0) * 1000
        shown = output.text_content()
        assert shown == after
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "live-kernel.json").write_text(json.dumps({
            "chapter": CHAPTER, "control": CONTROL, "new_value": control.value,
            "round_trip_ms": round(rtt_ms, 1), "wall_ms": round(wall_ms, 1),
            "run_all_s": round(run_all_s, 1)}, indent=1))
        (ARTIFACTS / "screenshots").mkdir(exist_ok=True)
        box.screenshot(path=str(ARTIFACTS / "screenshots" / "live-kernel-widget.png"))
        print(f"\nlive kernel: {CHAPTER} {CONTROL} -> {control.value}: round trip "
              f"{rtt_ms:.0f} ms (key press to updated output; {wall_ms:.0f} ms wall); "
              f"run all {run_all_s:.1f} s")
        assert not errors, "\n".join(errors)
    finally:
        ctx.close()
