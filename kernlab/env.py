"""What the running kernel offers, and the settings the lab may change (only when asked).

`detect()` reads, never writes. `Settings` is the only code in the lab that changes the
system: mTHP sizes, a zram swap device, a tracefs instance, a memory cgroup. It records every
change before making it, in memory and in a journal file (so that ``python -m kernlab restore``
can undo a run that was killed), and undoes them in reverse order when the ``with`` block ends,
also on Ctrl-C, SIGTERM or an exception. It never touches a swap device it did not create.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

from kernlab import counters

MTHP = counters.MTHP_DIR
TRACEFS = "/sys/kernel/tracing"
ZRAM = "zram0"
JOURNAL = "/run/kernlab-journal.json"
CGROUP_V1 = "/sys/fs/cgroup/memory"
CGROUP_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")


class Unavailable(Exception):
    """A requirement is missing; the message says which (an experiment is then skipped)."""


def _read(path: str, default: str = "") -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def _selected(text: str) -> str:
    """'always [madvise] never' → 'madvise'."""
    for word in text.split():
        if word.startswith("["):
            return word.strip("[]")
    return text


def swaps() -> list[dict]:
    """Active swap devices from /proc/swaps."""
    out = []
    for line in _read("/proc/swaps").splitlines()[1:]:
        p = line.split()
        if len(p) >= 5:
            out.append({"name": p[0], "type": p[1], "size_kb": int(p[2]), "used_kb": int(p[3]),
                        "priority": int(p[4])})
    return out


def memcg_root() -> tuple[str, int] | None:
    """(path, version) of a memory cgroup hierarchy we could create a child in."""
    if os.path.exists(os.path.join(CGROUP_V1, "memory.limit_in_bytes")):
        return CGROUP_V1, 1
    for root in CGROUP_ROOTS:
        if "memory" in _read(os.path.join(root, "cgroup.controllers")).split():
            return root, 2
    return None


@dataclass
class Env:
    root: bool
    kernel: str
    machine: str
    cpus: int
    mem_mb: int
    mthp_sizes: list[int]
    thp_enabled: str
    mthp_enabled: dict[int, str]
    swaps: list[dict]
    zram_free: bool
    tracefs: bool
    memcg: tuple[str, int] | None
    perf: str | None
    uffd_unprivileged: str
    pid_max: int = 0
    notes: list[str] = field(default_factory=list)

    def usable_sizes(self) -> list[int]:
        """mTHP sizes a MADV_HUGEPAGE'd mapping would get right now, without changing anything."""
        def on(v):
            return v in ("always", "madvise") or (v == "inherit"
                                                  and self.thp_enabled in ("always", "madvise"))
        return [s for s in self.mthp_sizes if on(self.mthp_enabled.get(s, "never"))]

    def as_dict(self) -> dict:
        d = asdict(self)
        d["mthp_enabled"] = {str(k): v for k, v in self.mthp_enabled.items()}
        return d


def detect() -> Env:
    sizes = counters.mthp_sizes()
    mem_kb = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    zram_dev = f"/sys/block/{ZRAM}"
    zram_free = (os.path.exists(zram_dev) and os.path.exists(f"/dev/{ZRAM}")
                 and _read(f"{zram_dev}/disksize", "1") == "0"
                 and not any(s["name"] == f"/dev/{ZRAM}" for s in swaps()))
    return Env(
        root=os.geteuid() == 0,
        kernel=platform.release(), machine=platform.machine(), cpus=os.cpu_count() or 1,
        mem_mb=mem_kb // 1024, mthp_sizes=sizes,
        thp_enabled=_selected(_read(f"{MTHP}/enabled", "never")),
        mthp_enabled={s: _selected(_read(f"{MTHP}/hugepages-{s // 1024}kB/enabled"))
                      for s in sizes},
        swaps=swaps(), zram_free=zram_free,
        tracefs=os.path.isdir(f"{TRACEFS}/instances"),
        memcg=memcg_root(), perf=shutil.which("perf"),
        uffd_unprivileged=_read("/proc/sys/vm/unprivileged_userfaultfd", "?"),
    )


# -- changing settings, with a journal ------------------------------------------------------------
def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _undo(rec: dict) -> None:
    op = rec["op"]
    if op == "write":
        _write(rec["path"], rec["old"])
    elif op == "swap":
        dev = rec["dev"]
        if any(s["name"] == dev for s in swaps()):
            subprocess.run(["swapoff", dev], check=True, capture_output=True)
        _write(f"/sys/block/{os.path.basename(dev)}/reset", "1")
    elif op == "rmdir":
        for attempt in range(50):
            try:
                os.rmdir(rec["path"])
                return
            except FileNotFoundError:
                return
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.1)
    elif op == "umount":
        subprocess.run(["umount", rec["path"]], check=True, capture_output=True)
    else:
        raise ValueError(f"unknown journal record {op!r}")


def _describe(rec: dict) -> str:
    op = rec["op"]
    if op == "write":
        return f"{rec['path']}: {rec['old']} -> {rec['new']}"
    if op == "swap":
        return f"swap on {rec['dev']} ({rec['size']}, zram)"
    if op == "rmdir":
        return f"created {rec['path']}"
    return f"mounted {rec['path']}"


def restore_journal(path: str = JOURNAL, log=None) -> int:
    """Undo what a killed run left in its journal; returns the number of records undone."""
    try:
        with open(path) as f:
            j = json.load(f)
    except FileNotFoundError:
        return 0
    if j.get("pid") and _alive(j["pid"]):
        raise Unavailable(f"kernlab run {j['pid']} is still running and holds the settings")
    n = 0
    for rec in reversed(j.get("records", [])):
        _undo(rec)
        n += 1
        if log:
            log(f"restored {_describe(rec)}")
    os.unlink(path)
    return n


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class _Terminated(BaseException):
    pass


