"""Scenarios: a JSON description of one folio, its mappings and faults, turned into a `System`.

The format is the contract of DESIGN.md §3.5 (``"schema": "simcore.scenario/1"``). `load()`
reads a file, validates it against the JSON Schema shipped in ``simcore/schema`` and builds the
system; `from_dict()` builds from an already-parsed object. Every error is a `ScenarioError`
whose message is one line naming the field (``ptes[1].page: …``).
"""

from __future__ import annotations

import functools
import itertools
import json
from pathlib import Path
from typing import Any

from simcore.arch import ArchError, get_arch
from simcore.folio import MAX_ORDER, Folio
from simcore.pte import mk_device_exclusive, mk_present, mk_swap
from simcore.safeio import InputError, load_json, read_text
from simcore.system import FAULT_OPS, System

SCHEMA_ID = "simcore.scenario/1"
SCHEMA_PATH = Path(__file__).with_name("schema") / "scenario.schema.json"
#: A scenario file is at most this big (the examples are about 1 KB) ...
MAX_FILE_BYTES = 1 << 20
#: ... and nested at most this deep (the schema's deepest field, mms[i].vmas[j].start, is 5).
MAX_DEPTH = 16
#: The work a scenario asks for grows with the PTE slots where its folio may be mapped (every
#: mode walks them all; a traced run's states list them all): at most 32 processes sharing a
#: fully mapped order-9 (2 MiB of 4K pages) folio. ``compare`` of such a scenario takes ~2 s.
MAX_SLOTS = 32 * 512
_SLOTS_WHY = f"a scenario has at most {MAX_SLOTS:,} (32 processes mapping a 512-page folio)"
#: Schema errors looked at before choosing the one to report.
MAX_ERRORS = 100


class ScenarioError(ValueError):
    """A scenario that cannot be built; the message names the field."""


