"""From runs to results: gathers what each analysis needs from the artifacts and calls ``stats``.

This layer sits between ``artifacts`` + ``stats`` (below) and ``figures``/``cli`` (above): it is the
only place that turns :class:`~fwanalysis.artifacts.Run` objects into arrays and frames. Every
function takes a list of runs (already filtered) and keyword-only options, and returns a result
object or a tidy frame; it draws nothing and prints nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .artifacts import ArtifactError, Run
from .artifacts.schema import CRITERIA
from .stats.tables import loss_gap, mean_std

__all__ = [
    "config_value",
    "run_frame",
    "metric_vs",
    "accuracy_table",
    "update_period_table",
    "loss_gap_table",
    "learning_curves",
    "cd_scores",
    "METRICS",
]

METRICS = ("test_acc", "test_loss", "val_acc", "val_loss", "train_loss", "itop")


def config_value(run: Run, key: str):
    """A config value, looking into ``criterion_params`` too (e.g. ``mest_lambda``)."""
    c = run.config
    if key in c:
        return c[key]
    params = c.get("criterion_params") or {}
    return params.get(key)


def _label(run: Run) -> str:
    """The series a run belongs to in a figure: its criterion, or ``dense``/``static`` for baselines."""
    m = run.config.get("method")
    return m if m in ("dense", "static") else (run.config.get("criterion") or str(m))


def _criterion_order(labels: Iterable[str]) -> list[str]:
    order = list(CRITERIA) + ["static", "dense"]
    labels = list(dict.fromkeys(labels))
    return sorted(labels, key=lambda l: (order.index(l) if l in order else len(order), str(l)))


def run_frame(runs: Sequence[Run], *, metric: str = "test_acc", keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row per run: run_id, model, dataset, method, criterion (label), growth, density, seed, ``keys``, and ``value``.

    ``metric`` is a ``summary`` key of run.json (ARTIFACTS.md): test_acc, test_loss, val_acc, val_loss,
    train_loss or itop. Runs without the metric are left out.
    """
    if metric not in METRICS:
        raise ValueError(f"--metric {metric!r} is not one of: {', '.join(METRICS)}")
    rows = []
    for r in runs:
        v = r.summary.get(metric)
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        c = r.config
        row = {
            "run_id": r.run_id, "model": c.get("model"), "dataset": c.get("dataset"), "method": c.get("method"),
            "criterion": _label(r), "growth": c.get("growth"), "density": c.get("density"), "seed": c.get("seed"),
        }
        for k in keys:
            row[k] = config_value(r, k)
        row["value"] = float(v)
        rows.append(row)
    return pd.DataFrame(rows, columns=["run_id", "model", "dataset", "method", "criterion", "growth", "density", "seed", *keys, "value"])


def _baseline_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Baselines have no growth; give them every growth present so each panel shows them."""
    growths = sorted({g for g in df["growth"].dropna().unique()}) or [None]
    dense = df[df["method"] == "dense"]
    static = df[df["method"] == "static"]
    parts = [df[~df["method"].isin(["dense", "static"])]]
    for g in growths:
        for base in (dense, static):
            if not base.empty:
                parts.append(base.assign(growth=g))
    return pd.concat(parts, ignore_index=True)


def metric_vs(runs: Sequence[Run], *, x: str, metric: str = "test_acc", by: Sequence[str] = ("model", "dataset", "growth", "criterion")) -> pd.DataFrame:
    """``metric`` against config key ``x`` per ``by``: mean, std (ddof=1) and n over seeds.

    Dense and static runs are baselines: their ``criterion`` is ``dense``/``static`` and they are
    repeated for every growth criterion present.
    """
    df = run_frame(runs, metric=metric, keys=[x] if x not in ("density",) else [])
    if df.empty:
        return pd.DataFrame(columns=list(by) + [x, "mean", "std", "n"])
    df = _baseline_rows(df)
    by = [b for b in by if b != x]
    out = mean_std(df, by=list(by) + [x], value="value")
    out["_o"] = out["criterion"].map({c: i for i, c in enumerate(_criterion_order(out["criterion"]))})
    out = out.sort_values([b for b in by if b != "criterion"] + ["_o", x], kind="stable").drop(columns="_o").reset_index(drop=True)
    return out


def accuracy_table(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 1: metric vs density per model, dataset, growth and criterion, with dense and static baselines."""
    out = metric_vs(runs, x="density", metric=metric)
    return out[["model", "dataset", "growth", "criterion", "density", "mean", "std", "n"]]


def update_period_table(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 5: metric vs update period Δt per criterion (DST runs only)."""
    dst = [r for r in runs if r.config.get("method") == "dst"]
    out = metric_vs(dst, x="update_period", metric=metric, by=("model", "dataset", "growth", "density", "criterion"))
    return out[["model", "dataset", "growth", "density", "criterion", "update_period", "mean", "std", "n"]]


def _metrics_long(runs: Sequence[Run], *, keys: Sequence[str]) -> pd.DataFrame:
    frames = []
    for r in runs:
        m = r.metrics()
        m = m[m["split"].isin(["train", "val", "test"])].copy()
        m["run"] = r.run_id
        m["method"] = r.config.get("method")
        m["criterion"] = _label(r)
        for k in keys:
            m[k] = config_value(r, k)
        frames.append(m)
    if not frames:
        return pd.DataFrame(columns=["step", "epoch", "split", "name", "value", "run", "method", "criterion", *keys])
    return pd.concat(frames, ignore_index=True)


def loss_gap_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Fig. 4: validation loss − training loss per epoch, per method and criterion (mean, std over runs)."""
    long = _metrics_long(runs, keys=())
    out = loss_gap(long, by=["method", "criterion"])
    out["_o"] = out["criterion"].map({c: i for i, c in enumerate(_criterion_order(out["criterion"]))})
    out = out.sort_values(["_o", "method", "epoch"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return out[["epoch", "method", "criterion", "gap_mean", "gap_std", "n"]]


def learning_curves(runs: Sequence[Run], *, split: str = "val", name: str = "acc") -> pd.DataFrame:
    """Fig. 23: a per-epoch metric (default validation accuracy) per criterion, mean and std over runs."""
    long = _metrics_long(runs, keys=("density",))
    sel = long[(long["split"] == split) & (long["name"] == name)]
    out = mean_std(sel, by=["density", "criterion", "epoch"], value="value")
    out["_o"] = out["criterion"].map({c: i for i, c in enumerate(_criterion_order(out["criterion"]))})
    return out.sort_values(["density", "_o", "epoch"], kind="stable").drop(columns="_o").reset_index(drop=True)


def cd_scores(runs: Sequence[Run], *, metric: str = "test_acc", block: Sequence[str] = ("model", "dataset", "growth", "density")) -> pd.DataFrame:
    """Scores for a critical-difference analysis: one row per (block, criterion), the mean of ``metric`` over seeds.

    Blocks are (model, dataset, growth, density) as CLI.md says; DST runs only.
    """
    dst = [r for r in runs if r.config.get("method") == "dst"]
    df = run_frame(dst, metric=metric)
    if df.empty:
        return pd.DataFrame(columns=["block", "method", "score"])
    g = df.groupby(list(block) + ["criterion"], dropna=False)["value"].mean().reset_index()
    g["block"] = g[list(block)].astype(str).agg("/".join, axis=1)
    return g.rename(columns={"criterion": "method", "value": "score"})[["block", "method", "score"]].sort_values(["block", "method"]).reset_index(drop=True)
