"""Topic ``costs``: how many ptep_get() calls, TLB operations, barriers, contpte unfolds?

The student counts what one mode does to unmap a fully mapped folio: `ptep_get()` calls (the
walk's `check_pte()` and none-skipping reads, `try_to_unmap_one()`'s own read, the batcher's
comparisons — which skip a whole arm64 CONT block with one `pte_batch_hint()` stride), TLB
operations (one per batch cleared), full barriers (a pair per `folio_try_share_anon_rmap_pte(s)`
call: per exclusive page before the series, per exclusive sub-batch with it), and on arm64 the
contpte unfolds and their break-before-make TLBIs (none with BBML2). The numbers are simcore's
cost counters (`simcore.costs.COUNTERS`); the feedback splits each one by where it arises, read
off the run's trace.

Difficulty 1: TLB operations and barriers. 2: plus ptep_get. 3: plus contpte unfolds and
unfold TLBIs, on arm64 with or without BBML2 (or x86), 16 or 32 pages.
"""

from __future__ import annotations

from classroom.exercises.base import (
    AnswerError,
    Feedback,
    Instance,
    bits,
    distinct,
    en,
    make_scenario,
    parse_fields,
    parse_int,
    pick,
    present,
    rng_for,
    run_scenario,
)
from classroom.exercises.render import draw

TOPIC = "costs"
TITLE = "Counting the cost of a mode"
SUMMARY = ("count the ptep_get() calls, TLB operations, barriers and contpte unfolds one mode "
           "spends on a folio")
CHAPTER = "performance"
NORMALIZE = "fields"
MODES = ("baseline", "patched")
ARCHES = {"x86_64": {"name": "x86_64"}, "arm64": {"name": "arm64"},
          "arm64+bbml2": {"name": "arm64", "bbml2": True}}
KEYS = {1: ("tlb", "barriers"), 2: ("ptep_get", "tlb", "barriers"),
        3: ("ptep_get", "tlb", "barriers", "unfolds", "tlbi")}
ALIASES = {"ptep_get": "ptep_get", "ptep_gets": "ptep_get", "ptep_get()": "ptep_get",
           "tlb": "tlb", "tlb_ops": "tlb", "tlb_operations": "tlb", "tlbs": "tlb",
           "barriers": "barriers", "barrier": "barriers", "smp_mb": "barriers",
           "unfolds": "unfolds", "unfold": "unfolds", "contpte_unfolds": "unfolds",
           "tlbi": "tlbi", "tlbis": "tlbi", "tlbi_unfold": "tlbi", "unfold_tlbi": "tlbi"}
WHAT = {
    "ptep_get": "calls of ptep_get() (not raw loads: a CONT block scan is one call)",
    "tlb": "TLB operations: set_tlb_ubc_flush_pending() calls plus flush_tlb_range() calls",
    "barriers": "full memory barriers (smp_mb / smp_mb__after_atomic)",
    "unfolds": "contpte_convert() unfolds of a CONT block",
    "tlbi": "break-before-make TLB invalidations inside those unfolds",
}


def _value(costs, key: str) -> int:
    return {"ptep_get": costs.ptep_get, "tlb": costs.tlb_ops, "barriers": costs.barriers,
            "unfolds": costs.contpte_unfolds, "tlbi": costs.tlbi_unfold}[key]


def _params(rng, d: int) -> dict:
    mode = pick(rng, MODES)
    if d == 1:
        arch, order = pick(rng, ("x86_64", "arm64")), pick(rng, (3, 4))
    elif d == 2:
        arch, order = pick(rng, ("x86_64", "arm64")), 4
    else:
        arch, order = pick(rng, tuple(ARCHES)), pick(rng, (4, 5))
    return {"arch": arch, "order": order, "mode": mode, "excl": bits(rng, 1 << order)}


def count(d: int) -> int:
    """Exact: arch x order x mode x E/N pattern."""
    if d == 1:
        return 2 * 2 * (2 ** 8 + 2 ** 16)
    if d == 2:
        return 2 * 2 * 2 ** 16
    return 3 * 2 * (2 ** 16 + 2 ** 32)


def build(p: dict, arch: str | None = None) -> dict:
    nr = 1 << p["order"]
    return make_scenario("costs", p["order"], en(p["excl"]),
                         [present(write=False) for _ in range(nr)],
                         arch=dict(ARCHES[arch or p["arch"]]))


def values(res, keys) -> dict[str, int]:
    return {k: _value(res.costs, k) for k in keys}


