"""Shared by the live tests: when they may run, and a snapshot of every setting the lab may
change (to check that it was restored)."""

from __future__ import annotations

import os
from pathlib import Path

from kernlab import env

LIVE = os.environ.get("KERNLAB_LIVE") == "1"
REPO = Path(__file__).resolve().parents[2]
WHY = ("the live-kernel lab changes system settings; it runs only with KERNLAB_LIVE=1 as "
       "root (.ci/run sets it)")
SKIP_UNLESS_LIVE = dict(condition=not LIVE or os.geteuid() != 0, reason=WHY)


def settings_snapshot() -> dict:
    """Everything the lab may change, as text."""
    e = env.detect()
    cg = sorted(n for n in os.listdir(e.memcg[0]) if n.startswith("kernlab")) if e.memcg else []
    inst = "/sys/kernel/tracing/instances"
    return {"thp": e.thp_enabled, "mthp": e.mthp_enabled, "swaps": env.swaps(),
            "zram": Path("/sys/block/zram0/disksize").read_text() if e.zram_free or
            os.path.exists("/sys/block/zram0") else None,
            "tracefs": os.path.isdir(inst),
            "instances": sorted(os.listdir(inst)) if os.path.isdir(inst) else [],
            "memcg": cg, "journal": os.path.exists(env.JOURNAL)}
