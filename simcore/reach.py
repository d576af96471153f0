"""What reaches `try_to_unmap()`: the callers' filters in front of the unmap.

A scenario describes the folio at the moment `try_to_unmap()` is called. Whether a caller ever
makes that call for such a folio is decided earlier, and this module says so:

* ``madv_pageout`` — `madvise(MADV_PAGEOUT)`: `madvise_cold_or_pageout_pte_range()`
  (mm/madvise.c, 2025) skips a large folio that may be mapped by more than one process
  (`folio_maybe_mapped_shared()`), and splits a large folio its range, a VMA boundary or a page
  table cuts (its PTE batch is shorter than the folio) before handing it to `reclaim_pages()`
  → `shrink_folio_list()`. So only a folio mapped whole by present PTEs in one VMA, one page
  table and one process reaches the unmap as a large folio (measured on 6.18: after fork
  nothing happens; a cut folio is split: `python -m kernlab check`);
* ``reclaim`` — kswapd, direct or memcg reclaim: `shrink_folio_list()` (mm/vmscan.c) splits a
  partially mapped anon folio (queued for deferred split) before `folio_alloc_swap()`, so a
  swap-backed folio that is not yet in the swap cache (no swap PTE names its slots) and has an
  unmapped page never reaches the unmap whole. A folio whose first pages were `munmap()`ed is
  such a folio; a walk that starts mid-folio comes from `mremap()` of the folio's tail, which
  keeps every page mapped.

The unmap is simulated in any case (it is what the kernel would do if the folio got there);
the verdict is a report line and the ``caller`` object of the CLI's ``--json``.
"""

from __future__ import annotations

from simcore.system import System


def _present_mappers(sys: System) -> tuple[set[str], list[tuple[str, int, str]]]:
    """The mms with a present or device-exclusive entry of the folio; every such entry."""
    folio = sys.folio
    names: set[str] = set()
    entries = []
    for mm, addr, _page in sys.slots():
        pte = mm.pt.get(addr)
        if pte.kind in ("present", "device_exclusive") and folio.contains_pfn(pte.pfn):
            names.add(mm.name)
            entries.append((mm.name, addr, pte.kind))
    return names, entries


def partially_mapped_before_swap(sys: System) -> bool:
    """Would `shrink_folio_list()` split this folio before `folio_alloc_swap()`?"""
    folio = sys.folio
    if not (folio.swapbacked and folio.large and folio.mapcount):
        return False
    init = sys.initial or {}
    if any(init.get("swap_counts", [])):
        return False            # already in the swap cache from an earlier pass
    return not all(folio.page_mapcount)


def why_not_reached(sys: System, caller: str | None = None) -> str | None:
    """None if ``caller`` would call `try_to_unmap()` on this folio as it is, else why not.

    Call it on the system as built (before the unmap).
    """
    caller = caller or sys.caller
    folio = sys.folio
    if partially_mapped_before_swap(sys):
        return ("the folio is partially mapped and not yet in the swap cache: "
                "shrink_folio_list() splits it before folio_alloc_swap()")
    if caller != "madv_pageout" or not folio.large:
        return None
    names, entries = _present_mappers(sys)
    if len(names) > 1:
        return (f"MADV_PAGEOUT skips a large folio mapped by more than one process "
                f"({', '.join(sorted(names))})")
    if len(entries) != folio.nr_pages or any(k != "present" for _n, _a, k in entries):
        return ("MADV_PAGEOUT splits a large folio that is not mapped whole by present PTEs "
                "in its range before reclaiming it")
    ps = sys.arch.page_size
    addrs = sorted(a for _n, a, _k in entries)
    mm = sys.mms[entries[0][0]]
    first_vma = mm.find_vma(addrs[0])
    if (addrs[-1] - addrs[0] != (folio.nr_pages - 1) * ps
            or mm.find_vma(addrs[-1]) is not first_vma):
        return "MADV_PAGEOUT splits a large folio that a VMA boundary cuts"
    if not mm.pt.same_table(addrs[0], addrs[-1]):
        return "MADV_PAGEOUT splits a large folio that a page-table (PMD) boundary cuts"
    return None
