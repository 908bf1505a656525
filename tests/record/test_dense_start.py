"""fwanalysis.record.Recorder on loops that start dense: iterative magnitude pruning (method ``imp``) and pruning at
initialisation (``pai``) record without masks made up front, their density measured from the masks, and the
analyses keep such runs apart from DST's.

Cheap: an 8-10-5 MLP (130 weights in its two weight matrices), a few steps per run, three runs shared.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from clilib import fwa, jdoc, said  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils import prune  # noqa: E402

from fwanalysis.artifacts import load_run  # noqa: E402
from fwanalysis.artifacts.bitset import unpack  # noqa: E402
from fwanalysis.record import Recorder  # noqa: E402

WEIGHTS = 8 * 10 + 10 * 5  # the weight matrices of net(): what a dense start records


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 10), nn.ReLU(), nn.Linear(10, 5))


def batch(step: int):
    gen = torch.Generator().manual_seed(step)
    return torch.randn(16, 8, generator=gen), torch.randint(0, 5, (16,), generator=gen)


def sgd_step(model, opt, step: int):
    x, y = batch(step)
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def bools(run, packed: dict) -> dict:
    return {layer.name: unpack(packed[layer.name], layer.numel, layer.shape) for layer in run.layers}


def imp(out, *, identity: bool = False, run_id: str | None = None):
    """Two dense steps, then magnitude pruning of each layer: half at step 3, 80 % of what is left at step 6.
    ``identity``: the old work-around first, ``prune.identity`` on every layer (masks of all ones)."""
    model = net()
    for layer in (model[0], model[2]) if identity else ():
        prune.identity(layer, "weight")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Recorder(
        model, out, dataset="toy", method="imp", criterion="magnitude", seed=0, steps_per_epoch=2, run_id=run_id
    ) as rec:
        for step in range(1, 7):
            loss = sgd_step(model, opt, step)
            if step in (3, 6):
                for layer in (model[0], model[2]):
                    prune.l1_unstructured(layer, "weight", amount=0.5 if step == 3 else 0.8)
            rec.step(step)
            rec.log(step, "train", "loss", loss)
        rec.log(6, "test", "acc", 0.5)
    return rec, {n: model[int(n[0])].weight_mask.bool().numpy() for n in ("0.weight", "2.weight")}


def pai(out):
    """SNIP at initialisation, inside ``rec.update(0)``: 90 % of each layer by |w·g| on one batch, then 3 steps."""
    model = net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Recorder(model, out, dataset="toy", method="pai", criterion="snip", shadow="all", seed=0) as rec:
        x, y = batch(0)
        F.cross_entropy(model(x), y).backward()
        removed = {}
        with rec.update(0):
            for name, layer in (("0.weight", model[0]), ("2.weight", model[2])):
                score = (layer.weight * layer.weight.grad).abs().flatten()
                mask = torch.ones_like(score)
                mask[score.argsort(stable=True)[: int(0.9 * score.numel())]] = 0
                removed[name] = (mask == 0).reshape(layer.weight.shape).numpy()
                prune.custom_from_mask(layer, "weight", mask.reshape(layer.weight.shape))
        for step in range(1, 4):
            sgd_step(model, opt, step)
            rec.step(step)
        rec.log(3, "test", "acc", 0.25)
    return rec, removed


def dst(out):
    """A sparse start (half of each layer), never updated: a DST run of magnitude for the analyses to tell apart."""
    model = net()
    for layer in (model[0], model[2]):
        prune.random_unstructured(layer, "weight", amount=0.5)
    with Recorder(model, out, dataset="toy", criterion="magnitude", growth="random", seed=0) as rec:
        rec.step(1)
        rec.log(1, "test", "acc", 0.75)
    return rec


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("dense-start")
    return out, {"imp": imp(out), "pai": pai(out), "dst": dst(out)}


def test_a_dense_start_records_every_weight_matrix_as_all_ones(study):
    """Before: `ValueError: the model has no torch.nn.utils.prune masks`."""
    _, runs = study
    run = load_run(runs["imp"][0].path)
    assert run.layer_names == ["0.weight", "2.weight"]  # the weight matrices, not the biases
    assert run.mask_steps == [0, 6] and run.update_steps == [3, 6]
    assert all(m.all() for m in bools(run, run.initial_masks()).values())
    assert [layer.density for layer in run.layers] == [1.0, 1.0]


def test_density_is_measured_from_the_masks(study):
    """90 % pruned in two rounds: config.density and the density rows are 0.5, then 0.1, from the masks (the
    work-around of prune.identity on every layer recorded the density as 1)."""
    _, runs = study
    rec, final = runs["imp"]
    run = load_run(rec.path)
    got = bools(run, run.final_masks())
    for name in final:
        np.testing.assert_array_equal(got[name], final[name])
    assert sum(int(m.sum()) for m in got.values()) == 13  # 8 of 80 and 5 of 50
    assert run.config["density"] == pytest.approx(0.1)
    rows = run.metrics().query("split == ''")
    assert rows.query("name == 'density'").value.tolist() == pytest.approx([0.5, 0.1])
    assert rows.query("name == 'prune_fraction'").value.tolist() == pytest.approx([0.5, 0.8])
    assert sum(int(p.sum()) for p in bools(run, run.update(3).pruned).values()) == WEIGHTS // 2


def test_the_identity_work_around_records_the_same_run(study, tmp_path):
    """prune.identity on every layer first (the old work-around) records the same masks, sets and density: 0.1,
    where before it recorded 1 and refused method imp."""
    out, runs = study
    a, b = load_run(runs["imp"][0].path), load_run(imp(tmp_path, identity=True, run_id="identity")[0].path)
    assert b.config == a.config and b.update_steps == a.update_steps and b.config["density"] == pytest.approx(0.1)
    for step in a.update_steps:
        assert bools(b, b.update(step).pruned).keys() == bools(a, a.update(step).pruned).keys()
        for name, want in bools(a, a.update(step).pruned).items():
            np.testing.assert_array_equal(bools(b, b.update(step).pruned)[name], want)
    np.testing.assert_array_equal(b.metrics().value, a.metrics().value)


def test_imp_and_pai_runs_are_valid_and_listed(study):
    """Before: `config.method 'imp'` was refused."""
    out, runs = study
    ids = {k: (v[0] if isinstance(v, tuple) else v).run_id for k, v in runs.items()}
    assert sorted(jdoc("validate", out)["valid"]) == sorted(ids.values())
    listed = {row["run_id"]: row for row in jdoc("ls", out)["runs"]}
    assert listed[ids["imp"]]["method"] == "imp" and listed[ids["imp"]]["density"] == pytest.approx(0.1)
    assert ids["imp"].startswith("toy-sequential-imp-magnitude-s0-")  # no density in the id: unknown when made
    assert ids["pai"].startswith("toy-sequential-pai-snip-s0-")
    # the format's three methods only (other tools read config.method); the loop is config.pruning_loop
    manifests = {k: json.loads((load_run(out / i).path / "run.json").read_text())["config"] for k, i in ids.items()}
    assert {k: (c["method"], c.get("pruning_loop")) for k, c in manifests.items()} == {
        "dst": ("dst", None),
        "imp": ("dst", "imp"),
        "pai": ("static", "pai"),
    }
    from fwanalysis.artifacts import find_runs
    from fwanalysis.artifacts.select import RunFilter

    kinds = {r.run_id: r.kind for r in find_runs(out)}
    assert kinds == {ids["dst"]: "dst", ids["imp"]: "imp", ids["pai"]: "pai"}
    for kind in ("dst", "imp", "pai", "static"):  # RunFilter.method matches the kind: imp is never a dst run
        assert [r.run_id for r in find_runs(out) if RunFilter(method=(kind,)).accepts(r)] == [
            i for i, k in kinds.items() if k == kind
        ]


@pytest.mark.parametrize(
    "config, problem",
    [
        (
            {"method": "imp"},
            "config.method is 'imp': expected one of ['dense', 'static', 'dst'] or null (a pruning "
            "loop is written as config.method 'dst' with config.pruning_loop 'imp')",
        ),
        ({"method": "static", "pruning_loop": "imp"}, "config.pruning_loop is 'imp' but config.method is 'static'"),
        ({"method": "dst", "pruning_loop": "lth"}, "config.pruning_loop is 'lth': expected one of ['imp', 'pai']"),
    ],
)
def test_a_method_outside_the_format_is_refused(study, tmp_path, config, problem):
    """config.method holds the format's three values; a pruning loop is named by config.pruning_loop, consistently."""
    out, runs = study
    src = runs["imp"][0].path if isinstance(runs["imp"], tuple) else runs["imp"].path
    bad = tmp_path / "bad" / src.name
    shutil.copytree(src, bad)
    doc = json.loads((bad / "run.json").read_text())
    doc["config"].update(config)
    (bad / "run.json").write_text(json.dumps(doc))
    r = fwa("validate", str(tmp_path / "bad"))
    assert r.exit_code != 0 and problem in said(r)


