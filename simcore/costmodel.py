"""The cost model: from cost counters to an estimated kernel time, calibrated by code.

What it models: the time of the cover letter's measurement — `madvise(MADV_PAGEOUT)` over
256 MiB of 64 KiB anonymous folios, timed around the syscall — as

    T = nr_folios × (F_folio + F_4k × folio_bytes / 4096) + Σ_k w_k × counter_k

* ``F_folio`` / ``F_4k``: everything reclaim does per folio that `try_to_unmap_one()` does not
  (LRU isolation, `folio_alloc_swap()` and the swap-cache insert/delete, the zero-fill check the
  memset-to-0 pages hit instead of I/O, `try_to_unmap_flush()` drains, freeing). The series does
  not change it, so it is the same in both modes. Part of it scales with the folio's bytes (the
  zero check reads them all, the swap cache has an entry per page), hence a term per 4 KiB.
* ``w_k``: nanoseconds per counted operation (`simcore.costs.COUNTERS`): a prior value per
  architecture (`prior_weights()`, each with a one-line rationale) times a fitted multiplier.

Calibration (`calibrate()`): per architecture there are exactly two measurements (vanilla and
patched), so at most two numbers are identifiable — a level and a mode difference. The model fits
a small parameter vector θ of multipliers of the priors (prior value 1) by non-negative least
squares on *relative* error, regularised towards the priors (ridge of strength ``lam``, each
parameter scaled by its prior uncertainty `PRIOR_SIGMA`):

    minimise  Σ_i ((model_i(θ) − T_i) / T_i)²  +  lam × Σ_j ((θ_j − 1) / σ_j)²,   θ ≥ 0

solved as one NNLS problem on the augmented system (Lawson–Hanson, `nnls()`, plain Python:
the systems are a few rows by at most nine columns).

The default design (``"scale"``) has three parameters per arch: F_folio, F_4k and *one* scale
on all per-operation priors. The mode difference fixes the scale, the level fixes the fixed
cost, and the prior only splits the fixed cost into its per-folio and per-4-KiB parts, so the
four measurements are met to a few ppm. The relative weights of the operations are the priors'
— the data cannot say more. The alternative design (``"groups"``: one multiplier per counter
group) looks richer but is not better identified: with the mode difference to explain and
nothing else, the ridge pushes the groups with the largest, least certain contributions
(e.g. x86 TLB and call costs) towards zero rather than scaling all operations alike, and fits
the measurements only as ``lam`` → 0. It is kept as a variant in `sensitivity()`, which shows
how much the conclusions move when priors, the design or ``lam`` change.

The counters come from simulating the workload (`simcore.workload`); since every folio of it
costs the same, they are simulated for a few folios and extrapolated exactly
(`workload_counters()`; tests check this against a full run).

sparc64 has no measurement: its weights are the fitted x86_64 ones times `SPARC64_SCALE`, plus
prior-only weights for `arch_unmap_one()`/ADI; the calibration flags it as uncalibrated.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simcore.arch import X86_TLB_CASES
from simcore.costs import COUNTERS, Costs

# -- the measurements (the series' cover letters) -------------------------------------------
WORKLOAD_SIZE = 256 << 20
WORKLOAD_FOLIO = 64 << 10


@dataclass(frozen=True)
class Measurement:
    arch: str
    mode: str                 # simcore mode: "baseline" = vanilla kernel, "patched" = the series
    ns: float
    rel_sd: float             # reported relative standard deviation of the runs
    source: str


MEASUREMENTS: tuple[Measurement, ...] = (
    Measurement("arm64", "baseline", 37_401_913, 0.12, "v2/v4 cover letter, Linux VM on Apple M3"),
    Measurement("arm64", "patched", 17_420_282, 0.11, "v2/v4 cover letter, Linux VM on Apple M3"),
    Measurement("x86_64", "baseline", 54_986_286, 0.015, "v2/v4 cover letter, bare-metal x86"),
    Measurement("x86_64", "patched", 51_930_795, 0.03, "v2/v4 cover letter, bare-metal x86"),
)
#: v1 cover letter, arm64, machine not stated, "one of the middle values": used only to check
#: the predicted speed-up ratio out of sample.
V1_ARM64 = {"baseline": 52_192_959, "patched": 26_676_625}

CALIBRATED_ARCHES = ("arm64", "x86_64")
#: sparc64 is not measured: x86_64's fitted weights times this (slower, lower-IPC cores).
SPARC64_SCALE = 2.0

# -- counter groups and prior weights ---------------------------------------------------------
GROUPS: dict[str, tuple[str, ...]] = {
    "walk": ("iterations", "walk_steps", "pgtable_walks", "check_pte", "batches", "sub_batches"),
    "pte": ("ptep_get", "pte_reads", "pte_writes"),
    "contpte": ("contpte_unfolds", "contpte_folds", "tlbi_unfold"),
    "tlb": ("tlb_deferred", "tlb_flushes", "tlb_pages"),
    "sync": ("barriers", "atomic_mm", "atomic_mapcount", "atomic_refcount", "atomic_swap"),
    "calls": ("dup_calls", "put_swap_calls", "share_calls", "rmap_calls", "put_refs_calls"),
    "arch": ("arch_unmap_one_calls", "adi_tag_saves"),
}
GROUP_OF: dict[str, str] = {c: g for g, cs in GROUPS.items() for c in cs}
#: The fitted parameters per design: the fixed-cost terms, then the operation multipliers.
DESIGNS: dict[str, tuple[str, ...]] = {
    "scale": ("fixed_folio", "fixed_4k", "ops"),
    "groups": ("fixed_folio", "fixed_4k", *GROUPS),
}
DEFAULT_DESIGN = "scale"


def param_of(counter: str, design: str) -> str:
    """Which fitted multiplier scales ``counter``'s prior weight."""
    return "ops" if design == "scale" else GROUP_OF.get(counter, "walk")