def parse_int(value: Any, where: str) -> int:
    """Integers may be written as numbers or as strings ("0x7f0000000000", "4096")."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected an integer, got {value!r}")
    number = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and len(value) <= 42:
        try:
            number = int(value, 0)
        except ValueError:
            pass
    if number is None:
        raise ScenarioError(f"{where}: expected an integer or a hex string, got {_short(value)}")
    if not 0 <= number < 1 << 64:
        raise ScenarioError(f"{where}: {_short(value)} is not a 64-bit value (0 .. 2^64-1)")
    return number


def from_dict(doc: dict[str, Any]) -> System:
    """Build a settled `System` from a (schema-valid) scenario object."""
    a = doc.get("arch", {"name": "x86_64"})
    try:
        arch = get_arch(a.get("name", "x86_64"), a.get("page_size"), a.get("bbml2", False),
                        a.get("defer_flush"), a.get("adi"))
    except ArchError as e:
        raise ScenarioError(str(e)) from None
    ps = arch.page_size

    f = doc["folio"]
    order = f.get("order", 4)
    if not 0 <= order <= MAX_ORDER:
        raise ScenarioError(f"folio.order: must be 0..{MAX_ORDER}, not {order}")
    nr = 1 << order
    pfn = parse_int(f.get("pfn", 4096), "folio.pfn")
    if pfn % nr:
        raise ScenarioError(f"folio.pfn: a folio of order {order} starts at a multiple of {nr}, "
                            f"not {pfn}")
    if order == 1:
        raise ScenarioError("folio.order: 1 is not an anonymous mTHP order (anon large folios "
                            "are order 2 and up: an order-1 folio has no room for the "
                            "deferred-split list, THP_ORDERS_ALL_ANON)")
    folio = Folio(order=order, first_pfn=pfn, swapbacked=f.get("swapbacked", True),
                  dirty=f.get("dirty", False), extra_refs=f.get("extra_refs", 0),
                  pincount=1 if f.get("pinned", False) else 0)
    excl = f.get("exclusive")
    if excl is None:
        excl = "E" * nr
    if len(excl) != nr or set(excl) - {"E", "N"}:
        raise ScenarioError(f"folio.exclusive: needs {nr} letters E or N (one per page), "
                            f"got {excl!r}")
    folio.anon_exclusive = [c == "E" for c in excl]
    if not folio.swapbacked and f.get("swapcache", False):
        raise ScenarioError("folio.swapcache: a lazyfree (not swap-backed) folio is never in "
                            "the swap cache")
    if folio.swapbacked and f.get("swapcache", True) is False:
        raise ScenarioError("folio.swapcache: a swap-backed folio reaches try_to_unmap() only "
                            "in the swap cache (shrink_folio_list() calls folio_alloc_swap() "
                            "first; otherwise ttu_anon_folio() WARNs and keeps it)")
    refs = f.get("swap_refs_elsewhere", 0)
    if isinstance(refs, list):
        if len(refs) != nr:
            raise ScenarioError(f"folio.swap_refs_elsewhere: needs {nr} counts (one per page), "
                                f"got {len(refs)}")
        refs = list(refs)
    else:
        refs = [refs] * nr
    if any(refs) and not folio.swapbacked:
        raise ScenarioError("folio.swap_refs_elsewhere: a lazyfree folio has no swap slots")

    sys = System(arch, folio)
    sys.swap_refs_elsewhere = refs
    sys.caller = doc.get("caller", "reclaim")
    if folio.swapbacked:
        from simcore.swap import folio_alloc_swap
        folio_alloc_swap(folio, sys.swap)

    for i, m in enumerate(doc["mms"]):
        name = m["name"]
        if name in sys.mms:
            raise ScenarioError(f"mms[{i}].name: {name!r} is used twice")
        mm = sys.add_mm(name)
        for j, v in enumerate(m["vmas"]):
            start = parse_int(v["start"], f"mms[{i}].vmas[{j}].start")
            end = parse_int(v["end"], f"mms[{i}].vmas[{j}].end")
            if start % ps or end % ps or end <= start:
                raise ScenarioError(f"mms[{i}].vmas[{j}]: start and end must be page aligned "
                                    f"and start < end ({start:#x}, {end:#x})")
            for other in mm.vmas:
                if start < other.end and other.start < end:
                    raise ScenarioError(f"mms[{i}].vmas[{j}]: overlaps another VMA of {name}")
            if v.get("droppable", False) and folio.swapbacked:
                raise ScenarioError(f"mms[{i}].vmas[{j}].droppable: a VM_DROPPABLE mapping's "
                                    "folios are never swap-backed (folio_add_new_anon_rmap() "
                                    "leaves them lazyfree): use folio.swapbacked false")
            mm.add_vma(start, end, locked=v.get("locked", False),
                       droppable=v.get("droppable", False))

    total = sum(r.get("nr", 1) for r in doc.get("ptes", []))
    if total > MAX_SLOTS:
        raise ScenarioError(f"ptes: {total:,} PTEs in all; {_SLOTS_WHY}")
    bases: dict[tuple[str, int], int] = {}
    mapped_by: dict[int, set[str]] = {}
    for i, r in enumerate(doc.get("ptes", [])):
        where = f"ptes[{i}]"
        mm = sys.mms.get(r["mm"])
        if mm is None:
            raise ScenarioError(f"{where}.mm: no mm named {r['mm']!r}")
        addr = parse_int(r["addr"], f"{where}.addr")
        page = r.get("page", 0)
        n = r.get("nr", 1)
        kind = r.get("kind", "present")
        if addr % ps:
            raise ScenarioError(f"{where}.addr: {addr:#x} is not page aligned")
        if r.get("soft_dirty", False) and arch.name != "x86_64":
            raise ScenarioError(f"{where}.soft_dirty: {arch.name} has no soft-dirty PTE bit "
                                "(it does not select HAVE_ARCH_SOFT_DIRTY)")
        if r.get("uffd_wp", False) and arch.name == "sparc64":
            raise ScenarioError(f"{where}.uffd_wp: sparc64 has no uffd-wp PTE bit (it does not "
                                "select HAVE_ARCH_USERFAULTFD_WP)")
        if not (0 <= page and page + n <= nr):
            raise ScenarioError(f"{where}: pages {page}..{page + n - 1} are not all inside the "
                                f"folio's {nr} pages")
        for k in range(n):
            a = addr + k * ps
            vma = mm.find_vma(a)
            if vma is None:
                raise ScenarioError(f"{where}.addr: {a:#x} is outside every VMA of {mm.name}")
            base = a - (page + k) * ps
            key = (mm.name, id(vma))
            if bases.setdefault(key, base) != base:
                raise ScenarioError(f"{where}: page {page + k} at {a:#x} does not line up with "
                                    f"the folio's other pages in this VMA (the rmap finds an anon "
                                    f"page at one linear address per VMA)")
            if mm.pt.get(a).kind != "none":
                raise ScenarioError(f"{where}.addr: {a:#x} is given twice")
            p = page + k
            if kind == "present":
                pte = mk_present(pfn + p, write=r.get("write", True), dirty=r.get("dirty", False),
                                 young=r.get("young", False), soft_dirty=r.get("soft_dirty", False),
                                 uffd_wp=r.get("uffd_wp", False), cont=r.get("cont", False))
            elif kind == "device_exclusive":
                pte = mk_device_exclusive(pfn + p, soft_dirty=r.get("soft_dirty", False),
                                          uffd_wp=r.get("uffd_wp", False))
            elif kind == "swap":
                if not folio.swapbacked:
                    raise ScenarioError(f"{where}.kind: a lazyfree folio has no swap slots")
                pte = mk_swap(folio.swap_type, folio.swap_offset + p,
                              exclusive=r.get("exclusive", False),
                              soft_dirty=r.get("soft_dirty", False),
                              uffd_wp=r.get("uffd_wp", False))
            else:
                raise ScenarioError(f"{where}.kind: unknown kind {kind!r}")
            mm.pt.set(a, pte)
            if kind != "swap":
                mapped_by.setdefault(p, set()).add(mm.name)
                if kind == "present" and pte.write and not folio.anon_exclusive[p]:
                    raise ScenarioError(f"{where}: page {p} is mapped writable but is not "
                                        f"exclusive (folio.exclusive has N): a private anon page "
                                        f"without PG_anon_exclusive is never writable")
    for p, names in mapped_by.items():
        if len(names) > 1 and folio.anon_exclusive[p]:
            raise ScenarioError(f"folio.exclusive: page {p} is mapped by "
                                f"{', '.join(sorted(names))} and so cannot be exclusive (use N)")
    for (name, vid), base in bases.items():
        sys.map_folio(next(v for v in sys.mms[name].vmas if id(v) == vid), base)
    slots = sys.nr_slots()
    if slots > MAX_SLOTS:
        raise ScenarioError(f"mms: the folio may be mapped at {slots:,} PTE slots of "
                            f"{len(sys.mappings)} VMAs; {_SLOTS_WHY}")
    if arch.cont_ptes:
        explicit = any("cont" in r for r in doc.get("ptes", []))
        if not explicit:
            derive_cont(sys)

    for i, flt in enumerate(doc.get("faults", [])):
        op, page = flt["op"], flt["page"]
        if op not in FAULT_OPS:
            raise ScenarioError(f"faults[{i}].op: unknown {op!r} (choose {', '.join(FAULT_OPS)})")
        if not 0 <= page < nr:
            raise ScenarioError(f"faults[{i}].page: {page} is outside the folio (0..{nr - 1})")
        getattr(sys.faults, op).add(page)
    sys.settle()
    for i, flt in enumerate(doc.get("faults", [])):
        if flt["op"] == "dup_swap":
            _check_dup_fault(sys, i, flt["page"])
    return sys


def _check_dup_fault(sys: System, i: int, page: int) -> None:
    """A ``dup_swap`` fault needs a slot that this unmap can bring to SWAP_MAP_MAX.

    `folio_dup_swap()` fails only when the GFP_ATOMIC count-continuation page a slot at its
    limit needs cannot be allocated (`simcore.swap`). The slot of ``page`` starts with its
    swap PTEs plus ``swap_refs_elsewhere``; every mapping of the page the unmap converts adds
    one. If that never reaches the limit the fault could not happen: refuse it.
    """
    folio = sys.folio
    where = f"faults[{i}]"
    if not folio.swapbacked:
        raise ScenarioError(f"{where}.op: dup_swap on a lazyfree folio, which has no swap slots "
                            "(folio_dup_swap() is never called)")
    off = folio.swap_offset + page
    start = sys.swap.counts[off]
    limit = sys.swap.capacity(off)
    dups = folio.page_mapcount[page]
    if start + dups <= limit:
        raise ScenarioError(
            f"{where}: folio_dup_swap() fails only when a slot at SWAP_MAP_MAX "
            f"({limit}) needs a count-continuation page that cannot be allocated; page "
            f"{page}'s slot starts at {start} and this unmap adds at most {dups} — give "
            f"folio.swap_refs_elsewhere at least {limit - dups + 1} for page {page}")


def derive_cont(sys: System) -> None:
    """arm64: mark every aligned, fully mapped, uniform block of CONT_PTES entries CONT.

    What `contpte_set_ptes()` / `__contpte_try_fold()` would have produced: the block lies in
    one folio, maps physically contiguous pages starting at a block-aligned pfn, and its
    entries agree on everything but dirty/young.
    """
    cont = sys.arch.cont_ptes
    ps = sys.arch.page_size
    folio = sys.folio
    span = cont * ps
    for vma, base in sys.mappings:        # only where the folio can be mapped
        mm = vma.mm
        lo = max(vma.start, base)
        hi = min(vma.end, base + folio.nr_pages * ps)
        start = (lo + span - 1) // span * span
        for block in range(start, hi - span + 1, span):
            entries = [mm.pt.get(block + i * ps) for i in range(cont)]
            e0 = entries[0]
            if e0.kind != "present" or not folio.contains_pfn(e0.pfn) or e0.pfn % cont:
                continue
            if e0.pfn + cont > folio.first_pfn + folio.nr_pages:
                continue
            if all(e.kind == "present" and e.pfn == e0.pfn + i and e.write == e0.write
                   and e.soft_dirty == e0.soft_dirty and e.uffd_wp == e0.uffd_wp
                   for i, e in enumerate(entries)):
                for i, e in enumerate(entries):
                    mm.pt.set(block + i * ps, e._replace(cont=True))


@functools.lru_cache(maxsize=1)
def _schema_validator():
    """The compiled validator for the shipped schema (built once, on first use)."""
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is in requirements.txt
        raise ScenarioError("scenario validation needs the 'jsonschema' package "
                            "(pip install jsonschema)") from None
    # JSON Schema counts 4.0 as an integer; a scenario's integers are indices, counts and
    # sizes, so here an integer is an int (and, as in JSON Schema, never a bool).
    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, v: isinstance(v, int) and not isinstance(v, bool))
    validator = jsonschema.validators.extend(base, type_checker=checker)
    return validator(json.loads(SCHEMA_PATH.read_text()))


def _field(path) -> str:
    """``ptes[1].nr`` from a jsonschema path deque (``ptes``, 1, ``nr``)."""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return where.lstrip(".") or "scenario"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _explain(err, doc: Any) -> str:
    """One line for one jsonschema error: ``<field>: <problem>``."""
    path = list(err.absolute_path)
    kind = err.validator
    if kind == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        return (f"{_field(path + [extra[0]])}: unknown field (allowed: {', '.join(allowed)})"
                if extra else f"{_field(path)}: {err.message}")
    if kind == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        name = missing[0] if missing else "?"
        return f"{_field(path + [name])}: required field is missing"
    if kind == "anyOf" and err.schema.get("description", "").startswith("A non-negative"):
        return (f"{_field(path)}: expected a non-negative integer or a hex string like "
                f"'0x7f0000000000', got {_short(err.instance)}")
    if kind == "const":
        return f"{_field(path)}: must be {err.validator_value!r}, not {_short(err.instance)}"
    if kind == "not" and err.validator_value == {}:
        return f"{_field(path)}: {_not_applicable(path, doc)}"
    if kind in ("maxItems", "maxLength"):
        what = "items" if kind == "maxItems" else "characters"
        return (f"{_field(path)}: {len(err.instance):,} {what}, more than the limit of "
                f"{err.validator_value:,}")
    if kind == "type":
        types = err.validator_value
        types = " or ".join(map(repr, types)) if isinstance(types, list) else repr(types)
        return f"{_field(path)}: {_short(err.instance)} is not of type {types}"
    if kind == "enum" and isinstance(err.instance, str | int | float | bool | None):
        choices = ", ".join(repr(c) for c in err.validator_value)
        return f"{_field(path)}: {_short(err.instance)} is not one of {choices}"
    message = err.message if len(err.message) <= 160 else err.message[:157] + "..."
    return f"{_field(path)}: {message}"


def _not_applicable(path: list, doc: Any) -> str:
    """Why a field the schema marks ``not_applicable`` here does not apply."""
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    if path and path[0] == "ptes":
        kind = parent.get("kind", "present")
        what = {"swap": "a swap PTE", "device_exclusive": "a device-exclusive entry",
                "present": "a present PTE"}.get(kind, repr(kind))
        hint = (" (a page's exclusivity is set with folio.exclusive)"
                if path[-1] == "exclusive" and kind == "present" else "")
        return f"does not apply to {what}{hint}"
    return "not allowed here"


def validate(doc: Any) -> None:
    """Check ``doc`` against the shipped JSON Schema; raise ScenarioError naming the field.

    Of the schema errors (the first `MAX_ERRORS`: a file can hold tens of thousands, each
    costly to make) the shallowest is reported, as one line such as
    ``ptes[1].nr: -3 is less than the minimum of 1`` or
    ``folio.exclusive: 'EEX' does not match '^[EN]+$'``.
    """
    validator = _schema_validator()
    first = itertools.islice(validator.iter_errors(doc), MAX_ERRORS)
    errors = sorted(first, key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]))
    if errors:
        raise ScenarioError(_explain(errors[0], doc))


def parse(text: str, source: str = "scenario") -> dict[str, Any]:
    """Parse and schema-validate scenario JSON; ScenarioError names ``source`` or the field.

    Nesting deeper than `MAX_DEPTH` and integers longer than 40 digits are refused before the
    schema sees them (`simcore.safeio.load_json`).
    """
    try:
        doc = load_json(text, source, MAX_DEPTH)
    except InputError as e:
        raise ScenarioError(str(e)) from None
    validate(doc)
    return doc


def read(path: str | Path) -> dict[str, Any]:
    """Read, parse and schema-validate a scenario file; ScenarioError names file or field.

    Only a regular file of at most `MAX_FILE_BYTES` bytes of UTF-8 is read
    (`simcore.safeio.read_text`): a FIFO, ``/dev/zero`` or a directory is refused at once.
    """
    try:
        text = read_text(path, MAX_FILE_BYTES, "scenario file")
    except InputError as e:
        raise ScenarioError(str(e)) from None
    return parse(text, str(path))


def loads(text: str, source: str = "scenario") -> System:
    return from_dict(parse(text, source))


def load(path: str | Path) -> System:
    return from_dict(read(path))
