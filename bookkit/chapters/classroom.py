"""The bug-zoo chapter's cases: for each broken variant, a scenario that makes it show.

Each case is the smallest scenario of the kind `simcore.bugs.BUGS[name].needs` describes;
`bookkit.tracediff` compares the correct and broken runs and the invariant checker names what
broke. Plumbing for book/classroom.md; the tests check that every case is caught.
"""

from __future__ import annotations

from typing import Any

from bookkit.scenarios import folio_scenario

#: bug name -> (mode, scenario); the knobs follow BUGS[name].needs
BUG_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "skip-accounting": ("patched", folio_scenario(
        exclusive="NNNNNNNNEEEEEEEE", pinned=True, readonly_from=0,
        name="pinned folio, N pages then E pages, one read-only batch")),
    "exclusivity-from-head": ("patched", folio_scenario(
        exclusive="EEEENNNNEEEENNNN", vma_start_page=4, readonly_from=0,
        name="VMA starts at page 4, mixed exclusivity")),
    "stale-nr-pages": ("patched", folio_scenario(
        swapbacked=False, dirty=False, droppable=True, device_exclusive=15,
        name="CVE-2026-63950: lazyfree, droppable, last page device-exclusive")),
    "cross-pmd": ("patched", folio_scenario(
        straddle_pmd=True, name="folio straddling a page-table boundary")),
    "writable-restore": ("patched", folio_scenario(
        readonly_from=8, pinned=True, name="half writable, half read-only, pinned")),
    "no-swap-offset": ("patched", folio_scenario(name="64 KiB exclusive folio")),
    "sparc-batch-adi": ("patched", folio_scenario(
        arch="sparc64", order=3, name="sparc64, ADI on, 64 KiB folio")),
}
