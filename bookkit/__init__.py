"""bookkit: the machinery of the book's website (not the simulation, that is simcore).

* :mod:`bookkit.build` -- ``python -m bookkit.build --edition instructor|student --out DIR``;
* :mod:`bookkit.player` -- the step-through player, the static twin of a widget;
* :mod:`bookkit.live` -- ``Live(widget, static_html)``: live in Jupyter, static on the site;
* :mod:`bookkit.glue` -- ``glue(name, value)``: the values the prose quotes (myst-nb's glue on
  the site, remembered in Jupyter);
* :mod:`bookkit.notebook` -- a chapter as a plain notebook that reads like the site
  (the download, ``make lab``, Binder);
* :mod:`bookkit.widgetbench` -- every chapter widget's update time at its largest input.

Importing bookkit is cheap: no Sphinx, no ipywidgets.
"""

from bookkit.live import Live, Static, static
from bookkit.player import player_html

__all__ = ["Live", "Static", "player_html", "static"]
