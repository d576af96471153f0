"""Architecture profiles: page geometry and the arch hooks the unmap path consults.

Models the per-architecture facts that `try_to_unmap_one()` (mm/rmap.c) depends on:

* PAGE_SIZE and PTRS_PER_PTE, hence the span of one PTE table (the PMD boundary that
  `folio_unmap_pte_batch()` must not cross);
* arm64's contiguous-PTE block size CONT_PTES (arch/arm64/include/asm/pgtable.h) and whether
  the CPU has BBML2 without aborts, which lets `contpte_convert()` skip its break-before-make
  TLB invalidation (arch/arm64/mm/contpte.c);
* sparc64's `arch_unmap_one()` (arch/sparc/include/asm/pgtable_64.h), the only
  non-stub definition, which saves ADI tags per page;
* the TLB policy behind `should_defer_flush()` (mm/rmap.c), which reclaim always asks
  (`shrink_folio_list()` passes TTU_BATCH_FLUSH). Checked in the sources:

  - arm64 (`arch/arm64/include/asm/tlbflush.h`, `arch_tlbbatch_should_defer()`): always
    defers — the CPU-count threshold existed only in the 2022 proposals, and since
    "arm64: tlb: Optimize ARM64_WORKAROUND_REPEAT_TLBI" even with that erratum;
  - x86 (`arch/x86/include/asm/tlbflush.h`, `arch_tlbbatch_should_defer()`): defers only when
    `cpumask_any_but(mm_cpumask(mm), get_cpu())` finds another CPU, i.e. when the mm has run
    on a CPU other than the reclaiming one. A one-CPU process that pages itself out gets an
    immediate `flush_tlb_range()` per unmap step (measured on Linux 6.18 by
    `python -m kernlab check`).
    Which case applies is the scenario's choice (``defer_flush``, ``--tlb``);
  - sparc64 does not select `ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH`, so `should_defer_flush()` is
    false, its `flush_tlb_range()` is empty (`arch/sparc/include/asm/tlbflush_64.h`) and the
    shootdown is queued per PTE by the PTE update itself (`tlb_batch_add()`,
    arch/sparc/mm/tlb.c): one flush per cleared PTE, batched or not.
"""

from __future__ import annotations

from dataclasses import dataclass

ARCH_NAMES = ("x86_64", "arm64", "sparc64")
#: The x86 TLB cases of `arch_tlbbatch_should_defer()`: the mm has run on another CPU
#: ("defer") or only on the reclaiming one ("immediate"); see `Arch.tlb_policy`.
X86_TLB_CASES = ("defer", "immediate")

#: arm64 CONT_PTES per granule: 2^CONFIG_ARM64_CONT_PTE_SHIFT (4K: 16, 16K: 128, 64K: 32).
ARM64_CONT_PTES = {4096: 16, 16384: 128, 65536: 32}
#: PTRS_PER_PTE = PAGE_SIZE / sizeof(pte_t) with 8-byte PTEs.
PTE_BYTES = 8


class ArchError(ValueError):
    """An arch name or parameter that no profile has."""


@dataclass(frozen=True)
class Arch:
    """One architecture profile.

    ``cont_ptes`` is 0 where the architecture has no contiguous-PTE hint (x86_64, sparc64).
    ``defer_flush`` is what `should_defer_flush()` answers for reclaim (TTU_BATCH_FLUSH set):
    always true on arm64, always false on sparc64, the scenario's choice on x86 (see
    `tlb_policy`).
    ``adi`` says whether sparc64 ADI (Application Data Integrity) is enabled for the VMAs, so
    that `arch_unmap_one()` has tags to save.
    """

    name: str
    page_size: int = 4096
    bbml2: bool = False
    defer_flush: bool = True
    adi: bool = False

    @property
    def page_shift(self) -> int:
        return self.page_size.bit_length() - 1

    @property
    def ptrs_per_pte(self) -> int:
        return self.page_size // PTE_BYTES

    @property
    def pmd_size(self) -> int:
        """Bytes mapped by one PTE table (the span between two PMD boundaries)."""
        return self.ptrs_per_pte * self.page_size

    @property
    def cont_ptes(self) -> int:
        return ARM64_CONT_PTES[self.page_size] if self.name == "arm64" else 0

    @property
    def tlb_policy(self) -> str:
        """How a cleared PTE's TLB entry goes: ``"defer"`` (`set_tlb_ubc_flush_pending()`),
        ``"immediate"`` (`flush_tlb_range()` at once) or ``"pte"`` (sparc64: one flush per PTE
        from `tlb_batch_add()`, whatever the batch)."""
        if self.name == "sparc64":
            return "pte"
        return "defer" if self.defer_flush else "immediate"

    @property
    def has_arch_unmap_one(self) -> bool:
        """Only sparc64 defines __HAVE_ARCH_UNMAP_ONE; everywhere else it is a stub."""
        return self.name == "sparc64"

    def describe(self) -> str:
        bits = [self.name, f"{self.page_size // 1024}K pages", f"PTRS_PER_PTE={self.ptrs_per_pte}"]
        if self.cont_ptes:
            bits.append(f"CONT_PTES={self.cont_ptes}")
            bits.append("BBML2" if self.bbml2 else "no BBML2")
        if self.name == "sparc64":
            bits.append("ADI on" if self.adi else "ADI off")
        if self.name == "x86_64" and not self.defer_flush:
            bits.append("immediate TLB flush")
        return ", ".join(bits)


def get_arch(name: str, page_size: int | None = None, bbml2: bool = False,
             defer_flush: bool | None = None, adi: bool | None = None) -> Arch:
    """Return the profile for ``name``; raise ArchError naming the bad parameter."""
    if name not in ARCH_NAMES:
        raise ArchError(f"arch: unknown name {name!r} (choose one of {', '.join(ARCH_NAMES)})")
    if page_size is None:
        page_size = 8192 if name == "sparc64" else 4096
    if name == "arm64":
        if page_size not in ARM64_CONT_PTES:
            raise ArchError(f"arch.page_size: arm64 granule must be 4096, 16384 or 65536, "
                            f"not {page_size}")
    elif name == "sparc64":
        if page_size != 8192:
            raise ArchError(f"arch.page_size: sparc64 is modelled with 8192-byte pages, "
                            f"not {page_size}")
    elif page_size != 4096:
        raise ArchError(f"arch.page_size: x86_64 pages are 4096 bytes, not {page_size}")
    if bbml2 and name != "arm64":
        raise ArchError("arch.bbml2: BBML2 is an arm64 feature")
    if defer_flush is None:
        defer_flush = name != "sparc64"
    elif name == "arm64" and not defer_flush:
        raise ArchError("arch.defer_flush: arm64 always defers the unmap TLB flush "
                        "(arch_tlbbatch_should_defer() returns true)")
    elif name == "sparc64" and defer_flush:
        raise ArchError("arch.defer_flush: sparc64 has no batched unmap TLB flush "
                        "(ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH is not selected)")
    if adi is None:
        adi = name == "sparc64"
    if adi and name != "sparc64":
        raise ArchError("arch.adi: ADI is a sparc64 feature")
    return Arch(name=name, page_size=page_size, bbml2=bbml2, defer_flush=defer_flush, adi=adi)
