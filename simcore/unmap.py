"""`try_to_unmap_one()` and `try_to_unmap()` for anonymous folios, in three modes.

Models mm/rmap.c:

* ``per-pte`` — every folio one PTE per loop iteration (kernels before 2025);
* ``baseline`` — lazyfree folios batched (Barry Song, 2025), anon swap-backed folios one PTE at a
  time: the kernel just before the series, in the shape of the merged preparatory refactor
  (`ttu_anon_folio()` dispatcher, `ttu_anon_lazyfree_folio()`, `ttu_anon_swapbacked_folio()`,
  the caller restoring the batch and the `finish_unmap` label doing the rmap accounting);
* ``patched`` — Dev Jain's v4 12/12: anon swap-backed folios batched too, the swap work done
  per sub-batch of equal exclusivity by `__ttu_anon_folio()`, which restores the failed tail and
  accounts the part that succeeded itself (`finish_folio_unmap()`). On sparc64 the anon
  swap-backed case stays at one PTE. The per-sub-batch order (dup → arch_unmap_one → share →
  counters → swap PTEs) and the all-or-nothing batched dup are INFERRED from the commit message
  and the baseline; the full v4 12/12 diff was not readable. Whether v4 raises the swap counts
  per sub-batch or once for the whole batch is not in any readable source either: the default
  is per sub-batch (``swap_dup="sub-batch"``), the other reading is ``swap_dup="batch"``.

The rmap walk (`try_to_unmap()` → `rmap_walk_anon()`, mm/rmap.c) visits the VMAs in anon_vma
interval-tree order — increasing `vm_pgoff`, equal keys in insertion order, i.e. fork order,
parent first — and stops at the first `try_to_unmap_one()` that returns false or as soon as the
folio is no longer mapped (`.done = folio_not_mapped`). A VM_LOCKED VMA (reclaim never passes
TTU_IGNORE_MLOCK) is walked to its end counting PTEs; the folio is mlocked
(`mlock_vma_folio()`) only if all its pages were mapped there and no page table was crossed, and
`try_to_unmap_one()` returns false either way (checked in the 2026 `try_to_unmap_one()` and
`rmap_walk_anon()`).

Lazyfree folios follow Barry Song's 2025 rule in ``baseline`` and ``patched`` (only a redirtied
folio becomes swap-backed again) and the older rule in ``per-pte`` (any failure — dirty or an
extra reference — sets it swap-backed again, unless the VMA is VM_DROPPABLE; read in a 2024
`try_to_unmap_one()`: ``if (ref_count == 1 + map_count && (!dirty || VM_DROPPABLE)) discard;
... if (!(vma->vm_flags & VM_DROPPABLE)) folio_set_swapbacked(folio);``), changed by "mm: Set
folio swapbacked iff folios are dirty in try_to_unmap_one" (Barry Song, v4 1/4, 2025-02-14).

Every iteration starts with ``nr_pages = 1`` (the CVE-2026-63950 fix) and non-present
(device-exclusive) entries are never batched. Left out: PMD-mapped THPs, hugetlb, hwpoison,
file folios, uffd-wp markers, the MMU notifier (called once per VMA, unchanged by the series).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simcore.batch import MODES, folio_unmap_pte_batch
from simcore.contpte import get_and_clear_ptes, ptep_get, set_ptes
from simcore.costs import Costs
from simcore.exclusive import exclusive_sub_batches
from simcore.folio import folio_mark_dirty
from simcore.mm import MM_ANONPAGES, MM_SWAPENTS, Mm, Vma, add_mm_counter, update_hiwater_rss
from simcore.pte import PTE_NONE, Pte, pte_advance_pfn, swp_pte_prepare
from simcore.rmap import finish_folio_unmap, folio_try_share_anon_rmap_ptes
from simcore.sparc import arch_unmap_one
from simcore.swap import folio_dup_swap, folio_put_swap
from simcore.system import System
from simcore.tlb import flush_tlb_range, set_tlb_ubc_flush_pending, tlb_batch_add
from simcore.trace import Trace

#: How v4 12/12 raises the swap counts of a batch (INFERRED either way; see the module doc).
SWAP_DUP_UNITS = ("sub-batch", "batch")


class ModeError(ValueError):
    """An unknown mode or bug-zoo variant."""


@dataclass
class Ctx:
    """What one `try_to_unmap()` call carries through the functions below."""

    sys: System
    mode: str
    bugs: frozenset[str] = frozenset()
    trace: Trace | None = None
    log: list[str] = field(default_factory=list)
    #: "sub-batch": folio_dup_swap() per exclusivity sub-batch; "batch": once per batch
    swap_dup: str = "sub-batch"
    #: ``sys.costs``, looked up once (the hot path reads it several times per PTE)
    costs: Costs = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.costs = self.sys.costs

    def emit(self, *args, **kw) -> None:
        if self.trace is not None:
            self.trace.emit(*args, **kw)


def _ps(mm: Mm) -> int:
    return mm.arch.page_size


def mm_prepare_for_swap_entries(mm: Mm, costs: Costs) -> None:
    """Put the mm on init_mm's mmlist before its first swap entry (for swapoff)."""
    if not mm.on_mmlist:
        mm.on_mmlist = True
        costs.atomic_mm += 1


