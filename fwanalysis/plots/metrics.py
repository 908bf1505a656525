"""Drawing metric summaries: accuracy vs density (Fig. 1), metric vs a config key (Figs. 5, 7, 12, 15, 16),
loss gap (Fig. 4) and learning curves (Fig. 23). Each takes a tidy frame from ``fwanalysis.analyses``
and an ``ax``; computes nothing.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

__all__ = ["criterion_colour", "criterion_style", "plot_metric_vs", "plot_loss_gap", "plot_learning_curves", "CRITERION_COLOURS"]

# One colour per criterion across every figure; baselines in black/grey.
CRITERION_COLOURS = {
    "magnitude": "#1f77b4",
    "set": "#ff7f0e",
    "set-legacy": "#b35806",  # set's orange, darker: the authors' code's SET
    "mest": "#2ca02c",
    "sensitivity": "#d62728",
    "rsensitivity": "#9467bd",
    "snip": "#8c564b",
    "random": "#e377c2",
    "static": "#7f7f7f",
    "dense": "#000000",
}
# Criteria fwa does not know get a colour of their own from this palette (tab20's colours that no built-in
# uses), chosen by a hash of the name: the same criterion has the same colour in every figure.
_OTHER_COLOURS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#bcbd22", "#17becf", "#dbdb8d", "#9edae5")


def criterion_colour(label: str) -> str:
    """The colour of a criterion (or baseline) in every figure: fixed for the built-ins, hashed for others."""
    if label in CRITERION_COLOURS:
        return CRITERION_COLOURS[label]
    import zlib

    return _OTHER_COLOURS[zlib.crc32(str(label).encode()) % len(_OTHER_COLOURS)]


_MARKERS = {"magnitude": "o", "set": "s", "set-legacy": "p", "mest": "^", "sensitivity": "v", "rsensitivity": "D", "snip": "P", "random": "X", "static": "", "dense": ""}


def criterion_style(label: str) -> dict:
    """Line style of a criterion (or ``dense``/``static`` baseline): colour, marker, dashes for baselines."""
    base = label in ("dense", "static")
    return {
        "color": criterion_colour(label),
        "marker": _MARKERS.get(label, "o"),
        "linestyle": "--" if base else "-",
        "linewidth": 1.2 if base else 1.5,
        "markersize": 4,
    }


def _axes(ax: Axes | None, figsize=(5, 3.5)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_metric_vs(
    df: pd.DataFrame,
    *,
    x: str,
    ax: Axes | None = None,
    hue: str = "criterion",
    ylabel: str = "test accuracy",
    xlabel: str | None = None,
    logx: bool = False,
    title: str | None = None,
    baselines_flat: bool = True,
    legend: bool = True,
) -> Axes:
    """Mean ± std of a metric against ``x``, one line per ``hue`` value (frame from ``analyses.metric_vs``).

    A dense baseline (one point, no ``x`` dependence) is drawn as a horizontal dashed line with a band.
    """
    ax = _axes(ax)
    categorical = not pd.api.types.is_numeric_dtype(df[x])
    cats = sorted(df[x].astype(str).unique()) if categorical else []
    groups = list(df.groupby(hue, sort=False))
    width = 0.7 / max(len(groups), 1)
    for n, (label, g) in enumerate(groups):
        g = g.sort_values(x)
        st = criterion_style(str(label))
        mean, std = g["mean"].to_numpy(float), np.nan_to_num(g["std"].to_numpy(float))
        if baselines_flat and label == "dense" and x == "density":
            m, s = float(mean.mean()), float(std.mean())
            ax.axhline(m, color=st["color"], linestyle="--", linewidth=1.0, label="dense")
            ax.axhspan(m - s, m + s, color=st["color"], alpha=0.08, linewidth=0)
            continue
        if categorical:  # unordered categories: dodged points with error bars, no connecting lines
            xs = np.array([cats.index(v) for v in g[x].astype(str)]) - 0.35 + width * (n + 0.5)
            ax.errorbar(xs, mean, yerr=std, fmt=st["marker"] or "o", color=st["color"], label=str(label), markersize=5, capsize=2, linewidth=1)
            continue
        xs = g[x].to_numpy()
        ax.plot(xs, mean, label=str(label), **st)
        ax.fill_between(xs, mean - std, mean + std, color=st["color"], alpha=0.12, linewidth=0)
    if categorical:
        ax.set_xticks(range(len(cats)), cats)
    if logx:
        ax.set_xscale("log")
        xs_all = sorted({float(v) for v in df[x] if isinstance(v, (int, float)) and v == v and v > 0})
        if xs_all:  # label the values present, plainly; no crowded minor labels
            ax.set_xticks(xs_all, [f"{v:g}" for v in xs_all])
            ax.minorticks_off()
    ax.set_xlabel(xlabel or x.replace("_", " "))
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False, ncol=2)
    return ax


def _epoch_curves(ax: Axes, df: pd.DataFrame, *, mean: str, std: str, ylabel: str, title: str | None) -> Axes:
    """One line (± std band) per criterion against epoch: the shared body of the per-epoch plots."""
    for label, g in df.groupby("criterion", sort=False):
        g = g.sort_values("epoch")
        st = criterion_style(str(label)) | {"marker": ""}
        m, s = g[mean].to_numpy(float), np.nan_to_num(g[std].to_numpy(float))
        ax.plot(g["epoch"], m, label=str(label), **st)
        ax.fill_between(g["epoch"], m - s, m + s, color=st["color"], alpha=0.12, linewidth=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False, ncol=2)
    return ax


def plot_loss_gap(df: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Validation − training loss per epoch, one line per criterion (frame from ``analyses.loss_gap_table``)."""
    ax = _axes(ax)
    ax.axhline(0, color="grey", linewidth=0.6)
    return _epoch_curves(ax, df, mean="gap_mean", std="gap_std", ylabel="val loss − train loss", title=title)


def plot_learning_curves(df: pd.DataFrame, *, ax: Axes | None = None, ylabel: str = "validation accuracy", title: str | None = None) -> Axes:
    """A per-epoch metric, one line per criterion (frame from ``analyses.learning_curves``)."""
    return _epoch_curves(_axes(ax), df, mean="mean", std="std", ylabel=ylabel, title=title)
