"""The command line: ``python -m kernlab check|bench|env|restore``.

::

    python -m kernlab check [--setup] [--json] [--only NAME]... [--record FILE]
    python -m kernlab bench [--setup] [--json] [--repeat N] [--size 256M] [--folio 64K]...
                            [--perf] [--record FILE]
    python -m kernlab env [--json]
    python -m kernlab restore

``check`` prints one line per experiment (``agree``, ``disagree: what differed``, ``skipped:
why``) and a last line ``N agree, M disagree, K skipped``; exit 0 only when nothing disagrees.
Without ``--setup`` no system setting is changed: experiments that need one are skipped with
the reason. With ``--setup`` (root) the lab says on stderr what it changes and restores it,
also on Ctrl-C (exit 130). Bad flags: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from kernlab import bench as benchmod
from kernlab import env as envmod
from kernlab import experiments as ex

PROG = "kernlab"


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


def _size(text: str) -> int:
    t = text.strip().upper().removesuffix("B")
    mult = {"K": 1024, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    num = t[:-1] if t[-1:] in "KMG" else t
    if not num.isdigit() or int(num) <= 0:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 64K, 256M)")
    return int(num) * mult


def _parser() -> Parser:
    p = Parser(prog=PROG, description="The live-kernel lab: the book's scenarios on this kernel, "
               "compared with simcore.")
    sub = p.add_subparsers(dest="cmd", parser_class=Parser, required=True, metavar="command")
    c = sub.add_parser("check", help="run the state experiments and compare with simcore")
    c.add_argument("--setup", action="store_true",
                   help="(root) set mTHP sizes, add zram swap, a tracefs instance and a memory "
                        "cgroup for the run; everything is restored afterwards")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument("--only", action="append", metavar="NAME", help="run only this experiment "
                   "(repeatable; the mode detection always runs first)")
    c.add_argument("--record", metavar="FILE", help="also write the JSON record to FILE")
    b = sub.add_parser("bench", help="time the cover-letter workload beside simcore")
    b.add_argument("--setup", action="store_true", help="as for check")
    b.add_argument("--json", action="store_true")
    b.add_argument("--repeat", type=int, default=7, help="runs per folio size (median; 1-50)")
    b.add_argument("--size", type=_size, default=256 << 20, help="bytes paged out (default 256M)")
    b.add_argument("--folio", type=_size, action="append", help="folio size (repeatable; "
                   "default 4K and those of 16K, 64K, 256K, 1M, 2M the kernel offers)")
    b.add_argument("--perf", action="store_true", help="also sample with perf for the share "
                   "spent in try_to_unmap() (root, perf installed)")
    b.add_argument("--record", metavar="FILE")
    e = sub.add_parser("env", help="what this kernel offers (reads only)")
    e.add_argument("--json", action="store_true")
    sub.add_parser("restore", help="undo the settings a killed run left (journal in /run)")
    return p


def _err(msg: str) -> None:
    print(f"{PROG}: {msg}", file=sys.stderr)


def _check_record(path: str | None) -> None:
    """Refuse a --record target that cannot be written before the run, not after it."""
    if path is None:
        return
    if os.path.isdir(path):
        raise UsageError(f"--record: {path!r} is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(parent):            # _write_record creates missing directories
        parent = os.path.dirname(parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--record: cannot write under {parent!r}")


def _write_record(path: str, data: dict) -> None:
    tmp = path + ".tmp"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, default=str)
        os.replace(tmp, path)
    except OSError as e:
        raise UsageError(f"--record: cannot write {path!r} ({e.strerror})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def header(env: envmod.Env) -> dict:
    return {"kernel": env.kernel, "machine": env.machine, "cpus": env.cpus,
            "mem_mb": env.mem_mb, "root": env.root,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def cmd_check(args, env: envmod.Env) -> int:
    _check_record(args.record)
    settings = None
    if args.setup:
        if not env.root:
            raise UsageError("--setup: needs root (run without it to see what works unprivileged)")
        settings = envmod.Settings()
    known = {name for name, _ in ex.plan(ex.Lab(env))}
    for name in args.only or []:
        if name not in known:
            raise UsageError(f"--only: unknown experiment {name!r} "
                             f"(one of {', '.join(sorted(known))})")
    outcomes: list[ex.Outcome] = []
    t0 = time.monotonic()

    def go(lab: ex.Lab) -> None:
        for name, thunk in ex.plan(lab):
            if args.only and name != "mode" and name not in args.only:
                continue
            o = ex.run_one(name, thunk)
            if name == "mode" and not lab.mode_detected:
                o.reason += f" (the comparisons below use simcore --mode {lab.mode})"
            outcomes.append(o)
            if not args.json:
                print(o.line(), flush=True)

    lab = ex.Lab(env)
    if settings is not None:
        with settings:
            lab.settings = settings
            go(lab)
    else:
        go(lab)
    n = {s: sum(o.status == s for o in outcomes) for s in ("agree", "disagree", "skipped")}
    summary = f"{n['agree']} agree, {n['disagree']} disagree, {n['skipped']} skipped"
    record = {"schema": "kernlab.check/1", "host": header(env), "env": env.as_dict(),
              "setup": bool(args.setup), "mode": lab.mode, "mode_detected": lab.mode_detected,
              "seconds": round(time.monotonic() - t0, 1),
              "outcomes": [o.as_dict() for o in outcomes], "summary": n}
    if args.record:
        _write_record(args.record, record)
    if args.json:
        print(json.dumps(record, indent=1, default=str))
    else:
        print(summary)
    return 1 if n["disagree"] else 0


def cmd_bench(args, env: envmod.Env) -> int:
    _check_record(args.record)
    if not 1 <= args.repeat <= 50:
        raise UsageError(f"--repeat: {args.repeat} is not between 1 and 50")
    if args.size > env.mem_mb * (1 << 20) // 4:
        raise UsageError(f"--size: {args.size >> 20} MiB is more than a quarter of this "
                         f"machine's memory")
    settings = None
    if args.setup:
        if not env.root:
            raise UsageError("--setup: needs root")
        settings = envmod.Settings()
    folios = args.folio or [4096, *[s for s in env.mthp_sizes if s in benchmod.DEFAULT_FOLIOS]]
    for f in folios:
        if f != 4096 and f not in env.mthp_sizes:
            raise UsageError(f"--folio: this kernel offers no {f // 1024}K mTHP size")
        if args.size % f:
            raise UsageError(f"--folio: {f // 1024}K does not divide --size")
    lab = ex.Lab(env)
    if settings is not None:
        with settings:
            lab.settings = settings
            res = benchmod.run(lab, args.size, folios, args.repeat, args.perf,
                               quiet=args.json)
    else:
        res = benchmod.run(lab, args.size, folios, args.repeat, args.perf, quiet=args.json)
    res["host"] = header(env)
    if args.record:
        _write_record(args.record, res)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(benchmod.table(res))
    return 0


def cmd_env(args, env: envmod.Env) -> int:
    if args.json:
        print(json.dumps(env.as_dict(), indent=1))
        return 0
    usable = ", ".join(f"{s // 1024}K" for s in env.usable_sizes()) or "none"
    print(f"kernel {env.kernel} {env.machine}, {env.cpus} CPUs, {env.mem_mb} MiB, "
          f"{'root' if env.root else 'not root'}")
    print(f"mTHP sizes: {', '.join(f'{s // 1024}K' for s in env.mthp_sizes) or 'none'} "
          f"(usable now for MADV_HUGEPAGE: {usable}; THP enabled={env.thp_enabled})")
    print("swap: " + (", ".join(f"{s['name']} ({s['type']})" for s in env.swaps) or "none")
          + f"; zram for the lab: {'free' if env.zram_free else 'not available'}")
    print(f"tracefs mounted: {env.tracefs}; memory cgroup: "
          f"{f'v{env.memcg[1]} at {env.memcg[0]}' if env.memcg else 'none'}; "
          f"perf: {env.perf or 'not installed'}")
    return 0


def cmd_restore(args, env: envmod.Env) -> int:
    n = envmod.restore_journal(log=lambda m: _err(m))
    print(f"{n} setting(s) restored" if n else "nothing to restore")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except UsageError as e:
        _err(str(e))
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)
    try:
        env = envmod.detect()
        return {"check": cmd_check, "bench": cmd_bench, "env": cmd_env,
                "restore": cmd_restore}[args.cmd](args, env)
    except UsageError as e:
        _err(str(e))
        return 2
    except KeyboardInterrupt:
        _err("interrupted" + ("; settings restored" if getattr(args, "setup", False) else ""))
        return 130
    except envmod.Unavailable as e:
        _err(str(e))
        return 2
    except BrokenPipeError:
        return 1
