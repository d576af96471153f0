"""`make bench`: simcore's performance targets (DESIGN.md §6), measured and printed as a table.

* the cover-letter workload (256 MiB of 64 KiB folios = 65,536 PTEs, `simcore.workload`) in
  ``baseline`` and ``patched`` on arm64 and x86_64: simulated PTEs, the simulation's wall time
  and CPU time, PTEs per second, peak memory (max RSS of a fresh subprocess per measurement, so
  the figure is that run's alone), and the cost model's estimate of the kernel's time beside the
  time the cover letter measured — target ≤ 1 s per mode, ≤ 300 MB;
* linearity: the simulation time of 4× the workload over 1× (64 → 256 MiB), measured as
  adjacent pairs in one process (1×, 4×, 1×, 4×, …) and judged on the median pair — target ≤ 4.4;
* a widget-update proxy: one 512-PTE scenario rebuilt from its description and run in all three
  modes with a trace (events only, as the live widgets ask for), median of 20 — target ≤ 100 ms.

Timing on a shared machine: a virtual machine's speed drifts by half or more for seconds at a
time (other guests on the same cores), which no process can see or control. So every
measurement runs in its own fresh process, the measurements are made in ``--repeat`` rounds
(default 5) that visit every configuration in turn, and a target is judged on the best round
— the machine's own speed, as `timeit` does; the median and the slowest round are printed
beside it so the drift stays visible. A ratio of two best rounds would compare two different
moments of the machine, so linearity is judged on pairs measured back to back instead.

Every target is reported PASS or MISSED; the exit status is 0 either way (a benchmark, not a
test). ``--quick`` runs one round and a smaller widget sample; ``--size`` benchmarks a smaller
workload (the targets are stated for 256M).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

SIZE = "256M"
FOLIO = "64K"
ARCHES = ("arm64", "x86_64")
MODES = ("baseline", "patched")
TARGET_SECONDS = 1.0
TARGET_MB = 300.0
TARGET_LINEAR = 4.4
TARGET_WIDGET_MS = 100.0


# -- one measurement, in a fresh process ----------------------------------------------------------
def peak_rss_kb() -> int | None:
    """This process's own peak resident set (``VmHWM``, Linux), or None where unknown.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that high-water mark across
    ``execve()``, so a child started by a large parent (pytest after hundreds of tests,
    subprocess's vfork) reports the parent's peak, not its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def measure_workload(arch: str, mode: str, size: str, repeat: int) -> dict[str, Any]:
    """Best-of-``repeat`` wall and CPU time of the unmaps (the stage is rebuilt untimed)."""
    import resource

    from simcore import workload

    w = workload.build(size, FOLIO, arch)
    walls, cpus, ok, costs = [], [], True, {}
    for _ in range(repeat):
        st = workload.instantiate(w)
        t0, c0 = time.perf_counter(), time.process_time()
        ok = workload.unmap_all(st, mode) and ok
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        costs = st.costs.as_dict()
        del st
    rss_kb = peak_rss_kb() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"arch": arch, "mode": mode, "size": size, "nr_ptes": w.nr_ptes,
            "nr_folios": w.nr_folios, "folio_bytes": w.folio_bytes, "ok": ok,
            "wall": min(walls), "cpu": min(cpus), "walls": walls, "peak_mb": rss_kb / 1024,
            "costs": costs}


def measure_linearity(mode: str, small: str, big: str, rounds: int) -> dict[str, Any]:
    """arm64 ``small`` and ``big`` workloads timed alternately: the ratio of each adjacent pair."""
    from simcore import workload

    ws = {s: workload.build(s, FOLIO, "arm64") for s in (small, big)}
    pairs = []
    for _ in range(rounds):
        pair = []
        for s in (small, big):
            st = workload.instantiate(ws[s])
            t0 = time.perf_counter()
            workload.unmap_all(st, mode)
            pair.append(time.perf_counter() - t0)
            del st
        pairs.append(pair)
    ratios = [b / a for a, b in pairs]
    return {"mode": mode, "small": small, "big": big, "pairs": pairs, "ratios": ratios,
            "ratio": statistics.median(ratios)}


def _subprocess(arch: str, mode: str, size: str, repeat: int = 1) -> dict[str, Any]:
    return _child("--one", arch, mode, size, str(repeat))


def _linearity_subprocess(mode: str, small: str, big: str, rounds: int) -> dict[str, Any]:
    return _child("--pairs", mode, small, big, str(rounds))


def _child(*argv: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "simcore.bench", *argv]
    # one core: numpy's BLAS thread pool would otherwise spin up idle threads (the CPU column
    # counts every thread of the process)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout)


def measure_rounds(configs: list[tuple[str, str, str]], rounds: int) -> list[dict[str, Any]]:
    """Each configuration once per round, in turn, each in a fresh process; merged per config.

    The merged row keeps the best round's wall and CPU time (``wall``, ``cpu``), every round's
    wall time (``walls``), and the largest peak memory of any round.
    """
    runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {c: [] for c in configs}
    for _ in range(rounds):
        for c in configs:
            runs[c].append(_subprocess(*c))
    merged = []
    for c in configs:
        best = min(runs[c], key=lambda r: r["wall"])
        merged.append({**best, "walls": [r["wall"] for r in runs[c]],
                       "cpu": min(r["cpu"] for r in runs[c]),
                       "peak_mb": max(r["peak_mb"] for r in runs[c]),
                       "ok": all(r["ok"] for r in runs[c])})
    return merged


