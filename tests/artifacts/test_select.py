"""fwanalysis.artifacts.select: the filters, the pooling rule (designs, varying fields, repeats) and hints."""

from __future__ import annotations

import numpy as np
import pytest

from fwanalysis.artifacts import RunWriter, load_run
from fwanalysis.artifacts.select import (
    RunFilter,
    config_get,
    describe_fields,
    design,
    drop_repeats,
    filter_hint,
    group_key,
    in_sweeps,
    profiles_of,
    select_runs,
    varying_fields,
)

LAYERS = {"fc.weight": (2, 3)}
BASE = {
    "model": "toy",
    "dataset": "synthetic",
    "method": "dst",
    "criterion": "magnitude",
    "growth": "random",
    "density": 0.5,
    "update_period": 10,
    "batch_size": 128,
    "seed": 0,
}


def make(root, *, status="complete", **cfg):
    """One run with ``BASE`` updated by ``cfg`` (a key set to None is left out), read back as a Run."""
    config = {k: v for k, v in {**BASE, **cfg}.items() if v is not None}
    w = RunWriter(root, config, LAYERS, total_steps=1)
    w.write_masks(0, {"fc.weight": np.ones((2, 3), bool)})
    w.close(status)
    return load_run(w.path)


@pytest.fixture
def mk(tmp_path):
    return lambda **cfg: make(tmp_path, **cfg)


# -- what a run is ---------------------------------------------------------------------------------


def test_design_drops_labels_and_flattens_criterion_params(mk):
    r = mk(criterion="mest", criterion_params={"mest_lambda": 0.5}, sweep="acc", profile="quick")
    d = design(r)
    assert "sweep" not in d and "profile" not in d and "criterion_params" not in d
    assert d["mest_lambda"] == 0.5 and d["criterion"] == "mest" and d["seed"] == 0
    # a parameter named like a config key keeps its prefix, so the two never collide
    r2 = mk(criterion_params={"density": 0.1})
    assert design(r2)["density"] == 0.5 and design(r2)["criterion_params.density"] == 0.1
    assert design(mk(lr_milestones=[3, 6]))["lr_milestones"] == (3, 6)  # lists become hashable


def test_config_get_reads_keys_labels_and_criterion_params(mk):
    r = mk(criterion="mest", criterion_params={"mest_lambda": 0.25}, sweep="acc")
    assert config_get(r, "density") == 0.5 and config_get(r, "sweep") == "acc"
    assert config_get(r, "mest_lambda") == 0.25 and config_get(r, "criterion_params.mest_lambda") == 0.25
    assert config_get(r, "nothing") is None


def test_varying_fields_names_what_differs_within_a_cell_in_config_order(mk):
    runs = [mk(seed=0), mk(seed=1)]
    cell = lambda r: (r.config["criterion"], r.config["density"])  # noqa: E731
    assert varying_fields(runs, cell) == []  # seeds only: poolable
    runs += [mk(seed=0, update_period=20, batch_size=64), mk(seed=1, update_period=20, batch_size=64)]
    assert varying_fields(runs, cell) == ["update_period", "batch_size"]  # schema order: update_period first
    assert varying_fields(runs, cell, ignore=("seed", "batch_size")) == ["update_period"]
    # runs in cells of their own never vary
    assert varying_fields(runs, lambda r: (r.config["update_period"], r.config["seed"])) == []


def test_in_sweeps_and_profiles(mk):
    tagged, untagged = mk(sweep="acc", profile="quick"), mk(seed=1, profile="paper")
    assert in_sweeps(tagged, ["acc", "x"]) and not in_sweeps(tagged, ["x"])
    assert in_sweeps(untagged, ["x"])  # a run of any loop counts for every study
    assert profiles_of([tagged, untagged, mk(seed=2)]) == ["paper", "quick"]


def test_drop_repeats_keeps_the_first_of_each_design_and_seed(mk):
    a, b = mk(sweep="one"), mk(sweep="two")  # one experiment recorded by two sweeps
    c = mk(sweep="two", seed=1)
    kept, repeats = drop_repeats([a, b, c])
    assert kept == [a, c] and repeats == [(b, a)]
    assert drop_repeats([c, a]) == ([c, a], [])


def test_group_key_pairs_runs_across_criteria_and_seeds(mk):
    mag, snip, mest = mk(), mk(criterion="snip", seed=3), mk(criterion="mest", criterion_params={"mest_lambda": 1.0})
    assert group_key(mag) == group_key(snip) == group_key(mest)  # mest_lambda belongs to MEST: not a pairing key
    assert group_key(mk(density=0.1)) != group_key(mag)
    assert group_key(mk(seed=5), ignore=("criterion",)) != group_key(mag)


