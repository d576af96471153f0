"""Why a batch starts, stops or is a single PTE — in words, for feedback and worked answers.

These functions only *explain* batches that a run of simcore produced; they read the initial
state of the scenario (a freshly built `System`) and name the rule of `folio_unmap_pte_batch()`
/ `folio_pte_batch_flags()` or of the rmap walk that applies at a given page.
"""

from __future__ import annotations

from classroom.exercises.base import pages_text
from simcore.batch import batch_stop_rules, unmap_batch_refused
from simcore.pte import Pte
from simcore.system import System


def slot(sys: System, mm: str, page: int):
    """(address, vma or None, initial pte) of ``page`` in ``mm``'s mapping of the folio."""
    m = sys.mms[mm]
    for vma, base in sys.mappings:
        if vma.mm is m:
            addr = base + page * sys.arch.page_size
            return addr, m.find_vma(addr), m.pt.get(addr)
    raise KeyError(page)


def describe_pte(pte: Pte) -> str:
    if pte.kind == "present":
        return ("present, " + ("writable" if pte.write else "read-only")
                + (", soft-dirty" if pte.soft_dirty else ""))
    return {"none": "none", "swap": "a swap PTE", "device_exclusive":
            "a device-exclusive entry"}[pte.kind]


#: why `folio_unmap_pte_batch()` returns 1 for every PTE (`unmap_batch_refused()` codes)
REFUSED = {
    "small": "the folio is small (one page): there is nothing to batch",
    "per-pte": "in per-pte mode (kernels before 2025) folio_unmap_pte_batch() does not exist: "
               "every PTE is one loop iteration",
    "baseline-swapbacked": "before the series, folio_unmap_pte_batch() returns 1 for anon "
                           "swap-backed folios (only lazyfree and file folios were batched)",
    "sparc64-swapbacked": "the series keeps sparc64's anon swap-backed folios at one PTE: "
                          "arch_unmap_one() saves ADI tags for one page from that page's own PTE "
                          "(\"just disable the sparc64-anon-swapbacked case for now\", v4 12/12)",
}


def no_batch_reason(sys: System, mode: str) -> str | None:
    """Why `folio_unmap_pte_batch()` returns 1 for every PTE of this folio, or None."""
    code = unmap_batch_refused(sys.folio, mode, sys.arch.name)
    return REFUSED[code] if code else None


def why_batching(sys: System, mode: str) -> str:
    """Why batching is allowed at all here (the complement of `no_batch_reason`)."""
    f = sys.folio
    if not f.swapbacked:
        return ("lazyfree (MADV_FREE) folios are batched since Barry Song's 2025 work, on every "
                "architecture (the lazyfree path never calls arch_unmap_one())")
    return (f"with the series, anon swap-backed folios are batched on {sys.arch.name}")


def stop_reason(sys: System, mode: str, mm: str, p: int, n: int) -> str:
    """Why the batch [p, p+n) does not take page p+n as well."""
    if n == 1:
        r = no_batch_reason(sys, mode)
        if r:
            return r
    _, vma_p, first = slot(sys, mm, p)
    if first.kind == "device_exclusive":
        return (f"page {p}'s entry is device-exclusive: not present, so it is never batched "
                "(nr_pages stays 1)")
    q = p + n
    addr, vma, pte = slot(sys, mm, q)
    base = addr - q * sys.arch.page_size
    code = batch_stop_rules(sys.folio, vma_p, base, sys.mms[mm].pt.get, p, n)[0]
    return {
        "folio-end": f"page {q - 1} is the folio's last page: a batch never leaves the folio",
        "vma-end": f"the VMA ends at {addr:#x}, after page {q - 1}: a batch never crosses the VMA "
                   "end",
        "pmd-boundary": f"page {q} is in the next page table (PMD boundary at {addr:#x}): a batch "
                        "never crosses it",
        "not-present": f"page {q}'s PTE is {describe_pte(pte)}, not present: only present PTEs "
                       "of consecutive pages are batched",
        "write": f"page {q}'s PTE is {'writable' if pte.write else 'read-only'} but page {p}'s is "
                 f"{'writable' if first.write else 'read-only'}: unmap batches respect the write "
                 "bit (FPB_RESPECT_WRITE)",
        "soft-dirty": f"page {q}'s soft-dirty bit differs from page {p}'s: unmap batches respect "
                      "soft-dirty (FPB_RESPECT_SOFT_DIRTY)",
        "other": f"folio_pte_batch_flags() stops before page {q}",
    }[code]


