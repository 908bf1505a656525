"""fwa import paper-code of first-update checkpoints, built as the authors' trainer.py saves them with
--manual_stop true (masks, masks_before, weights, grads, scores): `fwa jaccard --at first` on the imported
runs equals the Jaccard of the removed sets recomputed with numpy from the files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from clilib import fwa, jdoc  # noqa: E402

from fwanalysis.artifacts import find_runs  # noqa: E402

LAYERS = {"fc1.weight": (20, 12), "fc2.weight": (6, 20)}
SCORES = {
    "magnitude": lambda w, g: np.abs(w),
    "snip": lambda w, g: np.abs(w * g),
    "mest": lambda w, g: np.abs(w) + np.abs(g),
}


def write_checkpoints(d: Path, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """One --manual_stop checkpoint per criterion, all from the same state (the same seed); returns each
    criterion's removed sets (before & ~after) as the authors' code would have made them."""
    rng = np.random.default_rng(seed)
    before = {n: rng.random(s) < 0.5 for n, s in LAYERS.items()}
    weights = {n: (rng.normal(size=s) * before[n]).astype(np.float32) for n, s in LAYERS.items()}
    grads = {n: rng.normal(size=s).astype(np.float32) for n, s in LAYERS.items()}
    removed = {}
    for crit, score in SCORES.items():
        removed[crit], after = {}, {}
        for n in LAYERS:
            active = np.flatnonzero(before[n].ravel())
            k = math.ceil(0.5 * active.size)
            s = score(weights[n], grads[n]).ravel()[active]
            r = np.zeros(before[n].size, bool)
            r[active[np.argsort(s, kind="stable")[:k]]] = True
            removed[crit][n] = r.reshape(before[n].shape)
            after[n] = before[n] & ~removed[crit][n]
        t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float32))  # noqa: E731 - the authors' masks are floats
        torch.save(
            {
                "epoch": 250,
                "state_dict": {},
                "optimizer": {},
                "masks": {n: t(m) for n, m in after.items()},
                "masks_before": {n: t(m) for n, m in before.items()},
                "weights": {n: t(w) for n, w in weights.items()} | {"fc1.bias": t(np.zeros(20))},
                "grads": {n: t(g) for n, g in grads.items()} | {"fc1.bias": t(np.zeros(20))},
                "scores": {n: t(score(weights[n], grads[n])) for n in LAYERS},
            },
            d / f"{crit}-s{seed}.pth",
        )
    return removed


def jaccard(a: dict, b: dict) -> float:
    """Layer-averaged Jaccard (the paper's Eq. 1), by hand."""
    return float(np.mean([(a[n] & b[n]).sum() / (a[n] | b[n]).sum() for n in LAYERS]))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("first")
    truth = {}
    for seed in (0, 1):
        truth[seed] = write_checkpoints(root, seed)
        for crit in SCORES:
            r = fwa(
                "import",
                "paper-code",
                root / f"{crit}-s{seed}.pth",
                "--out",
                root / "study",
                "--set",
                f"criterion={crit}",
                f"seed={seed}",
                "model=mlp",
                "dataset=cifar10",
                "density=0.5",
                "update_period=100",
            )
            assert r.exit_code == 0, r.output
    return root / "study", truth


def test_jaccard_at_first_equals_numpy_on_the_files(study):
    path, truth = study
    doc = jdoc("jaccard", "--at", "first", path)
    crits = doc["criteria"]
    assert crits == ["magnitude", "mest", "snip"]
    for i, a in enumerate(crits):
        for j, b in enumerate(crits):
            hand = np.mean([jaccard(truth[s][a], truth[s][b]) for s in (0, 1)])
            assert doc["mean"][i][j] == pytest.approx(hand, abs=1e-12)
            assert doc["n"][i][j] == 2


def test_each_run_is_one_update_with_its_state(study):
    path, truth = study
    runs = find_runs(path)
    assert len(runs) == 6 and fwa("validate", path).exit_code == 0
    run = next(r for r in runs if r.criterion == "snip" and r.seed == 1)
    assert run.update_steps == [100] and run.mask_steps == [0, 100] and run.state_steps == [100]
    upd = run.update(100)
    for n in LAYERS:
        numel = run.numel[n]
        assert np.array_equal(np.unpackbits(upd.pruned[n], count=numel).astype(bool), truth[1]["snip"][n].ravel())
        assert not np.unpackbits(upd.grown[n], count=numel).any()
    state = run.state(100)
    assert state.weight["fc1.weight"].shape == LAYERS["fc1.weight"] and np.abs(state.grad["fc2.weight"]).sum() > 0
    assert run.manifest["imported_from"]["first_update"] is True


def test_a_checkpoint_that_grew_is_not_a_first_update(tmp_path):
    before = torch.zeros(4, 4)
    before[0] = 1
    after = before.clone()
    after[1, 1] = 1  # a weight that masks_before does not hold: growth ran
    torch.save({"masks": {"w": after}, "masks_before": {"w": before}}, tmp_path / "model_last.pth")
    r = fwa("import", "paper-code", tmp_path, "--out", tmp_path / "s", "--set", "criterion=magnitude")
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "growth ran" in r.stderr


def test_without_update_period_the_step_is_1_and_said(tmp_path):
    write_checkpoints(tmp_path, 0)
    r = fwa(
        "import",
        "paper-code",
        tmp_path / "snip-s0.pth",
        "--out",
        tmp_path / "s",
        "--set",
        "criterion=snip",
        "density=0.5",
    )
    assert r.exit_code == 0, r.output
    assert "update_period" in r.stderr
    (run,) = find_runs(tmp_path / "s")
    assert run.update_steps == [1]