def write_swap_ptes(ctx: Ctx, mm: Mm, addr: int, idx: int, nr: int, old: Pte,
                    exclusive: bool) -> tuple[int, int]:
    """Write nr swap PTEs for pages [idx, idx+nr): slot of page i is folio->swap + i.

    Returns the first and last swap offset written (for the trace).
    """
    folio, pt = ctx.sys.folio, mm.pt
    per_page_offset = "no-swap-offset" not in ctx.bugs
    for i in range(nr):
        offset = folio.swap_offset + idx + (i if per_page_offset else 0)
        pt.set(pt.ptep(addr, i), swp_pte_prepare(folio.swap_type, offset, old, exclusive))
    ctx.costs.pte_writes += nr
    return folio.swap_offset + idx, offset


def _pin_if_due(ctx: Ctx, idx: int, nr: int) -> None:
    if not ctx.sys.faults.pin:       # (no pin fault left: skip the lookup)
        return
    # every pin fault on a page of this unit fires now (each fires once, when the unmap first
    # reaches its page; a batched unit reaches all its pages at once)
    while (page := ctx.sys.faults.take("pin", idx, nr)) is not None:
        folio = ctx.sys.folio
        folio.pincount += 1
        folio.refcount += 1
        ctx.emit("fault", "try_grab_folio", f"GUP-fast pins the folio (fault on page {page})",
                 page=page)


def _restore(ctx: Ctx, mm: Mm, addr: int, pteval: Pte, nr: int) -> None:
    """The failed tail goes back as present PTEs from the merged template (`set_ptes()`)."""
    folio = ctx.sys.folio
    set_ptes(mm.pt, addr, pteval, nr, ctx.costs, mm.arch.cont_ptes, folio.first_pfn,
             folio.nr_pages)
    ctx.emit("restore", "set_ptes", f"restore {nr} present PTE(s) from the batch template",
             mm=mm.name, addr=addr, page=pteval.pfn - folio.first_pfn, nr=nr)


