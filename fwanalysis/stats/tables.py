"""Summaries of tidy per-run tables: mean, std and count over seeds (pure pandas).

Std is the population standard deviation over seeds (ddof=0, numpy's default, as for the Jaccard
summaries), so a single seed gives 0; every table carries ``n`` so that case stays visible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["mean_std", "loss_gap", "DDOF"]

DDOF = 0


def mean_std(df: pd.DataFrame, *, by: Sequence[str], value: str = "value") -> pd.DataFrame:
    """Group ``df`` by ``by`` and return ``by`` + ``mean``, ``std`` (ddof=0) and ``n`` of ``value``.

    Groups keep missing keys (``None``) as their own group; rows are sorted by ``by``.
    """
    by = list(by)
    if df.empty:
        return pd.DataFrame(columns=by + ["mean", "std", "n"])
    g = df.groupby(by, dropna=False, sort=True)[value]
    out = g.agg(mean="mean", std=lambda s: s.std(ddof=DDOF) if s.count() > 0 else np.nan, n="count").reset_index()
    out["n"] = out["n"].astype(int)
    return out


def loss_gap(metrics: pd.DataFrame, *, by: Sequence[str]) -> pd.DataFrame:
    """Validation loss minus training loss per epoch (paper Fig. 4), mean and std over runs.

    ``metrics`` holds tidy rows (``epoch``, ``split``, ``name``, ``value``) plus a ``run`` column and
    the ``by`` columns; returns ``epoch`` + ``by`` + ``gap_mean``, ``gap_std``, ``n``.
    """
    by = list(by)
    loss = metrics[(metrics["name"] == "loss") & metrics["split"].isin(["train", "val"])]
    wide = loss.pivot_table(
        index=["run", "epoch"] + by, columns="split", values="value", aggfunc="last", dropna=False
    ).reset_index()
    wide = wide.dropna(subset=[c for c in ("train", "val") if c in wide] or ["epoch"])
    if "train" not in wide or "val" not in wide:
        return pd.DataFrame(columns=["epoch"] + by + ["gap_mean", "gap_std", "n"])
    wide["gap"] = wide["val"] - wide["train"]
    out = mean_std(wide, by=["epoch"] + by, value="gap").rename(columns={"mean": "gap_mean", "std": "gap_std"})
    return out
