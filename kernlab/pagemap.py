"""Readers of /proc/PID/pagemap and /proc/kpageflags (Documentation/admin-guide/mm/pagemap.rst).

A pagemap word is 64 bits per virtual page: bit 63 present, 62 swapped, 57 uffd-wp (of the PTE or
swap PTE), 56 "page exclusively mapped" (a *mapcount* fact, not PG_anon_exclusive), 55
soft-dirty; a present page has its PFN in bits 0-54, a swapped one its swap type in bits 0-4 and
offset in bits 5-54. Without CAP_SYS_ADMIN the PFN and the swap offset read as 0.

/proc/kpageflags holds 64 flag bits per PFN (root only). The kernel reports the *folio's* flags
for every page, so bit 34 (KPF_MAPPEDTODISK, which shares its bit with PG_anon_exclusive for
anonymous pages) is the head page's exclusivity, shown on every page of the folio.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PM_PRESENT, PM_SWAP, PM_UFFD_WP, PM_MMAP_EXCLUSIVE, PM_SOFT_DIRTY = 63, 62, 57, 56, 55
PFN_MASK = (1 << 55) - 1

#: include/uapi/linux/kernel-page-flags.h and fs/proc/page.c (KPF_* bit numbers).
KPF = {"locked": 0, "referenced": 2, "uptodate": 3, "dirty": 4, "lru": 5, "active": 6,
       "mmap": 11, "anon": 12, "swapcache": 13, "swapbacked": 14, "compound_head": 15,
       "compound_tail": 16, "huge": 17, "unevictable": 18, "nopage": 20, "thp": 22,
       "zero_page": 24, "mlocked": 33, "anon_exclusive": 34}


@dataclass(frozen=True)
class PagemapEntry:
    """One decoded pagemap word."""

    word: int

    @property
    def present(self) -> bool:
        return bool(self.word >> PM_PRESENT & 1)

    @property
    def swapped(self) -> bool:
        return bool(self.word >> PM_SWAP & 1)

    @property
    def kind(self) -> str:
        """``present``, ``swap`` or ``none`` — simcore's PTE kinds."""
        return "present" if self.present else "swap" if self.swapped else "none"

    @property
    def uffd_wp(self) -> bool:
        return bool(self.word >> PM_UFFD_WP & 1)

    @property
    def mapped_once(self) -> bool:
        return bool(self.word >> PM_MMAP_EXCLUSIVE & 1)

    @property
    def soft_dirty(self) -> bool:
        return bool(self.word >> PM_SOFT_DIRTY & 1)

    @property
    def pfn(self) -> int | None:
        return self.word & PFN_MASK if self.present else None

    @property
    def swap_type(self) -> int | None:
        return self.word & 0x1F if self.swapped else None

    @property
    def swap_offset(self) -> int | None:
        return (self.word & PFN_MASK) >> 5 if self.swapped else None


def decode(data: bytes) -> list[PagemapEntry]:
    """Decode consecutive 8-byte pagemap words (native byte order)."""
    if len(data) % 8:
        raise ValueError(f"pagemap data of {len(data)} bytes is not a whole number of words")
    return [PagemapEntry(w) for w in struct.unpack(f"={len(data) // 8}Q", data)]


def read(addr: int, npages: int, pid: int | str = "self", page_size: int = 4096
         ) -> list[PagemapEntry]:
    """The pagemap entries of ``npages`` pages from virtual address ``addr`` of ``pid``."""
    with open(f"/proc/{pid}/pagemap", "rb", buffering=0) as f:
        f.seek(addr // page_size * 8)
        return decode(f.read(npages * 8))


def decode_flags(word: int) -> dict[str, bool]:
    return {name: bool(word >> bit & 1) for name, bit in KPF.items()}


def read_kpageflags(pfns: list[int], path: str = "/proc/kpageflags") -> list[dict[str, bool]]:
    """The decoded flags of each PFN (root only)."""
    out = []
    with open(path, "rb", buffering=0) as f:
        for pfn in pfns:
            f.seek(pfn * 8)
            out.append(decode_flags(struct.unpack("=Q", f.read(8))[0]))
    return out


def folio_runs(entries: list[PagemapEntry], flags: list[dict[str, bool]]) -> list[tuple[int, int]]:
    """(first index, nr pages) of each folio among present pages: a compound head followed by
    its tails at consecutive PFNs, or a lone small page."""
    runs: list[tuple[int, int]] = []
    for i, (e, f) in enumerate(zip(entries, flags, strict=True)):
        if not e.present:
            continue
        if (f["compound_tail"] and runs and e.pfn is not None
                and entries[runs[-1][0]].pfn is not None
                and e.pfn == entries[runs[-1][0]].pfn + runs[-1][1]
                and runs[-1][0] + runs[-1][1] == i):
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs


def kinds_summary(kinds: list[str]) -> str:
    """Run-length form of a list of PTE kinds: ``16 swap`` or ``4 present, 12 swap``."""
    out: list[list] = []
    for k in kinds:
        if out and out[-1][1] == k:
            out[-1][0] += 1
        else:
            out.append([1, k])
    return ", ".join(f"{n} {k}" for n, k in out) or "nothing"