# -- baseline: the per-page swap-backed path -------------------------------------------------
def ttu_anon_swapbacked_folio(ctx: Ctx, vma: Vma, idx: int, addr: int, pteval: Pte,
                              anon_exclusive: bool) -> bool:
    """`ttu_anon_swapbacked_folio()` (merged refactor): one page; False = caller restores."""
    folio, mm, costs, faults = ctx.sys.folio, vma.mm, ctx.costs, ctx.sys.faults
    tracing = ctx.trace is not None     # (looked up once: tested at every step)
    costs.sub_batches += 1
    if faults.pin:
        _pin_if_due(ctx, idx, 1)
    costs.dup_calls += 1
    if _dup_swap(ctx, idx, 1) < 0:
        ctx.emit("fail", "folio_dup_swap", f"swap count of page {idx} is at SWAP_MAP_MAX and its "
                 "count continuation cannot be allocated (-ENOMEM)",
                 mm=mm.name, addr=addr, page=idx, nr=1)
        return False
    costs.atomic_swap += 1
    if tracing:
        ctx.emit("dup", "folio_dup_swap", f"swap count +1 for page {idx}", mm=mm.name, page=idx,
                 nr=1)
    if arch_unmap_one(mm, addr, pteval, costs,
                      fail=bool(faults.arch_unmap_one)
                      and faults.take("arch_unmap_one", idx, 1) is not None) < 0:
        _put_swap(ctx, idx, 1)
        ctx.emit("fail", "arch_unmap_one", f"ADI tag storage for page {idx} not allocated",
                 mm=mm.name, addr=addr, page=idx, nr=1)
        return False
    if tracing and mm.arch.has_arch_unmap_one and mm.arch.adi:
        ctx.emit("arch_unmap_one", "adi_save_tags",
                 f"save ADI tags of pfn {pteval.pfn:#x} for {addr:#x}", mm=mm.name, addr=addr,
                 page=idx, nr=1)
    if anon_exclusive:
        if folio_try_share_anon_rmap_ptes(folio, idx, 1, costs) < 0:
            _put_swap(ctx, idx, 1)
            ctx.emit("fail", "folio_try_share_anon_rmap_pte",
                     f"page {idx} is exclusive but the folio may be pinned (-EBUSY)",
                     mm=mm.name, addr=addr, page=idx, nr=1)
            return False
        if tracing:
            ctx.emit("share", "folio_try_share_anon_rmap_pte",
                     f"clear PG_anon_exclusive of page {idx} (2 barriers)", page=idx, nr=1)
    mm_prepare_for_swap_entries(mm, costs)
    add_mm_counter(mm, MM_ANONPAGES, -1)         # dec_mm_counter()
    add_mm_counter(mm, MM_SWAPENTS, 1)           # inc_mm_counter()
    costs.atomic_mm += 2
    if tracing:
        ctx.emit("counters", "add_mm_counter", "MM_ANONPAGES -1, MM_SWAPENTS +1", mm=mm.name, nr=1)
    first, _last = write_swap_ptes(ctx, mm, addr, idx, 1, pteval, anon_exclusive)
    if tracing:
        ctx.emit("swap_ptes", "set_pte_at",
                 f"swap PTE for page {idx}{' (exclusive)' if anon_exclusive else ''} "
                 f"naming slot {first}",
                 mm=mm.name, addr=addr, page=idx, nr=1)
    return True


def _dup_swap(ctx: Ctx, idx: int, nr: int) -> int:
    """`folio_dup_swap()` on pages [idx, idx+nr): 0 or -ENOMEM.

    A ``dup_swap`` fault on a page means: the GFP_ATOMIC count-continuation page that this
    page's slot needs (it is at SWAP_MAP_MAX) cannot be allocated.
    """
    faults, swap = ctx.sys.faults, ctx.sys.swap
    fails = ((lambda p: faults.take("dup_swap", p, 1) is not None) if faults.dup_swap
             else None)
    added = swap.continuations
    rc = folio_dup_swap(ctx.sys.folio, swap, idx, nr, fails)
    if swap.continuations != added and ctx.trace is not None:
        ctx.emit("dup", "add_swap_count_continuation", "a swap count passed SWAP_MAP_MAX: "
                 "a count-continuation page was allocated (GFP_ATOMIC)", page=idx, nr=nr)
    return rc


