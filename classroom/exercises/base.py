"""What every exercise topic shares: instances, feedback, scenario building, running, reading.

An `Instance` is one seeded question: the scenario (a dict `simcore.from_dict` accepts), the
question and how to write the answer, the canonical answer and a worked explanation. The
answer is always read off a run of simcore (`run_scenario`), never typed in by hand.

The helpers here build scenario dicts from a per-page description, run them with a trace, and
read the trace back as batches, sub-batches and per-page fates; and parse the small answer
languages the topics use (page sets, signed deltas, ``key=value`` fields).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from simcore.api import Result, run
from simcore.folio import MAX_ORDER
from simcore.report import batches
from simcore.scenario import from_dict
from simcore.swap import refs_at_limit
from simcore.system import System

BASE_ADDR = 0x7F0000000000
FOLIO_PFN = 0x1000
MM = "task"
DIFFICULTIES = (1, 2, 3)

# -- limits on what an answer may say (they follow from the model) ----------------------------
#: A folio has at most 2^MAX_ORDER pages: no page number, range or repetition in an answer
#: can sensibly go beyond it.
MAX_PAGES = 1 << MAX_ORDER
#: Every number an answer needs (pages, counts, deltas) has at most 4 digits; 9 leaves room
#: for sloppy-but-readable input and keeps every int() cheap.
MAX_DIGITS = 9
#: The longest canonical answer is about 200 characters (sub-batches of an order-5 folio).
MAX_ANSWER_CHARS = 2000


class AnswerError(ValueError):
    """An answer that cannot be read; the message says what is wrong with its form."""


def bounded(text: str) -> str:
    """``text`` if it is within the limits above, else AnswerError saying which one.

    Every checker goes through this first (`classroom.exercises.check`), so no parser ever
    sees a number with more than MAX_DIGITS digits or an answer longer than MAX_ANSWER_CHARS;
    the parsers bound what they expand (ranges, repetitions) by MAX_PAGES.
    """
    text = text or ""
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerError(f"the answer is {len(text):,} characters long; at most "
                          f"{MAX_ANSWER_CHARS:,} make sense here")
    m = re.search(rf"\d{{{MAX_DIGITS + 1},}}", text)
    if m:
        raise AnswerError(f"a number with {len(m.group(0)):,} digits (at most {MAX_DIGITS}; "
                          f"a folio has at most {MAX_PAGES} pages)")
    return text


@dataclass
class Instance:
    """One seeded exercise. ``answer`` is canonical; `check()` accepts lenient variants."""

    topic: str
    seed: int
    difficulty: int
    scenario: dict[str, Any]
    question: str
    answer_format: str
    answer: str
    explanation: str
    title: str = ""
    strip: str = ""                  # the scenario drawn as text (classroom.exercises.render)
    params: dict[str, Any] = field(default_factory=dict)   # the generator's choices
    data: dict[str, Any] = field(default_factory=dict)     # what the checker needs

    @property
    def command(self) -> str:
        """The command that prints this instance again."""
        return f"python -m classroom hw {self.topic} -s {self.seed} -d {self.difficulty}"

    def as_dict(self, solutions: bool = True) -> dict[str, Any]:
        d = asdict(self)
        d["command"] = self.command
        if not solutions:      # params name the generator's choices (e.g. the bug-zoo variant)
            for k in ("answer", "explanation", "data", "params"):
                d.pop(k)
        return d


@dataclass(frozen=True)
class Feedback:
    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct


def rng_for(seed: int) -> random.Random:
    """The only source of randomness of every generator: the standard library's Mersenne
    Twister, so that the exercises run wherever Python does (Pyodide in the reader's browser
    has no numpy). Its sequence for an integer seed is stable across Python versions."""
    return random.Random(seed)


def pick(rng: random.Random, options):
    """One element of a sequence, uniformly."""
    options = list(options)
    return options[rng.randrange(len(options))]


def bits(rng: random.Random, n: int) -> list[bool]:
    """``n`` fair coin flips."""
    return [bool(rng.getrandbits(1)) for _ in range(n)]


def nonconstant(rng: random.Random, n: int, lo: int = 0, hi: int | None = None) -> list[bool]:
    """``n`` coin flips whose slice [lo, hi) has both values (rejection sampling)."""
    while True:
        f = bits(rng, n)
        if len(set(f[lo:hi])) == 2:
            return f


def runs_in(lo: int, hi: int) -> list[tuple[int, int]]:
    """Every page run [a, b) with lo <= a < b <= hi."""
    return [(a, b) for a in range(lo, hi) for b in range(a + 1, hi + 1)]


# -- building scenarios ------------------------------------------------------------------------
def present(write: bool = False, dirty: bool = False, young: bool = False,
            soft_dirty: bool = False) -> dict[str, Any]:
    return {"kind": "present", "write": write, "dirty": dirty, "young": young,
            "soft_dirty": soft_dirty}


def make_scenario(name: str, order: int, exclusive: str, pages: list[dict | None], *,
                  arch: dict[str, Any] | None = None, vmas: list[tuple[int, int]] | None = None,
                  base: int = BASE_ADDR, pinned: bool = False, swapbacked: bool = True,
                  faults: list[dict[str, Any]] = (), mm: str = MM) -> dict[str, Any]:
    """A one-mm scenario: page i of the folio at ``base + i * PAGE_SIZE`` as ``pages[i]`` says.

    ``pages[i]`` is None (no PTE) or a dict with ``kind`` (present, swap, device_exclusive) and
    bits. Consecutive pages with equal entries become one ``ptes`` run. ``vmas`` default to
    one VMA exactly covering the folio.
    """
    arch = arch or {"name": "x86_64"}
    ps = arch.get("page_size") or (8192 if arch["name"] == "sparc64" else 4096)
    nr = 1 << order
    if vmas is None:
        vmas = [(base, base + nr * ps)]
    runs: list[dict[str, Any]] = []
    prev = None
    for i, p in enumerate(pages):
        if p is None:
            prev = None
            continue
        spec = {k: v for k, v in p.items() if k != "kind" or v != "present"}
        spec = {k: v for k, v in spec.items() if v or k == "write"}
        if p["kind"] != "present":
            spec.pop("write", None)
        addr = base + i * ps
        same_vma = prev is not None and any(s <= addr - ps and addr < e for s, e in vmas)
        if prev is not None and prev[1] == spec and same_vma:
            runs[-1]["nr"] += 1
        else:
            runs.append({"mm": mm, "addr": hex(addr), "page": i, "nr": 1, **spec})
        prev = (i, spec)
    doc = {
        "schema": "simcore.scenario/1",
        "name": name,
        "arch": arch,
        "folio": {"order": order, "pfn": FOLIO_PFN, "swapbacked": swapbacked, "dirty": False,
                  "exclusive": exclusive, "pinned": pinned},
        "mms": [{"name": mm, "vmas": [{"start": hex(s), "end": hex(e)} for s, e in vmas]}],
        "ptes": runs,
        "faults": [dict(f) for f in faults],
    }
    # folio_dup_swap() fails only on a slot at SWAP_MAP_MAX: other processes hold the rest
    refs = refs_at_limit(1 << order, faults) if swapbacked else None
    if refs:
        doc["folio"]["swap_refs_elsewhere"] = refs
    return doc


def en(flags) -> str:
    return "".join("E" if f else "N" for f in flags)


# -- running and reading runs ------------------------------------------------------------------
_SYSTEMS: dict[str, System] = {}


def system_of(scenario: dict[str, Any]) -> System:
    """The scenario's system in its initial state, for reading only (cached: never mutate)."""
    key = json.dumps(scenario, sort_keys=True)
    sys = _SYSTEMS.get(key)
    if sys is None:
        if len(_SYSTEMS) > 512:
            _SYSTEMS.clear()
        sys = _SYSTEMS[key] = from_dict(scenario)
    return sys


