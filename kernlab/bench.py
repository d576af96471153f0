"""Timing: the cover letter's workload on this kernel beside simcore and its cost model.

The workload (Barry Song's and Dev Jain's benchmark): 256 MiB of anonymous memory in folios of
one size, memset to 0, then one MADV_PAGEOUT of the whole range, timed as the calling thread's
CPU time (wall time on a shared VM is 1.4-2.8x that and erratic); median of ``repeat`` runs.
With ``perf`` the kernel is sampled (cpu-clock, call graphs) and the share of the syscall spent
under `try_to_unmap()` is reported: that is what the series changes.

simcore's side: ``python -m simcore workload --size S --folio F --arch x86_64 --mode M --json``
gives the simulation's own time (``seconds``: wall time of the simulated unmaps) and the cost
model's estimate of the kernel's time (``estimate_ns``); the model's unmap term alone (its
counted operations, without the fixed per-folio reclaim cost) comes from
`simcore.costmodel.estimate_ns(costs, arch, nr_folios=0)` when simcore offers it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from kernlab import probes, worker
from kernlab.experiments import Skip, exp_mode, run_one

ARCH = "x86_64"
#: the folio sizes timed by default (beside 4K), as in live-kernel-notes.md's table
DEFAULT_FOLIOS = (16 << 10, 64 << 10, 256 << 10, 1 << 20, 2 << 20)


def _simcore_cpu(size: int, folio: int, mode: str, repeat: int) -> list[float]:
    """simcore's own CPU time for the simulated unmaps (the stage built untimed), in a child."""
    import time

    from simcore import workload
    w = workload.build(size, folio, ARCH)
    out = []
    for _ in range(repeat):
        st = workload.instantiate(w)
        c0 = time.thread_time()
        workload.unmap_all(st, mode)
        out.append(time.thread_time() - c0)
        del st
    return out


def simcore_workload(size: int, folio: int, mode: str, repeat: int = 3) -> dict:
    """simcore on the same workload: its CPU time (median of ``repeat``), the cost model's
    estimate of the kernel's time and the model's unmap term alone."""
    r = subprocess.run([sys.executable, "-m", "simcore", "workload", "--size", str(size),
                        "--folio", f"{folio // 1024}K", "--arch", ARCH, "--mode", mode,
                        "--json"], capture_output=True, text=True, timeout=600)
    if r.returncode not in (0, 1):
        raise RuntimeError((r.stderr.strip().splitlines() or ["simcore workload failed"])[-1])
    m = json.loads(r.stdout)["modes"][mode]
    out = {"seconds": m["seconds"], "cpu": None, "estimate_ms": m["estimate_ns"] / 1e6,
           "unmap_ms": None}
    try:
        out["cpu"] = statistics.median(worker.run(_simcore_cpu, size, folio, mode, repeat,
                                                  timeout=600))
    except worker.ProbeError:
        pass  # simcore.workload's API changed: keep the command line's wall time
    try:
        from simcore.costmodel import estimate_ns
        out["unmap_ms"] = estimate_ns(m["costs"], ARCH, nr_folios=0) / 1e6
    except (ImportError, TypeError, KeyError):
        pass
    return out


PERF_LINE = re.compile(r"^\s*([\d.]+)%\s+[\d.]+%\s+\[k\]\s+(\S+)\s*$")


def perf_share(size: int, total: int) -> dict | None:
    """Share of the MADV_PAGEOUT syscall spent under try_to_unmap(), from perf samples."""
    perf = shutil.which("perf")
    if not perf:
        return None
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "perf.data")
        rec = subprocess.run([perf, "record", "-q", "-e", "cpu-clock", "-F", "10000", "-g",
                              "-o", data, "--", sys.executable, "-m", "kernlab.bench",
                              "--child", str(size), str(total)],
                             capture_output=True, text=True, timeout=300)
        if rec.returncode:
            return None
        rep = subprocess.run([perf, "report", "-i", data, "--stdio", "--children", "--sort",
                              "sym", "-q", "-g", "none"], capture_output=True, text=True,
                             timeout=300)
    pct = {}
    for line in rep.stdout.splitlines():
        m = PERF_LINE.match(line)
        if m:
            pct.setdefault(m[2], float(m[1]))
    sysc = pct.get("__x64_sys_madvise") or pct.get("do_madvise")
    unmap = pct.get("try_to_unmap")
    if not sysc or unmap is None:
        return None
    return {"unmap_share": unmap / sysc, "syscall_pct": sysc, "try_to_unmap_pct": unmap}


