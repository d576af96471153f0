"""The bug zoo: deliberately broken variants of the unmap path, selectable like a mode.

Each variant switches off one thing the real code gets right. Most are bugs that really
happened on the way to (or around) the series; the invariant checker (`simcore.check`) must
catch every one of them on some scenario, and the tests prove that it does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    name: str
    title: str
    what: str
    history: str
    caught_by: tuple[str, ...]
    needs: str


BUGS: dict[str, Bug] = {b.name: b for b in (
    Bug("skip-accounting", "No accounting after a partial failure",
        "When a batch fails half-way, the pages that did become swap PTEs are not passed to "
        "finish_folio_unmap(): no folio_remove_rmap_ptes(), no folio_put_refs().",
        "The reason v4 12/12 moved the accounting into __ttu_anon_folio() instead of 'horrible "
        "goto jumping' at the call site.",
        ("mapcount", "refcount"), "patched mode, a fault after the first sub-batch"),
    Bug("exclusivity-from-head", "Exclusivity indexed from the folio head",
        "page_anon_exclusive_batch() is given the folio's first page instead of the page mapped "
        "by the batch's first PTE, so sub-batches use the wrong pages' PG_anon_exclusive.",
        "The real mprotect bug fixed by 'mm: Pass page directly instead of using folio_page' "
        "(syzbot).",
        ("swap_exclusive",), "patched mode, a batch that starts mid-folio over mixed E/N pages"),
    Bug("stale-nr-pages", "nr_pages not reset each iteration",
        "nr_pages keeps the previous batch length; a following device-exclusive entry (never "
        "batched) is then accounted as if it were a whole batch.",
        "CVE-2026-63950, fixed by v1 2/9 'mm/rmap: initialize nr_pages to 1 at loop start'.",
        ("mapcount", "refcount", "mm_counters"),
        "a batch followed by a device-exclusive entry in the same VMA"),
    Bug("cross-pmd", "Batch across a page-table boundary",
        "folio_unmap_pte_batch() caps the batch at the VMA end only, not at the next PMD "
        "boundary, so the PTE pointer runs off the end of its page table.",
        "Lance Yang, 'mm/rmap: fix potential out-of-bounds page table access during batched "
        "unmap' (2025).",
        ("page_table_bounds",), "a batched folio that straddles a 2 MiB (PMD) boundary"),
    Bug("writable-restore", "Restore with a writable template",
        "The batch ignores the write bit (as folio_pte_batch() did before 2026), so one batch "
        "may mix writable and read-only PTEs; a failed batch is restored from its first PTE, "
        "and read-only PTEs behind a writable first PTE come back writable.",
        "Dev Jain, 'mm/rmap: fix incorrect pte restoration for lazyfree folios' (2026), which "
        "added FPB_RESPECT_WRITE | FPB_RESPECT_SOFT_DIRTY to folio_unmap_pte_batch().",
        ("no_write_gain",), "a writable first PTE and read-only PTEs in one batch, and a failure"),
    Bug("no-swap-offset", "No per-page swap offset",
        "Every swap PTE of a sub-batch names the first page's swap slot instead of slot "
        "folio->swap + i.",
        "The trap set_ptes() sets for swap PTEs: it advances pfns, not swap offsets (v1 4/9).",
        ("swap_counts", "swap_offsets"), "patched mode, a sub-batch of two or more pages"),
    Bug("sparc-batch-adi", "Batch on sparc64 with one ADI tag save",
        "sparc64's anon swap-backed folios are batched, and arch_unmap_one() runs once per "
        "sub-batch with its first PTE, so only the first page's ADI tags are saved.",
        "What v4 12/12 avoids by disabling the sparc64-anon-swapbacked case.",
        ("adi_tags",), "sparc64 with ADI, patched mode, a large swap-backed folio"),
)}


NO_BUGS: frozenset[str] = frozenset()


class BugError(ValueError):
    """An unknown bug-zoo variant."""


def check_bug_names(names) -> frozenset[str]:
    if not names:
        return NO_BUGS
    if isinstance(names, str):
        names = [names] if names else []
    names = frozenset(names or ())
    unknown = sorted(names - BUGS.keys())
    if unknown:
        raise BugError(f"bug: unknown variant {unknown[0]!r} (choose from {', '.join(BUGS)})")
    return names
