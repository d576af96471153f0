"""Random, valid scenarios: the seeds behind property tests, exercises and "surprise me" buttons.

`random_scenario(seed)` writes a scenario dict in the format of `simcore.scenario` (DESIGN.md
§3.5) that the schema accepts and `scenario.from_dict` builds. It draws from
``random.Random(seed)`` only (the standard library's Mersenne Twister, the same stream in
CPython and in Pyodide), so one seed is one scenario, everywhere.

What it varies, each knob with the kernel situation it stands for:

* the architecture, arm64 granule (4K/16K/64K) and BBML2, sparc64 ADI, deferred TLB flushing;
* the folio order (mostly mTHP orders 2…max_order, now and then an order-0 page), lazyfree
  (MADV_FREE) or swap-backed, dirty, DMA-pinned, extra references;
* where the folio sits: aligned, moved by mremap() to an unaligned address, or straddling a
  page-table (PMD) boundary; the VMA may start or end inside the folio (munmap of a part) or
  be split inside it (mprotect of a part), and may be VM_LOCKED or VM_DROPPABLE;
* a second mm after fork() mapping some of the pages at the same addresses;
* per page: PG_anon_exclusive in runs, and per PTE runs of write / dirty / young / soft-dirty
  / uffd-wp bits, holes (none PTEs), device-exclusive entries and swap PTEs left by an
  earlier, partly failed unmap;
* faults: swap-count duplication failing, sparc64's arch_unmap_one() failing, a pin
  appearing part-way.

The kernel's rules are kept, so every scenario is one a real system could be in: a page mapped
by two mms is not exclusive and mapped read-only; a page without PG_anon_exclusive is never
mapped writable; a page with a swap PTE somewhere has had its exclusivity moved into that swap
PTE (so the page itself is N); a device-exclusive entry (make_device_exclusive() unshares) maps
an exclusive page mapped nowhere else; a lazyfree folio has no swap PTEs and, as MADV_FREE only
frees folios mapped by one process, is not shared with a child.
"""

from __future__ import annotations

import random
from typing import Any

from simcore.arch import ARCH_NAMES, get_arch
from simcore.scenario import SCHEMA_ID
from simcore.swap import SWAP_MAP_MAX

#: Where the random mappings live: 1 TiB aligned, so aligned to every PMD span of every arch.
REGION = 0x7F0000000000

_PRESENT, _NONE, _SWAP, _DEVEX = "present", "none", "swap", "device_exclusive"


def _choice(rng: random.Random, options, weights):
    """One of ``options``, drawn with the given relative ``weights``."""
    return rng.choices(list(options), weights=weights)[0]


def _chance(rng: random.Random, p: float) -> bool:
    return bool(rng.random() < p)


def _runs(rng: random.Random, lo: int, hi: int, p_cut: float) -> list[tuple[int, int]]:
    """Cut [lo, hi) into consecutive runs (start, end), a cut after each page with p_cut."""
    out, start = [], lo
    for p in range(lo + 1, hi):
        if _chance(rng, p_cut):
            out.append((start, p))
            start = p
    out.append((start, hi))
    return out


