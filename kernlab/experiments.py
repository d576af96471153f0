"""The experiments: drive the kernel (a probe in a child process), build the equivalent simcore
scenario, run it, and compare field by field.

Each experiment returns an `Outcome`: ``agree``, ``disagree`` (with the fields that differ) or
``skipped`` (with the requirement that is missing). A missing requirement is never a pass.
Fields are compared with simcore; a few facts about what happens *before* `try_to_unmap()`
(MADV_PAGEOUT skipping or splitting a folio) have no simcore counterpart and are compared with
what mm/madvise.c says instead — their ``source`` says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from kernlab import simcompare, worker
from kernlab.env import Env, Settings, Unavailable
from kernlab.pagemap import kinds_summary
from kernlab.probes import MEMCG_PASSES, PAGE

FOLIO = 64 * 1024


class Skip(Exception):
    """The experiment cannot run here; the message says why."""


@dataclass
class Field:
    name: str
    kernel: object
    simcore: object
    source: str = "simcore"

    @property
    def agree(self) -> bool:
        return self.kernel == self.simcore


@dataclass
class Outcome:
    name: str
    title: str
    status: str = "skipped"          # agree | disagree | skipped
    reason: str = ""
    fields: list[Field] = field(default_factory=list)
    scenarios: list[dict] = field(default_factory=list)
    kernel: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)

    def line(self) -> str:
        if self.status == "agree":
            n = len(self.fields)
            extra = f"; {self.reason}" if self.reason else ""
            return f"{self.name}: agree ({n} field{'s' * (n != 1)}{extra})"
        if self.status == "disagree":
            diffs = "; ".join(f"{f.name}: kernel {f.kernel} vs {f.source} {f.simcore}"
                              for f in self.fields if not f.agree)
            return f"{self.name}: disagree: {diffs or self.reason}"
        return f"{self.name}: skipped: {self.reason}"

    def as_dict(self) -> dict:
        d = asdict(self)
        for f, fd in zip(self.fields, d["fields"], strict=True):
            fd["agree"] = f.agree
        return d


class Lab:
    """What the experiments may use: the environment, the settings (only with --setup) and the
    simcore mode the kernel was found to run."""

    def __init__(self, env: Env, settings: Settings | None = None, mode: str = "baseline"):
        self.env = env
        self.settings = settings
        self.mode = mode
        self.mode_detected = False

    # requirements -----------------------------------------------------------------------------
    def _setting(self, what: str, fn, *args):
        if self.settings is None:
            raise Skip(f"needs {what} (run as root with --setup)")
        try:
            return fn(*args)
        except Unavailable as e:
            raise Skip(str(e)) from None

    def folio(self, size: int) -> None:
        """Make MADV_HUGEPAGE'd memory get folios of ``size`` bytes, or skip."""
        if self.settings is not None:
            self._setting("the mTHP size", self.settings.mthp_only, size, self.env)
        elif size > PAGE and size not in self.env.usable_sizes():
            raise Skip(f"{size // 1024}K mTHP is not enabled (choosing it needs root and --setup)")
        elif size > PAGE and any(s < size for s in self.env.usable_sizes()):
            pass  # a smaller enabled size may be used instead; the probe checks what it got
        elif size == PAGE and "always" in (self.env.thp_enabled,):
            raise Skip("THP is 'always': small pages cannot be asked for without --setup")

    def ready(self, size: int) -> None:
        """Folios of ``size`` and swap, or skip."""
        self.folio(size)
        self.swap()

    def swap(self) -> None:
        if self.settings is not None:
            if not self.settings.swap_dev:
                self._setting("swap", self.settings.zram_swap, self.env)
            return
        if not self.env.swaps:
            raise Skip("no swap (root with --setup adds zram swap)")
        if not any(s["name"].startswith("/dev/zram") for s in self.env.swaps):
            raise Skip("only non-zram swap here, which may split large folios before swap-out "
                       "(root with --setup adds zram)")

    def tracer(self) -> str:
        return self._setting("a tracefs instance", self.settings.trace_instance
                             if self.settings else None)

    def memcg(self) -> tuple[str, int]:
        return self._setting("a memory cgroup", self.settings.memory_cgroup
                             if self.settings else None, self.env)

    def sizes(self) -> list[int]:
        return self.env.mthp_sizes


