"""The step-through players of every chapter, in Chromium, against simcore.

For each ``.ttu-player`` on each chapter page: the player starts (``ttu-ready``) on frame 0 of
its first preset; Next/Back step; Play runs to the last frame and stops; every preset can be
chosen from the Scenario list and jumped to its last frame. At the last frame of every preset
the counters table (``[data-counter=name]``) and the PTE strips show exactly the player's
embedded trace, and that trace is what simcore computes *now*:

* every preset is compared, frame by frame, with a fresh run of the chapter's own player
  function (``bookkit.chapters.<chapter>.*_player()`` / ``*_twin()``, matched by player id),
  which catches a site built from stale outputs;
* when a preset carries its scenario (``"scenario"``, ``"mode"``, ``"bugs"``), its last frame is
  also compared with ``simcore.run()`` of that scenario directly, without bookkit.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re

import pytest
from browser_support import REPO, is_notebook, toc_pages

from bookkit.player import read_players

#: pages whose source shows a player (checked against the built pages below)
_PLAYER_CALL = re.compile(r"player_html\(|\b\w+_player\(\)|\bexplorer_twin\(\)")
PLAYER_PAGES = [p for p in toc_pages() if is_notebook(p)
                and _PLAYER_CALL.search((REPO / p.replace(".html", ".md")).read_text())]
embedded_players = read_players


@pytest.fixture(scope="session")
def fresh_players() -> dict[str, dict]:
    """Player id -> data, from a fresh call of every chapter's player functions."""
    import bookkit.chapters as chapters

    out: dict[str, dict] = {}
    for info in pkgutil.iter_modules(chapters.__path__):
        mod = importlib.import_module(f"bookkit.chapters.{info.name}")
        for name in sorted(dir(mod)):
            fn = getattr(mod, name)
            if name.startswith("_") or not (callable(fn) and name.endswith(("_player", "_twin"))):
                continue
            made = fn()
            found = [made] if isinstance(made, dict) else embedded_players(str(made))
            for data in found:
                if isinstance(data, dict) and "presets" in data:
                    out[data["id"]] = data
    return out


def simcore_final(preset: dict) -> tuple[dict, list[str]]:
    """Counters and PTE codes after ``simcore.run`` of the preset's scenario (no bookkit)."""
    import simcore
    from simcore.pte import pte_code

    r = simcore.run(simcore.from_dict(preset["scenario"]), preset["mode"],
                    bugs=tuple(preset.get("bugs") or ()))
    c, f = r.costs, r.system.folio
    extra = {"tlb_ops": c.tlb_ops, "mapcount": f.mapcount, "refcount": f.refcount,
             "atomics": c.atomic_mm + c.atomic_mapcount + c.atomic_refcount + c.atomic_swap}
    names = preset["frames"][-1].get("counters", {})
    counters = {n: extra[n] if n in extra else getattr(c, n) for n in names}
    ptes = [pte_code(mm.pt.get(addr)) for mm, addr, _page in r.system.slots()]
    return counters, ptes


def test_every_page_with_a_player_is_tested(site):
    with_players = sorted(
        str(p.relative_to(site.html)) for p in site.html.rglob("*.html")
        if 'class="ttu-player"' in p.read_text(errors="replace"))
    assert with_players == sorted(PLAYER_PAGES)


def test_every_player_on_the_site_is_what_simcore_computes_now(site, fresh_players):
    """The embedded traces of all chapters (no browser): equal to a fresh computation."""
    problems = []
    for page in PLAYER_PAGES:
        for data in embedded_players((site.html / page).read_text()):
            fresh = fresh_players.get(data["id"])
            if fresh is None:
                problems.append(f"{page}: player {data['id']!r}: no chapter function makes it "
                                "(bookkit.chapters.*: *_player() / *_twin())")
                continue
            keys = [p["key"] for p in data["presets"]]
            if keys != [p["key"] for p in fresh["presets"]]:
                problems.append(f"{page}: {data['id']}: presets {keys} on the site, "
                                f"{[p['key'] for p in fresh['presets']]} now")
                continue
            for old, new in zip(data["presets"], fresh["presets"], strict=True):
                if old["frames"] != new["frames"]:
                    n = next((i for i, (a, b) in enumerate(zip(old["frames"], new["frames"],
                                                               strict=False)) if a != b),
                             min(len(old["frames"]), len(new["frames"])))
                    problems.append(
                        f"{page}: {data['id']}/{old['key']}: the site's trace differs from a "
                        f"fresh run from frame {n} ({len(old['frames'])} vs "
                        f"{len(new['frames'])} frames): stale build?")
                if "scenario" in old:
                    counters, ptes = simcore_final(old)
                    last = old["frames"][-1]
                    if (counters, ptes) != (last.get("counters", {}), last["ptes"]):
                        problems.append(f"{page}: {data['id']}/{old['key']}: last frame "
                                        f"{last.get('counters')} {last['ptes']}, simcore.run "
                                        f"{counters} {ptes}")
    assert not problems, "\n".join(problems)