def test_pruning_at_init_is_an_update_at_step_zero(study):
    """The step-0 snapshot is the mask after the pruning at init; the update holds what SNIP removed and what every
    other criterion would have removed from the same weights and gradients."""
    _, runs = study
    rec, removed = runs["pai"]
    run = load_run(rec.path)
    assert run.update_steps == [0] and run.mask_steps == [0, 3]
    init, upd = bools(run, run.initial_masks()), run.update(0)
    assert [layer.density for layer in run.layers] == pytest.approx([0.1, 0.1])
    assert run.config["density"] == pytest.approx(0.1)
    for name in removed:
        np.testing.assert_array_equal(bools(run, upd.pruned)[name], removed[name])
        np.testing.assert_array_equal(init[name], ~removed[name])
        np.testing.assert_array_equal(bools(run, upd.shadow["snip"])[name], removed[name])
        assert bools(run, upd.shadow["magnitude"])[name].sum() == removed[name].sum()


def test_analyses_keep_pruning_runs_apart(study):
    """fwa accuracy: imp and pai runs are series of their own; the report's figures never select them."""
    from fwanalysis.artifacts import find_runs
    from fwanalysis.figures import FIGURES, select_for

    out, _ = study
    labels = {row["criterion"]: row["density"] for row in jdoc("accuracy", out)["rows"]}
    assert labels == pytest.approx({"magnitude": 0.5, "imp-magnitude": 0.1, "pai-snip": 0.1})
    runs = find_runs(out)
    anything = dataclasses.replace(next(iter(FIGURES.values())), sweeps=(), setups=None)
    assert [(r.config["method"], r.kind) for r in select_for(anything, runs)] == [("dst", "dst")]


