"""Topic ``sparc64``: does batching happen? Architecture x folio kind x mode -> batch sizes.

`folio_unmap_pte_batch()` returns 1 in ``per-pte`` mode (kernels before 2025), for anon
swap-backed folios in ``baseline`` (only lazyfree and file folios were batched), and — with the
series, ``patched`` — still for anon swap-backed folios on sparc64, whose `arch_unmap_one()`
saves ADI tags one page at a time from that page's own PTE. Lazyfree folios are batched on
every architecture from ``baseline`` on: their path never calls `arch_unmap_one()`.

Difficulty 1: 4, 8 or 16 pages, all read-only. 2: 16 pages, a write-bit change part-way.
3: as 2, sparc64 with ADI on or off, and the number of pages whose ADI tags are saved.
"""

from __future__ import annotations

import re

from classroom.exercises import reasons
from classroom.exercises.base import (
    MAX_PAGES,
    MM,
    AnswerError,
    Feedback,
    Instance,
    bits,
    clear_units,
    distinct,
    en,
    make_scenario,
    parse_fields,
    parse_int,
    pick,
    present,
    rng_for,
    run_scenario,
    system_of,
)
from classroom.exercises.render import draw

TOPIC = "sparc64"
#: The topic's name in lists; an instance's own title names its architecture (a seed may pick
#: x86_64 or arm64 for contrast, and a title saying sparc64 would then mislead).
TITLE = "Does batching happen? (sparc64 and the others)"
SUMMARY = ("architecture x folio kind x mode -> the batch sizes try_to_unmap_one() uses "
           "(and, on sparc64, the ADI tag saves)")
CHAPTER = "sparc64"
NORMALIZE = "sizes"
KINDS = ("swap-backed", "lazyfree")
MODES = ("per-pte", "baseline", "patched")
ARCHES = {"sparc64": {"name": "sparc64"}, "x86_64": {"name": "x86_64"},
          "arm64": {"name": "arm64"}, "sparc64-noadi": {"name": "sparc64", "adi": False}}
SIZES_FORMAT = ("the batch sizes in walk order, comma-separated; NxK means K batches of N; "
                "e.g. 1x4,12 or 16")


def _params(rng, d: int) -> dict:
    archs = ("sparc64", "x86_64", "arm64") + (("sparc64-noadi",) if d == 3 else ())
    p = {"arch": pick(rng, archs), "kind": pick(rng, KINDS), "mode": pick(rng, MODES)}
    if d == 1:
        p["order"] = pick(rng, (2, 3, 4))
        p["excl"] = bits(rng, 1 << p["order"])
    else:
        m = pick(rng, range(2, 15))
        p.update(order=4, writable_from=m, excl=bits(rng, m) + [True] * (16 - m))
    return p


def count(d: int) -> int:
    """Exact: arch x folio kind x mode x (order and E/N pattern | write boundary and pattern)."""
    if d == 1:
        return 3 * 2 * 3 * sum(2 ** (1 << o) for o in (2, 3, 4))
    return (3 if d == 2 else 4) * 2 * 3 * sum(2 ** m for m in range(2, 15))


def build(p: dict) -> dict:
    nr = 1 << p["order"]
    m = p.get("writable_from", nr)
    pages = [present(write=i >= m) for i in range(nr)]
    return make_scenario("sparc64", p["order"], en(p["excl"]), pages,
                         arch=dict(ARCHES[p["arch"]]), swapbacked=p["kind"] == "swap-backed")


def fmt_sizes(sizes) -> str:
    out = []
    i = 0
    while i < len(sizes):
        j = i
        while j + 1 < len(sizes) and sizes[j + 1] == sizes[i]:
            j += 1
        n = j - i + 1
        out += [f"{sizes[i]}x{n}"] if n >= 3 else [str(sizes[i])] * n
        i = j + 1
    return ",".join(out)


def parse_sizes(text: str) -> list[int]:
    t = (text or "").strip().lower().replace("\u00d7", "x").replace("*", "x")
    items = [x for x in re.split(r"[,;\s]+", t) if x]
    if not items:
        raise AnswerError("no batch sizes given")
    out: list[int] = []
    for item in items:
        m = re.fullmatch(r"(\d+)(?:x(\d+))?", item)
        if not m:
            raise AnswerError(f"{item!r} is neither a size like 16 nor a repetition like 1x16")
        k = int(m.group(2)) if m.group(2) else 1
        if k > MAX_PAGES or len(out) + k > MAX_PAGES:
            raise AnswerError(f"more than {MAX_PAGES} batches (a folio has at most "
                              f"{MAX_PAGES} pages)")
        out += [int(m.group(1))] * k
    if any(s < 1 for s in out):
        raise AnswerError("a batch has at least one PTE")
    return out


