"""The cover letter's benchmark as a generated workload: MADV_PAGEOUT of 256 MiB of mTHPs.

Models what the benchmark program of the series (v1/v2/v4 cover letters, "stolen from Barry")
makes the kernel do: `mmap()` 256 MiB MAP_PRIVATE|MAP_ANONYMOUS, `memset()` it (every PTE
present, writable, dirty and young; every page PG_anon_exclusive; faulted in as 64 KiB
folios, which the arm64 PTE API maps as CONT blocks), then `madvise(MADV_PAGEOUT)`, which hands
every folio to reclaim (`reclaim_pages()` → `shrink_folio_list()`): `folio_alloc_swap()`,
`folio_mark_dirty()`, then `try_to_unmap()` on each folio — 4096 folios × 16 PTEs = 65,536 PTEs.

One mm, one VMA, one page table. Setting the stage per folio with `System.settle()` would scan
the whole page table once per folio (quadratic), so the bookkeeping that `settle()` derives is
set up directly here: mapcounts, refcount = mapcount + 1 (reclaim's reference) + nr_pages (swap
cache), rss counters, swap slots, and the arm64 CONT bits (`scenario.derive_cont()` for
aligned, fully mapped, uniform blocks inside one folio — here: every block when the folio is at
least one CONT block, none otherwise). One `System` is the stage for every folio in turn: it
shares the mm, the swap device and one `Costs`. The unmap itself is `simcore.unmap.try_to_unmap`,
unchanged. Reclaim drains the deferred TLB flushes once per list of folios
(`try_to_unmap_flush()` at the end of `shrink_folio_list()`); here the pending list of the
reclaiming task is emptied every ``flush_every`` folios so memory stays bounded.

``kind="lazyfree"`` is the other workload reclaim batches (Barry Song's 2025 benchmark shape:
`memset()`, `madvise(MADV_FREE)`, then `madvise(MADV_PAGEOUT)`): MADV_FREE
(`madvise_free_pte_range()`, mm/madvise.c) clears the dirty and young bits of the PTEs, clears
the folio's dirty flag and makes it lazyfree (not swap-backed), keeping the PTEs writable and,
on arm64, CONT. Reclaim allocates no swap for it; `try_to_unmap()` drops the clean PTEs
(`ttu_anon_lazyfree_folio()`): one batch per folio since 2025 (``baseline`` and ``patched``),
one PTE per iteration before (``per-pte``). Its cost-model estimate covers the counted unmap
operations only (``estimate_scope: "unmap"``): the fixed per-folio cost is calibrated on
swap-out (swap allocation, the zero-fill check, I/O), which a lazyfree folio does not have.

Left out: everything of reclaim that is not `try_to_unmap()` (LRU isolation, swap allocation
cost, the zero-page check and I/O submission, freeing). Those are the cost model's per-folio
fixed cost (`simcore.costmodel`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from simcore.arch import Arch, get_arch
from simcore.check import Violation, check
from simcore.costs import Costs
from simcore.folio import MAX_ORDER, Folio
from simcore.mm import MM_ANONPAGES, MM_SWAPENTS, Mm, Vma
from simcore.pte import PRESENT, Pte
from simcore.swap import SwapDevice, folio_alloc_swap
from simcore.system import System
from simcore.tlb import TlbUbc
from simcore.unmap import try_to_unmap

#: Where the mapping starts (aligned far beyond any PMD size) and its first page frame.
BASE_ADDR = 0x7F0000000000
BASE_PFN = 1 << 20
#: Folios per `shrink_folio_list()` call between two `try_to_unmap_flush()` drains.
FLUSH_EVERY = 32

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


#: Peak memory of simulating one mode, per PTE and per folio of the workload: the resident
#: size measured for 1 GiB of 64 KiB and of 4 KiB folios (tests/simcore/test_workload.py checks
#: these against tracemalloc). Modes run one after the other, so this is per command too.
BYTES_PER_PTE = 220
BYTES_PER_FOLIO = 500
#: The most memory a workload may ask for: 8 GiB of 64 KiB folios (32 times the cover letter's
#: 256 MiB; tens of seconds per mode), 2.8 GiB of 4 KiB folios.
MAX_MEMORY = 512 << 20


class WorkloadError(ValueError):
    """A size or geometry the workload cannot be built with; ``field`` is "size" or "folio"."""

    def __init__(self, field: str, problem: str | None = None) -> None:
        if problem is None:                  # WorkloadError("size: ...")
            field, _, problem = field.partition(": ")
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def parse_size(text: str | int, field: str = "size") -> int:
    """"256M", "64K", "2MiB", "4096", 65536 → bytes (binary units); errors name ``field``."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    m = re.fullmatch(r"\s*(\d{1,20})\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not m:
        shown = repr(text) if len(str(text)) <= 40 else repr(str(text)[:37]) + "..."
        raise WorkloadError(field, f"cannot read {shown} (use e.g. 256M, 64K, 2MiB, 4096)")
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


