"""What the lab does to the kernel: each probe runs in a child process (`kernlab.worker`),
sets up anonymous memory, drives reclaim and reads what the kernel did. Probes return plain
data (JSON); the experiments (`kernlab.experiments`) turn it into comparisons with simcore.

Reclaim is driven two ways: ``MADV_PAGEOUT`` (mm/madvise.c: `reclaim_pages()`, which skips
folios mapped by more than one process and splits large folios the range, a VMA or a page
table cuts), and memory-cgroup reclaim (the whole `shrink_folio_list()` with the full rmap
walk), retried a bounded number of times because LRU aging decides what a pass takes.
"""

from __future__ import annotations

import ctypes
import os
import time

from kernlab import counters, mem, pagemap
from kernlab.counters import region
from kernlab.trace import Tracer

PAGE = mem.PAGE_SIZE
MEMCG_PASSES = 8


def root() -> bool:
    return os.geteuid() == 0


# -- reading ------------------------------------------------------------------------------------
def snap(addr: int, npages: int, pid: int | str = "self") -> list[dict]:
    return [{"kind": e.kind, "pfn": e.pfn, "off": e.swap_offset, "type": e.swap_type,
             "uffd_wp": e.uffd_wp} for e in pagemap.read(addr, npages, pid, PAGE)]


def flags(s: list[dict]) -> list[dict | None]:
    """kpageflags of each present page of a snapshot (root), None elsewhere."""
    if not root():
        return [None] * len(s)
    pfns = [p["pfn"] for p in s if p["kind"] == "present"]
    fl = iter(pagemap.read_kpageflags(pfns))
    return [next(fl) if p["kind"] == "present" else None for p in s]


def folio_sizes(s: list[dict]) -> list[int] | None:
    """Pages per folio along a snapshot (root: kpageflags), or None without root."""
    if not root():
        return None
    ents = [pagemap.PagemapEntry((1 << 63) | p["pfn"]) if p["kind"] == "present"
            else pagemap.PagemapEntry(0) for p in s]
    fl = [f or {"compound_tail": False} for f in flags(s)]
    return [n for _, n in pagemap.folio_runs(ents, fl)]


def stats(sizes) -> dict:
    return {str(s): counters.mthp_stats(s) for s in sizes if s > PAGE}


def stats_delta(after: dict, before: dict) -> dict:
    return {k: counters.delta(after[k], before[k]) for k in after}


def memcg_reclaim(memcg: tuple[str, int], done, pids=("self",),
                  passes: int = MEMCG_PASSES) -> int:
    """Reclaim the memory cgroup until ``done()`` (bounded); returns the passes it took, -1
    if it never was.

    Reclaim keeps a folio whose PTEs were recently accessed (`folio_check_references()`
    activates a folio referenced through more than one VMA), so each pass first clears the
    accessed bits of the processes ``pids`` (``/proc/PID/clear_refs``, their own state only):
    LRU aging done from user space.
    """
    path, version = memcg
    for i in range(1, passes + 1):
        for pid in pids:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("1")
        try:
            if version == 1:
                with open(os.path.join(path, "memory.force_empty"), "w") as f:
                    f.write("0")
            else:
                with open(os.path.join(path, "memory.reclaim"), "w") as f:
                    f.write("1G")
        except OSError:
            pass  # EBUSY / EAGAIN: it could not reclaim everything; check what it did
        if done():
            return i
        time.sleep(0.05)
    return -1


# -- setting up ---------------------------------------------------------------------------------
def alloc(nfolios: int, size: int, offset: int = 0, byte: int | None = None) -> int:
    """``nfolios`` folios of ``size`` bytes (MADV_HUGEPAGE unless 4K), touched and filled."""
    length = nfolios * size
    addr = mem.map_aligned(length, max(size, PAGE), hugepage=size > PAGE, offset=offset)
    if size == PAGE:
        mem.madvise(addr, length, mem.MADV_NOHUGEPAGE)
    mem.fill(addr, length, byte)
    return addr


def check_folios(addr: int, nfolios: int, size: int, fault_delta: int | None) -> str | None:
    """Why the memory is not ``nfolios`` folios of ``size`` bytes, or None if it is."""
    n = size // PAGE
    sizes = folio_sizes(snap(addr, nfolios * n))
    if sizes is not None:
        if sizes != [n] * nfolios:
            return (f"the kernel did not allocate {nfolios} folios of {size // 1024}K "
                    f"(folios of {sorted(set(sizes))} pages)")
        return None
    if size > PAGE and fault_delta != nfolios:
        return (f"mTHP anon_fault_alloc counted {fault_delta} {size // 1024}K folios, "
                f"not {nfolios}")
    return None