#: Prior ns per counted operation: (arm64 = Linux VM on Apple M3, x86_64 = bare metal, reason).
_PRIOR_TABLE: dict[str, tuple[float, float, str]] = {
    "iterations": (15, 15, "loop body of try_to_unmap_one: flag tests, branches, a few calls"),
    "walk_steps": (2, 2, "next_pte in page_vma_mapped_walk: pointer and address step"),
    "pgtable_walks": (40, 40, "pgd→pmd descent plus pte_offset_map_lock (PTL spin lock/unlock)"),
    "check_pte": (2, 2, "check_pte: a pfn range compare"),
    "batches": (5, 5, "folio_unmap_pte_batch call and flush_cache_range (no-op here)"),
    "sub_batches": (5, 5, "per unit of swap work: swp_pte_prepare, mmlist test, branches"),
    "ptep_get": (2, 1, "ptep_get call: arm64 out-of-line contpte check; x86 inline READ_ONCE"),
    "pte_reads": (1, 1, "raw PTE load, L1 hit (the first miss per line is in the fixed cost)"),
    "pte_writes": (4, 5, "PTE store; clears are xchg (arm64 LSE SWP, x86 locked XCHG)"),
    "contpte_unfolds": (30, 30, "contpte_convert bookkeeping beyond its counted loads/stores"),
    "contpte_folds": (30, 30, "the same for a fold on restore"),
    "tlbi_unfold": (800, 800, "arm64 break-before-make: TLBI IS + DSB ISH, waits for all CPUs"),
    "tlb_deferred": (200, 30, "arm64: broadcast TLBI issued now, DSB later; x86: cpumask OR + "
                              "tlb_gen atomic"),
    "tlb_flushes": (1000, 300, "flush_tlb_range now: TLBI + DSB ISH; x86 INVLPG + IPIs"),
    "tlb_pages": (5, 0.5, "per page of a TLB range (per-page TLBI without range ops); x86 ~0"),
    "barriers": (10, 3, "arm64 DMB ISH; x86 smp_mb is a locked op, smp_mb__after_atomic free"),
    "atomic_mm": (3, 3, "rss counters are percpu counters: a this_cpu add, not a RMW"),
    "atomic_mapcount": (5, 6, "atomic RMW on the folio's cache line (LSE LDADD / LOCK XADD)"),
    "atomic_refcount": (5, 6, "atomic RMW (folio_ref_sub_and_test)"),
    "atomic_swap": (3, 3, "swap count byte update under the cluster lock (not atomic)"),
    "dup_calls": (40, 40, "folio_dup_swap: swap cluster lookup, lock/unlock, call chain"),
    "put_swap_calls": (40, 40, "folio_put_swap: the same, decrementing"),
    "share_calls": (5, 5, "folio_try_share_anon_rmap_pte(s) beyond its counted barriers"),
    "rmap_calls": (40, 40, "folio_remove_rmap_ptes: mapcount logic, NR_ANON_MAPPED memcg stat, "
                           "partial-map check (deferred split)"),
    "put_refs_calls": (3, 3, "folio_put_refs beyond its counted atomic"),
    "arch_unmap_one_calls": (0, 0, "sparc64 only: arch_unmap_one call (prior for sparc64: 30)"),
    "adi_tag_saves": (0, 0, "sparc64 only: adi_save_tags, 128 ldxa per 8K page (prior 1000)"),
}
#: Prior fixed costs (ns): per folio, per 4 KiB of folio.
PRIOR_FIXED = {
    "arm64": (1500.0, 125.0),
    "x86_64": (2500.0, 280.0),
}
PRIOR_FIXED_WHY = (
    "per folio: LRU isolation, folio_alloc_swap + swap-cache insert/delete, try_to_unmap_flush "
    "share, freeing (~1.5 µs M3, ~2.5 µs x86 server core); per 4 KiB: the zero-fill check "
    "reads it (memset-0 pages skip I/O), a swap-cache entry, memcg — ~125 ns (M3 bandwidth) / "
    "~280 ns (x86 server core)")
SPARC64_PRIOR = {"arch_unmap_one_calls": 30.0, "adi_tag_saves": 1000.0}

#: Prior relative uncertainty σ_j of each parameter (larger = the fit may move it more cheaply).
PRIOR_SIGMA: dict[str, float] = {
    "fixed_folio": 0.5, "fixed_4k": 0.5, "ops": 1.0,
    "walk": 0.5, "pte": 0.5, "contpte": 1.0, "tlb": 1.0, "sync": 0.5, "calls": 0.5, "arch": 1.0,
}
SIGMA_WHY = ("the fixed costs are known within ~2× (σ=0.5); the overall per-operation scale "
             "(σ=1) is what the mode difference measures; in the 'groups' design TLB "
             "maintenance and contpte unfolds in a VM are the least known (σ=1), loads, "
             "stores, atomics and calls better (σ=0.5)")
