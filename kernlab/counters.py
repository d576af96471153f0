"""Readers of the kernel's counters: /proc/PID/smaps, /proc/vmstat, mTHP stats.

* ``smaps`` (`region`): Anonymous and Swap per VMA, counted by walking the page tables
  (exact; `parse_kb_fields` also reads status and smaps_rollup lines);
* ``/proc/vmstat``: system-wide event counts (pswpout, swpout_zero, pglazyfreed, ...);
* ``/sys/kernel/mm/transparent_hugepage/hugepages-<size>kB/stats/``: per mTHP size counts
  (swpout, swpout_fallback, split, swpin, anon_fault_alloc, ...).
"""

from __future__ import annotations

import os

MTHP_DIR = "/sys/kernel/mm/transparent_hugepage"


def parse_kb_fields(text: str) -> dict[str, int]:
    """``Name:   123 kB`` lines (status, smaps_rollup) → {name: kB}; other lines are skipped."""
    out = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        parts = rest.split()
        if sep and len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            out[name.strip()] = int(parts[0])
    return out


def parse_vmstat(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def vmstat() -> dict[str, int]:
    return parse_vmstat(_read("/proc/vmstat"))


def mthp_sizes(root: str = MTHP_DIR) -> list[int]:
    """The mTHP sizes (bytes) this kernel offers for anonymous memory, smallest first."""
    sizes = []
    try:
        names = os.listdir(root)
    except OSError:
        return []
    for name in names:
        if name.startswith("hugepages-") and name.endswith("kB") and os.path.exists(
                os.path.join(root, name, "enabled")):
            sizes.append(int(name[len("hugepages-"):-2]) * 1024)
    return sorted(sizes)


def mthp_stats(size: int, root: str = MTHP_DIR) -> dict[str, int]:
    d = os.path.join(root, f"hugepages-{size // 1024}kB", "stats")
    out = {}
    for name in sorted(os.listdir(d)):
        try:
            out[name] = int(_read(os.path.join(d, name)).strip())
        except (OSError, ValueError):
            continue
    return out


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def parse_smaps(text: str) -> list[tuple[int, int, dict[str, int]]]:
    """/proc/PID/smaps → [(start, end, {field: kB})] per VMA."""
    out: list[tuple[int, int, dict[str, int]]] = []
    for line in text.splitlines():
        head = line.split(" ", 1)[0]
        if "-" in head and ":" not in head:
            try:
                s, e = (int(x, 16) for x in head.split("-"))
            except ValueError:
                continue
            out.append((s, e, {}))
        elif out:
            out[-1][2].update(parse_kb_fields(line))
    return out


def region(start: int, end: int, pid: int | str = "self") -> dict:
    """The VMAs overlapping [start, end) and their anonymous and swapped pages (smaps: the
    page tables, walked by the kernel)."""
    vmas, anon, swap = [], 0, 0
    for s, e, f in parse_smaps(_read(f"/proc/{pid}/smaps")):
        if s < end and e > start:
            vmas.append((s, e))
            anon += f.get("Anonymous", 0)
            swap += f.get("Swap", 0)
    return {"vmas": vmas, "anon_kb": anon, "swap_kb": swap}
