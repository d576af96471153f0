"""The client-side answer checks of every exercise on the site, in Chromium.

Each ``.ttu-exercise`` box is ``ex-<topic>-<seed>-<difficulty>``; the test regenerates the
instance with ``classroom.exercises.generate`` and, in the page: the right answer (typed, then
Check) is accepted with "Correct."; a typical wrong answer (the topic's ``wrong_answers``,
submitted with Enter) is rejected with exactly the message the Python checker gives; input that
does not parse gets the "could not read that" message. The box's check data must also be what
``client_check_data`` makes now (a stale page would grade against an old answer).
"""

from __future__ import annotations

import json
import re

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, REPO, toc_pages

_EXERCISE_CALL = re.compile(r"^\s*\w+\s*=\s*exercise\(", re.M)
EXERCISE_PAGES = [p for p in toc_pages()
                  if (REPO / p.replace(".html", ".md")).is_file()
                  and _EXERCISE_CALL.search((REPO / p.replace(".html", ".md")).read_text())]
_BOX_ID = re.compile(r"ex-(?P<topic>[a-z0-9-]+)-(?P<seed>\d+)-(?P<difficulty>\d+)")


def test_every_page_with_an_exercise_is_tested(site):
    with_exercises = sorted(
        str(p.relative_to(site.html)) for p in site.html.rglob("*.html")
        if "class='ttu-exercise'" in p.read_text(errors="replace")
        or 'class="ttu-exercise"' in p.read_text(errors="replace"))
    assert with_exercises == sorted(EXERCISE_PAGES)


def _typical_wrong(inst) -> str:
    """The first of the topic's typical wrong answers that the page has a hint for."""
    from classroom import exercises
    from classroom.exercises.client import normalize, spec_for

    spec = spec_for(inst)
    right = normalize(spec, inst.answer)
    for text in exercises.topic_module(inst.topic).wrong_answers(inst).values():
        n = normalize(spec, text)
        if n is not None and n != right and not exercises.check(inst, text).correct:
            return text
    raise AssertionError(f"{inst.topic}: no typical wrong answer")


def _submit(box, text: str, expected_message: str, press_enter: bool = False) -> dict:
    box.locator("input").fill(text)
    if press_enter:
        box.locator("input").press("Enter")
    else:
        box.get_by_role("button", name="Check").click()
    box.page.wait_for_function(
        "([box, msg]) => box.querySelector('.ttu-ex-feedback').textContent === msg",
        arg=[box.element_handle(), expected_message], timeout=10_000)
    return box.evaluate("b => ({result: b.dataset.result, "
                        "message: b.querySelector('.ttu-ex-feedback').textContent, "
                        "cls: b.querySelector('.ttu-ex-feedback').className})")


@pytest.mark.parametrize("page_path", EXERCISE_PAGES)
def test_exercise_checks_accept_right_and_reject_wrong(open_page, page_path):
    from classroom import exercises
    from classroom.exercises.client import client_check_data, normalize, spec_for

    page, watch = open_page(page_path)
    boxes = page.locator(".ttu-exercise")
    n = boxes.count()
    assert n >= 1, f"{page_path}: no exercise box"
    problems = []
    for i in range(n):
        box = boxes.nth(i)
        box_id = box.get_attribute("id") or ""
        m = _BOX_ID.fullmatch(box_id)
        assert m, f"{page_path}: exercise box id {box_id!r} is not ex-<topic>-<seed>-<difficulty>"
        inst = exercises.generate(m["topic"], int(m["seed"]), int(m["difficulty"]))
        where = f"{page_path} #{box_id}"
        data = json.loads(box.locator("script.ttu-ex-data").text_content())
        if data != json.loads(json.dumps(client_check_data(inst))):
            problems.append(f"{where}: the page's check data is not what simcore makes now")
        box.scroll_into_view_if_needed()

        got = _submit(box, inst.answer, "Correct.")
        if got["result"] != "correct" or "ok" not in got["cls"].split():
            problems.append(f"{where}: the right answer {inst.answer!r} gave {got}")

        wrong = _typical_wrong(inst)
        message = exercises.check(inst, wrong).message
        got = _submit(box, wrong, message, press_enter=True)
        if got["result"] != "wrong" or "wrong" not in got["cls"].split() or not message:
            problems.append(f"{where}: the wrong answer {wrong!r} gave {got}")

        garbage = "?? no idea ??"
        if normalize(spec_for(inst), garbage) is None:
            got = _submit(box, garbage, data["malformed"])
            if got["result"] != "wrong":
                problems.append(f"{where}: unreadable input gave {got}")

        # hostile input (issue 9) used to expand 10^11 pages or repetitions and freeze the tab
        for hostile in ("1x99999999999", "swap=0-99999999999", "9" * 5000, "1x999999999"):
            assert normalize(spec_for(inst), hostile) is None
            got = _submit(box, hostile, data["malformed"])
            if got["result"] != "wrong":
                problems.append(f"{where}: hostile input {hostile[:20]!r} gave {got}")
    assert not problems, "\n".join(problems)
    watch.assert_clean()


def test_exercise_checks_work_over_plain_http_from_another_host(browser, site):
    """A class server without TLS: http://book.test/ (not a secure context)."""
    from classroom import exercises

    port = site.url.rsplit(":", 1)[1]
    other = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS + ["--host-resolver-rules=MAP book.test 127.0.0.1"])
    try:
        page = other.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://book.test:{port}/{EXERCISE_PAGES[0]}")
        assert page.evaluate("window.isSecureContext") is False
        box = page.locator(".ttu-exercise").first
        m = _BOX_ID.fullmatch(box.get_attribute("id"))
        inst = exercises.generate(m["topic"], int(m["seed"]), int(m["difficulty"]))
        box.locator("input").fill(inst.answer)
        box.get_by_role("button", name="Check").click()
        page.wait_for_timeout(1000)
        assert not errors, errors
        assert box.get_attribute("data-result") == "correct"
    finally:
        other.close()
