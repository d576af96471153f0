"""Shared setup for the simcore tests: import path and hypothesis profiles."""

from __future__ import annotations

import sys
from pathlib import Path

# Import simcore from this checkout even when the venv's editable install is stale (an editable
# install made before simcore/__init__.py existed registers simcore as a namespace package, so
# `simcore.run` would be missing).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
for _name in [m for m in sys.modules if m == "simcore" or m.startswith("simcore.")]:
    if getattr(sys.modules[_name], "__file__", None) is None:
        del sys.modules[_name]

from hypothesis import HealthCheck, settings  # noqa: E402

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

# Used by tests/simcore/test_properties.py (not loaded globally, so other test trees keep their
# own hypothesis defaults). "simcore-ci" (default) is derandomized: reproducible, predictable
# time. SIMCORE_HYPOTHESIS=dev explores randomly with ten times the examples.
settings.register_profile("simcore-ci", deadline=None, derandomize=True, database=None,
                          print_blob=True, suppress_health_check=_QUIET)
settings.register_profile("simcore-dev", deadline=None, suppress_health_check=_QUIET)