def run(lab, total: int, folios: list[int], repeat: int, perf: bool, quiet: bool = False
        ) -> dict:
    def say(msg):
        if not quiet:
            print(msg, file=sys.stderr, flush=True)

    res: dict = {"schema": "kernlab.bench/1", "size": total, "repeat": repeat, "rows": [],
                 "mode": lab.mode, "mode_detected": False, "skipped": None}
    if lab.settings is not None:
        o = run_one("mode", lambda: exp_mode(lab))
        res["mode_line"] = o.line()
    res["mode"], res["mode_detected"] = lab.mode, lab.mode_detected
    kernel_ok = True
    try:
        lab.swap()
    except Skip as e:
        kernel_ok = False
        res["skipped"] = f"kernel timing skipped: {e}"
    for f in folios:
        row: dict = {"folio": f, "nr_ptes": total // 4096}
        if kernel_ok:
            try:
                lab.folio(f)
                say(f"kernlab: timing {f // 1024}K folios ...")
                t = worker.run(probes.probe_timing, f, total, repeat, timeout=900)
                if "skip" in t:
                    row["kernel_skipped"] = t["skip"]
                else:
                    row["kernel_cpu_ms"] = statistics.median(t["cpu"]) * 1e3
                    row["kernel_cpu_ms_all"] = [round(c * 1e3, 2) for c in t["cpu"]]
                    row["kernel_wall_ms"] = statistics.median(t["wall"]) * 1e3
                    if perf and lab.settings is not None:
                        row["perf"] = perf_share(f, total)
            except (Skip, worker.ProbeError) as e:
                row["kernel_skipped"] = str(e)
        sim = simcore_workload(total, f, lab.mode)
        row["simcore_s"] = sim["cpu"] if sim["cpu"] is not None else sim["seconds"]
        row["simcore_time"] = "thread CPU" if sim["cpu"] is not None else "wall (CLI)"
        row["model_ms"] = sim["estimate_ms"]
        row["model_unmap_ms"] = sim["unmap_ms"]
        if "kernel_cpu_ms" in row:
            row["ratio_simcore_kernel"] = row["simcore_s"] * 1e3 / row["kernel_cpu_ms"]
            p = row.get("perf")
            if p and sim["unmap_ms"]:
                row["kernel_unmap_ms"] = p["unmap_share"] * row["kernel_cpu_ms"]
                row["unmap_measured_over_model"] = row["kernel_unmap_ms"] / sim["unmap_ms"]
        res["rows"].append(row)
    return res


def table(res: dict) -> str:
    lines = []
    if res.get("mode_line"):
        lines.append(res["mode_line"])
    lines.append(f"workload: {res['size'] >> 20} MiB, memset 0, MADV_PAGEOUT; kernel = thread "
                 f"CPU time, median of {res['repeat']}; simcore --mode {res['mode']}"
                 + ("" if res["mode_detected"] else " (assumed, not detected)"))
    hdr = (f"{'folio':>6} {'kernel ms':>10} {'unmap %':>8} {'simcore s':>10} {'sim/kernel':>10} "
           f"{'model ms':>9} {'model unmap ms':>15} {'measured unmap ms':>18}")
    lines.append(hdr)

    def f(v, fmt):
        if isinstance(v, (int, float)):
            return format(v, fmt)
        return "-".rjust(int(fmt.split(".")[0]))

    for r in res["rows"]:
        p = r.get("perf") or {}
        lines.append(f"{r['folio'] // 1024:>5}K {f(r.get('kernel_cpu_ms'), '10.1f')} "
                     f"{f(p.get('unmap_share', None) and 100 * p['unmap_share'], '8.0f')} "
                     f"{f(r['simcore_s'], '10.2f')} {f(r.get('ratio_simcore_kernel'), '10.1f')} "
                     f"{f(r['model_ms'], '9.1f')} {f(r.get('model_unmap_ms'), '15.1f')} "
                     f"{f(r.get('kernel_unmap_ms'), '18.1f')}")
        if r.get("kernel_skipped"):
            lines.append(f"       kernel skipped: {r['kernel_skipped']}")
    if res.get("skipped"):
        lines.append(res["skipped"])
    return "\n".join(lines)


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    # the process perf samples: one timed run
    size, total = int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(probes.probe_timing(size, total, 1)))
