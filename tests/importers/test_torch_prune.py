"""fwa import torch-prune on checkpoints of small models pruned with torch.nn.utils.prune: the updates are the
mask changes, and the Jaccard indices equal those computed by hand from the checkpoints' masks."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from clilib import fwa, jdoc  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils import prune  # noqa: E402

from fwanalysis.artifacts import load_run  # noqa: E402

STEPS = (0, 100, 200)


def model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))


def masked(m) -> dict:
    return {
        "0.weight": m[0].weight_mask.numpy().astype(bool).copy(),
        "2.weight": m[2].weight_mask.numpy().astype(bool).copy(),
    }


def l1_run(d, seed=0):
    """Dense at step 0, then l1_unstructured twice (PyTorch combines the masks): no growth."""
    m = model(seed)
    torch.save(m.state_dict(), d / "ckpt-0.pt")  # before pruning: plain weights, no masks
    masks = {}
    for step in STEPS[1:]:
        for i in (0, 2):
            prune.l1_unstructured(m[i], "weight", amount=0.3)
        torch.save(m.state_dict(), d / f"ckpt-{step}.pt")
        masks[step] = masked(m)
    return {0: {"0.weight": np.ones((4, 1, 3, 3), bool), "2.weight": np.ones((10, 144), bool)}, **masks}


def custom_run(d, seed=0):
    """Random masks from custom_from_mask, then a DST-like change written into the mask buffers (prune and regrow)."""
    rng = np.random.default_rng(seed + 10)
    m = model(seed)
    for i in (0, 2):
        shape = tuple(m[i].weight.shape)
        prune.custom_from_mask(m[i], "weight", torch.from_numpy(rng.random(shape) < 0.5))
    torch.save(m.state_dict(), d / "ckpt-0.pt")
    masks = {0: masked(m)}
    for step in STEPS[1:]:
        with torch.no_grad():
            for i in (0, 2):
                mk = m[i].weight_mask.numpy().astype(bool).ravel()
                on, off = np.flatnonzero(mk), np.flatnonzero(~mk)
                k = len(on) // 4
                mk[rng.choice(on, k, replace=False)] = False
                mk[rng.choice(off, k, replace=False)] = True
                m[i].weight_mask.copy_(torch.from_numpy(mk.reshape(m[i].weight.shape).astype(np.float32)))
        # a training checkpoint: the state_dict under "state_dict", beside other things
        torch.save({"state_dict": m.state_dict(), "epoch": step // 50}, d / f"step_{step:06d}.pth")
        masks[step] = masked(m)
    return masks


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("tp")
    out = root / "study"
    truth = {}
    for crit, make in (("magnitude", l1_run), ("random", custom_run)):
        src = root / crit
        src.mkdir()
        truth[crit] = make(src)
        files = sorted(src.iterdir())
        r = fwa(
            "import",
            "torch-prune",
            *files,
            "--out",
            out,
            "--set",
            f"criterion={crit}",
            "model=tiny",
            "seed=0",
            "density=0.5",
        )
        assert r.exit_code == 0, r.output
    return out, truth


def test_valid_with_updates_from_mask_changes(study):
    out, truth = study
    assert fwa("validate", out).exit_code == 0
    runs = {load_run(p.parent).criterion: load_run(p.parent) for p in out.rglob("run.json")}
    for crit, run in runs.items():
        assert run.mask_steps == list(STEPS) and run.update_steps == list(STEPS[1:])
        assert [layer.name for layer in run.layers] == ["0.weight", "2.weight"]
        for prev, step in zip(STEPS, STEPS[1:]):
            upd = run.update(step)
            for n, before in truth[crit][prev].items():
                after = truth[crit][step][n]
                np.testing.assert_array_equal(
                    np.unpackbits(upd.pruned[n], count=before.size).astype(bool), (before & ~after).ravel()
                )
                np.testing.assert_array_equal(
                    np.unpackbits(upd.grown[n], count=before.size).astype(bool), (after & ~before).ravel()
                )
    assert not any(runs["magnitude"].update(s).grown["2.weight"].any() for s in STEPS[1:])  # pruning only
    assert runs["random"].update(100).grown["2.weight"].any()


def test_jaccard_first_and_end_match_hand(study, jaccard_by_hand):
    out, truth = study
    removed = {c: {n: truth[c][0][n] & ~truth[c][100][n] for n in truth[c][0]} for c in truth}
    doc = jdoc("jaccard", "--at", "first", out)
    assert doc["criteria"] == ["magnitude", "random"]
    assert doc["mean"][0][1] == pytest.approx(jaccard_by_hand(removed["magnitude"], removed["random"]), abs=1e-12)
    doc = jdoc("jaccard", "--at", "end", out)
    i, j = doc["criteria"].index("magnitude"), doc["criteria"].index("random")
    assert doc["mean"][i][j] == pytest.approx(jaccard_by_hand(truth["magnitude"][200], truth["random"][200]), abs=1e-12)


def test_steps_option_and_names_without_numbers(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    l1_run(src)
    named = []
    for letter, step in zip("abc", STEPS):
        (src / f"ckpt-{step}.pt").rename(src / f"{letter}.pt")
        named.append(src / f"{letter}.pt")
    r = fwa("import", "torch-prune", *named, "--out", tmp_path / "s", "--set", "criterion=magnitude")
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "--steps" in r.stderr
    r = fwa(
        "import",
        "torch-prune",
        *named,
        "--out",
        tmp_path / "s",
        "--steps",
        "0,500,1000",
        "--set",
        "criterion=magnitude",
        "density=1.0",
    )
    assert r.exit_code == 0, r.output
    run = load_run(next((tmp_path / "s").rglob("run.json")).parent)
    assert run.update_steps == [500, 1000] and run.total_steps == 1000


def test_not_pruned_one_line(tmp_path):
    torch.save(model(0).state_dict(), tmp_path / "ckpt-0.pt")
    r = fwa("import", "torch-prune", tmp_path / "ckpt-0.pt", "--out", tmp_path / "s")
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "torch.nn.utils.prune" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_existing_run_refused_unless_overwrite(study):
    out, _ = study
    src = sorted(p for p in out.parent.joinpath("magnitude").iterdir())
    args = (
        "import",
        "torch-prune",
        *src,
        "--out",
        out,
        "--set",
        "criterion=magnitude",
        "model=tiny",
        "seed=0",
        "density=0.5",
    )
    r = fwa(*args)
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "--overwrite" in r.stderr
    assert fwa(*args, "--overwrite").exit_code == 0