def run_scenario(scenario: dict[str, Any], mode: str, bugs=(), costs: bool = False) -> Result:
    """Run the scenario with a trace (the generators read answers off it).

    With ``costs`` each trace event carries the cost counters after it
    (``event.state["costs"]``), which is all the exercises read; without, no state at all.
    """
    return run(from_dict(scenario), mode, bugs, trace=True,
               snapshots="costs" if costs else False)


def clear_units(result: Result, mm: str | None = None) -> list[tuple[str, int, int]]:
    """(mm, first page, nr) of every batch cleared, in walk order (device-exclusive: nr 1),
    as `simcore.report.batches` groups the trace."""
    return [(b["mm"], b["start_page"], b["nr"]) for b in batches(result)
            if mm is None or b["mm"] == mm]


def sub_batches(result: Result, start_page: int, mm: str = MM) -> list[tuple[int, int, bool]]:
    """(first page, nr, exclusive) of the sub-batches of the batch that starts at start_page
    (`simcore.report.batches`)."""
    for b in batches(result):
        if b["mm"] == mm and b["start_page"] == start_page:
            return [(s["start_page"], s["nr"], s["exclusive"]) for s in b["sub_batches"]]
    return []


def jsonable(x):
    """``x`` with tuples as lists and dict keys as strings, as it reads back from JSON (an
    instance's params and data)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x


def page_slots(sys: System, mm: str = MM) -> dict[int, int]:
    """page index -> address, for every slot of ``mm`` where the folio may be mapped."""
    return {page: addr for m, addr, page in sys.slots() if m.name == mm}


def final_codes(result: Result, mm: str = MM) -> dict[int, str]:
    """page -> P (present or device-exclusive), X / S (swap PTE with / without the exclusive
    marker) or - (none), from the final page table."""
    sys = result.system
    out = {}
    for page, addr in page_slots(sys, mm).items():
        pte = sys.mms[mm].pt.get(addr)
        out[page] = {"present": "P", "device_exclusive": "P", "none": "-"}.get(
            pte.kind, "X" if pte.exclusive else "S")
    return out


def page_fates(result: Result, mm: str = MM) -> dict[int, dict[str, Any]]:
    """For each page of ``mm``: what the run did to its PTE, and the event that decided it.

    ``fate`` is swap, restored, untouched (the walk never cleared it), or discarded (lazyfree).
    Restored pages carry the failure (``fail``) and any fault that preceded it.
    """
    fates: dict[int, dict[str, Any]] = {}
    last_fail = last_fault = None
    unit = None
    for e in result.trace.events:
        if e.mm not in (None, mm) and e.kind not in ("fault",):
            continue
        if e.kind == "sub_batch":
            unit = (e.page, e.nr, bool(e.data["exclusive"]))
        elif e.kind == "batch":
            unit = None
        elif e.kind == "fault":
            last_fault = e
        elif e.kind == "fail":
            last_fail = e
        elif e.kind == "swap_ptes":
            for p in range(e.page, e.page + e.nr):
                fates[p] = {"fate": "swap", "unit": unit or (e.page, e.nr, None), "fn": e.fn}
        elif e.kind == "restore":
            for p in range(e.page, e.page + e.nr):
                fates[p] = {"fate": "restored", "from": e.page, "nr": e.nr,
                            "fail": (last_fail.fn, last_fail.text, last_fail.page,
                                     last_fail.nr) if last_fail else None,
                            "fault": (last_fault.text, last_fault.page) if last_fault else None}
        elif e.kind == "lazyfree":
            pass
    for page in page_slots(result.system, mm):
        fates.setdefault(page, {"fate": "untouched"})
    return dict(sorted(fates.items()))


# -- small answer languages --------------------------------------------------------------------
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})


def clean(text: str) -> str:
    return (text or "").translate(_MINUS).strip()


def parse_int(text: str, what: str) -> int:
    t = clean(text).replace(" ", "")
    if not re.fullmatch(r"[+-]?\d+", t):
        raise AnswerError(f"{what}: {text.strip()!r} is not a whole number")
    return int(t)


def fmt_delta(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def parse_pageset(text: str, what: str) -> set[int]:
    """'0-3,8', '0..3 8', 'none' or '' -> a set of page numbers."""
    t = clean(text).lower()
    if t in ("", "none", "-", "{}", "nothing", "empty"):
        return set()
    out: set[int] = set()
    for item in re.split(r"[,\s]+", t.strip("{}[]")):
        if not item:
            continue
        m = re.fullmatch(r"(\d+)(?:(?:-|\.\.)(\d+))?", item)
        if not m:
            raise AnswerError(f"{what}: {item!r} is neither a page number nor a range like 4-7")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        if b < a:
            raise AnswerError(f"{what}: the range {item!r} runs backwards")
        if b >= MAX_PAGES:
            raise AnswerError(f"{what}: page {b} is beyond any folio (at most {MAX_PAGES} "
                              "pages, numbered from 0)")
        out.update(range(a, b + 1))
    return out


def fmt_pageset(pages) -> str:
    """Sorted pages as ranges: {0,1,2,3,8} -> '0-3,8'; empty -> 'none'."""
    pages = sorted(set(pages))
    if not pages:
        return "none"
    parts = []
    start = prev = pages[0]
    for p in pages[1:] + [None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if p is not None:
            start = prev = p
    return ",".join(parts)


def parse_fields(text: str, aliases: dict[str, str], what: str = "answer") -> dict[str, str]:
    """'a=1; b = 2' -> {'a': '1', 'b': '2'} with keys mapped through ``aliases``."""
    out: dict[str, str] = {}
    for part in re.split(r"[;\n]+", clean(text)):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([A-Za-z_][\w\- ]*?)\s*[=:]\s*(.*)", part)
        if not m:
            raise AnswerError(f"{part!r} is not of the form name=value")
        key = re.sub(r"[\s\-]+", "_", m.group(1).strip().lower())
        if key not in aliases:
            raise AnswerError(f"unknown name {m.group(1).strip()!r} (use "
                              f"{', '.join(sorted(set(aliases.values())))})")
        key = aliases[key]
        if key in out:
            raise AnswerError(f"{key} is given twice")
        out[key] = m.group(2).strip()
    return out


def distinct(wrong: dict[str, str], right: str | None = None) -> dict[str, str]:
    """Keep the first kind for each distinct wrong answer (and drop the right one)."""
    out: dict[str, str] = {}
    for kind, text in wrong.items():
        if text != right and text not in out.values():
            out[kind] = text
    return out


def pages_text(a: int, n: int) -> str:
    return f"page {a}" if n == 1 else f"pages {a}..{a + n - 1}"


def ordinal(i: int) -> str:
    words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth"]
    return words[i] if i < len(words) else f"{i + 1}th"
