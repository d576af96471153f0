"""Live scenarios on the website: simcore runs in the page (Pyodide in a Web Worker).

On each chapter with a scenario editor (``.ttu-player[data-live]``), in Chromium with every
host but 127.0.0.1 unresolvable (the site's offline promise): open the editor, change a field
as a reader would, press Run, and require

* the page's result (the "Result as JSON" text) to equal, byte for byte, the stdout of
  ``python -m simcore run scenario.json --mode M [--bug B] --json`` on the scenario the editor
  shows as JSON, run here in CPython;
* the player to show the live run as its preset ``live``, whose last frame's counters are the
  report's;
* no request to leave 127.0.0.1, no console error or warning, no failed request.

On the anon-exclusivity chapter also: bad input shows the command line's one-line error next
to the field; the page's URL (its fragment holds the scenario) reproduces the run in a fresh
page; axe-core finds no serious or critical violation in the editor.

Every page boots Pyodide once (5–15 s on a busy 2-core machine); the module takes about a
minute and a half.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from browser_support import REPO, format_violations, run_axe, save_axe_report, skip_or_fail

LIVE = ".ttu-live"
BOOT_MS = 240_000
#: player counters that are cost counters of the report under the same name
SAME_COUNTERS = ("iterations", "ptep_get", "pte_reads", "pte_writes", "contpte_unfolds",
                 "barriers", "dup_calls", "share_calls")


@pytest.fixture(scope="module", autouse=True)
def live_runtime(site):
    if not (site.html / "_static" / "live" / "manifest.json").is_file():
        skip_or_fail("the site has no live runtime (_static/live): bookkit.liveruntime could "
                     "not fetch Pyodide (npm, network); the build said why")


def cli(tmp_path, scenario_text: str, mode: str, bugs: list[str]) -> subprocess.CompletedProcess:
    path = tmp_path / "scenario.json"
    path.write_text(scenario_text)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "simcore", "run", str(path), "--mode", mode,
                           *(f"--bug={b}" for b in bugs), "--json"],
                          cwd=REPO, capture_output=True, text=True, env=env, timeout=120)


def field(page, name: str):
    return page.locator(f'{LIVE} [data-field="{name}"]')


def editor_state(page) -> dict:
    return {"scenario": page.input_value(f"{LIVE} .ttu-live-json textarea"),
            "mode": field(page, "--mode").input_value(),
            "bugs": [b for b in [field(page, "--bug").input_value()] if b]}


def run_live(page, timeout: int = BOOT_MS) -> str:
    page.click(f"{LIVE} .ttu-live-run")
    page.wait_for_function(
        f"['done', 'error'].includes(document.querySelector('{LIVE}')"
        ".getAttribute('data-live-state'))", timeout=timeout)
    return page.get_attribute(LIVE, "data-live-state")


def check_against_cli(page, tmp_path) -> dict:
    """The page's report equals the command line's on the editor's scenario; the player
    shows it. Returns the report."""
    st = editor_state(page)
    state = page.get_attribute(LIVE, "data-live-state")
    error = page.locator(f"{LIVE} .ttu-live-err:visible, {LIVE} .ttu-live-error:visible")
    assert state == "done", f"live run ended in {state}: {error.all_inner_texts()}"
    shown = page.text_content(f"{LIVE} .ttu-live-report-text")
    r = cli(tmp_path, st["scenario"], st["mode"], st["bugs"])
    assert r.returncode in (0, 1), r.stderr
    assert shown == r.stdout, "the page's report differs from python -m simcore run --json"
    report = json.loads(shown)
    player = page.locator(".ttu-player[data-live]")
    assert player.get_attribute("data-preset") == "live"
    player.locator("button[data-act=last]").click()
    for name in SAME_COUNTERS:
        cell = player.locator(f'[data-counter="{name}"]')
        if cell.count():
            assert cell.inner_text() == str(report["costs"][name]), name
    assert player.locator('[data-counter="mapcount"]').inner_text() == \
        str(report["folio"]["mapcount"])
    return report


# -- the edits a reader makes, per chapter ---------------------------------------------------
def _scenario(page) -> dict:
    return json.loads(editor_state(page)["scenario"])


def edit_anon_exclusive(page):
    field(page, "folio.exclusive").fill("EENNEENNEENNEENN")
    field(page, "folio.exclusive").press("Tab")
    assert _scenario(page)["folio"]["exclusive"] == "EENNEENNEENNEENN"


def edit_sparc64(page):
    n = len(_scenario(page).get("faults", []))
    page.click(f"{LIVE} button:has-text('Add a fault')")
    field(page, f"faults[{n}].op").select_option("arch_unmap_one")
    field(page, f"faults[{n}].page").fill("3")
    field(page, f"faults[{n}].page").press("Tab")
    assert _scenario(page)["faults"][n] == {"op": "arch_unmap_one", "page": 3}


def edit_partial_failure(page):
    field(page, "start").select_option(index=1)     # the preset with a pin on a page
    field(page, "faults[0].page").fill("5")
    field(page, "faults[0].page").press("Tab")
    assert _scenario(page)["faults"][0]["page"] == 5


def edit_contpte(page):
    field(page, "arch.bbml2").check()
    assert _scenario(page)["arch"]["bbml2"] is True


def edit_batching(page):
    field(page, "--mode").select_option("per-pte")
    field(page, "ptes[0].write").uncheck()
    assert _scenario(page)["ptes"][0]["write"] is False


def edit_background(page):
    field(page, "arch.name").select_option("arm64")
    assert _scenario(page)["arch"]["name"] == "arm64"


CHAPTERS = {
    "book/anon-exclusive.html": edit_anon_exclusive,
    "book/sparc64.html": edit_sparc64,
    "book/partial-failure.html": edit_partial_failure,
    "book/contpte.html": edit_contpte,
    "book/batching.html": edit_batching,
    "book/background.html": edit_background,
}


def test_every_live_player_is_tested(site):
    pages = sorted(str(p.relative_to(site.html)) for p in site.html.rglob("*.html")
                   if 'data-live="true"' in p.read_text(errors="replace"))
    assert pages == sorted(CHAPTERS)


@pytest.mark.parametrize("path", list(CHAPTERS))
def test_edit_and_run_live(open_page, path, tmp_path):
    page, watch = open_page(path)
    assert page.locator(LIVE).count() == 1
    page.click(f"{LIVE} > summary")
    CHAPTERS[path](page)
    # nothing of the runtime is loaded before the reader presses Run
    assert not [u for u in watch.requests if "/_static/live/" in u or "live-worker" in u]
    run_live(page)
    report = check_against_cli(page, tmp_path)
    verdict = "succeeded" if report["ok"] else "failed"
    assert f"try_to_unmap {verdict}" in page.inner_text(f"{LIVE} .ttu-live-status")
    watch.assert_clean()


def test_without_javascript_the_presets_remain(open_page, site):
    from bookkit.player import read_players

    path = "book/anon-exclusive.html"
    (data,) = [d for d in read_players((site.html / path).read_text()) if d.get("live")]
    page, watch = open_page(path, java_script_enabled=False)
    assert page.locator(LIVE).count() == 0
    summary = page.locator('.ttu-player[data-live] .ttu-static').inner_text()
    assert all(p["label"] in summary for p in data["presets"])
    # (with scripts off Chromium blocks the theme's script requests: not a failure here)
    assert not watch.third_party()
    assert not [u for u in watch.requests if "/_static/live/" in u]


def test_pattern_length_sets_the_order_shown(open_page):
    """Typing an E/N pattern of 2^k letters sets the folio's order, in the scenario and in the
    order box the reader sees (no Run needed, so no Python is loaded)."""
    page, watch = open_page("book/anon-exclusive.html")
    page.click(f"{LIVE} > summary")
    field(page, "folio.exclusive").fill("EN" * 4)
    field(page, "folio.exclusive").press("Tab")
    assert json.loads(editor_state(page)["scenario"])["folio"]["order"] == 3
    assert field(page, "folio.order").input_value() == "3"
    watch.assert_clean()


def test_bad_input_share_and_axe(open_page, tmp_path, axe_js):
    path = "book/anon-exclusive.html"
    page, watch = open_page(path)
    page.click(f"{LIVE} > summary")
    # a pin and a pattern of three runs, then Run
    field(page, "folio.exclusive").fill("NNNNEEEENNNNEEEE")
    field(page, "folio.pinned").check()
    run_live(page)
    first = check_against_cli(page, tmp_path)
    shared_url = page.url
    assert "#live=" in shared_url

    # bad input: the command line's own line, next to the field it names
    field(page, "folio.exclusive").fill("EEXNEENNEENNEENN")
    field(page, "folio.exclusive").press("Tab")
    assert run_live(page, timeout=60_000) == "error"
    st = editor_state(page)
    r = cli(tmp_path, st["scenario"], st["mode"], st["bugs"])
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    err_id = field(page, "folio.exclusive").get_attribute("aria-describedby")
    assert err_id and field(page, "folio.exclusive").get_attribute("aria-invalid") == "true"
    assert page.inner_text(f"#{err_id}") == r.stderr.strip()

    violations = run_axe(page, axe_js, within=LIVE)
    save_axe_report(path, "live-editor", violations)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, format_violations(serious)
    page.screenshot(path=str(REPO / "test-artifacts" / "live-editor-error.png"), full_page=True)
    watch.assert_clean()

    # the shared link, in a fresh page: same scenario in the editor, same result
    fresh, fresh_watch = open_page(shared_url.split("/", 3)[3])
    assert fresh.locator(f"{LIVE}[open]").count() == 1
    assert field(fresh, "folio.exclusive").input_value() == "NNNNEEEENNNNEEEE"
    run_live(fresh)
    again = check_against_cli(fresh, tmp_path)
    assert again == first
    fresh_watch.assert_clean()


def test_exercise_fresh_variant_checked_in_the_browser(open_page):
    from classroom import exercises

    page, watch = open_page("book/anon-exclusive.html")
    box = page.locator(".ttu-exercise").first
    book_question = box.locator(".ttu-ex-question").inner_text()
    box.locator(".ttu-ex-new").click()
    page.wait_for_function("['done', 'error'].includes(document.querySelector('.ttu-exercise')"
                           ".getAttribute('data-live-state'))", timeout=BOOT_MS)
    assert box.get_attribute("data-live-state") == "done", box.inner_text()
    inst = exercises.generate(box.get_attribute("data-topic"),
                              int(box.get_attribute("data-live-seed")),
                              int(box.get_attribute("data-difficulty")))
    assert box.locator(".ttu-ex-question").inner_text() == inst.question.strip()
    assert box.locator(".ttu-ex-command").inner_text() == inst.command
    wrong = next(iter(exercises.topic_module(inst.topic).wrong_answers(inst).values()), "0:1:E")
    for answer in (wrong, inst.answer):
        box.locator("input").fill(answer)
        box.locator(".ttu-ex-check").click()
        verdict = exercises.check(inst, answer)
        want = "correct" if verdict.correct else "wrong"
        page.wait_for_function(
            "w => document.querySelector('.ttu-exercise').getAttribute('data-result') === w",
            arg=want)
        assert box.locator(".ttu-ex-feedback").inner_text() == verdict.message
    box.locator(".ttu-ex-book").click()
    assert box.locator(".ttu-ex-question").inner_text() == book_question
    assert box.get_attribute("data-live-seed") is None
    watch.assert_clean()