def _dup_swap_pages(ctx: Ctx, mm: Mm, addr: int, idx: int, nr: int, shown: int,
                    note: str = "") -> bool:
    """One `folio_dup_swap()` call of the batched path on pages [idx, idx+nr), counted and
    traced; False (the failure traced) on -ENOMEM. ``shown`` is the batch length the trace
    names (it differs from ``nr`` only under the stale-nr-pages bug)."""
    ctx.costs.dup_calls += 1
    if _dup_swap(ctx, idx, nr) < 0:
        ctx.emit("fail", "folio_dup_swap",
                 f"swap counts of pages {idx}..{idx + shown - 1} cannot be raised: a slot is "
                 "at SWAP_MAP_MAX and its count continuation cannot be allocated (-ENOMEM)",
                 mm=mm.name, addr=addr, page=idx, nr=shown)
        return False
    ctx.costs.atomic_swap += nr
    if ctx.trace is not None:
        ctx.emit("dup", "folio_dup_swap", f"swap counts +1 for pages {idx}..{idx + shown - 1}"
                 f"{note}", mm=mm.name, page=idx, nr=shown)
    return True


def _put_swap(ctx: Ctx, idx: int, nr: int) -> None:
    ctx.costs.put_swap_calls += 1
    ctx.costs.atomic_swap += nr
    folio_put_swap(ctx.sys.folio, ctx.sys.swap, idx, nr)


# -- patched: the batched swap-backed path ---------------------------------------------------
def __ttu_anon_folio(ctx: Ctx, vma: Vma, idx: int, addr: int, pteval: Pte, nr: int) -> bool:
    """`__ttu_anon_folio()` (v4 12/12, body INFERRED): swap out a cleared batch of nr PTEs.

    Works sub-batch by sub-batch of equal PG_anon_exclusive. On a failure at sub-batch start
    s: undo that sub-batch's swap counts, restore PTEs [s, nr), account pages [0, s) with
    `finish_folio_unmap()`, return False. On success account all nr pages and return True.
    """
    folio, mm, costs, faults = ctx.sys.folio, vma.mm, ctx.costs, ctx.sys.faults
    ps = _ps(mm)
    first_page = 0 if "exclusivity-from-head" in ctx.bugs else idx
    # nr can exceed the folio only under the stale-nr-pages bug; struct pages beyond the folio
    # are not modelled, so the sub-batches stop at its end (the accounting still uses nr).
    runs = exclusive_sub_batches(folio.anon_exclusive, first_page,
                                 min(nr, folio.nr_pages - first_page))
    failed_at = None
    whole_batch_dup = ctx.swap_dup == "batch"
    swapped = min(nr, folio.nr_pages - idx)     # (= nr unless the stale-nr-pages bug)
    if whole_batch_dup:      # the other reading of v4: one folio_dup_swap() for the batch
        if not _dup_swap_pages(ctx, mm, addr, idx, swapped, nr, " (once for the whole batch)"):
            _restore(ctx, mm, addr, pteval, nr)
            return False
    for s, n, excl in runs:
        page, a = idx + s, addr + s * ps
        costs.sub_batches += 1
        if ctx.trace is not None:
            ctx.emit("sub_batch", "page_anon_exclusive_batch",
                     f"sub-batch of {n} {'exclusive' if excl else 'non-exclusive'} page(s) "
                     f"from page {page}", mm=mm.name, addr=a, page=page, nr=n, exclusive=excl)
        if faults.pin:
            _pin_if_due(ctx, page, n)
        if not whole_batch_dup and not _dup_swap_pages(ctx, mm, a, page, n, n):
            failed_at = s
            break
        # the swap counts a failure below gives back: this sub-batch's, or with one dup for
        # the whole batch, those of every page from here to the batch's end
        held = idx + swapped - page if whole_batch_dup else n
        sub_pte = pte_advance_pfn(pteval, s)
        if mm.arch.has_arch_unmap_one and mm.arch.adi:
            if arch_unmap_one(mm, a, sub_pte, costs,
                              fail=faults.take("arch_unmap_one", page, n) is not None) < 0:
                _put_swap(ctx, page, held)
                ctx.emit("fail", "arch_unmap_one", f"ADI tag storage for {a:#x} not allocated",
                         mm=mm.name, addr=a, page=page, nr=n)
                failed_at = s
                break
            if ctx.trace is not None:
                ctx.emit("arch_unmap_one", "adi_save_tags",
                         f"save ADI tags of pfn {sub_pte.pfn:#x} for {a:#x}", mm=mm.name, addr=a,
                         page=page, nr=1)
        if excl:
            if folio_try_share_anon_rmap_ptes(folio, page, n, costs) < 0:
                _put_swap(ctx, page, held)
                ctx.emit("fail", "folio_try_share_anon_rmap_ptes",
                         f"pages {page}..{page + n - 1} are exclusive but the folio may be "
                         f"pinned (-EBUSY)", mm=mm.name, addr=a, page=page, nr=n)
                failed_at = s
                break
            if ctx.trace is not None:
                ctx.emit("share", "folio_try_share_anon_rmap_ptes",
                         f"clear PG_anon_exclusive of {n} page(s) (one barrier pair)", page=page,
                         nr=n)
        mm_prepare_for_swap_entries(mm, costs)
        add_mm_counter(mm, MM_ANONPAGES, -n)
        add_mm_counter(mm, MM_SWAPENTS, n)
        costs.atomic_mm += 2
        if ctx.trace is not None:
            ctx.emit("counters", "add_mm_counter", f"MM_ANONPAGES -{n}, MM_SWAPENTS +{n}",
                     mm=mm.name, nr=n)
        first, last = write_swap_ptes(ctx, mm, a, page, n, sub_pte, excl)
        if ctx.trace is not None:
            ctx.emit("swap_ptes", "set_ptes", f"{n} swap PTE(s){' (exclusive)' if excl else ''} "
                     f"naming slots {first}..{last}",
                     mm=mm.name, addr=a, page=page, nr=n)
    if failed_at is None:
        finish_folio_unmap(folio, idx, nr, costs)
        if ctx.trace is not None:
            ctx.emit("finish", "finish_folio_unmap", f"mapcount -{nr}, refcount -{nr}",
                     mm=mm.name, page=idx, nr=nr)
        return True
    template = pte_advance_pfn(pteval, failed_at)
    _restore(ctx, mm, addr + failed_at * ps, template, nr - failed_at)
    if failed_at and "skip-accounting" not in ctx.bugs:
        finish_folio_unmap(folio, idx, failed_at, costs)
        if ctx.trace is not None:
            ctx.emit("finish", "finish_folio_unmap",
                     f"account the {failed_at} page(s) that did become swap PTEs", mm=mm.name,
                     page=idx, nr=failed_at)
    return False