def random_scenario(seed: int, max_order: int = 6, arch: str | None = None, faults: bool = True,
                    fork: bool = True) -> dict[str, Any]:
    """A valid random scenario (schema-valid and buildable by `scenario.from_dict`).

    ``max_order`` bounds the folio order (at most 9), ``arch`` fixes the architecture name,
    ``faults`` and ``fork`` allow fault injection and a second mm. The same arguments always
    give the same dict.
    """
    if not 0 <= max_order <= 9:
        raise ValueError(f"max_order: must be 0..9, not {max_order}")
    if arch is not None and arch not in ARCH_NAMES:
        raise ValueError(f"arch: unknown name {arch!r} (choose one of {', '.join(ARCH_NAMES)})")
    rng = random.Random(seed)
    notes: list[str] = []

    # -- architecture ------------------------------------------------------------------------
    name = arch or _choice(rng, ARCH_NAMES, [0.4, 0.45, 0.15])
    arch_doc: dict[str, Any] = {"name": name}
    if name == "arm64":
        arch_doc["page_size"] = _choice(rng, [4096, 16384, 65536], [0.6, 0.2, 0.2])
        arch_doc["bbml2"] = _chance(rng, 0.5)
    elif name == "sparc64":
        arch_doc["page_size"] = 8192
        arch_doc["adi"] = _chance(rng, 0.8)
    else:
        arch_doc["page_size"] = 4096
    if name == "x86_64" and _chance(rng, 0.3):   # x86: a one-CPU process (arm64 always
        arch_doc["defer_flush"] = False           # defers, sparc64 never does)
    a = get_arch(name, arch_doc["page_size"], arch_doc.get("bbml2", False),
                 arch_doc.get("defer_flush"), arch_doc.get("adi"))
    ps, pmd = a.page_size, a.pmd_size

    # -- folio ---------------------------------------------------------------------------------
    orders = [o for o in range(max_order + 1) if o != 1] or [0]
    order = _choice(rng, orders, [0.3 if o == 0 else 1.0 for o in orders])
    nr = 1 << order
    swapbacked = _chance(rng, 0.75)
    pfn = rng.randrange(1, 1 << 12) * max(nr, 16)
    folio: dict[str, Any] = {"order": order,
                             "pfn": hex(pfn) if _chance(rng, 0.5) else pfn,
                             "swapbacked": swapbacked,
                             "dirty": _chance(rng, 0.3 if swapbacked else 0.1)}
    if _chance(rng, 0.1):
        folio["pinned"] = True
    if _chance(rng, 0.1):
        folio["extra_refs"] = rng.randrange(1, 3)
    if swapbacked and _chance(rng, 0.3):
        folio["swapcache"] = True
    notes.append(f"order-{order} {'swap-backed' if swapbacked else 'lazyfree'} folio")

    # -- where it is mapped --------------------------------------------------------------------
    region = REGION + rng.randrange(0, 4) * pmd
    placement = _choice(rng, ["aligned", "offset", "straddle"], [0.5, 0.25, 0.25])
    if nr == 1 or nr * ps > pmd:
        placement = "aligned"
    if placement == "aligned":
        base = region + rng.randrange(1, 8) * nr * ps
    elif placement == "offset":
        base = region + rng.randrange(1, 8) * nr * ps + rng.randrange(1, nr) * ps
    else:                                          # pages [0, m) before the PMD boundary
        base = region + pmd - rng.randrange(1, nr) * ps
    notes.append({"aligned": "aligned", "offset": "mapped at an unaligned address",
                  "straddle": "straddling a PMD boundary"}[placement])

    lo = rng.randrange(1, nr) if nr > 1 and _chance(rng, 0.2) else 0
    hi = rng.randrange(lo + 1, nr) if nr - lo > 1 and _chance(rng, 0.2) else nr
    if lo:
        notes.append(f"VMA starts at page {lo}")
    if hi < nr:
        notes.append(f"VMA ends before page {hi}")

    def vmas_for(lo: int, hi: int) -> list[dict[str, Any]]:
        before = rng.randrange(0, 9) if lo == 0 else 0
        after = rng.randrange(0, 9) if hi == nr else 0
        start, end = base + (lo - before) * ps, base + (hi + after) * ps
        cuts = [start, end]
        if hi - lo >= 2 and _chance(rng, 0.15):
            m = rng.randrange(lo + 1, hi)
            cuts = [start, base + m * ps, end]
            notes.append(f"VMA split at page {m}")
        out = []
        for s, e in zip(cuts, cuts[1:], strict=False):
            v: dict[str, Any] = {"start": hex(s), "end": hex(e)}
            if _chance(rng, 0.03):
                v["locked"] = True
            if not swapbacked and _chance(rng, 0.3):   # VM_DROPPABLE folios are lazyfree
                v["droppable"] = True
            out.append(v)
        return out

    mms: list[dict[str, Any]] = [{"name": "task", "vmas": vmas_for(lo, hi)}]
    spans = {"task": (lo, hi)}
    if fork and swapbacked and _chance(rng, 0.35):
        clo = rng.randrange(lo, hi)
        chi = rng.randrange(clo + 1, hi + 1)
        mms.append({"name": "child", "vmas": vmas_for(clo, chi)})
        spans["child"] = (clo, chi)
        notes.append(f"forked child maps pages {clo}..{chi - 1}")

    # -- what each slot holds ------------------------------------------------------------------
    kinds: dict[str, list[str]] = {m: [_NONE] * nr for m in spans}
    attrs: dict[str, list[dict[str, bool]]] = {m: [{} for _ in range(nr)] for m in spans}
    p_swap = 0.07 if swapbacked else 0.0
    for m, (s, e) in spans.items():
        for rs, re_ in _runs(rng, s, e, 0.2):
            k = _choice(rng, [_PRESENT, _NONE, _SWAP, _DEVEX],
                        [0.86 - p_swap, 0.1, p_swap, 0.04])
            bits = {"write": _chance(rng, 0.7),
                    "dirty": _chance(rng, 0.5 if swapbacked else 0.1),
                    "young": _chance(rng, 0.6),
                    # soft-dirty: x86 only (no HAVE_ARCH_SOFT_DIRTY on arm64, sparc64);
                    # uffd-wp: not on sparc64 (no HAVE_ARCH_USERFAULTFD_WP)
                    "soft_dirty": name == "x86_64" and _chance(rng, 0.1),
                    "uffd_wp": name != "sparc64" and _chance(rng, 0.04),
                    "exclusive": _chance(rng, 0.5)}
            for p in range(rs, re_):
                kinds[m][p] = k
                attrs[m][p] = bits
    if all(k != _PRESENT for k in kinds["task"]):
        kinds["task"][lo] = _PRESENT
        attrs["task"][lo] = {"write": True, "dirty": False, "young": True, "soft_dirty": False,
                             "uffd_wp": False, "exclusive": False}

    # A device-exclusive entry maps an exclusive page that no one else maps.
    for m in kinds:
        for p in range(nr):
            if kinds[m][p] == _DEVEX and any(kinds[o][p] != _NONE for o in kinds if o != m):
                kinds[m][p] = _PRESENT

    # PG_anon_exclusive: runs of E/N, then the rules.
    excl = [False] * nr
    for rs, re_ in _runs(rng, 0, nr, 0.25):
        letter = _chance(rng, 0.6)
        for p in range(rs, re_):
            excl[p] = letter
    for p in range(nr):
        mapped = sum(kinds[m][p] in (_PRESENT, _DEVEX) for m in kinds)
        swapped = any(kinds[m][p] == _SWAP for m in kinds)
        if mapped > 1 or swapped:
            excl[p] = False
        if any(kinds[m][p] == _DEVEX for m in kinds):
            excl[p] = True
    folio["exclusive"] = "".join("E" if e else "N" for e in excl)

    # -- PTE runs --------------------------------------------------------------------------------
    ptes: list[dict[str, Any]] = []
    for m in kinds:
        cur: dict[str, Any] | None = None
        for p in range(nr):
            k = kinds[m][p]
            if k == _NONE:
                cur = None
                continue
            bits = attrs[m][p]
            entry: dict[str, Any] = {"mm": m, "addr": hex(base + p * ps), "page": p, "nr": 1}
            if k == _PRESENT:
                entry.update(write=bits["write"] and excl[p], dirty=bits["dirty"],
                             young=bits["young"])
            else:
                entry["kind"] = k
            if bits["soft_dirty"]:
                entry["soft_dirty"] = True
            if bits["uffd_wp"]:
                entry["uffd_wp"] = True
            if k == _SWAP:
                alone = all(kinds[o][p] == _NONE for o in kinds if o != m)
                entry["exclusive"] = bool(bits["exclusive"] and alone)
            same = (cur is not None and cur["mm"] == m and cur["page"] + cur["nr"] == p
                    and {x: y for x, y in cur.items() if x not in ("addr", "page", "nr")}
                    == {x: y for x, y in entry.items() if x not in ("addr", "page", "nr")})
            if same:
                cur["nr"] += 1
            else:
                cur = entry
                ptes.append(entry)
    if any(e.get("kind") == _DEVEX for e in ptes):
        notes.append("device-exclusive entries")
    if any(e.get("kind") == _SWAP for e in ptes):
        notes.append("swap PTEs from an earlier partial unmap")

    doc: dict[str, Any] = {"schema": SCHEMA_ID, "name": f"random scenario {seed}",
                           "description": "Generated by simcore.random_scenario: "
                                          + ", ".join(notes) + ".",
                           "arch": arch_doc, "folio": folio, "mms": mms, "ptes": ptes}

    # -- faults ----------------------------------------------------------------------------------
    if faults and _chance(rng, 0.4):
        doc["faults"] = []
        for _ in range(rng.randrange(1, 3)):
            op = _choice(rng, ["dup_swap", "pin", "arch_unmap_one"], [0.5, 0.3, 0.2])
            page = rng.randrange(0, nr)
            if op == "dup_swap":
                # folio_dup_swap() can fail only on a slot at SWAP_MAP_MAX: the page must be
                # mapped (its unmap dups the slot) and other processes must hold the rest
                mapped = [q for q in range(nr)
                          if any(kinds[m][q] in (_PRESENT, _DEVEX) for m in kinds)]
                if not swapbacked or not mapped:
                    continue
                page = mapped[rng.randrange(0, len(mapped))]
                refs = folio.setdefault("swap_refs_elsewhere", [0] * nr)
                named = sum(kinds[m][page] == _SWAP for m in kinds)
                dups = sum(kinds[m][page] in (_PRESENT, _DEVEX) for m in kinds)   # >= 1
                refs[page] = SWAP_MAP_MAX - named - rng.randrange(0, dups)
            f: dict[str, Any] = {"op": op, "page": page}
            if _chance(rng, 0.5):
                f["error"] = "EBUSY" if op == "pin" else "ENOMEM"
            doc["faults"].append(f)
        if not doc["faults"]:
            del doc["faults"]
    return doc
