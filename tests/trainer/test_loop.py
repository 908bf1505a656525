"""End-to-end invariants of what the trainer writes (issue 2, "Done when")."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fwanalysis.artifacts import CRITERIA, load_run, pack, popcount, unpack
from trainer.config import TrainConfig
from trainer.loop import topology_generator, train
from trainer.sparsity.criteria import select_prune

FAST = dict(model="mlp-small", dataset="digits", epochs=3, update_period=4, batch_size=64, density=0.2)


def _bool(packed, numel):
    return unpack(packed, numel)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run per scope/growth combination, recording everything."""
    out = tmp_path_factory.mktemp("study")
    paths = {}
    for name, extra in {
        "local-random": dict(criterion="snip", growth="random"),
        "local-gradient": dict(criterion="set", growth="gradient"),
        "global-random": dict(criterion="magnitude", growth="random", pruning_scope="global"),
        "mest": dict(criterion="mest", growth="random", mest_lambda=0.5),
    }.items():
        paths[name] = train(TrainConfig(**FAST, **extra), out=out, state="all", mask_every=2, progress=False)
    return {k: load_run(p) for k, p in paths.items()}


@pytest.mark.parametrize("name", ["local-random", "local-gradient", "global-random", "mest"])
def test_update_sets_are_consistent(runs, name):
    run = runs[name]
    assert run.status == "complete" and run.validate() == []
    assert len(run.update_steps) >= 5
    assert run.shadow_criteria == list(CRITERIA)
    masks = {n: _bool(m, run.numel[n]) for n, m in run.initial_masks().items()}
    snapshots = set(run.mask_steps)
    for step in run.update_steps:
        upd = run.update(step)
        for n in run.layer_names:
            before = masks[n]
            pruned, grown = _bool(upd.pruned[n], run.numel[n]), _bool(upd.grown[n], run.numel[n])
            kept = before & ~pruned
            assert not (pruned & ~before).any(), "pruned must be a subset of the active weights"
            assert not (grown & kept).any(), "grown must be disjoint from the kept weights"
            if run.config["pruning_scope"] == "local":
                assert pruned.sum() == grown.sum()
            # the run's own shadow set equals its pruned set; every shadow set has the same per-layer count
            # (but set-legacy, which removes its own number)
            np.testing.assert_array_equal(upd.shadow[run.criterion][n], upd.pruned[n])
            for c in CRITERIA:
                if c != "set-legacy":
                    assert popcount(upd.shadow[c][n]) == pruned.sum()
                assert not (_bool(upd.shadow[c][n], run.numel[n]) & ~before).any()
            masks[n] = kept | grown
        if step in snapshots:  # replaying the updates gives every later snapshot
            snap = run.masks(step)
            for n in run.layer_names:
                np.testing.assert_array_equal(pack(masks[n]), snap[n])
    final = run.final_masks()
    for n in run.layer_names:
        np.testing.assert_array_equal(pack(masks[n]), final[n])
    total = sum(run.numel.values())
    # density is preserved by every update
    assert sum(m.sum() for m in masks.values()) == sum(popcount(m) for m in run.initial_masks().values())
    assert 0 < sum(m.sum() for m in masks.values()) / total < 0.3


@pytest.mark.parametrize("name", ["local-random", "mest"])
def test_shadow_sets_recomputed_from_state(runs, name):
    """The sets recomputed from the --state dump equal the recorded shadow sets, for every criterion."""
    run = runs[name]
    lam = run.config["criterion_params"]["mest_lambda"]
    for step in run.state_steps[:3]:
        st = run.state(step)
        upd = run.update(step)
        weights = {n: torch.from_numpy(st.weight[n]) for n in run.layer_names}
        grads = {n: torch.from_numpy(st.grad[n]) for n in run.layer_names}
        masks = {
            n: torch.from_numpy(unpack(st.mask[n], run.numel[n], run.layers[i].shape))
            for i, n in enumerate(run.layer_names)
        }
        counts = {n: popcount(upd.pruned[n]) for n in run.layer_names}
        for c in CRITERIA:
            again = select_prune(
                c, weights, grads, masks, counts, generator=topology_generator(run.seed, step, c), mest_lambda=lam
            )
            for n in run.layer_names:
                np.testing.assert_array_equal(pack(again[n].numpy()), upd.shadow[c][n], err_msg=f"{c} {n} step {step}")


def test_metrics_recorded(runs):
    df = runs["local-random"].metrics()
    have = set(zip(df["split"], df["name"]))
    assert {
        ("train", "loss"),
        ("train", "acc"),
        ("val", "loss"),
        ("val", "acc"),
        ("test", "loss"),
        ("test", "acc"),
        ("", "prune_fraction"),
        ("", "density"),
        ("", "itop"),
    } <= have
    assert (df[(df["split"] == "val") & (df["name"] == "acc")]["epoch"].tolist()) == [1.0, 2.0, 3.0]
    pf = df[df["name"] == "prune_fraction"]["value"].to_numpy()
    assert pf[0] > pf[-1] and np.all(np.diff(pf) <= 1e-12), "cosine decay"
    summary = runs["local-random"].summary
    assert 0.3 < summary["test_acc"] <= 1.0 and summary["itop"] > 0.2


@pytest.mark.parametrize("order", ["step-first", "sparselearning"])
def test_same_seed_identical_until_first_update(tmp_path, order):
    """Every criterion sees bit-identical weights, gradients and mask at the first update (with the
    sparselearning order: every criterion scored on the same side of the optimizer step)."""
    states = {}
    for c in ("magnitude", "snip", "random", "mest", "set-legacy"):
        run = load_run(
            train(
                TrainConfig(**FAST, criterion=c, update_order=order),
                out=tmp_path,
                state="first",
                shadow="none",
                progress=False,
            )
        )
        states[c] = run.state(run.state_steps[0])
        assert run.state_steps == [run.update_steps[0]]
    groups = [list(states)] if order == "step-first" else [["magnitude", "random", "set-legacy"], ["snip", "mest"]]
    for group in groups:
        ref = states[group[0]]
        for c in group:
            st = states[c]
            for n in ref.weight:
                assert np.array_equal(st.weight[n], ref.weight[n]) and np.array_equal(st.grad[n], ref.grad[n])
                assert np.array_equal(st.mask[n], ref.mask[n])
    if order == "sparselearning":  # the same gradient, but snip scores the weights of before the step
        n = next(iter(states["snip"].weight))
        assert np.array_equal(states["snip"].grad[n], states["magnitude"].grad[n])
        assert not np.array_equal(states["snip"].weight[n], states["magnitude"].weight[n])


def test_dense_and_static_runs(tmp_path):
    dense = load_run(
        train(TrainConfig(**dict(FAST, density=1.0), method="dense", criterion=None), out=tmp_path, progress=False)
    )
    assert dense.config["criterion"] is None and dense.config["density"] == 1.0 and dense.update_steps == []
    assert all(layer.density == 1.0 for layer in dense.layers)
    static = load_run(train(TrainConfig(**FAST, method="static", criterion=None), out=tmp_path, progress=False))
    assert static.update_steps == [] and static.mask_steps == [0, static.total_steps]
    for n in static.layer_names:
        np.testing.assert_array_equal(static.masks(0)[n], static.final_masks()[n])