# -- lazyfree ---------------------------------------------------------------------------------
def ttu_anon_lazyfree_folio(ctx: Ctx, vma: Vma, nr: int) -> bool:
    """`ttu_anon_lazyfree_folio()`: drop a clean MADV_FREE folio's PTEs, or refuse.

    After the clear: full barrier, read refcount and mapcount, read barrier. Since Barry Song's
    "mm: Set folio swapbacked iff folios are dirty in try_to_unmap_one" (2025, the rule of
    ``baseline`` and ``patched``): a folio redirtied (unless VM_DROPPABLE) is made swap-backed
    again and kept; an extra reference keeps it without touching the flag. Before it (the
    ``per-pte`` mode): discard only with no extra reference and clean (or VM_DROPPABLE); any
    other outcome restores the PTE and sets the folio swap-backed again unless VM_DROPPABLE.
    """
    folio, costs = ctx.sys.folio, ctx.costs
    costs.barriers += 2
    ref, mapped = folio.refcount, folio.mapcount
    if ctx.mode == "per-pte":
        if ref == 1 + mapped and (not folio.dirty or vma.droppable):
            return _lazyfree_discard(ctx, vma, nr)
        if not vma.droppable:
            folio.swapbacked = True
        why = ("was redirtied" if folio.dirty and not vma.droppable else
               f"has extra references (refcount {ref} != 1 + mapcount {mapped})")
        ctx.emit("fail", "try_to_unmap_one",
                 f"the lazyfree folio {why}: keep it" +
                 ("" if vma.droppable else ", mark it swap-backed (the rule before 2025)"), nr=nr)
        return False
    if folio.dirty and not vma.droppable:
        folio.swapbacked = True
        ctx.emit("fail", "ttu_anon_lazyfree_folio",
                 "the lazyfree folio was redirtied: keep it, mark it swap-backed", nr=nr)
        return False
    if ref != 1 + mapped:
        ctx.emit("fail", "ttu_anon_lazyfree_folio",
                 f"extra references (refcount {ref} != 1 + mapcount {mapped}): keep it", nr=nr)
        return False
    return _lazyfree_discard(ctx, vma, nr)


