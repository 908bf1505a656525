"""The checks of fwa's one visual language (stylelib, applied to every registry figure in test_figures_registry's
test_every_figure_builds) catch what they are for, and the layout helpers give what the captions describe."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from stylelib import criterion_style_errors, legend_overlaps, title_gap_in  # noqa: E402

from fwanalysis import figures as F  # noqa: E402
from fwanalysis.figures import FIGURES  # noqa: E402
from fwanalysis.plots.metrics import criterion_colour  # noqa: E402


@pytest.fixture(autouse=True)
def close_all():
    yield
    plt.close("all")


def _frame(**cols) -> pd.DataFrame:
    """Accuracy vs density of magnitude and snip, one row per (criterion, density) and whatever ``cols`` vary."""
    keys = list(cols)
    rows = []
    for combo in pd.MultiIndex.from_product(list(cols.values())) if cols else [()]:
        for k, crit in enumerate(("magnitude", "snip")):
            for d in (0.1, 0.5):
                rows.append(dict(zip(keys, combo)) | {"criterion": crit, "density": d, "mean": 0.5 + 0.1 * k + d / 2})
    return pd.DataFrame(rows).assign(std=0.01)


def test_legend_check_catches_a_legend_over_the_data():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="magnitude", color=criterion_colour("magnitude"))
    ax.legend(loc="center")  # right over the diagonal
    assert legend_overlaps(fig) and "Line2D 'magnitude'" in legend_overlaps(fig)[0]
    fig2, ax2 = plt.subplots(figsize=(4, 3), layout="constrained")
    ax2.plot([0, 1], [0, 1], label="magnitude", color=criterion_colour("magnitude"))
    fig2.legend(loc="outside lower center")
    assert legend_overlaps(fig2) == []


def test_style_check_catches_a_criterion_in_another_colour_or_marker():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="snip", color=criterion_colour("snip"), marker="P")
    ax.bar([0], [1], color=criterion_colour("mest"), label="mest")
    assert criterion_style_errors(fig) == []
    ax.plot([0, 1], [1, 0], label="rsensitivity", color=criterion_colour("sensitivity"), marker="o")
    ax.legend()
    errors = criterion_style_errors(fig)
    assert any(e.startswith("rsensitivity: colour") for e in errors)
    assert any(e.startswith("rsensitivity: marker 'o'") for e in errors)


def test_title_sits_right_above_the_panels():
    fig = F.draw_metric_vs("density", facet=["model"], title="Fig. X")(_frame(model=["m1", "m2"]))
    assert 0 <= title_gap_in(fig) < 0.15
    old, axes = plt.subplots(1, 2, figsize=(8.4, 3.2))  # the former layout: tight_layout below a reserved band
    old.suptitle("Fig. X", fontsize=10)
    old.tight_layout(rect=(0, 0, 1, 1 - 0.4 / 3.2))
    assert title_gap_in(old) > 0.15  # what the check would catch


def test_panels_of_one_setup_share_their_y_scale_and_setups_keep_their_own():
    df = _frame(model=["m1", "m2"], growth=["random", "gradient"])
    df.loc[df["model"] == "m2", "mean"] += 2.0  # another setup, another range
    df.loc[(df["model"] == "m1") & (df["growth"] == "gradient"), "mean"] -= 0.3
    fig = F.draw_metric_vs("density", facet=["model", "growth"], rows=("growth",), logx=True)(df)
    axes = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
    lims = {t: ax.get_ylim() for t, ax in axes.items()}
    assert lims["model=m1, growth=random"] == lims["model=m1, growth=gradient"]
    assert lims["model=m2, growth=random"] == lims["model=m2, growth=gradient"]
    assert lims["model=m1, growth=random"][1] < lims["model=m2, growth=random"][0]
    # rows: growth, random on top (the paper's order), columns: the setups
    pos = {t: (round(ax.get_position().y0, 3), round(ax.get_position().x0, 3)) for t, ax in axes.items()}
    assert pos["model=m1, growth=random"][0] > pos["model=m1, growth=gradient"][0]
    assert pos["model=m1, growth=random"][1] == pos["model=m1, growth=gradient"][1] < pos["model=m2, growth=random"][1]
    # one legend for the figure, outside the panels, criteria in the table's order
    assert [ax.get_legend() for ax in fig.axes] == [None] * len(fig.axes) and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].texts] == ["magnitude", "snip"]


def test_fig16_panels_in_the_captions_order():
    """(a) linear and (b) constant at batch 128, (c) cosine at 128, (d) cosine at 256, left to right."""
    combos = [("cosine", 256), ("constant", 128), ("cosine", 128), ("linear", 128)]  # in no particular order
    df = pd.DataFrame(
        {"model": "mlp-large", "density": 0.1, "prune_schedule": s, "batch_size": b, "criterion": c}
        | {"update_period": dt, "mean": 0.6, "std": 0.0}
        for s, b in combos
        for c in ("magnitude", "snip")
        for dt in (5, 20)
    )
    fig = FIGURES["fig16-prune-schedule"].draw(df)
    axes = sorted((ax for ax in fig.axes if ax.get_visible()), key=lambda ax: ax.get_position().x0)
    assert [ax.get_title() for ax in axes] == [
        "prune_schedule=linear, batch_size=128",
        "prune_schedule=constant, batch_size=128",
        "prune_schedule=cosine, batch_size=128",
        "prune_schedule=cosine, batch_size=256",
    ]
    assert np.ptp([ax.get_position().y0 for ax in axes]) < 1e-9  # one row


def test_jaccard_over_time_plot_keeps_its_legend_off_the_curves():
    """`fwa jaccard --at time --plot` draws through fig18's entry, with every update (no model column): curves
    that fill each panel leave no corner for a legend inside it."""
    crits = ("magnitude", "set", "mest", "rsensitivity", "snip", "random")
    steps = np.arange(10, 410, 10)
    df = pd.DataFrame(
        {"run_criterion": a, "other": b, "step": s, "jaccard": 0.5 + 0.45 * np.sin(s / 40 + i + 2 * j), "std": 0.02}
        for i, a in enumerate(crits)
        for j, b in enumerate(crits)
        for s in steps
    )
    fig = FIGURES["fig18-jaccard-over-time"].draw(df)
    assert legend_overlaps(fig) == []
    assert criterion_style_errors(fig) == []
    assert len(fig.legends) == 1 and [t.get_text() for t in fig.legends[0].texts] == list(crits)


def test_a_missing_value_is_one_column_of_the_grid():
    """Runs without a batch size (NaN in the frame, which equals nothing) in both rows share one column."""
    df = _frame(growth=["random", "gradient"], batch_size=[512.0, np.nan])
    df = df[~((df["growth"] == "gradient") & (df["batch_size"] == 512))]
    fig = F.draw_metric_vs("density", facet=["growth", "batch_size"], rows=("growth",))(df)
    assert len(fig.axes) == 4 and sum(ax.get_visible() for ax in fig.axes) == 3  # 2 x 2, one cell empty
    x0 = {ax.get_title(): round(ax.get_position().x0, 3) for ax in fig.axes if ax.get_visible()}
    assert x0["growth=random"] == x0["growth=gradient"] > x0["growth=random, batch_size=512"]