# -- the widget proxy ---------------------------------------------------------------------------
def widget_scenario() -> dict[str, Any]:
    """A 2 MiB folio (512 PTEs) on arm64: half exclusive and writable, half shared read-only."""
    base = 0x7F0000000000
    return {"schema": "simcore.scenario/1", "name": "widget proxy: 512 PTEs",
            "arch": {"name": "arm64", "page_size": 4096},
            "folio": {"order": 9, "pfn": 1 << 20, "exclusive": "E" * 256 + "N" * 256},
            "mms": [{"name": "task", "vmas": [{"start": base, "end": base + (2 << 20)}]}],
            "ptes": [{"mm": "task", "addr": base, "page": 0, "nr": 256, "write": True,
                      "dirty": True, "young": True},
                     {"mm": "task", "addr": base + (256 << 12), "page": 256, "nr": 256,
                      "write": False, "dirty": True, "young": True}]}


def measure_widget(n: int = 20, snapshots: bool = False) -> dict[str, Any]:
    import simcore

    doc = widget_scenario()
    times, events = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        system = simcore.from_dict(doc)
        res = {m: simcore.run(system, m, trace=True, snapshots=snapshots) for m in simcore.MODES}
        times.append(time.perf_counter() - t0)
        events = sum(len(r.trace) for r in res.values())
        assert all(r.ok and not r.violations for r in res.values())
    return {"median_ms": 1000 * statistics.median(times), "max_ms": 1000 * max(times),
            "n": n, "events": events, "snapshots": snapshots}


# -- the report ---------------------------------------------------------------------------------
def _size_text(nbytes: int) -> str:
    return f"{nbytes >> 20}M" if nbytes % (1 << 20) == 0 else f"{nbytes >> 10}K"