def _lazyfree_discard(ctx: Ctx, vma: Vma, nr: int) -> bool:
    add_mm_counter(vma.mm, MM_ANONPAGES, -nr)
    ctx.costs.atomic_mm += 1
    if ctx.trace is not None:
        ctx.emit("lazyfree", "ttu_anon_lazyfree_folio", f"discard: {nr} PTE(s) stay none",
                 mm=vma.mm.name, nr=nr)
    return True


# -- dispatcher and the loop ------------------------------------------------------------------
def ttu_anon_folio(ctx: Ctx, vma: Vma, idx: int, addr: int, pteval: Pte, nr: int,
                   anon_exclusive: bool) -> bool:
    """`ttu_anon_folio()`: lazyfree or swap-backed; does its own restore and accounting."""
    folio, mm, costs = ctx.sys.folio, vma.mm, ctx.costs
    if not folio.swapbacked:
        ok = ttu_anon_lazyfree_folio(ctx, vma, nr)
    elif ctx.mode == "patched":
        return __ttu_anon_folio(ctx, vma, idx, addr, pteval, nr)
    else:
        ok = ttu_anon_swapbacked_folio(ctx, vma, idx, addr, pteval, anon_exclusive)
    if not ok:
        if pteval.kind == "present":
            _restore(ctx, mm, addr, pteval, nr)
        else:      # device-exclusive: put the entry back as it was
            mm.pt.set(addr, pteval)
            costs.pte_writes += 1
            ctx.emit("restore", "set_pte_at", "restore the device-exclusive entry",
                     mm=mm.name, addr=addr, page=idx, nr=1)
        return False
    finish_folio_unmap(folio, idx, nr, costs)          # the finish_unmap label
    if ctx.trace is not None:
        ctx.emit("finish", "finish_folio_unmap", f"mapcount -{nr}, refcount -{nr}", mm=mm.name,
                 page=idx, nr=nr)
    return True


