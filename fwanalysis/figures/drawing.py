"""The figures' draw functions: a computed result -> a matplotlib figure. They lay panels out (:mod:`.layout`);
every mark comes from :mod:`fwanalysis.plots`."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd

from ..plots.cd import plot_cd_diagram
from ..plots.metrics import (
    plot_label_bars,
    plot_learning_curves,
    plot_loss_gap,
    plot_metric_by_value,
    plot_metric_vs,
    plot_paired_scatter,
)
from ..plots.structure import plot_itop, plot_jaccard_heatmap, plot_jaccard_over_time, plot_never_removed
from .layout import _facets, _grid, _panel_grid, _panel_title, _shared_legend, _suptitle


def draw_metric_vs(
    x: str,
    *,
    facet: Sequence[str],
    ylabel: str = "test accuracy",
    logx: bool = False,
    title: str = "",
    rows: Sequence[str] = (),
    order: dict | None = None,
    ncols: int = 3,
):
    """One panel per facet (``rows``: the keys whose values make the grid's rows; ``order``: panel order of a key's
    values, :func:`.layout._panel_grid`), one legend for all."""

    def draw(df: pd.DataFrame):
        common, fig, panels = _panel_grid(df, facet, rows=rows, order=order, ncols=ncols)
        for ax, name, g in panels:
            plot_metric_vs(g, x=x, ax=ax, ylabel=ylabel, logx=logx, title=name)
        _suptitle(fig, "; ".join(t for t in (title, common) if t))
        _shared_legend(fig)
        return fig

    return draw


def _draw_heatmaps(results: dict, *, show_std=False, w: float, h: float, ncols: int):
    """One Jaccard heatmap per ``{panel title: result}`` entry (an empty title draws none)."""
    fig, axes = _grid(len(results), w=w, h=h, ncols=ncols)
    for ax, (title, res) in zip(axes, results.items()):
        plot_jaccard_heatmap(res, ax=ax, show_std=show_std, title=title or None)
    return fig


def draw_jaccard(result, *, show_std=False):
    """One heatmap, or one per model for ``{model: result}`` (as the paper's Fig. 6 shows ResNet-56 and VGG-16)."""
    results = result if isinstance(result, dict) else {"": result}
    n = len(results)
    return _draw_heatmaps(results, show_std=show_std, w=6.2, h=5.2, ncols=4 if n >= 8 and n % 4 == 0 else 3)


def draw_jaccard_time(df: pd.DataFrame):
    """One panel per run criterion, and per model when the frame holds a ``model`` column with several."""
    models = list(dict.fromkeys(df["model"])) if "model" in df.columns else [None]
    panels = [
        (m, c)
        for m in models
        for c in dict.fromkeys(df["run_criterion"] if m is None else df.loc[df["model"] == m, "run_criterion"])
    ]
    fig, axes = _grid(len(panels), w=4.5, h=3.2)
    for ax, (m, c) in zip(axes, panels):
        sub = df if m is None else df[df["model"] == m]
        plot_jaccard_over_time(sub[sub["run_criterion"] == c], ax=ax, run_criterion=c)
        if m is not None and len(models) > 1:
            ax.set_title(f"{m}: {ax.get_title()}", fontsize=9)
    _shared_legend(fig)
    return fig


def draw_cd(result, *, highlight: Sequence[str] = ()):
    """Demšar's diagram on a figure sized to the methods (up to 20 without crowding); title: the omnibus decision."""
    return plot_cd_diagram(result, highlight=tuple(highlight)).figure


def draw_itop(df: pd.DataFrame):
    common, fig, panels = _panel_grid(df, ["model", "dataset", "growth", "density"], w=5.5, h=3.8)
    for ax, name, g in panels:
        plot_itop(g, ax=ax)
        ax.set_title(name, fontsize=9)
    _suptitle(fig, common)
    _shared_legend(fig)
    return fig


def draw_never_removed(rows: pd.DataFrame):
    from ..stats.never_removed import never_removed_summary

    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    plot_never_removed(never_removed_summary(rows), ax=ax)
    _shared_legend(fig)
    return fig


def draw_loss_gap(df: pd.DataFrame):
    common, fig, panels = _panel_grid(df, ["model", "density"])
    for ax, name, g in panels:
        plot_loss_gap(g, ax=ax, title=name)
    _suptitle(fig, common)
    _shared_legend(fig)
    return fig


def draw_learning_curves(df: pd.DataFrame):
    """One panel per model (and sparse density); the dense baseline is drawn in every panel of its model."""
    sparse, dense = df[df["criterion"] != "dense"], df[df["criterion"] == "dense"]
    common, fig, panels = _panel_grid(sparse, ["model", "density"])
    for ax, name, g in panels:
        base = dense[dense["model"].isin(g["model"].unique())] if "model" in dense else dense
        plot_learning_curves(pd.concat([g, base]), ax=ax, title=name)
    _suptitle(fig, common)
    _shared_legend(fig)
    return fig


def draw_loss_gap_and_accuracy(res):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [2, 1]}, layout="constrained")
    plot_loss_gap(res["gap"], ax=a1, title="loss gap (val − train)")
    plot_label_bars(res["acc"], ax=a2, ylabel="test accuracy", title="test accuracy")
    models = sorted(set(res["gap"]["model"]))
    _suptitle(fig, ", ".join(models))
    _shared_legend(fig)
    return fig


