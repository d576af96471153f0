"""The performance chapter (book/performance.md): the cost model's tables, figures and widget.

Plumbing only. The counters come from simulating the cover letter's workload
(`simcore.workload`), the times from the calibrated cost model (`simcore.costmodel`:
`calibrate()`, `estimate_ns()`, `breakdown()`, `sensitivity()`). Nothing here fits or weighs
anything itself.

A workload of N folios costs, counter by counter, an affine function of N (every folio is set up
and unmapped alike; only the first also puts the mm on the swapoff mmlist), so the widget asks
the cost model for the counters of a 4-folio and an 8-folio workload — small simulations, cached
— and extends them to the size asked for, exactly as `simcore.costmodel.workload_counters()`
does for the calibration.
"""

from __future__ import annotations

import functools
import html
from typing import Any

import ipywidgets as widgets

from bookkit import render
from bookkit.explorer import ControlPanel
from simcore import costmodel as cm
from simcore.costs import COUNTERS
from simcore.workload import WorkloadError, parse_size

ARCHES = ("arm64", "x86_64", "sparc64")
MODES = ("per-pte", "baseline", "patched")
FOLIO_SIZES = ("4K", "16K", "32K", "64K", "128K", "256K", "512K", "1M", "2M")
SWEEP_SIZES = ("16K", "32K", "64K", "128K", "256K", "512K", "1M", "2M")
WORKLOAD_SIZES = ("16M", "64M", "256M", "1G")
#: the stacks of the breakdown: the fixed reclaim cost, then the counter groups of the model
STACKS = ("fixed", *cm.GROUPS)
STACK_LABELS = {
    "fixed": "rest of reclaim (fixed per folio)",
    "walk": "walk and loop",
    "pte": "PTE reads and writes",
    "contpte": "contpte unfolds",
    "tlb": "TLB operations",
    "sync": "barriers and atomics",
    "calls": "swap, share, rmap calls",
    "arch": "arch_unmap_one (sparc64)",
}
#: colours per stack (colour-blind-safe set), with a hatch for print and grey-scale
STACK_STYLE = {
    "fixed": ("#bdbdbd", ""),
    "walk": ("#4477aa", "//"),
    "pte": ("#66ccee", ".."),
    "contpte": ("#ee6677", "xx"),
    "tlb": ("#aa3377", "\\\\"),
    "sync": ("#228833", "--"),
    "calls": ("#ccbb44", "++"),
    "arch": ("#000000", ""),
}


#: Barry Song's 2025 RFC, "mm: make try_to_unmap_one support batched unmap for anon large
#: folios" (https://lore.kernel.org/r/20250513084620.58231-1-21cnbao@gmail.com): the same
#: benchmark, five runs each without and with his exclusive-only batching, in ns as printed.
#: The mail does not name the machine.
BARRY_RFC_NS = {
    "baseline": (1337334000, 1340471008, 1385718992, 1366070000, 1347834992),
    "patched": (698178000, 708570000, 693884000, 693366000, 690790000),
}


def barry_rfc() -> dict[str, float]:
    """Mean times (ms) and speed-up of Barry Song's 2025 RFC measurement."""
    mean = {m: sum(v) / len(v) / 1e6 for m, v in BARRY_RFC_NS.items()}
    return {"baseline_ms": mean["baseline"], "patched_ms": mean["patched"],
            "speedup": mean["baseline"] / mean["patched"], "runs": len(BARRY_RFC_NS["baseline"])}


def x86_tlb_mode(cal=None) -> str:
    """How the calibration's x86 counters flush the TLB: 'deferred', 'immediate' or 'mixed'."""
    cal = cal or cm.default_calibration()
    c = cal.counters["x86_64"]["baseline"]
    deferred, flushes = c.get("tlb_deferred", 0), c.get("tlb_flushes", 0)
    if deferred and not flushes:
        return "deferred"
    if flushes and not deferred:
        return "immediate"
    return "mixed"


def largest_saving_group(arch: str, cal=None) -> str:
    """The counter group that carries the largest part of the model's saving on ``arch``."""
    saved = cm.saving_breakdown(arch, cal or cm.default_calibration())
    return STACK_LABELS.get(max(saved, key=saved.get), max(saved, key=saved.get))


def size_bytes(text: str) -> int:
    return parse_size(text)