# -- telling the user ------------------------------------------------------------------------------


def test_describe_fields_and_filter_hints(mk):
    runs = [mk(update_period=p, seed=s) for p in (5, 10, 20, 40, 80) for s in (0,)]
    assert describe_fields(runs, ["update_period"]) == "update_period (5, 10, 20, 40, ...)"
    assert describe_fields(runs[:2], ["update_period", "density"]) == "update_period (5, 10), density (0.5)"
    assert filter_hint("update_period", 25) == "--update-period 25"
    assert filter_hint("density", 0.1) == "--density 0.1"
    assert filter_hint("batch_size", 128) == "--config batch_size=128"
    assert filter_hint("nesterov", True) == "--config nesterov=true"
    assert filter_hint("init", "er") == "--config init=er"
    assert filter_hint("model", None) == "--config model=null"


# -- filters -------------------------------------------------------------------------------------------


def test_run_filter_fields_and_baselines(mk):
    dst = mk(density=0.2)
    dense = mk(method="dense", criterion=None, growth=None, update_period=None, density=1.0)
    static = mk(method="static", criterion=None, growth=None, update_period=None, density=0.2)
    assert RunFilter().accepts(dst) and RunFilter().describe() == "no filters"
    f = RunFilter(criterion=("snip",))
    assert not f.accepts(dst) and not f.accepts(static)
    assert f.accepts(static, baselines=True) and f.accepts(dense, baselines=True)  # baselines have no criterion
    f = RunFilter(density=(0.2,))
    assert f.accepts(dst) and not f.accepts(dense) and f.accepts(dense, baselines=True)  # dense ignores density
    assert RunFilter(update_period=(10,)).accepts(dst) and not RunFilter(update_period=(20,)).accepts(dst)
    assert RunFilter(update_period=(20,)).accepts(static, baselines=True)
    assert not RunFilter(method=("dst",)).accepts(static, baselines=True)  # method always filters
    assert not RunFilter(model=("other",)).accepts(dense, baselines=True)
    assert RunFilter(sweep=("a",)).accepts(mk(sweep="a", seed=7)) and not RunFilter(sweep=("a",)).accepts(dst)


def test_density_filters_compare_with_tolerance_and_bounds(mk):
    r = mk(density=0.1 + 0.2 - 0.2)  # 0.10000000000000003
    assert RunFilter(density=(0.1,)).accepts(r)
    d = lambda **kw: RunFilter(**kw).density_ok(0.2)  # noqa: E731
    assert d(density_min=0.2) and d(density_max=0.2) and not d(density_gt=0.2) and not d(density_lt=0.2)
    assert d(density_gt=0.1, density_lt=0.3) and not d(density_min=0.3) and not d(density_max=0.1)
    assert RunFilter().density_ok(None) and not RunFilter(density_min=0.1).density_ok(None)


def test_config_filters_match_values_and_floats_closely(mk):
    r = mk(criterion="mest", criterion_params={"mest_lambda": 0.1}, lr=0.1)
    assert RunFilter(extra={"mest_lambda": 0.1}).accepts(r)
    assert RunFilter(extra={"lr": 0.1 + 1e-12}).accepts(r) and not RunFilter(extra={"lr": 0.11}).accepts(r)
    assert RunFilter(extra={"batch_size": 128}).accepts(r) and not RunFilter(extra={"batch_size": 64}).accepts(r)
    assert not RunFilter(extra={"nesterov": True}).accepts(r)
    f = RunFilter(model=("toy",), density_max=0.5, extra={"batch_size": 128})
    assert f.describe() == "--model toy --density-max 0.5 --config batch_size=128"


def test_select_runs_filters_below_paths_and_skips_incomplete(tmp_path):
    for s in (0, 1):
        make(tmp_path / "a", seed=s)
        make(tmp_path / "b", seed=s, criterion="snip")
    make(tmp_path / "b", seed=9, status="failed")
    all_runs = select_runs([tmp_path])
    assert len(all_runs) == 4 and [r.path for r in all_runs] == sorted(r.path for r in all_runs)
    snip = select_runs([tmp_path], RunFilter(criterion=("snip",)))
    assert {r.config["criterion"] for r in snip} == {"snip"} and len(snip) == 2
    assert len(select_runs([tmp_path / "b"], include_incomplete=True)) == 3