#: Default regularisation strength: it only has to break the tie between the two fixed terms
#: (the tie-break is the same for any small lam; larger ones start to trade fit for prior).
DEFAULT_LAMBDA = 1e-6


def prior_weights(arch: str) -> dict[str, float]:
    """The prior ns per counter for ``arch`` ("arm64", "x86_64"; sparc64 derives from x86)."""
    col = {"arm64": 0, "x86_64": 1}[arch]
    # a counter added to simcore.costs after this table gets weight 0 (a test flags it)
    return {k: float(_PRIOR_TABLE[k][col]) if k in _PRIOR_TABLE else 0.0 for k in COUNTERS}


def prior_rationale() -> dict[str, str]:
    return {k: v[2] for k, v in _PRIOR_TABLE.items()}


# -- NNLS --------------------------------------------------------------------------------------
# The systems solved here are tiny (a few measurements plus one ridge row per parameter, at most
# nine parameters), so plain Python does them exactly enough and keeps simcore free of numpy:
# the model must run where numpy does not exist (a reader's browser).
Matrix = list[list[float]]


def lstsq(A: Matrix, b: list[float]) -> list[float]:
    """Least-squares solution of A x ≈ b for a tall A of full column rank (Householder QR).

    Sums go through `math.fsum`, so the result is the same on every Python version.
    """
    m, n = len(A), len(A[0]) if A else 0
    if m < n:
        raise ValueError("lstsq: fewer rows than columns")
    R = [list(map(float, row)) for row in A]
    y = list(map(float, b))
    for k in range(n):
        norm = math.sqrt(math.fsum(R[i][k] ** 2 for i in range(k, m)))
        if norm == 0.0:
            raise ValueError("lstsq: matrix is rank deficient")
        alpha = -norm if R[k][k] >= 0 else norm
        v = [0.0] * k + [R[k][k] - alpha] + [R[i][k] for i in range(k + 1, m)]
        vv = math.fsum(x * x for x in v[k:])
        if vv == 0.0:
            continue
        for j in range(k, n):
            f = 2.0 * math.fsum(v[i] * R[i][j] for i in range(k, m)) / vv
            for i in range(k, m):
                R[i][j] -= f * v[i]
        f = 2.0 * math.fsum(v[i] * y[i] for i in range(k, m)) / vv
        for i in range(k, m):
            y[i] -= f * v[i]
    x = [0.0] * n
    for k in range(n - 1, -1, -1):
        x[k] = (y[k] - math.fsum(R[k][j] * x[j] for j in range(k + 1, n))) / R[k][k]
    return x


def _matvec(A: Matrix, x: list[float]) -> list[float]:
    return [math.fsum(a * xi for a, xi in zip(row, x, strict=True)) for row in A]


def _gradient(A: Matrix, b: list[float], x: list[float]) -> list[float]:
    """Aᵀ(b − Ax): the negative gradient of ½‖Ax − b‖²."""
    r = [bi - ai for bi, ai in zip(b, _matvec(A, x), strict=True)]
    return [math.fsum(A[i][j] * r[i] for i in range(len(A))) for j in range(len(A[0]))]


def nnls(A: Matrix, b: list[float], max_iter: int | None = None,
         tol: float | None = None) -> list[float]:
    """Lawson–Hanson active-set solution of min ||Ax − b||₂ subject to x ≥ 0."""
    A = [list(map(float, row)) for row in A]
    b = list(map(float, b))
    m, n = len(A), len(A[0])
    if max_iter is None:
        max_iter = 30 * n
    if tol is None:
        tol = 10 * max(m, n) * sys.float_info.epsilon * max(1.0, max(abs(a) for r in A for a in r))
    x = [0.0] * n
    passive = [False] * n
    w = _gradient(A, b, x)
    it = 0
    while not all(passive) and max(w[j] for j in range(n) if not passive[j]) > tol:
        j = max((j for j in range(n) if not passive[j]), key=lambda j: w[j])
        passive[j] = True
        while True:
            it += 1
            if it > max_iter:
                raise RuntimeError("nnls: no convergence")
            idx = [j for j in range(n) if passive[j]]
            sol = lstsq([[row[j] for j in idx] for row in A], b)
            z = [0.0] * n
            for j, v in zip(idx, sol, strict=True):
                z[j] = v
            if all(z[j] > 0 for j in idx):
                x = z
                break
            alpha = min(x[j] / (x[j] - z[j]) for j in idx if z[j] <= 0)
            x = [xj + alpha * (zj - xj) for xj, zj in zip(x, z, strict=True)]
            passive = [p and xj > tol for p, xj in zip(passive, x, strict=True)]
            x = [xj if p else 0.0 for xj, p in zip(x, passive, strict=True)]
        w = _gradient(A, b, x)
    return x