def size_label(nbytes: int) -> str:
    if nbytes >= 1 << 30 and nbytes % (1 << 30) == 0:
        return f"{nbytes >> 30} GiB"
    if nbytes >= 1 << 20 and nbytes % (1 << 20) == 0:
        return f"{nbytes >> 20} MiB"
    return f"{nbytes >> 10} KiB"


# -- counters and estimates ----------------------------------------------------------------------
@functools.cache
def _small(arch: str, mode: str, folio_bytes: int) -> tuple[dict[str, int], dict[str, int]]:
    """Counters of a 4-folio workload and the constant step per further folio."""
    c4 = cm.counters_dict(arch, mode, size=4 * folio_bytes, folio=folio_bytes)
    c8 = cm.counters_dict(arch, mode, size=8 * folio_bytes, folio=folio_bytes)
    step = {}
    for k in COUNTERS:
        d, rem = divmod(c8[k] - c4[k], 4)
        if rem:
            raise RuntimeError(f"counter {k} is not affine in the folio count")
        step[k] = d
    return c4, step


def workload_counters(arch: str, mode: str, folio_bytes: int,
                      size: int = cm.WORKLOAD_SIZE) -> dict[str, int]:
    """The summed counters of ``size`` bytes of ``folio_bytes`` folios (see the docstring)."""
    if size % folio_bytes or size < folio_bytes:
        raise WorkloadError(f"size: {size_label(size)} is not a multiple of the folio size "
                            f"({size_label(folio_bytes)})")
    n = size // folio_bytes
    if n <= 8:
        return cm.counters_dict(arch, mode, size=size, folio=folio_bytes)
    c4, step = _small(arch, mode, folio_bytes)
    return {k: c4[k] + (n - 4) * step[k] for k in COUNTERS}


def estimate(arch: str, mode: str, folio_bytes: int = cm.WORKLOAD_FOLIO,
             size: int = cm.WORKLOAD_SIZE, calibration=None) -> dict[str, Any]:
    """Estimated time (ns) and its breakdown for one (arch, mode, folio size, workload size)."""
    counts = workload_counters(arch, mode, folio_bytes, size)
    n = size // folio_bytes
    total = cm.estimate_ns(counts, arch, n, calibration, folio_bytes=folio_bytes)
    parts = cm.breakdown(counts, arch, calibration, nr_folios=n, folio_bytes=folio_bytes)
    return {"arch": arch, "mode": mode, "folio_bytes": folio_bytes, "size": size,
            "nr_folios": n, "ns": total, "breakdown": parts, "counters": counts}


def speedup(arch: str, folio_bytes: int, size: int = cm.WORKLOAD_SIZE, calibration=None) -> float:
    b = estimate(arch, "baseline", folio_bytes, size, calibration)["ns"]
    p = estimate(arch, "patched", folio_bytes, size, calibration)["ns"]
    return b / p


# -- tables --------------------------------------------------------------------------------------
#: a Markdown table (the chapter's pages call it ``ch.md_table``)
md_table = render.markdown_table


def calibration_rows(cal=None) -> list[dict[str, Any]]:
    """Measured vs model per (arch, mode), with residuals and the reported spread."""
    cal = cal or cm.default_calibration()
    return [{"arch": r["arch"], "kernel": "vanilla" if r["mode"] == "baseline" else "patched",
             "measured (ms)": f"{r['measured_ns'] / 1e6:.2f}",
             "model (ms)": f"{r['model_ns'] / 1e6:.2f}",
             "residual (ms)": f"{r['residual_ns'] / 1e6:+.3f}",
             "residual": f"{r['residual_pct']:+.2f} %",
             "reported std dev": f"{r['reported_sd_pct']:.1f} %"} for r in cal.residuals]


def speedup_rows(cal=None) -> list[dict[str, Any]]:
    cal = cal or cm.default_calibration()
    rows = [{"arch": t["arch"], "measured speed-up": f"{t['speedup']:.3f}×",
             "model speed-up": f"{t['speedup_model']:.3f}×",
             "measured gain": f"{100 * (1 - 1 / t['speedup']):.1f} %",
             "model gain": f"{100 * (1 - 1 / t['speedup_model']):.1f} %"} for t in cal.table]
    o = cal.out_of_sample
    rows.append({"arch": "arm64 (v1, out of sample)",
                 "measured speed-up": f"{o['measured_speedup']:.3f}×",
                 "model speed-up": f"{o['model_speedup']:.3f}×",
                 "measured gain": f"{100 * (1 - 1 / o['measured_speedup']):.1f} %",
                 "model gain": f"{100 * (1 - 1 / o['model_speedup']):.1f} %"})
    return rows


