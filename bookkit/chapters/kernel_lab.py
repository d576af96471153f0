"""The "Check it on your kernel" chapter and the measured section of the performance chapter.

The book build never changes a system setting: it reads the records that ``make
kernlab-record`` (run by ``.ci/run``) wrote under ``_build/kernlab/`` with
``python -m kernlab check|bench --setup --record FILE``. Without a record the chapter says so
and shows only what the build machine offers (read, not changed). In Jupyter a button runs the
lab live (without ``--setup`` unless the reader ticks it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bookkit.chapters.performance import md_table
from bookkit.live import Live

CHAPTER = "kernel-lab"
REPO = Path(__file__).resolve().parents[2]


def record_dir() -> Path:
    return Path(os.environ.get("KERNLAB_RECORD_DIR") or REPO / "_build" / "kernlab")


def load(name: str) -> dict | None:
    """The record ``check`` or ``bench``, or None when this build machine made none."""
    path = record_dir() / f"{name}.json"
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if rec.get("schema") == f"kernlab.{name}/1" else None


def machine(rec: dict) -> str:
    h = rec["host"]
    return (f"Linux {h['kernel']} on {h['machine']}, {h['cpus']} CPUs, "
            f"{h['mem_mb'] / 1024:.0f} GiB, recorded {h['date']}")


def summary(rec: dict) -> str:
    s = rec["summary"]
    return f"{s['agree']} agree, {s['disagree']} disagree, {s['skipped']} skipped"


def check_rows(rec: dict) -> list[dict[str, Any]]:
    rows = []
    for o in rec["outcomes"]:
        if o["status"] == "agree":
            n = len(o["fields"])
            result = f"agree ({n} field{'s' * (n != 1)}" + (f"; {o['reason']})" if o["reason"]
                                                           else ")")
        elif o["status"] == "disagree":
            result = "**disagree**: " + "; ".join(
                f"{f['name']}: kernel {f['kernel']}, {f['source']} {f['simcore']}"
                for f in o["fields"] if not f["agree"]) or o["reason"]
        else:
            result = f"skipped: {o['reason']}"
        rows.append({"experiment": f"`{o['name']}`", "what": o["title"], "result": result})
    return rows


def check_table(rec: dict) -> str:
    return md_table(check_rows(rec), ["experiment", "what", "result"])


def fields_table(rec: dict, name: str) -> str:
    """Every field one experiment compared: the kernel's value beside simcore's."""
    o = next(o for o in rec["outcomes"] if o["name"] == name)
    rows = [{"field": f["name"], "kernel": f["kernel"], "compared with": f["source"],
             "value there": f["simcore"], "": "✓" if f["agree"] else "✗"} for f in o["fields"]]
    return md_table(rows, ["field", "kernel", "compared with", "value there", ""])


def unrecorded(kind: str = "results") -> str:
    """What the build machine offers, read only (the lab was not run with --setup here)."""
    from kernlab import detect
    e = detect()
    sizes = ", ".join(f"{s // 1024}K" for s in e.mthp_sizes) or "none"
    swap = ", ".join(s["name"] for s in e.swaps) or "no swap"
    return (f"The {kind} were **not recorded on this build machine** (no `_build/kernlab` "
            f"record: `make kernlab-record` runs the lab as root with `--setup`). What the "
            f"build machine offers, read without changing anything: Linux {e.kernel} on "
            f"{e.machine}, mTHP sizes {sizes}, {swap}, tracefs "
            f"{'mounted' if e.tracefs else 'not mounted'}, "
            f"{'root' if e.root else 'not root'}.")


# -- timing -------------------------------------------------------------------------------------
def _fmt(v, spec: str) -> str:
    return format(v, spec) if isinstance(v, (int, float)) else "–"


def bench_rows(rec: dict) -> list[dict[str, Any]]:
    rows = []
    for r in rec["rows"]:
        p = r.get("perf") or {}
        k = r["folio"] // 1024
        rows.append({
            "folio": f"{k // 1024}M" if k >= 1024 else f"{k}K",
            "kernel (ms)": _fmt(r.get("kernel_cpu_ms"), ".0f"),
            "model (ms)": _fmt(r.get("model_ms"), ".0f"),
            "in unmap": _fmt(p.get("unmap_share") and 100 * p["unmap_share"], ".0f")
            + (" %" if p else ""),
            "unmap (ms)": _fmt(r.get("kernel_unmap_ms"), ".1f"),
            "model's unmap (ms)": _fmt(r.get("model_unmap_ms"), ".1f"),
            "ratio": _fmt(r.get("unmap_measured_over_model"), ".1f") + "×"
            if r.get("unmap_measured_over_model") else "–",
            "simcore / kernel": _fmt(r.get("ratio_simcore_kernel"), ".1f") + "×"
            if r.get("ratio_simcore_kernel") else "–",
        })
    return rows


def bench_table(rec: dict) -> str:
    rows = bench_rows(rec)
    cols = list(rows[0])
    return md_table(rows, cols, align_right=tuple(cols[1:]))


def _span(values: list[float], unit: str) -> str:
    lo, hi = f"{min(values):.0f}", f"{max(values):.0f}"
    return f"{lo}{unit}" if lo == hi else f"{lo}–{hi}{unit}"


def bench_facts(rec: dict) -> dict[str, str]:
    """The numbers the prose quotes, from the record."""
    rows = [r for r in rec["rows"] if "kernel_cpu_ms" in r]
    out: dict[str, str] = {}
    ratios = [r["unmap_measured_over_model"] for r in rows if r.get("unmap_measured_over_model")]
    if ratios:
        out["unmap_ratio"] = _span(ratios, "×")
    shares = [100 * r["perf"]["unmap_share"] for r in rows if r.get("perf")]
    if shares:
        out["share"] = _span(shares, " %")
    r64 = next((r for r in rows if r["folio"] == 64 * 1024), None)
    if r64:
        out["k64"] = f"{r64['kernel_cpu_ms']:.0f}"
        out["model64"] = f"{r64['model_ms']:.0f}"
        out["sim64"] = f"{r64['ratio_simcore_kernel']:.1f}×"
        if r64.get("model_unmap_ms"):
            out["model_unmap_share64"] = f"{100 * r64['model_unmap_ms'] / r64['model_ms']:.0f} %"
    return out


def measured_section() -> str:
    """The generated part of the performance chapter's "Measured on this machine"."""
    from simcore import costmodel as cm
    cover = {m.mode: m.ns / 1e6 for m in cm.MEASUREMENTS if m.arch == "x86_64"}
    rec = load("bench")
    lead = (f"The cover letter's x86 machine took {cover['baseline']:.2f} ms before the series "
            f"and {cover['patched']:.2f} ms with it (64 KiB folios).")
    if rec is None or not any("kernel_cpu_ms" in r for r in rec["rows"]):
        why = (rec or {}).get("skipped") or ""
        return lead + " " + unrecorded("timings") + (f" ({why})" if why else "")
    f = bench_facts(rec)
    text = [lead, f"This site was built on {machine(rec)}; the kernel runs "
                  f"`{rec['mode']}`" + (" (detected from its rss_stat events)."
                                        if rec.get("mode_detected") else " (assumed).")]
    if "k64" in f:
        text.append(f"At 64 KiB it took **{f['k64']} ms** of CPU time; the cost model, "
                    f"calibrated on the cover letter, estimates {f['model64']} ms; simcore "
                    f"itself needs {f['sim64']} the kernel's CPU time to simulate the workload.")
    if "unmap_ratio" in f:
        text.append(
            f"**The model's split disagrees with the measurement.** perf puts "
            f"{f['share']} of the syscall under `try_to_unmap()` here, while the model "
            f"gives the unmap only {f.get('model_unmap_share64', 'a small part')} of the total "
            f"and puts the rest in the fixed per-folio reclaim cost: its unmap term is "
            f"{f['unmap_ratio']} smaller than the unmap time measured on this machine. The "
            f"model's totals were fitted to the cover letter's two numbers, and a fixed cost "
            f"per folio can absorb almost any split; this measurement says the split is wrong "
            f"here: the unmap is a large share of the time, not a small one. A larger unmap "
            f"does not by itself mean a larger saving: how much of it batching removes (calls, "
            f"not the per-page stores and invalidations) is a separate question.")
    legend = ("Columns: the kernel's CPU time and the cost model's estimate of it; the share of "
              "the syscall perf found under `try_to_unmap()` and the milliseconds that makes; "
              "the model's unmap term and the ratio of the two; simcore's CPU time over the "
              "kernel's for the same workload.")
    return "\n\n".join(text) + "\n\n" + bench_table(rec) + "\n\n" + legend


