"""The pooling rule: every analysis averages over seeds only, keeps other differences apart, and counts one
experiment once. Plus the other defects of the first adversarial review of `fwa`: validate and status,
density bounds, markup in user data, tables cut when piped."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from clilib import fwa, jdoc
from synthetic import CRITS, write_study

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def two_periods(tmp_path_factory):
    """The same criteria and seeds at Δt = 10 (sweep a) and Δt = 3 (sweep b): differing only in update period."""
    root = tmp_path_factory.mktemp("periods")
    t10 = write_study(root / "a", seeds=SEEDS, sweep="a", densities=(0.5, 0.2))
    t3 = write_study(
        root / "b", seeds=SEEDS, sweep="b", densities=(0.5, 0.2), extra={"update_period": 3}, baselines=False
    )
    return root, t10, t3


def test_accuracy_never_reports_more_than_the_seeds(two_periods):
    root, t10, t3 = two_periods
    doc = jdoc("accuracy", root)
    assert doc["separated_by"] == ["update_period"]
    assert max(r["n"] for r in doc["rows"]) == len(SEEDS)
    for crit in CRITS:
        for period, truth in ((10, t10), (3, t3)):
            (row,) = [
                r
                for r in doc["rows"]
                if r["criterion"] == crit and r["density"] == 0.5 and r["update_period"] == period
            ]
            want = [truth.acc[(s, crit, 0.5)] for s in SEEDS]
            assert row["mean"] == pytest.approx(np.mean(want)) and row["std"] == pytest.approx(np.std(want))
    # baselines (no Δt) are shown beside each Δt, with their own three seeds
    dense = [r for r in doc["rows"] if r["criterion"] == "dense"]
    assert sorted(r["update_period"] for r in dense) == [3, 10] and all(r["n"] == len(SEEDS) for r in dense)
    assert doc["groups"] >= 4  # (Δt 10, Δt 3) x (density 0.5, 0.2), plus the baselines


def test_update_period_and_itop_and_loss_gap_keep_densities_apart(two_periods):
    root, _, _ = two_periods
    for cmd in ("update-period", "itop", "loss-gap"):
        doc = jdoc(cmd, root)
        assert "density" in doc["separated_by"] or cmd in ("update-period", "itop"), (cmd, doc["separated_by"])
        if "n" in doc["rows"][0]:
            assert max(r["n"] for r in doc["rows"]) <= len(SEEDS), cmd


def test_cd_blocks_hold_one_design(two_periods):
    root, t10, t3 = two_periods
    doc = jdoc("cd-diagram", root)
    # (toy, synthetic, random) x density {0.2, 0.5} x Δt {3, 10}: four blocks, each of one design
    assert doc["separated_by"] == ["update_period"] and doc["groups"] == 4 and doc["n_blocks"] == 4
    # the ranks are those of the four blocks' seed means, computed independently
    from scipy.stats import rankdata

    ranks = []
    for truth in (t10, t3):
        for d in (0.5, 0.2):
            means = [np.mean([truth.acc[(s, c, d)] for s in SEEDS]) for c in CRITS]
            ranks.append(rankdata([-m for m in means]))
    avg = dict(zip(CRITS, np.mean(ranks, axis=0)))
    assert doc["avg_ranks"] == pytest.approx(avg)


def test_jaccard_keeps_groups_apart_and_names_them(two_periods):
    root, _, _ = two_periods
    doc = jdoc("jaccard", root, "--density", "0.5")
    assert doc["separated_by"] == ["update_period"] and [g["update_period"] for g in doc["results"]] == [3, 10]
    one = jdoc("jaccard", root, "--density", "0.5", "--update-period", "3")
    assert one["groups"] == 1 and one["mean"] == doc["results"][0]["mean"]
    # the analysis function itself still refuses to pool groups, naming the fields and a filter
    from fwanalysis import analyses as A
    from fwanalysis.artifacts import find_runs
    from fwanalysis.artifacts.select import PoolingError

    with pytest.raises(PoolingError, match=r"differ in update_period \(3, 10\).*--update-period"):
        A.jaccard_first([r for r in find_runs(root) if r.config["density"] == 0.5])


def test_repeats_under_another_sweep_name_count_once(tmp_path):
    """The same config and seed trained by two specs is one experiment: n stays the number of seeds."""
    a = write_study(tmp_path / "a", seeds=SEEDS, sweep="accuracy", baselines=False)
    write_study(tmp_path / "b", seeds=SEEDS, sweep="update-period", baselines=False)
    r = fwa("accuracy", tmp_path, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["separated_by"] == [] and all(row["n"] == len(SEEDS) for row in doc["rows"])
    assert f"note: {len(SEEDS) * len(CRITS)} run(s) repeat" in r.stderr
    row = next(x for x in doc["rows"] if x["criterion"] == "snip")
    assert row["mean"] == pytest.approx(np.mean([a.acc[(s, "snip", 0.5)] for s in SEEDS]))
    assert jdoc("jaccard", tmp_path)["groups"] == 1
    assert len(jdoc("ls", tmp_path)["runs"]) == 2 * len(SEEDS) * len(CRITS)  # ls lists every run


def test_a_run_id_in_two_directories_counts_once(tmp_path):
    write_study(tmp_path / "study", seeds=SEEDS, baselines=False)
    shutil.copytree(tmp_path / "study", tmp_path / "copy")
    r = fwa("accuracy", tmp_path / "study", tmp_path / "copy", "--format", "json")
    assert r.exit_code == 0, r.output
    assert all(row["n"] == len(SEEDS) for row in json.loads(r.stdout)["rows"])
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning: run ")]
    assert len(warnings) == len(SEEDS) * len(CRITS)
    assert str(tmp_path / "study") in warnings[0] and str(tmp_path / "copy") in warnings[0]


def test_mest_at_two_lambdas_is_never_averaged(tmp_path):
    write_study(
        tmp_path,
        seeds=(0, 1),
        crits=("magnitude", "mest"),
        baselines=False,
        extra={"criterion_params": {"mest_lambda": 1.0}},
    )
    write_study(
        tmp_path / "l01",
        seeds=(0, 1),
        crits=("mest",),
        baselines=False,
        extra={"criterion_params": {"mest_lambda": 0.1}},
    )
    doc = jdoc("accuracy", tmp_path)
    assert doc["separated_by"] == ["mest_lambda"]
    assert sorted(r["mest_lambda"] for r in doc["rows"] if r["criterion"] == "mest") == [0.1, 1.0]
    assert all(r["n"] == 2 for r in doc["rows"])
    r = fwa("jaccard", tmp_path)
    assert r.exit_code == 1 and "differ in mest_lambda (0.1, 1)" in r.stderr and "--config mest_lambda=" in r.stderr
    assert jdoc("jaccard", tmp_path, "--config", "mest_lambda=1.0")["criteria"][:2] == ["magnitude", "mest"]


# -- validate shows status; a killed run is a problem ----------------------------------------------
def test_validate_reports_a_killed_run(tmp_path):
    write_study(tmp_path, seeds=(0,), crits=("magnitude", "snip"), baselines=False)
    p = next(tmp_path.glob("*snip*")) / "run.json"
    m = json.loads(p.read_text())
    m["status"], m["finished"] = "running", None
    p.write_text(json.dumps(m))
    r = fwa("validate", tmp_path, "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert [i["run"] for i in doc["invalid"]] == [m["run_id"]] and "status running" in doc["invalid"][0]["problem"]
    assert "interrupted" in doc["invalid"][0]["problem"]  # nobody holds its lock
    assert {x["run"]: x["status"] for x in doc["runs"]}[m["run_id"]] == "running"
    from fwanalysis.artifacts.lock import RunLock

    lock = RunLock(tmp_path, m["run_id"]).acquire()  # a live process (this one) is training it
    try:
        problem = json.loads(fwa("validate", tmp_path, "--format", "json").stdout)["invalid"][0]["problem"]
        assert f"being trained by pid {os.getpid()}" in problem
    finally:
        lock.release()
    r = fwa("validate", tmp_path, "--include-incomplete", "--format", "json")
    assert r.exit_code == 0 and m["run_id"] in json.loads(r.stdout)["valid"]
    table = fwa("validate", tmp_path).stdout
    assert "running" in table and "complete" in table


# -- density bounds: inclusive min/max, strict gt/lt; the figure uses the same filter ----------------
def test_density_bounds(tmp_path):
    write_study(tmp_path, seeds=(0,), densities=(0.1, 0.2, 0.5), baselines=False)

    def densities(*flags):
        return sorted({r["density"] for r in jdoc("ls", tmp_path, *flags)["runs"]})

    assert densities("--density-max", "0.2") == [0.1, 0.2]
    assert densities("--density-min", "0.2") == [0.2, 0.5]
    assert densities("--density-gt", "0.2") == [0.5]
    assert densities("--density-lt", "0.2") == [0.1]
    assert densities("--density-gt", "0.1", "--density-lt", "0.5") == [0.2]


def test_fig03c_is_strictly_above_0_2(tmp_path):
    from fwanalysis.artifacts import find_runs
    from fwanalysis.figures import FIGURES, select_for

    write_study(tmp_path, seeds=(0, 1), densities=(0.1, 0.2, 0.5, 0.8), sweep="accuracy", baselines=False)
    runs = find_runs(tmp_path)
    assert {r.config["density"] for r in select_for(FIGURES["fig03c-cd-high-density"], runs)} == {0.5, 0.8}
    assert {r.config["density"] for r in select_for(FIGURES["fig03b-cd-low-density"], runs)} == {0.1, 0.2}
    # and the CLI's --density-gt gives the blocks of the figure (which ranks the paper's criteria only)
    high = jdoc("cd-diagram", tmp_path, "--density-gt", "0.2", "--criterion", "magnitude", "--criterion", "snip")
    assert high["n_blocks"] == 2
    from fwanalysis.figures import build

    built = build(FIGURES["fig03c-cd-high-density"], runs)
    assert built.result.n_blocks == 2 and built.result.avg_ranks == pytest.approx(high["avg_ranks"])


# -- user data is plain text; tables are whole when piped --------------------------------------------
def test_markup_in_run_data_prints_literally(tmp_path):
    write_study(tmp_path, seeds=(0,), crits=("magnitude",), baselines=False, model="[bold]net[red]x")
    (run,) = list(tmp_path.glob("*/run.json"))
    m = json.loads(run.read_text())
    m["config"]["dataset"] = "[/bold]data"  # a closing tag with no opening one made rich raise MarkupError
    run.write_text(json.dumps(m))
    r = fwa("ls", tmp_path)
    assert r.exit_code == 0, r.output
    assert "[bold]net[red]x" in r.stdout and "[/bold]data" in r.stdout
    r = fwa("ls", tmp_path, "--model", "nope[/red]")
    assert r.exit_code == 1 and "nope[/red]" in r.stderr


def test_piped_tables_are_never_cut(tmp_path):
    write_study(tmp_path, seeds=(0, 1), baselines=False, model="a-model-with-a-rather-long-name-" + "x" * 40)
    r = fwa("ls", tmp_path)
    assert r.exit_code == 0
    ids = [x["run_id"] for x in jdoc("ls", tmp_path)["runs"]]
    for run_id in ids:
        assert run_id in r.stdout  # whole, on one line
    assert "…" not in r.stdout
    r = fwa("jaccard", tmp_path)
    assert "…" not in r.stdout and "±" in r.stdout


def test_cd_diagram_ranks_the_accuracy_study_of_a_whole_study(tmp_path):
    """`fwa cd-diagram --density-max 0.2` on a study holding several specs' runs is the paper's Fig. 3b:
    the accuracy spec's blocks only, the same result as the report's fig03b."""
    from fwanalysis.artifacts import find_runs
    from fwanalysis.figures import FIGURES, build

    write_study(tmp_path, seeds=(0, 1), densities=(0.1, 0.2, 0.5), sweep="accuracy", baselines=False)
    write_study(
        tmp_path, seeds=(0, 1), densities=(0.1, 0.2), sweep="update-period", baselines=False, extra={"update_period": 3}
    )
    r = fwa(
        "cd-diagram",
        tmp_path,
        "--density-max",
        "0.2",
        "--criterion",
        "magnitude",
        "--criterion",
        "snip",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["n_blocks"] == 2 and doc["separated_by"] == [] and "ranking the accuracy study" in r.stderr
    fig = build(FIGURES["fig03b-cd-low-density"], find_runs(tmp_path))
    assert fig.result.n_blocks == 2 and fig.result.avg_ranks == pytest.approx(doc["avg_ranks"])
    other = jdoc(
        "cd-diagram",
        tmp_path,
        "--density-max",
        "0.2",
        "--sweep",
        "update-period",
        "--criterion",
        "magnitude",
        "--criterion",
        "snip",
    )
    assert other["n_blocks"] == 2  # --sweep picks another spec's runs
