"""The layout helpers and draw functions of fwanalysis.figures: panels, shared titles, tables, run selection."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import friedmanchisquare, rankdata  # noqa: E402

from fwanalysis import figures as F  # noqa: E402
from fwanalysis.artifacts import RunWriter, load_run  # noqa: E402
from fwanalysis.artifacts.select import RunFilter  # noqa: E402


@pytest.fixture(autouse=True)
def close_all():
    yield
    plt.close("all")


def _labelled(ax) -> dict:
    return {
        line.get_label(): np.asarray(line.get_ydata(), float)
        for line in ax.lines
        if not line.get_label().startswith("_")
    }


def test_grid_gives_n_visible_axes_in_rows_of_ncols():
    fig, axes = F._grid(5, w=2.0, h=1.5, ncols=3)
    assert len(axes) == 5 and len(fig.axes) == 6
    assert [ax.get_visible() for ax in fig.axes] == [True] * 5 + [False]
    assert tuple(fig.get_size_inches()) == pytest.approx((6.0, 3.0))
    fig1, axes1 = F._grid(1, ncols=3)
    assert len(axes1) == 1 and tuple(fig1.get_size_inches()) == pytest.approx((4.2, 3.2))  # never wider than needed


def test_facets_name_panels_by_what_varies_and_title_what_is_shared():
    df = pd.DataFrame(
        {"model": ["m"] * 4, "density": [0.1, 0.1, 0.5, 0.5], "criterion": ["a", "b"] * 2, "mean": [1, 2, 3, 4.0]}
    )
    common, panels = F._facets(df, ["model", "density"])
    assert common == "model=m"
    assert [name for name, _ in panels] == ["density=0.1", "density=0.5"]
    assert pd.concat([g for _, g in panels]).sort_index().equals(df)  # every row in exactly one panel
    one_common, one = F._facets(df[df["density"] == 0.1], ["model", "density"])
    assert one_common == "model=m, density=0.1" and [n for n, _ in one] == [""]
    # a field the analysis kept apart (attrs["separated_by"]) splits panels although not asked for
    sep = df.assign(batch_size=[64, 64, 64, 128])
    sep.attrs["separated_by"] = ["batch_size"]
    _, panels = F._facets(sep, ["model"])
    assert [n for n, _ in panels] == ["batch_size=64", "batch_size=128"]
    assert F._facets(df, ["not-a-column"]) == ("", [("", df)])


def test_suptitle_is_laid_out_above_the_panels():
    fig, axes = F._grid(2)
    F._suptitle(fig, "")
    assert fig._suptitle is None  # no empty title
    F._suptitle(fig, "shared")
    fig.draw_without_rendering()  # the constrained layout engine places it (tests/plots: with no band below it)
    assert fig._suptitle.get_text() == "shared"
    renderer = fig.canvas.get_renderer()
    top = max(ax.get_tightbbox(renderer).y1 for ax in axes)
    assert top <= fig._suptitle.get_window_extent(renderer).y0


def test_draw_styled_applies_the_style_only_while_drawing():
    before = matplotlib.rcParams["font.size"]
    seen = []
    fig = F.draw_styled(lambda r: seen.append(matplotlib.rcParams["font.size"]) or plt.figure(), None)
    assert seen == [F.STYLE["font.size"]] and matplotlib.rcParams["font.size"] == before
    assert isinstance(fig, matplotlib.figure.Figure)


def test_draw_metric_vs_one_panel_per_facet_with_its_rows():
    df = pd.DataFrame(
        {
            "model": ["m1"] * 4 + ["m2"] * 4,
            "criterion": ["a", "a", "b", "b"] * 2,
            "density": [0.1, 0.5] * 4,
            "mean": np.arange(8) / 10,
            "std": [0.0] * 8,
        }
    )
    fig = F.draw_metric_vs("density", facet=["model"], title="Fig. X")(df)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["model=m1", "model=m2"]
    for ax, model in zip(axes, ("m1", "m2")):
        want = {
            c: df[(df["model"] == model) & (df["criterion"] == c)].sort_values("density")["mean"].to_numpy()
            for c in ("a", "b")
        }
        got = _labelled(ax)
        assert set(got) == {"a", "b"} and all(np.allclose(got[c], want[c]) for c in want)
    assert fig._suptitle.get_text() == "Fig. X"


def test_draw_loss_gap_and_learning_curves_panels():
    gap = pd.DataFrame(
        {
            "model": ["m"] * 4,
            "density": [0.1] * 4,
            "criterion": ["a", "a", "b", "b"],
            "epoch": [1, 2] * 2,
            "gap_mean": [0.1, 0.2, 0.3, 0.4],
            "gap_std": [0.0] * 4,
        }
    )
    fig = F.draw_loss_gap(gap)
    (ax,) = [a for a in fig.axes if a.get_visible()]
    assert {k: list(v) for k, v in _labelled(ax).items()} == {"a": [0.1, 0.2], "b": [0.3, 0.4]}
    assert fig._suptitle.get_text() == "model=m, density=0.1"
    curves = pd.DataFrame(
        {
            "model": ["m"] * 6,
            "density": [0.1, 0.1, 0.5, 0.5, 1.0, 1.0],
            "criterion": ["a", "a", "a", "a", "dense", "dense"],
            "epoch": [1, 2] * 3,
            "mean": [0.1, 0.2, 0.3, 0.4, 0.8, 0.9],
            "std": [0.0] * 6,
        }
    )
    fig = F.draw_learning_curves(curves)
    axes = [a for a in fig.axes if a.get_visible()]
    assert [a.get_title() for a in axes] == ["density=0.1", "density=0.5"]
    for ax, want in zip(axes, ([0.1, 0.2], [0.3, 0.4])):
        got = _labelled(ax)
        assert list(got["a"]) == want and list(got["dense"]) == [0.8, 0.9]  # the dense baseline in every panel


def test_cd_table_is_the_result_in_rank_order():
    rng = np.random.default_rng(3)
    scores = pd.DataFrame(
        [
            {"block": f"b{i}", "method": m, "score": rng.random() + 0.3 * k}
            for i in range(10)
            for k, m in enumerate(("x", "y", "z"))
        ]
    )
    res = F.A.cd_result(scores, allow_insignificant=True)
    table = F.cd_table(res)
    piv = scores.pivot(index="block", columns="method", values="score")
    ranks = dict(zip(piv.columns, rankdata(-piv.to_numpy(), axis=1).mean(axis=0)))  # rank 1: the best score
    assert list(table["method"]) == sorted(ranks, key=ranks.get)
    assert table.set_index("method")["avg_rank"].to_dict() == pytest.approx(ranks)
    assert set(table["n_blocks"]) == {10}
    assert table["friedman_p"].iloc[0] == pytest.approx(friedmanchisquare(*[piv[c] for c in piv]).pvalue)
    assert F.draw_cd(res).axes


def _run(root, **cfg):
    config = {
        "model": "mlp-small",
        "dataset": "digits",
        "method": "dst",
        "criterion": "magnitude",
        "growth": "random",
        "density": 0.5,
        "seed": 0,
        **cfg,
    }
    w = RunWriter(root, config, {"w": (2, 2)}, total_steps=1)
    w.write_masks(0, {"w": np.ones((2, 2), bool)})
    w.close("complete")
    return load_run(w.path)


def test_setup_filter_and_select_for(tmp_path):
    on_digits, on_cifar, other_model = (
        _run(tmp_path),
        _run(tmp_path, dataset="cifar10", seed=1),
        _run(tmp_path, model="vgg16", seed=2),
    )
    accepts = F._setup_filter(["mlp-higgs"])  # mlp-small on higgs, or mlp-small on the embedded data
    assert accepts(on_digits) and not accepts(on_cifar) and not accepts(other_model)
    assert F._setup_filter(["mlp-cifar10"])(_run(tmp_path, model="mlp-large", dataset="cifar10", seed=3))
    tagged, foreign = _run(tmp_path, sweep="acc", seed=4), _run(tmp_path, sweep="other", seed=5)
    entry = F.FigureEntry(
        "t",
        "caption",
        ("acc",),
        compute=lambda rs: rs,
        table=lambda rs: pd.DataFrame({"n": [len(rs)]}),
        draw=lambda rs: plt.figure(),
        flt=RunFilter(density=(0.5,)),
        setups=accepts,
    )
    assert F.select_for(entry, [on_digits, on_cifar, tagged, foreign, other_model]) == [
        on_digits,
        tagged,
    ]  # untagged runs count too
    b = F.build(entry, [on_digits, tagged, foreign])
    assert b.runs == [on_digits, tagged] and b.table["n"].tolist() == [2]
    with pytest.raises(ValueError, match="t: no runs for it"):
        F.build(entry, [foreign])


def test_check_one_profile(tmp_path):
    quick, paper = _run(tmp_path, profile="quick"), _run(tmp_path, profile="paper", seed=1)
    F.check_one_profile("figx", [quick, _run(tmp_path, seed=2)])  # untagged runs mix with any one profile
    with pytest.raises(
        ValueError, match="figx: runs of profiles paper, quick would be mixed; choose one with --profile paper"
    ):
        F.check_one_profile("figx", [quick, paper])
