"""The figure registry: one entry per paper figure = which runs -> which analysis -> which plot.

Both ``fwa <command> --plot`` and ``fwa report`` draw through these entries, so a figure is defined
once. An entry selects its runs from a study by the sweeps that made them (``config["sweep"]``, set by
``fw-train sweep``; runs without it are used by every entry), by the paper setups it shows (on the
embedded data, by model) and by config filters, computes its result with :mod:`fwanalysis.analyses`,
and lays it out with :mod:`fwanalysis.plots`. docs/figures.md says which study each entry draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from . import analyses as A  # noqa: E402
from .artifacts import Run  # noqa: E402
from .artifacts.select import RunFilter, in_sweeps, profiles_of  # noqa: E402
from .plots.cd import plot_cd_diagram  # noqa: E402
from .plots.metrics import (
    plot_label_bars,
    plot_learning_curves,
    plot_loss_gap,
    plot_metric_by_value,
    plot_metric_vs,
    plot_paired_scatter,
)  # noqa: E402
from .plots.structure import plot_itop, plot_jaccard_heatmap, plot_jaccard_over_time, plot_never_removed  # noqa: E402
from .vocab import PAPER_CRITERIA, STRUCTURAL_CRITERIA  # noqa: E402

__all__ = [
    "FigureEntry",
    "Built",
    "FIGURES",
    "PAPER_CRITERIA",
    "STRUCTURAL_CRITERIA",
    "SETUPS",
    "build",
    "check_one_profile",
    "save_figure",
    "select_for",
]

# fwa's figure style, applied only while a figure is drawn and saved (draw_styled, save_figure): importing
# fwa never changes a user's matplotlib settings. The SVG hash salt makes SVG output reproducible.
STYLE = {"svg.hashsalt": "fwa", "figure.dpi": 100, "savefig.dpi": 150, "font.size": 9}


def draw_styled(draw: Callable, result):
    """``draw(result)`` under fwa's style."""
    with plt.rc_context(STYLE):
        return draw(result)


@dataclass
class Built:
    """A computed figure: the drawn matplotlib figure, its data table and the runs behind it."""

    figure: matplotlib.figure.Figure
    table: pd.DataFrame
    runs: list[Run]
    result: object = None


@dataclass(frozen=True)
class FigureEntry:
    id: str
    caption: str
    sweeps: tuple[str, ...]  # which specs' runs (config["sweep"]); (): any
    compute: Callable[[list[Run]], object]  # runs -> result (analyses)
    table: Callable[[object], pd.DataFrame]
    draw: Callable[[object], matplotlib.figure.Figure]
    flt: RunFilter = field(default_factory=RunFilter)
    baselines: bool = False  # keep dense/static runs whatever the criterion filters say
    absent: str | None = None  # why its data cannot be made here, and the command that would make it
    setups: Callable[[Run], bool] | None = None  # which (model, dataset) setups; None: any
    summary: Callable[[object], str] | None = None  # result -> one line of measured numbers for the caption

    @property
    def sweep(self) -> str | None:
        """The spec that makes this figure's own runs (the first of ``sweeps``)."""
        return self.sweeps[0] if self.sweeps else None


def save_figure(fig, path: str | Path) -> None:
    """Save with fixed metadata (no dates, no versions) so a rebuild writes the same bytes; atomically."""
    from .artifacts.io import atomic_path

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    meta = {
        "png": {"Software": None},
        "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
        "svg": {"Date": None, "Creator": None},
    }.get(fmt, {})
    with atomic_path(path) as tmp, plt.rc_context(STYLE):
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

    common = ", ".join(
        show(k, df[k].iloc[0])
        for k in fixed
        if len(df) and df[k].iloc[0] is not None and df[k].iloc[0] == df[k].iloc[0]
    )
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


def _tight(fig) -> None:
    """``tight_layout`` that leaves room for the figure's title (it does not count it)."""
    top = 1 - 0.4 / fig.get_figheight() if fig._suptitle is not None else 1
    fig.tight_layout(rect=(0, 0, 1, top))


# -- draw functions (layout only; every mark comes from fwanalysis.plots) ---------------------------
def draw_metric_vs(x: str, *, facet: Sequence[str], ylabel: str = "test accuracy", logx: bool = False, title: str = ""):
    def draw(df: pd.DataFrame):
        common, panels = _facets(df, facet)
        fig, axes = _grid(len(panels))
        for ax, (name, g) in zip(axes, panels):
            plot_metric_vs(g, x=x, ax=ax, ylabel=ylabel, logx=logx, title=name)
        _suptitle(fig, "; ".join(t for t in (title, common) if t))
        _tight(fig)
        return fig

    return draw


