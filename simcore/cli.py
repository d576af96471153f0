"""The command line: ``python -m simcore run|compare|check|workload``.

::

    python -m simcore run FILE [--mode per-pte|baseline|patched] [--arch NAME]
                               [--page-size N] [--bbml2] [--bug NAME]... [--trace] [--json]
    python -m simcore compare FILE [--mode M]... [--arch NAME] [--page-size N] [--bbml2]
                                   [--bug NAME]... [--json]
    python -m simcore check FILE [--mode M] [--arch NAME] [--page-size N] [--bbml2] [--json]
    python -m simcore workload --size 256M --folio 64K [--kind swapout|lazyfree]
                               [--arch arm64] [--page-size N] [--bbml2]
                               [--tlb defer|immediate] [--mode M]... [--json]

``hw`` and ``grade`` moved to the classroom package (``python -m classroom hw|grade ...``);
here they print one line saying so and exit 2.

Exit codes (DESIGN.md §3.5): 0 when `try_to_unmap()` succeeded (``compare``/``workload``:
in every mode; ``check``: the file is valid), 1 when it reported failure — a valid outcome,
2 for bad input. Bad input (a missing or unreadable file, invalid JSON, a schema or scenario
error, an unknown mode, bug or arch, a bad flag) prints exactly one line on stderr,
``simcore: <field or flag>: <problem>``, and never a traceback. ``--json`` prints one JSON
object on stdout.

``--tlb defer|immediate`` chooses the x86 TLB case (arch_tlbbatch_should_defer(): deferred
when the mm has run on another CPU, an immediate flush for a one-CPU process); arm64 always
defers and sparc64 flushes per PTE, so there it is refused. ``--arch`` replaces the scenario's
architecture; the page size then falls back to that
architecture's default unless ``--page-size`` is given, and settings of the old architecture
that do not apply to the new one (BBML2, ADI) are dropped. Invariant violations do not change
the exit code; they are in the report (and ``violations`` of the JSON).

This module only parses, dispatches and prints: running is `simcore.api.run`, reporting is
`simcore.report`, workloads are `simcore.workload`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from simcore.arch import ARCH_NAMES, X86_TLB_CASES, ArchError, get_arch
from simcore.batch import MODES
from simcore.bugs import BUGS, BugError, check_bug_names
from simcore.safeio import SafeWriter, interrupted, one_line
from simcore.scenario import ScenarioError, from_dict, read
from simcore.workload import KINDS as WORKLOAD_KINDS

PROG = "simcore"
#: ``run --trace --json`` carries the state after every event; a run whose states would take
#: more JSON than this is refused (per-pte on an order-9 folio: 4,099 states, 66 MB).
MAX_TRACE_JSON = 16_000_000
#: ``--tlb``: the x86 case of arch_tlbbatch_should_defer() (see simcore.arch).
TLB_CHOICES = X86_TLB_CASES
#: Commands that moved to ``python -m classroom`` (simcore never imports classroom).
HOMEWORK_COMMANDS = ("hw", "grade")


class UsageError(Exception):
    """Bad input; the message is the one line printed after ``simcore: ``."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line ``<flag>: <problem>``, not usage + exit."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(_argparse_message(message))


def _argparse_message(message: str) -> str:
    """Turn argparse's wording into ``<flag or field>: <problem>``."""
    if message.startswith("argument "):
        flag, _, rest = message[len("argument "):].partition(": ")
        flag = flag.split("/")[0]                 # "--bbml2/--no-bbml2" -> "--bbml2"
        return f"{flag}: {rest.replace('invalid choice: ', 'invalid choice ')}"
    if message.startswith("the following arguments are required: "):
        names = message.split(": ", 1)[1]
        return f"{names.split(',')[0].strip()}: required"
    if message.startswith("unrecognized arguments: "):
        args = message.split(": ", 1)[1]
        return f"{args.split()[0]}: unrecognized argument"
    return f"usage: {message}"