def _fault_alloc(size: int) -> int:
    return counters.mthp_stats(size).get("anon_fault_alloc", 0) if size > PAGE else 0


def setup(nfolios: int, size: int, offset: int = 0, byte: int | None = None
          ) -> tuple[int, str | None]:
    """`alloc` and `check_folios`: (address, why it is not what was asked, or None)."""
    f0 = _fault_alloc(size)
    addr = alloc(nfolios, size, offset, byte)
    return addr, check_folios(addr, nfolios, size, _fault_alloc(size) - f0)


def pageout(addr: int, length: int, tracer: str | None = None) -> tuple[list, int]:
    """MADV_PAGEOUT of the range, traced if asked; (events, thread CPU ns)."""
    t = Tracer(tracer) if tracer else None
    if t:
        # A forked child shares the lab's pages copy-on-write: the first write to each one
        # faults and flushes a TLB entry. Run the same path once on a scratch page, untraced
        # in effect, so that those faults happen before the events that are counted.
        scratch = alloc(1, PAGE)
        t.start(os.getpid())
        mem.madvise(scratch, PAGE, mem.MADV_PAGEOUT)
        mem.thread_cpu_ns()
        t.stop()
        mem.munmap(scratch, PAGE)
        t.start(os.getpid())
    c0 = mem.thread_cpu_ns()
    try:
        mem.madvise(addr, length, mem.MADV_PAGEOUT)
    finally:
        c1 = mem.thread_cpu_ns()
        events = t.stop() if t else []
    return [(e.name, e.fields) for e in events], c1 - c0


# -- the probes ---------------------------------------------------------------------------------
def probe_swapout(size: int, nfolios: int, sizes: list[int], tracer: str | None = None,
                  lazyfree: bool = False, redirty: int | None = None) -> dict:
    """Folios of ``size`` → (MADV_FREE, a write to page ``redirty``) → MADV_PAGEOUT (twice
    when redirtied)."""
    addr, bad = setup(nfolios, size)
    if bad:
        return {"skip": bad}
    length, npages = nfolios * size, nfolios * size // PAGE
    before = snap(addr, npages)
    if lazyfree:
        mem.madvise(addr, length, mem.MADV_FREE)
        if redirty is not None:
            for i in range(nfolios):
                mem.write_byte(addr + i * size + redirty * PAGE)
    st0, vm0, r0 = stats(sizes), counters.vmstat(), region(addr, addr + length)
    events, cpu = pageout(addr, length, tracer)
    st1, vm1, r1 = stats(sizes), counters.vmstat(), region(addr, addr + length)
    after = snap(addr, npages)
    out = {"addr": addr, "npages": npages, "before": before, "after": after,
           "after_flags": [f and {k: f[k] for k in ("swapbacked", "dirty")}
                           for f in flags(after)],
           "region": [r0, r1], "mthp": stats_delta(st1, st0), "vmstat": counters.delta(vm1, vm0),
           "events": events, "cpu_ns": cpu}
    if redirty is not None:
        r2 = region(addr, addr + length)
        mem.madvise(addr, length, mem.MADV_PAGEOUT)
        out["second"] = {"after": snap(addr, npages), "region": [r2, region(addr, addr + length)]}
    return out


def probe_fork(size: int, nfolios: int, memcg: tuple[str, int] | None) -> dict:
    """Folios shared with a forked child: MADV_PAGEOUT, then memory-cgroup reclaim."""
    addr, bad = setup(nfolios, size)
    if bad:
        return {"skip": bad}
    length, npages = nfolios * size, nfolios * size // PAGE
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    os.close(r)
    try:
        before = {"parent": snap(addr, npages), "child": snap(addr, npages, child)}
        mem.madvise(addr, length, mem.MADV_PAGEOUT)
        after_pageout = {"parent": snap(addr, npages), "child": snap(addr, npages, child)}
        out = {"addr": addr, "npages": npages, "before": before, "after_pageout": after_pageout}
        if memcg:
            r0 = {"parent": region(addr, addr + length), "child": region(addr, addr + length,
                                                                          child)}
            out["passes"] = memcg_reclaim(memcg, lambda: not any(
                p["kind"] == "present" for p in snap(addr, npages) + snap(addr, npages, child)),
                ("self", child))
            out["after"] = {"parent": snap(addr, npages), "child": snap(addr, npages, child)}
            out["region"] = {mm: [r0[mm], region(addr, addr + length, pid)]
                             for mm, pid in (("parent", "self"), ("child", child))}
        return out
    finally:
        os.write(w, b"x")
        os.close(w)
        os.waitpid(child, 0)


