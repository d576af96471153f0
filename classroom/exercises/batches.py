"""Topic ``batches``: where does each batch of PTEs start and end?

The student sees one mm's mapping of a large folio and lists the batches `try_to_unmap_one()`
clears with the series applied (mode ``patched``). What cuts a batch: the VMA end, the
page-table (PMD) boundary, a change of the write or soft-dirty bit, a PTE that is not present
(none, swap, device-exclusive), the folio end; a batch may start mid-folio. Dirty and young
bits never cut a batch — they are the distractors.

Difficulty 1: 8 pages, one feature. 2: 16 pages, two features (one per half), dirty/young
noise. 3: 16 or 32 pages, a geometry feature (PMD boundary, VMA end, VMA starting mid-folio)
and two content features; read-only pages may be exclusive or not.
"""

from __future__ import annotations

import re

from classroom.exercises import reasons
from classroom.exercises.base import (
    BASE_ADDR,
    MM,
    AnswerError,
    Feedback,
    Instance,
    bits,
    clear_units,
    distinct,
    en,
    jsonable,
    make_scenario,
    ordinal,
    pick,
    present,
    rng_for,
    run_scenario,
    runs_in,
    system_of,
)
from classroom.exercises.render import draw

TOPIC = "batches"
TITLE = "Where batches start and end"
SUMMARY = ("list the batches try_to_unmap_one() clears (VMA end, PMD boundary, write / "
           "soft-dirty change, non-present entry, folio end)")
CHAPTER = "batching"
MODE = "patched"
FORMAT = ("comma-separated start:nr pairs in walk order, start = the folio page the batch "
          "begins at, nr = PTEs it clears; e.g. 0:5,5:3,9:7")
NORMALIZE = "list"

CONTENT = ("write", "soft_dirty", "hole", "swap", "devex")
D1_KINDS = ("write", "soft_dirty", "hole", "devex")
GEOMETRY = ("pmd", "vma", "midstart")
PMD_2M = 0x200000
RUN_KINDS = ("write", "soft_dirty")


# -- the parameter space -----------------------------------------------------------------------
def _positions(kind: str, lo: int, hi: int, whole_ok: bool = True) -> list:
    if kind in RUN_KINDS:
        return [r for r in runs_in(lo, hi) if whole_ok or r != (lo, hi)]
    return list(range(lo, hi))