def _draw_heatmaps(results: dict, *, show_std=False, w: float, h: float, ncols: int):
    """One Jaccard heatmap per ``{panel title: result}`` entry (an empty title draws none)."""
    fig, axes = _grid(len(results), w=w, h=h, ncols=ncols)
    for ax, (title, res) in zip(axes, results.items()):
        plot_jaccard_heatmap(res, ax=ax, show_std=show_std, title=title or None)
    _tight(fig)
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
    _tight(fig)
    return fig


def draw_cd(result, *, highlight: Sequence[str] = ()):
    """Demšar's diagram on a figure sized to the methods (up to 20 without crowding); title: the omnibus decision."""
    return plot_cd_diagram(result, highlight=tuple(highlight)).figure


def draw_itop(df: pd.DataFrame):
    common, panels = _facets(df, ["model", "dataset", "growth", "density"])
    fig, axes = _grid(len(panels), w=5.5, h=3.8)
    for ax, (name, g) in zip(axes, panels):
        plot_itop(g, ax=ax)
        ax.set_title(name, fontsize=9)
    _suptitle(fig, common)
    _tight(fig)
    return fig


def draw_never_removed(rows: pd.DataFrame):
    from .stats.never_removed import never_removed_summary

    fig, ax = plt.subplots(figsize=(6, 4))
    plot_never_removed(never_removed_summary(rows), ax=ax)
    _tight(fig)
    return fig


def draw_loss_gap(df: pd.DataFrame):
    common, panels = _facets(df, ["model", "density"])
    fig, axes = _grid(len(panels))
    for ax, (name, g) in zip(axes, panels):
        plot_loss_gap(g, ax=ax, title=name)
    _suptitle(fig, common)
    _tight(fig)
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
    _tight(fig)
    return fig


# -- tables ------------------------------------------------------------------------------------------
def jaccard_table(res) -> pd.DataFrame:
    return res.to_frame()


def cd_table(res) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "method": res.methods,
            "avg_rank": [res.avg_ranks[m] for m in res.methods],
            "cd": res.cd,
            "alpha": res.alpha,
            "n_blocks": res.n_blocks,
            "friedman_p": res.friedman["pvalue"],
            "iman_davenport_p": res.iman_davenport["pvalue"],
            "significant": res.significant,
        }
    )


def _ident(df):
    return df


# -- compute helpers ------------------------------------------------------------------------------
_ACC_FACETS = ["model", "dataset", "growth"]

EMBEDDED = ("mnist1d", "digits")  # the quick study's data: a model on them stands for every paper setup of that model

# The paper's eight (model, dataset) setups and where each is drawn.
SETUPS = {
    "mlp-higgs": ("mlp-small", "higgs"),
    "mlp-cifar10": ("mlp-large", "cifar10"),
    "cnn-cifar10": ("cnn-small", "cifar10"),
    "lenet5-fashionmnist": ("lenet5-caffe", "fashionmnist"),
    "resnet56-cifar10": ("resnet56", "cifar10"),
    "resnet56-cifar100": ("resnet56", "cifar100"),
    "vgg16-cifar100": ("vgg16", "cifar100"),
    "efficientnet-tinyimagenet": ("efficientnet-b0", "tinyimagenet"),
}
_FIG10 = ("cnn-cifar10", "resnet56-cifar100")
_FIG1 = tuple(k for k in SETUPS if k not in _FIG10)

_ABSENT_IMAGENET = (
    "needs ImageNet and a GPU cluster: `fw-train sweep specs/imagenet.toml --profile paper --executor slurm` "
    "with FWA_IMAGENET pointing at an ILSVRC-2012 folder, then `fwa report` on that study"
)
_ABSENT_ROBERTA = (
    "needs RoBERTa-Large fine-tuning on CommonsenseQA (the SMC benchmark), which fwa's trainer does not do; "
    "record such runs with any loop (fwanalysis.artifacts.RunWriter, model 'roberta') and run `fwa report` on them"
)
_ABSENT_EFFNET = (
    "needs EfficientNet-B0 weights pretrained on ImageNet, which cannot be downloaded here; the from-scratch half is "
    "`fw-train sweep specs/accuracy.toml --profile paper` (efficientnet-b0 on tinyimagenet)"
)
_ABSENT_EFFNET_CURVES = (
    "EfficientNet-B0 on Tiny-ImageNet is in the accuracy study's paper profile only (too slow for the quick "
    "study on a CPU): `fw-train sweep specs/accuracy.toml --profile paper` with FWA_TINYIMAGENET set"
)


def _absent_big(model: str, spec: str) -> str:
    return (
        f"{model} is out of the quick study (the scaling rule of docs/figures.md: an 880-step run costs minutes of CPU); "
        f"`fw-train sweep {spec} --profile paper` trains it"
    )