# -- the live button ----------------------------------------------------------------------------
def run_check(setup: bool = False) -> dict:
    """``python -m kernlab check --json`` (``--setup`` only when asked) as a dict."""
    cmd = [sys.executable, "-m", "kernlab", "check", "--json"] + (["--setup"] if setup else [])
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900)
    if r.returncode not in (0, 1):
        raise RuntimeError((r.stderr.strip().splitlines() or ["kernlab failed"])[-1])
    return json.loads(r.stdout)


def live_button() -> Live:
    """A button that runs the lab on the reader's kernel (Jupyter); on the site, a note."""
    import ipywidgets as w
    from IPython.display import Markdown, display

    setup = w.Checkbox(value=False, description="--setup (root: changes and restores settings)",
                       layout=w.Layout(width="auto"))
    button = w.Button(description="Run the lab on this kernel", button_style="primary",
                      layout=w.Layout(width="auto"))
    out = w.Output()

    def go(_):
        button.disabled = True
        out.clear_output()
        with out:
            print("running python -m kernlab check ... (a minute)")
        try:
            rec = run_check(setup.value)
            out.clear_output()
            with out:
                display(Markdown(f"{machine(rec)} — **{summary(rec)}**\n\n" + check_table(rec)))
        except Exception as e:  # noqa: BLE001 - shown to the reader, one line
            out.clear_output()
            with out:
                print(f"kernlab: {e}")
        finally:
            button.disabled = False

    button.on_click(go)
    note = ("<p><em>In Jupyter this cell shows a button that runs <code>python -m kernlab "
            "check</code> on your own kernel and prints the table above for it. On this "
            "website the table is the one recorded when the site was built.</em></p>")
    return Live(w.VBox([w.HBox([button, setup]), out]), note)
