"""Topic ``swap-markers``: which swap PTEs carry the exclusive marker after an unmap?

A swap PTE gets the exclusive marker (`pte_swp_mkexclusive`) exactly when its page was
PG_anon_exclusive and sharing it (`folio_try_share_anon_rmap_pte(s)`) succeeded. Sharing fails
with -EBUSY when the folio may be DMA-pinned; then the unit of swap work — one page before the
series, a whole sub-batch with it — is restored and the walk stops. So the answer depends on the
pin, on where a pin appears, and on the mode.

Difficulty 1: 8 pages, no pin (some exclusive pages writable). 2: 16 pages, the folio is
pinned from the start. 3: 16 pages, a pin appears part-way (at a given page).
"""

from __future__ import annotations

import re

from classroom.exercises import reasons
from classroom.exercises.base import (
    AnswerError,
    Feedback,
    Instance,
    bits,
    distinct,
    en,
    final_codes,
    jsonable,
    make_scenario,
    page_fates,
    pick,
    present,
    rng_for,
    run_scenario,
)
from classroom.exercises.render import draw

TOPIC = "swap-markers"
TITLE = "Exclusive markers on swap PTEs"
SUMMARY = ("after a (possibly pinned) unmap, which pages end as swap PTEs with / without the "
           "exclusive marker, which stay present")
CHAPTER = "anon-exclusive"
NORMALIZE = "letters"
ALPHABET = "XSP-"
MODES = ("baseline", "patched")


def _format(nr: int) -> str:
    return (f"{nr} letters, one per folio page 0..{nr - 1}: X = swap PTE with the exclusive "
            "marker, S = swap PTE without it, P = still present (restored or never reached); "
            "spaces are ignored, e.g. SSXXPPPP")


def _params(rng, d: int) -> dict:
    mode = pick(rng, MODES)
    if d == 1:
        excl = bits(rng, 8)
        wr = bits(rng, 8)
        return {"order": 3, "mode": mode, "excl": excl,
                "write": [e and w for e, w in zip(excl, wr, strict=True)]}
    excl = bits(rng, 16)
    if d == 2:
        return {"order": 4, "mode": mode, "excl": excl, "pinned": True}
    return {"order": 4, "mode": mode, "excl": excl, "pin_at": pick(rng, range(16))}


def count(d: int) -> int:
    """Exact: d1 3^8 page states (N, E read-only, E writable) x 2 modes; d2 2^16 x 2;
    d3 2^16 x 16 pin pages x 2."""
    return {1: 3 ** 8 * 2, 2: 2 ** 16 * 2, 3: 2 ** 16 * 16 * 2}[d]


def build(p: dict, pin: bool = True) -> dict:
    nr = 1 << p["order"]
    write = p.get("write", [False] * nr)
    pages = [present(write=w) for w in write]
    faults = [{"op": "pin", "page": p["pin_at"]}] if "pin_at" in p and pin else []
    return make_scenario("swap markers", p["order"], en(p["excl"]), pages,
                         pinned=p.get("pinned", False) and pin, faults=faults)


def letters(res) -> str:
    codes = final_codes(res)
    return "".join(codes[i] for i in sorted(codes))


def generate(seed: int, difficulty: int = 1) -> Instance:
    p = _params(rng_for(seed), difficulty)
    sc = build(p)
    mode = p["mode"]
    res = run_scenario(sc, mode)
    answer = letters(res)
    fates = page_fates(res)
    other = "patched" if mode == "baseline" else "baseline"
    data = {"mode": mode, "letters": answer, "flags": sc["folio"]["exclusive"],
            "fates": jsonable(fates),
            "other_mode": letters(run_scenario(sc, other)),
            "no_pin": letters(run_scenario(build(p, pin=False), mode))}
    nr = 1 << p["order"]
    pin = ""
    if p.get("pinned"):
        pin = " The folio is DMA-pinned."
    elif "pin_at" in p:
        pin = (f" Part-way through, GUP-fast pins the folio: just before the unit of swap work "
               f"that covers page {p['pin_at']}.")
    question = (f"Reclaim calls try_to_unmap() on this folio in mode {mode}."
                f"{pin} When it returns, what is each of the {nr} PTEs: a swap PTE with the "
                "exclusive marker, a swap PTE without it, or still present?")
    return Instance(TOPIC, seed, difficulty, sc, question, _format(nr), answer,
                    explain(data), TITLE, draw(sc, mode), p, data)


def explain(data: dict) -> str:
    lines = [f"Final PTEs: {data['letters']}"]
    lines += ["  " + x for x in reasons.group_fates(data["letters"], data["fates"],
                                                    data["flags"], data["mode"])]
    return "\n".join(lines)


def parse(text: str, nr: int) -> str:
    t = re.sub(r"[\s,;|]+", "", (text or "").upper())
    t = t.replace("W", "P").replace("R", "P")
    bad = sorted(set(t) - set(ALPHABET))
    if bad:
        raise AnswerError(f"{bad[0]!r} is not one of the letters X, S, P, -")
    if len(t) != nr:
        raise AnswerError(f"you wrote {len(t)} letters; write exactly {nr}, one per page")
    return t


def check(inst: Instance, text: str) -> Feedback:
    want = inst.data["letters"]
    try:
        got = parse(text, len(want))
    except AnswerError as e:
        return Feedback(False, f"I could not read your answer: {e}. Write it as "
                        f"{inst.answer_format}.")
    if got == want:
        return Feedback(True, f"Correct: {want}.")
    return Feedback(False, first_difference(inst.data, got))


def first_difference(data: dict, got: str) -> str:
    want = data["letters"]
    p = next(i for i in range(len(want)) if got[i] != want[i])
    fate = data["fates"][str(p)]
    msg = (f"Page {p}: you wrote {got[p]}, but its PTE ends as "
           f"{reasons.CODE_TEXT[want[p]]}: "
           f"{reasons.fate_reason(p, fate, data['flags'], data['mode'])}.")
    if got == data["other_mode"]:
        other = "patched" if data["mode"] == "baseline" else "baseline"
        msg += f" (Your answer is what the {other} mode gives; this run is in {data['mode']} mode.)"
    elif got == data["no_pin"] and got != want:
        msg += " (Your answer ignores the pin: with it, sharing an exclusive page fails.)"
    return msg


def wrong_answers(inst: Instance) -> dict[str, str]:
    want = inst.data["letters"]
    out = {}
    if inst.data["other_mode"] != want:
        out["the other mode"] = inst.data["other_mode"]
    if inst.data["no_pin"] != want:
        out["ignored the pin"] = inst.data["no_pin"]
    if "S" in want:
        out["marker on every swap PTE"] = want.replace("S", "X")
    swapped = want.translate(str.maketrans("XS", "SX"))
    if swapped != want:
        out["markers swapped"] = swapped
    return distinct(out, inst.answer)
