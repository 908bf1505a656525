"""Plots of mask structure: Jaccard heatmaps and curves, ITOP, weights never removed.

Each ``plot_<thing>(data, *, ax=None, ...)`` draws into ``ax`` (a new figure when None) and returns
it; nothing here computes a statistic or writes a file (Nowak et al. 2023, Figs. 6, 18, 19, 20-21).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, to_rgba

from fwanalysis.stats.jaccard import JaccardResult

from .metrics import criterion_colour, criterion_style

__all__ = ["plot_jaccard_heatmap", "plot_jaccard_over_time", "plot_itop", "plot_never_removed"]

_AT_TITLES = {
    "first": "Jaccard of sets removed at the first update",
    "end": "Jaccard of final masks",
    "time": "Jaccard of removed sets",
}
_SHOW_STD = (False, True, "only")


def _axes(ax: Axes | None, figsize=(6, 5)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _text_colour(rgba) -> str:
    r, g, b = to_rgba(rgba)[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _need(df: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs columns {missing}; the frame has {list(df.columns)}")


def plot_jaccard_heatmap(
    result: JaccardResult,
    *,
    ax: Axes | None = None,
    show_std: bool | str = False,
    cmap: str | Colormap = "viridis",
    title: str | None = None,
    colorbar: bool = True,
) -> Axes:
    """Criterion × criterion heatmap of a :class:`JaccardResult` (Fig. 6; with ``show_std="only"`` Figs. 20-21).

    Criteria keep the result's order on both axes. Each cell shows the mean to two decimals
    (``show_std=True``: mean ± std; ``show_std="only"``: the std matrix is drawn and annotated
    instead, to three decimals when every std is below 0.1).
    The colour scale is 0..1 for means and 0..max(std) for std; NaN cells are grey with "–".
    The reference (e.g. "J_r = 0.05") is stated under the title.
    """
    if show_std not in _SHOW_STD:
        raise ValueError(f"show_std={show_std!r} is not one of {', '.join(map(repr, _SHOW_STD))}")
    ax = _axes(ax)
    mean = np.asarray(result.mean, dtype=float)
    std = np.asarray(result.std, dtype=float)
    values = std if show_std == "only" else mean
    vmax = 1.0
    if show_std == "only":
        finite = std[np.isfinite(std)]
        vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    cm = (cmap if isinstance(cmap, Colormap) else matplotlib.colormaps[cmap]).with_extremes(bad="lightgrey")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cm, vmin=0.0, vmax=vmax, aspect="equal")
    k = len(result.criteria)
    digits = 3 if show_std == "only" and vmax < 0.1 else 2
    for i in range(k):
        for j in range(k):
            v = values[i, j]
            if not np.isfinite(v):
                ax.text(j, i, "–", ha="center", va="center", color="dimgray")
                continue
            label = f"{v:.{digits}f}"
            if show_std is True and np.isfinite(std[i, j]):
                label = f"{mean[i, j]:.2f}\n±{std[i, j]:.2f}"
            ax.text(
                j,
                i,
                label,
                ha="center",
                va="center",
                color=_text_colour(cm(image.norm(v))),
                fontsize="small" if show_std is True else "medium",
            )
    ax.set_xticks(range(k), result.criteria, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), result.criteria)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if colorbar:
        ax.figure.colorbar(
            image, ax=ax, fraction=0.046, pad=0.04, label="std of Jaccard" if show_std == "only" else "Jaccard"
        )
    head = title if title is not None else _AT_TITLES[result.at] + (" (std over seeds)" if show_std == "only" else "")
    ref = "–" if not np.isfinite(result.reference_value) else f"{result.reference_value:.2f}"
    extra = f", {result.groups} groups" if result.groups > 1 else ""
    ax.set_title(f"{head}\n{result.reference_name} = {ref}{extra}", fontsize="medium")
    return ax


def plot_jaccard_over_time(
    df: pd.DataFrame,
    *,
    ax: Axes | None = None,
    run_criterion: str | None = None,
    order: list[str] | None = None,
    include_self: bool = False,
) -> Axes:
    """Jaccard of the run's removed set and each other criterion's over training steps (Fig. 18).

    ``df`` is :func:`fwanalysis.stats.jaccard.jaccard_over_time` output (columns ``step``,
    ``run_criterion``, ``other``, ``jaccard``, optional ``std``, shaded ±std). One line per ``other``
    (in ``order`` if given), for one ``run_criterion`` (may be omitted when the frame has only one).
    The run's own criterion is left out unless ``include_self``.
    """
    _need(df, ["step", "run_criterion", "other", "jaccard"], "plot_jaccard_over_time")
    runs = list(dict.fromkeys(df["run_criterion"]))
    if run_criterion is None:
        if len(runs) != 1:
            raise ValueError(f"the frame holds several run criteria {runs}; pass run_criterion=one of them")
        run_criterion = runs[0]
    elif run_criterion not in runs:
        raise ValueError(f"run_criterion={run_criterion!r} is not in the frame; it has {runs}")
    ax = _axes(ax, figsize=(6, 4))
    sub = df[df["run_criterion"] == run_criterion]
    others = list(dict.fromkeys(sub["other"]))
    if order is not None:
        others = [o for o in order if o in others] + [o for o in others if o not in order]
    if not include_self:
        others = [o for o in others if o != run_criterion]
    for other in others:
        d = sub[sub["other"] == other].sort_values("step")
        st = criterion_style(str(other))
        (line,) = ax.plot(d["step"], d["jaccard"], label=other, color=st["color"], marker=st["marker"], markersize=3)
        if "std" in d.columns and d["std"].notna().any():
            s = d["std"].fillna(0.0)
            ax.fill_between(d["step"], d["jaccard"] - s, d["jaccard"] + s, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("step")
    ax.set_ylabel("Jaccard")
    ax.set_ylim(0, 1)
    ax.set_title(f"removed by {run_criterion} vs. what others would remove", fontsize="medium")
    if others:
        ax.legend(title="other criterion", fontsize="small")
    return ax


def plot_itop(df: pd.DataFrame, *, ax: Axes | None = None, hue: str = "criterion") -> Axes:
    """ITOP ratio (Liu et al. 2021): curves vs ``step``, one per ``hue`` value (and per ``seed`` if present).

    Without a ``step`` column, bars of ``itop`` vs ``update_period`` grouped by ``hue``, one row per
    bar, error bars from an ``itop_std`` (or ``std``) column when present.
    """
    _need(df, ["itop", hue], "plot_itop")
    ax = _axes(ax, figsize=(6, 4))
    labels = list(dict.fromkeys(df[hue]))
    if "step" in df.columns:
        for label in labels:
            d = df[df[hue] == label]
            parts = d.groupby("seed", sort=False) if "seed" in d.columns else [(None, d)]
            for m, (_, part) in enumerate(parts):
                part = part.sort_values("step")
                ax.plot(
                    part["step"],
                    part["itop"],
                    color=criterion_colour(str(label)),
                    label=str(label) if m == 0 else "_nolegend_",
                )
        ax.set_xlabel("step")
    else:
        _need(df, ["update_period"], "plot_itop without a step column")
        if df.duplicated([hue, "update_period"]).any():
            raise ValueError(f"plot_itop bars need one row per ({hue}, update_period); aggregate seeds first")
        periods = sorted(df["update_period"].unique())
        width = 0.8 / max(len(labels), 1)
        err = next((c for c in ("itop_std", "std") if c in df.columns), None)
        for n, label in enumerate(labels):
            d = df[df[hue] == label].set_index("update_period").reindex(periods)
            x = np.arange(len(periods)) - 0.4 + width * (n + 0.5)
            ax.bar(
                x,
                d["itop"],
                width,
                yerr=None if err is None else d[err],
                capsize=2,
                color=criterion_colour(str(label)),
                label=str(label),
            )
        ax.set_xticks(range(len(periods)), [str(p) for p in periods])
        ax.set_xlabel("update period (steps)")
    ax.set_ylabel("ITOP ratio")
    ax.set_ylim(0, 1)
    if labels:
        ax.legend(title=hue, fontsize="small")
    return ax


def plot_never_removed(df: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Grouped bars per model of ``retained_by_all`` and ``removed_by_all`` with ±std (Fig. 19).

    ``df`` is :func:`fwanalysis.stats.never_removed.never_removed_summary` output: one row per model
    (and whatever else describes the runs), columns ``retained_by_all``, ``removed_by_all`` and optional
    ``*_std``; a bar pair is labelled by the describing columns that vary between rows (the model always).
    """
    _need(df, ["model", "retained_by_all", "removed_by_all"], "plot_never_removed")
    values = ("retained_by_all", "removed_by_all", "retained_by_all_std", "removed_by_all_std", "n", "seed")
    described = [c for c in df.columns if c not in values]
    keys = ["model"] + (["dataset"] if "dataset" in df.columns else [])
    keys += [c for c in described if c not in keys and df[c].nunique(dropna=False) > 1]
    if df.duplicated(described).any():
        raise ValueError("plot_never_removed needs one row per model; pass never_removed_summary(rows)")
    ax = _axes(ax, figsize=(max(4, 1.2 * len(df) + 2), 4))
    x = np.arange(len(df))
    width = 0.38
    bars = [
        ("retained_by_all", "kept by all", "#3b75af"),
        ("removed_by_all", "removed by all", "#f2a5c8"),
    ]  # the paper's blue and pink
    for n, (col, label, colour) in enumerate(bars):
        err = df[f"{col}_std"] if f"{col}_std" in df.columns else None
        ax.bar(x + (n - 0.5) * width, df[col], width, yerr=err, capsize=3, label=label, color=colour)
    names = [" / ".join(str(r[k]) for k in keys) for _, r in df.iterrows()]
    ax.set_xticks(x, names, rotation=30 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center")
    ax.set_ylabel("fraction of kept / removed weights")
    ax.set_ylim(0, 1)
    ax.legend(fontsize="small")
    return ax