def breakdown(res) -> dict[str, str]:
    """Where each counter's value comes from, attributed via the trace's cost snapshots."""
    c = res.costs
    by_kind: dict[str, dict[str, int]] = {}
    prev = None
    share_ok = share_fail = 0
    for e in res.trace.events:
        cur = e.state["costs"]
        if prev is not None:
            d = by_kind.setdefault(e.kind, {})
            for k, v in cur.items():
                d[k] = d.get(k, 0) + v - prev[k]
        prev = cur
        if e.kind == "share":
            share_ok += 1
        elif e.kind == "fail" and e.fn.startswith("folio_try_share"):
            share_fail += 1

    def part(kinds, key):
        return sum(by_kind.get(k, {}).get(key, 0) for k in kinds)

    own = c.iterations
    batch = part(("batch",), "ptep_get")
    walk = c.ptep_get - own - batch
    sizes = [e.nr for e in res.trace.events if e.kind == "clear"]
    out = {
        "ptep_get": (f"{walk} in page_vma_mapped_walk() (check_pte() reads the PTE it stops "
                     f"at, and the next_pte loop reads each slot to skip none PTEs), {own} by "
                     f"try_to_unmap_one() itself (one per loop iteration, {own} iteration"
                     f"{'s' if own != 1 else ''}), {batch} in folio_pte_batch_flags() comparing "
                     "the PTEs after the first (on arm64 one pte_batch_hint() stride covers the "
                     "rest of a CONT block)"),
        "tlb": (f"one TLB operation per batch cleared: {len(sizes)} batch"
                f"{'es' if len(sizes) != 1 else ''} ({','.join(map(str, sizes))} PTEs)"),
        "barriers": (f"folio_try_share_anon_rmap_pte(s)() issues smp_mb() before its pin check "
                     f"and smp_mb__after_atomic() after clearing PG_anon_exclusive: "
                     f"{share_ok} successful call{'s' if share_ok != 1 else ''} x 2"
                     + (f" + {share_fail} failed call{'s' if share_fail != 1 else ''} x 1"
                        if share_fail else "")
                     + "; the calls are per exclusive page before the series and per "
                       "exclusive sub-batch with it; non-exclusive pages need none"),
        "unfolds": ("clearing a single PTE of a CONT block "
                    "(get_and_clear_ptes() with nr = 1) first unfolds the whole block, after "
                    "which the rest of the block is no longer CONT; a batch that covers whole "
                    "aligned blocks unfolds nothing"),
        "tlbi": ("each unfold issues one break-before-make TLBI over the "
                 "block, unless the CPU has BBML2 (then none)"),
    }
    return out


def generate(seed: int, difficulty: int = 1) -> Instance:
    p = _params(rng_for(seed), difficulty)
    sc = build(p)
    mode = p["mode"]
    keys = KEYS[difficulty]
    res = run_scenario(sc, mode, costs=True)
    want = values(res, keys)
    other = "patched" if mode == "baseline" else "baseline"
    data = {"mode": mode, "keys": list(keys), "want": want, "why": breakdown(res),
            "other_mode": values(run_scenario(sc, other), keys),
            "other_arch": None}
    if p["arch"] != "x86_64":
        data["other_arch"] = values(run_scenario(build(p, "x86_64"), mode), keys)
    lines = "\n".join(f"  {k}: {WHAT[k]}" for k in keys)
    question = (f"Reclaim unmaps this folio in mode {mode} (no faults; TLB flushes are deferred). "
                f"How many of each does it cost?\n{lines}")
    fmt_ = "; ".join(f"{k}=N" for k in keys)
    answer_format = f"{fmt_} (whole numbers), e.g. " + "; ".join(
        f"{k}={n}" for k, n in zip(keys, (17, 1, 8, 0, 0), strict=False))
    return Instance(TOPIC, seed, difficulty, sc, question, answer_format, fmt(want),
                    explain(data), TITLE, draw(sc, mode), p, data)


def fmt(vals: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in vals.items())


def explain(data: dict) -> str:
    lines = []
    for k in data["keys"]:
        lines.append(f"  {k} = {data['want'][k]}: {data['why'][k]}.")
    o = data["other_mode"]
    lines.append(f"For comparison, {'patched' if data['mode'] == 'baseline' else 'baseline'} "
                 f"mode costs {fmt(o)}.")
    return "\n".join(lines)


def parse(text: str, keys) -> dict[str, int]:
    f = parse_fields(text, ALIASES)
    missing = [k for k in keys if k not in f]
    if missing:
        raise AnswerError(f"missing {', '.join(missing)}")
    extra = [k for k in f if k not in keys]
    if extra:
        raise AnswerError(f"{extra[0]} is not asked for here")
    out = {}
    for k in keys:
        v = parse_int(f[k], k)
        if v < 0:
            raise AnswerError(f"{k}: a count cannot be negative")
        out[k] = v
    return out


def check(inst: Instance, text: str) -> Feedback:
    data = inst.data
    keys = data["keys"]
    try:
        got = parse(text, keys)
    except AnswerError as e:
        return Feedback(False, f"I could not read your answer: {e}. Write it as "
                        f"{inst.answer_format}.")
    want = data["want"]
    if got == want:
        return Feedback(True, f"Correct: {fmt(want)}.")
    k = next(k for k in keys if got[k] != want[k])
    msg = f"{k}: you wrote {got[k]}, but the run makes {want[k]}: {data['why'][k]}."
    other = "patched" if data["mode"] == "baseline" else "baseline"
    if got[k] == data["other_mode"][k]:
        msg += f" ({got[k]} is what {other} mode costs; this run is in {data['mode']} mode.)"
    elif data["other_arch"] and got[k] == data["other_arch"][k]:
        msg += (f" ({got[k]} is what x86_64 costs; on arm64 the CONT bit changes the "
                "count.)")
    return Feedback(False, msg)


def wrong_answers(inst: Instance) -> dict[str, str]:
    data = inst.data
    want = data["want"]
    out = {}
    if data["other_mode"] != want:
        out["the other mode"] = fmt(data["other_mode"])
    if data["other_arch"] and data["other_arch"] != want:
        out["x86_64 numbers"] = fmt(data["other_arch"])
    if want["barriers"]:
        out["one barrier per share call"] = fmt({**want, "barriers": want["barriers"] // 2})
    out["one TLB operation per page"] = fmt({**want, "tlb": 1 << inst.params["order"]})
    if "ptep_get" in want:
        out["off by one"] = fmt({**want, "ptep_get": want["ptep_get"] + 1})
    return distinct(out, inst.answer)