def _setup_filter(names: Sequence[str]) -> Callable[[Run], bool]:
    """Runs of these paper setups; on the embedded data, runs of the setups' models."""
    pairs = {SETUPS[n] for n in names}
    models = {m for m, _ in pairs}

    def accepts(r: Run) -> bool:
        m, d = r.config.get("model"), r.config.get("dataset")
        return (m, d) in pairs or (d in EMBEDDED and m in models)

    return accepts


def _dst(runs):
    return [r for r in runs if r.config.get("method") == "dst"]


def _cd(runs):
    """Fig. 3: the density bounds are the entry's filter (RunFilter), the same code as `fwa cd-diagram --density-max/--density-gt`."""
    return A.cd_result(A.cd_scores(runs))


def _random_growth_or_baseline(runs: list[Run]) -> list[Run]:
    """DST runs with random growth (the paper's default) and the dense/static baselines."""
    return [r for r in runs if r.config.get("method") != "dst" or r.config.get("growth") == "random"]


def _loss_gap(runs):
    return {"gap": A.loss_gap_baselines(runs), "acc": A.accuracy_by_label(runs)}


def _loss_gap_table(res):
    gap = res["gap"].assign(panel="loss gap")
    acc = res["acc"].assign(panel="test accuracy")
    return pd.concat([gap, acc], ignore_index=True)


def draw_loss_gap_and_accuracy(res):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [2, 1]})
    plot_loss_gap(res["gap"], ax=a1, title="loss gap (val − train)")
    plot_label_bars(res["acc"], ax=a2, ylabel="test accuracy", title="test accuracy")
    models = sorted(set(res["gap"]["model"]))
    _suptitle(fig, ", ".join(models))
    _tight(fig)
    return fig


def _itop(runs):
    return A.itop_vs_update_period(A.itop_rows(runs))


def _metric_x(x: str, *, dst_only: bool = True, by=("model", "dataset", "growth", "density", "criterion")):
    def compute(runs):
        return A.metric_vs(_dst(runs) if dst_only else runs, x=x, by=by)

    return compute


def _scope(runs):
    return A.scope_pairs(_dst(runs))


def draw_scope_scatter(df: pd.DataFrame):
    """Fig. 15: global (y) against local (x) test accuracy, one point per criterion and density."""
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    plot_paired_scatter(df, x="local", y="global", ax=ax, label_by="density")
    common, _ = _facets(df, ["model", "dataset", "growth"])
    _suptitle(fig, common)
    _tight(fig)
    return fig


def draw_mest_lambda(df: pd.DataFrame):
    common, panels = _facets(df, ["model", "dataset", "growth"])
    fig, axes = _grid(len(panels), w=5.5, h=3.8)
    for ax, (name, g) in zip(axes, panels):
        plot_metric_by_value(g, x="density", hue="mest_lambda", ax=ax, logx=True, title=name or None)
    _suptitle(fig, common)
    _tight(fig)
    return fig


def _curves(runs):
    """Figs. 8 (right), 23-30: validation accuracy per epoch per criterion and density (random growth), dense beside."""
    return A.learning_curves(_random_growth_or_baseline(runs))


def _first(criteria=STRUCTURAL_CRITERIA, std="seeds"):
    return _per_group(partial(A.jaccard_first, criteria=list(criteria), std=std))


def _sensitivity_pair(runs):
    """Fig. 8: accuracy vs density of sensitivity, RSensitivity (and magnitude) with random growth, and
    the learning curves at density 0.2."""
    rs = _random_growth_or_baseline(runs)
    near = A.closest_density(rs, 0.2)
    return {"acc": A.accuracy_table(rs), "curves": A.learning_curves(near)}


def _sensitivity_table(res):
    return pd.concat(
        [res["acc"].assign(panel="accuracy vs density"), res["curves"].assign(panel="learning curves")],
        ignore_index=True,
    )


def draw_sensitivity(res):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    plot_metric_vs(res["acc"], x="density", ax=a1, logx=True, title="test accuracy vs density")
    d = sorted(set(res["curves"].loc[res["curves"]["criterion"] != "dense", "density"]))
    plot_learning_curves(res["curves"], ax=a2, title=f"validation accuracy, density {d[0]:g}" if d else None)
    common, _ = _facets(res["acc"], ["model", "dataset", "growth"])
    _suptitle(fig, common)
    _tight(fig)
    return fig


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
    """One Jaccard heatmap per group (as the paper's Fig. 6 shows the MLP, the CNN and ResNet-56 side by side)."""
    if not isinstance(results, dict):  # one result (fwa jaccard --plot): one panel
        return draw_jaccard(results, show_std=show_std)
    return draw_jaccard({_panel_title(k): res for k, res in results.items()}, show_std=show_std)