def try_to_unmap_one(ctx: Ctx, vma: Vma, folio_addr: int) -> bool:
    """`try_to_unmap_one()`: unmap the folio from one VMA; False stops the rmap walk."""
    from simcore.walk import PageVmaMappedWalk

    sys, costs = ctx.sys, ctx.costs
    tracing = ctx.trace is not None     # (looked up once: tested at every step)
    folio, mm, arch = sys.folio, vma.mm, vma.mm.arch
    ps = arch.page_size
    bugs = ctx.bugs
    # (loop invariants looked up once: the arch profile is frozen, the bug set fixed per run)
    cont, bbml2, defer_flush = arch.cont_ptes, arch.bbml2, arch.defer_flush
    tlb_per_pte = arch.tlb_policy == "pte"
    reset_nr = "stale-nr-pages" not in bugs
    cross_pmd = "cross-pmd" in bugs
    respect_write = "writable-restore" not in bugs
    sparc_guard = "sparc-batch-adi" not in bugs
    folio_nr = folio.nr_pages
    pvmw = PageVmaMappedWalk(folio, vma, folio_addr, costs)
    ret = True
    nr_pages = 1
    ptes = 0                      # PTEs seen in a VM_LOCKED VMA
    if tracing:
        ctx.emit("start", "try_to_unmap_one", f"rmap walk of {mm.name}'s VMA "
                 f"[{vma.start:#x}, {vma.end:#x}) in mode {ctx.mode}", mm=mm.name)
    while pvmw.walk():
        for a in pvmw.rejected:
            ctx.emit("skip", "check_pte", "a swap PTE names a swap slot, not a pfn: skip it",
                     mm=mm.name, addr=a)
        costs.iterations += 1
        if reset_nr:
            nr_pages = 1
        addr = pvmw.address
        if vma.locked:      # VM_LOCKED, and reclaim never passes TTU_IGNORE_MLOCK
            ptes += 1
            ret = False
            if ptes != folio_nr:         # only mlock a folio fully mapped here: keep walking
                if tracing:
                    ctx.emit("walk", "try_to_unmap_one", f"VM_LOCKED: count the PTE at "
                             f"{addr:#x} ({ptes} of {folio_nr}), unmap nothing", mm=mm.name,
                             addr=addr)
                continue
            if pvmw.pgtable_crossed:     # the PTL covered only part of the PTEs
                ctx.emit("fail", "try_to_unmap_one", "VM_LOCKED: the folio stays mapped (its "
                         "PTEs span two page tables: not mlocked here)", mm=mm.name, addr=addr)
            else:
                folio.mlocked = True     # mlock_vma_folio(): restore the mlock that got missed
                ctx.emit("fail", "mlock_vma_folio", "VM_LOCKED: the whole folio is mapped "
                         "here: it stays mapped and is mlocked", mm=mm.name, addr=addr)
            pvmw.done()
            break
        pteval = ptep_get(mm.pt, addr, costs, cont)
        idx = folio.page_index(pteval.pfn)
        anon_exclusive = folio.anon and bool(folio.anon_exclusive[idx])
        if tracing:
            ctx.emit("walk", "page_vma_mapped_walk",
                     f"PTE at {addr:#x} maps page {idx}" +
                     (" (device-exclusive)" if pteval.kind == "device_exclusive" else ""),
                     mm=mm.name, addr=addr, page=idx)
        if pteval.kind == "present":
            nr_pages = folio_unmap_pte_batch(folio, vma, addr, pteval, ctx.mode, costs,
                                             cross_pmd=cross_pmd, respect_write=respect_write,
                                             sparc_guard=sparc_guard)
            costs.batches += 1
            if tracing:
                ctx.emit("batch", "folio_unmap_pte_batch", f"batch of {nr_pages} PTE(s)",
                         mm=mm.name, addr=addr, page=idx, nr=nr_pages)
            unfolds = costs.contpte_unfolds
            pteval = get_and_clear_ptes(mm.pt, addr, nr_pages, costs, cont, bbml2)
            if costs.contpte_unfolds != unfolds:
                ctx.emit("unfold", "contpte_convert",
                         f"unfold {costs.contpte_unfolds - unfolds} CONT block(s)", mm=mm.name,
                         addr=addr)
            if tracing:
                ctx.emit("clear", "get_and_clear_ptes", f"clear {nr_pages} PTE(s)", mm=mm.name,
                         addr=addr, page=idx, nr=nr_pages)
            end = addr + nr_pages * ps
            if tlb_per_pte:     # sparc64: each PTE update queued its own flush
                tlb_batch_add(sys.ubc, mm, addr, nr_pages, ps, costs)
                if tracing:
                    ctx.emit("tlb", "tlb_batch_add", f"one TLB flush per cleared PTE "
                             f"({nr_pages}); flush_tlb_range() is empty on sparc64",
                             mm=mm.name, addr=addr, nr=nr_pages)
            elif defer_flush:
                set_tlb_ubc_flush_pending(sys.ubc, mm, pteval, addr, end, costs, nr_pages)
                if tracing:
                    ctx.emit("tlb", "set_tlb_ubc_flush_pending",
                             f"queue a TLB flush of {nr_pages} page(s)", mm=mm.name, addr=addr,
                             nr=nr_pages)
            else:
                flush_tlb_range(sys.ubc, mm, addr, end, costs, nr_pages)
                if tracing:
                    ctx.emit("tlb", "flush_tlb_range", f"flush the TLB for {nr_pages} page(s)",
                             mm=mm.name, addr=addr, nr=nr_pages)
            if pteval.dirty:
                folio_mark_dirty(folio)
                if tracing:
                    ctx.emit("dirty", "folio_mark_dirty", "a cleared PTE was dirty: folio is dirty")
        else:   # device-exclusive: pte_clear(), no TLB work; never batched
            mm.pt.set(addr, PTE_NONE)
            costs.pte_writes += 1
            costs.batches += 1
            ctx.emit("clear", "pte_clear", "clear the device-exclusive entry (no TLB work)",
                     mm=mm.name, addr=addr, page=idx, nr=1)
        update_hiwater_rss(mm)
        if not ttu_anon_folio(ctx, vma, idx, addr, pteval, nr_pages, anon_exclusive):
            pvmw.done()
            ret = False
            break
        if nr_pages == folio_nr:            # batched the entire folio: stop the walk early
            pvmw.done()
            break
    for a in pvmw.rejected:
        ctx.emit("skip", "check_pte", "a swap PTE names a swap slot, not a pfn: skip it",
                 mm=mm.name, addr=a)
    if vma.locked and 0 < ptes < folio_nr:
        ctx.emit("fail", "try_to_unmap_one", f"VM_LOCKED: only {ptes} of {folio_nr} pages are "
                 "mapped here: the folio stays mapped, not mlocked", mm=mm.name)
    if tracing:
        ctx.emit("end", "try_to_unmap_one", f"returns {'true' if ret else 'false'}", mm=mm.name,
                 ok=ret)
    return ret


