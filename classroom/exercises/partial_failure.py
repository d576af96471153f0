"""Topic ``partial-failure``: what a batch that fails half-way leaves behind.

A fault is placed on page k: `folio_dup_swap()` fails with -ENOMEM on the call covering it, or
GUP-fast pins the folio just before the unit of swap work covering it (then sharing an
exclusive page fails with -EBUSY). The student says which pages end as swap PTEs, which PTEs
were restored, and how the folio's mapcount and refcount, the mm's MM_ANONPAGES and
MM_SWAPENTS, and the folio's swap counts changed. The unit of work is a page before the series
and a sub-batch with it, so the same fault gives different answers per mode; and the pages
that did go to swap must still be accounted (`finish_folio_unmap()`), which the bug-zoo
variant ``skip-accounting`` forgets.

Difficulty 1: patched mode, a dup failure. 2: either mode, a dup failure or a pin.
3: as 2, with a write-bit change cutting the folio into two batches.
"""

from __future__ import annotations

from classroom.exercises import reasons
from classroom.exercises.base import (
    MM,
    AnswerError,
    Feedback,
    Instance,
    bits,
    distinct,
    en,
    final_codes,
    fmt_delta,
    fmt_pageset,
    jsonable,
    make_scenario,
    page_fates,
    parse_fields,
    parse_int,
    parse_pageset,
    pick,
    present,
    rng_for,
    run_scenario,
)
from classroom.exercises.render import draw
from simcore.mm import MM_ANONPAGES, MM_SWAPENTS

TOPIC = "partial-failure"
TITLE = "Accounting after a partial failure"
SUMMARY = ("after a fault on page k in mode M: which pages are swap PTEs, which were restored, "
           "and the changes of mapcount, refcount, MM_ANONPAGES, MM_SWAPENTS, swap counts")
CHAPTER = "partial-failure"
NORMALIZE = "fields"
KEYS = ("swap", "restored", "mapcount", "refcount", "anonpages", "swapents", "swapcount")
TYPES = {"swap": "pageset", "restored": "pageset", "mapcount": "delta", "refcount": "delta",
         "anonpages": "delta", "swapents": "delta", "swapcount": "delta"}
ALIASES = {
    "swap": "swap", "swap_ptes": "swap", "swapped": "swap", "swap_pages": "swap",
    "restored": "restored", "restore": "restored", "restored_ptes": "restored",
    "mapcount": "mapcount", "map_count": "mapcount", "folio_mapcount": "mapcount",
    "refcount": "refcount", "ref_count": "refcount", "folio_refcount": "refcount",
    "anonpages": "anonpages", "mm_anonpages": "anonpages", "anon_pages": "anonpages",
    "anon": "anonpages",
    "swapents": "swapents", "mm_swapents": "swapents", "swap_ents": "swapents",
    "swapcount": "swapcount", "swapcounts": "swapcount", "swap_count": "swapcount",
    "swap_counts": "swapcount",
}
FORMAT = ("swap=PAGES; restored=PAGES; mapcount=D; refcount=D; anonpages=D; swapents=D; "
          "swapcount=D — PAGES like 0-5,8 or none; D a signed change like -6, +6 or 0 "
          "(anonpages = MM_ANONPAGES, swapents = MM_SWAPENTS, swapcount = the total change of "
          "the folio's swap-slot counts)")
MODES = ("baseline", "patched")
OPS = ("dup_swap", "pin")
NAMES = {"mapcount": "the folio's mapcount", "refcount": "the folio's refcount",
         "anonpages": "MM_ANONPAGES", "swapents": "MM_SWAPENTS",
         "swapcount": "the swap counts"}


def _params(rng, d: int) -> dict:
    if d == 1:
        mode, op = "patched", "dup_swap"
    else:
        mode, op = pick(rng, MODES), pick(rng, OPS)
    k = pick(rng, range(16))
    p = {"order": 4, "mode": mode, "fault": [op, k]}
    if d == 3:
        m = pick(rng, range(4, 13))
        p["writable_from"] = m
        p["excl"] = bits(rng, m) + [True] * (16 - m)
    else:
        p["excl"] = bits(rng, 16)
    return p


def count(d: int) -> int:
    """Exact number of distinct instances (fault page x E/N pattern x mode x fault kind)."""
    if d == 1:
        return 16 * 2 ** 16
    if d == 2:
        return 2 * 2 * 16 * 2 ** 16
    return 2 * 2 * 16 * sum(2 ** m for m in range(4, 13))