def _params(rng, d: int) -> dict:
    if d == 1:
        kind = pick(rng, D1_KINDS)
        pos = pick(rng, _positions(kind, 0, 8, whole_ok=False))
        p = {"order": 3, "features": [[kind, pos]]}
    elif d == 2:
        a = pick(rng, CONTENT)
        b = pick(rng, [k for k in CONTENT if k != a])
        p = {"order": 4, "features": [[a, pick(rng, _positions(a, 0, 8))],
                                      [b, pick(rng, _positions(b, 8, 16))]]}
    else:
        order = pick(rng, (4, 5))
        nr = 1 << order
        q = nr // 4
        g = pick(rng, GEOMETRY)
        k = pick(rng, range(1, q + 1) if g == "midstart" else range(1, nr))
        a = pick(rng, CONTENT)
        b = pick(rng, [x for x in CONTENT if x != a])
        p = {"order": order, "geometry": [g, k],
             "features": [[a, pick(rng, _positions(a, q, nr // 2))],
                          [b, pick(rng, _positions(b, nr // 2, nr))]]}
    nr = 1 << p["order"]
    p["dirty"] = bits(rng, nr)
    p["young"] = bits(rng, nr) if d >= 2 else [False] * nr
    p["excl"] = bits(rng, nr) if d >= 3 else [True] * nr
    for key in ("features", "geometry"):
        if key in p:
            p[key] = jsonable(p[key])
    # Noise on a page it cannot show on (no present PTE; E/N of a writable page) is dropped,
    # so that different parameters always mean different scenarios.
    pages, _ = _pages(p)
    for i, pg in enumerate(pages):
        if pg is None or pg["kind"] != "present":
            p["dirty"][i] = p["young"][i] = False
        if pg is None or pg["kind"] != "present" or pg["write"]:
            p["excl"][i] = True
    return p


def _page_weight(d: int, kind: str | None) -> int:
    """Distinct noise values one page can take: dirty (d>=1), young (d>=2), E/N (d>=3,
    read-only pages only); a page without a present PTE has none."""
    if kind in ("hole", "swap", "devex", "absent"):
        return 1
    w = 2 if d == 1 else 4
    if d >= 3 and kind == "write":          # the read-only run
        w *= 2
    return w


def _region_sum(d: int, kind: str, lo: int, hi: int, whole_ok: bool = True) -> int:
    """Sum over a feature's positions in [lo, hi) of the noise it leaves on [lo, hi)."""
    total = 0
    base = _page_weight(d, None)
    for pos in _positions(kind, lo, hi, whole_ok):
        if kind in RUN_KINDS:
            a, b = pos
            w = base ** ((hi - lo) - (b - a)) * _page_weight(d, kind) ** (b - a)
        else:
            w = base ** ((hi - lo) - 1)
        total += w
    return total


def count(d: int) -> int:
    """Exact number of distinct scenarios the generator makes at difficulty d."""
    if d == 1:
        return sum(_region_sum(1, k, 0, 8, whole_ok=False) for k in D1_KINDS)
    if d == 2:
        return sum(_region_sum(2, a, 0, 8) * _region_sum(2, b, 8, 16)
                   for a in CONTENT for b in CONTENT if a != b)
    total = 0
    w = _page_weight(3, None)
    for order in (4, 5):
        nr = 1 << order
        q = nr // 4
        geo = 2 * (nr - 1) * w ** q + sum(w ** (q - k) for k in range(1, q + 1))
        content = sum(_region_sum(3, a, q, nr // 2) * _region_sum(3, b, nr // 2, nr)
                      for a in CONTENT for b in CONTENT if a != b)
        total += geo * content
    return total


# -- building ----------------------------------------------------------------------------------
def _pages(p: dict):
    """The per-page PTEs the features and geometry ask for (before noise), and the base."""
    nr = 1 << p["order"]
    ps = 4096
    pages: list[dict | None] = [present(write=True) for _ in range(nr)]
    for kind, pos in p["features"]:
        if kind in RUN_KINDS:
            a, b = pos
            for i in range(a, b):
                if kind == "write":
                    pages[i]["write"] = False
                else:
                    pages[i]["soft_dirty"] = True
        else:
            pages[pos] = {"hole": None, "swap": {"kind": "swap"},
                          "devex": {"kind": "device_exclusive"}}[kind]
    base, vmas = BASE_ADDR, None
    if "geometry" in p:
        g, k = p["geometry"]
        if g == "pmd":
            base = BASE_ADDR + PMD_2M - k * ps
        elif g == "vma":
            vmas = [(base, base + k * ps), (base + k * ps, base + nr * ps)]
        else:
            vmas = [(base + k * ps, base + nr * ps)]
            for i in range(k):
                pages[i] = None
    return pages, (base, vmas)


def build(p: dict) -> dict:
    pages, (base, vmas) = _pages(p)
    excl = []
    for i, pg in enumerate(pages):
        e = True
        if pg is not None and pg["kind"] == "present":
            pg["dirty"] = p["dirty"][i]
            pg["young"] = p["young"][i]
            if not pg["write"]:
                e = p["excl"][i]
        excl.append(e)
    return make_scenario(f"batches: {_describe(p)}", p["order"], en(excl), pages, base=base,
                         vmas=vmas)


def _describe(p: dict) -> str:
    parts = []
    if "geometry" in p:
        g, k = p["geometry"]
        parts.append({"pmd": f"PMD boundary before page {k}", "vma": f"VMA ends before page {k}",
                      "midstart": f"VMA starts at page {k}"}[g])
    for kind, pos in p["features"]:
        if kind in RUN_KINDS:
            what = "read-only" if kind == "write" else "soft-dirty"
            parts.append(f"{what} pages {pos[0]}..{pos[1] - 1}")
        else:
            parts.append({"hole": "no PTE", "swap": "swap PTE", "devex": "device-exclusive"}[kind]
                         + f" at page {pos}")
    return "; ".join(parts)


def generate(seed: int, difficulty: int = 1) -> Instance:
    p = _params(rng_for(seed), difficulty)
    sc = build(p)
    res = run_scenario(sc, MODE)
    units = [(pg, n) for _mm, pg, n in clear_units(res, MM)]
    answer = fmt(units)
    sys = system_of(sc)
    nvma = len(sys.mms[MM].vmas)
    question = (
        "Reclaim unmaps this folio with the series applied (mode patched): try_to_unmap_one() "
        f"walks the VMA{'s' if nvma > 1 else ''} in address order and clears one batch of PTEs "
        "per loop iteration. List the batches in walk order: the folio page each one starts at "
        "and how many PTEs it clears. A device-exclusive entry is never batched: count it as a "
        "batch of 1.")
    return Instance(TOPIC, seed, difficulty, sc, question, FORMAT, answer,
                    explain(sys, units), TITLE, draw(sc, MODE), p,
                    {"units": [list(u) for u in units]})


def explain(sys, units) -> str:
    lines = ["The batches, in walk order:"]
    prev_end = 0
    for p, n in units:
        start = ""
        if p > prev_end:
            skipped = reasons.skip_reason(sys, MM, prev_end, p)
            if skipped:
                start = f" (the walk passes over them: {skipped})"
        lines.append(f"  {p}:{n} — starts at page {p}{start}; ends because "
                     f"{reasons.stop_reason(sys, MODE, MM, p, n)}.")
        prev_end = p + n
    lines.append("Dirty and young bits never cut a batch: get_and_clear_ptes() gathers them "
                 "into the value it returns.")
    return "\n".join(lines)


def fmt(units) -> str:
    return ",".join(f"{p}:{n}" for p, n in units)


_ITEM = r"\d+\s*:\s*\d+"


def parse(text: str) -> list[tuple[int, int]]:
    t = (text or "").strip()
    if not re.fullmatch(rf"\s*{_ITEM}(\s*[,;\s]\s*{_ITEM})*\s*[,;]?\s*", t):
        raise AnswerError("expected start:nr pairs separated by commas, like 0:5,5:3")
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+)\s*:\s*(\d+)", t)]


def check(inst: Instance, text: str) -> Feedback:
    try:
        got = parse(text)
    except AnswerError as e:
        return Feedback(False, f"I could not read your answer: {e}. Write it as {FORMAT}.")
    want = [tuple(u) for u in inst.data["units"]]
    if got == want:
        return Feedback(True, f"Correct: {fmt(want)}.")
    sys = system_of(inst.scenario)
    return Feedback(False, first_difference(sys, want, got))


def first_difference(sys, want, got) -> str:
    prev_end = 0
    for i in range(max(len(want), len(got))):
        nth = ordinal(i)
        if i >= len(got):
            p, n = want[i]
            return (f"You listed {len(got)} batch{'es' if len(got) != 1 else ''}, but there are "
                    f"{len(want)}: after page {prev_end - 1} the walk next stops at page {p}, "
                    f"which starts a batch of {n}.")
        gp, gn = got[i]
        if i >= len(want):
            rest = (reasons.skip_reason(sys, MM, prev_end, sys.folio.nr_pages)
                    or "the walk has reached the folio end")
            return (f"Your {nth} batch ({gp}:{gn}) does not exist: the last batch ends at page "
                    f"{prev_end - 1}, and no PTE after it in this mm maps the folio ({rest}).")
        p, n = want[i]
        if gp != p:
            if gp > p:
                why = (f"page {p}'s PTE is present and maps the folio, so the walk stops there "
                       "and a batch starts")
            else:
                why = reasons.skip_reason(sys, MM, gp, p) or (
                    f"page {gp} already belongs to the previous batch")
            return f"Your {nth} batch starts at page {gp}, but it starts at page {p}: {why}."
        if gn > n:
            return (f"Your {nth} batch ({gp}:{gn}) goes past page {p + n - 1}: it ends there "
                    f"because {reasons.stop_reason(sys, MODE, MM, p, n)}.")
        if gn < n:
            return (f"Your {nth} batch ({gp}:{gn}) stops after page {gp + gn - 1}, but "
                    f"{reasons.continue_reason(sys, MM, p, gp + gn)} to page {p + n - 1}.")
        prev_end = p + n
    return "Not quite."


def wrong_answers(inst: Instance) -> dict[str, str]:
    """Typical wrong answers, by kind (for tests and the client's offline hints)."""
    want = [tuple(u) for u in inst.data["units"]]
    out: dict[str, str] = {}
    for kind, bug in (("crossed the PMD boundary", "cross-pmd"),
                      ("ignored write and soft-dirty", "writable-restore")):
        res = run_scenario(inst.scenario, MODE, bugs=(bug,))
        alt = [(p, n) for _m, p, n in clear_units(res, MM)]
        if alt != want:
            out[kind] = fmt(alt)
    ones = []
    for p, n in want:
        ones += [(p + i, 1) for i in range(n)]
    if ones != want:
        out["one PTE at a time"] = fmt(ones)
    for i in range(len(want) - 1):
        (p, n), (q, m) = want[i], want[i + 1]
        if p + n == q:
            out["missed a cut"] = fmt(want[:i] + [(p, n + m)] + want[i + 2:])
            break
    for i, (p, n) in enumerate(want):
        if n > 1:
            out["cut too early"] = fmt(want[:i] + [(p, n - 1), (p + n - 1, 1)] + want[i + 1:])
            break
    return distinct(out, inst.answer)
