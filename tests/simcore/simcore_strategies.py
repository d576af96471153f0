"""Hypothesis strategies that generate valid simcore scenario dicts (DESIGN §3.5).

The generator aims at realistic kernel states, not only at what `from_dict()` accepts:

* a page mapped (present or device-exclusive) by two mms after fork is not PG_anon_exclusive,
  and a page whose PTE is read-only-shared is never writable: N pages are always mapped
  read-only (from_dict rejects writable N pages);
* a page with a swap PTE naming its slot is not PG_anon_exclusive either (the swap-in sanity
  rule of kernel-brief §3.1: a swap PTE never points to an in-swapcache page that still has the
  flag), and swap PTEs exist only for swap-backed folios (lazyfree folios own no slots);
* a device-exclusive entry is made by `make_device_exclusive()`, which first unshares the page
  (GUP with write): so its page is exclusive and mapped by no other mm.

Everything else is free: arch profile, order 0..6, VMA cut on either side of the folio, a VMA
split inside it (VMA flags changed without touching the PTEs, e.g. MADV_DONTFORK), a folio
straddling a PMD boundary, runs of PTEs with mixed write / dirty / young / soft-dirty / uffd-wp,
gaps, lazyfree vs swap-backed, VM_DROPPABLE, VM_LOCKED, pins, extra references and faults.
"""

from __future__ import annotations

from hypothesis import strategies as st

from simcore.swap import SWAP_MAP_MAX

REGION = 0x7F0000000000      # aligned to 2^40, so to every PMD size of every profile

ARCH_PROFILES = (
    {"name": "x86_64"},
    {"name": "x86_64", "defer_flush": False},      # x86, a one-CPU process: immediate flush
    {"name": "arm64", "page_size": 4096},
    {"name": "arm64", "page_size": 4096, "bbml2": True},
    {"name": "arm64", "page_size": 16384},
    {"name": "arm64", "page_size": 16384, "bbml2": True},
    {"name": "arm64", "page_size": 65536},
    {"name": "arm64", "page_size": 65536, "bbml2": True},
    {"name": "sparc64"},
)


def page_size_of(arch: dict) -> int:
    return arch.get("page_size", 8192 if arch["name"] == "sparc64" else 4096)


def _runs(per_page: dict[int, dict]) -> list[tuple[int, int, dict]]:
    """Merge consecutive pages with equal attributes into (first page, nr, attrs) runs."""
    out: list[tuple[int, int, dict]] = []
    for p in sorted(per_page):
        attrs = per_page[p]
        if out and out[-1][0] + out[-1][1] == p and out[-1][2] == attrs:
            first, n, a = out[-1]
            out[-1] = (first, n + 1, a)
        else:
            out.append((p, 1, attrs))
    return out


@st.composite
def _segments(draw, lo: int, hi: int, kinds: list[str]) -> dict[int, dict]:
    """Per-page PTE attributes for pages [lo, hi), drawn as runs of equal attributes."""
    out: dict[int, dict] = {}
    p = lo
    while p < hi:
        # a run over everything that is left (a third of the time), or a random length
        n = hi - p if draw(st.integers(0, 2)) == 0 else draw(st.integers(1, max(1, hi - p)))
        kind = draw(st.sampled_from(kinds))
        if kind == "present":
            attrs = {"kind": "present", "write": draw(st.booleans()),
                     "dirty": draw(st.booleans()), "young": draw(st.booleans()),
                     "soft_dirty": draw(st.booleans()),
                     "uffd_wp": draw(st.sampled_from((False,) * 7 + (True,)))}
        elif kind == "none":
            attrs = {"kind": "none"}
        elif kind == "swap":
            attrs = {"kind": "swap", "soft_dirty": draw(st.booleans())}
        else:
            attrs = {"kind": "device_exclusive", "soft_dirty": draw(st.booleans())}
        for q in range(p, min(hi, p + n)):
            # dirty/young vary page by page inside a run (they never split a batch)
            a = dict(attrs)
            if kind == "present" and n > 1 and draw(st.booleans()):
                a["dirty"] = draw(st.booleans())
                a["young"] = draw(st.booleans())
            out[q] = a
        p += n
    return out