# -- counters of the workload --------------------------------------------------------------------
@functools.lru_cache(maxsize=128)
def workload_counters(arch: str, mode: str, size: int = WORKLOAD_SIZE,
                      folio: int = WORKLOAD_FOLIO, page_size: int | None = None,
                      bbml2: bool = False, defer_flush: bool | None = None,
                      kind: str = "swapout") -> tuple[tuple[str, int], ...]:
    """The workload's summed counters, from a few simulated folios extrapolated exactly.

    Every folio of the workload is set up alike and unmapped alike, except the first, which
    also puts the mm on the swapoff mmlist: counters are affine in the folio count,
    c(n) = c(n₁) + (n − n₁)·(c(n₂) − c(n₁))/(n₂ − n₁). Returned as a tuple of pairs (cached).
    """
    from simcore import workload

    kw = {"kind": kind, "defer_flush": defer_flush}
    w = workload.build(size, folio, arch, page_size, bbml2, **kw)
    n = w.nr_folios
    n1, n2 = min(n, 4), min(n, 8)
    c1 = workload.counters(workload.build(n1 * folio, folio, arch, page_size, bbml2, **kw),
                           mode)
    if n1 == n:
        return tuple(c1.items())
    c2 = workload.counters(workload.build(n2 * folio, folio, arch, page_size, bbml2, **kw),
                           mode)
    out = {}
    for k in COUNTERS:
        step, rem = divmod(c2[k] - c1[k], n2 - n1)
        if rem:
            raise RuntimeError(f"counter {k} is not affine in the folio count")
        out[k] = c1[k] + (n - n1) * step
    return tuple(out.items())


def counters_dict(arch: str, mode: str, **kw) -> dict[str, int]:
    return dict(workload_counters(arch, mode, **kw))


# -- the calibration -----------------------------------------------------------------------------
@dataclass
class Calibration:
    """Fitted weights and fixed costs per arch, with everything needed to judge them."""

    weights: dict[str, dict[str, float]]          # arch -> counter -> ns per operation
    fixed_folio: dict[str, float]                 # arch -> ns per folio
    fixed_4k: dict[str, float]                    # arch -> ns per 4 KiB of a folio
    multipliers: dict[str, dict[str, float]]      # arch -> parameter -> fitted / prior
    design: str
    residuals: list[dict[str, Any]]               # one row per measurement
    table: list[dict[str, Any]]                   # measured vs model, with speed-ups
    calibrated: dict[str, bool]                   # False: no measurement (sparc64)
    lam: float
    out_of_sample: dict[str, Any]
    counters: dict[str, dict[str, dict[str, int]]]  # arch -> mode -> workload counters
    method: str = ""
    notes: list[str] = field(default_factory=list)
    x86_tlb: str = "defer"

    def fixed_per_folio(self, arch: str, folio_bytes: int = WORKLOAD_FOLIO) -> float:
        return self.fixed_folio[arch] + self.fixed_4k[arch] * folio_bytes / 4096

    def max_abs_residual_pct(self) -> float:
        return max(abs(r["residual_pct"]) for r in self.residuals)


METHOD = __doc__.split("Calibration (`calibrate()`):", 1)[1].split("sparc64 has no", 1)[0]


def _columns(counts: Mapping[str, int], nr_folios: int, folio_bytes: int,
             priors: Mapping[str, float], fixed: tuple[float, float],
             design: str) -> list[float]:
    """Contribution (ns) of each parameter at multiplier 1 for one run."""
    params = DESIGNS[design]
    col = [0.0] * len(params)
    col[0] = nr_folios * fixed[0]
    col[1] = nr_folios * folio_bytes / 4096 * fixed[1]
    for k, c in counts.items():
        col[params.index(param_of(k, design))] += priors[k] * c
    return col