def _time_rows_per_group(runs: list[Run]) -> pd.DataFrame:
    every = 4  # every 3,200 iterations at Δt = 800 (paper Fig. 18): every 4th update
    return _group_table(_ident)(
        _per_group(partial(A.jaccard_time_rows, criteria=STRUCTURAL_CRITERIA, every=every))(runs)
    )


_FACETS_DT = ["model", "dataset", "growth", "density"]
_QUICK_ROLES = (
    "On the embedded data (MNIST-1D for the MLPs, digits for the conv nets) every model stands for its paper setups."
)


def _learning_curve_entry(num: int, setup: str, what: str) -> FigureEntry:
    absent = {
        "efficientnet-tinyimagenet": _ABSENT_EFFNET_CURVES,
        "resnet56-cifar10": _absent_big("ResNet-56", "specs/accuracy.toml"),
        "resnet56-cifar100": _absent_big("ResNet-56", "specs/accuracy.toml"),
        "vgg16-cifar100": _absent_big("VGG-16", "specs/accuracy.toml"),
    }.get(setup)
    return FigureEntry(
        f"fig{num}-learning-curves-{setup}",
        f"Paper Fig. {num}: validation accuracy per epoch of {what} for each density, per criterion (random growth), "
        f"with the dense run (mean ± std over seeds). {_QUICK_ROLES}",
        ("accuracy",),
        _curves,
        _ident,
        draw_learning_curves,
        flt=RunFilter(criterion=PAPER_CRITERIA),
        baselines=True,
        setups=_setup_filter([setup]),
        absent=absent,
    )


_SET_DEFECT = ("magnitude", "set", "set-legacy")


def _set_defect(runs):
    """figx1: accuracy vs density and CD ranks of set, set-legacy and magnitude on the setups that have
    set-legacy runs (the set and magnitude runs come from the accuracy study)."""
    legacy = {
        (r.config.get("model"), r.config.get("dataset")) for r in runs if r.config.get("criterion") == "set-legacy"
    }
    rs = [r for r in _dst(runs) if (r.config.get("model"), r.config.get("dataset")) in legacy]
    if not rs:
        raise ValueError("no set-legacy runs matched: make them with `fw-train sweep specs/set-defect.toml`")
    return {
        "acc": A.accuracy_table(rs),
        "cd": A.cd_result(A.cd_scores(rs)),
        "gap": A.paired_difference(rs, "set", "set-legacy"),
    }


def _set_defect_table(res):
    ranks = pd.DataFrame({"criterion": res["cd"].methods, "mean": [res["cd"].avg_ranks[m] for m in res["cd"].methods]})
    return pd.concat(
        [res["acc"].assign(panel="test accuracy"), ranks.assign(panel="average rank (CD diagram)")], ignore_index=True
    )


def _set_defect_summary(res) -> str:
    gap, cd = res["gap"], res["cd"]
    ranks = ", ".join(f"{m} {cd.avg_ranks[m]:.2f}" for m in cd.methods)
    return (
        f"Measured: SET minus set-legacy test accuracy {gap['mean']:+.4f} on average over {gap['n']} (model, dataset, growth, "
        f"density, seed) pairs (range {gap['min']:+.3f} to {gap['max']:+.3f}); average ranks {ranks}; CD = {cd.cd:.3f} over "
        f"{cd.n_blocks} blocks."
    )


def draw_set_defect(res):
    common, panels = _facets(res["acc"], ["model", "dataset", "growth"])
    fig, axes = _grid(len(panels) + 1)
    for ax, (name, g) in zip(axes, panels):
        plot_metric_vs(g, x="density", ax=ax, logx=True, title=name)
    plot_cd_diagram(res["cd"], ax=axes[-1])
    _suptitle(fig, common)
    _tight(fig)
    return fig


