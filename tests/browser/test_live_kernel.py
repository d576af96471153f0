"""The chapters in JupyterLab, as a reader gets them: Run All, what the site shows, a live widget.

The fixture copies two chapter notebooks as the site offers them for download
(``_build/html/_notebooks/book/<chapter>.ipynb``, made by ``bookkit.notebook``; the site is
``book_html``) into a temporary directory and starts ``jupyter lab`` there on 127.0.0.1 and a
free port (no token, no browser, no news or update checks, its own config/data/runtime/settings
directories, notebook windowing off so that every cell is in the page). For each chapter the
test opens the notebook in Chromium and runs all cells ("Run All"); then

* every paragraph or list item of the site's page that quotes a computed value, and the header
  row of every table of its cell outputs, must be in the JupyterLab page too (text compared
  after whitespace, quotes and dashes are normalised);
* the chapter's live widget is found by the label of one of its controls, the control is moved
  (a key press on a slider, a choice in a drop-down), and the widget's output must become
  exactly what the same explorer computes in this Python process for the new value
  (``bookkit.chapters.<chapter>.explorer()``; simcore runs behind it). The round-trip time
  from the input to the updated output is reported;
* the chapter's step-through player (a ``static(...)`` output: player.js and player.css come
  inline in it, see ``bookkit.player``) has started -- JupyterLab ran the script of the output
  the session produced -- and its Next button moves it to step 2, whose counter text, function
  and counters are what the chapter's player function computes in this Python process.

Screenshots of the page and the widget go to ``test-artifacts/screenshots/``. The server and
its kernels are shut down at the end (SIGTERM to the server, which stops its kernels; then the
process ids it started, if any is left).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, REPO, TIMEOUT_MS


@dataclass(frozen=True)
class Chapter:
    name: str          #: the page, book/<name>.md
    module: str        #: its helper module, with explorer()
    control: str       #: a key of explorer().controls, the control to move
    label: str         #: that control's label (description), exactly
    action: str        #: "key" (press ``value`` on it) or "select" (choose option ``value``)
    value: object      #: the key, or the new value
    player: str        #: a function of ``module`` returning a player shown with ``static()``


CHAPTERS = [
    Chapter("contpte", "bookkit.chapters.contpte", "order", "folio order", "key", "ArrowRight",
            "aligned_player"),
    Chapter("batching", "bookkit.chapters.batching", "order", "folio", "select", 5,
            "limits_player"),
]
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
def lab(tmp_path_factory, playwright_api, book_html):
    base = tmp_path_factory.mktemp("lab")
    for sub in ("work", "config", "data", "runtime", "settings", "workspaces"):
        (base / sub).mkdir()
    for chapter in CHAPTERS:  # the notebooks the site offers for download
        shutil.copy(book_html / "_notebooks" / "book" / f"{chapter.name}.ipynb", base / "work")
    # every cell in the page (JupyterLab 4 leaves cells out of view out of the DOM by default)
    tracker = (base / "settings" / "@jupyterlab" / "notebook-extension"
               / "tracker.jupyterlab-settings")
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    news = (base / "settings" / "@jupyterlab" / "apputils-extension"
            / "notification.jupyterlab-settings")
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
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
        yield {"url": url, "log": base / "server.log", "kernels": kernels, "pid": server.pid,
               "html": book_html}
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


def expected_outputs(chapter: Chapter) -> tuple[str, str, object]:
    """The explorer's output text before and after the move, computed here (simcore)."""
    explorer = importlib.import_module(chapter.module).explorer()
    control = explorer.controls[chapter.control]
    before = text_of(explorer.output.value)
    if chapter.action == "key":
        step = {"ArrowRight": 1, "ArrowUp": 1, "ArrowLeft": -1, "ArrowDown": -1}[chapter.value]
        control.value = control.value + step
    else:
        control.value = chapter.value
    assert explorer.error is None, explorer.error
    return before, text_of(explorer.output.value), control


_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'",
                         "\u2013": "-", "\u2014": "-", "\u00a0": " ", "\u00b6": ""})


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(_QUOTES)).strip()