def continue_reason(sys: System, mm: str, p: int, q: int) -> str:
    """Why page q still belongs to the batch that starts at page p."""
    _, _, first = slot(sys, mm, p)
    _, _, pte = slot(sys, mm, q)
    extra = ""
    if pte.dirty != first.dirty or pte.young != first.young:
        extra = " (dirty and young may differ: get_and_clear_ptes() gathers them)"
    return (f"page {q}'s PTE is present, maps the next page, is "
            f"{'writable' if pte.write else 'read-only'} like page {p}'s with the same "
            f"soft-dirty bit, and lies in the same VMA and page table{extra}, so the batch goes on")


def skip_reason(sys: System, mm: str, a: int, b: int) -> str:
    """Why the walk stops at no page in [a, b) (consecutive pages with one reason grouped)."""
    why: list[tuple[int, str]] = []
    for q in range(a, b):
        addr, vma, pte = slot(sys, mm, q)
        if vma is None:
            r = "outside the VMA"
        elif pte.kind == "none":
            r = "none PTE (the walk steps over it)"
        elif pte.kind == "swap":
            r = ("swap PTE (check_pte() rejects it: it names a swap slot, not a pfn)")
        else:
            continue
        why.append((q, r))
    parts = []
    i = 0
    while i < len(why):
        j = i
        while j + 1 < len(why) and why[j + 1][1] == why[i][1] and why[j + 1][0] == why[j][0] + 1:
            j += 1
        first, last, r = why[i][0], why[j][0], why[i][1]
        where = f"page {first}" if first == last else f"pages {first}..{last}"
        if r == "outside the VMA":
            parts.append(f"{where} {'lies' if first == last else 'lie'} outside the VMA")
        else:
            parts.append(f"{where}: {r if first == last else r.replace('PTE', 'PTEs', 1)}")
        i = j + 1
    return "; ".join(parts)


CODE_TEXT = {"X": "a swap PTE with the exclusive marker",
             "S": "a swap PTE without the exclusive marker",
             "P": "present (it still maps the page)", "-": "none"}


def fate_reason(page: int, fate: dict, initial_flags: str, mode: str, n: int = 1) -> str:
    """Why pages [page, page+n) — which share one fate — ended as they did.

    ``fate`` comes from `classroom.exercises.base.page_fates` (swap, restored, untouched).
    """
    kind = fate["fate"]
    what = pages_text(page, n)
    many = n > 1
    if kind == "swap":
        s, sn, _e = fate["unit"]
        unit = ""
        if mode == "patched" and (s, sn) != (page, n):
            unit = (f" ({'they' if many else 'it'} went to swap with the sub-batch "
                    f"{pages_text(s, sn)})")
        if initial_flags[page] == "E":
            return (f"{what} {'were' if many else 'was'} exclusive (E) and "
                    f"folio_try_share_anon_rmap_pte{'s' if mode == 'patched' else ''}() "
                    f"succeeded, so {'their swap PTEs carry' if many else 'its swap PTE carries'}"
                    f" the exclusive marker{unit}")
        return (f"{what} {'were' if many else 'was'} not exclusive (N), so "
                f"{'their swap PTEs have' if many else 'its swap PTE has'} no exclusive "
                f"marker{unit}")
    if kind == "restored":
        fn, text, fp, fnr = fate["fail"]
        out = ""
        if fate.get("fault"):
            out = (f"GUP-fast pinned the folio just before the unit covering page "
                   f"{fate['fault'][1]}; ")
        out += (f"{fn}() failed for {pages_text(fp, fnr)} ({text}), so set_ptes() restored "
                f"{pages_text(fate['from'], fate['nr'])} as present PTEs")
        return out
    if kind == "untouched":
        return (f"the walk stopped at the failure before it reached {what}, so "
                f"{'those PTEs were' if many else 'that PTE was'} never cleared")
    return f"{what}: {kind}"


def group_fates(letters: str, fates: dict, initial_flags: str, mode: str) -> list[str]:
    """One line per run of pages that share a letter and a fate (``fates`` keyed by the page
    number as a string, as in an instance's data)."""
    def key(p):
        f = fates[str(p)]
        return (letters[p], f["fate"], repr(f.get("unit")), f.get("from"),
                initial_flags[p] if f["fate"] == "swap" else "")
    lines = []
    p = 0
    nr = len(letters)
    while p < nr:
        q = p
        while q + 1 < nr and key(q + 1) == key(p):
            q += 1
        f = fates[str(p)]
        lines.append(f"{pages_text(p, q - p + 1)}: {letters[p]} — "
                     f"{fate_reason(p, f, initial_flags, mode, q - p + 1)}.")
        p = q + 1
    return lines
