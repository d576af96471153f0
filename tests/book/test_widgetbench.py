"""bookkit.widgetbench: every chapter's largest input is one its widget accepts (the bench measures
what it says), and the table is printed."""

from __future__ import annotations

import importlib

import pytest

from bookkit import widgetbench as bench


@pytest.mark.parametrize("name", sorted(bench.SPECS))
def test_largest_input_is_accepted(name):
    spec = bench.SPECS[name]
    explorer = importlib.import_module(f"bookkit.chapters.{name}").explorer()
    assert set(spec.fixed) | set(spec.vary) <= set(explorer.controls), name
    bench._set(explorer, spec.fixed)
    assert explorer.error is None, f"{name}: {explorer.error}"
    for control, value in spec.fixed.items():
        widget = explorer.controls[control]
        if value is bench._largest and hasattr(widget, "max"):
            assert widget.value == widget.max, (name, control)
        if isinstance(value, str) and value and set(value) <= set("EN"):  # a page pattern
            widget.value = value * 2
            assert explorer.error, f"{name}: {control} accepts more than the bench's largest"
            widget.value = value


def test_bench_prints_a_row_per_chapter(capsys, monkeypatch):
    monkeypatch.setattr(bench, "SPECS", {"sparc64": bench.SPECS["sparc64"]})
    monkeypatch.setattr(bench, "MAX_COMBINATIONS", 2)
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "sparc64" in out and ("PASS" in out or "MISSED" in out)


def test_every_chapter_widget_is_benchmarked():
    import pkgutil

    import bookkit.chapters

    with_widget = {m.name for m in pkgutil.iter_modules(bookkit.chapters.__path__)
                   if hasattr(importlib.import_module(f"bookkit.chapters.{m.name}"), "explorer")}
    assert with_widget == set(bench.SPECS), "add the chapter's largest input to bench.SPECS"