PARAM_MEANING = {
    "fixed_folio": "reclaim's fixed cost per folio",
    "fixed_4k": "reclaim's fixed cost per 4 KiB of folio",
    "ops": "every counted operation (one scale on all priors)",
}


def parameter_rows(cal=None) -> list[dict[str, Any]]:
    """The fitted parameters (multipliers of their priors) per arch, and what they scale."""
    cal = cal or cm.default_calibration()
    rows = []
    for p in cal.multipliers[cm.CALIBRATED_ARCHES[0]]:
        meaning = PARAM_MEANING.get(p) or ("counters " + ", ".join(
            f"`{c}`" for c in cm.GROUPS.get(p, ())))
        row = {"parameter": f"`{p}`", "scales": meaning}
        for a in cm.CALIBRATED_ARCHES:
            row[a] = f"{cal.multipliers[a][p]:.3f}"
        rows.append(row)
    return rows


def fixed_rows(cal=None) -> list[dict[str, Any]]:
    cal = cal or cm.default_calibration()
    rows = []
    for a in cm.CALIBRATED_ARCHES:
        rows.append({"arch": a, "per folio (ns)": f"{cal.fixed_folio[a]:.0f}",
                     "per 4 KiB (ns)": f"{cal.fixed_4k[a]:.0f}",
                     "one 64 KiB folio (ns)": f"{cal.fixed_per_folio(a):.0f}"})
    return rows


def weight_rows(names: tuple[str, ...], cal=None) -> list[dict[str, Any]]:
    cal = cal or cm.default_calibration()
    why = cm.prior_rationale()
    rows = []
    for k in names:
        row = {"counter": f"`{k}`"}
        for a in cm.CALIBRATED_ARCHES:
            row[f"{a} prior"] = f"{cm.prior_weights(a)[k]:g}"
            row[f"{a} fitted"] = f"{cal.weights[a][k]:.1f}"
        row["why the prior"] = why[k]
        rows.append(row)
    return rows


def regression_rows(folio: str = "4K") -> list[dict[str, Any]]:
    """Order-0 folios: are the counters and the estimate identical in both modes?"""
    fb = size_bytes(folio)
    rows = []
    for arch in cm.CALIBRATED_ARCHES:
        b, p = estimate(arch, "baseline", fb), estimate(arch, "patched", fb)
        differ = [k for k in COUNTERS if b["counters"][k] != p["counters"][k]]
        rows.append({"arch": arch, "folios": f"{b['nr_folios']:,}",
                     "counters that differ": ", ".join(differ) or "none",
                     "baseline (ms)": f"{b['ns'] / 1e6:.2f}",
                     "patched (ms)": f"{p['ns'] / 1e6:.2f}"})
    return rows


def sweep(sizes=SWEEP_SIZES, arches=cm.CALIBRATED_ARCHES, cal=None) -> dict[str, list[float]]:
    """Predicted speed-up per arch over folio sizes (256 MiB workload)."""
    return {a: [speedup(a, size_bytes(s), calibration=cal) for s in sizes] for a in arches}


# -- figures -------------------------------------------------------------------------------------
def _fig(width: float, height: float, ncols: int = 1, **kw):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, height), facecolor="white", **kw)
    for ax in (axes if ncols > 1 else [axes]):
        ax.set_facecolor("white")
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


