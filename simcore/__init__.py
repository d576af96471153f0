"""simcore — a small, faithful simulation of `try_to_unmap_one()` for anonymous large folios.

Models Dev Jain's series "mm/rmap: enable batch unmapping of anonymous folios" (2026): the
kernel before it (``baseline``), with it (``patched``) and before 2025's batching (``per-pte``).
Standard-library Python only (it also runs in a browser, under Pyodide); every random thing takes
``seed=``.
"""

from simcore.api import Result, run, run_modes
from simcore.arch import get_arch
from simcore.batch import MODES
from simcore.bugs import BUGS
from simcore.check import INVARIANTS, Violation, check
from simcore.scenario import ScenarioError, from_dict, load
from simcore.system import System

__all__ = ["BUGS", "INVARIANTS", "MODES", "Result", "ScenarioError", "System", "Violation",
           "check", "from_dict", "get_arch", "load", "run", "run_modes"]
__version__ = "0.1.0"
