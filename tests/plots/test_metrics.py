"""fwanalysis.plots.metrics: every plot draws exactly its frame's numbers (lines, bands, bars, points) into the
``ax`` it is given, in each criterion's colour, and computes nothing."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex, to_rgba  # noqa: E402

from fwanalysis.plots.metrics import (  # noqa: E402
    CRITERION_COLOURS,
    criterion_colour,
    criterion_style,
    plot_label_bars,
    plot_learning_curves,
    plot_loss_gap,
    plot_metric_by_value,
    plot_metric_vs,
    plot_paired_scatter,
)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _lines(ax) -> dict:
    """Labelled lines by label: (x, y) as float arrays."""
    return {
        line.get_label(): (np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float))
        for line in ax.lines
        if not line.get_label().startswith("_")
    }


def _band(coll) -> tuple[float, float]:
    """(lowest, highest) y of a fill_between band."""
    ys = np.concatenate([p.vertices[:, 1] for p in coll.get_paths()])
    return float(ys.min()), float(ys.max())


def test_colours_are_fixed_for_built_ins_and_stable_for_others():
    assert criterion_colour("magnitude") == CRITERION_COLOURS["magnitude"]
    assert len(set(CRITERION_COLOURS.values())) == len(CRITERION_COLOURS)  # no two built-ins alike
    other = criterion_colour("my-criterion")
    assert other == criterion_colour("my-criterion") and other not in CRITERION_COLOURS.values()
    assert criterion_style("dense")["linestyle"] == "--" and criterion_style("snip")["linestyle"] == "-"
    assert criterion_style("snip")["color"] == CRITERION_COLOURS["snip"]


def test_metric_vs_density_draws_means_bands_and_a_flat_dense_baseline(ax):
    df = pd.DataFrame(
        {
            "criterion": ["snip", "snip", "snip", "magnitude", "magnitude", "magnitude", "dense"],
            "density": [0.5, 0.05, 0.1, 0.05, 0.1, 0.5, 1.0],
            "mean": [0.9, 0.6, 0.7, 0.65, 0.75, 0.92, 0.95],
            "std": [0.01, 0.02, np.nan, 0.0, 0.03, 0.01, 0.005],
        }
    )
    out = plot_metric_vs(df, x="density", ax=ax, logx=True, title="t")
    assert out is ax and ax.get_title() == "t" and ax.get_xscale() == "log"
    lines = _lines(ax)
    for crit in ("snip", "magnitude"):
        g = df[df["criterion"] == crit].sort_values("density")
        np.testing.assert_allclose(lines[crit][0], g["density"])  # sorted along x
        np.testing.assert_allclose(lines[crit][1], g["mean"])
    dense = [line for line in ax.lines if line.get_label() == "dense"][0]
    assert (
        np.allclose(dense.get_ydata(), 0.95) and dense.get_linestyle() == "--"
    )  # a horizontal line, not a point at x=1
    assert [t for t in ax.get_xticks()] == [0.05, 0.1, 0.5]  # dense's density gets no tick
    # the bands: mean ± std, a NaN std drawn as 0
    bands = [c for c in ax.collections if c.get_paths()]
    snip_band = [c for c in bands if to_hex(c.get_facecolor()[0]) == CRITERION_COLOURS["snip"]][0]
    assert _band(snip_band) == pytest.approx((0.6 - 0.02, 0.9 + 0.01))
    assert (
        to_hex(lines and [line for line in ax.lines if line.get_label() == "snip"][0].get_color())
        == CRITERION_COLOURS["snip"]
    )


def test_metric_vs_a_category_dodges_points_with_error_bars(ax):
    df = pd.DataFrame(
        {
            "criterion": ["a", "a", "b", "b"],
            "prune_schedule": ["linear", "cosine"] * 2,
            "mean": [0.5, 0.6, 0.7, 0.8],
            "std": [0.1, 0.1, 0.2, 0.2],
        }
    )
    plot_metric_vs(df, x="prune_schedule", ax=ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cosine", "linear"]
    bars = {c.get_label(): c for c in ax.containers}  # one errorbar container per criterion
    assert set(bars) == {"a", "b"}
    pts = {
        k: (np.asarray(c.lines[0].get_xdata(), float), np.asarray(c.lines[0].get_ydata(), float))
        for k, c in bars.items()
    }
    xa, ya = pts["a"]
    assert list(ya) == [0.6, 0.5] and list(pts["b"][1]) == [0.8, 0.7]  # sorted by the category: cosine, linear
    assert np.all(np.abs(xa - np.round(xa)) < 0.5) and not np.allclose(xa, pts["b"][0])  # dodged, within each category
    whisker = np.asarray(bars["b"].lines[2][0].get_segments()[0], float)  # the first error bar of b: mean ± std
    assert whisker[:, 1] == pytest.approx([0.8 - 0.2, 0.8 + 0.2])


def test_metric_vs_static_without_x_is_flat(ax):
    df = pd.DataFrame(
        {
            "criterion": ["snip", "snip", "static"],
            "update_period": [5, 20, np.nan],
            "mean": [0.5, 0.6, 0.4],
            "std": [0.0, 0.0, 0.1],
        }
    )
    plot_metric_vs(df, x="update_period", ax=ax)
    static = [line for line in ax.lines if line.get_label() == "static"][0]
    assert np.allclose(static.get_ydata(), 0.4)
    assert np.allclose(_lines(ax)["snip"][1], [0.5, 0.6])


def test_loss_gap_and_learning_curves_one_line_per_criterion_against_epoch(ax):
    df = pd.DataFrame(
        {
            "criterion": ["a"] * 3 + ["b"] * 3,
            "epoch": [3, 1, 2] * 2,
            "gap_mean": [0.3, 0.1, 0.2, 0.5, 0.4, 0.45],
            "gap_std": [0.01] * 6,
        }
    )
    plot_loss_gap(df, ax=ax, title="gap")
    lines = _lines(ax)
    np.testing.assert_allclose(lines["a"][0], [1, 2, 3])
    np.testing.assert_allclose(lines["a"][1], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(lines["b"][1], [0.4, 0.45, 0.5])
    # the zero line
    assert any(np.allclose(line.get_ydata(), 0) for line in ax.lines if line.get_label().startswith("_"))
    assert ax.get_xlabel() == "epoch" and ax.get_title() == "gap"
    fig, ax2 = plt.subplots()
    try:
        curves = df.rename(columns={"gap_mean": "mean", "gap_std": "std"})
        plot_learning_curves(curves, ax=ax2, ylabel="val acc")
        assert {k: list(v[1]) for k, v in _lines(ax2).items()} == {"a": [0.1, 0.2, 0.3], "b": [0.4, 0.45, 0.5]}
        assert ax2.get_ylabel() == "val acc"
    finally:
        plt.close(fig)


def test_label_bars_heights_colours_and_error_bars(ax):
    df = pd.DataFrame({"criterion": ["dense", "snip", "mystery"], "mean": [0.9, 0.7, 0.6], "std": [0.01, np.nan, 0.05]})
    plot_label_bars(df, ax=ax, title="bars")
    bars = ax.patches
    assert [b.get_height() for b in bars] == pytest.approx([0.9, 0.7, 0.6])
    assert [to_hex(b.get_facecolor()) for b in bars] == [criterion_colour(c) for c in df["criterion"]]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["dense", "snip", "mystery"]
    lo, hi = ax.get_ylim()
    assert lo <= 0.55 and hi >= 0.91  # every bar and error bar is in view


def test_paired_scatter_points_and_the_diagonal(ax):
    df = pd.DataFrame(
        {"criterion": ["snip", "magnitude"], "local": [0.8, 0.6], "global": [0.7, 0.65], "density": [0.1, 0.05]}
    )
    plot_paired_scatter(df, x="local", y="global", ax=ax, label_by="density")
    pts = {c.get_label(): np.asarray(c.get_offsets(), float) for c in ax.collections}
    np.testing.assert_allclose(pts["snip"], [[0.8, 0.7]])
    np.testing.assert_allclose(pts["magnitude"], [[0.6, 0.65]])
    diag = [line for line in ax.lines][0]
    assert np.allclose(diag.get_xdata(), diag.get_ydata())
    assert sorted(t.get_text() for t in ax.texts) == ["0.05", "0.1"]
    assert ax.get_xlim() == ax.get_ylim()


def test_metric_by_value_one_line_per_value_along_a_colour_map(ax):
    df = pd.DataFrame(
        {
            "mest_lambda": [1.0, 1.0, 0.1, 0.1],
            "density": [0.5, 0.1, 0.1, 0.5],
            "mean": [0.8, 0.6, 0.5, 0.7],
            "std": [0.0] * 4,
        }
    )
    plot_metric_by_value(df, x="density", hue="mest_lambda", ax=ax)
    lines = _lines(ax)
    assert list(lines) == ["0.1", "1"]  # smallest first
    np.testing.assert_allclose(lines["0.1"][1], [0.5, 0.7])
    np.testing.assert_allclose(lines["1"][1], [0.6, 0.8])
    cmap = plt.get_cmap("viridis")
    colours = [to_rgba(line.get_color()) for line in ax.lines]
    assert colours == [cmap(0.0), cmap(1.0)]


def test_a_plot_without_ax_makes_its_own_and_draws_nothing_else():
    before = plt.get_fignums()
    ax = plot_label_bars(pd.DataFrame({"criterion": ["a"], "mean": [0.5], "std": [0.0]}))
    try:
        assert ax.figure.number not in before and len(ax.figure.axes) == 1
    finally:
        plt.close(ax.figure)
