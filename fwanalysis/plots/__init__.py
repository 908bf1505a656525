"""Plots: ``plot_<thing>(result, *, ax=None, ...) -> Axes``; drawing only, no statistics, no file I/O.

Modules: ``structure``, ``metrics``, ``cd``; import them directly.
"""
