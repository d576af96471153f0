"""The sparc64 chapter's live widget, driven from Python and checked against simcore."""

from __future__ import annotations

import re

import pytest
import traitlets

import simcore
from bookkit.chapters import sparc64 as ch
from simcore.scenario import ScenarioError


def direct(arch="sparc64", swapbacked=True, mode="patched", bugs=(), pages="all", order=4,
           adi=True) -> simcore.Result:
    system = simcore.from_dict(ch.scenario(arch, swapbacked, pages, order, adi))
    return simcore.run(system, mode, bugs=bugs)


def shown_calls(explorer, mode: str) -> tuple[int, int, int]:
    """(iterations, arch_unmap_one calls, ADI tag saves) as the widget's text states them."""
    m = re.search(rf"<b>{re.escape(mode)}[^<]*</b>:.*?<div>(\d+) iteration\(s\), (\d+) "
                  r"<code>arch_unmap_one\(\)</code> call\(s\), (\d+) ADI tag save",
                  explorer.output.value, re.S)
    assert m, f"no counts shown for {mode}"
    return tuple(int(x) for x in m.groups())


@pytest.fixture()
def explorer():
    ex = ch.explorer()
    yield ex
    print(f"sparc64 explorer: last update {ex.last_ms:.1f} ms")


def test_sparc64_anon_swapbacked_is_not_batched(explorer):
    assert explorer.error is None
    for mode in ("baseline", "patched"):
        r = direct(mode=mode)
        c = r.costs
        assert shown_calls(explorer, mode) == (c.iterations, c.arch_unmap_one_calls,
                                               c.adi_tag_saves)
        assert c.iterations == c.adi_tag_saves == 16 and not r.violations
    assert explorer.output.value.count(">T</span>") == 2 * 16      # every page saved, twice


def test_lazyfree_stays_batched_on_sparc64(explorer):
    explorer.controls["kind"].value = False
    r = direct(swapbacked=False)
    assert shown_calls(explorer, "patched") == (r.costs.iterations, 0, 0)
    assert r.costs.iterations == 1


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_other_arches_batch_anon_swapbacked(explorer, arch):
    explorer.controls["arch"].value = arch
    r = direct(arch)
    assert shown_calls(explorer, "patched") == (r.costs.iterations, 0, 0) == (1, 0, 0)
    assert shown_calls(explorer, "baseline")[0] == direct(arch, mode="baseline").costs.iterations
    assert "generic stub" in explorer.output.value


def test_bug_zoo_saves_one_tag_per_sub_batch(explorer):
    explorer.controls["bug"].value = "sparc-batch-adi"
    r = direct(bugs=("sparc-batch-adi",))
    assert shown_calls(explorer, "patched") == (1, 1, 1)
    assert {v.code for v in r.violations} == {"adi_tags"}
    assert "[adi_tags]" in explorer.output.value
    assert explorer.output.value.count(">!</span>") == 15
    explorer.controls["pages"].value = "half"
    half = direct(bugs=("sparc-batch-adi",), pages="half")
    assert shown_calls(explorer, "patched")[2] == half.costs.adi_tag_saves == 2


def test_adi_off_saves_nothing_but_stays_per_pte(explorer):
    explorer.controls["adi"].value = False
    r = direct(adi=False)
    assert shown_calls(explorer, "patched") == (r.costs.iterations, 0, 0) == (16, 0, 0)
    assert "ADI off" in explorer.output.value


def test_folio_size(explorer):
    explorer.controls["order"].value = 6
    assert shown_calls(explorer, "patched")[0] == direct(order=6).costs.iterations == 64


def test_bad_values_give_one_line(explorer):
    with pytest.raises(traitlets.TraitError):
        explorer.controls["arch"].value = "mips"
    for kwargs, words in (({"arch": "mips"}, "arch:"), ({"order": 12}, "order:"),
                          ({"pages": "most"}, "pages:")):
        with pytest.raises(ScenarioError) as e:
            ch.scenario(**kwargs)
        assert words in str(e.value) and "\n" not in str(e.value)
    explorer.build = lambda **v: ch.scenario(order=1)
    explorer.update()
    assert explorer.error.startswith("order:") and "role='alert'" in explorer.output.value


def test_players_and_table_come_from_simcore():
    arch = ch.arch_player()
    sparc = next(p for p in arch["presets"] if p["key"] == "sparc-anon")
    assert sparc["frames"][-1]["counters"]["adi_tag_saves"] == direct().costs.adi_tag_saves
    twin = ch.explorer_player()
    assert twin["presets"][1]["violations"] == ["adi_tags"]
    row = re.search(r"<td>sparc64</td><td>anon swap-backed</td>(.*?)</tr>", ch.arch_table())
    assert re.findall(r">(\d+)</td>", row.group(1)) == ["16"] * 4
