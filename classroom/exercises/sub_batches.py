"""Topic ``sub-batches``: how a batch is cut into runs of equal PG_anon_exclusive.

The PTE batcher never looks at `struct page`, so one batch may mix exclusive (E) and shared (N)
pages; the series does the swap work per maximal run of equal exclusivity
(`page_anon_exclusive_batch()`), in address order, reading the flags from the page mapped by
the batch's *first PTE* — not from the folio head (a real bug once). Every batch here starts
mid-folio, so reading from the head gives a different, wrong answer.

Difficulty 1: 16 pages, the VMA starts mid-folio. 2: also a write-bit change ends the batch
early. 3: 32 pages, a missing PTE in the middle; the question is about the batch after it.
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
    clear_units,
    distinct,
    en,
    make_scenario,
    nonconstant,
    ordinal,
    pages_text,
    pick,
    present,
    rng_for,
    run_scenario,
    sub_batches,
    system_of,
)
from classroom.exercises.render import draw

TOPIC = "sub-batches"
TITLE = "Exclusivity sub-batches"
SUMMARY = ("cut a batch that starts mid-folio into runs of equal PG_anon_exclusive "
           "(start:len:E|N)")
CHAPTER = "anon-exclusive"
MODE = "patched"
FORMAT = ("comma-separated start:len:E|N in address order, start = folio page number; "
          "e.g. 5:2:N,7:3:E")
NORMALIZE = "list"
PS = 4096


def _params(rng, d: int) -> dict:
    if d == 1:
        k = pick(rng, range(1, 9))
        return {"order": 4, "vma_start": k, "excl": nonconstant(rng, 16, k, 16)}
    if d == 2:
        k = pick(rng, range(1, 7))
        m = pick(rng, range(k + 2, 16))
        f = nonconstant(rng, m, k, m) + [True] * (16 - m)
        return {"order": 4, "vma_start": k, "writable_from": m, "excl": f}
    h = pick(rng, range(2, 13))
    return {"order": 5, "hole": h, "excl": nonconstant(rng, 32, h + 1, 32)}


def count(d: int) -> int:
    """Exact number of distinct scenarios at difficulty d."""
    if d == 1:
        return sum(2 ** k * (2 ** (16 - k) - 2) for k in range(1, 9))
    if d == 2:
        return sum(2 ** k * (2 ** (m - k) - 2) for k in range(1, 7) for m in range(k + 2, 16))
    return sum(2 ** (h + 1) * (2 ** (31 - h) - 2) for h in range(2, 13))


def build(p: dict) -> dict:
    order = p["order"]
    nr = 1 << order
    pages: list[dict | None] = [present(write=False) for _ in range(nr)]
    vmas = None
    if "vma_start" in p:
        k = p["vma_start"]
        vmas = [(BASE_ADDR + k * PS, BASE_ADDR + nr * PS)]
        for i in range(k):
            pages[i] = None
    if "writable_from" in p:
        for i in range(p["writable_from"], nr):
            pages[i] = present(write=True)
    if "hole" in p:
        pages[p["hole"]] = None
    return make_scenario("sub-batches", order, en(p["excl"]), pages, vmas=vmas)


def _start(p: dict) -> int:
    return p.get("vma_start", p.get("hole", -1) + 1)


def generate(seed: int, difficulty: int = 1) -> Instance:
    p = _params(rng_for(seed), difficulty)
    sc = build(p)
    start = _start(p)
    res = run_scenario(sc, MODE)
    nr = next(n for _m, pg, n in clear_units(res, MM) if pg == start)
    want = sub_batches(res, start)
    head = sub_batches(run_scenario(sc, MODE, bugs=("exclusivity-from-head",)), start)
    sys = system_of(sc)
    question = (
        f"With the series (mode patched), try_to_unmap_one() clears the batch that starts at "
        f"page {start} ({pages_text(start, nr)}). Before writing swap PTEs it cuts the batch "
        "into sub-batches of equal PG_anon_exclusive with page_anon_exclusive_batch(). List "
        "the sub-batches: the folio page each starts at, its length, and E (exclusive) or N.")
    data = {"start": start, "nr": nr, "want": [list(s) for s in _plain(want)],
            "head": [list(s) for s in _plain(head)]}
    return Instance(TOPIC, seed, difficulty, sc, question, FORMAT, fmt(want),
                    explain(sys, start, nr, want, head), TITLE, draw(sc, MODE), p, data)


def _plain(subs):
    return [(int(s), int(n), "E" if e is True or e == "E" else "N") for s, n, e in subs]


def fmt(subs) -> str:
    return ",".join(f"{s}:{n}:{e}" for s, n, e in _plain(subs))


def explain(sys, start: int, nr: int, want, head) -> str:
    flags = sys.folio.exclusive_string()
    lines = [
        f"The batch covers {pages_text(start, nr)}: it starts at page {start} "
        f"({reasons.skip_reason(sys, MM, 0, start) or 'the first PTE the walk finds'}) and ends "
        f"because {reasons.stop_reason(sys, MODE, MM, start, nr)}.",
        f"page_anon_exclusive_batch() reads PG_anon_exclusive from the page mapped by the "
        f"batch's first PTE (page {start}) onwards: {flags[start:start + nr]}.",
        "Maximal runs of equal flags, in address order: " + fmt(want) + ".",
    ]
    if _plain(head) != _plain(want):
        lines.append(f"(Reading the flags from the folio head instead — {flags[:nr]} — gives "
                     f"{fmt(head)}: the bug fixed by \"mm: Pass page directly instead of using "
                     "folio_page\".)")
    return "\n".join(lines)


_ITEM = r"\(?\s*\d+\s*[:/]\s*\d+\s*[:/]\s*[EN]\s*\)?"


def parse(text: str) -> list[tuple[int, int, str]]:
    t = (text or "").strip().upper()
    if not re.fullmatch(rf"\s*{_ITEM}(\s*[,;\s]\s*{_ITEM})*\s*[,;]?\s*", t):
        raise AnswerError("expected start:len:E|N items separated by commas, like 5:2:N,7:3:E")
    return [(int(a), int(b), c) for a, b, c in
            re.findall(r"(\d+)\s*[:/]\s*(\d+)\s*[:/]\s*([EN])", t)]


def check(inst: Instance, text: str) -> Feedback:
    try:
        got = parse(text)
    except AnswerError as e:
        return Feedback(False, f"I could not read your answer: {e}. Write it as {FORMAT}.")
    want = _plain(inst.data["want"])
    if got == want:
        return Feedback(True, f"Correct: {fmt(want)}.")
    start, nr = inst.data["start"], inst.data["nr"]
    sys = system_of(inst.scenario)
    flags = sys.folio.exclusive_string()
    head = _plain(inst.data["head"])
    if got == head:
        return Feedback(False, (
            f"You read PG_anon_exclusive from the folio's head page (page 0: {flags[:nr]}) "
            f"instead of from page {start}, the page mapped by the batch's first PTE "
            f"({flags[start:start + nr]}). That is the real mprotect bug fixed by \"mm: Pass "
            "page directly instead of using folio_page\"."))
    if got == [(s - start, n, e) for s, n, e in want] and start:
        return Feedback(False, (
            f"Your starts count from the batch's first PTE; write them as folio page numbers: "
            f"the batch starts at page {start}, so the first sub-batch starts at page {start}."))
    return Feedback(False, first_difference(sys, start, nr, want, got, flags))


def first_difference(sys, start, nr, want, got, flags) -> str:
    end = start + nr
    for i in range(max(len(want), len(got))):
        nth = ordinal(i)
        if i >= len(got):
            s, n, e = want[i]
            return (f"Your sub-batches stop at page {s - 1}, but the batch goes on to page "
                    f"{end - 1}: the next sub-batch is {pages_text(s, n)} ({e}).")
        gs, gn, ge = got[i]
        if i >= len(want):
            return (f"Your {nth} sub-batch ({gs}:{gn}:{ge}) is outside the batch, which covers "
                    f"{pages_text(start, nr)}: it ends because "
                    f"{reasons.stop_reason(sys, MODE, MM, start, nr)}.")
        s, n, e = want[i]
        if gs != s:
            if i == 0:
                return (f"Your first sub-batch starts at page {gs}, but a batch's first sub-batch "
                        f"starts where the batch does: at page {start}, the page its first PTE "
                        "maps.")
            return (f"Your {nth} sub-batch starts at page {gs}, but the previous one ends at "
                    f"page {s - 1}, so the next one starts at page {s}.")
        if ge != e:
            return (f"Your {nth} sub-batch starts at page {s} and is marked {ge}, but page {s} "
                    f"is {e} ({'PG_anon_exclusive set' if e == 'E' else 'not exclusive'}); a "
                    "sub-batch has the flag of its pages.")
        if gn > n:
            if s + n >= end:
                why = (f"the batch ends at page {end - 1} "
                       f"({reasons.stop_reason(sys, MODE, MM, start, nr)})")
            else:
                why = (f"page {s + n} is {flags[s + n]}, unlike page {s} ({e}), so "
                       "page_anon_exclusive_batch() ends the run there")
            return (f"Your {nth} sub-batch ({gs}:{gn}:{ge}) runs past page {s + n - 1}: {why}.")
        if gn < n:
            return (f"Your {nth} sub-batch ({gs}:{gn}:{ge}) ends at page {gs + gn - 1}, but page "
                    f"{gs + gn} is {e} like page {s}, so the run continues to page {s + n - 1}.")
    return "Not quite."


def wrong_answers(inst: Instance) -> dict[str, str]:
    want = _plain(inst.data["want"])
    head = _plain(inst.data["head"])
    start = inst.data["start"]
    out = {}
    if head != want:
        out["indexed from the folio head"] = fmt(head)
    out["relative starts"] = fmt([(s - start, n, e) for s, n, e in want])
    flip = {"E": "N", "N": "E"}
    out["wrong letter"] = fmt([(s, n, flip[e]) for s, n, e in want])
    if len(want) >= 2:
        (s, n, e), (_s2, n2, _e2) = want[0], want[1]
        out["merged two runs"] = fmt([(s, n + n2, e)] + want[2:])
        out["missing the last run"] = fmt(want[:-1])
    for i, (s, n, e) in enumerate(want):
        if n > 1:
            out["split a run"] = fmt(want[:i] + [(s, n - 1, e), (s + n - 1, 1, e)] + want[i + 1:])
            break
    return distinct(out, inst.answer)