class _Blocks(HTMLParser):
    """The site page's paragraphs/list items quoting a glued value, and its output tables'
    header rows (players excluded: in Jupyter the live widget stands where their twin is)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str]] = []
        self.quoting: list[str] = []
        self.headers: list[str] = []
        self._block: list[str] | None = None
        self._pasted = False
        self._row: list[str] | None = None
        self._in_output = 0
        self._in_player = 0
        self._rows_seen = 0

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag in ("p", "li") and self._block is None:
            self._block, self._pasted = [], False
            self._block_tag = tag
        if "pasted-text" in cls:
            self._pasted = True
        if "cell_output" in cls or self._in_output:
            self._in_output += tag not in ("br", "img", "input", "hr", "meta", "link")
        if "ttu-player" in cls or self._in_player:
            self._in_player += tag not in ("br", "img", "input", "hr", "meta", "link")
        if tag == "table":
            self._rows_seen = 0
        if tag == "tr" and self._in_output and not self._in_player and self._rows_seen == 0:
            self._row = []

    def handle_endtag(self, tag):
        if self._in_output:
            self._in_output -= 1
        if self._in_player:
            self._in_player -= 1
        if tag == "tr" and self._row is not None:
            self.headers.append(" ".join(self._row))
            self._row = None
            self._rows_seen += 1
        elif tag == "tr":
            self._rows_seen += 1
        if self._block is not None and tag == getattr(self, "_block_tag", None):
            if self._pasted:
                self.quoting.append("".join(self._block))
            self._block = None

    def handle_data(self, data):
        if self._block is not None:
            self._block.append(data)
        if self._row is not None and data.strip():
            self._row.append(data.strip())


def what_the_site_shows(page_html: str) -> tuple[list[str], list[str]]:
    main = page_html.split('<main', 1)[-1]
    p = _Blocks()
    p.feed(main)
    p.close()
    return ([normal(t) for t in p.quoting if normal(t)],
            [normal(t) for t in p.headers if normal(t)])


def check_player(page, chapter: Chapter, shots: Path) -> None:
    """The chapter's player started in JupyterLab and its Next button steps it (see above)."""
    from bookkit.player import read_players

    (data,) = read_players(getattr(importlib.import_module(chapter.module), chapter.player)())
    frames = data["presets"][0]["frames"]
    assert len(frames) >= 2, f"{data['id']}: a player of one step cannot be stepped"
    root = page.locator(f"#ttu-{data['id']}")
    assert root.count() == 1, f"player {data['id']} is not in the JupyterLab page"
    root.scroll_into_view_if_needed()
    try:
        page.wait_for_function("el => el.classList.contains('ttu-ready')",
                               arg=root.element_handle(), timeout=30_000)
    except Exception as exc:
        page.screenshot(path=str(shots / f"lab-{chapter.name}-player-static.png"))
        raise AssertionError(f"player {data['id']} did not start in JupyterLab (its script did "
                             "not run): only the static summary shows") from exc
    assert root.locator(".ttu-static").is_hidden()
    pos, fn = root.locator(".ttu-pos"), root.locator(".ttu-fn")
    assert pos.inner_text() == f"step 1 of {len(frames)}"
    assert fn.inner_text() == (frames[0].get("fn") or frames[0].get("event", ""))
    root.locator(".ttu-ui").screenshot(path=str(shots / f"lab-{chapter.name}-player-1.png"))
    root.get_by_role("button", name="Next").click()
    assert pos.inner_text() == f"step 2 of {len(frames)}"
    assert root.get_attribute("data-frame-index") == "1"
    assert fn.inner_text() == (frames[1].get("fn") or frames[1].get("event", ""))
    assert normal(root.locator(".ttu-text").inner_text()) == normal(frames[1]["text"])
    shown = {name: root.locator(f'[data-counter="{name}"]').inner_text()
             for name in frames[1].get("counters", {})}
    assert shown == {k: str(v) for k, v in frames[1].get("counters", {}).items()}
    root.locator(".ttu-ui").screenshot(path=str(shots / f"lab-{chapter.name}-player-2.png"))
    print(f"\nplayer {data['id']}: started in JupyterLab, Next -> step 2 of {len(frames)} "
          f"({frames[1].get('fn')})")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_chapter_in_jupyterlab(browser, lab, chapter):
    before, after, control = expected_outputs(chapter)
    assert before != after, f"moving {chapter.control} does not change the explorer's output"
    quoting, headers = what_the_site_shows(
        (lab["html"] / "book" / f"{chapter.name}.html").read_text(encoding="utf-8"))
    assert len(quoting) >= 5, f"the site's {chapter.name} page quotes few glued values"
    notebook = f"{chapter.name}.ipynb"
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"uncaught exception: {e}"))
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{lab['url']}/lab/tree/{notebook}?reset")
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
            notebook,
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
        page.screenshot(path=str(shots / f"lab-{chapter.name}-top.png"))

        # what the site shows: the sentences quoting computed values, the tables' headers
        shown = normal(page.evaluate(
            """() => [...document.querySelectorAll(
                   '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown, '
                   + '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')]
                 .map(e => e.textContent).join(' ')"""))
        bare = re.sub(r"\s+", "", shown)  # table cells: no spaces between them in the DOM
        missing = [t for t in quoting if t not in shown] + [
            t for t in headers if re.sub(r"\s+", "", t) not in bare]
        assert not missing, (f"{len(missing)} of {len(quoting) + len(headers)} texts of the "
                             f"site's {chapter.name} page are not in JupyterLab:\n"
                             + "\n".join(m[:300] for m in missing[:8]))

        # screenshots: the first paragraph quoting a value, the first figure or glued table
        first = " ".join(quoting[0].split()[:4])  # normalised text: only the first words
        page.locator(".jp-MarkdownCell", has_text=first).first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"lab-{chapter.name}-values.png"))
        shown_glue = page.locator(".jp-OutputArea-output img, "
                                  ".jp-RenderedHTMLCommon table:not(.ttu-player *)")
        if shown_glue.count():
            shown_glue.first.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"lab-{chapter.name}-output.png"))

        check_player(page, chapter, shots)

        # the live widget: the box holding the control labelled exactly chapter.label
        exact = re.compile(rf"^\s*{re.escape(chapter.label)}\s*$")
        label = page.locator(".widget-label", has_text=exact)
        box = page.locator(".widget-vbox").filter(has=label).last
        box.scroll_into_view_if_needed()
        output = box.locator(".widget-html-content").last
        output.wait_for()
        page.wait_for_function("([el, want]) => el.textContent === want",
                               arg=[output.element_handle(), before], timeout=30_000)
        page.evaluate(
            """([el, want]) => {
                 window.__ttuRoundTrip = new Promise(resolve => {
                   let moved = null;
                   const start = () => { if (moved === null) moved = performance.now(); };
                   document.addEventListener('keydown', start, {capture: true});
                   document.addEventListener('change', start, {capture: true});
                   const check = () => {
                     if (moved !== null && el.textContent === want) {
                       observer.disconnect(); resolve(performance.now() - moved); }
                   };
                   const observer = new MutationObserver(check);
                   observer.observe(el, {childList: true, subtree: true, characterData: true});
                 });
               }""",
            [output.element_handle(), after])
        wall0 = time.monotonic()
        if chapter.action == "key":
            handle = box.locator(".widget-slider", has=label).locator(".noUi-handle")
            if handle.count() == 0:  # not a slider: the control's own input
                handle = box.locator(".widget-inline-hbox", has=label).locator("input").first
            handle.focus()
            page.keyboard.press(str(chapter.value))
        else:
            select = box.locator(".widget-dropdown", has=label).locator("select")
            wanted = next(lab_ for lab_, v in control.options if v == chapter.value)
            select.select_option(label=wanted)
        try:
            rtt_ms = page.evaluate(
                "() => Promise.race([window.__ttuRoundTrip, new Promise((_, no) =>"
                " setTimeout(() => no(new Error('timeout')), 30000))])")
        except Exception as exc:
            now = output.text_content()
            raise AssertionError(
                f"after moving {chapter.label!r} the output did not become what simcore "
                f"computes for {chapter.control}={control.value}.\nshown:    {now[:600]}\n"
                f"expected: {after[:600]}") from exc
        wall_ms = (time.monotonic() - wall0) * 1000
        assert output.text_content() == after
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"live-kernel-{chapter.name}.json").write_text(json.dumps({
            "chapter": chapter.name, "control": chapter.control, "new_value": control.value,
            "round_trip_ms": round(rtt_ms, 1), "wall_ms": round(wall_ms, 1),
            "run_all_s": round(run_all_s, 1), "site_texts_checked": len(quoting + headers)},
            indent=1))
        box.screenshot(path=str(shots / f"lab-{chapter.name}-widget.png"))
        print(f"\nlive kernel: {chapter.name} {chapter.control} -> {control.value}: round trip "
              f"{rtt_ms:.0f} ms (input to updated output; {wall_ms:.0f} ms wall); run all "
              f"{run_all_s:.1f} s; {len(quoting)} quoting paragraphs and {len(headers)} table "
              "headers of the site found")
        assert not errors, "\n".join(errors)
    finally:
        ctx.close()
