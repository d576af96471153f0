"""`make bench` (after simcore's): every chapter's live widget, updated with its largest input.

For each chapter's explorer (``bookkit.chapters.<chapter>.explorer()``) the controls that size
the work are set to their largest allowed value (the largest folio order or workload, the
longest page pattern, the last page), and every combination of the few-valued controls
(mode, arch, kind, bug variant, check boxes) is tried: three updates each find the slowest
combination, which is then updated ``--runs`` times (default 21). An update is what a moved
control triggers in the kernel (`bookkit.explorer.ControlPanel.update`: build the scenario, run
simcore, draw the HTML); the browser round trip on top of it is measured by
``tests/browser/test_live_kernel.py``. Target: median ≤ 100 ms per chapter.

Timing on a shared machine drifts (see `simcore.bench`): the slowest combination is measured
in ``--rounds`` rounds (default 3) and judged on the best round's median, with the slowest
round's median printed beside it, and the CPU time of an update (what the machine's load
does not inflate). Exit status 0 either way (a benchmark, not a test); 2 for a
bad command line.

    python -m bookkit.widgetbench [--quick] [--json] [--chapter NAME ...]
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TARGET_MS = 100.0
MAX_COMBINATIONS = 64


def _largest(control: Any) -> Any:
    """The largest value a control allows (slider/bounded box: max; int drop-down: max)."""
    if hasattr(control, "max"):
        return control.max
    values = [v for _label, v in _options(control)]
    return max(values)


def _options(control: Any) -> list[tuple[str, Any]]:
    opts = getattr(control, "options", None)
    if opts is None:  # a check box
        return [("off", False), ("on", True)]
    out = []
    for o in opts:
        out.append(o if isinstance(o, tuple) else (str(o), o))
    return out


@dataclass(frozen=True)
class Spec:
    """How to make a chapter's explorer work hardest: ``fixed`` control values (or a function
    of the control), and the few-valued controls whose every combination is tried."""

    fixed: dict[str, Any] = field(default_factory=dict)
    vary: tuple[str, ...] = ()


def _pattern(n: int) -> str:
    return "EN" * (n // 2)


SPECS: dict[str, Spec] = {
    "background": Spec({"order": _largest}, ("kind", "mode", "arch")),
    "batching": Spec({"order": _largest, "vma_start_page": "0", "vma_end_page": "",
                      "readonly_from": "", "hole": "", "fail_page": ""},
                     ("kind", "straddle_pmd", "mode", "bug")),
    "anon_exclusive": Spec({"exclusive": _pattern(512), "vma_start": 0},
                           ("writable", "pinned", "bug")),
    "sparc64": Spec({"order": _largest}, ("arch", "kind", "pages", "adi", "bug")),
    "partial_failure": Spec({"exclusive": _pattern(512), "page": _largest},
                            ("op", "writable", "mode", "bug")),
    "contpte": Spec({"order": _largest, "offset_pages": 0, "split_at": 0},
                    ("granule", "bbml2", "dirty", "arch")),
    "performance": Spec({"size": lambda c: list(c.options)[-1]},
                        ("arch", "folio", "mode")),
}


def _set(explorer: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        control = explorer.controls[name]
        control.value = value(control) if callable(value) else value


def _time_updates(explorer: Any, n: int, cpu: list[float] | None = None) -> list[float]:
    """Wall times (ms) of ``n`` updates; their CPU times are appended to ``cpu``."""
    times = []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        explorer.update()
        times.append((time.perf_counter() - t0) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1000)
    return times


def measure_chapter(name: str, runs: int = 21, rounds: int = 3,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The slowest combination of the chapter's widget at its largest input, timed."""
    spec = SPECS[name]
    explorer = importlib.import_module(f"bookkit.chapters.{name}").explorer()
    _set(explorer, spec.fixed)
    if explorer.error:
        return {"chapter": name, "error": f"largest input rejected: {explorer.error}"}
    choices = [[(c, v) for _label, v in _options(explorer.controls[c])] for c in spec.vary]
    combos = list(itertools.product(*choices))[:MAX_COMBINATIONS]
    slowest, slowest_ms, valid = None, -1.0, 0
    for combo in combos:
        _set(explorer, dict(combo))
        if explorer.error:
            continue
        valid += 1
        ms = statistics.median(_time_updates(explorer, 3))
        if ms > slowest_ms:
            slowest, slowest_ms = combo, ms
    if slowest is None:
        return {"chapter": name, "error": "no combination of the controls is a valid input"}
    _set(explorer, dict(slowest))
    medians, cpu_medians, worst = [], [], 0.0
    for _ in range(rounds):
        cpu: list[float] = []
        times = _time_updates(explorer, runs, cpu)
        medians.append(statistics.median(times))
        cpu_medians.append(statistics.median(cpu))
        worst = max(worst, max(times))
    values = {c: explorer.controls[c].value for c in explorer.controls}
    if progress:
        progress(f"{name}: {min(medians):.1f} ms")
    return {"chapter": name, "median_ms": min(medians), "slowest_round_median_ms": max(medians),
            "max_ms": worst, "cpu_median_ms": min(cpu_medians), "runs": runs, "rounds": rounds,
            "combinations": valid,
            "input": {k: v for k, v in values.items() if k in spec.fixed or k in spec.vary}}


def _input_text(values: dict[str, Any]) -> str:
    out = []
    for k, v in values.items():
        if isinstance(v, str) and len(v) > 12:
            v = f"{v[:6]}…({len(v)})"
        out.append(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}")
    return ", ".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bookkit.widgetbench",
                                 description="Time every chapter widget's update at its "
                                             "largest input (target: median ≤ 100 ms).")
    ap.add_argument("--quick", action="store_true", help="one round of 7 updates")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--chapter", action="append", choices=sorted(SPECS), metavar="NAME",
                    help=f"only this chapter (repeatable; one of {', '.join(SPECS)})")
    args = ap.parse_args(argv)
    runs, rounds = (7, 1) if args.quick else (21, 3)
    results = [measure_chapter(c, runs, rounds) for c in (args.chapter or list(SPECS))]
    if args.json:
        print(json.dumps({"target_ms": TARGET_MS, "chapters": results}, indent=1))
        return 0
    print(f"chapter widgets: one update at the largest input, slowest combination of the "
          f"controls; median of {runs} updates, best of {rounds} round(s)")
    print(f"{'chapter':<16} {'median':>8} {'slowest round':>14} {'max':>8} {'CPU':>8}  "
          "target            input")
    for r in results:
        if "error" in r:
            print(f"{r['chapter']:<16} {'-':>8} {'-':>14} {'-':>8}  MISSED     {r['error']}")
            continue
        ok = "PASS" if r["median_ms"] <= TARGET_MS else "MISSED"
        print(f"{r['chapter']:<16} {r['median_ms']:>6.1f}ms "
              f"{r['slowest_round_median_ms']:>12.1f}ms {r['max_ms']:>6.1f}ms "
              f"{r['cpu_median_ms']:>6.1f}ms  {ok:<6} ≤ {TARGET_MS:g} ms  "
              f"{_input_text(r['input'])} (slowest of {r['combinations']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
