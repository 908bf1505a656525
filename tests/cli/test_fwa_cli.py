"""`fwa` on a hand-written study: every number against an independent computation (python sets, numpy)."""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from clilib import CD_JSON_KEYS, fwa, jdoc
from synthetic import CRITS, LAYERS, write_study

SEEDS = (0, 1, 2)  # the module study's seeds


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    truth = write_study(root, seeds=SEEDS)
    return root, truth


@contextlib.contextmanager
def captured_figures():
    """Collect every figure ``fwa ... --plot`` saves (``fwanalysis.figures.save_figure``), then save it as usual."""
    from fwanalysis import figures

    real, figs = figures.save_figure, []

    def save(fig, path):
        figs.append(fig)
        real(fig, path)

    figures.save_figure = save
    try:
        yield figs
    finally:
        figures.save_figure = real


def _finite(a) -> np.ndarray:
    a = np.ma.filled(np.ma.asarray(a, dtype=float), np.nan).ravel()
    return a[np.isfinite(a)]


def check_png(path: Path, fig) -> None:
    """The PNG reads back as an RGBA picture at least as large as the figure's drawn area (less the margins
    bbox_inches="tight" trims), with ink on it: not one colour."""
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    w, h = fig.get_size_inches() * fig.dpi
    assert img.ndim == 3 and img.shape[2] in (3, 4), img.shape
    assert img.shape[0] >= 0.5 * h and img.shape[1] >= 0.5 * w, (img.shape, w, h)
    rgb = img[..., :3].reshape(-1, 3)
    ink = (np.abs(rgb - rgb[0]).sum(axis=1) > 0.05).mean()  # share of pixels unlike the corner (the background)
    assert 0.01 < ink < 0.9, ink


def check_vector(path: Path) -> None:
    head = path.read_bytes()[:200]
    assert head.startswith(b"%PDF") if path.suffix == ".pdf" else b"<svg" in path.read_bytes()[:2000], head


def assert_drawn(values, fig, *, what: str) -> None:
    """Every finite value is drawn: a point of a line, the top of a bar, a scatter point or a heatmap cell."""
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Rectangle

    drawn = []
    for ax in fig.axes:
        drawn += [_finite(line.get_ydata()) for line in ax.lines]
        drawn += [_finite([p.get_y() + p.get_height()]) for p in ax.patches if isinstance(p, Rectangle)]
        drawn += [
            _finite(np.asarray(c.get_offsets())[:, 1])
            for c in ax.collections
            if isinstance(c, PathCollection) and len(c.get_offsets())
        ]
        drawn += [_finite(im.get_array()) for im in ax.images]
    drawn = np.concatenate(drawn) if drawn else np.zeros(0)
    values = _finite(values)
    assert values.size, what
    missing = [v for v in values if not np.isclose(drawn, v, rtol=1e-7, atol=1e-9).any()]
    assert not missing, (what, missing[:5])


def set_jaccard(a: dict, b: dict) -> float:
    """Layer-averaged Jaccard with python sets of flat indices (paper Eq. 1)."""
    vals = []
    for n in LAYERS:
        A, B = set(np.flatnonzero(a[n].ravel())), set(np.flatnonzero(b[n].ravel()))
        if A | B:
            vals.append(len(A & B) / len(A | B))
    return sum(vals) / len(vals) if vals else float("nan")


def test_ls(study):
    root, truth = study
    doc = jdoc("ls", root)
    assert sorted(r["run_id"] for r in doc["runs"]) == sorted([*truth.run_ids.values(), *truth.baseline_ids.values()])
    keys = {
        "run_id",
        "model",
        "dataset",
        "method",
        "criterion",
        "growth",
        "density",
        "update_period",
        "seed",
        "status",
        "test_acc",
    }
    assert all(set(r) == keys for r in doc["runs"])
    picked = jdoc("ls", root, "--criterion", "snip", "--criterion", "random")["runs"]
    assert sorted(r["run_id"] for r in picked) == sorted(
        v for (_, c, _), v in truth.run_ids.items() if c in ("snip", "random")
    )


