"""Drawing metric summaries: accuracy vs density (Fig. 1), metric vs a config key (Figs. 5, 7, 12, 15, 16),
loss gap (Fig. 4) and learning curves (Fig. 23). Each takes a tidy frame from ``fwanalysis.analyses``
and an ``ax``; computes nothing.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from fwanalysis.criteria import TABLE

__all__ = [
    "criterion_colour",
    "criterion_style",
    "plot_metric_vs",
    "plot_loss_gap",
    "plot_learning_curves",
    "CRITERION_COLOURS",
]

# One colour per criterion across every figure (the criterion table's, fwanalysis.criteria); baselines in
# black/grey.
_BASELINE_COLOURS = {"static": "#7f7f7f", "dense": "#000000"}
# Criteria without a colour of their own get one from this palette (tab20's colours that no built-in uses): a
# row of the table without one the first colour no other row took, in the table's order; a criterion fwa does
# not know one of the colours left, chosen by a hash of the name. The same criterion has the same colour in
# every figure.
_OTHER_COLOURS = (
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#bcbd22",
    "#17becf",
    "#dbdb8d",
    "#9edae5",
)


def _table_colours() -> dict[str, str]:
    """Criterion -> colour for every row of the criterion table, then the baselines."""
    taken = {c.colour for c in TABLE if c.colour}
    free = iter(x for x in _OTHER_COLOURS if x not in taken)
    return {c.name: c.colour or next(free) for c in TABLE} | _BASELINE_COLOURS


CRITERION_COLOURS = _table_colours()
_HASHED = tuple(x for x in _OTHER_COLOURS if x not in CRITERION_COLOURS.values()) or _OTHER_COLOURS


def criterion_colour(label: str) -> str:
    """The colour of a criterion (or baseline) in every figure: the table's, or hashed for other names."""
    if label in CRITERION_COLOURS:
        return CRITERION_COLOURS[label]
    import zlib

    return _HASHED[zlib.crc32(str(label).encode()) % len(_HASHED)]


