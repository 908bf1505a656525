"""Plots: ``plot_<thing>(result, *, ax=None, ...) -> Axes``; drawing only, no statistics, no file I/O."""

from .cd import plot_cd_diagram
