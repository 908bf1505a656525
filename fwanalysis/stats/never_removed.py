"""Weights every criterion agrees on at the end of training (Nowak et al. 2023, App. K, Fig. 19).

For one model and one seed, every criterion's run starts from the same initial mask (runs are paired
by seed) and ends with its final mask ``M_c``. With ``|.|`` summed over the masked layers and ``¬M`` the
complement of ``M`` over all weights of those layers:

- ``retained_by_all = |⋂_c M_c| / mean_c |M_c|``: of the weights a criterion keeps, the share that every
  criterion keeps (the paper: "always retained by every pruning criterion for the same seed ... divided
  by the number of all remaining (unpruned) weights");
- ``removed_by_all = |⋂_c ¬M_c| / mean_c |¬M_c|``: the same on the negation of the masks ("divided by
  the number of all removed weights").

Every criterion keeps the same number of weights when densities are fixed per layer, so the mean is each
criterion's own count; it keeps the ratio defined when they are not. A ratio whose denominator is 0 is NaN.
:func:`never_removed` is the same computation on any ``kept``/``removed`` sets (e.g. those of one update).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from fwanalysis.artifacts.bitset import popcount

__all__ = ["complement", "kept_weights", "never_removed", "never_removed_end", "never_removed_summary"]

LayerSets = Mapping[str, np.ndarray]


def kept_weights(active: LayerSets, removed: LayerSets) -> dict[str, np.ndarray]:
    """``K = active & ~removed`` per layer, on packed bitsets (a layer missing from ``removed``: nothing removed)."""
    return {
        name: (np.asarray(a, dtype=np.uint8) & ~np.asarray(removed[name], dtype=np.uint8))
        if name in removed
        else np.array(a, dtype=np.uint8, copy=True)
        for name, a in active.items()
    }


def complement(packed: np.ndarray, numel: int) -> np.ndarray:
    """``¬M`` of a packed bitset of ``numel`` weights, pad bits kept zero."""
    out = ~np.asarray(packed, dtype=np.uint8)
    pad = out.shape[0] * 8 - int(numel)
    if pad and out.shape[0]:
        out[-1] &= (0xFF << pad) & 0xFF
    return out


def never_removed_end(final: Mapping[str, LayerSets], *, numel: Mapping[str, int]) -> dict:
    """:func:`never_removed` on final masks: ``kept`` = each criterion's final mask, ``removed`` = its
    complement over all ``numel[layer]`` weights of each masked layer (paper App. K)."""
    removed = {c: {name: complement(m, numel[name]) for name, m in sets.items()} for c, sets in final.items()}
    return never_removed(final, removed)


def _by_all(sets: Mapping[str, LayerSets], what: str) -> tuple[dict[str, int], dict[str, float]]:
    """Per layer: |⋂ sets| and mean |set| over criteria."""
    crits = list(sets)
    if not crits:
        raise ValueError(f"no {what} sets given")
    names = list(sets[crits[0]])
    for c in crits[1:]:
        if set(sets[c]) != set(names):
            raise ValueError(f"{what} sets of {crits[0]!r} and {c!r} have different layers")
    common, mean = {}, {}
    for name in names:
        arrs = [np.asarray(sets[c][name]) for c in crits]
        if len({(a.dtype, a.shape) for a in arrs}) != 1 or arrs[0].dtype != np.uint8 or arrs[0].ndim != 1:
            raise ValueError(f"layer {name!r}: {what} sets must be packed uint8 bitsets of one length")
        inter = arrs[0].copy()
        for a in arrs[1:]:
            np.bitwise_and(inter, a, out=inter)
        common[name] = popcount(inter)
        mean[name] = sum(popcount(a) for a in arrs) / len(arrs)
    return common, mean


def _div(a: float, b: float) -> float:
    return a / b if b else math.nan


def never_removed(kept: Mapping[str, LayerSets], removed: Mapping[str, LayerSets]) -> dict:
    """Shares of kept weights kept by every criterion and of removed weights removed by every criterion.

    Parameters: ``kept``, ``removed``: ``{criterion: {layer: packed bitset}}``, the sets ``K_c`` and
    ``R_c`` of the first update of each criterion's run, all from the same initial mask (one model,
    one seed); see the module docstring and :func:`kept_weights`.
    Returns: ``{"retained_by_all": |⋂K_c| / mean|K_c|, "removed_by_all": |⋂R_c| / mean|R_c|,
    "criteria": [...], "counts": {...}, "layers": {layer: {"retained_by_all", "removed_by_all"}}}``,
    model-level ratios computed from counts summed over layers.
    """
    if set(kept) != set(removed):
        raise ValueError(f"kept and removed name different criteria: {sorted(kept)} vs {sorted(removed)}")
    k_common, k_mean = _by_all(kept, "kept")
    r_common, r_mean = _by_all(removed, "removed")
    if set(k_common) != set(r_common):
        raise ValueError("kept and removed sets have different layers")
    counts = {
        "kept_by_all": int(sum(k_common.values())),
        "kept_mean": float(sum(k_mean.values())),
        "removed_by_all": int(sum(r_common.values())),
        "removed_mean": float(sum(r_mean.values())),
    }
    return {
        "retained_by_all": _div(counts["kept_by_all"], counts["kept_mean"]),
        "removed_by_all": _div(counts["removed_by_all"], counts["removed_mean"]),
        "criteria": list(kept),
        "counts": counts,
        "layers": {
            name: {
                "retained_by_all": _div(k_common[name], k_mean[name]),
                "removed_by_all": _div(r_common[name], r_mean[name]),
            }
            for name in k_common
        },
    }


def never_removed_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and population std (ddof=0) over seeds of ``retained_by_all`` and ``removed_by_all``.

    Parameters: ``rows`` with columns ``model``, ``retained_by_all``, ``removed_by_all``, optionally
    ``seed``, and any other columns that describe the runs (``dataset``, ``density``, ``criteria``,
    fields that separate groups): the rows of ``fwa never-removed``.
    Returns: one row per distinct value of the describing columns (seeds are what is averaged):
    those columns, ``retained_by_all``, ``retained_by_all_std``, ``removed_by_all``,
    ``removed_by_all_std``, ``n``; in order of first appearance.
    """
    need = {"model", "retained_by_all", "removed_by_all"}
    missing = sorted(need - set(rows.columns))
    if missing:
        raise ValueError(f"rows lack columns {missing}; have {list(rows.columns)}")
    keys = [c for c in rows.columns if c not in ("seed", "retained_by_all", "removed_by_all")]
    g = rows.groupby(keys, sort=False, dropna=False)
    out = pd.DataFrame(
        {
            "retained_by_all": g["retained_by_all"].mean(),
            "retained_by_all_std": g["retained_by_all"].std(ddof=0),
            "removed_by_all": g["removed_by_all"].mean(),
            "removed_by_all_std": g["removed_by_all"].std(ddof=0),
            "n": g["retained_by_all"].count(),
        }
    )
    return out.reset_index()
