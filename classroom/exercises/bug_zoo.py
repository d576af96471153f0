"""Topic ``bug-zoo``: a broken variant ran; which invariant does it violate?

The student gets the same scenario run twice — by the correct model and by one deliberately
broken variant from `simcore.bugs.BUGS` — as a side-by-side summary (what a trace diff shows:
batches, sub-batches, final PTEs, counters before → after, swap slots, ADI tag saves,
out-of-bounds PTE accesses) and names the invariant codes of `simcore.check.INVARIANTS` the
broken run violates. The canonical answer is what `simcore.check()` reports.

Each variant comes with a family of scenarios built to trigger it: a fault after the first
sub-batch (skip-accounting), a batch starting mid-folio over mixed E/N pages
(exclusivity-from-head), a lazyfree batch followed by a device-exclusive entry
(stale-nr-pages, the CVE-2026-63950 shape), a folio straddling a PMD boundary (cross-pmd), a
failure restoring a read-only PTE (writable-restore), a sub-batch of two or more pages
(no-swap-offset, and sparc-batch-adi on sparc64 with ADI).

Difficulty 1: name one violated invariant. 2: name all of them. 3: all of them, and the
variant.
"""

from __future__ import annotations

import re

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
    make_scenario,
    nonconstant,
    parse_fields,
    pick,
    present,
    rng_for,
    run_scenario,
    sub_batches,
)
from classroom.exercises.render import _code, draw
from simcore.bugs import BUGS
from simcore.check import INVARIANTS
from simcore.mm import MM_ANONPAGES, MM_SWAPENTS

TOPIC = "bug-zoo"
TITLE = "Diagnose a broken variant"
SUMMARY = "given a broken variant's run next to the correct one, name the invariant(s) it breaks"
CHAPTER = "classroom"
NORMALIZE = "codes"
BUG_NAMES = tuple(BUGS)
PS = 4096
PMD_2M = 0x200000


# -- scenario families, one per bug ------------------------------------------------------------
def _has_run(f) -> bool:
    return any(a == b for a, b in zip(f, f[1:], strict=False))


def _with_run(rng, n: int) -> list[bool]:
    while True:
        f = bits(rng, n)
        if _has_run(f):
            return f


def _first_run(f) -> int:
    r = 1
    while r < len(f) and f[r] == f[0]:
        r += 1
    return r


def _params(rng, d: int) -> dict:
    bug = pick(rng, BUG_NAMES)
    p: dict = {"bug": bug, "order": 4, "mode": "patched"}
    if bug == "skip-accounting":
        f = nonconstant(rng, 16)
        p.update(excl=f, fault=["dup_swap", pick(rng, range(_first_run(f), 16))])
    elif bug == "exclusivity-from-head":
        k = pick(rng, range(1, 9))
        while True:
            f = bits(rng, 16)
            if any(f[i] != f[k + i] for i in range(16 - k)):
                break
        p.update(excl=f, vma_start=k)
    elif bug == "stale-nr-pages":
        p.update(mode=pick(rng, ("baseline", "patched")), lazyfree=True,
                 devex=pick(rng, range(2, 16)), excl=bits(rng, 16))
    elif bug == "cross-pmd":
        p.update(pmd_at=pick(rng, range(1, 16)), excl=bits(rng, 16))
    elif bug == "writable-restore":
        # the bug bites behind a writable first PTE: page 0 writable, the failing page k
        # read-only, so the restore from page 0's template grants k write
        k = pick(rng, range(1, 16))
        states = [pick(rng, ("N", "ER", "EW")) for _ in range(16)]
        states[0] = "EW"
        states[k] = pick(rng, ("N", "ER"))
        p.update(states=states, fault=["dup_swap", k])
    elif bug == "no-swap-offset":
        p.update(excl=_with_run(rng, 16))
    else:   # sparc-batch-adi
        order = pick(rng, (2, 3, 4))
        p.update(order=order, arch="sparc64", excl=_with_run(rng, 1 << order))
    return p


