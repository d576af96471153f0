"""The kernel-lab chapter's helpers: with a record they show it, without one they say it was not
recorded (and never run the lab); the Jupyter button has its static note."""

from __future__ import annotations

import json

import pytest

from bookkit.chapters import kernel_lab as ch

HOST = {"kernel": "6.18.0-test", "machine": "x86_64", "cpus": 2, "mem_mb": 4096, "root": True,
        "date": "2026-12-05 12:00 UTC"}


@pytest.fixture
def records(tmp_path, monkeypatch):
    monkeypatch.setenv("KERNLAB_RECORD_DIR", str(tmp_path))
    return tmp_path


def _check():
    f = {"name": "PTEs", "kernel": "16 swap", "simcore": "16 swap", "source": "simcore",
         "agree": True}
    bad = dict(f, name="slots", kernel="consecutive", simcore="offsets [1, 0]", agree=False)
    return {"schema": "kernlab.check/1", "host": HOST, "mode": "baseline",
            "summary": {"agree": 1, "disagree": 1, "skipped": 1},
            "outcomes": [
                {"name": "fork", "title": "shared", "status": "agree", "reason": "", "fields": [f]},
                {"name": "uffd-wp", "title": "wp", "status": "disagree", "reason": "",
                 "fields": [f, bad]},
                {"name": "tlb-one-cpu", "title": "tlb", "status": "skipped",
                 "reason": "needs a tracefs instance", "fields": []}]}


def test_check_record_is_shown(records):
    (records / "check.json").write_text(json.dumps(_check()))
    rec = ch.load("check")
    assert ch.summary(rec) == "1 agree, 1 disagree, 1 skipped"
    table = ch.check_table(rec)
    assert "**disagree**: slots: kernel consecutive, simcore offsets [1, 0]" in table
    assert "skipped: needs a tracefs instance" in table and "6.18.0-test" in ch.machine(rec)
    assert "| PTEs | 16 swap | simcore | 16 swap | ✓ |" in ch.fields_table(rec, "fork")


def test_no_record_says_so(records):
    assert ch.load("check") is None and ch.load("bench") is None
    (records / "check.json").write_text('{"schema": "something else"}')
    assert ch.load("check") is None
    assert "not recorded on this build machine" in ch.unrecorded()
    text = ch.measured_section()
    assert "not recorded on this build machine" in text and "54.99" in text


def test_bench_record_numbers_come_from_it(records):
    rows = [{"folio": 65536, "kernel_cpu_ms": 80.0, "model_ms": 55.0, "model_unmap_ms": 4.0,
             "perf": {"unmap_share": 0.5}, "kernel_unmap_ms": 40.0,
             "unmap_measured_over_model": 10.0, "simcore_s": 0.4,
             "ratio_simcore_kernel": 5.0}]
    (records / "bench.json").write_text(json.dumps(
        {"schema": "kernlab.bench/1", "host": HOST, "rows": rows, "mode": "baseline",
         "mode_detected": True}))
    text = ch.measured_section()
    assert "**80 ms**" in text and "term is 10× smaller" in text
    assert "| 64K | 80 | 55 | 50 % |" in text


def test_button_has_a_static_note():
    pytest.importorskip("ipywidgets")
    bundle = ch.live_button()._repr_mimebundle_()
    assert "python -m kernlab" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