def build(p: dict) -> dict:
    m = p.get("writable_from", 16)
    pages = [present(write=i >= m) for i in range(16)]
    op, k = p["fault"]
    flt = {"op": op, "page": k}
    if op == "dup_swap":
        flt["error"] = "ENOMEM"
    return make_scenario("partial failure", p["order"], en(p["excl"]), pages, faults=[flt])


def outcome(res) -> dict:
    """The answer fields, read off a run."""
    sys = res.system
    init = sys.initial
    codes = final_codes(res)
    fates = page_fates(res)
    f = sys.folio
    return {
        "swap": fmt_pageset(p for p, c in codes.items() if c in "XS"),
        "restored": fmt_pageset(p for p, x in fates.items() if x["fate"] == "restored"),
        "mapcount": fmt_delta(f.mapcount - init["folio"]["mapcount"]),
        "refcount": fmt_delta(f.refcount - init["folio"]["refcount"]),
        "anonpages": fmt_delta(sys.mms[MM].counters[MM_ANONPAGES]
                               - init["mms"][MM][MM_ANONPAGES]),
        "swapents": fmt_delta(sys.mms[MM].counters[MM_SWAPENTS]
                              - init["mms"][MM][MM_SWAPENTS]),
        "swapcount": fmt_delta(sum(sys.swap_counts()) - sum(init["swap_counts"])),
    }


def fmt(fields: dict) -> str:
    return "; ".join(f"{k}={fields[k]}" for k in KEYS)


def generate(seed: int, difficulty: int = 1) -> Instance:
    p = _params(rng_for(seed), difficulty)
    sc = build(p)
    mode = p["mode"]
    res = run_scenario(sc, mode)
    want = outcome(res)
    codes = final_codes(res)
    fails = [e for e in res.trace.events if e.kind == "fail"]
    fail = fails[0] if fails else None
    pin_fired = any(e.kind == "fault" for e in res.trace.events)
    other = "patched" if mode == "baseline" else "baseline"
    data = {
        "mode": mode, "want": want, "flags": sc["folio"]["exclusive"],
        "letters": "".join(codes[i] for i in sorted(codes)),
        "fates": jsonable(page_fates(res)),
        "fail": [fail.fn, fail.text, fail.page, fail.nr] if fail else None,
        "pin_fired": pin_fired,
        "other_mode": outcome(run_scenario(sc, other)),
        "skip_accounting": (outcome(run_scenario(sc, mode, bugs=("skip-accounting",)))
                            if mode == "patched" else None),
    }
    op, k = p["fault"]
    what = ("folio_dup_swap() fails with -ENOMEM on the call that covers page"
            if op == "dup_swap" else
            "GUP-fast pins the folio just before the unit of swap work that covers page")
    question = (f"Reclaim calls try_to_unmap() on this folio in mode {mode}; {what} {k}. "
                "When try_to_unmap() returns: which pages' PTEs are swap PTEs, which PTEs were "
                "cleared and then restored, and by how much did the folio's mapcount and "
                "refcount, the mm's MM_ANONPAGES and MM_SWAPENTS, and the total of the folio's "
                "swap counts change?")
    return Instance(TOPIC, seed, difficulty, sc, question, FORMAT, fmt(want), explain(data),
                    TITLE, draw(sc, mode), p, data)


def _s(data) -> int:
    return -int(data["want"]["mapcount"])


def field_reason(key: str, data: dict) -> str:
    w = data["want"]
    s = len(parse_pageset(w["swap"], "swap"))
    mode = data["mode"]
    who = ("finish_folio_unmap() accounts them inside __ttu_anon_folio() even though the "
           "batch failed" if mode == "patched" else "each page is accounted in its own loop "
                                                    "iteration before the failure")
    if key == "mapcount":
        return (f"it falls by one for each PTE that no longer maps the folio: the {s} swap "
                f"PTE(s) ({who}); restored PTEs map it again")
    if key == "refcount":
        r = f"folio_put_refs() drops one reference per swap PTE (-{s})" if s else (
            "no PTE was unmapped, so no reference was dropped")
        if data["pin_fired"]:
            r += "; the pin GUP-fast took holds one more reference (+1)"
        return r
    if key == "anonpages":
        return f"MM_ANONPAGES falls by one per swap PTE written ({s})"
    if key == "swapents":
        return f"MM_SWAPENTS rises by one per swap PTE written ({s})"
    if key == "swapcount":
        r = f"each swap PTE holds one count on its slot (+{s})" if s else (
            "no swap PTE was written")
        fail = data["fail"]
        if fail and fail[0] == "folio_dup_swap":
            r += "; the failing folio_dup_swap() changed nothing"
        elif fail:
            r += ("; the failing unit's counts were raised and then given back by "
                  "folio_put_swap() when sharing failed")
        return r
    return ""