def probe_half_exclusive(size: int, patterns: list[int], sizes: list[int]) -> dict:
    """Folios shared by fork; the child exits; the parent rewrites the first ``patterns[i]``
    pages of folio i (reusing them: they become exclusive again). Swap out, then read one page
    that was not rewritten: the kernel swaps a folio back in whole only when all its swap PTEs
    carry the same exclusive marker."""
    n = size // PAGE
    nf = len(patterns)
    addr, bad = setup(nf, size)
    if bad:
        return {"skip": bad}
    length = nf * size
    pfns0 = [p["pfn"] for p in snap(addr, nf * n)]
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    for i, k in enumerate(patterns):
        for j in range(k):
            mem.write_byte(addr + i * size + j * PAGE + 8, 0x33)
    mid = snap(addr, nf * n)
    if [p["pfn"] for p in mid] != pfns0:
        return {"skip": "the kernel copied rewritten pages instead of reusing the folio"}
    mem.madvise(addr, length, mem.MADV_PAGEOUT)
    swapped = snap(addr, nf * n)
    probes = []
    for i in range(nf):
        st0 = stats(sizes)
        mem.read_byte(addr + i * size + (n - 1) * PAGE)  # the last page: never rewritten
        probes.append({"mthp": stats_delta(stats(sizes), st0),
                       "after": snap(addr + i * size, n)})
    return {"addr": addr, "npages": nf * n, "before": mid, "swapped": swapped,
            "swapin": probes}


def probe_layout(size: int, layout: str, memcg: tuple[str, int] | None, sizes: list[int]
                 ) -> dict:
    """One folio whose mapping is cut: ``mprotect`` (three VMAs), ``unaligned`` (mremap'd to
    a non-folio-aligned address), ``pmd`` (mremap'd across a 2 MiB boundary), ``midfolio`` (its
    second half mremap'd elsewhere). Then MADV_PAGEOUT where it keeps the folio whole, else
    memory-cgroup reclaim."""
    n = size // PAGE
    addr, bad = setup(1, size)
    if bad:
        return {"skip": bad}
    pieces = [(addr, 0, n)]  # (virtual address, first folio page, pages)
    pmd = 512 * PAGE
    if layout == "mprotect":
        q = n // 4
        mem.mprotect(addr + q * PAGE, 2 * q * PAGE, mem.PROT_READ)
        pieces = [(addr, 0, q), (addr + q * PAGE, q, 2 * q), (addr + 3 * q * PAGE, 3 * q, q)]
    elif layout in ("unaligned", "pmd"):
        if layout == "unaligned":
            dst = mem.reserve(size + 2 * PAGE, size) + PAGE
        else:
            dst = mem.reserve(2 * pmd, pmd) + pmd - size // 2
        new = mem.mremap(addr, size, dst)
        pieces = [(new, 0, n)]
    elif layout == "midfolio":
        h = n // 2
        dst = mem.reserve(size, size)
        mem.mremap(addr + h * PAGE, h * PAGE, dst)
        pieces = [(addr, 0, h), (dst, h, h)]
    else:
        raise ValueError(f"unknown layout {layout!r}")
    readonly = {1} if layout == "mprotect" else set()

    def take():
        return [snap(a, k) for a, _, k in pieces]

    before = take()
    bad = check_layout(before, n)
    if bad:
        return {"skip": bad}
    vmas = sorted({tuple(v) for a, _, k in pieces for v in region(a, a + k * PAGE)["vmas"]})
    r0 = [region(a, a + k * PAGE) for a, _, k in pieces]
    st0 = stats(sizes)
    how = "madv_pageout"
    if layout == "unaligned":
        mem.madvise(pieces[0][0], size, mem.MADV_PAGEOUT)
    else:
        if memcg is None:
            return {"skip": "needs memory-cgroup reclaim (MADV_PAGEOUT would split the folio)"}
        how = "memcg"
        passes = memcg_reclaim(memcg, lambda: not any(
            p["kind"] == "present" for s in take() for p in s))
    after = take()
    out = {"pieces": [[a, first, k, i in readonly] for i, (a, first, k) in enumerate(pieces)],
           "vmas": vmas, "before": before, "after": after, "how": how,
           "region": [r0, [region(a, a + k * PAGE) for a, _, k in pieces]],
           "mthp": stats_delta(stats(sizes), st0)}
    if how == "memcg":
        out["passes"] = passes
    return out


