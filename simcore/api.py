"""One call to run a scenario: copy the system, unmap the folio, check the result.

This is the entry point widgets, figures, exercises and the command line use; it adds no unmap
logic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from simcore.check import Violation, check
from simcore.costs import Costs
from simcore.system import System
from simcore.trace import Trace
from simcore.unmap import try_to_unmap


@dataclass
class Result:
    ok: bool
    mode: str
    bugs: tuple[str, ...]
    system: System
    trace: Trace | None
    violations: list[Violation]
    #: why the scenario's caller would not have called try_to_unmap() on this folio
    #: (`simcore.reach`), or None
    not_reached: str | None = None

    @property
    def costs(self) -> Costs:
        return self.system.costs


def run(system: System, mode: str = "patched", bugs=(), trace: bool = False,
        snapshots: bool | str = True, swap_dup: str = "sub-batch") -> Result:
    """Unmap a copy of ``system``'s folio in ``mode`` (optionally a bug-zoo variant).

    With ``trace`` the result carries the events. ``snapshots`` says what each event carries:
    True the full state (`System.snapshot`, what the players redraw), ``"costs"`` only the
    cost counters after the step, False nothing (cheapest, for widgets that need the events).
    ``swap_dup`` is how the patched mode raises swap counts: per exclusivity sub-batch
    ("sub-batch", the default) or once per batch ("batch"); v4 12/12 is INFERRED either way.
    """
    from simcore.reach import why_not_reached

    not_reached = why_not_reached(system)
    sys = system.copy()
    if snapshots == "costs":
        def snap():
            return {"costs": sys.costs.as_dict()}
    else:
        snap = sys.snapshot if snapshots else None
    tr = Trace(snap) if trace else None
    if tr is not None:
        tr.emit("start", "try_to_unmap", "before the unmap")
    ok = try_to_unmap(sys, mode, bugs, tr, swap_dup=swap_dup)
    names = (bugs,) if isinstance(bugs, str) and bugs else tuple(bugs or ())
    return Result(ok, mode, names, sys, tr, check(sys, ok), not_reached)


def run_modes(system: System, modes=("per-pte", "baseline", "patched"), trace: bool = False):
    return {m: run(system, m, trace=trace) for m in modes}