def explain(data: dict) -> str:
    w = data["want"]
    lines = [f"Final PTEs: {data['letters']} (X/S swap PTE, P present)"]
    lines += ["  " + x for x in reasons.group_fates(data["letters"], data["fates"],
                                                    data["flags"], data["mode"])]
    for key in KEYS[2:]:
        lines.append(f"{key} {w[key]}: {field_reason(key, data)}.")
    return "\n".join(lines)


def parse(text: str) -> dict:
    fields = parse_fields(text, ALIASES)
    missing = [k for k in KEYS if k not in fields]
    if missing:
        raise AnswerError(f"missing {', '.join(missing)}")
    out = {}
    for k in KEYS:
        if TYPES[k] == "pageset":
            out[k] = fmt_pageset(parse_pageset(fields[k], k))
        else:
            out[k] = fmt_delta(parse_int(fields[k], k))
    return out


def check(inst: Instance, text: str) -> Feedback:
    try:
        got = parse(text)
    except AnswerError as e:
        return Feedback(False, f"I could not read your answer: {e}. Write it as {FORMAT}.")
    data = inst.data
    want = data["want"]
    if got == want:
        return Feedback(True, f"Correct: {fmt(want)}.")
    return Feedback(False, first_difference(data, got))


def first_difference(data: dict, got: dict) -> str:
    want = data["want"]
    letters, flags, mode = data["letters"], data["flags"], data["mode"]
    msg = ""
    for key in KEYS:
        if got[key] == want[key]:
            continue
        if key in ("swap", "restored"):
            g, w = parse_pageset(got[key], key), parse_pageset(want[key], key)
            p = min(g ^ w)
            if str(p) not in data["fates"]:
                msg = (f"{key}: page {p} is not a page of this folio (pages 0.."
                       f"{len(letters) - 1}).")
                break
            fate = data["fates"][str(p)]
            is_ = "is" if p in w else "is not"
            label = "a swap PTE" if key == "swap" else "restored"
            msg = (f"{key}: page {p} {is_} {label}: its PTE ends as "
                   f"{reasons.CODE_TEXT[letters[p]]} — "
                   f"{reasons.fate_reason(p, fate, flags, mode)}.")
        else:
            msg = (f"{key}: you wrote {got[key]}, but {NAMES[key]} changes by {want[key]}: "
                   f"{field_reason(key, data)}.")
        break
    if data.get("skip_accounting") and got == data["skip_accounting"]:
        msg += (" (Your answer is what the broken variant gives that skips finish_folio_unmap() "
                "for the pages that did go to swap.)")
    elif got == data["other_mode"]:
        msg += (f" (Your answer is what the {'patched' if mode == 'baseline' else 'baseline'} "
                f"mode gives; this run is in {mode} mode, where the unit of swap work is "
                f"{'a whole sub-batch' if mode == 'patched' else 'one page'}.)")
    return msg


def wrong_answers(inst: Instance) -> dict[str, str]:
    data = inst.data
    want = data["want"]
    out = {}
    if data.get("skip_accounting") and data["skip_accounting"] != want:
        out["skipped the accounting"] = fmt(data["skip_accounting"])
    if data["other_mode"] != want:
        out["the other mode"] = fmt(data["other_mode"])
    s = _s(data)
    if data["pin_fired"]:
        out["forgot the pin's reference"] = fmt({**want, "refcount": fmt_delta(-s)})
    if s:
        out["MM_SWAPENTS sign"] = fmt({**want, "swapents": fmt_delta(-s)})
    fail = data["fail"]
    if fail and fail[0] != "folio_dup_swap":
        out["kept the failed unit's swap counts"] = fmt(
            {**want, "swapcount": fmt_delta(s + fail[3])})
    rest = parse_pageset(want["restored"], "restored")
    if rest:
        out["restored pages as swap"] = fmt({**want, "swap": fmt_pageset(
            parse_pageset(want["swap"], "swap") | rest)})
    return distinct(out, inst.answer)
