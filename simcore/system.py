"""The whole simulated state: one folio, the mms that map it, swap, faults, and costs.

`System` gathers the objects of the other modules, derives the bookkeeping that must agree with
the page tables when a scenario is set up (`settle()`: mapcounts, refcount, rss counters, swap
counts), remembers that initial state for the invariant checker, and can snapshot itself for
traces. Nothing here models a kernel function; it is the stage the functions act on.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from simcore.arch import Arch
from simcore.costs import Costs
from simcore.folio import Folio
from simcore.mm import MM_ANONPAGES, MM_SWAPENTS, Mm, Vma
from simcore.pte import Pte, pte_code
from simcore.swap import SwapDevice, folio_alloc_swap
from simcore.tlb import TlbUbc

FAULT_OPS = ("dup_swap", "arch_unmap_one", "pin")


@dataclass
class Faults:
    """Faults placed on pages of the folio. Each fires once, the first time unmap reaches it.

    dup_swap: the count-continuation page that the page's swap slot needs (it is at
    SWAP_MAP_MAX) cannot be allocated, so `folio_dup_swap()` fails with -ENOMEM; it fires only
    when the slot really is at the limit (`simcore.swap`).
    arch_unmap_one: sparc64 `arch_unmap_one()` fails for that page (never reached elsewhere).
    pin: the folio gains a DMA pin (GUP-fast, concurrently) just before the unit of swap work
    that covers the page; from then on sharing exclusive pages fails with -EBUSY.
    """

    dup_swap: set[int] = field(default_factory=set)
    arch_unmap_one: set[int] = field(default_factory=set)
    pin: set[int] = field(default_factory=set)
    fired: list[dict[str, Any]] = field(default_factory=list)

    def take(self, op: str, idx: int, nr: int) -> int | None:
        """If a fault of ``op`` lies on a page in [idx, idx+nr), consume it and return the page."""
        pages: set[int] = getattr(self, op)
        hit = [p for p in pages if idx <= p < idx + nr]
        if not hit:
            return None
        page = min(hit)
        pages.discard(page)
        self.fired.append({"op": op, "page": page})
        return page


class System:
    """Everything one run of `try_to_unmap()` reads and writes."""

    def __init__(self, arch: Arch, folio: Folio) -> None:
        self.arch = arch
        self.folio = folio
        self.swap = SwapDevice()
        self.mms: dict[str, Mm] = {}
        #: the anon_vma chain: (VMA, address where the folio's page 0 is or would be mapped)
        self.mappings: list[tuple[Vma, int]] = []
        self.faults = Faults()
        self.costs = Costs()
        self.ubc = TlbUbc()
        self.initial: dict[str, Any] | None = None
        self.initial_ptes: dict[tuple[str, int], Pte] = {}
        self.initial_exclusive = None
        #: per page: references to its swap slot held outside the scenario (swap PTEs of
        #: processes it does not list, e.g. many forked children)
        self.swap_refs_elsewhere: list[int] = [0] * folio.nr_pages
        #: who called try_to_unmap(): "reclaim" (kswapd, direct or memcg reclaim) or
        #: "madv_pageout" (`simcore.reach`)
        self.caller = "reclaim"

    # -- building ---------------------------------------------------------------------------
    def add_mm(self, name: str) -> Mm:
        mm = Mm(name, self.arch)
        self.mms[name] = mm
        return mm

    def map_folio(self, vma: Vma, folio_addr: int) -> None:
        self.mappings.append((vma, folio_addr))

    def slots(self) -> list[tuple[Mm, int, int]]:
        """(mm, address, page index) of every PTE slot where a page of the folio may be mapped."""
        ps = self.arch.page_size
        out = []
        for vma, base in self.mappings:
            start = max(vma.start, base)
            end = min(vma.end, base + self.folio.nr_pages * ps)
            for addr in range(start, end, ps):
                out.append((vma.mm, addr, (addr - base) // ps))
        return out

    def nr_slots(self) -> int:
        """How many `slots()` there are, counted without listing them."""
        ps, span = self.arch.page_size, self.folio.nr_pages * self.arch.page_size
        return sum(max(0, min(vma.end, base + span) - max(vma.start, base)) // ps
                   for vma, base in self.mappings)

    def settle(self, refcount: int | None = None) -> None:
        """Derive bookkeeping from the page tables and remember the initial state.

        Swap-backed folios get their swap slots first (reclaim's `folio_alloc_swap()`).
        """
        folio = self.folio
        if folio.anon and folio.swapbacked and not folio.swapcache:
            folio_alloc_swap(folio, self.swap)
        folio.page_mapcount = [0] * folio.nr_pages
        folio.mapcount = 0
        for mm in self.mms.values():
            mm.counters[MM_ANONPAGES] = 0
            mm.counters[MM_SWAPENTS] = 0
        self.swap.counts = [0] * len(self.swap.counts)
        self.swap.cont = {}
        for mm in self.mms.values():
            for _addr, pte in mm.pt.items():
                if pte.kind in ("present", "device_exclusive"):
                    mm.counters[MM_ANONPAGES] += 1
                    if folio.contains_pfn(pte.pfn):
                        folio.page_mapcount[pte.pfn - folio.first_pfn] += 1
                        folio.mapcount += 1
                elif pte.kind == "swap":
                    mm.counters[MM_SWAPENTS] += 1
                    self.swap.ensure(pte.swp_offset + 1)
                    self.swap.counts[pte.swp_offset] += 1
                    mm.on_mmlist = True
            mm.hiwater_rss = mm.counters[MM_ANONPAGES]
        if folio.swap_offset >= 0 and any(self.swap_refs_elsewhere):
            from simcore.swap import SWAP_MAP_PAGE_SLOTS, continuation_pages_for

            for i, refs in enumerate(self.swap_refs_elsewhere):
                off = folio.swap_offset + i
                self.swap.counts[off] += refs
                key = off // SWAP_MAP_PAGE_SLOTS
                self.swap.cont[key] = max(self.swap.cont.get(key, 0),
                                          continuation_pages_for(self.swap.counts[off]))
        folio.refcount = folio.expected_refcount() if refcount is None else refcount
        self.initial_ptes = {(mm.name, addr): mm.pt.get(addr) for mm, addr, _ in self.slots()}
        self.initial_exclusive = list(folio.anon_exclusive)
        self.initial = self.final_state()

    # -- views ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The state a trace event carries: enough to redraw the step.

        ``ptes`` is one code per slot, in `slots()` order (see `simcore.pte.pte_code`).
        """
        return {
            "ptes": [pte_code(mm.pt.get(addr)) for mm, addr, _page in self.slots()],
            "pages": self.folio.exclusive_string(),
            "mapcount": self.folio.mapcount,
            "refcount": self.folio.refcount,
            "dirty": self.folio.dirty,
            "mm_counters": {n: dict(mm.counters) for n, mm in self.mms.items()},
            "swap_counts": self.swap_counts(),
            "costs": self.costs.as_dict(),
        }

    def swap_counts(self) -> list[int]:
        f = self.folio
        if f.swap_offset < 0:
            return [0] * f.nr_pages
        return [int(c) for c in self.swap.counts[f.swap_offset: f.swap_offset + f.nr_pages]]

    def final_state(self) -> dict[str, Any]:
        """Everything but costs: what mode equivalence compares."""
        f = self.folio
        return {
            "ptes": {f"{mm.name}@{addr:#x}": tuple(mm.pt.get(addr))
                     for mm, addr, _ in self.slots()},
            "folio": {"mapcount": f.mapcount, "refcount": f.refcount, "dirty": f.dirty,
                      "swapbacked": f.swapbacked, "pincount": f.pincount,
                      "exclusive": f.exclusive_string(),
                      "page_mapcount": [int(x) for x in f.page_mapcount]},
            "mms": {n: dict(mm.counters) for n, mm in self.mms.items()},
            "swap_counts": self.swap_counts(),
        }

    def copy(self) -> System:
        """An independent copy (hand-written: `copy.deepcopy` dominated a widget update)."""
        new = System.__new__(System)
        new.__dict__.update(self.__dict__)
        new.folio = self.folio.copy()
        new.swap = self.swap.copy()
        new.faults = copy.deepcopy(self.faults)
        new.costs = Costs()
        new.costs.add(self.costs)
        new.ubc = copy.deepcopy(self.ubc)
        new.initial = self.initial          # never mutated after settle(): shared
        new.swap_refs_elsewhere = list(self.swap_refs_elsewhere)
        new.initial_ptes = dict(self.initial_ptes)
        new.initial_exclusive = (None if self.initial_exclusive is None
                                 else self.initial_exclusive.copy())
        vma_map = {}
        new.mms = {}
        for name, mm in self.mms.items():
            m = Mm(name, mm.arch, counters=dict(mm.counters), on_mmlist=mm.on_mmlist,
                   hiwater_rss=mm.hiwater_rss, tlb_flush_batched=mm.tlb_flush_batched,
                   tag_store=dict(mm.tag_store))
            m.pt.tables = {k: list(t) for k, t in mm.pt.tables.items()}
            m.pt.oob = list(mm.pt.oob)
            for vma in mm.vmas:
                vma_map[id(vma)] = m.add_vma(vma.start, vma.end, locked=vma.locked,
                                             droppable=vma.droppable)
            new.mms[name] = m
        new.mappings = [(vma_map[id(vma)], base) for vma, base in self.mappings]
        return new
