"""The contpte chapter's live widget, driven from Python and checked against simcore itself."""

from __future__ import annotations

import re

import pytest

import simcore
from bookkit.chapters import contpte as ch


def direct(scenario: dict, mode: str) -> simcore.Result:
    return simcore.run(simcore.from_dict(scenario), mode)


def shown(explorer, mode: str, counter: str) -> int:
    """The number the widget's table shows for (mode, counter)."""
    modes = list(explorer.results)
    html = explorer.output.value
    row = re.search(rf"<code>{counter}</code>\)</td>(.*?)</tr>", html)
    assert row, f"no row for {counter}"
    cells = re.findall(r"<td[^>]*>(\d+)</td>", row.group(1))
    return int(cells[modes.index(mode)])


@pytest.fixture()
def explorer():
    ex = ch.explorer()
    yield ex
    print(f"contpte explorer: last update {ex.last_ms:.1f} ms")


def test_default_is_the_aligned_64k_folio(explorer):
    assert explorer.error is None
    sc = ch.contpte_scenario(order=4)
    for mode in ("baseline", "patched"):
        r = direct(sc, mode)
        assert r.ok and not r.violations
        for name in ch.COUNTERS:
            want = r.costs.tlb_ops if name == "tlb_ops" else getattr(r.costs, name)
            assert shown(explorer, mode, name) == want
    assert shown(explorer, "baseline", "contpte_unfolds") == 1
    assert shown(explorer, "patched", "contpte_unfolds") == 0
    assert "1 of the 1 block(s)" in explorer.output.value


def test_split_vma_unfolds_only_the_partly_covered_block(explorer):
    explorer.controls["order"].value = 5
    explorer.controls["split_at"].value = 8
    assert explorer.error is None
    sc = ch.contpte_scenario(order=5, split_at=8)
    system = simcore.from_dict(sc)
    assert len(system.mappings) == 2                     # two VMAs
    assert sum(p.cont for p in system.initial_ptes.values()) == 32   # both blocks still CONT
    for mode in ("baseline", "patched"):
        assert shown(explorer, mode, "contpte_unfolds") == direct(sc, mode).costs.contpte_unfolds
    assert shown(explorer, "patched", "contpte_unfolds") == 1
    assert shown(explorer, "baseline", "contpte_unfolds") == 2
    assert "spans 2 VMAs" in explorer.output.value


def test_granule_offset_and_bbml2_change_the_counters(explorer):
    explorer.controls["bbml2"].value = True
    assert shown(explorer, "baseline", "tlbi_unfold") == 0
    assert shown(explorer, "baseline", "contpte_unfolds") == 1
    explorer.controls["bbml2"].value = False
    explorer.controls["offset_pages"].value = 8           # VA and PA no longer aligned alike
    assert shown(explorer, "baseline", "contpte_unfolds") == 0
    assert "0 of the" in explorer.output.value
    explorer.controls["offset_pages"].value = 0
    explorer.controls["granule"].value = "16K"
    explorer.controls["order"].value = 2                 # 64 KiB with 16 KiB pages
    sc = ch.contpte_scenario(order=2, granule="16K")
    assert simcore.from_dict(sc).arch.cont_ptes == 128
    assert not any(p.cont for p in simcore.from_dict(sc).initial_ptes.values())
    for mode in ("baseline", "patched"):
        assert shown(explorer, mode, "ptep_get") == direct(sc, mode).costs.ptep_get


def test_clean_ptes_make_the_block_scan_longer(explorer):
    before = shown(explorer, "baseline", "pte_reads")
    explorer.controls["dirty"].value = False
    after = shown(explorer, "baseline", "pte_reads")
    assert after == direct(ch.contpte_scenario(order=4, dirty=False), "baseline").costs.pte_reads
    assert after > before


@pytest.mark.parametrize("changes, field", [
    ({"arch": "x86_64", "granule": "16K"}, "arch.page_size"),
    ({"arch": "x86_64", "bbml2": True}, "arch.bbml2"),
    ({"order": 2, "split_at": 9}, "split_at"),
])
def test_bad_values_give_one_line_naming_the_field(explorer, changes, field):
    for name, value in changes.items():
        explorer.controls[name].value = value
    assert explorer.error is not None
    assert "\n" not in explorer.error and explorer.error.startswith(field)
    assert "role='alert'" in explorer.output.value and "Traceback" not in explorer.output.value
    explorer.controls["arch"].value = "arm64"
    explorer.controls["bbml2"].value = False
    explorer.controls["granule"].value = "4K"
    explorer.controls["split_at"].value = 0
    explorer.controls["order"].value = 4
    assert explorer.error is None


def test_players_and_tables():
    a, b = ch.aligned_player(), ch.explorer_player()
    assert 'id="ttu-contpte-aligned"' in a or "contpte-aligned" in a
    assert "contpte-explorer" in b
    rows = ch.config_rows()
    by = {(r["configuration"], r["mode"]): r for r in rows}
    assert by[("arm64 4K", "baseline")]["contpte_unfolds"] == 1
    assert by[("x86_64", "baseline")]["contpte_unfolds"] == 0
    assert by[("arm64 64K", "baseline")] == {**by[("arm64 64K", "patched")],
                                                   "mode": "baseline"}
    assert ch.markdown_table(rows, ["configuration", "mode"]).count("\n") == len(rows) + 1