# -- building the parser -------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser, many_modes: bool) -> None:
    if many_modes:
        p.add_argument("--mode", action="append", choices=MODES, metavar="MODE",
                       help=f"a mode to include (repeatable; default all: {', '.join(MODES)})")
    else:
        p.add_argument("--mode", choices=MODES, default="patched", metavar="MODE",
                       help=f"one of {', '.join(MODES)} (default patched)")
    p.add_argument("--arch", choices=ARCH_NAMES, metavar="NAME",
                   help=f"override the architecture ({', '.join(ARCH_NAMES)}; workload: "
                   "default arm64)")
    p.add_argument("--page-size", type=int, metavar="N",
                   help="override the page size in bytes (default: the architecture's)")
    p.add_argument("--bbml2", action=argparse.BooleanOptionalAction, default=None,
                   help="arm64: the CPU has BBML2 without aborts (no TLBI when unfolding)")
    p.add_argument("--tlb", choices=TLB_CHOICES, metavar="POLICY",
                   help="x86_64: 'defer' (the mm has run on another CPU: one deferred flush "
                   "per batch) or 'immediate' (a one-CPU process: flush_tlb_range() at once); "
                   "arm64 always defers, sparc64 flushes per PTE")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="Simulate try_to_unmap_one() for anonymous large "
                    "folios before and after the batch-unmapping series.")
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)

    p = sub.add_parser("run", help="run one scenario in one mode and report")
    p.add_argument("file", metavar="FILE", help="scenario JSON (simcore.scenario/1)")
    _common(p, many_modes=False)
    p.add_argument("--bug", action="append", default=[], metavar="NAME",
                   help=f"a bug-zoo variant (repeatable): {', '.join(BUGS)}")
    p.add_argument("--trace", action="store_true", help="also print the trace events")

    p = sub.add_parser("compare", help="run one scenario in every mode, side by side")
    p.add_argument("file", metavar="FILE", help="scenario JSON (simcore.scenario/1)")
    _common(p, many_modes=True)
    p.add_argument("--bug", action="append", default=[], metavar="NAME",
                   help="a bug-zoo variant applied in every mode (repeatable)")

    p = sub.add_parser("check", help="validate a scenario file (and build it) without running")
    p.add_argument("file", metavar="FILE", help="scenario JSON (simcore.scenario/1)")
    _common(p, many_modes=False)

    p = sub.add_parser("workload", help="the cover letter's MADV_PAGEOUT benchmark, generated")
    p.add_argument("--size", default="256M", help="bytes to page out (default 256M)")
    p.add_argument("--folio", default="64K", help="folio size (default 64K)")
    p.add_argument("--kind", choices=WORKLOAD_KINDS, default="swapout", metavar="KIND",
                   help="'swapout' (memset, MADV_PAGEOUT: the cover letter's benchmark) or "
                   "'lazyfree' (memset, MADV_FREE, MADV_PAGEOUT: clean folios are dropped)")
    _common(p, many_modes=True)

    for name in HOMEWORK_COMMANDS:
        sub.add_parser(name, help=f"moved: use 'python -m classroom {name}'", add_help=False)
    return parser


def override_arch(doc: dict[str, Any], arch: str | None, page_size: int | None,
                  bbml2: bool | None, tlb: str | None = None) -> dict[str, Any]:
    """A copy of ``doc`` with the flags' architecture; errors name the flag."""
    old = dict(doc.get("arch") or {"name": "x86_64"})
    new = dict(old)
    if arch is not None and arch != old.get("name"):
        new = {"name": arch}
        if "defer_flush" in old and arch == "x86_64":     # (only x86 has a choice)
            new["defer_flush"] = old["defer_flush"]
        if arch == "arm64" and "bbml2" in old:
            new["bbml2"] = old["bbml2"]
    if page_size is not None:
        new["page_size"] = page_size
    if bbml2 is not None:
        new["bbml2"] = bbml2
    if tlb is not None:
        _check_tlb(new["name"])
        new["defer_flush"] = tlb == "defer"
    if new == old:
        return doc
    try:
        get_arch(new["name"], new.get("page_size"), new.get("bbml2", False),
                 new.get("defer_flush"), new.get("adi"))
    except ArchError as e:
        field, _, problem = str(e).partition(": ")
        flag = {"arch": "--arch", "arch.page_size": "--page-size", "arch.bbml2": "--bbml2"}
        given = {"arch": arch, "arch.page_size": page_size, "arch.bbml2": bbml2}
        if given.get(field) is not None or field == "arch":
            field = flag.get(field, field)
        elif arch is not None:
            field = "--arch"
        raise UsageError(f"{field}: {problem}") from None
    out = dict(doc)
    out["arch"] = new
    return out


