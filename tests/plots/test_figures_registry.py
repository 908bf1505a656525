"""Every registry figure is built once from a small synthetic study; `fwa report` is complete and reproducible."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from clilib import fwa
from figstudy import figures_report, figures_study, runs_made_here
from matplotlib.collections import PathCollection
from matplotlib.patches import Rectangle
from stylelib import criterion_style_errors, legend_overlaps, title_gap_in
from synthetic import write_study

from fwanalysis.artifacts import find_runs
from fwanalysis.figures import FIGURES, build
from fwanalysis.report import write_report

PAPER_IDS = [
    "fig01-accuracy-vs-density",
    "fig02-imagenet",
    "fig03a-cd-all",
    "fig03b-cd-low-density",
    "fig03c-cd-high-density",
    "fig04-loss-gap",
    "fig05-update-period",
    "fig06a-jaccard-first-update",
    "fig06b-jaccard-end",
    "fig07-mest-lambda",
    "fig08-sensitivity-vs-rsensitivity",
    "fig09-roberta",
    "fig10-accuracy-vs-density-more",
    "fig11-itop",
    "fig12-batch-size",
    "fig13-update-batch",
    "fig14-efficientnet",
    "fig15-global-vs-local",
    "fig16-prune-schedule",
    "fig17-jaccard-first-update-rho",
    "fig18-jaccard-over-time",
    "fig19-never-removed",
    "fig20-jaccard-first-update-std",
    "fig21-jaccard-end-std",
    "fig22-accuracy-vs-density-all",
    *(
        f"fig{n}-learning-curves-{s}"
        for n, s in (
            (23, "lenet5-fashionmnist"),
            (24, "mlp-higgs"),
            (25, "cnn-cifar10"),
            (26, "resnet56-cifar10"),
            (27, "resnet56-cifar100"),
            (28, "mlp-cifar10"),
            (29, "efficientnet-tinyimagenet"),
            (30, "vgg16-cifar100"),
        )
    ),
]
ABSENT_HERE = {
    "fig02-imagenet",
    "fig09-roberta",
    "fig14-efficientnet",
    "fig29-learning-curves-efficientnet-tinyimagenet",
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Every study of the quick profile in miniature (figstudy.figures_study), written once for all xdist workers
    (read-only)."""
    return figures_study(tmp_path_factory)


def test_registry_has_every_paper_figure():
    assert set(PAPER_IDS) <= set(FIGURES)
    # every figure that can be drawn from runs on the embedded data (absent from the quick study or not) says
    # what differs from the paper there, and no other figure does
    assert {f for f, e in FIGURES.items() if e.embedded} == {
        f for f, e in FIGURES.items() if not e.absent or "out of the quick study" in e.absent
    }
    assert all(e.embedded is None or isinstance(e.embedded, str) for e in FIGURES.values())


#: the table column each figure draws (its y values, a heatmap's cells, a CD diagram's rank positions)
VALUE_COLUMNS = ("mean", "jaccard", "itop", "avg_rank", "retained_by_all", "local")


#: figures with a critical-difference panel beside curves: their table holds average ranks, drawn along x
CD_PANELS = ("figx1-set-defect",)


def _value_column(fid: str, table) -> str:
    if fid.endswith("-std"):  # Figs. 20-21 draw the standard deviation over seeds, not the mean
        return "std"
    return next(c for c in VALUE_COLUMNS if c in table.columns)


def _numbers(table) -> np.ndarray:
    """Every finite number of the table, whatever its column."""
    out = []
    for c in table.columns:
        v = pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float)
        out.append(v[np.isfinite(v)])
    return np.concatenate(out)


def _finite(a) -> np.ndarray:
    a = np.asarray(a, dtype=float).ravel()
    return a[np.isfinite(a)]