def draw_scope_scatter(df: pd.DataFrame):
    """Fig. 15: global (y) against local (x) test accuracy, one point per criterion and density."""
    fig, ax = plt.subplots(figsize=(4.8, 4.4), layout="constrained")
    plot_paired_scatter(df, x="local", y="global", ax=ax, label_by="density")
    common, _ = _facets(df, ["model", "dataset", "growth"])
    _suptitle(fig, common)
    _shared_legend(fig)
    return fig


def draw_mest_lambda(df: pd.DataFrame):
    common, fig, panels = _panel_grid(df, ["model", "dataset", "growth"], w=5.5, h=3.8)
    for ax, name, g in panels:
        plot_metric_by_value(g, x="density", hue="mest_lambda", ax=ax, logx=True, title=name or None)
    _suptitle(fig, common)
    _shared_legend(fig)
    return fig


def draw_sensitivity(res):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    plot_metric_vs(res["acc"], x="density", ax=a1, logx=True, title="test accuracy vs density")
    d = sorted(set(res["curves"].loc[res["curves"]["criterion"] != "dense", "density"]))
    plot_learning_curves(res["curves"], ax=a2, title=f"validation accuracy, density {d[0]:g}" if d else None)
    common, _ = _facets(res["acc"], ["model", "dataset", "growth"])
    _suptitle(fig, common)
    _shared_legend(fig)
    return fig


def _draw_groups(results: dict, *, show_std=False):
    """One Jaccard heatmap per group (as the paper's Fig. 6 shows the MLP, the CNN and ResNet-56 side by side)."""
    if not isinstance(results, dict):  # one result (fwa jaccard --plot): one panel
        return draw_jaccard(results, show_std=show_std)
    return draw_jaccard({_panel_title(k): res for k, res in results.items()}, show_std=show_std)


def draw_set_defect(res):
    common, fig, panels = _panel_grid(res["acc"], ["model", "dataset", "growth"], extra=1)
    for ax, name, g in panels:
        plot_metric_vs(g, x="density", ax=ax, logx=True, title=name)
    _suptitle(fig, common)
    _shared_legend(fig)
    fig.draw_without_rendering()  # the layout first: the CD diagram fits its labels to its panel's final width
    plot_cd_diagram(res["cd"], ax=[ax for ax in fig.axes if ax.get_visible()][-1])
    return fig