def count(d: int) -> int:
    """Exact number of distinct (variant, scenario) pairs; the same at every difficulty."""
    n = {
        "skip-accounting": sum(2 ** (16 - r) * (16 - r) for r in range(1, 16)),
        "exclusivity-from-head": sum(2 ** 16 - 2 ** k for k in range(1, 9)),
        "stale-nr-pages": 2 * 14 * 2 ** 16,
        "cross-pmd": 15 * 2 ** 16,
        "writable-restore": 15 * 2 * 3 ** 14,
        "no-swap-offset": 2 ** 16 - 2,
        "sparc-batch-adi": sum(2 ** (1 << o) - 2 for o in (2, 3, 4)),
    }
    return sum(n.values())


def build(p: dict) -> dict:
    order = p["order"]
    nr = 1 << order
    arch = {"name": p.get("arch", "x86_64")}
    ps = 8192 if arch["name"] == "sparc64" else PS
    pages: list[dict | None] = [present(write=False) for _ in range(nr)]
    excl = p.get("excl")
    base, vmas, faults = BASE_ADDR, None, []
    if "states" in p:
        excl = [s != "N" for s in p["states"]]
        pages = [present(write=s == "EW") for s in p["states"]]
    if "vma_start" in p:
        k = p["vma_start"]
        vmas = [(base + k * ps, base + nr * ps)]
        for i in range(k):
            pages[i] = None
    if "devex" in p:
        pages[p["devex"]] = {"kind": "device_exclusive"}
    if "pmd_at" in p:
        base = BASE_ADDR + PMD_2M - p["pmd_at"] * ps
    if "fault" in p:
        op, k = p["fault"]
        faults = [{"op": op, "page": k, "error": "ENOMEM"}]
    return make_scenario("bug zoo", order, en(excl), pages, arch=arch, base=base,
                         vmas=vmas, faults=faults, swapbacked=not p.get("lazyfree", False))


