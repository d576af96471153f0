"""Traces: the ordered events of one run, each with what is needed to redraw that step.

A `Trace` is handed to `try_to_unmap()`; the unmap code calls `emit()` at each step of interest
(walk stop, batch chosen, clear, TLB, sub-batch, dup, share, swap PTEs written, counters,
restore, failure …). When the trace was created with a `snapshot` callable, each event also
carries the state after the step — the PTE codes of every slot that maps the folio, the folio's
E/N string, mapcount, refcount and a copy of the cost counters — which is what the step-through
player, the widgets and the exercise checkers redraw from. Tracing is off (``trace=None``) for
big workloads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EVENT_KINDS = (
    "start", "walk", "skip", "batch", "unfold", "clear", "tlb", "dirty", "sub_batch", "dup",
    "arch_unmap_one", "share", "swap_ptes", "counters", "finish", "lazyfree", "restore", "fault",
    "fail", "end",
)


@dataclass
class Event:
    kind: str
    fn: str
    text: str
    mm: str | None = None
    addr: int | None = None
    page: int | None = None
    nr: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, "fn": self.fn, "text": self.text}
        for k in ("mm", "addr", "page", "nr"):
            v = getattr(self, k)
            if v is not None:
                d[k] = hex(v) if k == "addr" else v
        if self.data:
            d["data"] = self.data
        if self.state is not None:
            d["state"] = self.state
        return d


class Trace:
    """An append-only list of events."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]] | None = None) -> None:
        self.events: list[Event] = []
        self.snapshot = snapshot

    def emit(self, kind: str, fn: str, text: str, mm: str | None = None, addr: int | None = None,
             page: int | None = None, nr: int | None = None, **data: Any) -> None:
        assert kind in EVENT_KINDS, kind
        state = self.snapshot() if self.snapshot else None
        self.events.append(Event(kind, fn, text, mm, addr, page, nr, data, state))

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    def as_list(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.events]

    def __len__(self) -> int:
        return len(self.events)