def breakdown_figure(cal=None):
    """Stacked bars: where the estimated time goes, per arch × mode, with the measurement."""
    cal = cal or cm.default_calibration()
    fig, ax = _fig(7.0, 4.8)
    bars = [(a, m) for a in cm.CALIBRATED_ARCHES for m in ("baseline", "patched")]
    measured = {(r["arch"], r["mode"]): r["measured_ns"] / 1e6 for r in cal.residuals}
    xs = range(len(bars))
    for x, (a, m) in zip(xs, bars, strict=True):
        parts = estimate(a, m, calibration=cal)["breakdown"]
        bottom = 0.0
        for s in STACKS:
            v = parts.get(s, 0.0) / 1e6
            if v <= 0:
                continue
            colour, hatch = STACK_STYLE[s]
            ax.bar(x, v, 0.6, bottom=bottom, color=colour, hatch=hatch, edgecolor="black",
                   linewidth=0.4, label=STACK_LABELS[s] if x == 0 or s == "contpte" else None)
            bottom += v
        ax.plot([x - 0.34, x + 0.34], [measured[(a, m)]] * 2, color="black", lw=2,
                label="measured (cover letter)" if x == 0 else None)
        ax.text(x, max(bottom, measured[(a, m)]) + 0.8, f"{bottom:.1f}", ha="center",
                fontsize=10)
    ax.set_xticks(list(xs), [f"{a}\n{'vanilla' if m == 'baseline' else 'patched'}"
                             for a, m in bars], fontsize=10)
    ax.tick_params(axis="y", labelsize=10)
    ax.set_ylabel("ms for 256 MiB of 64 KiB folios", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels, strict=True):
        seen.setdefault(lab, h)
    ax.legend(seen.values(), seen.keys(), fontsize=9, frameon=False, loc="upper center",
              bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.tight_layout()
    return fig


def sweep_figure(summary: dict[str, Any] | None = None, cal=None):
    """Predicted speed-up over folio sizes, with the range over the sensitivity variants.

    ``summary`` is `simcore.costmodel.sensitivity_summary()` (min / max over the variants that
    still fit the measurements); sizes it does not cover get no band.
    """
    cal = cal or cm.default_calibration()
    fig, ax = _fig(7.0, 4.2)
    sizes = list(SWEEP_SIZES)
    x = list(range(len(sizes)))
    pred = sweep(cal=cal)
    markers = {"arm64": ("o", "#aa3377"), "x86_64": ("s", "#4477aa")}
    measured = {t["arch"]: t["speedup"] for t in cal.table}
    for a in cm.CALIBRATED_ARCHES:
        marker, colour = markers[a]
        ax.plot(x, pred[a], marker=marker, color=colour, label=f"{a}: model")
        if summary:
            keys = [f"{a}_speedup_{size_bytes(s) >> 10}K" for s in sizes]
            pts = [(i, summary[k]["min"], summary[k]["max"]) for i, k in enumerate(keys)
                   if k in summary]
            if pts:
                ax.fill_between([p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts],
                                color=colour, alpha=0.18, linewidth=0,
                                label=f"{a}: range over the fitting variants")
        ax.plot([sizes.index("64K")], [measured[a]], marker="*", markersize=13, color=colour,
                markeredgecolor="black", linestyle="none", label=f"{a}: measured (64 KiB)")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xticks(x, [s.replace("K", " KiB").replace("M", " MiB") for s in sizes], fontsize=9)
    ax.tick_params(axis="y", labelsize=9)
    ax.set_xlabel("folio size (4 KiB pages)", fontsize=10)
    ax.set_ylabel("predicted speed-up (vanilla / patched)", fontsize=10)
    ax.legend(fontsize=8.5, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig


def sensitivity_figure(rows: list[dict[str, Any]], fit_pct: float = 1.0):
    """Per sensitivity variant: worst residual and the predicted speed-ups at 16 KiB and 2 MiB.

    Variants that no longer meet the measurements within ``fit_pct`` % are drawn hollow.
    """
    fig, axes = _fig(8.0, 0.25 * len(rows) + 1.7, ncols=3, sharey=True)
    names = [r["variant"] for r in rows]
    y = list(range(len(rows)))[::-1]
    fits = [r["max_abs_residual_pct"] < fit_pct for r in rows]
    panels = [
        ("largest residual (%)", [("max_abs_residual_pct", "#000000", "o", "both arches")]),
        ("speed-up, 16 KiB folios", [("arm64_speedup_16K", "#aa3377", "o", "arm64"),
                                     ("x86_64_speedup_16K", "#4477aa", "s", "x86_64")]),
        ("speed-up, 2 MiB folios", [("arm64_speedup_2048K", "#aa3377", "o", "arm64"),
                                    ("x86_64_speedup_2048K", "#4477aa", "s", "x86_64")]),
    ]
    for ax, (title, series) in zip(axes, panels, strict=True):
        for key, colour, marker, label in series:
            for want, face in ((True, colour), (False, "none")):
                pts = [(r[key], yy) for r, yy, f in zip(rows, y, fits, strict=True) if f == want]
                if pts:
                    ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, s=20,
                               facecolors=face, edgecolors=colour, zorder=3,
                               label=label if want else None)
            ax.axvline(rows[0][key], color=colour, lw=0.8, ls=":")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", color="#eeeeee", lw=0.6)
        ax.tick_params(labelsize=9)
    axes[0].set_yticks(y, names, fontsize=9)
    axes[1].legend(fontsize=9, frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


# -- the live widget -----------------------------------------------------------------------------
def _bar_html(parts: dict[str, float], total: float) -> str:
    """A horizontal stacked bar in plain HTML (no figure: fast enough for every update)."""
    cells = []
    for s in STACKS:
        v = parts.get(s, 0.0)
        if v <= 0 or total <= 0:
            continue
        pct = 100 * v / total
        colour = STACK_STYLE[s][0]
        label = f"{STACK_LABELS[s]}: {v / 1e6:.2f} ms ({pct:.1f} %)"
        cells.append(f"<span role='img' title='{html.escape(label)}' "
                     f"aria-label='{html.escape(label)}' "
                     f"style='display:inline-block;height:1.2em;width:{pct:.2f}%;"
                     f"background:{colour};outline:1px solid #fff'></span>")
    return ("<div style='width:100%;max-width:40em;white-space:nowrap;border:1px solid #999;"
            "line-height:0'>" + "".join(cells) + "</div>")


def estimate_html(est: dict[str, Any], base_ns: float, patched_ns: float,
                  calibrated: bool = True) -> str:
    """The widget's output for one estimate, with the series' speed-up at this folio size."""
    ms = est["ns"] / 1e6
    parts = est["breakdown"]
    head = (f"<p style='margin:4px 0'><b>{ms:.2f} ms</b> estimated for "
            f"{size_label(est['size'])} of {size_label(est['folio_bytes'])} folios "
            f"({est['nr_folios']} folios) on {html.escape(est['arch'])}, mode "
            f"<code>{html.escape(est['mode'])}</code>. Vanilla {base_ns / 1e6:.2f} ms, patched "
            f"{patched_ns / 1e6:.2f} ms: speed-up <b>{base_ns / patched_ns:.2f}×</b>.</p>")
    if not calibrated:
        head += ("<p style='margin:4px 0;color:#8a4b00'>sparc64 has no measurement: its weights "
                 "are x86_64's scaled, not calibrated.</p>")
    rows = "".join(
        f"<tr><td style='padding:1px 8px'><span style='display:inline-block;width:.9em;"
        f"height:.9em;background:{STACK_STYLE[s][0]};border:1px solid #666'></span> "
        f"{html.escape(STACK_LABELS[s])}</td>"
        f"<td style='text-align:right;padding:1px 8px'>{parts.get(s, 0.0) / 1e6:.2f}</td>"
        f"<td style='text-align:right;padding:1px 8px'>"
        f"{100 * parts.get(s, 0.0) / est['ns']:.1f} %</td></tr>"
        for s in STACKS if parts.get(s, 0.0) > 0)
    table = ("<table style='border-collapse:collapse;margin-top:6px'><thead><tr><th></th>"
             "<th style='text-align:right;padding:1px 8px'>ms</th>"
             "<th style='text-align:right;padding:1px 8px'>share</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>")
    return head + _bar_html(parts, est["ns"]) + table


class CostExplorer(ControlPanel):
    """arch, folio size, mode, workload size → estimated time and its breakdown.

    The same panel as `bookkit.explorer.Explorer` (``controls``, ``output``, ``error``,
    ``last_ms``), with ``result`` from the cost model and a generated workload instead of
    simcore runs of one scenario.
    """

    def __init__(self) -> None:
        style = {"description_width": "initial"}
        self.result: dict[str, Any] | None = None
        super().__init__({
            "arch": widgets.Dropdown(options=list(ARCHES), value="arm64", description="arch",
                                     style=style),
            "folio": widgets.Dropdown(options=list(FOLIO_SIZES), value="64K",
                                      description="folio size", style=style),
            "mode": widgets.Dropdown(options=list(MODES), value="patched", description="mode",
                                     style=style),
            "size": widgets.Dropdown(options=list(WORKLOAD_SIZES), value="256M",
                                     description="workload", style=style),
        })

    def draw(self, values: dict[str, Any]) -> str:
        fb, size = size_bytes(values["folio"]), size_bytes(values["size"])
        est = estimate(values["arch"], values["mode"], fb, size)
        base = estimate(values["arch"], "baseline", fb, size)["ns"]
        patched = estimate(values["arch"], "patched", fb, size)["ns"]
        self.result = {**est, "speedup": base / patched}
        cal = cm.default_calibration()
        return estimate_html(est, base, patched, cal.calibrated.get(values["arch"], False))

    def forget(self) -> None:
        self.result = None


def explorer() -> CostExplorer:
    return CostExplorer()


def static_twin(arches=cm.CALIBRATED_ARCHES, sizes=FOLIO_SIZES) -> str:
    """The widget's twin on the website: the estimates for 256 MiB, every folio size."""
    cal = cm.default_calibration()
    th = "<th scope='col' style='padding:2px 8px;text-align:right'>"
    head = ("<thead><tr><th scope='col' style='padding:2px 8px'>arch</th>"
            "<th scope='col' style='padding:2px 8px'>folio size</th>"
            f"{th}vanilla (ms)</th>{th}patched (ms)</th>{th}speed-up</th>"
            "<th scope='col' style='padding:2px 8px'>where the patched time goes</th></tr>"
            "</thead>")
    body = []
    for a in arches:
        for s in sizes:
            fb = size_bytes(s)
            b = estimate(a, "baseline", fb, calibration=cal)
            p = estimate(a, "patched", fb, calibration=cal)
            td = "<td style='padding:2px 8px;text-align:right'>"
            body.append(
                f"<tr><td style='padding:2px 8px'>{a}</td>"
                f"<td style='padding:2px 8px'>{size_label(fb)}</td>"
                f"{td}{b['ns'] / 1e6:.2f}</td>{td}{p['ns'] / 1e6:.2f}</td>"
                f"{td}{b['ns'] / p['ns']:.2f}×</td>"
                f"<td style='padding:2px 8px;min-width:12em'>"
                f"{_bar_html(p['breakdown'], p['ns'])}</td></tr>")
    legend = " ".join(
        f"<span style='white-space:nowrap'><span style='display:inline-block;width:.9em;"
        f"height:.9em;background:{STACK_STYLE[s][0]};border:1px solid #666'></span> "
        f"{html.escape(STACK_LABELS[s])}</span>" for s in STACKS if s != "arch")
    return ("<div class='perf-static-twin'><p><strong>The cost model's estimates for 256 MiB "
            "(MADV_PAGEOUT), by folio size.</strong> In Jupyter the live widget also changes "
            "the mode and the workload size.</p>"
            # scrolls sideways on a phone: focusable, so that keyboards can scroll it too
            "<div style='overflow-x:auto' tabindex='0' role='region' "
            "aria-label='estimates by architecture and folio size'>"
            f"<table class='perf-estimates'>{head}"
            f"<tbody>{''.join(body)}</tbody></table></div><p style='font-size:90%'>{legend}</p>"
            "</div>")


def live():
    """(CostExplorer, Live(widget, static twin)) as the chapter displays it."""
    from bookkit.live import Live

    ex = explorer()
    return ex, Live(ex.widget, static_twin)


# -- round 2: the x86 TLB case and the lazyfree workload ------------------------------------------
def x86_tlb_rows() -> list[dict[str, Any]]:
    """The two readings of the cover letter's x86 run side by side (`cm.x86_tlb_table()`)."""
    labels = {"defer": "deferred (the mm ran on another CPU)",
              "immediate": "immediate (a one-CPU process)"}
    return [{"x86 TLB case": labels[r["x86_tlb"]],
             "TLB operations, vanilla": f"{r['tlb_ops_vanilla']:,}",
             "fitted scale of the operation weights": f"{r['ops_scale']:.3f}",
             "unmap share of the vanilla time": f"{100 * r['unmap_share_vanilla']:.1f} %",
             "predicted speed-up, 64 KiB": f"{r['speedup_64k']:.3f}×",
             "predicted speed-up, 1 MiB": f"{r['speedup_1024k']:.3f}×"}
            for r in cm.x86_tlb_table()]


def lazyfree_rows(arch: str = "arm64") -> list[dict[str, Any]]:
    """The model's lazyfree batching gain beside Barry Song's measurement
    (`cm.lazyfree_comparison()`)."""
    c = cm.lazyfree_comparison(arch)
    return [
        {"": "measured, whole MADV_PAGEOUT (median of 6)",
         "before batching": f"{c['measured_ms_before']:.1f} ms",
         "after": f"{c['measured_ms_after']:.1f} ms",
         "saved per folio": f"{c['measured_saving_us_per_folio']:.1f} µs"},
        {"": f"model ({arch} weights), unmap work only",
         "before batching": f"{c['model_unmap_ms_per_pte']:.2f} ms",
         "after": f"{c['model_unmap_ms_batched']:.2f} ms",
         "saved per folio": f"{c['model_saving_us_per_folio']:.1f} µs"},
    ]