def memory_estimate(nr_ptes: int, nr_folios: int) -> int:
    """Bytes simulating one mode of a workload of this many PTEs and folios takes at peak."""
    return nr_ptes * BYTES_PER_PTE + nr_folios * BYTES_PER_FOLIO


def _binary(nbytes: int) -> str:
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if nbytes >= 1 << shift:
            return f"{nbytes / (1 << shift):.3g}{unit}"
    return f"{nbytes}"


@dataclass(frozen=True)
class Workload:
    """What to build: the mapping's size, the folio size and the architecture."""

    arch: Arch
    size_bytes: int
    folio_bytes: int
    base: int = BASE_ADDR
    first_pfn: int = BASE_PFN
    flush_every: int = FLUSH_EVERY
    #: "swapout" (memset + MADV_PAGEOUT) or "lazyfree" (memset + MADV_FREE + MADV_PAGEOUT)
    kind: str = "swapout"

    @property
    def folio_pages(self) -> int:
        return self.folio_bytes // self.arch.page_size

    @property
    def order(self) -> int:
        return self.folio_pages.bit_length() - 1

    @property
    def nr_folios(self) -> int:
        return self.size_bytes // self.folio_bytes

    @property
    def nr_ptes(self) -> int:
        return self.size_bytes // self.arch.page_size

    @property
    def cont(self) -> bool:
        """Are the PTEs CONT? (arm64, and the folio covers whole aligned CONT blocks)."""
        c = self.arch.cont_ptes
        return bool(c) and self.folio_pages >= c

    @property
    def lazyfree(self) -> bool:
        return self.kind == "lazyfree"

    def describe(self) -> str:
        size = (f"{self.size_bytes >> 20} MiB" if self.size_bytes >= 1 << 20
                else f"{self.size_bytes >> 10} KiB")
        what = "lazyfree (MADV_FREE) " if self.lazyfree else ""
        return (f"{size} of {what}{self.folio_bytes >> 10} KiB folios on "
                f"{self.arch.describe()}: {self.nr_folios} folios, {self.nr_ptes} PTEs")


#: ``kind`` of `build()`
KINDS = ("swapout", "lazyfree")


