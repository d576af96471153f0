"""kernlab — the live-kernel lab: drive the running Linux kernel into the book's scenarios,
observe what it did (pagemap, kpageflags, smaps, vmstat, mTHP stats, tracepoints) and compare
it field by field with simcore on an equivalent scenario file.

Nothing here changes a system setting unless asked (``python -m kernlab check --setup``), and
what is changed is restored (`kernlab.env.Settings`). kernlab imports only simcore (and that
only through its command line and scenario format).
"""

from kernlab.env import Env, Settings, Unavailable, detect
from kernlab.experiments import Lab, Outcome

__all__ = ["Env", "Lab", "Outcome", "Settings", "Unavailable", "detect"]