def generate(seed: int, difficulty: int = 1) -> Instance:
    p = _params(rng_for(seed), difficulty)
    sc = build(p)
    mode = p["mode"]
    res = run_scenario(sc, mode)
    units = [(pg, n) for _m, pg, n in clear_units(res, MM)]
    sizes = [n for _p, n in units]
    adi = res.costs.adi_tag_saves
    data = {"mode": mode, "units": [list(u) for u in units], "sizes": sizes, "adi": adi,
            "ok": res.ok}
    sys = system_of(sc)
    arch = sys.arch
    what = ("an anon swap-backed folio" if p["kind"] == "swap-backed"
            else "a clean lazyfree (MADV_FREE) folio")
    question = (f"Reclaim unmaps {what} on {arch.describe()} in mode {mode}. Which batch sizes "
                "does try_to_unmap_one() use, in walk order?")
    fmt_ = SIZES_FORMAT
    answer = fmt_sizes(sizes)
    if difficulty == 3:
        question += (" And for how many pages does arch_unmap_one() save ADI tags "
                     "(adi_save_tags())?")
        fmt_ = "sizes=SIZES; adi=N — SIZES " + SIZES_FORMAT + "; e.g. sizes=1x16; adi=16"
        answer = f"sizes={answer}; adi={adi}"
    return Instance(TOPIC, seed, difficulty, sc, question, fmt_, answer,
                    explain(sys, data), f"Does batching happen on {arch.name}?", draw(sc, mode),
                    p, data)


def adi_reason(sys, data) -> str:
    arch, f = sys.arch, sys.folio
    if not arch.has_arch_unmap_one:
        return f"arch_unmap_one() is a stub returning 0 on {arch.name}: no tags to save"
    if not arch.adi:
        return "ADI is off, so sparc64's arch_unmap_one() returns at once"
    if not f.swapbacked:
        return "the lazyfree path never calls arch_unmap_one(): the page is dropped, not swapped"
    return (f"sparc64's anon swap-backed path calls arch_unmap_one() once per page, with that "
            f"page's own PTE (no batching): {data['adi']} page(s)")


def explain(sys, data) -> str:
    mode = data["mode"]
    lines = [f"Batch sizes: {fmt_sizes(data['sizes'])}."]
    nb = reasons.no_batch_reason(sys, mode)
    if nb:
        lines.append(f"No batching: {nb}.")
    else:
        lines.append(f"Batching happens: {reasons.why_batching(sys, mode)}.")
        for p, n in data["units"]:
            lines.append(f"  {p}:{n} ends because {reasons.stop_reason(sys, mode, MM, p, n)}.")
    lines.append(f"ADI tags saved for {data['adi']} page(s): {adi_reason(sys, data)}.")
    return "\n".join(lines)


def parse(text: str, d: int) -> tuple[list[int], int | None]:
    if d < 3:
        return parse_sizes(text), None
    f = parse_fields(text, {"sizes": "sizes", "size": "sizes", "batches": "sizes",
                            "adi": "adi", "adi_saves": "adi", "adi_tags": "adi"})
    if "sizes" not in f or "adi" not in f:
        raise AnswerError("give both sizes=... and adi=...")
    return parse_sizes(f["sizes"]), parse_int(f["adi"], "adi")


def check(inst: Instance, text: str) -> Feedback:
    d = inst.difficulty
    try:
        got, adi = parse(text, d)
    except AnswerError as e:
        return Feedback(False, f"I could not read your answer: {e}. Write it as "
                        f"{inst.answer_format}.")
    data = inst.data
    want = data["sizes"]
    sys = system_of(inst.scenario)
    if got != want:
        return Feedback(False, first_difference(sys, data, got))
    if d == 3 and adi != data["adi"]:
        return Feedback(False, f"adi: you wrote {adi}, but tags are saved for {data['adi']} "
                        f"page(s): {adi_reason(sys, data)}.")
    return Feedback(True, f"Correct: {inst.answer}.")


def first_difference(sys, data, got) -> str:
    want, units, mode = data["sizes"], data["units"], data["mode"]
    for i in range(max(len(want), len(got))):
        if i >= len(got):
            return (f"You listed {len(got)} batches covering {sum(got)} PTEs, but the folio's "
                    f"{sum(want)} PTEs take {len(want)} batches: {fmt_sizes(want)}.")
        if i >= len(want):
            return (f"Your sizes add up to {sum(got)} PTEs, but only {sum(want)} are mapped: "
                    f"after {fmt_sizes(want)} the walk has nothing left.")
        if got[i] == want[i]:
            continue
        p, n = units[i]
        if got[i] > n:
            nb = reasons.no_batch_reason(sys, mode)
            if nb:
                return f"Batch {i + 1} (from page {p}) has 1 PTE, not {got[i]}: {nb}."
            return (f"Batch {i + 1} (from page {p}) has {n} PTEs, not {got[i]}: it ends "
                    f"because {reasons.stop_reason(sys, mode, MM, p, n)}.")
        return (f"Batch {i + 1} (from page {p}) has {n} PTEs, not {got[i]}: batching does "
                f"happen here — {reasons.why_batching(sys, mode)} — and "
                f"{reasons.continue_reason(sys, MM, p, p + got[i])}.")
    return "Not quite."


def wrong_answers(inst: Instance) -> dict[str, str]:
    data = inst.data
    sizes = data["sizes"]
    d = inst.difficulty
    out = {}

    def fmt(s, adi=data["adi"]):
        return fmt_sizes(s) if d < 3 else f"sizes={fmt_sizes(s)}; adi={adi}"

    total = sum(sizes)
    if len(sizes) > 1 and all(s == 1 for s in sizes):
        out["batched anyway"] = fmt([total])
    else:
        out["one PTE at a time"] = fmt([1] * total)
    if len(sizes) >= 2:
        out["missed a cut"] = fmt([sizes[0] + sizes[1]] + sizes[2:])
    if d == 3:
        out["wrong ADI count"] = fmt(sizes, data["adi"] + 1 if data["adi"] == 0 else 0)
    return distinct(out, inst.answer)