def load_system(args):
    """(scenario name, System) from FILE and the arch flags."""
    doc = read(args.file)
    doc = override_arch(doc, args.arch, args.page_size, args.bbml2, args.tlb)
    return doc.get("name") or Path(args.file).stem, from_dict(doc)


def bug_names(names: list[str]) -> tuple[str, ...]:
    try:
        return tuple(sorted(check_bug_names(names)))
    except BugError as e:
        raise UsageError("--" + str(e)) from None


# -- commands ------------------------------------------------------------------------------------
def _print_json(obj: Any, out) -> None:
    out.write(json.dumps(obj, indent=2) + "\n")


def cmd_run(args, out) -> int:
    from simcore.report import format_text, run_report

    bugs = bug_names(args.bug)
    name, system = load_system(args)
    states = args.trace and args.json
    if states:
        check_trace_size(system, args.mode, bugs)
    result, obj = run_report(system, args.mode, bugs, name=name, trace=args.trace,
                             snapshots=states)
    if args.json:
        _print_json(obj, out)
    else:
        out.write(format_text(result, name, trace=args.trace) + "\n")
    return 0 if result.ok else 1


def check_trace_size(system, mode: str, bugs) -> None:
    """Refuse a ``--trace --json`` whose states would exceed `MAX_TRACE_JSON` (counted on a
    run without states, which costs what the report costs anyway)."""
    from simcore.api import run

    events = len(run(system, mode, bugs, trace=True, snapshots=False).trace)
    per_state = len(json.dumps({"trace": [{"state": system.snapshot()}]}, indent=2))
    if events * per_state > MAX_TRACE_JSON:
        raise UsageError(f"--trace: with --json the {events:,} events would carry about "
                         f"{events * per_state / 1e6:.0f} MB of states, more than the limit of "
                         f"{MAX_TRACE_JSON / 1e6:.0f} MB (use --trace without --json, another "
                         f"--mode or a smaller folio)")


def cmd_compare(args, out) -> int:
    from simcore.api import run
    from simcore.report import compare_json, format_compare

    bugs = bug_names(args.bug)
    modes = list(dict.fromkeys(args.mode)) if args.mode else list(MODES)
    name, system = load_system(args)
    results = {m: run(system, m, bugs, trace=True, snapshots=False) for m in modes}
    if args.json:
        _print_json(compare_json(results, name), out)
    else:
        out.write(format_compare(results, name) + "\n")
    return 0 if all(r.ok for r in results.values()) else 1


def cmd_check(args, out) -> int:
    from simcore.report import mapped_slots

    name, system = load_system(args)
    f = system.folio
    nptes = len(mapped_slots(system))
    faults = sum(len(getattr(system.faults, op)) for op in ("dup_swap", "arch_unmap_one", "pin"))
    info = {"ok": True, "file": args.file, "scenario": name, "arch": system.arch.describe(),
            "order": f.order, "pages": f.nr_pages, "mms": list(system.mms),
            "ptes": nptes, "faults": faults}
    if args.json:
        _print_json(info, out)
    else:
        out.write(f"{args.file}: valid — {name}; {info['arch']}; order-{f.order} folio "
                  f"({f.nr_pages} pages), {len(system.mms)} mm(s), {nptes} PTE(s) mapping it, "
                  f"{faults} fault(s)\n")
    return 0