def calibrate(lam: float = DEFAULT_LAMBDA, prior_scale: Mapping[str, float] | None = None,
              sigma: Mapping[str, float] | None = None, design: str = DEFAULT_DESIGN,
              measurements: tuple[Measurement, ...] = MEASUREMENTS,
              x86_tlb: str = "defer") -> Calibration:
    """Fit the model to the cover letter's measurements (see the module docstring).

    ``x86_tlb`` is the TLB case assumed for the x86 measurement: "defer" (the benchmark's mm
    had run on another CPU, one deferred flush per batch) or "immediate" (a one-CPU process:
    one `flush_tlb_range()` per unmap step, what a single-threaded run measured on 6.18). The
    cover letter does not say which; `x86_tlb_calibrations()` fits both.

    ``prior_scale`` multiplies priors before the fit (keys: ``"ops"`` for every per-operation
    weight, a group name of `GROUPS` for its weights, ``"fixed"`` for both fixed terms,
    ``"fixed_folio"`` / ``"fixed_4k"`` for one) — used by `sensitivity()`. ``sigma`` overrides
    `PRIOR_SIGMA` entries; ``design`` is ``"scale"`` or ``"groups"`` (see above).
    """
    if design not in DESIGNS:
        raise ValueError(f"design: choose one of {', '.join(DESIGNS)}")
    if x86_tlb not in X86_TLB_CASES:
        raise ValueError(f"x86_tlb: choose one of {', '.join(X86_TLB_CASES)}")
    params = DESIGNS[design]
    scale = dict(prior_scale or {})
    sig = {**PRIOR_SIGMA, **(sigma or {})}
    nr_folios = WORKLOAD_SIZE // WORKLOAD_FOLIO
    weights, ffolio, fpage, mults, residuals, table = {}, {}, {}, {}, [], []
    counters: dict[str, dict[str, dict[str, int]]] = {}
    for arch in CALIBRATED_ARCHES:
        pri = prior_weights(arch)
        for k in pri:
            pri[k] *= scale.get("ops", 1.0) * scale.get(GROUP_OF.get(k, ""), 1.0)
        fx = (PRIOR_FIXED[arch][0] * scale.get("fixed", 1.0) * scale.get("fixed_folio", 1.0),
              PRIOR_FIXED[arch][1] * scale.get("fixed", 1.0) * scale.get("fixed_4k", 1.0))
        rows = [m for m in measurements if m.arch == arch]
        tlb = {} if arch != "x86_64" else {"defer_flush": x86_tlb == "defer"}
        counters[arch] = {m.mode: counters_dict(arch, m.mode, **tlb) for m in rows}
        A = [_columns(counters[arch][m.mode], nr_folios, WORKLOAD_FOLIO, pri, fx, design)
             for m in rows]
        T = [float(m.ns) for m in rows]
        M = [[a / t for a in row] for row, t in zip(A, T, strict=True)]
        s = [sig[p] for p in params]
        # columns that no measurement touches (e.g. the arch group on arm64/x86) stay at prior
        ridge = [[math.sqrt(lam) / s[j] if i == j else 0.0 for j in range(len(params))]
                 for i in range(len(params))]
        aug_A = M + ridge
        aug_b = [1.0] * len(rows) + [math.sqrt(lam) / sj for sj in s]
        theta = nnls(aug_A, aug_b)
        mults[arch] = dict(zip(params, (float(t) for t in theta), strict=True))
        weights[arch] = {k: pri[k] * mults[arch][param_of(k, design)] for k in COUNTERS}
        ffolio[arch] = fx[0] * mults[arch]["fixed_folio"]
        fpage[arch] = fx[1] * mults[arch]["fixed_4k"]
        model = _matvec(A, theta)
        for m, y in zip(rows, model, strict=True):
            residuals.append({"arch": arch, "mode": m.mode, "measured_ns": m.ns,
                              "model_ns": float(y), "residual_ns": float(y - m.ns),
                              "residual_pct": float(100 * (y - m.ns) / m.ns),
                              "reported_sd_pct": 100 * m.rel_sd, "source": m.source})
    # sparc64: uncalibrated, x86 scaled
    weights["sparc64"] = {k: w * SPARC64_SCALE for k, w in weights["x86_64"].items()}
    for k, w in SPARC64_PRIOR.items():
        weights["sparc64"][k] = w
    ffolio["sparc64"] = ffolio["x86_64"] * SPARC64_SCALE
    fpage["sparc64"] = fpage["x86_64"] * SPARC64_SCALE
    mults["sparc64"] = {}
    calibrated = {"arm64": True, "x86_64": True, "sparc64": False}

    by = {(r["arch"], r["mode"]): r for r in residuals}
    for arch in CALIBRATED_ARCHES:
        b, p = by[(arch, "baseline")], by[(arch, "patched")]
        table.append({"arch": arch, "vanilla_ms": b["measured_ns"] / 1e6,
                      "vanilla_model_ms": b["model_ns"] / 1e6,
                      "patched_ms": p["measured_ns"] / 1e6,
                      "patched_model_ms": p["model_ns"] / 1e6,
                      "speedup": b["measured_ns"] / p["measured_ns"],
                      "speedup_model": b["model_ns"] / p["model_ns"]})
    arm = next(t for t in table if t["arch"] == "arm64")
    v1_speedup = V1_ARM64["baseline"] / V1_ARM64["patched"]
    oos = {"what": "v1 cover letter (arm64, machine not stated): speed-up ratio only",
           "measured_speedup": v1_speedup, "model_speedup": arm["speedup_model"],
           "error_pct": 100 * (arm["speedup_model"] - v1_speedup) / v1_speedup,
           "model_patched_ms_if_uniformly_slower":
               V1_ARM64["baseline"] / arm["speedup_model"] / 1e6,
           "measured_patched_ms": V1_ARM64["patched"] / 1e6}
    notes = [
        "2 measurements per arch: only a level and a mode difference are identified; the split "
        "of a correction between counter groups, and of the fixed cost into per-folio and "
        "per-page parts, comes from the priors (see sensitivity()).",
        "The measured times include all of reclaim, not only try_to_unmap_one(): the fixed "
        "per-folio cost is most of the patched time.",
        f"sparc64 is UNCALIBRATED: no measurement exists; weights are x86_64's × "
        f"{SPARC64_SCALE} plus prior-only ADI costs.",
        f"x86_64 assumes the {x86_tlb} TLB case: the cover letter does not say whether its "
        "x86 run deferred the flushes (the mm had run on another CPU) or flushed at once (a "
        "one-CPU process); x86_tlb_calibrations() fits both.",
    ]
    return Calibration(weights=weights, fixed_folio=ffolio, fixed_4k=fpage, multipliers=mults,
                       design=design, residuals=residuals, table=table, calibrated=calibrated,
                       lam=lam,
                       out_of_sample=oos, counters=counters, method=METHOD.strip(), notes=notes,
                       x86_tlb=x86_tlb)


@functools.lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    """The calibration every estimate uses unless given another (computed once, by code)."""
    return calibrate()


@functools.lru_cache(maxsize=1)
def x86_tlb_calibrations() -> dict[str, Calibration]:
    """The calibration under each x86 TLB assumption ("defer" is `default_calibration()`)."""
    return {"defer": default_calibration(), "immediate": calibrate(x86_tlb="immediate")}


