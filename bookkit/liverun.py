"""One live run on the website: what the page's Web Worker asks Python to do.

``book/_static/live-worker.mjs`` boots Pyodide, unpacks ``simcore.zip`` (simcore and this
module, see `bookkit.liveruntime`) and calls :func:`call_json` for each request of the page:
``run`` for a scenario editor's Run, ``exercise`` and ``check`` for an exercise box's fresh
variant and its check (:func:`exercise_variant`, :func:`exercise_check`: the exercises' own
generator and Python checker). :func:`run` does exactly what a reader's shell would do:

1. it writes the scenario to ``scenario.json`` and calls the command line,
   ``python -m simcore run scenario.json --mode MODE [--bug NAME] --json``
   (`simcore.cli.main`), so the report is the command line's, byte for byte, and bad input gets
   the command line's one-line error (``simcore: <field>: <problem>``);
2. for a valid scenario it runs it once more traced, as a player preset
   (`bookkit.frames.preset`), which the page's step-through player shows.

Scenarios with more than :data:`MAX_SLOTS` PTE slots are refused with a message (the command
line still runs them); traces with more than :data:`MAX_CELLS` steps × slots are drawn as two
frames, before and after.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

SCENARIO_FILE = "scenario.json"
#: PTE slots the website draws at most (two 512-page mappings).
MAX_SLOTS = 1024
#: Steps × slots drawn one by one at most; beyond, the player shows before and after.
MAX_CELLS = 60_000
LIVE_KEY = "live"
LIVE_LABEL = "Your scenario (live)"


def editor_config() -> dict[str, Any]:
    """The choices the page's scenario editor offers, read from simcore (never typed here)."""
    from simcore.arch import ARCH_NAMES
    from simcore.batch import MODES
    from simcore.bugs import BUGS
    from simcore.scenario import SCHEMA_PATH
    from simcore.system import FAULT_OPS

    defs = json.loads(SCHEMA_PATH.read_text())["$defs"]
    return {"modes": list(MODES), "bugs": list(BUGS), "archs": list(ARCH_NAMES),
            "page_sizes": defs["arch"]["properties"]["page_size"]["enum"],
            "kinds": defs["pte_run"]["properties"]["kind"]["enum"],
            "max_order": defs["folio"]["properties"]["order"]["maximum"],
            "fault_ops": list(FAULT_OPS), "max_slots": MAX_SLOTS}


def field_of(line: str) -> str:
    """The field or flag an error line of the command line names (``ptes[1].nr``, ``--bug``)."""
    rest = line.removeprefix("simcore: ")
    return rest.split(": ", 1)[0] if ": " in rest else ""


def run(text: str, mode: str = "patched", bugs: list[str] | tuple[str, ...] = (),
        workdir: str | Path | None = None) -> dict[str, Any]:
    """Run the scenario ``text`` (JSON) as the command line does; add the player's preset.

    Returns ``{"error": line, "field": name}`` for bad input, else ``{"exit": 0|1, "report":
    the --json text, "preset": {...}, "seconds": float}``.
    """
    from simcore import cli

    started = time.perf_counter()
    path = Path(workdir or tempfile.gettempdir()) / SCENARIO_FILE
    # a lone surrogate (a JavaScript string may hold one) is written as the bytes it would be,
    # which the command line then refuses as "not UTF-8 text" rather than failing here
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    argv = ["run", str(path), "--mode", mode, *(f"--bug={b}" for b in bugs), "--json"]
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, out=out, err=err)
    if code == 2:
        line = err.getvalue().strip().splitlines()[0].replace(str(path), SCENARIO_FILE)
        return {"error": line, "field": field_of(line)}
    from bookkit.frames import DEFAULT_COUNTERS, preset
    from simcore.scenario import from_dict

    doc = json.loads(text)
    nslots = len(from_dict(doc).slots())
    result: dict[str, Any] = {"exit": code, "report": out.getvalue()}
    if nslots > MAX_SLOTS:
        result["capped"] = (f"{nslots} PTE slots: the website draws at most {MAX_SLOTS}; the "
                            "report below is complete, or run it with python -m simcore run")
    else:
        result["preset"] = preset(LIVE_KEY, LIVE_LABEL, doc, mode=mode, bugs=tuple(bugs),
                                  counters=DEFAULT_COUNTERS, max_cells=MAX_CELLS)
    result["seconds"] = time.perf_counter() - started
    return result


# -- exercises with fresh seeds ---------------------------------------------------------------
def _exercises():
    """The exercise generators, `classroom.exercises` (standard library only)."""
    from classroom import exercises

    return exercises


def exercise_variant(topic: str, seed: int, difficulty: int) -> dict[str, Any]:
    """A new instance of an exercise as the page shows it: no answer, no explanation."""
    ex = _exercises()
    try:
        inst = ex.generate(topic, seed, difficulty)
    except ValueError as e:
        return {"error": str(e).splitlines()[0]}
    return inst.as_dict(solutions=False)


def exercise_check(topic: str, seed: int, difficulty: int, answer: str) -> dict[str, Any]:
    """The verdict of the exercises' own Python checker (what ``ex.check()`` says)."""
    ex = _exercises()
    try:
        feedback = ex.check(ex.generate(topic, seed, difficulty), answer)
    except ValueError as e:
        return {"error": str(e).splitlines()[0]}
    return {"correct": bool(feedback.correct), "message": feedback.message}


COMMANDS = {
    "run": lambda a: run(a["scenario"], a.get("mode", "patched"), a.get("bugs", ())),
    "exercise": lambda a: exercise_variant(a["topic"], int(a["seed"]), int(a["difficulty"])),
    "check": lambda a: exercise_check(a["topic"], int(a["seed"]), int(a["difficulty"]),
                                      str(a["answer"])),
}


def call_json(command: str, args_json: str) -> str:
    """One request of the page's worker, JSON in and out: ``run``, ``exercise`` or ``check``."""
    return json.dumps(COMMANDS[command](json.loads(args_json)))