FIGURES: dict[str, FigureEntry] = {
    e.id: e
    for e in [
        FigureEntry(
            "fig01-accuracy-vs-density",
            "Paper Fig. 1: test accuracy vs density of the five criteria with random (top) and gradient growth, "
            "static sparse and dense baselines, for six of the eight setups (the other two are Fig. 10); mean ± std over seeds. "
            + _QUICK_ROLES,
            ("accuracy",),
            A.accuracy_table,
            _ident,
            draw_metric_vs("density", facet=_ACC_FACETS, logx=True),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            baselines=True,
            setups=_setup_filter(_FIG1),
        ),
        FigureEntry(
            "fig02-imagenet",
            "Paper Fig. 2: ResNet-50 on ImageNet at density 0.2 with gradient growth.",
            ("imagenet",),
            A.accuracy_table,
            _ident,
            draw_metric_vs("density", facet=_ACC_FACETS, logx=True),
            flt=RunFilter(dataset=("imagenet",)),
            baselines=True,
            absent=_ABSENT_IMAGENET,
        ),
        FigureEntry(
            "fig03a-cd-all",
            "Paper Fig. 3a: critical-difference diagram of the five criteria's ranks over all (model, dataset, growth, density) "
            "blocks of the accuracy study (Friedman + Nemenyi, α = 0.05).",
            ("accuracy",),
            _cd,
            cd_table,
            draw_cd,
            flt=RunFilter(criterion=PAPER_CRITERIA),
        ),
        FigureEntry(
            "fig03b-cd-low-density",
            "Paper Fig. 3b: the same over blocks with density ≤ 0.2.",
            ("accuracy",),
            _cd,
            cd_table,
            draw_cd,
            flt=RunFilter(criterion=PAPER_CRITERIA, density_max=0.2),
        ),
        FigureEntry(
            "fig03c-cd-high-density",
            "Paper Fig. 3c: the same over blocks with density > 0.2.",
            ("accuracy",),
            _cd,
            cd_table,
            draw_cd,
            flt=RunFilter(criterion=PAPER_CRITERIA, density_gt=0.2),
        ),
        FigureEntry(
            "fig04-loss-gap",
            "Paper Fig. 4: validation minus training loss per epoch on the large MLP at density 0.5 for the five criteria "
            "(random growth), static sparse, dense and dense with dropout p = 0.05 (left), and their test accuracy (right).",
            ("loss-gap",),
            _loss_gap,
            _loss_gap_table,
            draw_loss_gap_and_accuracy,
            baselines=True,
        ),
        FigureEntry(
            "fig05-update-period",
            "Paper Fig. 5: test accuracy vs update period Δt of the five criteria at densities 0.1 and 0.2, random and "
            "gradient growth, on the MLP, the small CNN and ResNet-56 (quick: the MLP at 0.1); the static run of each density dashed.",
            ("update-period",),
            _metric_x("update_period", dst_only=False),
            _ident,  # static runs: a flat line
            draw_metric_vs("update_period", facet=_FACETS_DT, logx=True),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            baselines=True,
        ),
        FigureEntry(
            "fig06a-jaccard-first-update",
            "Paper Fig. 6a: Jaccard index of the sets the criteria remove at the first update of a dense "
            "network (density 1.0, ρ = 0.5, measured once), one panel per model; mean over seeds; J_r: random's sets across seeds.",
            ("jaccard-first",),
            _first(),
            _group_table(jaccard_table),
            _draw_groups,
            flt=RunFilter(density=(1.0,), extra={"prune_fraction": 0.5}),
        ),
        FigureEntry(
            "fig06b-jaccard-end",
            "Paper Fig. 6b: Jaccard index of the final masks of runs paired by seed (density 0.2, gradient growth), "
            "and of each run's initial mask, one panel per model; J_init: initial masks across seeds.",
            ("jaccard",),
            _per_group(A.jaccard_end),
            _group_table(jaccard_table),
            _draw_groups,
            flt=RunFilter(criterion=STRUCTURAL_CRITERIA),
        ),
        FigureEntry(
            "fig07-mest-lambda",
            "Paper Fig. 7: test accuracy vs density of MEST (random growth) on the large MLP, one line per λ in |θ| + λ|∇θ| "
            "from 0.001 to 1000.",
            ("mest-lambda",),
            _metric_x("density", by=("model", "dataset", "growth", "mest_lambda", "criterion")),
            _ident,
            draw_mest_lambda,
        ),
        FigureEntry(
            "fig08-sensitivity-vs-rsensitivity",
            "Paper Fig. 8: sensitivity |∇θ|/|θ| against RSensitivity |θ|/|∇θ| (and magnitude) on the large MLP "
            "with random growth: accuracy vs density (left) and validation accuracy per epoch at density 0.2 (right).",
            ("accuracy", "sensitivity"),
            _sensitivity_pair,
            _sensitivity_table,
            draw_sensitivity,
            flt=RunFilter(criterion=("sensitivity", "rsensitivity", "magnitude")),
            baselines=True,
            setups=_setup_filter(["mlp-cifar10"]),
        ),
        FigureEntry(
            "fig09-roberta",
            "Paper Fig. 9 and Tables 5-6: pruning criteria when fine-tuning RoBERTa-Large on CommonsenseQA.",
            ("roberta",),
            A.accuracy_table,
            _ident,
            draw_metric_vs("density", facet=_ACC_FACETS, logx=True),
            flt=RunFilter(model=("roberta",)),
            baselines=True,
            absent=_ABSENT_ROBERTA,
        ),
        FigureEntry(
            "fig10-accuracy-vs-density-more",
            "Paper Fig. 10: test accuracy vs density for the remaining two setups, the small CNN on CIFAR-10 "
            "and ResNet-56 on CIFAR-100. " + _QUICK_ROLES,
            ("accuracy",),
            A.accuracy_table,
            _ident,
            draw_metric_vs("density", facet=_ACC_FACETS, logx=True),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            baselines=True,
            setups=_setup_filter(_FIG10),
        ),
        FigureEntry(
            "fig11-itop",
            "Paper Fig. 11: ITOP ratio (share of weights ever active) at the end of training vs Δt on the large MLP at density 0.1, "
            "random and gradient growth, rebuilt from the update files.",
            ("update-period",),
            _itop,
            _ident,
            draw_itop,
            flt=RunFilter(criterion=PAPER_CRITERIA, density=(0.1,)),
            setups=_setup_filter(["mlp-cifar10"]),
        ),
        FigureEntry(
            "fig12-batch-size",
            "Paper Fig. 12: test accuracy vs density on LeNet-5-Caffe at the accuracy study's batch (left) and a batch "
            "eight times larger with the learning rate scaled and Δt shortened to see the same examples between updates (right); rows: growth.",
            ("accuracy", "batch-size"),
            partial(A.per_arm, field="batch_size", table=A.accuracy_table),
            _ident,
            draw_metric_vs("density", facet=[*_ACC_FACETS, "batch_size"], logx=True),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            baselines=True,
            setups=_setup_filter(["lenet5-fashionmnist"]),
        ),
        FigureEntry(
            "fig13-update-batch",
            "Paper Fig. 13: test accuracy vs density of the MLP and LeNet-5-Caffe as trained (update_batch_size none) and "
            "with a larger batch only for the gradient of the DST update.",
            ("accuracy", "update-batch"),
            _metric_x("density", by=("model", "dataset", "growth", "update_batch_size", "criterion")),
            _ident,
            draw_metric_vs("density", facet=[*_ACC_FACETS, "update_batch_size"], logx=True),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            setups=_setup_filter(["mlp-cifar10", "lenet5-fashionmnist"]),
        ),
        FigureEntry(
            "fig14-efficientnet",
            "Paper Fig. 14: EfficientNet-B0 on Tiny-ImageNet from scratch and fine-tuned from ImageNet weights.",
            ("efficientnet",),
            A.accuracy_table,
            _ident,
            draw_metric_vs("density", facet=_ACC_FACETS, logx=True),
            flt=RunFilter(model=("efficientnet-b0",)),
            baselines=True,
            absent=_ABSENT_EFFNET,
        ),
        FigureEntry(
            "fig15-global-vs-local",
            "Paper Fig. 15: test accuracy with global pruning (y) against local pruning (x) on ResNet-56 at densities "
            "0.05, 0.1 and 0.15 for magnitude, MEST, RSensitivity and SNIP (random growth); above the diagonal global is better.",
            ("scope", "accuracy"),
            _scope,
            _ident,
            draw_scope_scatter,
            flt=RunFilter(
                criterion=("magnitude", "mest", "rsensitivity", "snip"), density=(0.05, 0.1, 0.15), growth=("random",)
            ),
            setups=_setup_filter(["resnet56-cifar10"]),
            absent=_absent_big("ResNet-56", "specs/scope.toml"),
        ),
        FigureEntry(
            "fig16-prune-schedule",
            "Paper Fig. 16: test accuracy vs Δt on the MLP with random growth under (a) the linear and (b) the constant "
            "pruning-fraction schedule at batch 128, (c) cosine at batch 128 (the update-period study) and (d) cosine at batch 256.",
            ("schedule", "update-period"),
            _metric_x(
                "update_period",
                by=("model", "dataset", "growth", "density", "prune_schedule", "batch_size", "criterion"),
            ),
            _ident,
            draw_metric_vs("update_period", facet=["model", "density", "prune_schedule", "batch_size"], logx=True),
            flt=RunFilter(criterion=PAPER_CRITERIA, growth=("random",)),
            setups=_setup_filter(["mlp-cifar10"]),
        ),
        FigureEntry(
            "fig17-jaccard-first-update-rho",
            "Paper Fig. 17: first-update Jaccard of the criteria for initial pruning fractions ρ = 0.5, 0.25, "
            "0.125 and 0.0625 (constant schedule, measured once on a dense network), one panel per model and ρ; mean over seeds.",
            ("jaccard-first",),
            _first(),
            _group_table(jaccard_table),
            _draw_groups,
            flt=RunFilter(density=(1.0,)),
        ),
        FigureEntry(
            "fig18-jaccard-over-time",
            "Paper Fig. 18: Jaccard between each run's removed set and what every other criterion would have removed "
            "from the same state, every 4th update (every 3,200 iterations in the paper); rows: the run's criterion.",
            ("jaccard",),
            _time_rows_per_group,
            _ident,
            draw_jaccard_time,
            flt=RunFilter(criterion=STRUCTURAL_CRITERIA),
        ),
        FigureEntry(
            "fig19-never-removed",
            "Paper Fig. 19 (App. K): on the final masks of runs paired by seed, the weights kept by all five criteria relative "
            "to the weights each keeps, and the weights outside all final masks relative to the weights outside each (mean ± std over seeds).",
            ("jaccard",),
            partial(A.never_removed_rows, criteria=PAPER_CRITERIA),
            _ident,
            draw_never_removed,
            flt=RunFilter(criterion=PAPER_CRITERIA),
        ),
        FigureEntry(
            "fig20-jaccard-first-update-std",
            "Paper Fig. 20: standard deviation of Fig. 6a's index, taken over seeds per layer and averaged "
            "over layers (as the paper computes it).",
            ("jaccard-first",),
            _first(std="layers"),
            _group_table(jaccard_table),
            partial(_draw_groups, show_std="only"),
            flt=RunFilter(density=(1.0,), extra={"prune_fraction": 0.5}),
        ),
        FigureEntry(
            "fig21-jaccard-end-std",
            "Paper Fig. 21: standard deviation over seeds of Fig. 6b's index.",
            ("jaccard",),
            _per_group(A.jaccard_end),
            _group_table(jaccard_table),
            partial(_draw_groups, show_std="only"),
            flt=RunFilter(criterion=STRUCTURAL_CRITERIA),
        ),
        FigureEntry(
            "fig22-accuracy-vs-density-all",
            "Paper Fig. 22: test accuracy vs density for every model-dataset setup (rows), random and gradient "
            "growth (columns), with static sparse and dense baselines. " + _QUICK_ROLES,
            ("accuracy",),
            A.accuracy_table,
            _ident,
            draw_metric_vs("density", facet=_ACC_FACETS, logx=True),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            baselines=True,
        ),
        _learning_curve_entry(23, "lenet5-fashionmnist", "LeNet-5-Caffe (FashionMNIST)"),
        _learning_curve_entry(24, "mlp-higgs", "the small MLP (Higgs)"),
        _learning_curve_entry(25, "cnn-cifar10", "the small CNN (CIFAR-10)"),
        _learning_curve_entry(26, "resnet56-cifar10", "ResNet-56 (CIFAR-10)"),
        _learning_curve_entry(27, "resnet56-cifar100", "ResNet-56 (CIFAR-100)"),
        _learning_curve_entry(28, "mlp-cifar10", "the large MLP (CIFAR-10)"),
        _learning_curve_entry(29, "efficientnet-tinyimagenet", "EfficientNet-B0 (Tiny-ImageNet)"),
        _learning_curve_entry(30, "vgg16-cifar100", "VGG-16 (CIFAR-100)"),
        FigureEntry(
            "figx1-set-defect",
            "Beyond the paper: SET as the paper defines it (set) against the authors' SET code (set-legacy, which removes "
            "almost every negative weight at each update), beside magnitude: test accuracy vs density per setup and growth, and their "
            "average ranks over the (model, dataset, growth, density) blocks (last panel).",
            ("set-defect", "accuracy"),
            _set_defect,
            _set_defect_table,
            draw_set_defect,
            flt=RunFilter(criterion=_SET_DEFECT),
            summary=_set_defect_summary,
        ),
    ]
}