def _drawn(fig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(y values of every line, bar top and scatter point; x values of every line; x values of every
    scatter point (a scatter plot of one column against another, Fig. 15); every heatmap cell)."""
    ys, xs, sx, cells = [], [], [], []
    for ax in fig.axes:
        for line in ax.lines:
            ys.append(_finite(line.get_ydata()))
            xs.append(_finite(line.get_xdata()))
        for p in ax.patches:
            if isinstance(p, Rectangle):
                ys.append(_finite([p.get_y() + p.get_height()]))
        for c in ax.collections:
            if isinstance(c, PathCollection) and len(c.get_offsets()):
                off = np.asarray(c.get_offsets(), dtype=float)
                sx.append(_finite(off[:, 0]))
                ys.append(_finite(off[:, 1]))
        for im in ax.images:
            cells.append(_finite(np.ma.filled(im.get_array().astype(float), np.nan)))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
    return cat(ys), cat(xs), cat(sx), cat(cells)


def _within(values, pool) -> np.ndarray:
    """Which of ``values`` occur in ``pool`` (to 1e-9)."""
    pool = np.sort(np.asarray(pool, dtype=float))
    if not pool.size:
        return np.zeros(len(values), bool)
    i = np.clip(np.searchsorted(pool, values), 1, len(pool) - 1)
    return np.minimum(abs(pool[i - 1] - values), abs(pool[i] - values)) <= 1e-9 + 1e-7 * abs(values)


def check_drawn_is_table(fid, b) -> None:
    """What a figure draws is its data table: every labelled line's points are numbers of the table, each
    value of the column it shows is drawn (a line point, bar, scatter point or heatmap cell; a CD
    diagram places each average rank on its axis), and a heatmap's cells are exactly that column."""
    col = _value_column(fid, b.table)
    shown = _finite(b.table[col])
    assert shown.size, (fid, col)
    numbers = _numbers(b.table)
    for ax in b.figure.axes:
        for line in ax.lines:
            if not line.get_label().startswith("_"):  # a data series (its legend entry); not a guide, whisker or cap
                y = _finite(line.get_ydata())
                assert _within(y, numbers).all(), (fid, line.get_label(), y[~_within(y, numbers)][:5])
    ys, xs, sx, cells = _drawn(b.figure)
    if cells.size:  # heatmaps: one cell per table row of every panel
        assert np.allclose(np.sort(cells), np.sort(shown)), fid
    ranks_on_x = col == "avg_rank" or fid in CD_PANELS
    drawn = np.concatenate([ys, sx, cells, xs if ranks_on_x else np.zeros(0)])
    missing = shown[~_within(shown, drawn)]
    assert not missing.size, (fid, col, missing[:5])


@pytest.mark.parametrize("fid", sorted(FIGURES))
def test_every_figure_builds(study, fid):
    _, runs = study
    b = build(FIGURES[fid], runs)
    try:
        assert b.figure.axes, fid
        assert len(b.table) > 0, fid
        assert b.runs and all(r.config.get("sweep") in FIGURES[fid].sweeps for r in b.runs)
        texts = [t.get_text() for ax in b.figure.axes for t in ax.texts + [ax.title, ax.xaxis.label, ax.yaxis.label]]
        assert any(texts), fid
        check_drawn_is_table(fid, b)
        # one visual language (tests/plots/stylelib.py): no legend box over plotted data, every criterion in the
        # criterion table's colour and marker (hence the same in every figure), the title right above the panels
        assert legend_overlaps(b.figure) == [], fid
        assert criterion_style_errors(b.figure) == [], fid
        assert title_gap_in(b.figure) < 0.15, fid
    finally:
        plt.close(b.figure)


def test_the_drawn_data_check_catches_a_wrong_table(study):
    """The check above fails when the table and the drawing disagree (a value changed after drawing)."""
    _, runs = study
    b = build(FIGURES["fig01-accuracy-vs-density"], runs)
    try:
        b.table.loc[b.table.index[0], "mean"] += 0.0123
        with pytest.raises(AssertionError):
            check_drawn_is_table("fig01-accuracy-vs-density", b)
    finally:
        plt.close(b.figure)


def test_shadow_only_jaccard_covers_all_criteria(study):
    """fig17 uses one run per rho: the other criteria come from shadow sets."""
    _, runs = study
    b = build(FIGURES["fig17-jaccard-first-update-rho"], runs)
    plt.close(b.figure)
    assert sorted(b.table["prune_fraction"].unique()) == [0.25, 0.5]
    assert set(b.table["row"]) == {"magnitude", "snip", "random"}


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.slow  # every figure built and written twice (png, pdf, csv)
def test_report_complete_and_byte_identical(tmp_path_factory, tmp_path):
    root, a, items = figures_report(tmp_path_factory)  # the shared report (the browser test opens its web page)
    status = {fid: item["status"] for fid, item in items.items()}
    assert all(status[f] == "ok" for f in PAPER_IDS if f not in ABSENT_HERE), status
    assert all(status[f] == "absent" for f in ABSENT_HERE), status
    index = (a / "index.md").read_text()
    for fid in PAPER_IDS:
        assert fid in index
        if status[fid] == "ok":
            for ext in ("png", "pdf", "csv"):
                assert (a / f"{fid}.{ext}").stat().st_size > 0
    assert "Absent" in index and "ImageNet" in index
    provenance = (a / "provenance.md").read_text()
    built = {fid: item["run_ids"] for fid, item in items.items() if item["status"] == "ok"}
    assert all(f"## {fid}" in provenance and all(r in provenance for r in ids) for fid, ids in built.items())
    assert "sha256" in provenance and "sha256" in index  # index.md links to it
    page = (a / "index.html").read_text()
    assert all(f'id="{fid}"' in page for fid in PAPER_IDS)  # every figure has its section on the page
    assert index.count("*On the embedded data:*") == sum(
        s == "ok" for s in status.values()
    )  # every figure here is on digits
    assert "Measured: SET minus set-legacy test accuracy" in index  # figx1's caption quotes its numbers
    runs = find_runs(root)
    write_report(list(reversed(runs_made_here(runs))), tmp_path / "b", studies=[str(root)])
    assert _digest(a) == _digest(tmp_path / "b")


def test_jaccard_figures_have_one_panel_per_model(tmp_path):
    """Like the paper's Fig. 6 (ResNet-56 | VGG-16): one heatmap per model, each equal to that model's
    runs alone, and a table with a leading model column; models are never averaged together."""
    import numpy as np

    from fwanalysis import analyses as A

    for sweep in ("jaccard", "jaccard-first"):
        for model in ("toy", "toy2"):
            write_study(
                tmp_path,
                sweep=sweep,
                seeds=(0, 1),
                n_updates=4,
                baselines=False,
                model=model,
                densities=(1.0,),
                extra={"prune_fraction": 0.5},
            )
    runs = find_runs(tmp_path)
    first = partial(A.jaccard_first, criteria=["magnitude", "snip", "random"])
    for fid, compute in [
        ("fig06a-jaccard-first-update", first),
        ("fig06b-jaccard-end", A.jaccard_end),
        ("fig20-jaccard-first-update-std", partial(first, std="layers")),
    ]:
        b = build(FIGURES[fid], runs)
        try:
            titles = [ax.get_title().split("\n")[0] for ax in b.figure.axes if ax.get_title()]
            assert titles == ["toy", "toy2"], (fid, titles)
        finally:
            plt.close(b.figure)
        assert list(b.table.columns)[0] == "model" and sorted(b.table["model"].unique()) == ["toy", "toy2"]
        for model in ("toy", "toy2"):
            alone = compute([r for r in runs if r.config["model"] == model]).to_frame()
            got = b.table[b.table["model"] == model].drop(columns="model").reset_index(drop=True)
            assert np.allclose(got["mean"], alone["mean"], equal_nan=True), (fid, model)
    b = build(FIGURES["fig18-jaccard-over-time"], runs)
    plt.close(b.figure)
    assert sorted(b.table["model"].unique()) == ["toy", "toy2"]


def test_profiles_are_never_mixed_in_a_figure(tmp_path):
    """A study holding quick and paper runs: a figure refuses to mix them; `fwa report --profile` picks one."""
    for profile in ("quick", "paper"):
        write_study(
            tmp_path / profile, sweep="jaccard", seeds=(0, 1), n_updates=4, baselines=False, extra={"profile": profile}
        )
    runs = find_runs(tmp_path)
    with pytest.raises(ValueError, match="profiles paper, quick would be mixed"):
        build(FIGURES["fig06b-jaccard-end"], runs)
    r = fwa("report", tmp_path, "--out", tmp_path / "rep", "--profile", "quick", "--only", "fig06b")
    assert r.exit_code == 0, r.output
    b = build(FIGURES["fig06b-jaccard-end"], [x for x in runs if x.config["profile"] == "quick"])
    plt.close(b.figure)
    csv = (tmp_path / "rep" / "fig06b-jaccard-end.csv").read_text()
    assert csv == b.table.to_csv(index=False, lineterminator="\n", float_format="%.6g")
    r = fwa("report", tmp_path, "--out", tmp_path / "rep2", "--profile", "nope")
    assert r.exit_code == 1 and "profiles found: paper, quick" in r.output
