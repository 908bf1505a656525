"""fwanalysis.plots.cd: Demšar-style critical-difference diagram."""

import ast
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from fwanalysis.plots.cd import plot_cd_diagram  # noqa: E402
from fwanalysis.stats.cd import CDResult  # noqa: E402

# Demšar (2006), Section 3.2.4: average ranks of four C4.5 variants over 14 data sets,
# Nemenyi at alpha = 0.10 (CD = 1.12), cliques as in his Figure 1.
DEMSAR = CDResult(
    methods=["C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5"],
    avg_ranks={"C4.5+m+cf": 1.964, "C4.5+m": 2.000, "C4.5+cf": 2.893, "C4.5": 3.143},
    n_blocks=14,
    alpha=0.10,
    cd=1.118,
    friedman={"statistic": 9.28, "pvalue": 0.026},
    iman_davenport={"statistic": 3.69, "pvalue": 0.02},
    cliques=[["C4.5+m+cf", "C4.5+m", "C4.5+cf"], ["C4.5+cf", "C4.5"]],
    dropped_blocks=0,
)


def nine_methods(test="nemenyi", cd=2.7):
    names = [f"method-{i}" for i in range(9)]
    return CDResult(
        methods=names,
        avg_ranks={m: 1.0 + 0.9 * i for i, m in enumerate(names)},
        n_blocks=20,
        alpha=0.05,
        cd=cd,
        friedman={"statistic": 70.0, "pvalue": 1e-12},
        iman_davenport={"statistic": 16.0, "pvalue": 1e-17},
        cliques=[names[:3], names[2:6], names[6:]],
        dropped_blocks=1,
        test=test,
    )


@pytest.fixture
def ax():
    fig = Figure(figsize=(6, 2.5))
    return fig.add_subplot()


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_returns_the_given_ax(ax):
    assert plot_cd_diagram(DEMSAR, ax=ax) is ax


def test_best_rank_is_on_the_right(ax):
    plot_cd_diagram(DEMSAR, ax=ax)
    assert ax.xaxis_inverted()
    left, right = ax.get_xlim()
    assert left > 4 and right < 1  # whole axis 1..k shows, rank 1 on the right


def test_labels_every_method_the_ticks_and_cd(ax):
    plot_cd_diagram(DEMSAR, ax=ax, title="Demšar 2006, Fig. 1")
    labels = texts(ax)
    for m in DEMSAR.methods:
        assert labels.count(m) == 1
    assert "CD" in labels
    assert {"1", "2", "3", "4"} <= set(labels)
    assert {"1.96", "2.00", "2.89", "3.14"} <= set(labels)  # average ranks beside the names
    assert ax.get_title() == "Demšar 2006, Fig. 1"
    assert not ax.axison  # no frame


def test_better_half_is_labelled_on_the_right(ax):
    plot_cd_diagram(DEMSAR, ax=ax)
    x_of = {t.get_text(): t.get_position()[0] for t in ax.texts}
    # the x axis is reversed: smaller x is further right
    assert x_of["C4.5+m+cf"] < 1 and x_of["C4.5+m"] < 1
    assert x_of["C4.5"] > 4 and x_of["C4.5+cf"] > 4


def test_one_thick_bar_per_clique_and_a_line_per_method(ax):
    plot_cd_diagram(DEMSAR, ax=ax)
    thick = [ln for ln in ax.lines if ln.get_linewidth() >= 2.5]
    assert len(thick) == len(DEMSAR.cliques)
    spans = sorted(sorted(ln.get_xdata()) for ln in thick)
    assert spans[0][0] < 1.964 and spans[0][1] > 2.893  # first clique covers its ranks
    hanging = [ln for ln in ax.lines if len(ln.get_xdata()) == 3]
    starts = sorted(ln.get_xdata()[0] for ln in hanging)
    assert starts == pytest.approx(sorted(DEMSAR.avg_ranks.values()))


def test_without_a_cd_there_is_no_cd_bar(ax):
    plot_cd_diagram(nine_methods(test="wilcoxon-holm", cd=float("nan")), ax=ax)
    labels = texts(ax)
    assert "CD" not in labels
    assert all(f"method-{i}" in labels for i in range(9))


def test_makes_its_own_figure_when_no_ax_is_given():
    ax = plot_cd_diagram(nine_methods())
    try:
        assert ax.figure.get_figwidth() == pytest.approx(6.0)
        assert ax.xaxis_inverted()
    finally:
        plt.close(ax.figure)


