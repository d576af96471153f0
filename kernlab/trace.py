"""Tracepoints through a private tracefs instance: ``kmem:rss_stat`` and ``tlb:tlb_flush``.

``rss_stat`` fires on every `add_mm_counter()` (one line per update of MM_ANONPAGES,
MM_SWAPENTS, ...), ``tlb_flush`` on every TLB flush with its reason. The lab counts them per
folio: the count of rss_stat events tells how many PTEs the kernel handles per loop iteration
of `try_to_unmap_one()`, i.e. whether it runs per PTE, like the kernel before the series, or in
batches. The instance directory is created and removed by `kernlab.env.Settings`; this module
only enables events in it and reads them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

# "  python3-1234    [001] d..1.   123.456789: rss_stat: mm_id=7 curr=1 type=MM_ANONPAGES ..."
_LINE = re.compile(r"^\s*(?P<comm>.*?)-(?P<pid>\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(?P<cpu>\d+)\]"
                   r"\s+(?:\S{4,6}\s+)?(?P<ts>\d+\.\d+):\s+(?P<event>\w+):\s?(?P<body>.*)$")
_KV = re.compile(r"(\w+)=(\S+)")
_TLB = re.compile(r"pages:(?P<pages>-?\d+) reason:(?P<reason>.*?) \((?P<code>\d+)\)")

EVENTS = {"rss_stat": "kmem/rss_stat", "tlb_flush": "tlb/tlb_flush"}


@dataclass
class Event:
    pid: int
    cpu: int
    name: str
    fields: dict = field(default_factory=dict)


def parse_line(line: str) -> Event | None:
    """One line of a trace file → Event, or None for comments and lines of other shapes."""
    if line.startswith("#"):
        return None
    m = _LINE.match(line)
    if not m:
        return None
    name, body = m["event"], m["body"]
    fields: dict = {}
    if name == "tlb_flush":
        t = _TLB.search(body)
        if t:
            fields = {"pages": int(t["pages"]), "reason": t["reason"], "code": int(t["code"])}
    else:
        for k, v in _KV.findall(body):
            fields[k] = int(v[:-1]) if k == "size" and v.endswith("B") else (
                int(v) if v.lstrip("-").isdigit() else v)
    return Event(int(m["pid"]), int(m["cpu"]), name, fields)


def parse(text: str) -> list[Event]:
    return [e for e in map(parse_line, text.splitlines()) if e is not None]


def count(events: list[Event], name: str, **match) -> int:
    return sum(1 for e in events if e.name == name
               and all(e.fields.get(k) == v for k, v in match.items()))


class Tracer:
    """Record chosen events of one pid in the tracefs instance at ``path``."""

    def __init__(self, path: str, events=("rss_stat", "tlb_flush")):
        self.path = path
        self.events = events

    def _w(self, name: str, value: str) -> None:
        with open(os.path.join(self.path, name), "w") as f:
            f.write(value)

    def start(self, pid: int) -> None:
        self._w("tracing_on", "0")
        self._w("buffer_size_kb", "8192")
        self._w("set_event_pid", str(pid))
        for ev in EVENTS.values():
            self._w(f"events/{ev}/enable", "0")
        for ev in self.events:
            self._w(f"events/{EVENTS[ev]}/enable", "1")
        self._w("trace", "")
        self._w("tracing_on", "1")

    def stop(self) -> list[Event]:
        self._w("tracing_on", "0")
        with open(os.path.join(self.path, "trace")) as f:
            text = f.read()
        for ev in self.events:
            self._w(f"events/{EVENTS[ev]}/enable", "0")
        self._w("trace", "")
        return parse(text)