# -- helpers ------------------------------------------------------------------------------------
def _probe(fn, *args, **kw) -> dict:
    try:
        out = worker.run(fn, *args, **kw)
    except worker.ProbeError as e:
        raise Skip(f"the probe failed: {e}") from None
    if isinstance(out, dict) and "skip" in out:
        raise Skip(out["skip"])
    return out


def _order(size: int) -> int:
    return (size // PAGE).bit_length() - 1


def _rel_slots(s: list[dict]) -> list[int | None]:
    """Swap slot of each page relative to the first page's (None where not a swap PTE)."""
    offs = [p["off"] for p in s]
    base = offs[0] if s and s[0]["kind"] == "swap" else None
    return [o - base if o is not None and base is not None else None for o in offs]


def _slots_text(rel: list[int | None], aligned: bool | None) -> str:
    if all(r is None for r in rel):
        return "no swap slots"
    if rel == list(range(len(rel))):
        return "consecutive" + ("" if aligned is None else
                                ", first aligned" if aligned else ", first NOT aligned")
    return f"offsets {rel}"


def _folio_slots(s: list[dict], nr: int) -> str:
    base = s[0]["off"] if s and s[0]["kind"] == "swap" else None
    aligned = None if base is None else base % nr == 0
    return _slots_text(_rel_slots(s), aligned)


def _sim_slots(v: simcompare.SimView, mm: str, nr: int) -> str:
    base = v.first_slot()
    return _slots_text(v.slots(mm), None if base is None else base % nr == 0)


def _deltas(region_pair: list[dict], nfolios: int = 1) -> tuple[int, int]:
    r0, r1 = region_pair
    kb = PAGE // 1024
    return ((r1["anon_kb"] - r0["anon_kb"]) // kb // nfolios,
            (r1["swap_kb"] - r0["swap_kb"]) // kb // nfolios)


def _per_folio(snapshot: list[dict], nr: int) -> list[list[dict]]:
    return [snapshot[i:i + nr] for i in range(0, len(snapshot), nr)]


def _passes(n) -> str:
    return f"{n} pass" if n == 1 else f"{n} passes"


def _counts_text(counts: list[int]) -> str:
    if counts and all(c == counts[0] for c in counts):
        return f"{counts[0]} on each of {len(counts)} slots"
    return str(counts)


def _same(values: list):
    """The common value of every folio, or the list when they differ."""
    return values[0] if all(v == values[0] for v in values) else values


def _verdict(o: Outcome) -> Outcome:
    o.status = "agree" if o.fields and all(f.agree for f in o.fields) else "disagree"
    return o


def _single_mm_scenario(name: str, size: int, addr: int, vmas, pfn, *, write=True,
                        dirty=True, young=True, swapbacked=True, exclusive=None,
                        runs=None, arch=None, description="") -> dict:
    nr = size // PAGE
    ptes = runs or [{"mm": "task", "addr": addr, "page": 0, "nr": nr, "write": write,
                     "dirty": dirty, "young": young}]
    return simcompare.scenario(name, _order(size), {"task": vmas}, ptes, pfn=pfn,
                               swapbacked=swapbacked, dirty=dirty, exclusive=exclusive,
                               arch=arch, description=description)


def _vmas_of(out: dict) -> list[tuple[int, int]]:
    return [tuple(v) for v in out["region"][0]["vmas"]]


# -- the experiments ----------------------------------------------------------------------------
def exp_mode(lab: Lab) -> Outcome:
    o = Outcome("mode", "Which mode the running kernel is in (kmem:rss_stat per 64K folio)")
    nf = 8
    lab.ready(FOLIO)
    tr = lab.tracer()
    sb = _probe(_probe_fn("probe_swapout"), FOLIO, nf, lab.sizes(), tr)
    lz = _probe(_probe_fn("probe_swapout"), FOLIO, nf, lab.sizes(), tr, True)
    n = FOLIO // PAGE

    def per_folio(out):
        return sum(1 for name, f in out["events"] if name == "rss_stat"
                   and f.get("type") in ("MM_ANONPAGES", "MM_SWAPENTS")) / nf

    k = (per_folio(sb), per_folio(lz))
    addr = sb["addr"]
    vmas = [(addr, addr + FOLIO)]
    s_sb = _single_mm_scenario("64K swap-backed folio, MADV_PAGEOUT", FOLIO, addr, vmas, None)
    s_lz = _single_mm_scenario("64K lazyfree folio, MADV_PAGEOUT", FOLIO, addr, vmas, None,
                               dirty=False, young=False, swapbacked=False)
    sig = {}
    for m in ("per-pte", "baseline", "patched"):
        sig[m] = (simcompare.SimView(simcompare.run(s_sb, m), s_sb).rss_updates(),
                  simcompare.SimView(simcompare.run(s_lz, m), s_lz).rss_updates())
    match = [m for m, s in sig.items() if s == k]
    o.scenarios = [s_sb, s_lz]
    o.kernel = {"rss_stat_per_folio": {"swapbacked": k[0], "lazyfree": k[1]},
                "simcore_signatures": sig, "folios": nf, "pages_per_folio": n}
    o.fields = [Field("mode (rss_stat per folio: swap-backed, lazyfree)",
                      f"{k[0]:g}, {k[1]:g}",
                      f"{match[0]} {sig[match[0]][0]}, {sig[match[0]][1]}" if len(match) == 1
                      else "no single mode: " + "; ".join(f"{m} {a}, {b}"
                                                         for m, (a, b) in sig.items()))]
    if len(match) == 1:
        o.fields[0].simcore = o.fields[0].kernel
        o.reason = f"the kernel is {match[0]}"
        lab.mode, lab.mode_detected = match[0], True
        o.facts["mode"] = match[0]
        return _verdict(o)
    o.status = "disagree"
    o.reason = "no simcore mode has the kernel's rss_stat signature"
    return o


def _probe_fn(name):
    from kernlab import probes
    return getattr(probes, name)


def exp_swapout(lab: Lab, size: int) -> Outcome:
    label = f"{size // 1024}K"
    o = Outcome(f"swapout-{label}", f"MADV_PAGEOUT of {label} folios")
    lab.ready(size)
    nf = 4 if size < 2 * 1024 * 1024 else 2
    out = _probe(_probe_fn("probe_swapout"), size, nf, lab.sizes())
    return _compare_single(lab, o, out, size, nf, "the whole folio swapped out")[0]


def _compare_single(lab: Lab, o: Outcome, out: dict, size: int, nf: int, what: str,
                    **scn) -> tuple[Outcome, simcompare.SimView]:
    nr = size // PAGE
    folios = _per_folio(out["after"], nr)
    pfn = out["before"][0]["pfn"]
    scenario = _single_mm_scenario(f"{o.title} ({lab.mode})", size, out["addr"],
                                   _vmas_of(out), pfn, **scn)
    v = simcompare.SimView(simcompare.run(scenario, lab.mode), scenario)
    o.scenarios = [scenario]
    da, ds = _deltas(out["region"], nf)
    o.fields = [
        Field("unmapped", _same([all(p["kind"] != "present" for p in f) for f in folios]), v.ok),
        Field("PTEs per folio", _same([kinds_summary([p["kind"] for p in f]) for f in folios]),
              kinds_summary(v.kinds("task"))),
        Field("anon pages per folio (smaps Δ)", da, v.counter_deltas("task")[0]),
        Field("swap entries per folio (smaps Δ)", ds, v.counter_deltas("task")[1]),
    ]
    if lab.env.root and any(p["kind"] == "swap" for p in out["after"]):
        o.fields.append(Field("swap slots per folio", _same([_folio_slots(f, nr)
                                                              for f in folios]),
                              _sim_slots(v, "task", nr)))
    st = out.get("mthp", {}).get(str(size))
    if st is not None and v.ok and "swap" in v.kinds("task"):
        o.fields.append(Field("mTHP swpout / swpout_fallback / split",
                              f"{st.get('swpout', 0)} / {st.get('swpout_fallback', 0)} / "
                              f"{st.get('split', 0)}", f"{nf} / 0 / 0"))
    o.kernel = {k: out[k] for k in ("mthp", "vmstat", "region", "addr", "npages")
                if k in out}
    o.kernel["folios"] = nf
    o.reason = what
    return _verdict(o), v


def exp_lazyfree(lab: Lab) -> Outcome:
    o = Outcome("lazyfree", "MADV_FREE, then MADV_PAGEOUT: the lazyfree folio is discarded")
    lab.ready(FOLIO)
    nf = 4
    out = _probe(_probe_fn("probe_swapout"), FOLIO, nf, lab.sizes(), None, True)
    o, v = _compare_single(lab, o, out, FOLIO, nf, "", dirty=False, young=False,
                           swapbacked=False)
    # simcore: the pages its lazyfree discard removed from MM_ANONPAGES, for every folio
    o.fields.append(Field("pglazyfreed (vmstat Δ)", out["vmstat"].get("pglazyfreed", 0),
                          -v.counter_deltas("task")[0] * nf))
    o.reason = "PTEs none, nothing swapped"
    return _verdict(o)


def exp_lazyfree_redirty(lab: Lab) -> Outcome:
    o = Outcome("lazyfree-redirtied",
                "MADV_FREE, one byte rewritten, MADV_PAGEOUT twice")
    lab.ready(FOLIO)
    nf, nr, page = 2, FOLIO // PAGE, 5
    out = _probe(_probe_fn("probe_swapout"), FOLIO, nf, lab.sizes(), None, True, page)
    addr, pfn = out["addr"], out["before"][0]["pfn"]
    runs = [{"mm": "task", "addr": addr, "page": 0, "nr": page, "dirty": False, "young": False},
            {"mm": "task", "addr": addr + page * PAGE, "page": page, "nr": 1, "dirty": True,
             "young": True},
            {"mm": "task", "addr": addr + (page + 1) * PAGE, "page": page + 1,
             "nr": nr - page - 1, "dirty": False, "young": False}]
    s1 = _single_mm_scenario("redirtied lazyfree folio, first MADV_PAGEOUT", FOLIO, addr,
                             _vmas_of(out), pfn, swapbacked=False, dirty=False, runs=runs)
    v1 = simcompare.SimView(simcompare.run(s1, lab.mode), s1)
    # second pass: the folio is swap-backed and dirty again, its PTEs as they were
    s2 = _single_mm_scenario("redirtied lazyfree folio, second MADV_PAGEOUT", FOLIO, addr,
                             _vmas_of(out), pfn, swapbacked=True, dirty=True, runs=runs)
    v2 = simcompare.SimView(simcompare.run(s2, lab.mode), s2)
    o.scenarios = [s1, s2]
    f1 = _per_folio(out["after"], nr)
    f2 = _per_folio(out["second"]["after"], nr)
    fl = out["after_flags"]
    o.fields = [
        Field("first pass: unmapped", _same([all(p["kind"] != "present" for p in f)
                                             for f in f1]), v1.ok),
        Field("first pass: PTEs", _same([kinds_summary([p["kind"] for p in f]) for f in f1]),
              kinds_summary(v1.kinds("task"))),
        Field("first pass: anon pages per folio (smaps Δ)", _deltas(out["region"], nf)[0],
              v1.counter_deltas("task")[0]),
        Field("second pass: PTEs", _same([kinds_summary([p["kind"] for p in f]) for f in f2]),
              kinds_summary(v2.kinds("task"))),
        Field("second pass: swap entries per folio (smaps Δ)",
              _deltas(out["second"]["region"], nf)[1], v2.counter_deltas("task")[1]),
    ]
    if lab.env.root and fl and fl[0] is not None:
        o.fields.insert(3, Field("first pass: folio swap-backed again",
                                 _same([fl[i * nr]["swapbacked"] for i in range(nf)]),
                                 bool(v1.out["folio"].get("swapbacked"))))
    o.kernel = {"vmstat": out["vmstat"], "mthp": out["mthp"]}
    return _verdict(o)


def exp_fork(lab: Lab) -> Outcome:
    o = Outcome("fork", "Folio shared after fork: MADV_PAGEOUT skips it, memcg reclaim swaps it")
    lab.ready(FOLIO)
    nr = FOLIO // PAGE
    try:
        cg = lab.memcg()
    except Skip:
        cg = None
    out = _probe(_probe_fn("probe_fork"), FOLIO, 1, cg, memcg=cg)
    ap = out["after_pageout"]
    skipped = all(p["kind"] == "present" for mm in ap.values() for p in mm)
    o.fields = [Field("MADV_PAGEOUT of a shared folio", "skipped" if skipped else "paged out",
                      "skipped", "mm/madvise.c")]
    o.kernel = {"after_pageout": {mm: kinds_summary([p["kind"] for p in s])
                                  for mm, s in ap.items()}}
    if cg is None:
        o.reason = "memcg reclaim not run: needs a memory cgroup (root with --setup)"
        return _verdict(o)
    addr, pfn = out["addr"], out["before"]["parent"][0]["pfn"]
    vmas = [tuple(v) for v in out["region"]["parent"][0]["vmas"]]
    scn = simcompare.scenario(
        "64K folio shared by parent and child after fork, memcg reclaim", _order(FOLIO),
        {"parent": vmas, "child": vmas},
        [{"mm": "parent", "addr": addr, "page": 0, "nr": nr, "write": False, "dirty": True,
          "young": True},
         {"mm": "child", "addr": addr, "page": 0, "nr": nr, "write": False, "young": True}],
        pfn=pfn, exclusive="N" * nr)
    v = simcompare.SimView(simcompare.run(scn, lab.mode), scn)
    o.scenarios = [scn]
    after = out["after"]
    counts: dict[int, int] = {}
    for s in after.values():
        for p in s:
            if p["kind"] == "swap":
                counts[p["off"]] = counts.get(p["off"], 0) + 1
    base = after["parent"][0]["off"] if after["parent"][0]["kind"] == "swap" else None
    k_counts = [counts.get(base + i, 0) for i in range(nr)] if base is not None else []
    o.fields.append(Field("memcg reclaim: unmapped",
                          not any(p["kind"] == "present" for s in after.values() for p in s),
                          v.ok))
    for mm in ("parent", "child"):
        o.fields.append(Field(f"{mm} PTEs", kinds_summary([p["kind"] for p in after[mm]]),
                              kinds_summary(v.kinds(mm))))
        da, ds = _deltas(out["region"][mm])
        sa, ss = v.counter_deltas(mm)
        o.fields.append(Field(f"{mm} anon/swap pages (smaps Δ)", f"{da}/{ds}", f"{sa}/{ss}"))
    if lab.env.root:
        o.fields.append(Field("swap count per slot (PTEs naming it)", _counts_text(k_counts),
                              _counts_text(v.out["swap_counts"])))
        o.fields.append(Field("parent slots", _folio_slots(after["parent"], nr),
                              _sim_slots(v, "parent", nr)))
        o.fields.append(Field("child names the parent's slots",
                              [p["off"] for p in after["child"]] ==
                              [p["off"] for p in after["parent"]],
                              v.slots("child") == v.slots("parent")))
    o.kernel["memcg_passes"] = out.get("passes")
    if out.get("passes") == -1:
        raise Skip(f"MADV_PAGEOUT {o.fields[0].kernel}; memory-cgroup reclaim left the shared "
                   f"folio mapped after {MEMCG_PASSES} passes")
    o.reason = f"memcg reclaim, {_passes(out['passes'])}"
    return _verdict(o)


def exp_half_exclusive(lab: Lab) -> Outcome:
    o = Outcome("half-exclusive",
                "fork, child exits, parent rewrites 0/8/16 pages: swap-in whole or one page")
    lab.ready(FOLIO)
    nr = FOLIO // PAGE
    patterns = [0, nr // 2, nr]
    out = _probe(_probe_fn("probe_half_exclusive"), FOLIO, patterns, lab.sizes())
    o.kernel = {"patterns": patterns}
    for i, k in enumerate(patterns):
        before = out["before"][i * nr:(i + 1) * nr]
        addr = out["addr"] + i * FOLIO
        excl = "E" * k + "N" * (nr - k)
        runs = [r for r in (
            {"mm": "task", "addr": addr, "page": 0, "nr": k, "write": True, "dirty": True,
             "young": True} if k else None,
            {"mm": "task", "addr": addr + k * PAGE, "page": k, "nr": nr - k, "write": False,
             "dirty": True, "young": True} if k < nr else None) if r]
        scn = _single_mm_scenario(f"64K folio, {k} of {nr} pages exclusive again", FOLIO, addr,
                                  [(out["addr"], out["addr"] + len(patterns) * FOLIO)],
                                  before[0]["pfn"], exclusive=excl, runs=runs)
        v = simcompare.SimView(simcompare.run(scn, lab.mode), scn)
        o.scenarios.append(scn)
        swapped = out["swapped"][i * nr:(i + 1) * nr]
        o.fields.append(Field(f"{excl}: PTEs after MADV_PAGEOUT",
                              kinds_summary([p["kind"] for p in swapped]),
                              kinds_summary(v.kinds("task"))))
        pr = out["swapin"][i]
        whole = pr["mthp"].get(str(FOLIO), {}).get("swpin", 0) == 1
        present = sum(p["kind"] == "present" for p in pr["after"])
        kernel = ("whole folio" if whole and present == nr else
                  "one page" if not whole and present == 1 else
                  f"{present} pages, mTHP swpin {pr['mthp'].get(str(FOLIO), {})}")
        markers = v.swap_markers("task")
        sim = ("whole folio" if markers and len(set(markers)) == 1 and len(markers) == nr
               else "one page")
        o.fields.append(Field(f"{excl}: swap-in (same exclusive marker on all swap PTEs)",
                              kernel, sim))
    o.reason = "swap PTE exclusive markers seen through the swap-in"
    return _verdict(o)


LAYOUT_TITLES = {
    "mprotect": "folio cut into three VMAs by mprotect (memcg reclaim)",
    "unaligned": "folio moved to an unaligned address by mremap (MADV_PAGEOUT)",
    "pmd": "folio straddling a PMD boundary after mremap (memcg reclaim)",
    "midfolio": "folio's second half moved by mremap: a walk starting mid-folio (memcg reclaim)",
}


def exp_layout(lab: Lab, layout: str) -> Outcome:
    o = Outcome(f"layout-{layout}", LAYOUT_TITLES[layout])
    lab.ready(FOLIO)
    nr = FOLIO // PAGE
    cg = None if layout == "unaligned" else lab.memcg()
    out = _probe(_probe_fn("probe_layout"), FOLIO, layout, cg, lab.sizes(), memcg=cg)
    if out.get("passes") == -1:
        raise Skip(f"memory-cgroup reclaim left the folio mapped after {MEMCG_PASSES} passes "
                   f"(VMAs {len(out['vmas'])}): try_to_unmap() was not reached comparably")
    pfn = out["before"][0][0]["pfn"]
    runs = [{"mm": "task", "addr": a, "page": first, "nr": k, "write": not ro, "dirty": True,
             "young": True} for a, first, k, ro in out["pieces"]]
    scn = simcompare.scenario(f"64K {LAYOUT_TITLES[layout]}", _order(FOLIO),
                              {"task": [tuple(v) for v in out["vmas"]]}, runs, pfn=pfn)
    v = simcompare.SimView(simcompare.run(scn, lab.mode), scn)
    o.scenarios = [scn]
    after = [p for s in out["after"] for p in s]
    # simcore lists PTEs by address; the kernel's pieces are in folio-page order
    by_addr = sorted(zip([a + i * PAGE for a, _, k, _ in out["pieces"] for i in range(k)],
                         after, strict=True))
    k_sorted = [p for _, p in by_addr]
    o.fields = [
        Field("unmapped", not any(p["kind"] == "present" for p in after), v.ok),
        Field("PTEs", kinds_summary([p["kind"] for p in k_sorted]),
              kinds_summary(v.kinds("task"))),
    ]
    da = sum(r["anon_kb"] for r in out["region"][1]) - sum(r["anon_kb"] for r in out["region"][0])
    ds = sum(r["swap_kb"] for r in out["region"][1]) - sum(r["swap_kb"] for r in out["region"][0])
    sa, ss = v.counter_deltas("task")
    o.fields.append(Field("anon/swap pages (smaps Δ)", f"{da // (PAGE // 1024)}/"
                          f"{ds // (PAGE // 1024)}", f"{sa}/{ss}"))
    if lab.env.root and all(p["kind"] == "swap" for p in after):
        o.fields.append(Field("swap slots in folio-page order", _folio_slots(after, nr),
                              _slots_text(
                                  [p["swp_offset"] - v.first_slot() for p in sorted(
                                      v.ptes("task"), key=lambda p: p["page"])],
                                  v.first_slot() % nr == 0)))
    st = out["mthp"].get(str(FOLIO), {})
    if v.ok:
        o.fields.append(Field("mTHP swpout / split", f"{st.get('swpout', 0)} / "
                              f"{st.get('split', 0)}", "1 / 0"))
    o.kernel = {"how": out["how"], "passes": out.get("passes"), "vmas": out["vmas"],
                "mthp": out["mthp"]}
    o.reason = out["how"].replace("madv_pageout", "MADV_PAGEOUT").replace(
        "memcg", f"memcg reclaim, {_passes(out.get('passes'))}")
    return _verdict(o)


def exp_uffd_wp(lab: Lab) -> Outcome:
    o = Outcome("uffd-wp", "userfaultfd write-protect bits carried into swap PTEs")
    lab.ready(FOLIO)
    nf, nr = 2, FOLIO // PAGE
    out = _probe(_probe_fn("probe_uffd_wp"), FOLIO, nf)
    addr = out["addr"]
    runs = [{"mm": "task", "addr": addr, "page": 0, "nr": nr, "write": False, "dirty": True,
             "young": True, "uffd_wp": True}]
    scn = _single_mm_scenario("64K folio write-protected by userfaultfd, MADV_PAGEOUT", FOLIO,
                              addr, _vmas_of(out), out["before"][0]["pfn"], runs=runs)
    v = simcompare.SimView(simcompare.run(scn, lab.mode), scn)
    o.scenarios = [scn]
    folios = _per_folio(out["after"], nr)
    before = _per_folio(out["before"], nr)
    o.fields = [
        Field("uffd-wp before", _same([kinds_summary(["wp" if p["uffd_wp"] else "no wp"
                                                      for p in f]) for f in before]),
              kinds_summary(["wp"] * nr), "the setup"),
        Field("PTEs", _same([kinds_summary([p["kind"] for p in f]) for f in folios]),
              kinds_summary(v.kinds("task"))),
        Field("uffd-wp on the swap PTEs", _same([kinds_summary(["wp" if p["uffd_wp"] else "no wp"
                                                                for p in f]) for f in folios]),
              kinds_summary(["wp" if w else "no wp" for w in v.uffd_wp("task")])),
    ]
    return _verdict(o)


def exp_tlb(lab: Lab) -> Outcome:
    o = Outcome("tlb-one-cpu", "TLB flushes of a process that ran on one CPU only")
    if lab.env.machine != "x86_64":
        raise Skip(f"x86_64 only (an x86 flush policy); this is {lab.env.machine}")
    lab.ready(FOLIO)
    tr = lab.tracer()
    nf = 4
    out = good = None
    # Up to three passes: one that saw a remote flush (the mm reached a second CPU) is no
    # measurement of this case at all; one whose flush count is not a whole number per folio
    # caught an unrelated flush in its window (seen once in CI on a busy machine: 65 for 64
    # PTEs) and is measured again. The last pass is compared as it is, whatever it shows.
    for _attempt in range(3):
        out = _probe(_probe_fn("probe_swapout"), FOLIO, nf, lab.sizes(), tr, one_cpu=True)
        reasons = [f.get("reason") for n, f in out["events"] if n == "tlb_flush"]
        if any("remote" in (r or "") for r in reasons):
            continue
        good = out
        if len(reasons) % nf == 0:
            break
    if good is None:
        raise Skip("the process kept a second CPU in its mm_cpumask (remote flushes seen)")
    out = good
    flushes = [f for n, f in out["events"] if n == "tlb_flush"]
    scn = _single_mm_scenario("64K folio, process on one CPU (no deferred flush)", FOLIO,
                              out["addr"], _vmas_of(out), out["before"][0]["pfn"],
                              arch={"name": "x86_64", "defer_flush": False})
    v = simcompare.SimView(simcompare.run(scn, lab.mode), scn)
    o.scenarios = [scn]
    by_reason: dict[str, int] = {}
    for f in flushes:
        by_reason[f["reason"]] = by_reason.get(f["reason"], 0) + 1
    c = v.out["costs"]
    o.fields = [Field("TLB flushes per folio", len(flushes) / nf, c["tlb_flushes"]),
                Field("deferred flushes per folio", 0, c["tlb_deferred"])]
    o.kernel = {"flushes_by_reason": by_reason, "folios": nf}
    o.reason = ", ".join(f"{n} × {r}" for r, n in by_reason.items())
    return _verdict(o)


# -- the list -----------------------------------------------------------------------------------
def plan(lab: Lab) -> list[tuple[str, object]]:
    """(name, thunk) of every state experiment, mode detection first."""
    items: list[tuple[str, object]] = [("mode", lambda: exp_mode(lab))]
    for size in [PAGE, *lab.env.mthp_sizes]:
        items.append((f"swapout-{size // 1024}K", lambda s=size: exp_swapout(lab, s)))
    items += [("lazyfree", lambda: exp_lazyfree(lab)),
              ("lazyfree-redirtied", lambda: exp_lazyfree_redirty(lab)),
              ("fork", lambda: exp_fork(lab)),
              ("half-exclusive", lambda: exp_half_exclusive(lab))]
    for layout in LAYOUT_TITLES:
        items.append((f"layout-{layout}", lambda x=layout: exp_layout(lab, x)))
    items += [("uffd-wp", lambda: exp_uffd_wp(lab)), ("tlb-one-cpu", lambda: exp_tlb(lab))]
    return items


def run_one(name: str, thunk, title: str = "") -> Outcome:
    try:
        return thunk()
    except Skip as e:
        return Outcome(name, title, "skipped", str(e))
    except simcompare.SimcoreError as e:
        return Outcome(name, title, "disagree", f"simcore: {e}")