@pytest.mark.parametrize("result", [DEMSAR, nine_methods()], ids=["demsar", "nine"])
def test_saves_png_and_svg(tmp_path, result):
    fig = Figure(figsize=(6, 3))
    plot_cd_diagram(result, ax=fig.add_subplot())
    fig.savefig(tmp_path / "cd.png", dpi=80)
    fig.savefig(tmp_path / "cd.svg")
    assert (tmp_path / "cd.png").stat().st_size > 1000
    svg = (tmp_path / "cd.svg").read_text()
    assert "<image" not in svg  # vector only, nothing rasterised


def test_plot_module_computes_nothing():
    import fwanalysis.plots.cd as mod

    tree = ast.parse(Path(mod.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert not imported & {"scipy", "pandas", "torch", "trainer"}


# ----------------------------------------------------------------------------- omnibus gate, colours, size


def _insignificant(allow: bool) -> CDResult:
    from dataclasses import replace

    return replace(
        nine_methods(),
        significant=False,
        allow_insignificant=allow,
        friedman={"statistic": 3.0, "pvalue": 0.41},
        cliques=nine_methods().cliques if allow else [],
    )


def test_no_cliques_and_no_cd_bar_when_the_omnibus_test_does_not_reject(ax):
    plot_cd_diagram(_insignificant(False), ax=ax)
    assert not [ln for ln in ax.lines if ln.get_linewidth() >= 2.5]
    assert "CD" not in texts(ax)
    assert "p = 0.41 ≥ α = 0.05" in ax.get_title() and "ranks only" in ax.get_title()


def test_allow_insignificant_draws_cliques_and_says_so(ax):
    plot_cd_diagram(_insignificant(True), ax=ax)
    assert len([ln for ln in ax.lines if ln.get_linewidth() >= 2.5]) == 3
    assert "CD" in texts(ax) and "cliques drawn anyway" in ax.get_title()


def test_default_title_is_the_omnibus_decision_on_one_line(ax):
    plot_cd_diagram(DEMSAR, ax=ax)
    title = ax.get_title()
    assert title.startswith("Friedman p = 0.026 < α = 0.1; N = 14, CD = 1.12") and "\n" not in title


def test_methods_take_their_criterion_colours_and_highlight_greys_the_rest(ax):
    from matplotlib.colors import to_hex

    from fwanalysis.plots.metrics import CRITERION_COLOURS

    five = CDResult(
        methods=["snip", "mest", "magnitude", "set", "rsensitivity"],
        avg_ranks={"snip": 2.0, "mest": 2.42, "magnitude": 2.79, "set": 2.98, "rsensitivity": 4.69},
        n_blocks=26,
        alpha=0.05,
        cd=1.196,
        friedman={"statistic": 50.0, "pvalue": 6e-10},
        iman_davenport={"statistic": 20.0, "pvalue": 1e-12},
        cliques=[["snip", "mest", "magnitude", "set"]],
        dropped_blocks=0,
    )
    plot_cd_diagram(five, ax=ax)
    colour = {t.get_text(): to_hex(t.get_color()) for t in ax.texts}
    assert all(colour[m] == CRITERION_COLOURS[m] for m in five.methods)
    ax.clear()
    plot_cd_diagram(five, ax=ax, highlight=["mest"])
    colour = {t.get_text(): (to_hex(t.get_color()), t.get_fontweight()) for t in ax.texts}
    assert colour["mest"] == (CRITERION_COLOURS["mest"], "bold")
    assert colour["snip"][0] == to_hex("0.6")
    with pytest.raises(ValueError, match="highlight 'nope' is not one of the methods"):
        plot_cd_diagram(five, ax=ax, highlight=["nope"])


@pytest.mark.parametrize("k", [12, 20])
def test_up_to_twenty_methods_fit_without_overlapping_text(k):
    names = [f"criterion-{i:02d}" for i in range(k)]
    res = CDResult(
        methods=names,
        avg_ranks={m: 1.0 + (k - 1) * i / (k - 1) for i, m in enumerate(names)},
        n_blocks=40,
        alpha=0.05,
        cd=3.0,
        friedman={"statistic": 90.0, "pvalue": 1e-9},
        iman_davenport={"statistic": 9.0, "pvalue": 1e-9},
        cliques=[names[:4], names[3:9]],
        dropped_blocks=0,
    )
    ax = plot_cd_diagram(res)
    fig = ax.figure
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts]
        boxes.append(("title", ax.title.get_window_extent(renderer)))
        for i, (a, ba) in enumerate(boxes):
            for b, bb in boxes[i + 1 :]:
                assert not ba.overlaps(bb), f"{a!r} overlaps {b!r}"
        figbox = fig.bbox
        for name, box in boxes:  # nothing cut off at the figure's edges
            assert box.x0 >= figbox.x0 - 1 and box.x1 <= figbox.x1 + 1, name
    finally:
        plt.close(fig)