def test_layers_and_masks_the_recorder_does_not_record(tmp_path):
    """layers= picks the layers; by default a mask on a layer not recorded fails the run, naming it."""
    model = net()
    with Recorder(model, tmp_path, layers=["2.weight"], method="imp", run_id="one") as rec:
        prune.l1_unstructured(model[0], "weight", amount=0.5)  # not recorded: layers= said so
        prune.l1_unstructured(model[2], "weight", amount=0.5)
        assert rec.step(1)
    run = load_run(tmp_path / "one")
    assert run.layer_names == ["2.weight"] and run.config["density"] == pytest.approx(0.5)
    model = net()
    with pytest.raises(ValueError, match=r"the loop pruned \['0.bias'\].*pass layers="):
        with Recorder(model, tmp_path, method="imp", run_id="bias") as rec:
            prune.l1_unstructured(model[0], "bias", amount=0.5)
            prune.l1_unstructured(model[0], "weight", amount=0.5)
            rec.step(1)
    assert load_run(tmp_path / "bias").status == "failed"
    with pytest.raises(ValueError, match=r"layers name parameters the model does not have: \['nope'\]"):
        Recorder(net(), tmp_path, layers=["nope"], method="imp")


def test_prune_remove_keeps_the_last_mask(tmp_path):
    """prune.remove makes the pruning permanent: the layer keeps its last mask, no update is recorded."""
    model = net()
    with Recorder(model, tmp_path, method="imp", run_id="removed") as rec:
        prune.l1_unstructured(model[0], "weight", amount=0.5)
        assert rec.step(1)
        prune.remove(model[0], "weight")
        assert not rec.step(2)
    run = load_run(tmp_path / "removed")
    assert run.update_steps == [1] and run.total_steps == 2
    assert bools(run, run.final_masks())["0.weight"].sum() == 40


def test_the_trainer_trains_only_its_own_methods():
    """imp and pai are recorded from loops of one's own; fw-train refuses them (a guard: it did before too)."""
    from trainer.config import ConfigError, TrainConfig, check

    with pytest.raises(ConfigError, match="'imp' is not one of: dense, static, dst"):
        check(TrainConfig(method="imp"))


def test_readme_imp_example_runs(tmp_path, monkeypatch):
    """README's dense-start (IMP) program writes a valid imp run pruned to 10 % in four rounds."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"<!-- record-example-imp -->\s*```python\n(.*?)```", readme, re.S)
    assert len(found) == 1, "README.md must hold exactly one example marked record-example-imp"
    monkeypatch.chdir(tmp_path)
    exec(compile(found[0], "README.md:record-example-imp", "exec"), {"__name__": "__readme__"})
    assert len(jdoc("validate", "artifacts/imp")["valid"]) == 1
    run = load_run(next(Path("artifacts/imp").glob("*/run.json")).parent)
    assert (run.config["method"], run.config["pruning_loop"], run.kind) == ("dst", "imp", "imp")
    assert run.update_steps == [50, 100, 150, 200]
    assert all(m.all() for m in bools(run, run.initial_masks()).values())
    final = bools(run, run.final_masks())
    assert sum(int(m.sum()) for m in final.values()) == 740 and run.config["density"] == pytest.approx(0.1)
    density = run.metrics().query("split == '' and name == 'density'").value.tolist()
    assert density == pytest.approx([4161 / 7400, 2340 / 7400, 1316 / 7400, 0.1])