def build(size_bytes: int | str, folio_bytes: int | str, arch: str = "arm64",
          page_size: int | None = None, bbml2: bool = False,
          flush_every: int = FLUSH_EVERY, kind: str = "swapout",
          defer_flush: bool | None = None) -> Workload:
    """Describe the workload; the state is made fresh by every `run()` (`instantiate()`).

    ``defer_flush`` is the x86 TLB case (None: the profile's default; see `simcore.arch`).
    """
    if kind not in KINDS:
        raise WorkloadError("kind", f"unknown {kind!r} (choose one of {', '.join(KINDS)})")
    size, fsize = parse_size(size_bytes, "size"), parse_size(folio_bytes, "folio")
    a = get_arch(arch, page_size, bbml2, defer_flush)
    ps = a.page_size
    if fsize < ps or fsize % ps or (fsize // ps) & (fsize // ps - 1):
        raise WorkloadError("folio", f"{fsize} bytes is not a power-of-two number of "
                            f"{ps}-byte pages")
    nr = fsize // ps
    if nr.bit_length() - 1 > MAX_ORDER or fsize > a.pmd_size:
        raise WorkloadError("folio", f"{fsize >> 10} KiB is larger than the model's largest "
                            f"PTE-mapped folio (order {MAX_ORDER}, at most one page table)")
    if size <= 0 or size % fsize:
        raise WorkloadError("size", f"{size} bytes is not a positive multiple of the folio "
                            f"size ({fsize} bytes)")
    need = memory_estimate(size // ps, size // fsize)
    if need > MAX_MEMORY:
        most = MAX_MEMORY // memory_estimate(nr, 1) * fsize
        raise WorkloadError("size", f"{_binary(size)} of {_binary(fsize)} folios ({size // ps:,} "
                            f"PTEs) would need about {need >> 20:,} MiB to simulate; the limit "
                            f"is {MAX_MEMORY >> 20} MiB: at most {most >> 20}M of "
                            f"{_binary(fsize)} folios with {ps >> 10}K pages")
    if flush_every < 1:
        raise WorkloadError("flush_every", "must be at least 1")
    return Workload(a, size, fsize, flush_every=flush_every, kind=kind)


@dataclass
class WorkloadState:
    """The stage after `memset()` and `folio_alloc_swap()`, just before the unmaps."""

    workload: Workload
    mm: Mm
    vma: Vma
    swap: SwapDevice
    costs: Costs
    folios: list[Folio]
    sys: System
    samples: dict[int, dict[str, Any]] = field(default_factory=dict)


def instantiate(w: Workload) -> WorkloadState:
    """Build the page table, the folios and the bookkeeping directly (no `settle()`)."""
    arch = w.arch
    nr, nf = w.folio_pages, w.nr_folios
    mm = Mm("task", arch)
    vma = mm.add_vma(w.base, w.base + w.size_bytes)
    pt = mm.pt
    cont = w.cont
    # memset(): present, writable, dirty, young (and CONT where arm64 folds) — built one page
    # table at a time, straight into the table lists. MADV_FREE then makes them clean and old.
    first_idx = w.base >> pt.shift
    used = not w.lazyfree
    for k in range(w.nr_ptes):
        key, off = divmod(first_idx + k, pt.ptrs)
        table = pt.tables.get(key)
        if table is None:
            table = pt.tables[key] = [Pte()] * pt.ptrs
        table[off] = Pte(PRESENT, w.first_pfn + k, True, used, used, False, False, cont)
    mm.counters[MM_ANONPAGES] = w.nr_ptes
    mm.counters[MM_SWAPENTS] = 0
    mm.hiwater_rss = w.nr_ptes
    swap = SwapDevice()
    swap.ensure(w.nr_ptes)
    folios = []
    for i in range(nf):
        f = Folio(order=w.order, first_pfn=w.first_pfn + i * nr,
                  anon_exclusive=[True] * nr,
                  page_mapcount=[1] * nr)
        f.mapcount = nr
        if w.lazyfree:                     # MADV_FREE: clean, not swap-backed, no swap slots
            f.swapbacked = False
        else:
            folio_alloc_swap(f, swap)      # shrink_folio_list(): slots + swap cache ...
            f.dirty = True                 # ... then folio_mark_dirty()
        f.refcount = f.expected_refcount()  # nr mappings + 1 (reclaim) [+ nr (swap cache)]
        folios.append(f)
    costs = Costs()
    sys = System(arch, folios[0])
    sys.swap = swap
    sys.mms = {mm.name: mm}
    sys.costs = costs
    sys.ubc = TlbUbc()
    return WorkloadState(w, mm, vma, swap, costs, folios, sys)


def _drain(ubc: TlbUbc) -> None:
    """`try_to_unmap_flush()`: the pending flushes are done; forget them."""
    ubc.pending.clear()
    ubc.flushed.clear()
    ubc.flush_required = False
    ubc.writable = False


def unmap_all(state: WorkloadState, mode: str, sample: tuple[int, ...] = ()) -> bool:
    """`try_to_unmap()` on every folio in address order; True if every one was unmapped.

    Folios whose index is in ``sample`` get their initial PTEs, exclusivity and TLB records
    kept so that `simcore.check.check` can judge them afterwards (`sampled_violations()`).
    """
    w = state.workload
    sys, vma, ubc = state.sys, state.vma, state.sys.ubc
    fbytes, base, every = w.folio_bytes, w.base, w.flush_every
    want = set(sample)
    ok = True
    for i, folio in enumerate(state.folios):
        addr = base + i * fbytes
        sys.folio = folio
        sys.mappings = [(vma, addr)]
        if i in want:
            rec = _record_before(state, folio, addr)
            ok &= try_to_unmap(sys, mode)
            rec["pending"] = ubc.pending[rec["np"]:]
            rec["flushed"] = ubc.flushed[rec["nf"]:]
            state.samples[i] = rec
        else:
            ok &= try_to_unmap(sys, mode)
        if (i + 1) % every == 0:
            _drain(ubc)
    _drain(ubc)
    return bool(ok)


def _record_before(state: WorkloadState, folio: Folio, addr: int) -> dict[str, Any]:
    ps = state.workload.arch.page_size
    mm = state.mm
    return {"addr": addr,
            "ptes": {(mm.name, a): mm.pt.get(a)
                     for a in range(addr, addr + folio.nr_pages * ps, ps)},
            "exclusive": list(folio.anon_exclusive),
            "folio": {"mapcount": folio.mapcount, "refcount": folio.refcount,
                      "dirty": folio.dirty, "swapbacked": folio.swapbacked,
                      "pincount": folio.pincount, "exclusive": folio.exclusive_string(),
                      "page_mapcount": [int(x) for x in folio.page_mapcount]},
            "mms": {mm.name: dict(mm.counters)},
            "swap_counts": ([0] * folio.nr_pages if folio.swap_offset < 0 else
                            [int(c) for c in state.swap.counts[
                                folio.swap_offset: folio.swap_offset + folio.nr_pages]]),
            "np": len(state.sys.ubc.pending), "nf": len(state.sys.ubc.flushed)}


def sampled_violations(state: WorkloadState) -> dict[int, list[Violation]]:
    """`simcore.check.check` on each sampled folio, against the final whole-mm state."""
    out = {}
    for i, rec in sorted(state.samples.items()):
        s = System(state.workload.arch, state.folios[i])
        s.swap = state.swap
        s.mms = {state.mm.name: state.mm}
        s.mappings = [(state.vma, rec["addr"])]
        s.ubc = TlbUbc(pending=list(rec["pending"]), flushed=list(rec["flushed"]))
        s.initial_ptes = rec["ptes"]
        s.initial_exclusive = rec["exclusive"]
        s.initial = {"folio": rec["folio"], "mms": rec["mms"], "swap_counts": rec["swap_counts"]}
        f = state.folios[i]
        out[i] = check(s, f.mapcount == 0)
    return out


def final_consistency(state: WorkloadState) -> list[str]:
    """A whole-workload check in one pass (cheap enough for every folio).

    Every slot holds the swap PTE of its own page (offset = folio->swap + i, exclusive marker
    set: every page was exclusive), every slot count is 1, every folio has mapcount 0,
    refcount 1 + nr_pages (reclaim's reference and the swap cache) and no exclusive page left,
    and the rss counters equal the page table. Lazyfree: every slot is none, no swap entry, every
    folio has mapcount 0, refcount 1 and is still clean and lazyfree. Only meaningful after a
    fault-free run.
    """
    w = state.workload
    if w.lazyfree:
        left = sum(1 for _a, _p in state.mm.pt.items())
        out = [f"{left} PTEs left, expected none"] if left else []
        if state.mm.counters[MM_ANONPAGES] or state.mm.counters[MM_SWAPENTS]:
            out.append(f"rss counters {state.mm.counters}, expected 0")
        bad = next((i for i, f in enumerate(state.folios)
                    if f.mapcount or f.refcount != 1 or f.swapbacked or f.dirty), None)
        if bad is not None:
            f = state.folios[bad]
            out.append(f"folio {bad}: mapcount {f.mapcount}, refcount {f.refcount}, "
                       f"swapbacked {f.swapbacked}, dirty {f.dirty}")
        return out
    ps = w.arch.page_size
    problems: list[str] = []
    swap_ptes = present = 0
    for addr, pte in state.mm.pt.items():
        k = (addr - w.base) // ps
        if pte.kind == "swap":
            swap_ptes += 1
            if pte.swp_offset != k or not pte.exclusive:
                problems.append(f"slot {k}: swap PTE names slot {pte.swp_offset} "
                                f"(exclusive={pte.exclusive})")
        elif pte.kind == "present":
            present += 1
    if swap_ptes != w.nr_ptes:
        problems.append(f"{swap_ptes} swap PTEs, expected {w.nr_ptes} ({present} present)")
    counts = state.swap.counts[: w.nr_ptes]
    wrong = sum(1 for c in counts if c != 1)
    if wrong:
        problems.append(f"{wrong} swap slots without exactly one count")
    if state.mm.counters[MM_ANONPAGES] != present or state.mm.counters[MM_SWAPENTS] != swap_ptes:
        problems.append(f"rss counters {state.mm.counters} vs {present} present, "
                        f"{swap_ptes} swap PTEs")
    nr = w.folio_pages
    for i, f in enumerate(state.folios):
        if f.mapcount or f.refcount != 1 + nr or any(f.anon_exclusive) or not f.dirty:
            problems.append(f"folio {i}: mapcount {f.mapcount}, refcount {f.refcount}, "
                            f"exclusive {f.exclusive_string()}, dirty {f.dirty}")
            break
    return problems


def sample_indices(nr_folios: int) -> tuple[int, ...]:
    """First, middle and last folio."""
    return tuple(sorted({0, nr_folios // 2, nr_folios - 1}))


def counters(w: Workload, mode: str) -> dict[str, int]:
    """The summed cost counters of one run (no timing, no checks)."""
    st = instantiate(w)
    unmap_all(st, mode)
    return st.costs.as_dict()


def run(workload: Workload, mode: str, check_samples: bool = True,
        estimate: bool = True) -> dict[str, Any]:
    """Build the stage fresh, unmap every folio in ``mode``, and report.

    ``seconds`` is the wall time of the unmaps alone (the simulated MADV_PAGEOUT);
    ``build_seconds`` that of building the stage. ``estimate_ns`` is the cost model's
    estimate of the kernel's time for the whole reclaim (`simcore.costmodel`).
    """
    w = workload
    t0 = time.perf_counter()
    st = instantiate(w)
    t1 = time.perf_counter()
    samples = sample_indices(w.nr_folios) if check_samples else ()
    ok = unmap_all(st, mode, samples)
    t2 = time.perf_counter()
    costs = st.costs.as_dict()
    out: dict[str, Any] = {
        "mode": mode, "kind": w.kind, "arch": w.arch.name, "page_size": w.arch.page_size,
        "tlb": w.arch.tlb_policy,
        "bbml2": w.arch.bbml2, "size_bytes": w.size_bytes, "folio_bytes": w.folio_bytes,
        "nr_folios": w.nr_folios, "nr_ptes": w.nr_ptes, "ok": ok, "costs": costs,
        "seconds": t2 - t1, "build_seconds": t1 - t0,
    }
    if check_samples:
        viol = sampled_violations(st)
        out["violations_sampled"] = {i: [str(v) for v in vs] for i, vs in viol.items()}
        out["consistency"] = final_consistency(st)
    if estimate:
        from simcore.costmodel import estimate_ns

        # lazyfree: only the counted unmap work (the fixed cost is swap-out's)
        out["estimate_ns"] = estimate_ns(costs, w.arch.name,
                                         0 if w.lazyfree else w.nr_folios,
                                         folio_bytes=w.folio_bytes)
        out["estimate_scope"] = "unmap" if w.lazyfree else "reclaim"
    return out