def test_validate_ok_and_damaged(tmp_path):
    truth = write_study(tmp_path, seeds=(0,), baselines=False)
    assert jdoc("validate", tmp_path)["invalid"] == []
    rid = truth.run_ids[(0, "snip", 0.5)]
    f = tmp_path / rid / "updates" / "step-00000020.npz"
    f.write_bytes(f.read_bytes()[:30])
    r = fwa("validate", tmp_path, "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert [(i["run"], i["file"]) for i in doc["invalid"]] == [(rid, "updates/step-00000020.npz")]
    assert sorted(doc["valid"]) == sorted(set(truth.run_ids.values()) - {rid})
    assert "Traceback" not in r.output


def test_validate_in_processes_says_what_it_says_in_one(tmp_path):
    """--jobs 2 (processes) and --jobs 1 (this process) give the same document, damage included."""
    truth = write_study(tmp_path, seeds=(0, 1, 2), baselines=False)
    ids = sorted(truth.run_ids.values())
    from fwanalysis.artifacts.reader import RUNS_PER_VALIDATE_JOB

    assert len(ids) >= 2 * RUNS_PER_VALIDATE_JOB  # enough runs that --jobs 2 uses two processes
    (tmp_path / ids[0] / "updates" / "step-00000020.npz").write_bytes(b"PK\x03\x04 not a zip")
    masks = tmp_path / ids[-1] / "masks" / "step-00000000.npz"
    masks.unlink()
    one, two = (
        fwa("validate", tmp_path, "--format", "json", "--jobs", "1"),
        fwa("validate", tmp_path, "--format", "json", "--jobs", "2"),
    )
    assert one.exit_code == two.exit_code == 1
    assert json.loads(one.stdout) == json.loads(two.stdout)
    assert {i["run"] for i in json.loads(two.stdout)["invalid"]} == {ids[0], ids[-1]}


def test_jaccard_first_matches_sets(study):
    root, t = study
    doc = jdoc("jaccard", "--at", "first", root)
    assert doc["at"] == "first" and doc["criteria"] == list(CRITS) and doc["groups"] == 1
    for i, a in enumerate(CRITS):
        for j, b in enumerate(CRITS):
            vals = [set_jaccard(t.first[(s, a)], t.first[(s, b)]) for s in SEEDS]
            assert doc["mean"][i][j] == pytest.approx(np.mean(vals))
            assert doc["std"][i][j] == pytest.approx(np.std(vals), abs=1e-12)
            assert doc["n"][i][j] == len(SEEDS)
    pairs = [
        set_jaccard(t.first[(s1, "random")], t.first[(s2, "random")]) for s1, s2 in itertools.combinations(SEEDS, 2)
    ]
    assert doc["reference"] == {"name": "J_r", "value": pytest.approx(np.mean(pairs))}


def test_jaccard_first_from_shadow_sets_alone(study):
    """With only the magnitude runs, the other criteria come from their shadow sets: same answer."""
    root, t = study
    full = jdoc("jaccard", "--at", "first", root)
    one = jdoc("jaccard", "--at", "first", root, "--criterion", "magnitude")
    assert one["criteria"] == full["criteria"]
    np.testing.assert_allclose(np.array(one["mean"], float), np.array(full["mean"], float))


def test_jaccard_end_with_init(study):
    root, t = study
    doc = jdoc("jaccard", "--at", "end", root)
    assert doc["criteria"] == list(CRITS) + ["init"] and doc["reference"]["name"] == "J_init"
    sets = lambda s: {**{c: t.final[(s, c)] for c in CRITS}, "init": t.init[s]}  # noqa: E731
    for i, a in enumerate(doc["criteria"]):
        for j, b in enumerate(doc["criteria"]):
            assert doc["mean"][i][j] == pytest.approx(np.mean([set_jaccard(sets(s)[a], sets(s)[b]) for s in SEEDS]))
    ref = np.mean([set_jaccard(t.init[a], t.init[b]) for a, b in itertools.combinations(SEEDS, 2)])
    assert doc["reference"]["value"] == pytest.approx(ref)


def test_jaccard_over_time(study):
    root, t = study
    doc = jdoc("jaccard", "--at", "time", root)
    rows = {(r["step"], r["run_criterion"], r["other"]): r for r in doc["rows"]}
    steps = {step for ups in t.updates.values() for step, _, _ in ups}
    assert len(rows) == len(steps) * len(CRITS) * (len(CRITS) - 1)  # steps x run criteria x the others
    r = rows[(10, "snip", "magnitude")]
    assert r["jaccard"] == pytest.approx(
        np.mean([set_jaccard(t.first[(s, "snip")], t.first[(s, "magnitude")]) for s in SEEDS])
    )
    assert set(r) >= {"step", "run_criterion", "other", "jaccard", "std"}


def test_itop_rebuilt_equals_hand_union_and_logged(study):
    root, t = study
    doc = jdoc("itop", root)
    assert sorted(r["run_id"] for r in doc["rows"]) == sorted(t.run_ids.values())  # DST runs only
    for row in doc["rows"]:
        assert row["itop"] == pytest.approx(row["itop_logged"])
        assert set(row) >= {"run_id", "criterion", "growth", "update_period", "density", "itop"}
    seed, crit = 1, "snip"
    union = {n: t.init[seed][n].copy() for n in LAYERS}
    m = {n: t.init[seed][n].copy() for n in LAYERS}
    for _, p, g in t.updates[(seed, crit)]:
        m = {n: (m[n] & ~p[n]) | g[n] for n in LAYERS}
        union = {n: union[n] | m[n] for n in LAYERS}
    want = sum(u.sum() for u in union.values()) / sum(np.prod(s) for s in LAYERS.values())
    rid = t.run_ids[(seed, crit, 0.5)]
    assert next(r for r in doc["rows"] if r["run_id"] == rid)["itop"] == pytest.approx(want)


def _never_removed_truth(t, seed, crits):
    """Paper App. K with python sets: final masks of each criterion's run of one seed; kept by all / mean kept,
    and outside every final mask / mean outside (over all weights of the layers)."""
    finals = [t.final[(seed, c)] for c in crits]
    kept = [{(n, i) for n in LAYERS for i in np.flatnonzero(f[n].ravel())} for f in finals]
    every = {(n, i) for n, shape in LAYERS.items() for i in range(int(np.prod(shape)))}
    outside = [every - k for k in kept]
    return (
        len(set.intersection(*kept)) / np.mean([len(k) for k in kept]),
        len(set.intersection(*outside)) / np.mean([len(o) for o in outside]),
    )


def test_never_removed_uses_final_masks(study):
    """fwa never-removed computed the first update's sets; the paper's Fig. 19 uses the masks at the end."""
    root, t = study
    doc = jdoc("never-removed", root)
    assert sorted(r["seed"] for r in doc["rows"]) == list(SEEDS) and doc["groups"] == 1  # one row per seed
    for row in doc["rows"]:
        kept, removed = _never_removed_truth(t, row["seed"], CRITS)
        assert row["criteria"] == len(CRITS)
        assert row["retained_by_all"] == pytest.approx(kept)
        assert row["removed_by_all"] == pytest.approx(removed)


def test_accuracy_with_baselines(study):
    root, t = study
    doc = jdoc("accuracy", root)
    rows = {(r["criterion"], r["density"]): r for r in doc["rows"]}
    for c in CRITS:
        vals = [t.acc[(s, c, 0.5)] for s in SEEDS]
        assert rows[(c, 0.5)]["mean"] == pytest.approx(np.mean(vals))
        assert rows[(c, 0.5)]["std"] == pytest.approx(np.std(vals))
        assert rows[(c, 0.5)]["n"] == len(SEEDS)
    assert rows[("dense", 1.0)]["mean"] == pytest.approx(np.mean([t.acc[(s, "dense", 1.0)] for s in SEEDS]))
    assert rows[("static", 0.5)]["n"] == len(SEEDS)
    assert set(doc["rows"][0]) >= {"model", "dataset", "growth", "criterion", "density", "mean", "std", "n"}
    # a criterion filter keeps the baselines
    filt = jdoc("accuracy", root, "--criterion", "snip")
    assert {r["criterion"] for r in filt["rows"]} == {"snip", "dense", "static"}


def test_loss_gap(study):
    root, t = study
    doc = jdoc("loss-gap", root)
    for crit in CRITS:
        for epoch in (1, 2, 4):
            gaps = [
                t.losses[(s, crit, 0.5)][epoch][1] - t.losses[(s, crit, 0.5)][epoch][0] for s in SEEDS
            ]  # val - train, as logged
            row = next(r for r in doc["rows"] if r["criterion"] == crit and r["epoch"] == epoch)
            assert row["gap_mean"] == pytest.approx(np.mean(gaps)) and row["gap_std"] == pytest.approx(
                np.std(gaps), abs=1e-12
            )
    assert set(row) >= {"epoch", "method", "criterion", "gap_mean", "gap_std"}


def test_cd_diagram_runs_and_input(tmp_path):
    from scipy.stats import rankdata

    t = write_study(tmp_path / "two", seeds=(0, 1), densities=(0.3, 0.5), n_updates=1, baselines=False)
    doc = jdoc("cd-diagram", tmp_path / "two")
    assert set(doc) >= CD_JSON_KEYS
    # a block per density (accuracy averaged over seeds); rank 1 = the best accuracy of the block
    blocks = [[np.mean([t.acc[(s, c, d)] for s in (0, 1)]) for c in CRITS] for d in (0.3, 0.5)]
    want = dict(zip(CRITS, np.mean([rankdata([-a for a in b]) for b in blocks], axis=0)))
    assert doc["n_blocks"] == len(blocks)
    assert doc["avg_ranks"] == pytest.approx(want)
    assert doc["methods"] == sorted(CRITS, key=want.get)
    # --input ranks any table; a block missing a method is dropped and counted
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame([{"block": f"b{i}", "method": m, "score": rng.random()} for i in range(8) for m in "abc"])
    df = df[~((df["block"] == "b7") & (df["method"] == "c"))]
    df.to_csv(tmp_path / "scores.csv", index=False)
    doc = jdoc("cd-diagram", "--input", tmp_path / "scores.csv")
    assert doc["n_blocks"] == 7 and doc["dropped_blocks"] == 1
    from scipy.stats import friedmanchisquare

    with captured_figures() as figs:
        r = fwa("cd-diagram", "--input", tmp_path / "scores.csv", "--plot", tmp_path / "cd.png")
    assert r.exit_code == 0, r.output
    check_png(tmp_path / "cd.png", figs[0])
    ranks = _finite(np.concatenate([line.get_xdata() for ax in figs[0].axes for line in ax.lines]))
    assert all(np.isclose(ranks, v).any() for v in doc["avg_ranks"].values())  # each method placed at its rank

    piv = df[df["block"] != "b7"].pivot(index="block", columns="method", values="score")
    assert doc["friedman"]["statistic"] == pytest.approx(friedmanchisquare(*[piv[c] for c in piv]).statistic)


def test_plots_written(study, tmp_path):
    """Each --plot file is a real picture of the command's own numbers: the figure drawn (caught on its way
    to the file) shows the values of the command's JSON, and the PNG read back is not blank."""
    root, _ = study
    for args, name, key in [
        (("jaccard", "--at", "first"), "j.png", "mean"),
        (("jaccard", "--at", "end", "--std"), "j.svg", "std"),
        (("jaccard", "--at", "time"), "t.pdf", "jaccard"),
        (("accuracy",), "a.png", "mean"),
        (("itop",), "i.png", "itop"),
        (("never-removed",), "n.png", "retained_by_all"),
        (("loss-gap",), "l.png", "gap_mean"),
    ]:
        with captured_figures() as figs:
            r = fwa(*args, root, "--plot", tmp_path / name)
        assert r.exit_code == 0, r.output
        assert len(figs) == 1, (args, figs)
        check_png(tmp_path / name, figs[0]) if name.endswith(".png") else check_vector(tmp_path / name)
        doc = jdoc(*[a for a in args if a != "--std"], root)  # --std only chooses what --plot draws
        if "rows" in doc:
            values = [row[key] for row in doc["rows"]]
        else:  # a Jaccard matrix: drawn as a heatmap, cell for cell
            values = np.array(doc[key], dtype=float)
            cells = np.concatenate([_finite(im.get_array()) for ax in figs[0].axes for im in ax.images])
            assert np.allclose(np.sort(cells), np.sort(_finite(values))), args
        per_seed = {"itop": ("criterion", "density", "update_period"), "retained_by_all": ("model",)}
        if key in per_seed:  # one row per run: drawn as the mean over seeds
            by = {}
            for row in doc["rows"]:
                by.setdefault(tuple(row[k] for k in per_seed[key]), []).append(row[key])
            values = [np.mean(v) for v in by.values()]
        assert_drawn(values, figs[0], what=" ".join(args))


def test_errors_are_one_line(tmp_path, study):
    root, _ = study
    r = fwa("jaccard", tmp_path / "nowhere")
    assert r.exit_code == 1 and r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) == 1
    r = fwa("accuracy", root, "--model", "nope")  # a value no run holds: the error names those they hold
    said = f"error: --model nope: no complete run under {root} has it; models there: toy\n"
    assert r.exit_code == 1 and r.stderr == said
    r = fwa("jaccard", root, "--model", "toy", "--density", "0.9")  # names that exist, but nothing matches
    assert r.exit_code == 1 and "no complete runs matched" in r.stderr
    r = fwa("ls", root, "--format", "xml")
    assert r.exit_code == 2
    r = fwa("cd-diagram", "--input", tmp_path / "missing.csv")
    assert r.exit_code == 1 and "missing.csv" in r.stderr
    r = fwa("accuracy", root, "--plot", tmp_path / "x.gif")
    assert r.exit_code == 2


