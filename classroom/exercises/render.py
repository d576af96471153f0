"""Draw a scenario as a few lines of text a student can read (and answer from).

One block per mm: a row of page numbers, the PTE of each page, its bits and PG_anon_exclusive;
``|`` marks a page-table (PMD) boundary and ``]`` a VMA boundary between two pages. The strip is
drawn from the `System` simcore builds from the scenario, so it shows exactly what the model
runs on.
"""

from __future__ import annotations

from typing import Any

LEGEND = "\n".join((
    "PTE:  W present writable, R present read-only, D device-exclusive entry,",
    "      X swap PTE with the exclusive marker, S swap PTE without it, - none,",
    "      . outside every VMA",
    "bits: d dirty, y young, s soft-dirty    excl: E = PG_anon_exclusive, N = not",
    "|     a page-table (PMD) boundary       ]: a VMA boundary",
))

FAULT_TEXT = {
    "dup_swap": "folio_dup_swap() fails with -ENOMEM on the call that covers page {page} (its "
                "swap slot is at SWAP_MAP_MAX and the count-continuation page cannot be "
                "allocated)",
    "arch_unmap_one": "arch_unmap_one() fails (no ADI tag storage) for page {page}",
    "pin": "GUP-fast pins the folio just before the unit of swap work that covers page {page}",
}


def _code(pte) -> str:
    if pte.kind == "present":
        return "W" if pte.write else "R"
    if pte.kind == "swap":
        return "X" if pte.exclusive else "S"
    if pte.kind == "device_exclusive":
        return "D"
    return "-"


def _bits(pte) -> str:
    if pte.kind == "none":
        return ""
    b = ""
    if pte.kind == "present":
        b += "d" if pte.dirty else ""
        b += "y" if pte.young else ""
    b += "s" if pte.soft_dirty else ""
    return b


def folio_line(sys) -> str:
    f = sys.folio
    kind = "anon swap-backed" if f.swapbacked else "anon lazyfree (MADV_FREE, not swap-backed)"
    size = f.nr_pages * sys.arch.page_size // 1024
    extra = []
    if f.pincount:
        extra.append("DMA-pinned (folio_maybe_dma_pinned() is true)")
    if f.dirty:
        extra.append("dirty")
    return (f"{sys.arch.describe()}; folio: {f.nr_pages} pages ({size} KiB, order {f.order}), "
            f"pfn {f.first_pfn:#x}, {kind}" + ("; " + ", ".join(extra) if extra else ""))


def draw(scenario: dict[str, Any], mode: str | None = None) -> str:
    """The scenario as text: header, one block per mm, faults (the legend is `legend()`)."""
    from classroom.exercises.base import system_of

    sys = system_of(scenario)
    folio, ps = sys.folio, sys.arch.page_size
    nr = folio.nr_pages
    lines = [folio_line(sys)]
    if mode:
        lines.append(f"mode: {mode}")
    excl = folio.exclusive_string()
    for name, mm in sys.mms.items():
        bases = sorted({base for vma, base in sys.mappings if vma.mm is mm})
        for base in bases:
            vmas = [v for v, b in sys.mappings if v.mm is mm and b == base]
            spans = ", ".join(f"[{v.start:#x}, {v.end:#x})" for v in vmas)
            lines.append("")
            lines.append(f"{name}: page 0 at {base:#x}; VMA{'s' if len(vmas) > 1 else ''} "
                         f"{spans}")
            rows = {"page": [], "PTE": [], "bits": [], "excl": []}
            seps = []
            for i in range(nr):
                addr = base + i * ps
                inside = mm.find_vma(addr) is not None
                pte = mm.pt.get(addr)
                rows["page"].append(str(i))
                rows["PTE"].append(_code(pte) if inside else ".")
                rows["bits"].append(_bits(pte) if inside else "")
                rows["excl"].append(excl[i])
                sep = " "
                if i + 1 < nr:
                    nxt = addr + ps
                    if nxt % sys.arch.pmd_size == 0:
                        sep = "|"
                    a, b = mm.find_vma(addr), mm.find_vma(nxt)
                    if a is not b:
                        sep = "]" if sep == " " else "]|"
                seps.append(sep)
            for label, cells in rows.items():
                out = f"  {label:<5}"
                for i, c in enumerate(cells):
                    out += f"{c:>3}" + (seps[i] if i + 1 < nr and seps[i] != " " else "")
                lines.append(out.rstrip())
    faults = scenario.get("faults") or []
    if faults:
        lines.append("")
        for flt in faults:
            lines.append("fault: " + FAULT_TEXT[flt["op"]].format(page=flt["page"]))
    return "\n".join(lines)


def legend() -> str:
    return LEGEND
