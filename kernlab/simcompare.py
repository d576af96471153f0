"""The simcore side: build a scenario file equivalent to what the kernel was given, run it with
``python -m simcore run FILE --mode M --json`` and derive the same fields the lab reads from the
kernel, so that the two can be compared field by field.

Only simcore's public contract is used: the scenario format (simcore/schema/scenario.schema.json)
and the fields of ``run --json`` (``ok``, ``batches``, ``ptes``, ``folio``, ``mms``,
``swap_counts``, ``costs``). The lab never imports simcore's internals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

SCHEMA = "simcore.scenario/1"


class SimcoreError(Exception):
    """simcore rejected a scenario (its one-line message) or could not be run."""


def scenario(name: str, order: int, mms: dict[str, list[tuple[int, int]]], ptes: list[dict],
             *, pfn: int | None = None, swapbacked: bool = True, dirty: bool = True,
             exclusive: str | None = None, arch: dict | None = None,
             description: str = "") -> dict:
    """A simcore scenario: one folio of ``order``, the VMAs of each mm, the PTE runs."""
    nr = 1 << order
    folio: dict = {"order": order, "swapbacked": swapbacked, "dirty": dirty}
    if pfn and pfn % nr == 0:
        folio["pfn"] = hex(pfn)
    else:
        folio["pfn"] = hex(1 << 20)
    if exclusive:
        folio["exclusive"] = exclusive
    out = {"schema": SCHEMA, "name": name}
    if description:
        out["description"] = description
    out["arch"] = arch or {"name": host_arch()}
    out["folio"] = folio
    out["mms"] = [{"name": mm, "vmas": [{"start": hex(s), "end": hex(e)} for s, e in vmas]}
                  for mm, vmas in mms.items()]
    out["ptes"] = [dict(p, addr=hex(p["addr"])) for p in ptes]
    return out


def host_arch() -> str:
    """simcore's name for the machine the lab runs on."""
    return {"aarch64": "arm64", "arm64": "arm64"}.get(os.uname().machine, "x86_64")


_cache: dict[tuple[str, str], dict] = {}


def run(scn: dict, mode: str, subprocess_only: bool = False) -> dict:
    """What ``python -m simcore run FILE --mode MODE --json`` prints for the scenario.

    In process when simcore is importable (`simcore.load` validates the file like the command
    line does; `simcore.report.run_report` is what the command line prints), else through the
    command line itself.
    """
    text = json.dumps(scn, indent=1)
    key = (text, mode)
    if key in _cache and not subprocess_only:
        return _cache[key]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        out = None if subprocess_only else _in_process(path, mode, scn.get("name"))
        if out is None:
            out = _subprocess(path, mode, scn.get("name"))
    finally:
        os.unlink(path)
    _cache[key] = out
    return out


def _in_process(path: str, mode: str, name: str | None) -> dict | None:
    try:
        import simcore
        from simcore.report import run_report
    except ImportError:
        return None
    try:
        system = simcore.load(path)
        return json.loads(json.dumps(run_report(system, mode, name=name)[1]))
    except simcore.ScenarioError as e:
        raise SimcoreError(f"simcore rejected scenario {name!r}: {e}") from None


def _subprocess(path: str, mode: str, name: str | None) -> dict:
    try:
        r = subprocess.run([sys.executable, "-m", "simcore", "run", path, "--mode", mode,
                            "--json"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SimcoreError(f"python -m simcore could not be run: {e}") from None
    if r.returncode not in (0, 1):
        msg = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
        raise SimcoreError(f"simcore rejected scenario {name!r}: {msg}")
    return json.loads(r.stdout)


def initial_counters(scn: dict) -> dict[str, tuple[int, int]]:
    """(MM_ANONPAGES, MM_SWAPENTS) each mm holds for the folio before the unmap."""
    out = {mm["name"]: [0, 0] for mm in scn["mms"]}
    for p in scn.get("ptes", []):
        kind = p.get("kind", "present")
        n = p.get("nr", 1)
        if kind == "present":
            out[p["mm"]][0] += n
        elif kind == "swap":
            out[p["mm"]][1] += n
    return {k: (v[0], v[1]) for k, v in out.items()}


@dataclass
class SimView:
    """simcore's result seen through the lab's fields."""

    out: dict
    scn: dict

    @property
    def ok(self) -> bool:
        return bool(self.out["ok"])

    def ptes(self, mm: str) -> list[dict]:
        return sorted((p for p in self.out["ptes"] if p["mm"] == mm),
                      key=lambda p: int(p["addr"], 16))          # run --json: addr is hex

    def kinds(self, mm: str) -> list[str]:
        return [p["kind"] for p in self.ptes(mm)]

    def slots(self, mm: str) -> list[int | None]:
        """Swap slot of each PTE relative to the folio's first slot (page 0's)."""
        base = self.first_slot()
        return [p["swp_offset"] - base if p["kind"] == "swap" and base is not None else None
                for p in self.ptes(mm)]

    def first_slot(self) -> int | None:
        offs = [p["swp_offset"] - p["page"] for p in self.out["ptes"] if p["kind"] == "swap"]
        return min(offs) if offs else None

    def uffd_wp(self, mm: str) -> list[bool]:
        return [bool(p.get("uffd_wp")) for p in self.ptes(mm)]

    def swap_markers(self, mm: str) -> list[bool]:
        return [bool(p.get("exclusive")) for p in self.ptes(mm) if p["kind"] == "swap"]

    def counter_deltas(self, mm: str) -> tuple[int, int]:
        a0, s0 = initial_counters(self.scn)[mm]
        c = self.out["mms"][mm]
        return c["MM_ANONPAGES"] - a0, c["MM_SWAPENTS"] - s0

    def rss_updates(self) -> int:
        """add_mm_counter() calls the unmap makes: swap-backed, MM_ANONPAGES and MM_SWAPENTS
        once per unit (a sub-batch); lazyfree, MM_ANONPAGES once per batch."""
        if self.out["folio"].get("swapbacked", True) and self.scn["folio"].get("swapbacked", True):
            return sum(2 * len(b.get("sub_batches") or [b]) for b in self.out["batches"]
                       if b.get("ok", True))
        return sum(1 for b in self.out["batches"] if b.get("ok", True))