def test_bad_run_stops_or_is_skipped(tmp_path):
    t = write_study(tmp_path, seeds=(0, 1), baselines=False)
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "run.json").write_text("{oops")
    r = fwa("ls", tmp_path)
    assert r.exit_code == 1 and "run.json" in r.stderr and "Traceback" not in r.output
    r = fwa("ls", tmp_path, "--skip-bad", "--format", "json")
    assert r.exit_code == 0 and sorted(x["run_id"] for x in json.loads(r.stdout)["runs"]) == sorted(t.run_ids.values())
    assert "skipped" in r.stderr and "broken" in r.stderr


def test_json_stdout_is_one_document(study, tmp_path):
    root, _ = study
    png = tmp_path / "plot.png"
    with captured_figures() as figs:
        r = fwa("jaccard", root, "--format", "json", "--plot", png)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)  # progress and notes went to stderr
    assert f"wrote {png}" in r.stderr.replace("\n", "")
    check_png(png, figs[0])
    cells = np.concatenate([_finite(im.get_array()) for ax in figs[0].axes for im in ax.images])
    assert np.allclose(np.sort(cells), np.sort(_finite(doc["mean"])))  # the plot is the document's matrix


def test_damaged_update_stops_or_is_skipped(tmp_path):
    truth = write_study(tmp_path, seeds=(0, 1), baselines=False)
    rid = truth.run_ids[(1, "snip", 0.5)]
    f = tmp_path / rid / "updates" / "step-00000010.npz"
    f.write_bytes(f.read_bytes()[:40])
    r = fwa("jaccard", tmp_path)
    assert r.exit_code == 1 and r.stderr.startswith(f"error: run {rid}: updates/step-00000010.npz: ")
    assert len(r.stderr.strip().splitlines()) == 1
    r = fwa("jaccard", tmp_path, "--skip-bad", "--format", "json")
    assert r.exit_code == 0, r.output
    assert f"skipped: run {rid}" in r.stderr
    doc = json.loads(r.stdout)
    snip = doc["criteria"].index("snip")
    assert doc["n"][snip][snip] == 2  # snip of seed 1 still comes from the other runs' shadow sets


