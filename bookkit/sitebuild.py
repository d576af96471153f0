"""Is this kernel executing a chapter for the website build, or is it a reader's kernel?

``python -m bookkit.build`` sets ``BOOKKIT_GLUE=myst-nb`` in the environment of the kernels
that execute the chapters. :mod:`bookkit.glue` then records glued values for myst-nb, and
:mod:`bookkit.player` leaves ``player.js``/``player.css`` out of its fragments (the site's
pages load them once). Anywhere else -- JupyterLab, Notebook 7, nbclient, Binder, a hub -- the
variable is unset. (Standard library only: the website's Pyodide worker bundles this module.)
"""

from __future__ import annotations

import os

__all__ = ["ENV", "MYST_NB", "in_site_build"]

#: the environment variable that bookkit.build sets for the kernels of the website build
ENV = "BOOKKIT_GLUE"
MYST_NB = "myst-nb"


def in_site_build() -> bool:
    """True in a kernel that executes a chapter for the website build."""
    return os.environ.get(ENV) == MYST_NB
