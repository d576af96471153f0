"""Page-table entries as immutable values.

Models `pte_t` and the accessors of include/linux/pgtable.h, include/linux/swapops.h and
mm/internal.h that the unmap path uses: `pte_present`, `pte_pfn`, `pte_write`, `pte_dirty`,
`pte_young`, `pte_soft_dirty`, `pte_uffd_wp`, arm64's `pte_cont`; swap PTEs with
`swp_type`/`swp_offset` and the `pte_swp_exclusive` marker; device-exclusive softleaf
entries that still name a pfn (`softleaf_to_pfn`). Left out: every other bit (cacheability,
special, protection keys) — they are equal within any batch the model builds.
"""

from __future__ import annotations

from typing import NamedTuple

NONE = "none"
PRESENT = "present"
SWAP = "swap"
DEVICE_EXCLUSIVE = "device_exclusive"
KINDS = (NONE, PRESENT, SWAP, DEVICE_EXCLUSIVE)


class Pte(NamedTuple):
    """One PTE value. Which fields mean something depends on ``kind``.

    present: pfn, write, dirty, young, soft_dirty, uffd_wp, cont (arm64 PTE_CONT).
    swap: swp_type, swp_offset, exclusive, soft_dirty, uffd_wp.
    device_exclusive: pfn, soft_dirty, uffd_wp (the swap-PTE style bits of the entry).
    """

    kind: str = NONE
    pfn: int = -1
    write: bool = False
    dirty: bool = False
    young: bool = False
    soft_dirty: bool = False
    uffd_wp: bool = False
    cont: bool = False
    swp_type: int = 0
    swp_offset: int = -1
    exclusive: bool = False


_FIELD_INDEX = {name: i for i, name in enumerate(Pte._fields)}


def _pte_replace(self: Pte, /, **changes) -> Pte:
    """`Pte._replace()`, same result, about twice as fast as the generic namedtuple one.

    The unmap path builds new PTE values all the time (a 65,536-PTE workload does it hundreds of
    thousands of times), and the generic version goes through map() and dict.pop per field.
    """
    values = list(self)
    for name, value in changes.items():
        i = _FIELD_INDEX.get(name)
        if i is None:
            bad = [n for n in changes if n not in _FIELD_INDEX]
            raise ValueError(f"Got unexpected field names: {bad!r}")
        values[i] = value
    return tuple.__new__(Pte, values)


Pte._replace = _pte_replace   # type: ignore[method-assign]

PTE_NONE = Pte()


def pte_none(pte: Pte) -> bool:
    return pte.kind == NONE


def pte_present(pte: Pte) -> bool:
    return pte.kind == PRESENT


def is_swap_pte(pte: Pte) -> bool:
    return pte.kind == SWAP


def is_device_exclusive(pte: Pte) -> bool:
    return pte.kind == DEVICE_EXCLUSIVE


def mk_present(pfn: int, write: bool = True, dirty: bool = False, young: bool = False,
               soft_dirty: bool = False, uffd_wp: bool = False, cont: bool = False) -> Pte:
    return Pte(PRESENT, pfn, write, dirty, young, soft_dirty, uffd_wp, cont)


def mk_device_exclusive(pfn: int, soft_dirty: bool = False, uffd_wp: bool = False) -> Pte:
    return Pte(DEVICE_EXCLUSIVE, pfn, soft_dirty=soft_dirty, uffd_wp=uffd_wp)


def mk_swap(swp_type: int, swp_offset: int, exclusive: bool = False, soft_dirty: bool = False,
            uffd_wp: bool = False) -> Pte:
    return Pte(SWAP, soft_dirty=soft_dirty, uffd_wp=uffd_wp, swp_type=swp_type,
               swp_offset=swp_offset, exclusive=exclusive)


def pte_advance_pfn(pte: Pte, nr: int) -> Pte:
    """`pte_advance_pfn()`: the same PTE value, pointing nr pages further."""
    return pte._replace(pfn=pte.pfn + nr)


def pte_mkold_mkclean(pte: Pte) -> Pte:
    return pte._replace(dirty=False, young=False)


def pte_mkcont_ad(pte: Pte, cont: bool, dirty: bool, young: bool) -> Pte:
    """`pte_mkcont()` / `pte_mknoncont()` with a CONT block's gathered dirty and young bits.

    What `contpte_convert()` writes back into every entry of the block. (Built directly: it
    runs once per entry of every block unfolded, so the generic `_replace` would dominate.)
    """
    kind, pfn, write, _d, _y, soft_dirty, uffd_wp, _c, swp_type, swp_offset, exclusive = pte
    return tuple.__new__(Pte, (kind, pfn, write, dirty, young, soft_dirty, uffd_wp, cont,
                               swp_type, swp_offset, exclusive))


def swp_pte_prepare(swp_type: int, swp_offset: int, old: Pte, anon_exclusive: bool) -> Pte:
    """`swp_pte_prepare()` (mm/rmap.c, merged refactor): build the swap PTE that replaces ``old``.

    The exclusive marker (`pte_swp_mkexclusive`) is set iff the page was exclusive and could be
    shared; soft-dirty and uffd-wp are carried from the old PTE — from its present bits, or for a
    device-exclusive entry from its swap-PTE style bits. Dirty and young are not stored: the
    dirtiness went to the folio (`folio_mark_dirty`).
    """
    # (mk_swap()'s value, built directly: one of these per PTE swapped out)
    return tuple.__new__(Pte, (SWAP, -1, False, False, False, old.soft_dirty, old.uffd_wp, False,
                               swp_type, swp_offset, anon_exclusive))


def pte_code(pte: Pte) -> str:
    """A short code used by traces and the player: W R D X S - (+ 'c' for CONT)."""
    if pte.kind == PRESENT:
        return ("W" if pte.write else "R") + ("c" if pte.cont else "")
    if pte.kind == SWAP:
        return "X" if pte.exclusive else "S"
    if pte.kind == DEVICE_EXCLUSIVE:
        return "D"
    return "-"
