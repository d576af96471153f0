"""The invariant checker: what must hold after any run, each violation explained in a sentence.

The rules are the kernel's own accounting (mm/rmap.c, mm/swapfile.c): mapcount and refcount
conservation, swap counts against swap PTEs, rss counters against page tables, where the exclusive
marker may appear, that a restore never grants write, that nothing maps the folio after a success,
that every cleared PTE has a TLB flush done or pending, that PTE pointers stay inside their page
table, and (sparc64) that ADI tags were saved for every page swapped out. The checker reads only
the final state and the initial state `System.settle()` remembered; it never re-runs the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from simcore.mm import MM_ANONPAGES, MM_SWAPENTS
from simcore.system import System

INVARIANTS: dict[str, str] = {
    "mapcount": "the folio's mapcount equals the present and device-exclusive PTEs that map it",
    "refcount": "refcount = mapcount + 1 (caller) + swap-cache refs + pins + extra references",
    "mm_counters": "MM_ANONPAGES and MM_SWAPENTS equal what each mm's page table holds",
    "swap_counts": "every swap slot's count equals the swap PTEs that name it (plus the "
                   "references held outside the scenario, swap_refs_elsewhere)",
    "swap_offsets": "a swap PTE that replaced page i names slot folio->swap + i",
    "swap_exclusive": "the exclusive marker only for pages that were exclusive; a swapped-out "
                      "page is no longer PG_anon_exclusive",
    "no_write_gain": "no PTE is writable that was read-only before",
    "mapping_lost": "each slot that mapped page i still maps page i, or names its swap slot "
                    "(or is none after a lazyfree discard)",
    "dirty_lost": "if a dirty PTE was cleared, the folio is dirty",
    "tlb": "every cleared present PTE has its TLB flush done or pending",
    "page_table_bounds": "no PTE access outside the page table the pointer belongs to",
    "adi_tags": "sparc64 ADI: tags saved for every page swapped out, from that page's own PTE",
    "still_mapped": "after a successful unmap no PTE maps the folio",
}


@dataclass(frozen=True)
class Violation:
    code: str
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


def check(sys: System, ok: bool | None = None) -> list[Violation]:
    """All violations in the system's current state (empty list = consistent)."""
    out: list[Violation] = []
    folio = sys.folio
    first, nr = folio.first_pfn, folio.nr_pages
    init_ptes = sys.initial_ptes
    init_excl = sys.initial_exclusive

    # Whole page tables: mappings of the folio and rss counters.
    mapped = [0] * nr
    for mm in sys.mms.values():
        present = swapents = 0
        for _addr, pte in mm.pt.items():
            if pte.kind in ("present", "device_exclusive"):
                present += 1
                if folio.contains_pfn(pte.pfn):
                    mapped[pte.pfn - first] += 1
            elif pte.kind == "swap":
                swapents += 1
        if mm.counters[MM_ANONPAGES] != present:
            out.append(Violation("mm_counters", f"{mm.name}: MM_ANONPAGES is "
                                 f"{mm.counters[MM_ANONPAGES]} but its page table holds {present} "
                                 "present pages; rss accounting drifted ('Bad rss-counter "
                                 "state' at exit)."))
        if mm.counters[MM_SWAPENTS] != swapents:
            out.append(Violation("mm_counters", f"{mm.name}: MM_SWAPENTS is "
                                 f"{mm.counters[MM_SWAPENTS]} but its page table holds {swapents} "
                                 "swap PTEs."))
        if mm.pt.oob:
            a, base = mm.pt.oob[0]
            out.append(Violation("page_table_bounds", f"{mm.name}: a PTE pointer based at "
                                 f"{base:#x} touched {a:#x}, which is in the next page table — "
                                 f"an out-of-bounds access ({len(mm.pt.oob)} in all)."))
    total = sum(mapped)
    if folio.mapcount != total:
        out.append(Violation("mapcount", f"The folio's mapcount is {folio.mapcount} but "
                             f"{total} PTEs map it: rmap thinks mappings exist that do not (or "
                             "the reverse), so it can never be freed correctly."))
    bad_pages = [i for i in range(nr) if folio.page_mapcount[i] != mapped[i]]
    if bad_pages and folio.mapcount == total:
        i = bad_pages[0]
        out.append(Violation("mapcount", f"Page {i}'s own mapcount is "
                             f"{folio.page_mapcount[i]} but {mapped[i]} PTEs map it."))
    # Conservation against the mappings that really exist (not folio.mapcount, which may be
    # wrong itself): a path that drops mapcount and refcount by the same wrong amount breaks
    # both invariants, not neither.
    expected = folio.expected_refcount() - folio.mapcount + total
    if folio.refcount != expected:
        out.append(Violation("refcount", f"The refcount is {folio.refcount}, but the "
                             f"{total} PTEs that map it + 1 (caller) + "
                             f"{nr if folio.swapcache else 0} (swap cache) + {folio.pincount} "
                             f"(pins) + {folio.extra_refs} (extra) = {expected}: "
                             + ("references leak, so the folio is never freed."
                                if folio.refcount > expected else
                                "references were dropped twice: a use-after-free waiting "
                                "to happen.")))

    # Swap slots against swap PTEs.
    if folio.swap_offset >= 0:
        naming = [0] * nr
        for mm in sys.mms.values():
            for _addr, pte in mm.pt.items():
                if pte.kind == "swap" and 0 <= pte.swp_offset - folio.swap_offset < nr:
                    naming[pte.swp_offset - folio.swap_offset] += 1
        counts = sys.swap_counts()
        elsewhere = sys.swap_refs_elsewhere
        for i in range(nr):
            naming[i] += elsewhere[i]
            if counts[i] != naming[i]:
                out.append(Violation("swap_counts", f"Swap slot of page {i} has count "
                                     f"{counts[i]} but {naming[i]} swap PTEs name it"
                                     + (f" (with {elsewhere[i]} held elsewhere)" if elsewhere[i]
                                        else "") + ": the slot "
                                     + ("can be freed while a PTE still needs it (data loss)."
                                        if counts[i] < naming[i] else "leaks.")))
                break

    # Per slot: compare with what was there before.
    covered = _tlb_covered(sys)
    gained_write = lost = wrong_offset = wrong_excl = still_excl = untlb = dirty_lost = None
    adi_missing = None
    still_mapped = None
    for mm, addr, page in sys.slots():
        before = init_ptes.get((mm.name, addr))
        now = mm.pt.get(addr)
        if before is None:
            continue
        was_mapping = before.kind in ("present", "device_exclusive") and folio.contains_pfn(
            before.pfn)
        i = before.pfn - first if was_mapping else page
        if now.kind == "present" and now.write and not (before.kind == "present"
                                                         and before.write):
            gained_write = gained_write or (mm.name, addr, i)
        if now.kind in ("present", "device_exclusive") and folio.contains_pfn(now.pfn):
            still_mapped = still_mapped or (mm.name, addr)
        if not was_mapping:
            continue
        if now.kind in ("present", "device_exclusive"):
            if now.pfn != before.pfn:
                lost = lost or (mm.name, addr, i, "maps another page")
        elif now.kind == "swap":
            if now.swp_offset != folio.swap_offset + i:
                wrong_offset = wrong_offset or (mm.name, addr, i, now.swp_offset)
            if now.exclusive and not init_excl[i]:
                wrong_excl = wrong_excl or (mm.name, addr, i)
            if folio.anon_exclusive[i]:
                still_excl = still_excl or (mm.name, addr, i)
            if sys.arch.has_arch_unmap_one and sys.arch.adi and before.kind == "present":
                if mm.tag_store.get(addr) != before.pfn << sys.arch.page_shift:
                    adi_missing = adi_missing or (mm.name, addr, i)
        elif now.kind == "none" and sys.initial["folio"]["swapbacked"]:
            # (a lazyfree folio may be made swap-backed by a later failure after earlier
            # clean PTEs were rightly discarded: only a folio swap-backed from the start
            # must never lose a PTE to none)
            lost = lost or (mm.name, addr, i, "is none though the folio is swap-backed")
        if before.kind == "present" and now.kind != "present":
            if (mm.name, addr) not in covered:
                untlb = untlb or (mm.name, addr)
            if before.dirty and not folio.dirty:
                dirty_lost = dirty_lost or (mm.name, addr, i)
    if gained_write:
        n, a, i = gained_write
        out.append(Violation("no_write_gain", f"{n}: the PTE at {a:#x} (page {i}) is writable "
                             "but was read-only before: a restore granted write, breaking COW."))
    if lost:
        n, a, i, why = lost
        out.append(Violation("mapping_lost", f"{n}: the slot at {a:#x} mapped page {i} and now "
                             f"{why}: the process lost its data."))
    if wrong_offset:
        n, a, i, off = wrong_offset
        out.append(Violation("swap_offsets", f"{n}: the swap PTE at {a:#x} replaced page {i} "
                             f"but names slot {off}, not {folio.swap_offset + i}: swap-in would "
                             "read another page's data."))
    if wrong_excl:
        n, a, i = wrong_excl
        out.append(Violation("swap_exclusive", f"{n}: the swap PTE at {a:#x} carries the "
                             f"exclusive marker but page {i} was not exclusive: swap-in could map "
                             "a shared page writable."))
    if still_excl:
        n, a, i = still_excl
        out.append(Violation("swap_exclusive", f"{n}: page {i} was swapped out at {a:#x} but "
                             "is still PG_anon_exclusive: its exclusivity was never moved into "
                             "the swap PTE (swap-in sanity checks would fire)."))
    if untlb:
        n, a = untlb
        out.append(Violation("tlb", f"{n}: the PTE at {a:#x} was cleared but no TLB flush is "
                             "done or pending for it: a stale translation may survive."))
    if dirty_lost:
        n, a, i = dirty_lost
        out.append(Violation("dirty_lost", f"{n}: page {i} was dirty at {a:#x} but the folio "
                             "is clean: its data would be dropped."))
    if adi_missing:
        n, a, i = adi_missing
        out.append(Violation("adi_tags", f"{n}: page {i} at {a:#x} went to swap but its ADI "
                             "tags were not saved from its own PTE: they are lost at swap-in."))
    if ok and still_mapped:
        n, a = still_mapped
        out.append(Violation("still_mapped", f"try_to_unmap() reported success but {n} still "
                             f"maps the folio at {a:#x}."))
    return out


def _tlb_covered(sys: System) -> set[tuple[str, int]]:
    """(mm, address) of every page a done or pending TLB flush covers."""
    ps = sys.arch.page_size
    return {(name, a) for name, start, end in sys.ubc.pending + sys.ubc.flushed
            for a in range(start, end, ps)}
