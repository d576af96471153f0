"""Shared setup for the simcore tests: hypothesis profiles.

(The import path is pyproject's pytest ``pythonpath``: the repo top comes first.)
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

# Used by tests/simcore/test_properties.py (not loaded globally, so other test trees keep their
# own hypothesis defaults). "simcore-ci" (default) is derandomized: reproducible, predictable
# time. SIMCORE_HYPOTHESIS=dev explores randomly with ten times the examples.
settings.register_profile("simcore-ci", deadline=None, derandomize=True, database=None,
                          print_blob=True, suppress_health_check=_QUIET)
settings.register_profile("simcore-dev", deadline=None, suppress_health_check=_QUIET)