# What a figure drawn from the quick study (the embedded MNIST-1D and digits data) does not share with the paper's;
# the report prints it under the caption when every run of the figure is on the embedded data. The quick study
# follows the scaling rule of docs/figures.md: 44 updates per run (880 steps, Δt 20: the paper's step counts ÷ 40).
_SHORT = (
    "MNIST-1D (MLPs, 3,600 signals, 30 epochs) and shifted digits (conv nets, 1,077 images, 98 epochs) instead of "
    "the paper's data; 880 steps with Δt 20 (44 updates, as the paper's 35,200 with Δt 800); widths scaled down"
)
_NO_BIG = "ResNet-56, VGG-16 and EfficientNet-B0 are out of the quick study (CPU time)"
EMBEDDED_DIFFERS = {
    "fig01-accuracy-vs-density": f"{_SHORT}; densities 0.1, 0.2, 0.5; 3 seeds; {_NO_BIG}.",
    "fig03a-cd-all": f"{_SHORT}; 24 blocks of 4 models instead of the paper's 8 setups x 11 densities x 2 growths.",
    "fig03b-cd-low-density": f"{_SHORT}; 16 blocks (densities 0.1 and 0.2).",
    "fig03c-cd-high-density": f"{_SHORT}; 8 blocks (density 0.5 only).",
    "fig04-loss-gap": f"{_SHORT}; 3 seeds.",
    "fig05-update-period": f"{_SHORT}; the MLP at density 0.1 only, Δt 1-160 (the paper's 25-6400 ÷ 40), 2 seeds; no CNN or ResNet-56 panels.",
    "fig06a-jaccard-first-update": "MNIST-1D and digits; the update at step 20 (the paper's 800 ÷ 40); one run per seed, the other criteria from its shadow sets.",
    "fig06b-jaccard-end": f"{_SHORT}; 3 seeds; no ResNet-56 (CPU time).",
    "fig07-mest-lambda": f"{_SHORT}; densities 0.1, 0.2, 0.5; 2 seeds.",
    "fig08-sensitivity-vs-rsensitivity": f"{_SHORT}; densities 0.1, 0.2, 0.5; 2 seeds.",
    "fig10-accuracy-vs-density-more": f"{_SHORT}; the small CNN only (no ResNet-56 on CIFAR-100: CPU time).",
    "fig11-itop": f"{_SHORT}; Δt 1-160.",
    "fig12-batch-size": f"{_SHORT}; batch, learning rate and Δt scaled two-fold (128 -> 256) instead of eight-fold: batch 1024 is one step per epoch on digits.",
    "fig13-update-batch": f"{_SHORT}; an update batch of 512; densities 0.1, 0.2, 0.5; 1 seed.",
    "fig15-global-vs-local": "digits; ResNet-56 is outside the quick study's scaling rule (CPU time): these runs were made apart from it.",
    "fig26-learning-curves-resnet56-cifar10": "digits; ResNet-56 is outside the quick study's scaling rule (CPU time): these runs were made apart from it.",
    "fig27-learning-curves-resnet56-cifar100": "digits; the same runs as Fig. 26 (one ResNet-56 setup on the embedded data).",
    "fig30-learning-curves-vgg16-cifar100": "digits; VGG-16 is outside the quick study's scaling rule (CPU time): these runs were made apart from it.",
    "fig16-prune-schedule": f"{_SHORT}; density 0.1, 1 seed; Δt 1-160; the linear schedule decays x0.99 every 15 steps (the paper's 600 ÷ 40).",
    "fig17-jaccard-first-update-rho": "MNIST-1D and digits; the update at step 20 (the paper's 800 ÷ 40); one run per seed and setting.",
    "fig18-jaccard-over-time": f"{_SHORT}; every 4th update (the paper's every 3,200 iterations); no ResNet-56.",
    "fig19-never-removed": f"{_SHORT}; 3 seeds; no ResNet-56.",
    "fig20-jaccard-first-update-std": "MNIST-1D and digits; 3 seeds.",
    "fig21-jaccard-end-std": f"{_SHORT}; 3 seeds.",
    "fig22-accuracy-vs-density-all": f"{_SHORT}; 4 models; {_NO_BIG}.",
    "fig23-learning-curves-lenet5-fashionmnist": f"{_SHORT}.",
    "fig24-learning-curves-mlp-higgs": f"{_SHORT}; the small MLP on MNIST-1D instead of Higgs.",
    "fig25-learning-curves-cnn-cifar10": f"{_SHORT}.",
    "fig28-learning-curves-mlp-cifar10": f"{_SHORT}.",
    "figx1-set-defect": f"{_SHORT}; the MLP and the CNN, densities 0.1, 0.2, 0.5, 2 seeds.",
}