def x86_tlb_table(folio_bytes: tuple[int, ...] = (64 << 10, 1 << 20)) -> list[dict[str, Any]]:
    """Per x86 TLB assumption: the fitted scale of the per-operation weights, the fitted unmap
    share of the vanilla time, and the predicted speed-up for each folio size.

    Both calibrations meet the cover letter's two x86 numbers; they differ in what they say
    about the parts the data cannot see (how much of the time is the unmap, how the gain grows
    with the folio size).
    """
    rows = []
    for case, cal in x86_tlb_calibrations().items():
        d = case == "defer"
        base = cal.counters["x86_64"]["baseline"]
        unmap = estimate_ns(base, "x86_64", 0, cal)
        total = estimate_ns(base, "x86_64", WORKLOAD_SIZE // WORKLOAD_FOLIO, cal)
        row: dict[str, Any] = {"x86_tlb": case, "ops_scale": cal.multipliers["x86_64"]["ops"],
                               "unmap_share_vanilla": unmap / total,
                               "tlb_ops_vanilla": base["tlb_deferred"] + base["tlb_flushes"]}
        for fb in folio_bytes:
            b = predict("x86_64", "baseline", fb, calibration=cal, defer_flush=d)
            p = predict("x86_64", "patched", fb, calibration=cal, defer_flush=d)
            row[f"speedup_{fb >> 10}k"] = b / p
        rows.append(row)
    return rows


#: Barry Song, "mm: Support batched unmap for lazyfree large folios during reclamation" (v4 3/4,
#: 2025-02-14): reclaiming 128 MiB of 64 KiB lazyfree folios, seconds from clock() around
#: MADV_PAGEOUT, the first six runs printed in the changelog (machine not stated there).
BARRY_LAZYFREE = {
    "size": 128 << 20, "folio": 64 << 10,
    "before_s": (0.177418, 0.178348, 0.174525, 0.176063, 0.172568, 0.171185),
    "after_s": (0.074231, 0.071026, 0.072029, 0.071873, 0.073573, 0.071906),
    "source": "Barry Song, v4 3/4 'mm: Support batched unmap for lazyfree large folios during "
              "reclamation', 2025-02-14 (https://lkml.indiana.edu/hypermail/linux/kernel/"
              "2506.3/00731.html quotes it)",
}


def lazyfree_comparison(arch: str = "arm64", calibration: Calibration | None = None
                        ) -> dict[str, Any]:
    """The model's lazyfree batching gain beside Barry Song's measurement.

    The model counts the unmap operations of the lazyfree workload (`simcore.workload`,
    ``kind="lazyfree"``) in ``per-pte`` (before 2025) and ``baseline`` (batched) and prices
    them with ``arch``'s calibrated weights. It has no fixed per-folio cost for lazyfree reclaim
    (the calibrated one is swap-out's), so what it can compare is the saving per folio.
    """
    cal = calibration or default_calibration()
    m = BARRY_LAZYFREE
    nf = m["size"] // m["folio"]
    c_old = counters_dict(arch, "per-pte", size=m["size"], folio=m["folio"], kind="lazyfree")
    c_new = counters_dict(arch, "baseline", size=m["size"], folio=m["folio"], kind="lazyfree")
    t_old, t_new = estimate_ns(c_old, arch, 0, cal), estimate_ns(c_new, arch, 0, cal)
    before = sorted(m["before_s"])[len(m["before_s"]) // 2] * 1e9
    after = sorted(m["after_s"])[len(m["after_s"]) // 2] * 1e9
    return {"arch": arch, "nr_folios": nf,
            "model_unmap_ms_per_pte": t_old / 1e6, "model_unmap_ms_batched": t_new / 1e6,
            "model_saving_us_per_folio": (t_old - t_new) / nf / 1e3,
            "model_unmap_ratio": t_old / t_new,
            "measured_ms_before": before / 1e6, "measured_ms_after": after / 1e6,
            "measured_speedup": before / after,
            "measured_saving_us_per_folio": (before - after) / nf / 1e3,
            "source": m["source"]}


# -- using the model --------------------------------------------------------------------------
def _as_counts(costs: Costs | Mapping[str, int]) -> Mapping[str, int]:
    return costs.as_dict() if isinstance(costs, Costs) else costs


def _arch_key(arch_name: str) -> str:
    name = getattr(arch_name, "name", arch_name)
    if name not in ("arm64", "x86_64", "sparc64"):
        raise ValueError(f"arch: no cost weights for {name!r}")
    return name


def estimate_ns(costs: Costs | Mapping[str, int], arch_name: str, nr_folios: int = 1,
                calibration: Calibration | None = None,
                folio_bytes: int | None = None) -> float:
    """Estimated kernel time (ns) of the reclaim that produced ``costs``.

    The fixed reclaim cost of ``nr_folios`` folios of ``folio_bytes`` each (default 64 KiB, the
    calibration's) is included; ``nr_folios=0`` gives only the counted unmap operations.
    """
    cal = calibration or default_calibration()
    arch = _arch_key(arch_name)
    counts = _as_counts(costs)
    w = cal.weights[arch]
    total = math.fsum(w.get(k, 0.0) * v for k, v in counts.items())
    if nr_folios:
        total += nr_folios * cal.fixed_per_folio(arch, folio_bytes or WORKLOAD_FOLIO)
    return float(total)


def breakdown(costs: Costs | Mapping[str, int], arch: str, calibration: Calibration | None = None,
              nr_folios: int = 0, folio_bytes: int | None = None) -> dict[str, float]:
    """Where the time goes: ns per counter group (and ``fixed`` if ``nr_folios`` > 0)."""
    cal = calibration or default_calibration()
    a = _arch_key(arch)
    counts = _as_counts(costs)
    out = dict.fromkeys(GROUPS, 0.0)
    for k, v in counts.items():
        g = GROUP_OF.get(k, "other")         # a counter newer than this model: weight 0
        out[g] = out.get(g, 0.0) + cal.weights[a].get(k, 0.0) * v
    if nr_folios:
        out["fixed"] = nr_folios * cal.fixed_per_folio(a, folio_bytes or WORKLOAD_FOLIO)
    return out


def predict(arch: str, mode: str, folio_bytes: int = WORKLOAD_FOLIO,
            size: int = WORKLOAD_SIZE, calibration: Calibration | None = None,
            defer_flush: bool | None = None) -> float:
    """Predicted time (ns) of the cover-letter workload with another folio size
    (``defer_flush``: the x86 TLB case, None for the profile's default)."""
    counts = counters_dict(arch, mode, size=size, folio=folio_bytes, defer_flush=defer_flush)
    return estimate_ns(counts, arch, size // folio_bytes, calibration, folio_bytes=folio_bytes)


SWEEP_FOLIOS = (16 << 10, 32 << 10, 64 << 10, 128 << 10, 2 << 20)
#: Groups whose saving the cover letter names ("fewer ptep_get() calls and fewer TLB flushes
#: during contpte unfolding").
NAMED_SAVING = ("pte", "tlb", "contpte")


def saving_breakdown(arch: str, calibration: Calibration | None = None) -> dict[str, float]:
    """ns saved per counter group by the series on the 256 MiB / 64 KiB workload."""
    cal = calibration or default_calibration()
    b = breakdown(cal.counters[arch]["baseline"] if arch in cal.counters else
                  counters_dict(arch, "baseline"), arch, cal)
    p = breakdown(cal.counters[arch]["patched"] if arch in cal.counters else
                  counters_dict(arch, "patched"), arch, cal)
    return {g: b[g] - p[g] for g in b}


def sensitivity(lams: tuple[float, ...] = (1e-4, 1e-2, 1e-1, 1.0),
                factors: tuple[float, ...] = (0.5, 2.0),
                folios: tuple[int, ...] = SWEEP_FOLIOS) -> list[dict[str, Any]]:
    """Refit under changed assumptions and report what moves.

    Variants: the regularisation strength ``lam``; the ``groups`` design; a patched
    measurement moved by one reported run standard deviation (an upper bound on the error of
    the mean, whose run count is not stated); every per-operation
    prior ×f; both fixed priors ×f; each fixed prior alone ×f; each counter group's priors
    ×f (which changes the *relative* weights of the operations, something the two measurements
    per arch cannot see). For each variant and arch: the largest residual, the fitted fixed
    cost per 64 KiB folio, the share of the vanilla time spent in counted unmap operations, the
    share of the saving in the groups the cover letter names (pte, tlb, contpte), and the
    predicted speed-up per folio size — 64 KiB is fitted, the others are predictions.
    """
    variants: list[tuple[str, dict[str, Any]]] = [("default", {})]
    variants += [(f"lam={lam:g}", {"lam": lam}) for lam in lams if lam != DEFAULT_LAMBDA]
    variants.append(("design=groups", {"design": "groups"}))
    variants.append(("design=groups lam=1e-3", {"design": "groups", "lam": 1e-3}))
    for m in MEASUREMENTS:
        if m.mode == "patched":
            for sign in (-1, 1):
                moved = tuple(Measurement(x.arch, x.mode, x.ns * (1 + sign * x.rel_sd),
                                          x.rel_sd, x.source) if x is m else x
                              for x in MEASUREMENTS)
                variants.append((f"{m.arch} patched {'+' if sign > 0 else '-'}1 run-sd",
                                 {"measurements": moved}))
    for f in factors:
        variants.append((f"all op priors x{f:g}", {"prior_scale": {"ops": f}}))
        variants.append((f"fixed priors x{f:g}", {"prior_scale": {"fixed": f}}))
        variants.append((f"fixed_folio prior x{f:g}", {"prior_scale": {"fixed_folio": f}}))
        variants.append((f"fixed_4k prior x{f:g}", {"prior_scale": {"fixed_4k": f}}))
        for g in GROUPS:
            if g != "arch":
                variants.append((f"{g} priors x{f:g}", {"prior_scale": {g: f}}))
    rows = []
    for name, kw in variants:
        cal = calibrate(**kw)
        row: dict[str, Any] = {"variant": name,
                               "max_abs_residual_pct": cal.max_abs_residual_pct()}
        for arch in CALIBRATED_ARCHES:
            base = cal.counters[arch]["baseline"]
            unmap_ns = estimate_ns(base, arch, 0, cal)
            total = estimate_ns(base, arch, WORKLOAD_SIZE // WORKLOAD_FOLIO, cal)
            saved = saving_breakdown(arch, cal)
            row[f"{arch}_fixed_per_folio_ns"] = cal.fixed_per_folio(arch)
            row[f"{arch}_unmap_share_vanilla"] = unmap_ns / total
            row[f"{arch}_named_saving_share"] = (sum(saved[g] for g in NAMED_SAVING)
                                                 / sum(saved.values()))
            for fb in folios:
                sp = predict(arch, "baseline", fb, calibration=cal) / predict(
                    arch, "patched", fb, calibration=cal)
                row[f"{arch}_speedup_{fb >> 10}K"] = sp
        rows.append(row)
    return rows


def sensitivity_summary(rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Per reported quantity: default value, and min / max over the variants (designs, priors
    ×0.5…×2, lam up to 1e-2 — larger lam no longer fits the measurements)."""
    rows = rows if rows is not None else sensitivity()
    fitting = [r for r in rows if r["max_abs_residual_pct"] < 1.0]
    out = {}
    for k in rows[0]:
        if k == "variant":
            continue
        vals = [r[k] for r in fitting]
        out[k] = {"default": rows[0][k], "min": min(vals), "max": max(vals),
                  "min_variant": min(fitting, key=lambda r, k=k: r[k])["variant"],
                  "max_variant": max(fitting, key=lambda r, k=k: r[k])["variant"]}
    out["_variants"] = {"total": len(rows), "fitting_within_1pct": len(fitting)}
    return out


def format_sensitivity(rows: list[dict[str, Any]] | None = None,
                       folios: tuple[int, ...] = SWEEP_FOLIOS) -> str:
    rows = rows if rows is not None else sensitivity(folios=folios)
    cols = ["max_abs_residual_pct"]
    for a in CALIBRATED_ARCHES:
        cols += [f"{a}_fixed_per_folio_ns", f"{a}_unmap_share_vanilla",
                 f"{a}_named_saving_share"] + [f"{a}_speedup_{fb >> 10}K" for fb in folios]
    short = {c: c.replace("x86_64", "x86").replace("_fixed_per_folio_ns", " F/folio")
             .replace("_unmap_share_vanilla", " unmap%").replace("_named_saving_share",
                                                                 " named%")
             .replace("_speedup_", " x").replace("max_abs_residual_pct", "resid%")
             for c in cols}
    width = {c: max(8, len(short[c]) + 1) for c in cols}
    lines = [f"{'variant':26}" + "".join(f"{short[c]:>{width[c]}}" for c in cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r[c]
            if "share" in c:
                cells.append(f"{100 * v:>{width[c]}.1f}")
            elif "per_folio" in c:
                cells.append(f"{v:>{width[c]}.0f}")
            else:
                cells.append(f"{v:>{width[c]}.3f}")
        lines.append(f"{r['variant']:26}" + "".join(cells))
    return "\n".join(lines)


def format_calibration(cal: Calibration | None = None) -> str:
    """The fitted parameters and the measured-vs-model table, as text."""
    cal = cal or default_calibration()
    lines = [f"cost model calibration (design={cal.design}, lam={cal.lam:g})", "",
             f"{'arch':8} {'mode':9} {'measured ms':>12} {'model ms':>10} {'resid ns':>11} "
             f"{'resid %':>8} {'sd %':>5}"]
    for r in cal.residuals:
        lines.append(f"{r['arch']:8} {r['mode']:9} {r['measured_ns'] / 1e6:12.3f} "
                     f"{r['model_ns'] / 1e6:10.3f} {r['residual_ns']:11.0f} "
                     f"{r['residual_pct']:8.3f} {r['reported_sd_pct']:5.1f}")
    lines.append("")
    for t in cal.table:
        lines.append(f"{t['arch']}: speed-up measured {t['speedup']:.3f}, model "
                     f"{t['speedup_model']:.3f}")
    o = cal.out_of_sample
    lines.append(f"out of sample ({o['what']}): measured {o['measured_speedup']:.3f}, model "
                 f"{o['model_speedup']:.3f} ({o['error_pct']:+.1f}%)")
    lines.append("")
    lines.append(f"{'parameter':12} " + " ".join(f"{a:>10}" for a in CALIBRATED_ARCHES))
    for p in DESIGNS[cal.design]:
        lines.append(f"{p:12} " + " ".join(f"{cal.multipliers[a][p]:10.3f}"
                                            for a in CALIBRATED_ARCHES))
    lines.append(f"{'F/folio ns':12} " + " ".join(f"{cal.fixed_folio[a]:10.1f}"
                                                  for a in CALIBRATED_ARCHES))
    lines.append(f"{'F/4KiB ns':12} " + " ".join(f"{cal.fixed_4k[a]:10.1f}"
                                                 for a in CALIBRATED_ARCHES))
    lines.append("")
    lines.append(f"{'counter':22} " + " ".join(f"{a:>10}" for a in (*CALIBRATED_ARCHES,
                                                                      "sparc64*")))
    for k in COUNTERS:
        lines.append(f"{k:22} " + " ".join(f"{cal.weights[a][k]:10.2f}"
                                           for a in (*CALIBRATED_ARCHES, "sparc64")))
    lines.append(f"* sparc64: uncalibrated (x86_64 × {SPARC64_SCALE:g}, ADI priors)")
    return "\n".join(lines)


if __name__ == "__main__":   # pragma: no cover - a human-readable dump
    print(format_calibration())
