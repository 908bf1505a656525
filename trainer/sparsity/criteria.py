"""Pruning criteria of Dynamic Sparse Training (Nowak et al. 2023, "Fantastic Weights", Section 3).

The criteria and their selection rules are defined once, in the criterion table
(:data:`fwanalysis.criteria.TABLE`: a row per criterion) and :mod:`fwanalysis.criteria.select`, which the
Recorder (``fwanalysis.record``) uses too, so a shadow set is chosen the same way wherever it is recorded.
This module adds the trainer's side: how many weights an update removes (:func:`count_of`,
:func:`prune_counts`), and re-exports the rules under the names the trainer uses.
"""

from __future__ import annotations

import math

import torch

from fwanalysis.artifacts.schema import PRUNE_ROUNDINGS as ROUNDINGS  # ceil | nearest
from fwanalysis.criteria.rules import lowest as _lowest  # noqa: F401  (tests check it against a stable argsort)
from fwanalysis.criteria.select import prune_scores, select_prune, select_prune_global
from fwanalysis.vocab import CRITERIA  # the criteria of the table, in its order
from fwanalysis.vocab import SCORE_EPS as EPS  # added to the denominators of (r)sensitivity

__all__ = [
    "CRITERIA",
    "EPS",
    "prune_scores",
    "prune_counts",
    "count_of",
    "select_prune",
    "select_prune_global",
]


def count_of(fraction: float, active: int, rounding: str = "nearest") -> int:
    """The number of weights ``fraction`` of ``active`` weights is: ``ceil(fraction * active)`` (the authors'
    ``math.ceil``, on the same float product) or ``round(fraction * active)`` (nearest, half to even)."""
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding {rounding!r} is not one of: {', '.join(ROUNDINGS)}")
    x = fraction * float(active)
    return min(math.ceil(x), int(active)) if rounding == "ceil" else round(x)


def prune_counts(masks: dict[str, torch.Tensor], fraction: float, *, rounding: str = "nearest") -> dict[str, int]:
    """Per-layer number of weights to prune: :func:`count_of` ``fraction`` of each layer's active weights.

    Parameters
    ----------
    masks:
        Layer name -> bool mask (True = active).
    fraction:
        Fraction of each layer's active weights to remove, in [0, 1] (e.g. from ``prune_fraction``).
    rounding:
        ``ceil`` (the authors' code) or ``nearest`` (half to even).
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    return {name: count_of(fraction, int(m.sum()), rounding) for name, m in masks.items()}