class Settings:
    """Change system settings, recording each change; undo them all on exit (any exit)."""

    def __init__(self, log=None, journal: str = JOURNAL):
        self.log = log or (lambda msg: print(f"kernlab: {msg}", file=sys.stderr))
        self.journal = journal
        self.records: list[dict] = []
        self._old_handlers: dict = {}
        self.trace_path: str | None = None
        self.memcg: tuple[str, int] | None = None
        self.swap_dev: str | None = None

    # context manager ---------------------------------------------------------------------------
    def __enter__(self) -> Settings:
        if os.geteuid() != 0:
            raise Unavailable("--setup needs root")
        if os.path.exists(self.journal):
            restore_journal(self.journal, self.log)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        self._save()
        return self

    def _on_signal(self, signum, frame):
        raise _Terminated(signum)

    def __exit__(self, exc_type, exc, tb):
        self.restore()
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)
        if exc_type is _Terminated:
            raise SystemExit(128 + exc.args[0])
        return False

    def restore(self) -> None:
        failed = []
        # Ctrl-C during the restore must not leave it half done.
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            while self.records:
                rec = self.records.pop()
                try:
                    _undo(rec)
                    self.log(f"restored {_describe(rec)}")
                except (OSError, subprocess.CalledProcessError) as e:
                    failed.append(rec)
                    self.log(f"could not restore {_describe(rec)}: {e}")
            self.records = failed
            if failed:
                self._save()
            elif os.path.exists(self.journal):
                os.unlink(self.journal)
        finally:
            signal.signal(signal.SIGINT, old)

    def _save(self) -> None:
        tmp = self.journal + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"pid": os.getpid(), "records": self.records}, f)
        os.replace(tmp, self.journal)

    def _record(self, rec: dict) -> None:
        self.records.append(rec)
        self._save()

    # the settings ------------------------------------------------------------------------------
    def write(self, path: str, value: str) -> None:
        old = _selected(_read(path))
        if old == value:
            return
        if not any(r["op"] == "write" and r["path"] == path for r in self.records):
            self._record({"op": "write", "path": path, "old": old, "new": value})
            self.log(f"set {path}: {old} -> {value}")
        _write(path, value)

    def mthp_only(self, size: int, env: Env) -> None:
        """Let MADV_HUGEPAGE'd memory get folios of exactly ``size`` bytes (4096: small pages)."""
        if size > 4096 and size not in env.mthp_sizes:
            raise Unavailable(f"this kernel offers no {size // 1024}K mTHP size")
        if size > 4096 and _selected(_read(f"{MTHP}/enabled")) == "never":
            self.write(f"{MTHP}/enabled", "madvise")
        for s in env.mthp_sizes:
            self.write(f"{MTHP}/hugepages-{s // 1024}kB/enabled",
                       "madvise" if s == size else "never")

    def zram_swap(self, env: Env, size: str = "2G") -> str:
        if self.swap_dev:
            return self.swap_dev
        if not env.zram_free:
            raise Unavailable(f"no free /dev/{ZRAM} for a swap device")
        if not shutil.which("mkswap") or not shutil.which("swapon"):
            raise Unavailable("mkswap/swapon not found")
        dev = f"/dev/{ZRAM}"
        self._record({"op": "swap", "dev": dev, "size": size})
        _write(f"/sys/block/{ZRAM}/disksize", size)
        subprocess.run(["mkswap", dev], check=True, capture_output=True)
        subprocess.run(["swapon", "-p", "32767", dev], check=True, capture_output=True)
        self.log(f"added swap on {dev} ({size}, zram, priority 32767)")
        self.swap_dev = dev
        return dev

    def trace_instance(self) -> str:
        if self.trace_path:
            return self.trace_path
        if not os.path.isdir(f"{TRACEFS}/instances"):
            if not os.path.isdir(TRACEFS):
                raise Unavailable(f"no {TRACEFS}")
            r = subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], capture_output=True)
            if r.returncode:
                raise Unavailable("tracefs cannot be mounted")
            self._record({"op": "umount", "path": TRACEFS})
            self.log(f"mounted tracefs at {TRACEFS}")
        path = f"{TRACEFS}/instances/kernlab-{os.getpid()}"
        for ev in ("kmem/rss_stat", "tlb/tlb_flush"):
            if not os.path.exists(f"{TRACEFS}/events/{ev}"):
                raise Unavailable(f"no tracepoint {ev.replace('/', ':')}")
        self._record({"op": "rmdir", "path": path})
        os.mkdir(path)
        self.log(f"created tracefs instance {path}")
        self.trace_path = path
        return path

    def memory_cgroup(self, env: Env) -> tuple[str, int]:
        if self.memcg:
            return self.memcg
        if env.memcg is None:
            raise Unavailable("no memory cgroup hierarchy")
        root, version = env.memcg
        if version == 2 and "memory" not in _read(f"{root}/cgroup.subtree_control").split():
            raise Unavailable(f"the memory controller is not enabled below {root}")
        path = os.path.join(root, f"kernlab-{os.getpid()}")
        self._record({"op": "rmdir", "path": path})
        os.mkdir(path)
        self.log(f"created memory cgroup {path} (v{version})")
        self.memcg = (path, version)
        return self.memcg
