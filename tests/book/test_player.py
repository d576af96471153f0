"""The step-through player (bookkit.player + bookkit/static/player.js) and bookkit.live.

Python side: the HTML fragment, its escaping, the data checks, the static summary, the
live/static mime bundle, the script and style inline outside the site build. Browser side (no
site build): the player steps, plays, switches presets, keeps several players independent and
names every control by its visible label; players carrying their script inline (as in Jupyter)
start once each and step on a page with nothing else. Browser tests skip without Chromium
unless REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bookkit.live import WIDGET_VIEW_MIME, Live, Static, static
from bookkit.player import (
    PlayerDataError,
    describe_pte,
    example_data,
    player_html,
    read_players,
    validate,
)

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "bookkit" / "static"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script":
            self._in_script = attrs
            self.scripts.append((attrs, ""))

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def parse(fragment: str) -> _Collect:
    p = _Collect()
    p.feed(fragment)
    p.close()
    return p


# --- the HTML fragment ---------------------------------------------------------------------


def test_fragment_has_container_data_and_hooks():
    data = example_data("p1")
    html = player_html(data, inline_assets=False)  # as on the site
    doc = parse(html)
    tag, attrs = doc.tags[0]
    assert tag == "div" and "ttu-player" in attrs["class"].split()
    assert attrs["data-frame-index"] == "0"
    assert attrs["data-preset"] == data["presets"][0]["key"]
    assert attrs["id"] == "ttu-p1"
    (script_attrs, text), = doc.scripts
    assert script_attrs["type"] == "application/json"
    assert json.loads(text) == data


def test_jupyter_gets_script_and_style_inline_the_site_does_not(monkeypatch):
    from bookkit.glue import ENV, MYST_NB
    from bookkit.player import assets

    js, css = assets()
    assert js == (STATIC / "player.js").read_text() and "ttuPlayer" in js
    assert css == (STATIC / "player.css").read_text() and ".ttu-player" in css
    # neither can end its element early inside the fragment, nor look like a player's data
    assert "</" not in js + css and "<script" not in js + css
    monkeypatch.delenv(ENV, raising=False)  # a plain kernel: JupyterLab, nbclient, a script
    doc = parse(player_html(example_data("j")))
    assert [t for t, _ in doc.tags][:2] == ["style", "div"]
    assert [(a.get("type"), text == js) for a, text in doc.scripts] == [
        ("application/json", False), (None, True)]
    monkeypatch.setenv(ENV, MYST_NB)  # the website build: its pages load both once
    doc = parse(player_html(example_data("j")))
    assert [a.get("type") for a, _ in doc.scripts] == ["application/json"]
    assert "style" not in [t for t, _ in doc.tags]
    inline = player_html(example_data("j"), inline_assets=True)
    assert len(parse(inline).scripts) == 2
    assert read_players(inline) == [example_data("j")]


def test_script_content_cannot_close_the_script_element():
    data = example_data("evil")
    data["title"] = "</script><script>alert(1)</script> & <!-- x"
    data["presets"][0]["frames"][0]["text"] = "a </SCRIPT> b \u2028 c"
    html = player_html(data)
    body = html.split('class="ttu-player-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in body and ">" not in body and "&" not in body
    assert json.loads(body) == data
    # the static summary escapes it as text
    assert "<script>alert(1)" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in html


def test_unsafe_id_characters_are_replaced_in_the_dom_id():
    html = player_html(example_data('a b"<c>'))
    assert 'id="ttu-a-b--c-"' in html
    assert 'data-player-id="a b&quot;&lt;c&gt;"' in html


def test_static_summary_shows_the_final_frame_of_every_preset_without_script():
    data = example_data("s")
    html = player_html(data)
    summary = html.split('<div class="ttu-static">', 1)[1]
    for preset in data["presets"]:
        assert preset["label"] in summary
        final = preset["frames"][-1]
        assert final["fn"] in summary
        assert final["pages"] in summary
    assert "present, writable" in summary  # the legend
    assert 'title="PTE 0 of task at 0x7f0000000000 (folio page 0): swap entry with the ' in summary


def test_describe_pte_words():
    col = {"mm": "task", "addr": "0x7f0000003000", "page": 3}
    assert describe_pte("Wc", col, 3) == (
        "PTE 3 of task at 0x7f0000003000 (folio page 3): present, writable, CONT"
    )
    assert describe_pte("R", col, 3).endswith(": present, read-only")
    assert describe_pte("-", {"mm": "child"}, 0) == "PTE 0 of child: none (not mapped)"
    assert "device-exclusive" in describe_pte("D", col, 0)
    assert describe_pte("X", col, 0).endswith("swap entry with the exclusive marker")
    assert describe_pte("S", col, 0).endswith("swap entry without the exclusive marker")


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d.pop("title"), "title"),
        (lambda d: d.update(presets=[]), "presets"),
        (lambda d: d["presets"][0]["frames"][1]["ptes"].pop(), "presets[0].frames[1].ptes"),
        (lambda d: d["presets"][0]["frames"][0]["ptes"].__setitem__(2, "Q"),
         "presets[0].frames[0].ptes[2]"),
        (lambda d: d["presets"][0]["frames"][0]["ptes"].__setitem__(2, "Wx"),
         "presets[0].frames[0].ptes[2]"),
        (lambda d: d["presets"][0]["frames"][0].update(pages="EEZ"), "presets[0].frames[0].pages"),
        (lambda d: d["presets"][0]["frames"][0].update(highlight=[3, 99]),
         "presets[0].frames[0].highlight"),
        (lambda d: d["presets"][0]["frames"][0].update(counters={"x": "1"}),
         "presets[0].frames[0].counters"),
        (lambda d: d["presets"][1].update(key=d["presets"][0]["key"]), "presets[1].key"),
        (lambda d: d["presets"][0].update(frames=[]), "presets[0].frames"),
    ],
)
def test_bad_data_names_the_field(mutate, field):
    data = copy.deepcopy(example_data("bad"))
    # frames share their ptes lists in example_data: give each frame its own copy
    for preset in data["presets"]:
        for frame in preset["frames"]:
            frame["ptes"] = list(frame["ptes"])
    mutate(data)
    with pytest.raises(PlayerDataError) as err:
        player_html(data)
    assert f"player data: {field}:" in str(err.value)


def test_example_data_is_valid_and_json_clean():
    for nr in (4, 8, 16):
        data = example_data("x", nr=nr)
        validate(data)
        assert json.loads(json.dumps(data)) == data


# --- bookkit.live ---------------------------------------------------------------------------


def test_live_bundle_has_widget_view_and_static_twin():
    widgets = pytest.importorskip("ipywidgets")
    w = widgets.IntSlider(value=3)
    twin = player_html(example_data("live"))
    bundle = Live(w, twin)._repr_mimebundle_()
    assert bundle[WIDGET_VIEW_MIME]["model_id"] == w.model_id
    assert bundle["text/html"] == twin
    assert "text/plain" in bundle
    # a callable twin is built on display
    assert Live(w, lambda: "<p>late</p>")._repr_mimebundle_()["text/html"] == "<p>late</p>"


def test_ipython_formats_live_with_both_mime_types():
    widgets = pytest.importorskip("ipywidgets")
    formatters = pytest.importorskip("IPython.core.formatters")
    data, _meta = formatters.format_display_data(Live(widgets.Button(), "<b>twin</b>"))
    assert WIDGET_VIEW_MIME in data and data["text/html"] == "<b>twin</b>"


def test_live_refuses_non_widgets_and_closed_widgets():
    widgets = pytest.importorskip("ipywidgets")
    with pytest.raises(TypeError):
        Live(object(), "<p>x</p>")
    w = widgets.IntSlider()
    live = Live(w, "<p>x</p>")
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        live._repr_mimebundle_()


def test_static_is_html_only():
    out = static("<p>hi</p>", text="hi")
    assert isinstance(out, Static)
    assert out._repr_mimebundle_() == {"text/html": "<p>hi</p>", "text/plain": "hi"}
    with pytest.raises(TypeError):
        static(lambda: 42)._repr_mimebundle_()


# --- in a browser ---------------------------------------------------------------------------


def _chromium_or_skip():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def player_page():
    pw_api = _chromium_or_skip()
    css = (STATIC / "player.css").read_text()
    js = (STATIC / "player.js").read_text()
    small = example_data("two", nr=8)
    small["presets"][0]["frames"][1]["counters"]["only_here"] = 5
    body = player_html(example_data("one"), inline_assets=False) + player_html(
        small, inline_assets=False)  # as on the site: the page loads player.js/.css once
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>player</title>"
        f"<style>{css}</style></head><body><main>{body}</main><script>{js}</script></body></html>"
    )
    with pw_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        problems: list[str] = []
        page.on(
            "console",
            lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.set_content(html)
        page.wait_for_selector("#ttu-one.ttu-ready")
        yield page, problems
        browser.close()


def _frame(page, pid):
    return page.get_attribute(f"#{pid}", "data-frame-index")


def test_player_steps_and_updates_the_hooks(player_page):
    page, problems = player_page
    one = page.locator("#ttu-one")
    assert one.locator(".ttu-static").is_hidden()
    assert _frame(page, "ttu-one") == "0"
    assert one.get_by_role("button", name="First").is_disabled()
    one.get_by_role("button", name="Next").click()
    assert _frame(page, "ttu-one") == "1"
    assert one.locator(".ttu-fn").inner_text() == "folio_unmap_pte_batch"
    # counters: value and change from the previous frame
    assert one.locator('[data-counter="pte_reads"]').inner_text() == "17"
    assert one.locator('[data-counter-change="pte_reads"]').inner_text() == "+16"
    # the highlight covers [0, 16) and each cell says what it is, in words
    assert one.locator(".ttu-strip li.ttu-hl").count() == 16
    first = one.locator('.ttu-strip li[data-col="3"]')
    assert first.get_attribute("title").startswith(
        "PTE 3 of task at 0x7f0000003000 (folio page 3): present, writable, CONT"
    )
    assert first.locator(".ttu-letter").inner_text().startswith("W")
    one.get_by_role("button", name="Last").click()
    assert _frame(page, "ttu-one") == "5"
    assert one.get_by_role("button", name="Next").is_disabled()
    one.get_by_role("button", name="Back").click()
    assert _frame(page, "ttu-one") == "4"
    one.get_by_role("button", name="First").click()
    assert _frame(page, "ttu-one") == "0"
    assert not problems


def test_player_slider_keyboard_and_presets(player_page):
    page, problems = player_page
    one = page.locator("#ttu-one")
    slider = one.get_by_role("slider", name="Step")
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert _frame(page, "ttu-one") == "2"
    assert slider.get_attribute("aria-valuetext").startswith("step 3 of 6")
    one.get_by_role("button", name="Back").focus()
    page.keyboard.press("End")
    assert _frame(page, "ttu-one") == "5"
    one.get_by_role("combobox", name="Scenario").select_option(label="One PTE at a time (before)")
    assert page.get_attribute("#ttu-one", "data-preset") == "per-pte"
    assert _frame(page, "ttu-one") == "0"
    assert one.get_by_role("slider", name="Step").get_attribute("max") == "3"
    one.get_by_role("combobox", name="Scenario").select_option(index=0)
    assert page.get_attribute("#ttu-one", "data-preset") == "batched"
    assert not problems


def test_players_are_independent_and_play_stops_at_the_end(player_page):
    page, problems = player_page
    two = page.locator("#ttu-two")
    before_one = _frame(page, "ttu-one")
    two.get_by_role("button", name="Last").click()
    two.get_by_role("button", name="Back").click()
    assert _frame(page, "ttu-two") == "4"
    assert _frame(page, "ttu-one") == before_one
    # a counter that only some frames have shows a dash elsewhere
    two.get_by_role("button", name="First").click()
    two.get_by_role("button", name="Next").click()
    assert two.locator('[data-counter="only_here"]').inner_text() == "5"
    two.get_by_role("button", name="Next").click()
    assert two.locator('[data-counter="only_here"]').inner_text() == "\u2013"
    two.get_by_role("button", name="Last").click()
    page.eval_on_selector("#ttu-two", "e => e.setAttribute('data-play-ms', '300')")
    two.get_by_role("button", name="Play").click()  # at the end: restarts from the first step
    assert page.get_attribute("#ttu-two", "data-playing") == "true"
    assert two.get_by_role("button", name="Pause").is_visible()
    page.wait_for_function(
        "document.querySelector('#ttu-two').getAttribute('data-playing') === 'false'",
        timeout=15000,
    )
    assert _frame(page, "ttu-two") == "5"
    assert _frame(page, "ttu-one") == before_one
    assert not problems


def test_every_control_is_named_by_its_visible_label(player_page):
    page, _ = player_page
    controls = page.locator("#ttu-one button, #ttu-one select, #ttu-one input")
    assert controls.count() >= 7
    for i in range(controls.count()):
        c = controls.nth(i)
        tag = c.evaluate("e => e.tagName")
        assert c.get_attribute("aria-label") is None, "name must come from the visible label"
        if tag == "BUTTON":
            assert re.fullmatch(r"(First|Back|Play|Pause|Next|Last)", c.inner_text().strip())
        else:
            label = page.locator(f"label[for='{c.get_attribute('id')}']")
            assert label.count() == 1 and label.inner_text().strip() in ("Scenario", "Step")


def test_inline_fragments_step_on_their_own(player_page):
    """Jupyter's way: each output carries style and script; nothing else is on the page, the
    script runs once per player, and every player starts once with page-unique ids."""
    body = "".join(player_html(example_data(k, nr=8), inline_assets=True) for k in "ab") + \
        player_html(example_data("a", nr=8), inline_assets=True).replace('id="ttu-a"', 'id="ttu-c"')
    page = player_page[0].context.browser.new_page()  # a fresh page of the same browser
    try:
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning")
                else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.set_content("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
                         f"jupyter</title></head><body><main>{body}</main></body></html>")
        for pid in ("ttu-a", "ttu-b", "ttu-c"):
            page.wait_for_selector(f"#{pid}.ttu-ready")
            assert page.locator(f"#{pid} .ttu-ui").count() == 1  # started once, not thrice
            assert page.locator(f"#{pid} .ttu-static").is_hidden()
        ids = page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")
        assert len(ids) == len(set(ids))
        b = page.locator("#ttu-b")
        assert b.locator(".ttu-pos").inner_text() == "step 1 of 6"
        b.get_by_role("button", name="Next").click()
        assert b.locator(".ttu-pos").inner_text() == "step 2 of 6"
        assert _frame(page, "ttu-a") == "0" and _frame(page, "ttu-b") == "1"
        # the style sheet came along: strips are laid out in a row, not as a numbered list
        assert b.locator("ol.ttu-strip").first.evaluate(
            "e => getComputedStyle(e).listStyleType") == "none"
    finally:
        page.close()
    assert not problems
