"""Anonymous memory driven through libc with ctypes: mmap, madvise, mprotect, mremap, munmap.

Python's `mmap` module hides the address and lacks MADV_PAGEOUT, so the lab calls libc directly.
Every call raises `OSError` with errno on failure; nothing here changes a system setting.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

PROT_NONE, PROT_READ, PROT_WRITE = 0, 1, 2
MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_NORESERVE = 0x02, 0x10, 0x20, 0x4000
MADV_FREE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_PAGEOUT = 8, 14, 15, 21
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2
MAP_FAILED = ctypes.c_void_p(-1).value

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.mremap.restype = ctypes.c_void_p
_libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
                         ctypes.c_void_p]
_libc.syscall.restype = ctypes.c_long


def _check(ret: int, what: str) -> int:
    if ret == -1 or ret == MAP_FAILED or ret is None:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def mmap_anon(length: int, addr: int = 0, fixed: bool = False,
              prot: int = PROT_READ | PROT_WRITE) -> int:
    flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (MAP_FIXED if fixed else 0)
    return _check(_libc.mmap(addr or None, length, prot, flags, -1, 0), "mmap")


def munmap(addr: int, length: int) -> None:
    _check(_libc.munmap(addr, length), "munmap")


def madvise(addr: int, length: int, advice: int) -> None:
    _check(_libc.madvise(addr, length, advice), f"madvise({advice})")


def mprotect(addr: int, length: int, prot: int) -> None:
    _check(_libc.mprotect(addr, length, prot), "mprotect")


def mremap(old: int, length: int, new: int) -> int:
    """Move ``length`` bytes from ``old`` to exactly ``new`` (MREMAP_MAYMOVE|MREMAP_FIXED)."""
    return _check(_libc.mremap(old, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, new),
                  "mremap")


def reserve(length: int, align: int) -> int:
    """An address range of ``length`` bytes aligned to ``align``, reserved (PROT_NONE)."""
    raw = mmap_anon(length + align, prot=PROT_NONE)
    start = (raw + align - 1) // align * align
    if start > raw:
        munmap(raw, start - raw)
    tail = raw + length + align - (start + length)
    if tail:
        munmap(start + length, tail)
    return start


def map_aligned(length: int, align: int, hugepage: bool = True, offset: int = 0) -> int:
    """A private anonymous mapping at ``offset`` bytes past an ``align``-aligned address.

    With ``hugepage`` the range is MADV_HUGEPAGE'd, so the mTHP sizes set to ``madvise`` apply
    (a size the kernel offers is used only where the range holds an aligned block of it).
    """
    base = reserve(length + offset + align, align)
    addr = mmap_anon(length, base + offset, fixed=True)
    if hugepage:
        madvise(addr, length, MADV_HUGEPAGE)
    return addr


def fill(addr: int, length: int, byte: int | None = None) -> None:
    """Touch every page: ``byte`` everywhere, or (None) each page's own index in its first
    8 bytes and 0x5a elsewhere, so that no page is zero-filled (zero pages skip swap I/O)."""
    if byte is not None:
        ctypes.memset(addr, byte, length)
        return
    ctypes.memset(addr, 0x5A, length)
    for i in range(length // PAGE_SIZE):
        ctypes.c_uint64.from_address(addr + i * PAGE_SIZE).value = i + 1


def write_byte(addr: int, value: int = 0x77) -> None:
    ctypes.c_uint8.from_address(addr).value = value


def read_byte(addr: int) -> int:
    return ctypes.c_uint8.from_address(addr).value


def thread_cpu_ns() -> int:
    """CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), in ns."""
    return time.clock_gettime_ns(time.CLOCK_THREAD_CPUTIME_ID)


def syscall(nr: int, *args: int) -> int:
    return _check(_libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args]),
                  f"syscall {nr}")


def ioctl(fd: int, request: int, buf) -> None:
    _libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
    _check(_libc.ioctl(fd, request, ctypes.addressof(buf)), f"ioctl {request:#x}")
