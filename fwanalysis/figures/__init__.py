"""The figures: one registry entry per paper figure = which runs -> which analysis -> which plot.

Both ``fwa <command> --plot`` and ``fwa report`` draw through these entries, so a figure is defined
once. An entry selects its runs from a study by the sweeps that made them (``config["sweep"]``, set by
``fw-train sweep``; runs without it are used by every entry), by the paper setups it shows (on the
embedded data, by model) and by config filters, computes its result with :mod:`fwanalysis.analyses`,
and lays it out with :mod:`fwanalysis.plots`. docs/figures.md says which study each entry draws.

The package: :mod:`.layout` (style, panel grids and facets, titles, saving), :mod:`.drawing` (the draw
functions), :mod:`.compute` (what the entries compute and tabulate), :mod:`.entry` (FigureEntry, run
selection, build) and :mod:`.registry` (FIGURES, the entries).
"""

from __future__ import annotations

from .. import analyses as A  # fwanalysis.figures.A: the analyses the figures compute with
from ..vocab import PAPER_CRITERIA, STRUCTURAL_CRITERIA
from .compute import cd_table
from .drawing import draw_cd, draw_learning_curves, draw_loss_gap, draw_metric_vs
from .entry import EMBEDDED, SETUPS, Built, FigureEntry, build, check_one_profile, one_profile, select_for
from .entry import _setup_filter as _setup_filter
from .layout import STYLE, draw_styled, save_figure
from .layout import _facets as _facets
from .layout import _grid as _grid
from .layout import _panel_grid as _panel_grid
from .layout import _shared_legend as _shared_legend
from .layout import _suptitle as _suptitle
from .registry import FIGURES

__all__ = [
    "A",
    "Built",
    "EMBEDDED",
    "FIGURES",
    "FigureEntry",
    "PAPER_CRITERIA",
    "SETUPS",
    "STRUCTURAL_CRITERIA",
    "STYLE",
    "build",
    "cd_table",
    "check_one_profile",
    "draw_cd",
    "draw_learning_curves",
    "draw_loss_gap",
    "draw_metric_vs",
    "draw_styled",
    "one_profile",
    "save_figure",
    "select_for",
]
