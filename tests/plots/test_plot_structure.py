"""Structure plots draw into the given Axes and return it; checked by their texts, lines and bars."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt

from fwanalysis.plots.structure import plot_itop, plot_jaccard_heatmap, plot_jaccard_over_time, plot_never_removed
from fwanalysis.stats.jaccard import JaccardResult

CRITERIA = ["magnitude", "set", "snip", "init"]


@pytest.fixture
def result() -> JaccardResult:
    mean = np.array([[1.0, 0.8, 0.3, np.nan], [0.8, 1.0, 0.25, 0.4], [0.3, 0.25, 1.0, 0.2], [np.nan, 0.4, 0.2, 1.0]])
    std = np.where(np.isnan(mean), np.nan, 0.01)
    n = np.where(np.isnan(mean), 0, 3)
    return JaccardResult("end", CRITERIA, mean, std, n, "J_init", 0.0512, 1)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def cell_texts(ax):
    return [t.get_text() for t in ax.texts]


@pytest.mark.parametrize("show_std", [False, True, "only"])
def test_heatmap(result, tmp_path, show_std):
    fig, ax = plt.subplots()
    assert plot_jaccard_heatmap(result, ax=ax, show_std=show_std) is ax
    texts = cell_texts(ax)
    assert len(texts) == 16
    assert texts.count("–") == 2  # the NaN pair, both triangles
    if show_std is False:
        assert texts[1] == "0.80"
    elif show_std is True:
        assert texts[1] == "0.80\n±0.01"
    else:
        assert texts[1] == "0.010"
    assert [t.get_text() for t in ax.get_xticklabels()] == CRITERIA
    assert [t.get_text() for t in ax.get_yticklabels()] == CRITERIA
    assert "J_init = 0.05" in ax.get_title()
    assert len(fig.axes) == 2  # the colorbar
    if show_std != "only":
        assert ax.images[0].get_clim() == (0.0, 1.0)
    fig.savefig(tmp_path / "heatmap.png")
    assert (tmp_path / "heatmap.png").stat().st_size > 0


def test_heatmap_new_figure_and_bad_option(result):
    ax = plot_jaccard_heatmap(result, title="custom")
    assert ax.get_title().startswith("custom\nJ_init")
    with pytest.raises(ValueError, match="show_std"):
        plot_jaccard_heatmap(result, show_std="both")


def over_time_frame():
    rows = []
    for run in ("magnitude", "snip"):
        for other in ("magnitude", "set", "snip", "random"):
            for step in (800, 1600, 2400):
                rows.append((step, run, other, 0.5, 0.05, 3))
    return pd.DataFrame(rows, columns=["step", "run_criterion", "other", "jaccard", "std", "n"])


def test_over_time(tmp_path):
    df = over_time_frame()
    fig, ax = plt.subplots()
    assert plot_jaccard_over_time(df, ax=ax, run_criterion="magnitude") is ax
    assert len(ax.lines) == 3  # set, snip, random; own criterion left out
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["set", "snip", "random"]
    assert len(ax.collections) == 3  # ±std bands
    fig.savefig(tmp_path / "time.png")
    with pytest.raises(ValueError, match="several run criteria"):
        plot_jaccard_over_time(df)
    ax2 = plot_jaccard_over_time(df, run_criterion="snip", include_self=True, order=["random", "snip"])
    assert [line.get_label() for line in ax2.lines] == ["random", "snip", "magnitude", "set"]


def test_itop_curves_and_bars(tmp_path):
    curves = pd.DataFrame(
        {
            "step": [0, 100, 200] * 4,
            "itop": [0.1, 0.2, 0.3] * 4,
            "criterion": ["magnitude"] * 6 + ["snip"] * 6,
            "seed": ([0] * 3 + [1] * 3) * 2,
        }
    )
    fig, ax = plt.subplots()
    assert plot_itop(curves, ax=ax) is ax
    assert len(ax.lines) == 4  # one per (criterion, seed)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["magnitude", "snip"]
    fig.savefig(tmp_path / "itop.png")

    bars = pd.DataFrame(
        {
            "update_period": [100, 800, 100, 800],
            "itop": [0.5, 0.3, 0.6, 0.4],
            "itop_std": 0.01,
            "growth": ["random", "random", "gradient", "gradient"],
        }
    )
    fig, ax = plt.subplots()
    assert plot_itop(bars, ax=ax, hue="growth") is ax
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_xticklabels()] == ["100", "800"]
    fig.savefig(tmp_path / "itop_bars.png")
    with pytest.raises(ValueError, match="one row per"):
        plot_itop(pd.concat([bars, bars]), hue="growth")


def test_never_removed(tmp_path):
    df = pd.DataFrame(
        {
            "model": ["mlp", "resnet56"],
            "dataset": ["cifar10", "cifar10"],
            "retained_by_all": [0.6, 0.7],
            "retained_by_all_std": [0.02, 0.01],
            "removed_by_all": [0.2, 0.1],
            "removed_by_all_std": [0.01, 0.03],
            "n": [3, 3],
        }
    )
    fig, ax = plt.subplots()
    assert plot_never_removed(df, ax=ax) is ax
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_xticklabels()] == ["mlp / cifar10", "resnet56 / cifar10"]
    assert len(ax.get_legend().get_texts()) == 2
    fig.savefig(tmp_path / "never.png")
    with pytest.raises(ValueError, match="never_removed_summary"):
        plot_never_removed(pd.concat([df, df]))