def _check_tlb(arch: str) -> None:
    """``--tlb`` is a choice only on x86_64 (`simcore.arch`)."""
    if arch != "x86_64":
        raise UsageError(f"--tlb: only x86_64 has a choice ({arch} "
                         + ("always defers)" if arch == "arm64" else "flushes per PTE)"))


def cmd_workload(args, out) -> int:
    from simcore import workload

    try:
        arch = args.arch or "arm64"
        if args.tlb is not None:
            _check_tlb(arch)
        w = workload.build(args.size, args.folio, arch, args.page_size, bool(args.bbml2),
                           kind=args.kind, defer_flush=None if args.tlb is None
                           else args.tlb == "defer")
    except ArchError as e:
        field, _, problem = str(e).partition(": ")
        flag = {"arch": "--arch", "arch.page_size": "--page-size", "arch.bbml2": "--bbml2"}
        raise UsageError(f"{flag.get(field, field)}: {problem}") from None
    except workload.WorkloadError as e:
        raise UsageError(f"--{e.field}: {e.problem}") from None
    modes = list(dict.fromkeys(args.mode)) if args.mode else list(MODES)
    results = {m: workload.run(w, m) for m in modes}
    if args.json:
        _print_json({"workload": w.describe(), "modes": results,
                     "ok": all(r.get("ok", True) for r in results.values())}, out)
    else:
        out.write(format_workload(w.describe(), results) + "\n")
    return 0 if all(r.get("ok", True) for r in results.values()) else 1


def format_workload(title: str, results: dict[str, dict[str, Any]]) -> str:
    """The workload's modes side by side."""
    from simcore.report import KEY_COUNTERS

    names = list(results)
    w = max(14, *(len(m) for m in names)) + 2
    lines = [f"workload: {title}", ""]

    def row(label, values):
        lines.append(f"{label:<22}" + "".join(f"{str(v):>{w}}" for v in values))

    row("", names)
    row("all unmapped", ["yes" if results[m].get("ok", True) else "no" for m in names])
    for k in KEY_COUNTERS:
        vals = [results[m].get("costs", {}).get(k, 0) for m in names]
        if any(vals):
            row(k, vals)
    est = [results[m].get("estimate_ns") for m in names]
    scope = next((results[m].get("estimate_scope") for m in names
                  if results[m].get("estimate_scope")), None)
    row("estimate (ms)" if scope != "unmap" else "unmap estimate (ms)",
        [f"{e / 1e6:.2f}" if e is not None else "n/a" for e in est])
    row("simulated in (s)", [f"{results[m].get('seconds', 0):.2f}" for m in names])
    bad = [m for m in names if results[m].get("consistency")
           or any(results[m].get("violations_sampled", {}).values())]
    lines.append("")
    lines.append("checks: " + ("all hold" if not bad else "problems in " + ", ".join(bad)))
    return "\n".join(lines)


COMMANDS = {"run": cmd_run, "compare": cmd_compare, "check": cmd_check,
            "workload": cmd_workload}


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    """Run the command line; return the exit code (never raises on bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    err = err or sys.stderr
    if argv and argv[0] in HOMEWORK_COMMANDS:     # simcore does not import classroom
        err.write(f"{PROG}: '{argv[0]}' moved to the classroom package: "
                  f"python -m classroom {argv[0]} ...\n")
        return 2
    try:
        args = build_parser().parse_args(argv)
        # what a scenario names (a title, an mm) is printed, so printing is escaped
        return COMMANDS[args.command](args, SafeWriter(out))
    except (UsageError, ScenarioError) as e:
        err.write(f"{PROG}: {one_line(str(e)) or 'bad input'}\n")
        return 2
    except SystemExit as e:        # --help, --version
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    except KeyboardInterrupt:
        return interrupted(PROG, err)
