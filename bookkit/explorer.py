"""The live widget of every chapter: controls → scenario → simcore runs → HTML.

`Explorer` wires ipywidgets controls to a function that writes a scenario dict from their
values; on every change it runs simcore in the chosen modes and redraws. A combination that
makes no valid scenario shows one line naming the problem, never a traceback. Tests drive it
from Python: set ``explorer.controls[name].value`` and read ``explorer.output.value`` /
``explorer.results``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from bookkit import render
from simcore.safeio import one_line


class ControlPanel:
    """ipywidgets controls above an HTML output; every change recomputes and redraws, timed.

    A subclass says what to draw (`draw`) and what to forget when the values make no valid
    input (`forget`); such values raise a ``ValueError`` (simcore's ScenarioError, ArchError,
    BugError and WorkloadError all are), shown as one line in ``error`` (escaped, at most 300
    characters: a message may quote what was typed), never a traceback.
    ``last_ms`` is how long the last update took.
    """

    def __init__(self, controls: dict[str, widgets.Widget]) -> None:
        self.controls = controls
        self.output = widgets.HTML()
        self.error: str | None = None
        self.last_ms = 0.0
        for w in controls.values():
            w.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HBox(list(controls.values()),
                                                 layout=widgets.Layout(flex_flow="row wrap")),
                                    self.output])
        self.update()

    def values(self) -> dict[str, Any]:
        return {name: w.value for name, w in self.controls.items()}

    def draw(self, values: dict[str, Any]) -> str:
        """Compute from the control values and return the output's HTML."""
        raise NotImplementedError

    def forget(self) -> None:
        """Drop the last result (the values were not a valid input)."""

    def update(self, change: Any = None) -> None:
        t0 = time.perf_counter()
        try:
            html = self.draw(self.values())
        except ValueError as e:
            self.error = one_line(str(e))
            self.forget()
            self.output.value = render.error_html(self.error)
        else:
            self.error = None
            self.output.value = html
        self.last_ms = (time.perf_counter() - t0) * 1000

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised in notebooks
        from IPython.display import display
        display(self.widget)


class Explorer(ControlPanel):
    def __init__(self, controls: dict[str, widgets.Widget],
                 build: Callable[..., dict[str, Any]],
                 modes: tuple[str, ...] = ("baseline", "patched"),
                 counters: tuple[str, ...] = ("ok", "iterations", "ptep_get", "tlb_ops",
                                              "barriers", "violations"),
                 view: Callable[[dict[str, Any], dict[str, Any]], str] | None = None,
                 follow_mode: bool = False, trace_mode_only: bool = False) -> None:
        self.build = build
        self.modes = modes
        #: run only the mode the ``mode`` control selects (one run per update instead of all)
        self.follow_mode = follow_mode
        #: trace only the run of the mode the ``mode`` control selects (the others are counted)
        self.trace_mode_only = trace_mode_only
        self.counters = counters
        self.view = view
        self.results: dict[str, Any] = {}
        super().__init__(controls)

    def draw(self, values: dict[str, Any]) -> str:
        scenario = self.build(**values)
        bugs = values.get("bug") or ()
        if bugs == "none":
            bugs = ()
        modes = (values["mode"],) if self.follow_mode else self.modes
        traced = (values["mode"],) if self.trace_mode_only else None
        self.results = render.run_all(scenario, modes, bugs, traced)
        return (self.view(values, self.results) if self.view
                else render.results_html(self.results, self.counters))

    def forget(self) -> None:
        self.results = {}