def _flag(ok: bool | None) -> str:
    return "n/a" if ok is None else "PASS" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    from simcore.cli import Parser, UsageError
    from simcore.workload import WorkloadError, build, parse_size

    ap = Parser(prog="python -m simcore.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one round, fewer widget runs")
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON")
    ap.add_argument("--repeat", type=int, default=5,
                    help="rounds of measurements, the best counts (default 5)")
    ap.add_argument("--size", default=SIZE,
                    help=f"workload size, 4× the linearity baseline (default {SIZE})")
    ap.add_argument("--one", nargs=4, metavar=("ARCH", "MODE", "SIZE", "REPEAT"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--pairs", nargs=4, metavar=("MODE", "SMALL", "BIG", "ROUNDS"),
                    help=argparse.SUPPRESS)
    try:
        args = ap.parse_args(argv)
        if args.repeat < 1:
            raise UsageError(f"--repeat: must be at least 1, not {args.repeat}")
        size = parse_size(args.size)
        small = _size_text(size // 4)
        for s in (args.size, small):
            build(s, FOLIO, "arm64")
    except (UsageError, WorkloadError) as exc:
        msg = str(exc) if not isinstance(exc, WorkloadError) else f"--size: {exc.problem}"
        print(f"python -m simcore.bench: error: {msg}", file=sys.stderr)
        return 2
    if args.one:
        arch, mode, size_, repeat = args.one
        print(json.dumps(measure_workload(arch, mode, size_, int(repeat))))
        return 0
    if args.pairs:
        mode, small_, big_, rounds_ = args.pairs
        print(json.dumps(measure_linearity(mode, small_, big_, int(rounds_))))
        return 0

    t_start = time.perf_counter()
    rounds = 1 if args.quick else args.repeat
    from simcore import costmodel

    t0 = time.perf_counter()
    cal = costmodel.default_calibration()
    t_cal = time.perf_counter() - t0
    measured = {(m.arch, m.mode): m.ns for m in costmodel.MEASUREMENTS}

    # the targets and the cover letter's times are for its 256 MiB; a --size run only reports
    cover_letter = size == parse_size(SIZE)
    big_configs = [(a, m, args.size) for a in ARCHES for m in MODES]
    rows = measure_rounds(big_configs, rounds)
    linearity = {m: _linearity_subprocess(m, small, args.size, rounds) for m in MODES}
    widget = measure_widget(5 if args.quick else 20)

    targets: list[tuple[str, str, bool | None]] = []   # None: not judged at this --size
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"simcore bench — workload {args.size} of {FOLIO} folios (MADV_PAGEOUT"
             f"{', as in the cover letter' if cover_letter else ''}); best of {rounds} round(s), "
             f"each measurement in a fresh process; load average {load:.2f} on "
             f"{os.cpu_count()} CPU(s)", ""]
    hdr = (f"{'arch':7} {'mode':9} {'PTEs':>7} {'sim wall s':>10} {'median':>7} {'slowest':>7} "
           f"{'sim cpu s':>9} {'PTEs/s':>9} {'peak MB':>8} {'model ms':>9} {'kernel ms':>10} "
           f"{'model/kern':>10}")
    lines += [hdr, "-" * len(hdr)]
    for r in rows:
        est = costmodel.estimate_ns(r["costs"], r["arch"], r["nr_folios"], cal,
                                    folio_bytes=r["folio_bytes"])
        kern = measured.get((r["arch"], r["mode"])) if cover_letter else None
        lines.append(f"{r['arch']:7} {r['mode']:9} {r['nr_ptes']:>7} {r['wall']:>10.3f} "
                     f"{statistics.median(r['walls']):>7.3f} {max(r['walls']):>7.3f} "
                     f"{r['cpu']:>9.3f} {r['nr_ptes'] / r['wall']:>9.0f} {r['peak_mb']:>8.1f} "
                     f"{est / 1e6:>9.2f} {kern / 1e6 if kern else float('nan'):>10.2f} "
                     f"{est / kern if kern else float('nan'):>10.4f}")
        targets.append((f"{r['arch']} {r['mode']}: {r['nr_ptes']} PTEs simulated in "
                        f"{r['wall']:.3f} s", f"≤ {TARGET_SECONDS:g} s",
                        (r["wall"] <= TARGET_SECONDS and r["ok"]) if cover_letter
                        else (None if r["ok"] else False)))
        targets.append((f"{r['arch']} {r['mode']}: peak memory {r['peak_mb']:.0f} MB",
                        f"≤ {TARGET_MB:g} MB", r["peak_mb"] <= TARGET_MB))
    lines.append("")
    for a in ARCHES:
        b = next(r for r in rows if r["arch"] == a and r["mode"] == "baseline")
        p = next(r for r in rows if r["arch"] == a and r["mode"] == "patched")
        eb = costmodel.estimate_ns(b["costs"], a, b["nr_folios"], cal)
        ep = costmodel.estimate_ns(p["costs"], a, p["nr_folios"], cal)
        lines.append(f"{a}: speed-up model {eb / ep:.3f}, kernel "
                     f"{measured[(a, 'baseline')] / measured[(a, 'patched')]:.3f}")
    lines.append(f"cost model: default calibration computed by code in {t_cal:.2f} s, largest "
                 f"residual {cal.max_abs_residual_pct():.4f} %; sparc64 uncalibrated")
    lines.append("")
    lines.append(f"linearity (arm64, {small} → {args.size} = 4× the PTEs, timed back to back in "
                 f"one process):")
    for m in MODES:
        lin = linearity[m]
        ratio = lin["ratio"]
        lines.append(f"  {m:9} median ×{ratio:.2f} over {len(lin['ratios'])} pair(s) (×"
                     f"{min(lin['ratios']):.2f} … ×{max(lin['ratios']):.2f}); best times "
                     f"{min(a for a, _b in lin['pairs']):.3f} s → "
                     f"{min(b for _a, b in lin['pairs']):.3f} s")
        targets.append((f"linearity {m}: 4× the PTEs took ×{ratio:.2f} the time (median pair)",
                        f"≤ {TARGET_LINEAR:g}", ratio <= TARGET_LINEAR if cover_letter else None))
    lines.append("")
    lines.append(f"widget-update proxy: {widget_scenario()['name']}, from_dict + 3 modes with a "
                 f"trace ({widget['events']} events): median {widget['median_ms']:.1f} ms, max "
                 f"{widget['max_ms']:.1f} ms over {widget['n']} runs")
    lines.append("  (events only, as the live widgets run; a state snapshot per event, as the "
                 "build-time players record, costs far more on 512 PTEs)")
    targets.append((f"widget update median {widget['median_ms']:.1f} ms",
                    f"≤ {TARGET_WIDGET_MS:g} ms", widget["median_ms"] <= TARGET_WIDGET_MS))
    lines.append("")
    lines.append("targets (DESIGN.md §6):" if cover_letter else
                 f"targets (DESIGN.md §6): the time targets are for {SIZE}, not judged at "
                 f"{args.size}")
    for what, target, ok in targets:
        lines.append(f"  {_flag(ok):6} {what}  (target {target})")
    judged = [t for t in targets if t[2] is not None]
    missed = [t for t in judged if not t[2]]
    lines.append("")
    lines.append(f"{len(judged) - len(missed)}/{len(judged)} targets met"
                 + (f"; MISSED: {len(missed)}" if missed else "")
                 + f"; bench took {time.perf_counter() - t_start:.0f} s")
    if missed and load > (os.cpu_count() or 1):
        lines.append("note: the machine was busy (load average above the CPU count); wall "
                     "times include waiting for a CPU — compare the cpu column")
    if args.json:
        print(json.dumps({"rows": rows, "linearity": linearity, "widget": widget,
                          "targets": [{"what": w, "target": t, "ok": o} for w, t, o in targets]},
                         indent=1))
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:            # Ctrl-C: one line, exit 130 (simcore.safeio)
        from simcore.safeio import interrupted

        sys.exit(interrupted("python -m simcore.bench", sys.stderr))