_MARKERS = {c.name: c.marker or "o" for c in TABLE} | {"static": "", "dense": ""}


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

    A baseline without an ``x`` value (dense against density; dense or static against a DST setting such
    as the update period) is drawn as a horizontal dashed line with a band.
    """
    ax = _axes(ax)
    categorical = not pd.api.types.is_numeric_dtype(df[x])
    cats = sorted(df[x].astype(str).unique()) if categorical else []
    groups = list(df.groupby(hue, sort=False))
    width = 0.7 / max(len(groups), 1)
    flat = set()  # baselines drawn as lines: their x values get no tick
    for n, (label, g) in enumerate(groups):
        g = g.sort_values(x)
        st = criterion_style(str(label))
        mean, std = g["mean"].to_numpy(float), np.nan_to_num(g["std"].to_numpy(float))
        if (
            baselines_flat
            and label in ("dense", "static")
            and (x == "density" and label == "dense" or g[x].isna().all())
        ):
            m, s = float(mean.mean()), float(std.mean())
            ax.axhline(m, color=st["color"], linestyle="--", linewidth=1.0, label=str(label))
            ax.axhspan(m - s, m + s, color=st["color"], alpha=0.08, linewidth=0)
            flat.add(label)
            continue
        if categorical:  # unordered categories: dodged points with error bars, no connecting lines
            xs = np.array([cats.index(v) for v in g[x].astype(str)]) - 0.35 + width * (n + 0.5)
            ax.errorbar(
                xs,
                mean,
                yerr=std,
                fmt=st["marker"] or "o",
                color=st["color"],
                label=str(label),
                markersize=5,
                capsize=2,
                linewidth=1,
            )
            continue
        xs = g[x].to_numpy()
        ax.plot(xs, mean, label=str(label), **st)
        ax.fill_between(xs, mean - std, mean + std, color=st["color"], alpha=0.12, linewidth=0)
    if categorical:
        ax.set_xticks(range(len(cats)), cats)
    if logx:
        ax.set_xscale("log")
        xs_all = sorted(
            {float(v) for v in df.loc[~df[hue].isin(flat), x] if isinstance(v, (int, float)) and v == v and v > 0}
        )
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


def plot_learning_curves(
    df: pd.DataFrame, *, ax: Axes | None = None, ylabel: str = "validation accuracy", title: str | None = None
) -> Axes:
    """A per-epoch metric, one line per criterion (frame from ``analyses.learning_curves``)."""
    return _epoch_curves(_axes(ax), df, mean="mean", std="std", ylabel=ylabel, title=title)


def plot_label_bars(
    df: pd.DataFrame, *, ax: Axes | None = None, ylabel: str = "test accuracy", title: str | None = None
) -> Axes:
    """Mean ± std per criterion or baseline as bars in each one's colour (frame: criterion, mean, std)."""
    ax = _axes(ax)
    labels = [str(c) for c in df["criterion"]]
    mean, std = df["mean"].to_numpy(float), np.nan_to_num(df["std"].to_numpy(float))
    ax.bar(range(len(labels)), mean, yerr=std, color=[criterion_colour(c) for c in labels], capsize=2, width=0.7)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    lo = float(np.nanmin(mean - std)) if len(mean) else 0.0
    hi = float(np.nanmax(mean + std)) if len(mean) else 1.0
    pad = max(hi - lo, 1e-3) * 0.3
    ax.set_ylim(max(0.0, lo - pad), hi + pad * 0.5)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def plot_paired_scatter(
    df: pd.DataFrame, *, x: str, y: str, ax: Axes | None = None, label_by: str | None = None
) -> Axes:
    """One point per row at (``x``, ``y``) in its criterion's colour and marker, with the diagonal y = x
    (frame from ``analyses.scope_pairs``); ``label_by`` writes that column's value beside each point."""
    ax = _axes(ax, figsize=(4.5, 4.5))
    for label, g in df.groupby("criterion", sort=False):
        st = criterion_style(str(label))
        ax.scatter(g[x], g[y], color=st["color"], marker=st["marker"] or "o", label=str(label), s=28, zorder=3)
        if label_by:
            for xv, yv, t in zip(g[x], g[y], g[label_by]):
                ax.annotate(
                    f"{t:g}" if isinstance(t, float) else str(t),
                    (xv, yv),
                    fontsize=6,
                    xytext=(3, 2),
                    textcoords="offset points",
                )
    vals = np.concatenate([df[x].to_numpy(float), df[y].to_numpy(float)]) if len(df) else np.array([0.0, 1.0])
    lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
    pad = max(hi - lo, 1e-3) * 0.08
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(f"test accuracy, {x} pruning")
    ax.set_ylabel(f"test accuracy, {y} pruning")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    return ax


def plot_metric_by_value(
    df: pd.DataFrame,
    *,
    x: str,
    hue: str,
    ax: Axes | None = None,
    ylabel: str = "test accuracy",
    logx: bool = False,
    title: str | None = None,
) -> Axes:
    """Mean ± std against ``x``, one line per value of a numeric setting ``hue`` (e.g. MEST's λ), coloured
    along a sequential colour map from the smallest value to the largest."""
    ax = _axes(ax)
    values = sorted(df[hue].dropna().unique())
    cmap = plt.get_cmap("viridis")
    for i, v in enumerate(values):
        g = df[df[hue] == v].sort_values(x)
        colour = cmap(i / max(len(values) - 1, 1))
        mean, std = g["mean"].to_numpy(float), np.nan_to_num(g["std"].to_numpy(float))
        ax.plot(g[x], mean, marker="o", markersize=3, color=colour, label=f"{v:g}" if isinstance(v, float) else str(v))
        ax.fill_between(g[x], mean - std, mean + std, color=colour, alpha=0.1, linewidth=0)
    if logx:
        ax.set_xscale("log")
        xs = sorted({float(v) for v in df[x] if v == v and v > 0})
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.minorticks_off()
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(title=hue.replace("_", " "), fontsize=7, title_fontsize=7, frameon=False, ncol=2)
    return ax