def _shown(player) -> dict:
    """What the player shows: frame, preset, counters, PTE codes (letter + CONT)."""
    return player.evaluate(
        """root => ({
             frame: +root.dataset.frameIndex, preset: root.dataset.preset,
             playing: root.dataset.playing || "false",
             counters: Object.fromEntries([...root.querySelectorAll('[data-counter]')].map(
               td => [td.dataset.counter, td.textContent])),
             ptes: [...root.querySelectorAll('.ttu-strip .ttu-cell[data-col]')]
               .sort((a, b) => a.dataset.col - b.dataset.col)
               .map(li => li.querySelector('.ttu-letter').firstChild.textContent
                          + (li.classList.contains('ttu-cont') ? 'c' : '')),
           })""")


def _expect(preset: dict, index: int) -> dict:
    frame = preset["frames"][index]
    return {"counters": {k: str(v) for k, v in (frame.get("counters") or {}).items()},
            "ptes": list(frame["ptes"])}


def _check_frame(player, preset, index, where, problems) -> None:
    shown = _shown(player)
    want = _expect(preset, index)
    if shown["frame"] != index or shown["preset"] != preset["key"]:
        problems.append(f"{where}: shows frame {shown['frame']} of {shown['preset']!r}, "
                        f"expected frame {index} of {preset['key']!r}")
        return
    # counters absent from a frame show as a dash; compare those the frame has
    got = {k: v for k, v in shown["counters"].items() if k in want["counters"]}
    if got != want["counters"]:
        problems.append(f"{where}: counters shown {got}, trace {want['counters']}")
    if shown["ptes"] != want["ptes"]:
        problems.append(f"{where}: PTEs shown {shown['ptes']}, trace {want['ptes']}")


@pytest.mark.parametrize("page_path", PLAYER_PAGES)
def test_players_step_play_and_switch_presets(open_page, page_path):
    page, watch = open_page(page_path)
    players = page.locator(".ttu-player")
    n = players.count()
    assert n >= 1, f"{page_path}: no player"
    page.wait_for_function(
        "n => document.querySelectorAll('.ttu-player.ttu-ready').length === n", arg=n)
    assert page.locator(".ttu-player.ttu-broken").count() == 0
    problems: list[str] = []
    for i in range(n):
        player = players.nth(i)
        data = json.loads(player.locator("script.ttu-player-data").text_content())
        presets = data["presets"]
        where = f"{page_path} player {data['id']}"
        player.scroll_into_view_if_needed()
        _check_frame(player, presets[0], 0, f"{where} at start", problems)

        # step
        nframes = len(presets[0]["frames"])
        if nframes > 1:
            player.get_by_role("button", name="Next").click()
            _check_frame(player, presets[0], 1, f"{where} after Next", problems)
            player.get_by_role("button", name="Back").click()
            _check_frame(player, presets[0], 0, f"{where} after Back", problems)

        # play to the end (fast)
        player.evaluate("root => root.setAttribute('data-play-ms', '5')")
        player.get_by_role("button", name="Play").click()
        if nframes > 1:
            player.page.wait_for_function(
                "([root, last]) => root.dataset.frameIndex === String(last)"
                " && root.dataset.playing === 'false'",
                arg=[player.element_handle(), nframes - 1])
        _check_frame(player, presets[0], nframes - 1, f"{where} after Play", problems)
        if player.get_by_role("button", name="Play").count() != 1:
            problems.append(f"{where}: the Play button does not read Play after playing")

        # every preset, from the Scenario list; its first and last frame
        select = player.get_by_label("Scenario", exact=True)
        options = select.locator("option").all_inner_texts()
        if [o.strip() for o in options] != [p["label"] for p in presets]:
            problems.append(f"{where}: Scenario list {options}, presets "
                            f"{[p['label'] for p in presets]}")
        for k, preset in enumerate(presets):
            if len(presets) > 1:
                select.select_option(index=k)
                _check_frame(player, preset, 0, f"{where}/{preset['key']} chosen", problems)
            if _shown(player)["frame"] != len(preset["frames"]) - 1:
                player.get_by_role("button", name="Last").click()
            _check_frame(player, preset, len(preset["frames"]) - 1,
                         f"{where}/{preset['key']} last frame", problems)
    assert not problems, "\n".join(problems)
    watch.assert_clean()