def rmap_walk_anon_order(sys: System) -> list[tuple[Vma, int]]:
    """The VMAs `rmap_walk_anon()` visits, in its order: (VMA, address of the folio's page 0).

    `anon_rmap_tree_foreach()` walks the anon_vma interval tree in order of `vm_pgoff`; a VMA's
    `vm_pgoff` is the folio's index minus the folio pages below the VMA's start, so the order is
    that of ``vma.start - folio address`` (a VMA split by mlock()/mprotect() is visited low part
    first, an mremap()ed tail after the head). Equal keys stay in insertion order: fork order,
    parent first — the order the scenario declares its mms (then addresses).
    """
    ps = sys.arch.page_size
    rank = {name: i for i, name in enumerate(sys.mms)}
    return sorted(sys.mappings, key=lambda m: ((m[0].start - m[1]) // ps, rank[m[0].mm.name],
                                               m[0].start))


def try_to_unmap(sys: System, mode: str = "patched", bugs=(), trace: Trace | None = None,
                 swap_dup: str = "sub-batch") -> bool:
    """`try_to_unmap()` → `rmap_walk()`: every VMA that may map the folio, until one fails.

    VMAs come in `rmap_walk_anon_order()`; the walk stops at the first `try_to_unmap_one()`
    that returns false, or once the folio is no longer mapped (`folio_not_mapped()`, the
    walk's ``done`` callback). Returns what reclaim concludes: every `try_to_unmap_one()`
    succeeded and the folio is no longer mapped (`!folio_mapped()`). ``swap_dup`` chooses how
    the patched mode raises swap counts ("sub-batch" or "batch", both INFERRED).
    """
    if mode not in MODES:
        raise ModeError(f"mode: unknown {mode!r} (choose one of {', '.join(MODES)})")
    if swap_dup not in SWAP_DUP_UNITS:
        raise ModeError(f"swap_dup: unknown {swap_dup!r} (choose one of "
                        f"{', '.join(SWAP_DUP_UNITS)})")
    from simcore.bugs import check_bug_names

    ctx = Ctx(sys, mode, check_bug_names(bugs), trace, swap_dup=swap_dup)
    ok = True
    mappings = sys.mappings if len(sys.mappings) < 2 else rmap_walk_anon_order(sys)
    for vma, folio_addr in mappings:
        if not try_to_unmap_one(ctx, vma, folio_addr):
            ok = False
            break
        if sys.folio.mapcount == 0:        # rwc.done = folio_not_mapped
            break
    return ok and sys.folio.mapcount == 0