def select_for(entry: FigureEntry, runs: Sequence[Run]) -> list[Run]:
    """The runs of a study an entry uses: those of its sweeps (or untagged runs) of its setups that pass
    its filters."""
    out = []
    for r in runs:
        if entry.sweeps and not in_sweeps(r, entry.sweeps):
            continue
        if entry.setups is not None and not entry.setups(r):
            continue
        if entry.flt.accepts(r, baselines=entry.baselines):
            out.append(r)
    return out


def check_one_profile(entry_id: str, runs: Sequence[Run]) -> None:
    """Runs of different sweep profiles (``config["profile"]``: quick, paper, ...) never meet in one figure."""
    profiles = profiles_of(runs)
    if len(profiles) > 1:
        raise ValueError(
            f"{entry_id}: runs of profiles {', '.join(profiles)} would be mixed; "
            f"choose one with --profile {profiles[0]} (or report each study directory on its own)"
        )


def build(entry: FigureEntry, runs: Sequence[Run], *, select: bool = True) -> Built:
    """Compute and draw one entry from ``runs`` (selected for it unless ``select=False``)."""
    rs = select_for(entry, runs) if select else list(runs)
    if not rs:
        raise ValueError(
            f"{entry.id}: no runs for it (sweeps {', '.join(entry.sweeps) or 'any'}, {entry.flt.describe()})"
        )
    check_one_profile(entry.id, rs)
    result = entry.compute(rs)
    table = entry.table(result)
    fig = draw_styled(entry.draw, result)
    return Built(figure=fig, table=table, runs=rs, result=result)
