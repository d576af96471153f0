"""Run a probe in a forked child process and get its JSON-able result back.

Each experiment drives the kernel from a fresh child: its memory, counters and trace events are
its own (the lab's process is not measured), a crash cannot take the lab down, and a probe that
hangs is killed after a bounded time. The child never runs the parent's clean-up code: it leaves
with `os._exit`.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import time
import traceback


class ProbeError(Exception):
    """The probe failed in the child; the message is its last error line."""


_libc = ctypes.CDLL(None, use_errno=True)


def current_cpu() -> int:
    return _libc.sched_getcpu()


def join_memcg(memcg: tuple[str, int], pid: int | None = None) -> None:
    path, version = memcg
    with open(os.path.join(path, "tasks" if version == 1 else "cgroup.procs"), "w") as f:
        f.write(str(pid or os.getpid()))


def run(fn, *args, memcg: tuple[str, int] | None = None, one_cpu: bool = False,
        timeout: float = 180.0):
    """``fn(*args)`` in a child process (joined to ``memcg`` and/or pinned to the CPU it starts
    on, first); returns what it returned (JSON round-trip)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(r)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            if one_cpu:
                os.sched_setaffinity(0, {current_cpu()})
            if memcg:
                join_memcg(memcg)
            out = {"value": fn(*args)}
        except BaseException as e:  # noqa: BLE001 - everything goes back to the parent
            line = str(e) or type(e).__name__
            out = {"error": f"{type(e).__name__}: {line}",
                   "where": traceback.format_exc().strip().splitlines()[-3:]}
        try:
            data = json.dumps(out).encode()
        except (TypeError, ValueError) as e:
            data = json.dumps({"error": f"result not JSON: {e}"}).encode()
        try:
            while data:
                data = data[os.write(w, data):]
        finally:
            os._exit(0)
    os.close(w)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise ProbeError(f"probe {fn.__name__} timed out after {timeout:.0f} s")
            ready, _, _ = select.select([r], [], [], min(left, 1.0))
            if ready:
                b = os.read(r, 65536)
                if not b:
                    break
                chunks.append(b)
    except BaseException:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        raise
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    try:
        out = json.loads(b"".join(chunks) or b"{}")
    except ValueError as e:
        raise ProbeError(f"probe {fn.__name__} returned garbage: {e}") from None
    if "error" in out or "value" not in out:
        raise ProbeError(out.get("error", f"probe {fn.__name__} died"))
    return out["value"]
