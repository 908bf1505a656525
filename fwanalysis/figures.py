"""The figure registry: one entry per paper figure = which runs -> which analysis -> which plot.

Both ``fwa <command> --plot`` and ``fwa report`` draw through these entries, so a figure is defined
once. An entry selects its runs from a study by the sweep that made them (``config["sweep"]``, set by
``fw-train sweep``; runs without it are used by every entry) and by config filters, computes its
result with :mod:`fwanalysis.analyses`, and draws with :mod:`fwanalysis.plots`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from . import analyses as A  # noqa: E402
from .artifacts import Run  # noqa: E402
from .vocab import CRITERIA  # noqa: E402
from .artifacts.select import RunFilter  # noqa: E402
from .plots.cd import plot_cd_diagram  # noqa: E402
from .plots.metrics import plot_learning_curves, plot_loss_gap, plot_metric_vs  # noqa: E402
from .plots.structure import plot_itop, plot_jaccard_heatmap, plot_jaccard_over_time, plot_never_removed  # noqa: E402

__all__ = ["FigureEntry", "Built", "FIGURES", "build", "save_figure", "select_for"]

plt.rcParams.update({"svg.hashsalt": "fwa", "figure.dpi": 100, "savefig.dpi": 150, "font.size": 9})


@dataclass
class Built:
    """A computed figure: the drawn matplotlib figure, its data table and the runs behind it."""

    figure: "matplotlib.figure.Figure"
    table: pd.DataFrame
    runs: list[Run]
    result: object = None


@dataclass(frozen=True)
class FigureEntry:
    id: str
    caption: str
    sweep: str | None                       # which spec's runs (config["sweep"]); None: any
    compute: Callable[[list[Run]], object]  # runs -> result (analyses)
    table: Callable[[object], pd.DataFrame]
    draw: Callable[[object], "matplotlib.figure.Figure"]
    flt: RunFilter = field(default_factory=RunFilter)
    baselines: bool = False                 # keep dense/static runs whatever the criterion filters say
    absent: str | None = None               # why its data cannot be made here, and the command that would make it


def save_figure(fig, path: str | Path) -> None:
    """Save with fixed metadata (no dates, no versions) so a rebuild writes the same bytes; atomically."""
    from .artifacts.io import atomic_path

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    meta = {"png": {"Software": None}, "pdf": {"Creator": None, "Producer": None, "CreationDate": None}, "svg": {"Date": None, "Creator": None}}.get(fmt, {})
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, metadata=meta, bbox_inches="tight")


def _grid(n: int, *, w: float = 4.2, h: float = 3.2, ncols: int = 3):
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _facets(df: pd.DataFrame, keys: Sequence[str]) -> tuple[str, list[tuple[str, pd.DataFrame]]]:
    """Split ``df`` into panels by ``keys``: ``(title for what all panels share, [(panel title, frame)])``.

    The fields an analysis kept apart (``df.attrs["separated_by"]``) are keys too, so no panel mixes
    runs of different designs. Keys with one value go into the shared title; only the keys that vary
    name the panels.
    """
    keys = [k for k in dict.fromkeys([*keys, *df.attrs.get("separated_by", [])]) if k in df.columns]
    fixed = [k for k in keys if df[k].nunique(dropna=False) <= 1]
    varying = [k for k in keys if k not in fixed]

    def show(k, v):
        return f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"

    common = ", ".join(show(k, df[k].iloc[0]) for k in fixed if len(df) and df[k].iloc[0] is not None and df[k].iloc[0] == df[k].iloc[0])
    if not varying:
        return common, [("", df)]
    panels = []
    for vals, g in df.groupby(varying, dropna=False, sort=True):
        vals = vals if isinstance(vals, tuple) else (vals,)
        panels.append((", ".join(show(k, v) for k, v in zip(varying, vals) if v is not None and v == v), g))
    return common, panels


def _suptitle(fig, text: str) -> None:
    if text:
        fig.suptitle(text, fontsize=10)


# -- draw functions (layout only; every mark comes from fwanalysis.plots) ---------------------------
def draw_metric_vs(x: str, *, facet: Sequence[str], ylabel: str = "test accuracy", logx: bool = False, title: str = ""):
    def draw(df: pd.DataFrame):
        common, panels = _facets(df, facet)
        fig, axes = _grid(len(panels))
        for ax, (name, g) in zip(axes, panels):
            plot_metric_vs(g, x=x, ax=ax, ylabel=ylabel, logx=logx, title=name)
        _suptitle(fig, "; ".join(t for t in (title, common) if t))
        fig.tight_layout()
        return fig

    return draw


def _draw_heatmaps(results: dict, *, show_std=False, w: float, h: float, ncols: int):
    """One Jaccard heatmap per ``{panel title: result}`` entry (an empty title draws none)."""
    fig, axes = _grid(len(results), w=w, h=h, ncols=ncols)
    for ax, (title, res) in zip(axes, results.items()):
        plot_jaccard_heatmap(res, ax=ax, show_std=show_std, title=title or None)
    fig.tight_layout()
    return fig


def draw_jaccard(result, *, show_std=False):
    """One heatmap, or one per model for ``{model: result}`` (as the paper's Fig. 6 shows ResNet-56 and VGG-16)."""
    results = result if isinstance(result, dict) else {"": result}
    return _draw_heatmaps(results, show_std=show_std, w=6.2, h=5.2, ncols=2)


def draw_jaccard_time(df: pd.DataFrame):
    """One panel per run criterion, and per model when the frame holds a ``model`` column with several."""
    models = list(dict.fromkeys(df["model"])) if "model" in df.columns else [None]
    panels = [(m, c) for m in models for c in dict.fromkeys(df["run_criterion"] if m is None else df.loc[df["model"] == m, "run_criterion"])]
    fig, axes = _grid(len(panels), w=4.5, h=3.2)
    for ax, (m, c) in zip(axes, panels):
        sub = df if m is None else df[df["model"] == m]
        plot_jaccard_over_time(sub[sub["run_criterion"] == c], ax=ax, run_criterion=c)
        if m is not None and len(models) > 1:
            ax.set_title(f"{m}: {ax.get_title()}", fontsize=9)
    fig.tight_layout()
    return fig


def draw_cd(result):
    k = len(result.methods)
    fig, ax = plt.subplots(figsize=(7, 1.6 + 0.32 * math.ceil(k / 2) + 0.25 * len(result.cliques)))
    plot_cd_diagram(result, ax=ax)
    return fig


def draw_itop(df: pd.DataFrame):
    common, panels = _facets(df, ["model", "dataset", "growth", "density"])
    fig, axes = _grid(len(panels), w=5.5, h=3.8)
    for ax, (name, g) in zip(axes, panels):
        plot_itop(g, ax=ax)
        ax.set_title(name, fontsize=9)
    _suptitle(fig, common)
    fig.tight_layout()
    return fig


def draw_never_removed(rows: pd.DataFrame):
    from .stats.never_removed import never_removed_summary

    fig, ax = plt.subplots(figsize=(6, 4))
    plot_never_removed(never_removed_summary(rows), ax=ax)
    fig.tight_layout()
    return fig


def draw_loss_gap(df: pd.DataFrame):
    common, panels = _facets(df, ["model", "density"])
    fig, axes = _grid(len(panels))
    for ax, (name, g) in zip(axes, panels):
        plot_loss_gap(g, ax=ax, title=name)
    _suptitle(fig, common)
    fig.tight_layout()
    return fig


def draw_learning_curves(df: pd.DataFrame):
    """One panel per model (and sparse density); the dense baseline is drawn in every panel of its model."""
    sparse, dense = df[df["criterion"] != "dense"], df[df["criterion"] == "dense"]
    common, panels = _facets(sparse, ["model", "density"])
    fig, axes = _grid(len(panels))
    for ax, (name, g) in zip(axes, panels):
        base = dense[dense["model"].isin(g["model"].unique())] if "model" in dense else dense
        plot_learning_curves(pd.concat([g, base]), ax=ax, title=name)
    _suptitle(fig, common)
    fig.tight_layout()
    return fig


# -- tables ------------------------------------------------------------------------------------------
def jaccard_table(res) -> pd.DataFrame:
    return res.to_frame()


def cd_table(res) -> pd.DataFrame:
    return pd.DataFrame({
        "method": res.methods,
        "avg_rank": [res.avg_ranks[m] for m in res.methods],
        "cd": res.cd, "alpha": res.alpha, "n_blocks": res.n_blocks,
        "friedman_p": res.friedman["pvalue"], "iman_davenport_p": res.iman_davenport["pvalue"],
    })


def _ident(df):
    return df


# -- compute helpers ------------------------------------------------------------------------------
def _cd(runs):
    """Fig. 3: the density bounds are the entry's filter (RunFilter), the same code as `fwa cd-diagram --density-max/--density-gt`."""
    return A.cd_result(A.cd_scores(runs))


def _closest_density(runs: list[Run], target: float) -> list[Run]:
    ds = sorted({r.config["density"] for r in runs if r.config.get("method") == "dst" and r.config.get("density") is not None})
    if not ds:
        return runs
    best = min(ds, key=lambda d: (abs(math.log(d / target)), d))
    return [r for r in runs if r.config.get("method") == "dense" or r.config.get("density") == best]


def _random_growth_or_baseline(runs: list[Run]) -> list[Run]:
    """DST runs with random growth (the paper's default) and the dense/static baselines."""
    return [r for r in runs if r.config.get("method") != "dst" or r.config.get("growth") == "random"]


def _loss_gap(runs):
    sel = _closest_density(_random_growth_or_baseline(runs), 0.1)
    df = A.loss_gap_table(sel, by_config=("model",))
    dens = sorted({r.config["density"] for r in sel if r.config.get("method") != "dense"})
    df.insert(1, "density", dens[0] if len(dens) == 1 else None)
    return df


def _itop(runs):
    return A.itop_vs_update_period(A.itop_rows(runs))


def _metric_x(x: str, *, dst_only: bool = True):
    def compute(runs):
        rs = [r for r in runs if r.config.get("method") == "dst"] if dst_only else runs
        return A.metric_vs(rs, x=x, by=("model", "dataset", "growth", "density", "criterion"))

    return compute


def _scope(runs):
    df = A.metric_vs([r for r in runs if r.config.get("method") == "dst"], x="pruning_scope", by=("model", "dataset", "growth", "density", "criterion"))
    return df


_ABSENT_IMAGENET = ("needs ImageNet and ResNet-50, which cannot be trained here; write such runs with any loop "
                    "(fwanalysis.artifacts.RunWriter) with dataset 'imagenet' and run `fwa report` on them")
_ABSENT_ROBERTA = ("needs RoBERTa fine-tuning on GLUE, which cannot be run here; record those runs with RunWriter "
                   "(model 'roberta') and run `fwa report` on them")
_ABSENT_EFFNET = ("needs a pretrained EfficientNet, which cannot be loaded here; record those runs with RunWriter "
                  "(model 'efficientnet') and run `fwa report` on them")

_ACC_FACETS = ["model", "dataset", "growth"]
# The criteria of the paper's structural study (the authors' Jaccard experiments run SET, magnitude, MEST,
# SNIP, RSensitivity and random; sensitivity appears only in App. B).
_STRUCTURAL_CRITERIA = tuple(c for c in CRITERIA if c != "sensitivity")

def _per_group(compute: Callable) -> Callable:
    """``runs -> {panel title: compute(that group's runs)}``: one panel per model and per value of any
    other field in which the groups of DST runs differ (e.g. ρ), never averaging across them. Without
    DST runs ``compute`` sees all runs, so that its own error says what is missing."""
    def per(runs: list[Run]) -> dict:
        groups = A.split_groups(runs)
        out = {}
        for key, rs in groups.items():
            out[key] = compute(rs)
        return out or {(): compute(runs)}

    return per


def _panel_title(key: tuple) -> str:
    """``(("model", "cnn-small"), ("prune_fraction", 0.1))`` -> ``cnn-small, prune_fraction=0.1``."""
    return ", ".join(str(v) if f == "model" else (f"{f}={v:g}" if isinstance(v, float) else f"{f}={v}") for f, v in key)


def _group_table(table: Callable) -> Callable:
    """Tables of a ``{group key: result}`` dict stacked, led by the group's fields (``model`` first)."""
    def stacked(results: dict) -> pd.DataFrame:
        frames = []
        for key, res in results.items():
            df = table(res)
            for f, v in reversed(key):
                df.insert(0, f, [v] * len(df))
            frames.append(df)
        return pd.concat(frames, ignore_index=True)

    return stacked


def _draw_groups(results: dict, *, show_std=False):
    """One Jaccard heatmap per group (as the paper's Fig. 6 shows ResNet-56 and VGG-16 side by side)."""
    if not isinstance(results, dict):  # one result (fwa jaccard --plot): one panel
        return draw_jaccard(results, show_std=show_std)
    return draw_jaccard({_panel_title(k): res for k, res in results.items()}, show_std=show_std)


def _time_rows_per_group(runs: list[Run]) -> pd.DataFrame:
    return _group_table(_ident)(_per_group(A.jaccard_time_rows)(runs))


FIGURES: dict[str, FigureEntry] = {e.id: e for e in [
    FigureEntry("fig01-accuracy-vs-density", "Test accuracy vs density per criterion, with dense and static baselines (mean ± std over seeds).",
                "accuracy", A.accuracy_table, _ident, draw_metric_vs("density", facet=_ACC_FACETS, logx=True), baselines=True),
    FigureEntry("fig02-imagenet", "Top-1 accuracy vs density on ImageNet (ResNet-50).", "imagenet", A.accuracy_table, _ident,
                draw_metric_vs("density", facet=_ACC_FACETS, logx=True), flt=RunFilter(dataset=("imagenet",)), baselines=True, absent=_ABSENT_IMAGENET),
    FigureEntry("fig03a-cd-all", "Critical-difference diagram of the criteria's ranks over all (model, data, growth, density) blocks (Friedman + Nemenyi, α = 0.05).",
                "accuracy", _cd, cd_table, draw_cd),
    FigureEntry("fig03b-cd-low-density", "Critical-difference diagram over blocks with density ≤ 0.2.", "accuracy", _cd, cd_table, draw_cd,
                flt=RunFilter(density_max=0.2)),
    FigureEntry("fig03c-cd-high-density", "Critical-difference diagram over blocks with density > 0.2.", "accuracy", _cd, cd_table, draw_cd,
                flt=RunFilter(density_gt=0.2)),
    FigureEntry("fig04-loss-gap", "Validation minus training loss per epoch, per criterion (random growth) and baseline, at the density closest to 0.1, per model.",
                "accuracy", _loss_gap, _ident, draw_loss_gap, baselines=True),
    FigureEntry("fig05-update-period", "Test accuracy vs update period Δt per criterion.", "update-period", _metric_x("update_period"), _ident,
                draw_metric_vs("update_period", facet=["model", "dataset", "growth", "density"], logx=True)),
    FigureEntry("fig06a-jaccard-first-update", "Jaccard index of the sets each criterion removes at the first update, one panel per model (mean over seeds); J_r: random criterion across seeds. Sensitivity and RSensitivity are exact reciprocals, so they remove complementary sets (J = 0 while ρ_t ≤ ½).",
                "jaccard", _per_group(A.jaccard_first), _group_table(jaccard_table), _draw_groups),
    FigureEntry("fig06b-jaccard-end", "Jaccard index of the final masks of runs paired by seed, and of each run's initial mask, one panel per model; J_init: initial masks across seeds.",
                "jaccard", _per_group(A.jaccard_end), _group_table(jaccard_table), _draw_groups),
    FigureEntry("fig07-mest-lambda", "Test accuracy of MEST vs λ (|θ| + λ|∇θ|).", "mest-lambda", _metric_x("mest_lambda"), _ident,
                draw_metric_vs("mest_lambda", facet=["model", "dataset", "growth", "density"], logx=True)),
    FigureEntry("fig08-sensitivity-vs-rsensitivity", "Sensitivity |∇θ|/|θ| against its reciprocal RSensitivity |θ|/|∇θ| (and magnitude), accuracy vs density.",
                "accuracy", A.accuracy_table, _ident, draw_metric_vs("density", facet=_ACC_FACETS, logx=True),
                flt=RunFilter(criterion=("sensitivity", "rsensitivity", "magnitude")), baselines=True),
    FigureEntry("fig09-roberta", "Pruning criteria when fine-tuning RoBERTa (accuracy vs density).", "roberta", A.accuracy_table, _ident,
                draw_metric_vs("density", facet=_ACC_FACETS, logx=True), flt=RunFilter(model=("roberta",)), baselines=True, absent=_ABSENT_ROBERTA),
    FigureEntry("fig11-itop", "ITOP ratio (share of weights ever active) at the end of training vs Δt, rebuilt from the update files.",
                "update-period", _itop, _ident, draw_itop),
    FigureEntry("fig12-batch-size", "Test accuracy vs batch size per criterion.", "batch-size", _metric_x("batch_size"), _ident,
                draw_metric_vs("batch_size", facet=["model", "dataset", "growth", "density"], logx=True)),
    FigureEntry("fig14-efficientnet", "Pruning criteria when fine-tuning a pretrained EfficientNet (accuracy vs density).", "efficientnet", A.accuracy_table, _ident,
                draw_metric_vs("density", facet=_ACC_FACETS, logx=True), flt=RunFilter(model=("efficientnet",)), baselines=True, absent=_ABSENT_EFFNET),
    FigureEntry("fig15-global-vs-local", "Test accuracy with global vs local (per-layer) pruning per criterion.", "scope", _scope, _ident,
                draw_metric_vs("pruning_scope", facet=["model", "dataset", "growth", "density"])),
    FigureEntry("fig16-prune-schedule", "Test accuracy per pruning-fraction schedule (cosine, linear, constant) per criterion.", "schedule",
                _metric_x("prune_schedule"), _ident, draw_metric_vs("prune_schedule", facet=["model", "dataset", "growth", "density"])),
    FigureEntry("fig17-jaccard-first-update-rho", "First-update Jaccard of the criteria at several initial pruning fractions ρ (mean over seeds).",
                "rho", _per_group(A.jaccard_first), _group_table(jaccard_table), _draw_groups),
    FigureEntry("fig18-jaccard-over-time", "Jaccard over training between each run's removed set and what every other criterion would have removed.",
                "jaccard", _time_rows_per_group, _ident, draw_jaccard_time),
    FigureEntry("fig19-never-removed", "Final masks of runs paired by seed (paper App. K): weights kept by every criterion relative to the weights each keeps, "
                "and weights outside every final mask relative to the weights outside each, over magnitude, SET, MEST, RSensitivity, SNIP and random "
                "(the criteria of the paper's structural study; mean ± std over seeds).",
                "jaccard", partial(A.never_removed_rows, criteria=_STRUCTURAL_CRITERIA), _ident, draw_never_removed),
    FigureEntry("fig20-jaccard-first-update-std", "Standard deviation over seeds of the first-update Jaccard (Fig. 6a).",
                "jaccard", _per_group(A.jaccard_first), _group_table(jaccard_table), partial(_draw_groups, show_std="only")),
    FigureEntry("fig21-jaccard-end-std", "Standard deviation over seeds of the end-of-training Jaccard (Fig. 6b).",
                "jaccard", _per_group(A.jaccard_end), _group_table(jaccard_table), partial(_draw_groups, show_std="only")),
    FigureEntry("fig23-learning-curves", "Validation accuracy per epoch per criterion (random growth) at the density closest to 0.1, with the dense baseline, per model (mean ± std over seeds).", "accuracy",
                lambda runs: A.learning_curves(_closest_density(_random_growth_or_baseline(runs), 0.1)), _ident, draw_learning_curves, baselines=True),
]}


def select_for(entry: FigureEntry, runs: Sequence[Run]) -> list[Run]:
    """The runs of a study an entry uses: those of its sweep (or untagged runs) that pass its filters."""
    out = []
    for r in runs:
        tag = r.config.get("sweep")
        if entry.sweep is not None and tag is not None and tag != entry.sweep:
            continue
        if entry.flt.accepts(r, baselines=entry.baselines):
            out.append(r)
    return out


def build(entry: FigureEntry, runs: Sequence[Run], *, select: bool = True) -> Built:
    """Compute and draw one entry from ``runs`` (selected for it unless ``select=False``)."""
    rs = select_for(entry, runs) if select else list(runs)
    if not rs:
        raise ValueError(f"{entry.id}: no runs for it (sweep {entry.sweep!r}, {entry.flt.describe()})")
    result = entry.compute(rs)
    table = entry.table(result)
    fig = entry.draw(result)
    return Built(figure=fig, table=table, runs=rs, result=result)