def test_sweep_filter(tmp_path):
    a = write_study(tmp_path, seeds=(0,), baselines=False, sweep="a")
    b = write_study(tmp_path, seeds=(0,), baselines=False, sweep="b", extra={"update_period": 20})
    ids = lambda doc: sorted(r["run_id"] for r in doc["runs"])  # noqa: E731
    assert ids(jdoc("ls", tmp_path)) == sorted([*a.run_ids.values(), *b.run_ids.values()])
    assert ids(jdoc("ls", tmp_path, "--sweep", "b")) == sorted(b.run_ids.values())
    # two groups (Δt 10 and 20) are never averaged: each gets its own matrix, named by what separates them,
    # equal to what the filter that picks that group alone gives
    both = jdoc("jaccard", tmp_path)
    assert both["groups"] == 2 and both["separated_by"] == ["update_period"]
    assert [g["update_period"] for g in both["results"]] == [10, 20]
    for g, alone in zip(
        both["results"], (jdoc("jaccard", tmp_path, "--sweep", "a"), jdoc("jaccard", tmp_path, "--update-period", "20"))
    ):
        assert alone["groups"] == 1
        assert g["mean"] == alone["mean"] and g["criteria"] == alone["criteria"]
    table = fwa("jaccard", tmp_path)
    assert table.exit_code == 0 and "update_period=10" in table.stdout and "update_period=20" in table.stdout


