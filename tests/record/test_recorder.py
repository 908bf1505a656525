"""fwanalysis.record.Recorder: a plain PyTorch loop with torch.nn.utils.prune writes a valid run that
``fwa jaccard`` reads, and its numbers agree with numpy on the masks the loop itself used.

Cheap: a 8-16-3 MLP, 20 steps, 4 topology updates, two runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from clilib import jdoc  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils import prune  # noqa: E402

from fwanalysis.artifacts import load_run  # noqa: E402
from fwanalysis.artifacts.bitset import unpack  # noqa: E402
from fwanalysis.record import Recorder, shadow_sets  # noqa: E402
from fwanalysis.vocab import CRITERIA  # noqa: E402


def train(out, criterion: str, seed: int = 0, *, shadow="all"):
    """~30 lines of an ordinary DST loop: prune 30 % of each layer by |w| or |w·g| every 5 steps, regrow at random."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    layers = {"0.weight": model[0], "2.weight": model[2]}
    for lin in layers.values():  # the sparse initialisation: half of each layer
        prune.custom_from_mask(lin, "weight", torch.rand(lin.weight.shape, generator=gen) < 0.5)
    x, y = torch.randn(64, 8, generator=gen), torch.randint(0, 3, (64,), generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    removed = []  # what the loop pruned at each update, as numpy, for an independent check
    with Recorder(
        model,
        out,
        criterion=criterion,
        growth="random",
        dataset="toy",
        seed=seed,
        update_period=5,
        shadow=shadow,
        mask_every=2,
        steps_per_epoch=4,
        state="first",
    ) as rec:
        for step in range(1, 21):
            batch = slice(16 * (step % 4), 16 * (step % 4) + 16)
            opt.zero_grad()
            loss = F.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            opt.step()
            if step % 5 == 0:
                with rec.update(step):
                    sets = {}
                    for name, lin in layers.items():
                        m, w, g = lin.weight_mask.view(-1), lin.weight_orig.view(-1), lin.weight_orig.grad.view(-1)
                        score = w.abs() if criterion == "magnitude" else (w * g).abs()
                        active, free = m.nonzero().squeeze(1), (m == 0).nonzero().squeeze(1)
                        k = int(0.3 * active.numel())
                        drop = active[score[active].argsort(stable=True)[:k]]
                        grow = free[torch.randperm(free.numel(), generator=gen)[:k]]
                        with torch.no_grad():
                            m[drop], m[grow], w[grow] = 0.0, 1.0, 0.0
                        sets[name] = np.isin(np.arange(m.numel()), drop.numpy()).reshape(lin.weight.shape)
                    removed.append(sets)
            rec.step(step)
            rec.log(step, "train", "loss", loss)
        rec.log(20, "test", "acc", (model(x).argmax(1) == y).float().mean())
    final = {name: lin.weight_mask.bool().numpy() for name, lin in layers.items()}
    return rec, removed, final


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("recorded")
    return out, {c: train(out, c) for c in ("magnitude", "snip")}


def bools(run, packed: dict) -> dict:
    """A run's packed sets as boolean arrays of the layers' shapes."""
    return {layer.name: unpack(packed[layer.name], layer.numel, layer.shape) for layer in run.layers}


def layer_jaccard(a: dict, b: dict) -> float:
    """Layer-averaged Jaccard (paper Eq. 1), by numpy on boolean masks."""
    return float(np.mean([np.logical_and(a[n], b[n]).sum() / np.logical_or(a[n], b[n]).sum() for n in a]))


def test_recorded_run_is_valid_and_complete(study):
    out, runs = study
    assert sorted(jdoc("validate", out)["valid"]) == sorted(rec.run_id for rec, _, _ in runs.values())
    rec, removed, final = runs["magnitude"]
    run = load_run(rec.path)
    assert run.status == "complete" and run.total_steps == 20
    assert run.update_steps == [5, 10, 15, 20] and run.mask_steps == [0, 10, 20]  # mask_every=2 updates
    assert run.shadow_criteria == list(CRITERIA) and run.state_steps == [5]  # state="first"
    for name in run.layer_names:  # the state before the first update holds the initial mask
        np.testing.assert_array_equal(run.state(5).mask[name], run.initial_masks()[name])
    assert run.config["criterion"] == "magnitude" and run.config["dataset"] == "toy"
    assert run.config["density"] == pytest.approx(
        sum(m.sum() for m in bools(run, run.initial_masks()).values()) / (16 * 8 + 3 * 16)
    )
    for name in run.layer_names:
        np.testing.assert_array_equal(bools(run, run.final_masks())[name], final[name])
        for step, sets in zip(run.update_steps, removed):
            upd = run.update(step)
            np.testing.assert_array_equal(bools(run, upd.pruned)[name], sets[name])
            np.testing.assert_array_equal(
                bools(run, upd.shadow["magnitude"])[name], sets[name]
            )  # own criterion = pruned
            for c in CRITERIA:
                if c != "set-legacy":  # which removes its own count
                    assert bools(run, upd.shadow[c])[name].sum() == sets[name].sum()
    metrics = run.metrics()
    assert run.summary["test_acc"] is not None and run.summary["itop"] == pytest.approx(
        metrics.query("name == 'itop'").value.iloc[-1]
    )
    assert set(metrics.query("split == ''").name) == {"prune_fraction", "density", "itop"}


def test_shadow_sets_match_the_other_run(study):
    """The snip run's shadow/magnitude set at its first update is what the magnitude run removed (same seed, same
    state)."""
    _, runs = study
    snip, mag = load_run(runs["snip"][0].path), load_run(runs["magnitude"][0].path)
    snip_would, mag_would = bools(snip, snip.update(5).shadow["magnitude"]), bools(mag, mag.update(5).shadow["snip"])
    for name in runs["snip"][1][0]:
        np.testing.assert_array_equal(snip_would[name], runs["magnitude"][1][0][name])
        np.testing.assert_array_equal(mag_would[name], runs["snip"][1][0][name])


def test_fwa_jaccard_agrees_with_numpy(study):
    out, runs = study
    got = jdoc("jaccard", out, "--at", "first")
    i, j = got["criteria"].index("magnitude"), got["criteria"].index("snip")
    want = layer_jaccard(runs["magnitude"][1][0], runs["snip"][1][0])
    assert 0 < want < 1
    assert got["mean"][i][j] == pytest.approx(want) and got["mean"][j][i] == pytest.approx(want)


@pytest.mark.parametrize("seed", range(4))
def test_shadow_sets_choose_what_the_trainer_chooses(seed):
    """The Recorder's shadow sets (numpy in, numpy out) are the trainer's choices on the same weights, gradients,
    masks and counts: ties and zeros, float16 and float64 weights, a transposed (non-contiguous) layer, and random
    drawn by the trainer's generator of (seed, step, criterion)."""
    from trainer.loop import topology_generator
    from trainer.sparsity.criteria import select_prune

    rng = np.random.default_rng(seed)
    shapes = {"a": (6, 7), "b": (5,), "c": (4, 3)}
    dtypes = {"a": np.float32, "b": np.float16, "c": np.float64}
    w = {n: (rng.integers(-3, 4, s) * 0.5).astype(dtypes[n]) for n, s in shapes.items()}  # many ties, zeros
    g = {n: (rng.integers(-2, 3, s) * 0.25).astype(dtypes[n]) for n, s in shapes.items()}
    m = {n: rng.random(s) < 0.7 for n, s in shapes.items()}
    w["c"], g["c"], m["c"] = w["c"].T, g["c"].T, m["c"].T  # numpy views the Recorder converts
    counts = {n: int(rng.integers(0, m[n].sum() + 1)) for n in shapes}
    ours = shadow_sets(CRITERIA, w, g, m, counts, mest_lambda=0.5, seed=seed, step=7)
    t = lambda d: {n: torch.tensor(np.array(v)) for n, v in d.items()}  # noqa: E731
    for c in CRITERIA:
        gen = topology_generator(seed, 7, c)
        theirs = select_prune(c, t(w), t(g), t(m), counts, generator=gen, mest_lambda=0.5)
        for n in shapes:
            assert ours[c][n].dtype == bool and ours[c][n].shape == m[n].shape
            np.testing.assert_array_equal(ours[c][n], theirs[n].numpy(), err_msg=f"{c} {n}")
    assert all(ours["random"][n].sum() == counts[n] and not (ours["random"][n] & ~m[n]).any() for n in shapes)
    with pytest.raises(ValueError, match="needs the gradient of layer 'a'"):
        shadow_sets(["snip"], w, {**g, "a": None}, m, counts)


def test_recorded_shadow_sets_are_the_trainers_choice_from_the_recorded_state(study):
    """End to end: at the update whose state the Recorder dumped, every recorded shadow set is what the trainer's
    selection rules choose from that state (weights, gradients, mask), with the run's per-layer counts and, for
    random, the trainer's generator of (seed, step, criterion)."""
    from trainer.loop import topology_generator
    from trainer.sparsity.criteria import select_prune

    _, runs = study
    run = load_run(runs["snip"][0].path)
    step = run.state_steps[0]
    state, upd = run.state(step), run.update(step)
    pruned = bools(run, upd.pruned)
    t = lambda d: {n: torch.from_numpy(np.array(d[n])) for n in run.layer_names}  # noqa: E731
    counts = {n: int(pruned[n].sum()) for n in run.layer_names}
    for c in CRITERIA:
        gen = topology_generator(run.config["seed"], step, c)
        want = select_prune(c, t(state.weight), t(state.grad), t(bools(run, state.mask)), counts, generator=gen)
        got = bools(run, upd.shadow[c])
        for n in run.layer_names:
            np.testing.assert_array_equal(got[n], want[n].numpy(), err_msg=f"{c} {n}")


def test_dict_masks_and_failure(tmp_path):
    """Masks given as a dict of bool tensors; a change without before_update under shadow= fails the run."""
    model = nn.Linear(4, 4)
    masks = {"weight": torch.ones(4, 4, dtype=torch.bool)}
    with Recorder(model, tmp_path, masks=masks, method="dst", criterion="my-rule", run_id="dict") as rec:
        masks["weight"][0, :2] = False
        assert rec.step(3) and not rec.step(4)
    run = load_run(tmp_path / "dict")
    assert run.validate() == [] and run.update_steps == [3] and run.total_steps == 4
    np.testing.assert_array_equal(bools(run, run.update(3).pruned)["weight"], ~masks["weight"].numpy())
    with pytest.raises(ValueError, match="before_update"):
        with Recorder(model, tmp_path, masks=masks, criterion="magnitude", shadow="magnitude", run_id="bad") as rec:
            masks["weight"][1, 0] = False
            rec.step(1)
    assert load_run(tmp_path / "bad").status == "failed"
    with pytest.raises(ValueError, match="criterion="):
        Recorder(model, tmp_path, masks=masks)


def test_readme_example_runs(tmp_path, monkeypatch):
    """README's "Recording a run from your own training loop" program writes a run fwa validates and compares over
    time."""
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"<!-- record-example -->\s*```python\n(.*?)```", readme, re.S)
    assert len(found) == 1, "README.md must hold exactly one example marked record-example"
    monkeypatch.chdir(tmp_path)
    exec(compile(found[0], "README.md:record-example", "exec"), {"__name__": "__readme__"})
    assert len(jdoc("validate", "artifacts/mine")["valid"]) == 1
    rows = jdoc("jaccard", "--at", "time", "artifacts/mine")["rows"]
    assert sorted({row["step"] for row in rows}) == [50, 100, 150, 200]
    run = load_run(next(Path("artifacts/mine").glob("*/run.json")).parent)
    assert {row["other"] for row in rows} == set(CRITERIA) - {"magnitude"}
    for row in rows:  # each figure is the layer-averaged Jaccard of the update file's sets, by numpy
        upd = run.update(row["step"])
        assert row["jaccard"] == pytest.approx(
            layer_jaccard(bools(run, upd.pruned), bools(run, upd.shadow[row["other"]]))
        )
