"""fwanalysis: where to prune in Dynamic Sparse Training — reading runs, statistics, figures, reports."""

__version__ = "0.3.0"