def test_never_removed_and_jaccard_over_a_subset_of_criteria(study):
    """``criteria=`` (used by the report's Fig. 19 to leave out sensitivity) compares only those criteria."""
    from fwanalysis import analyses as A
    from fwanalysis.artifacts import find_runs

    root, t = study
    runs = find_runs(root)
    pair = ("magnitude", "random")
    rows = A.never_removed_rows(runs, criteria=pair)
    assert set(rows["criteria"]) == {2}
    for _, row in rows.iterrows():
        kept, removed = _never_removed_truth(t, row["seed"], pair)
        assert row["retained_by_all"] == pytest.approx(kept)
        assert row["removed_by_all"] == pytest.approx(removed)
    res = A.jaccard_first(runs, criteria=("snip", "magnitude"))
    assert list(res.criteria) == ["magnitude", "snip"]
    full = A.jaccard_first(runs)
    assert res.mean[0][1] == pytest.approx(
        full.mean[list(full.criteria).index("magnitude")][list(full.criteria).index("snip")]
    )
    assert res.reference_value == pytest.approx(full.reference_value)  # J_r still from the random sets


def test_jaccard_json_never_imports_pandas(study):
    """The Jaccard path stays lean (pandas + pyarrow were a quarter of a short command's wall time)."""
    import subprocess

    root, _ = study
    code = (
        "import sys, contextlib, io\n"
        "from fwanalysis.cli import main\n"
        f"sys.argv = ['fwa', 'jaccard', '--at', 'first', {str(root)!r}, '--format', 'json']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main()\n    except SystemExit as e:\n        assert not e.code, e.code\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