@st.composite
def scenario_docs(draw, *, faults: bool = True, pins: bool = True, extra_refs: bool = True,
                  locked: bool = True, lazyfree: bool = True, fork: bool = True,
                  min_order: int = 0, max_order: int = 6, arches=ARCH_PROFILES,
                  easy_lazyfree: bool = False, places=("aligned", "aligned", "straddle", "offset"),
                  dev_excl: int = 1, min_faults: int = 0,
                  fault_ops=("dup_swap", "arch_unmap_one", "pin")):
    """A valid scenario dict. The switches restrict or bias the space (for properties, and
    for the bug-zoo searches that need a particular shape):

    ``easy_lazyfree``: a lazyfree folio is generated only in a form whose unmap cannot fail
    (clean folio and clean PTEs, or every VMA VM_DROPPABLE). ``places``: where page 0 may sit.
    ``dev_excl``: weight of device-exclusive runs (present runs weigh 6). ``min_faults``: at
    least that many injected faults, drawn from ``fault_ops``.
    """
    # weights: the arm64 4K profiles (CONT blocks of 16) and 64 KiB folios are the heart of
    # the series, so they come up more often
    weighted = [a for a in arches for _ in range(3 if a.get("page_size") == 4096
                                                 and a["name"] == "arm64" else 1)]
    arch = dict(draw(st.sampled_from(weighted)))
    ps = page_size_of(arch)
    pmd = ps // 8 * ps
    # (order 1 is not an anon mTHP order: from_dict refuses it)
    orders = [o for o in (0, 2, 3, 4, 4, 4, 5, 5, 6) if min_order <= o <= max_order]
    order = draw(st.sampled_from(orders or [min_order]))
    nr = 1 << order
    pfn = 4096 * draw(st.integers(1, 4))              # a multiple of every CONT_PTES and nr
    swapbacked = draw(st.booleans()) if lazyfree else True
    swapbacked = swapbacked or draw(st.integers(0, 3)) > 0   # lazyfree in ~1/8 of cases

    # Where page 0 sits: PMD (hence CONT-block) aligned, straddling a PMD boundary, or off.
    place = draw(st.sampled_from(places))
    if place == "straddle" and nr > 1:
        base = REGION + pmd - draw(st.integers(1, nr - 1)) * ps
    elif place == "offset":
        base = REGION + pmd + draw(st.integers(1, 40)) * ps
    else:
        base = REGION + pmd

    # The parent's VMA: covers the whole folio (half the time), or may begin before / inside
    # the folio and end inside / after it.
    if draw(st.booleans()):
        vs, ve = -draw(st.integers(0, 2)), nr + draw(st.integers(0, 2))
    else:
        vs = draw(st.integers(-2, nr - 1))
        ve = draw(st.integers(max(vs, 0) + 1, nr + 2))
    lo, hi = max(vs, 0), min(ve, nr)
    droppable = draw(st.booleans()) if not swapbacked else False   # VM_DROPPABLE: lazyfree
    is_locked = locked and draw(st.integers(0, 15)) == 0
    cuts = [vs, ve]
    if hi - lo >= 2 and draw(st.integers(0, 3)) == 0:
        cuts.insert(1, draw(st.integers(lo + 1, hi - 1)))       # VMA split inside the folio
    vmas = [{"start": hex(base + a * ps), "end": hex(base + b * ps)}
            for a, b in zip(cuts, cuts[1:], strict=False)]
    for v in vmas:
        if droppable:
            v["droppable"] = True
        if is_locked:
            v["locked"] = True

    kinds = (["present"] * 6 + ["none"] + ["device_exclusive"] * dev_excl
             + (["swap"] if swapbacked else []))
    parent = draw(_segments(lo, hi, kinds))

    child: dict[int, dict] = {}
    two = fork and draw(st.booleans())
    if two:
        ckinds = ["present"] * 3 + ["none"] + (["swap"] if swapbacked else [])
        child = draw(_segments(lo, hi, ckinds))

    # Exclusivity (all E, all N, runs or page by page), then the realism rules of the module
    # docstring.
    style = draw(st.sampled_from(("E", "E", "N", "runs", "runs", "pages")))
    if style in ("E", "N"):
        excl = [style == "E"] * nr
    elif style == "runs":
        excl = []
        while len(excl) < nr:
            excl += [draw(st.booleans())] * draw(st.integers(1, nr))
        excl = excl[:nr]
    else:
        excl = [draw(st.booleans()) for _ in range(nr)]
    for p in range(nr):
        kp = parent.get(p, {}).get("kind", "none")
        kc = child.get(p, {}).get("kind", "none")
        if kp == "device_exclusive":
            excl[p] = True
            if kc != "none":
                child[p] = {"kind": "none"}
                kc = "none"
        if "swap" in (kp, kc) or (kp != "none" and kc != "none"):
            excl[p] = False
        if not excl[p]:
            for side in (parent, child):
                if side.get(p, {}).get("kind") == "present":
                    side[p]["write"] = False

    dirty = draw(st.booleans())
    if easy_lazyfree and not swapbacked and not droppable:
        dirty = False
        for side in (parent, child):
            for a in side.values():
                if a.get("kind") == "present":
                    a["dirty"] = False
    folio = {"order": order, "pfn": pfn, "swapbacked": swapbacked, "dirty": dirty,
             "exclusive": "".join("E" if e else "N" for e in excl)}
    if pins and draw(st.integers(0, 5)) == 0:
        folio["pinned"] = True
    if extra_refs and draw(st.integers(0, 5)) == 0:
        folio["extra_refs"] = draw(st.integers(1, 2))

    mms = [{"name": "parent", "vmas": vmas}]
    if two:
        cvma = {"start": hex(base + vs * ps), "end": hex(base + ve * ps)}
        if droppable:
            cvma["droppable"] = True
        mms.append({"name": "child", "vmas": [cvma]})

    ptes = []
    for name, side in (("parent", parent), ("child", child)):
        for first, n, attrs in _runs({p: a for p, a in side.items() if a["kind"] != "none"}):
            run = {"mm": name, "addr": hex(base + first * ps), "page": first, "nr": n}
            run.update(attrs)
            if arch["name"] != "x86_64":       # no HAVE_ARCH_SOFT_DIRTY on arm64, sparc64
                run.pop("soft_dirty", None)
            if arch["name"] == "sparc64":      # no HAVE_ARCH_USERFAULTFD_WP on sparc64
                run.pop("uffd_wp", None)
            if run["kind"] == "present":
                del run["kind"]
            ptes.append(run)

    doc = {"schema": "simcore.scenario/1", "name": "generated", "arch": arch, "folio": folio,
           "mms": mms, "ptes": ptes}
    if faults:
        flts = draw(st.lists(st.tuples(st.sampled_from(fault_ops),
                                       st.integers(0, nr - 1)), min_size=min_faults,
                             max_size=max(3, min_faults)))
        out = []
        for op, p in flts:
            if op == "dup_swap":
                # folio_dup_swap() fails only on a slot at SWAP_MAP_MAX: move the fault to a
                # page this unmap dups and let other processes hold the other references
                mapped = [q for q in range(nr) if any(
                    side.get(q, {}).get("kind") in ("present", "device_exclusive")
                    for side in (parent, child))]
                if not swapbacked or not mapped:
                    continue
                p = mapped[p % len(mapped)]
                named = sum(side.get(p, {}).get("kind") == "swap" for side in (parent, child))
                refs = folio.setdefault("swap_refs_elsewhere", [0] * nr)
                refs[p] = SWAP_MAP_MAX - named
            out.append({"op": op, "page": p})
        if out:
            doc["faults"] = out
    return doc
