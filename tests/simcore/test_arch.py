"""simcore.arch: page geometry and arch hooks (kernel-brief §8.1, §10, §7, §11 item 14)."""

from __future__ import annotations

import pytest

from simcore.arch import ARCH_NAMES, ArchError, get_arch


def test_arch_names():
    assert ARCH_NAMES == ("x86_64", "arm64", "sparc64")


def test_x86_64_geometry():
    a = get_arch("x86_64")
    assert a.page_size == 4096 and a.page_shift == 12
    # §10: 4K pages -> PTRS_PER_PTE 512, one PTE table maps 512 x 4 KiB = 2 MiB
    assert a.ptrs_per_pte == 512
    assert a.pmd_size == 2 << 20
    assert a.cont_ptes == 0                        # no contiguous-PTE hint on x86
    assert not a.has_arch_unmap_one                # generic arch_unmap_one() stub (§7)
    assert a.defer_flush is True                   # reclaim passes TTU_BATCH_FLUSH (§2.6)
    assert not a.adi and not a.bbml2


@pytest.mark.parametrize("ps, shift, ptrs, pmd, cont", [
    # §10: 4K: 512 / 2 MiB, CONT_PTES 16 (64 KiB block)
    (4096, 12, 512, 2 << 20, 16),
    # §10: 16K: 2048 / 32 MiB, CONT_PTES 128 (2 MiB block)
    (16384, 14, 2048, 32 << 20, 128),
    # §10: 64K: 8192 / 512 MiB, CONT_PTES 32 (2 MiB block)
    (65536, 16, 8192, 512 << 20, 32),
])
def test_arm64_geometry(ps, shift, ptrs, pmd, cont):
    a = get_arch("arm64", ps)
    assert (a.page_size, a.page_shift, a.ptrs_per_pte, a.pmd_size, a.cont_ptes) == (
        ps, shift, ptrs, pmd, cont)
    # §8.1: a CONT block is CONT_PTES x page size: 64 KiB with 4K pages, 2 MiB with 16K/64K
    assert a.cont_ptes * a.page_size == (64 << 10 if ps == 4096 else 2 << 20)
    assert not a.has_arch_unmap_one


def test_arm64_bbml2_flag_and_describe():
    a = get_arch("arm64", 4096, bbml2=True)
    assert a.bbml2
    assert "CONT_PTES=16" in a.describe() and "BBML2" in a.describe()
    assert "no BBML2" in get_arch("arm64").describe()


def test_sparc64_profile():
    a = get_arch("sparc64")
    # sparc64 is modelled with 8 KiB pages: PTRS_PER_PTE = 8192/8 = 1024, PMD span 8 MiB
    assert a.page_size == 8192 and a.ptrs_per_pte == 1024 and a.pmd_size == 8 << 20
    assert a.has_arch_unmap_one                    # the only __HAVE_ARCH_UNMAP_ONE (§7)
    assert a.adi                                   # ADI on by default, so tags are saved
    assert not get_arch("sparc64", adi=False).adi
    assert "ADI on" in a.describe()


def test_defer_flush_override():
    assert get_arch("x86_64", defer_flush=False).defer_flush is False


@pytest.mark.parametrize("args, field", [
    (("mips",), "arch: unknown name"),
    (("arm64", 8192), "arch.page_size"),
    (("x86_64", 16384), "arch.page_size"),
    (("sparc64", 4096), "arch.page_size"),
])
def test_bad_geometry_names_the_field(args, field):
    with pytest.raises(ArchError, match=field):
        get_arch(*args)


def test_bbml2_and_adi_only_where_they_exist():
    with pytest.raises(ArchError, match="arch.bbml2"):
        get_arch("x86_64", bbml2=True)
    with pytest.raises(ArchError, match="arch.adi"):
        get_arch("arm64", adi=True)


def test_profiles_are_frozen_values():
    a = get_arch("arm64", 16384)
    assert a == get_arch("arm64", 16384)
    with pytest.raises(AttributeError):
        a.page_size = 4096  # type: ignore[misc]


def test_tlb_policy_per_architecture():
    """should_defer_flush() (mm/rmap.c) asks arch_tlbbatch_should_defer(): arm64
    (arch/arm64/include/asm/tlbflush.h) always defers; x86 (arch/x86/include/asm/tlbflush.h)
    defers only if cpumask_any_but(mm_cpumask(mm), get_cpu()) finds another CPU; sparc64 does
    not select ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH and its flush_tlb_range() is empty
    (arch/sparc/include/asm/tlbflush_64.h): one flush per PTE from tlb_batch_add()."""
    assert get_arch("arm64").tlb_policy == "defer"
    assert get_arch("x86_64").tlb_policy == "defer"
    assert get_arch("x86_64", defer_flush=False).tlb_policy == "immediate"
    assert get_arch("sparc64").tlb_policy == "pte" and not get_arch("sparc64").defer_flush
    assert "immediate TLB flush" in get_arch("x86_64", defer_flush=False).describe()


@pytest.mark.parametrize("name,defer,why", [
    ("arm64", False, "arm64 always defers"),
    ("sparc64", True, "sparc64 has no batched unmap TLB flush"),
])
def test_tlb_cases_the_kernel_cannot_produce_are_refused(name, defer, why):
    """Same sources as test_tlb_policy_per_architecture: only x86 has a choice."""
    with pytest.raises(ArchError, match=f"arch.defer_flush: {why}"):
        get_arch(name, defer_flush=defer)