def check_layout(before: list[list[dict]], n: int) -> str | None:
    pfns = [p["pfn"] for s in before for p in s]
    if any(p is None for p in pfns):
        return "a page of the folio is not present after the move"
    if root() and (sorted(pfns) != list(range(min(pfns), min(pfns) + n)) or min(pfns) % n):
        return "the folio was split or copied by the move"
    return None


# userfaultfd (include/uapi/linux/userfaultfd.h)
UFFD_API = 0xAA
NR_USERFAULTFD = {"x86_64": 323, "aarch64": 282}.get(os.uname().machine, 323)
UFFD_USER_MODE_ONLY = 1
UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1 << 0
UFFDIO_REGISTER_MODE_WP = 1 << 1
UFFDIO_WRITEPROTECT_MODE_WP = 1 << 0


def _iowr(nr: int, size: int) -> int:
    return (3 << 30) | (size << 16) | (UFFD_API << 8) | nr


class _UffdioApi(ctypes.Structure):
    _fields_ = [("api", ctypes.c_uint64), ("features", ctypes.c_uint64),
                ("ioctls", ctypes.c_uint64)]


class _UffdioRange(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint64), ("len", ctypes.c_uint64)]


class _UffdioRegister(ctypes.Structure):
    _fields_ = [("range", _UffdioRange), ("mode", ctypes.c_uint64), ("ioctls", ctypes.c_uint64)]


class _UffdioWriteprotect(ctypes.Structure):
    _fields_ = [("range", _UffdioRange), ("mode", ctypes.c_uint64)]


def uffd_writeprotect(addr: int, length: int) -> int:
    """Register the range with a userfaultfd in write-protect mode and write-protect it."""
    flags = os.O_CLOEXEC | os.O_NONBLOCK | (0 if root() else UFFD_USER_MODE_ONLY)
    fd = mem.syscall(NR_USERFAULTFD, flags)
    api = _UffdioApi(UFFD_API, UFFD_FEATURE_PAGEFAULT_FLAG_WP, 0)
    mem.ioctl(fd, _iowr(0x3F, ctypes.sizeof(_UffdioApi)), api)
    reg = _UffdioRegister(_UffdioRange(addr, length), UFFDIO_REGISTER_MODE_WP, 0)
    mem.ioctl(fd, _iowr(0x00, ctypes.sizeof(_UffdioRegister)), reg)
    wp = _UffdioWriteprotect(_UffdioRange(addr, length), UFFDIO_WRITEPROTECT_MODE_WP)
    mem.ioctl(fd, _iowr(0x06, ctypes.sizeof(_UffdioWriteprotect)), wp)
    return fd


def probe_uffd_wp(size: int, nfolios: int) -> dict:
    addr, bad = setup(nfolios, size)
    if bad:
        return {"skip": bad}
    length, npages = nfolios * size, nfolios * size // PAGE
    try:
        fd = uffd_writeprotect(addr, length)
    except OSError as e:
        return {"skip": f"userfaultfd write-protect unavailable ({e})"}
    try:
        before = snap(addr, npages)
        r0 = region(addr, addr + length)
        mem.madvise(addr, length, mem.MADV_PAGEOUT)
        return {"addr": addr, "npages": npages, "before": before, "after": snap(addr, npages),
                "region": [r0, region(addr, addr + length)]}
    finally:
        os.close(fd)


def probe_timing(size: int, total: int, repeat: int, perf: bool = False) -> dict:
    """The cover letter's workload: ``total`` bytes of ``size`` folios, memset 0, then
    MADV_PAGEOUT alone, timed as this thread's CPU time; median of ``repeat``."""
    nf = total // size
    cpus, walls, checks = [], [], []
    for _ in range(repeat):
        f0 = _fault_alloc(size)
        addr = alloc(nf, size, byte=0)
        got = _fault_alloc(size) - f0
        checks.append(got)
        t0 = time.perf_counter()
        c0 = mem.thread_cpu_ns()
        mem.madvise(addr, total, mem.MADV_PAGEOUT)
        c1 = mem.thread_cpu_ns()
        walls.append(time.perf_counter() - t0)
        cpus.append((c1 - c0) / 1e9)
        left = sum(p["kind"] == "present" for p in snap(addr, total // PAGE))
        mem.munmap(addr, total)
        if left:
            return {"skip": f"{left} pages stayed mapped after MADV_PAGEOUT (no swap?)"}
    if size > PAGE and any(c != nf for c in checks):
        return {"skip": f"the kernel allocated {checks} {size // 1024}K folios, not {nf}"}
    return {"cpu": cpus, "wall": walls, "nfolios": nf}