# -- the side-by-side summary ------------------------------------------------------------------
def summary(res) -> dict[str, str]:
    """The rows a student compares (a readable 'trace diff'), read off one run."""
    sys = res.system
    init = sys.initial
    f = sys.folio
    mm = sys.mms[MM]
    slots = sorted((page, addr) for m, addr, page in sys.slots() if m.name == MM)
    ptes = [mm.pt.get(a) for _p, a in slots]
    rows = {
        "try_to_unmap() returns": "true" if res.ok else "false",
        "batches (start:nr)": ",".join(f"{p}:{n}" for _m, p, n in clear_units(res, MM)) or "-",
    }
    subs = [f"{s}:{n}:{'E' if e else 'N'}" for _m, p, _n in clear_units(res, MM)
            for s, n, e in sub_batches(res, p)]
    if subs:
        rows["sub-batches"] = ",".join(subs)
    rows["final PTEs"] = "".join(_code(pte) for pte in ptes)
    rows["swap slot named (page i -> i)"] = " ".join(
        str(pte.swp_offset - f.swap_offset) if pte.kind == "swap" else "." for pte in ptes)
    if any(pte.kind == "swap" for pte in ptes) or f.swap_offset >= 0:
        naming = [0] * f.nr_pages
        for pte in ptes:
            if pte.kind == "swap" and 0 <= pte.swp_offset - f.swap_offset < f.nr_pages:
                naming[pte.swp_offset - f.swap_offset] += 1
        rows["swap PTEs naming each slot"] = "".join(str(x) for x in naming)
    mapping = sum(1 for pte in ptes if pte.kind in ("present", "device_exclusive"))
    rows["folio mapcount"] = f"{init['folio']['mapcount']} -> {f.mapcount}"
    rows["PTEs mapping the folio"] = str(mapping)
    rows["folio refcount"] = f"{init['folio']['refcount']} -> {f.refcount}"
    rows["expected refcount"] = str(f.expected_refcount())
    rows["PG_anon_exclusive"] = f"{init['folio']['exclusive']} -> {f.exclusive_string()}"
    rows["MM_ANONPAGES"] = (f"{init['mms'][MM][MM_ANONPAGES]} -> {mm.counters[MM_ANONPAGES]} "
                            f"(page table: {mapping} present)")
    swaps = sum(1 for pte in ptes if pte.kind == "swap")
    rows["MM_SWAPENTS"] = (f"{init['mms'][MM][MM_SWAPENTS]} -> {mm.counters[MM_SWAPENTS]} "
                           f"(page table: {swaps} swap PTEs)")
    if f.swap_offset >= 0:
        rows["swap counts"] = "".join(str(c) for c in sys.swap_counts())
    rows["TLB pages flushed or pending"] = str(sys.costs.tlb_pages)
    rows["out-of-bounds PTE accesses"] = str(len(mm.pt.oob))
    if sys.arch.has_arch_unmap_one and sys.arch.adi:
        saved = sorted((a - slots[0][1]) // sys.arch.page_size for a in mm.tag_store)
        rows["ADI tags saved for pages"] = ",".join(map(str, saved)) or "none"
    return rows


def table(good: dict[str, str], bad: dict[str, str]) -> str:
    keys = list(good)
    w = max(len(k) for k in keys) + 4
    cw = max(len(good[k]) for k in keys) + 3
    lines = [f"{'':<{w}}{'correct':<{cw}}broken", f"{'':<{w}}{'-------':<{cw}}------"]
    for k in keys:
        mark = "  " if good[k] == bad.get(k) else "* "
        lines.append(f"{mark}{k:<{w - 2}}{good[k]:<{cw}}{bad.get(k, '')}")
    lines.append("(* = the rows that differ)")
    return "\n".join(lines)


def invariants_text() -> str:
    return "\n".join(f"  {code}: {text}" for code, text in INVARIANTS.items())


def _format(d: int) -> str:
    if d == 1:
        return "one invariant code, e.g. mapcount"
    if d == 2:
        return "every violated invariant code, comma-separated, e.g. mapcount,refcount"
    return ("violates=CODES; bug=VARIANT — CODES comma-separated invariant codes, VARIANT one "
            f"of {', '.join(BUG_NAMES)}; e.g. violates=mapcount,refcount; bug=skip-accounting")


def generate(seed: int, difficulty: int = 1) -> Instance:
    p = _params(rng_for(seed), difficulty)
    sc = build(p)
    mode = p["mode"]
    good = run_scenario(sc, mode)
    bad = run_scenario(sc, mode, bugs=(p["bug"],))
    violated = []
    for v in bad.violations:
        if v.code not in violated:
            violated.append(v.code)
    if not violated:    # pragma: no cover - the families are built to trigger (tests prove it)
        raise RuntimeError(f"bug-zoo: variant {p['bug']} not caught for {p}")
    codes = [c for c in INVARIANTS if c in violated]
    sg, sb = summary(good), summary(bad)
    ask = {1: "Name one invariant the broken run violates.",
           2: "Name every invariant the broken run violates.",
           3: "Name every invariant the broken run violates, and the broken variant."}[difficulty]
    question = (f"The same scenario ran in mode {mode} twice: once with the correct kernel model "
                f"and once with a deliberately broken variant.\n\n{table(sg, sb)}\n\n{ask}\n"
                f"The invariants (simcore.check):\n{invariants_text()}")
    if difficulty == 3:
        question += "\nThe variants: " + ", ".join(BUG_NAMES)
    answer = {1: codes[0], 2: ",".join(codes)}.get(
        difficulty, f"violates={','.join(codes)}; bug={p['bug']}")
    data = {"codes": codes, "bug": p["bug"], "mode": mode,
            "messages": {c: next(v.message for v in bad.violations if v.code == c)
                         for c in codes},
            "differ": [k for k in sg if sg[k] != sb.get(k)]}
    return Instance(TOPIC, seed, difficulty, sc, question, _format(difficulty), answer,
                    explain(data), TITLE, draw(sc, mode), p, data)


def explain(data: dict) -> str:
    b = BUGS[data["bug"]]
    lines = [f"The broken variant is {b.name} ({b.title}): {b.what}", f"History: {b.history}",
             "simcore.check() reports:"]
    for c in data["codes"]:
        lines.append(f"  [{c}] {data['messages'][c]}")
    return "\n".join(lines)


def _codes(text: str) -> list[str]:
    out = []
    for item in re.split(r"[,;\s]+", text.strip().lower()):
        if not item:
            continue
        code = item.replace("-", "_").strip("`'\"[]")
        if code not in INVARIANTS:
            raise AnswerError(f"{item!r} is not an invariant code (choose from "
                              f"{', '.join(INVARIANTS)})")
        if code not in out:
            out.append(code)
    if not out:
        raise AnswerError("no invariant code given")
    return out


def parse(text: str, d: int) -> tuple[list[str], str | None]:
    if d < 3:
        return _codes(text or ""), None
    f = parse_fields(text, {"violates": "violates", "violated": "violates", "codes": "violates",
                            "invariants": "violates", "bug": "bug", "variant": "bug"})
    if "violates" not in f or "bug" not in f:
        raise AnswerError("give both violates=... and bug=...")
    bug = f["bug"].strip().lower().replace("_", "-").strip("`'\"")
    if bug not in BUGS:
        raise AnswerError(f"{f['bug']!r} is not a variant (choose from {', '.join(BUG_NAMES)})")
    return _codes(f["violates"]), bug


def check(inst: Instance, text: str) -> Feedback:
    d = inst.difficulty
    try:
        got, bug = parse(text, d)
    except AnswerError as e:
        return Feedback(False, f"I could not read your answer: {e}. Write it as "
                        f"{inst.answer_format}.")
    data = inst.data
    want = data["codes"]
    if d == 1:
        if len(got) != 1:
            return Feedback(False, "Name exactly one invariant code.")
        if got[0] in want:
            also = [c for c in want if c != got[0]]
            return Feedback(True, f"Correct: {got[0]} is violated" +
                            (f" (so {'is' if len(also) == 1 else 'are'} {', '.join(also)})."
                             if also else "."))
        return Feedback(False, _holds(got[0], data))
    for code in INVARIANTS:
        if (code in got) != (code in want):
            if code in want:
                return Feedback(False, f"You missed {code}: {data['messages'][code]}")
            return Feedback(False, _holds(code, data))
    if d == 3 and bug != data["bug"]:
        b = BUGS[bug]
        return Feedback(False, (
            f"The invariants are right, but the variant is not {bug}: {bug} means \"{b.what}\" "
            f"It shows on a scenario like: {b.needs}. Compare the rows that differ here: "
            f"{', '.join(data['differ'])}."))
    return Feedback(True, f"Correct: {', '.join(want)}" +
                    (f"; the variant is {data['bug']}." if d == 3 else "."))


def _holds(code: str, data: dict) -> str:
    return (f"{code} holds in the broken run ({INVARIANTS[code]}): simcore.check() finds "
            f"nothing wrong there. Compare the rows that differ: {', '.join(data['differ'])}.")


def wrong_answers(inst: Instance) -> dict[str, str]:
    data = inst.data
    want = data["codes"]
    d = inst.difficulty
    spare = next(c for c in INVARIANTS if c not in want)
    out = {}

    def fmt(codes, bug=data["bug"]):
        return ",".join(codes) if d < 3 else f"violates={','.join(codes)}; bug={bug}"

    out["an invariant that holds"] = spare if d == 1 else fmt(want + [spare])
    if d >= 2 and len(want) >= 2:
        out["missed one"] = fmt(want[:-1])
    if d == 3:
        out["wrong variant"] = fmt(want, next(b for b in BUG_NAMES if b != data["bug"]))
    return distinct(out, inst.answer)
