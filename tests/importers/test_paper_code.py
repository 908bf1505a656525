"""fwa import paper-code on recordings built like the authors' code writes them (sparselearning/core.py,
data_handling/logger.py): the imported runs give the Jaccard indices computed by hand from the source masks."""

from __future__ import annotations

import math
import sys
from collections import defaultdict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from clilib import fwa, jdoc  # noqa: E402

from fwanalysis.artifacts import load_run  # noqa: E402

LAYERS = {"conv1.weight": (4, 3, 3, 3), "fc1.weight": (16, 36), "fc2.weight": (10, 16)}
PRUNERS = ("SNIPFixed", "MESTFixed", "ReciprocalSensitivityFixed", "magnitude", "SETFixed", "Random")
FWA = {
    "SNIPFixed": "snip",
    "MESTFixed": "mest",
    "ReciprocalSensitivityFixed": "rsensitivity",
    "magnitude": "magnitude",
    "SETFixed": "set",
    "Random": "random",
}
STEPS = (100, 200, 300)  # update_period 100, a recording at every update
SPE = 50  # batches per epoch


def _remove(rng, pname, w, g, active, k):
    """The k active weights a pruner removes (flat indices): lowest score, as in sparselearning/pruners.py."""
    idx = np.flatnonzero(active)
    score = {
        "SNIPFixed": np.abs(w * g),
        "MESTFixed": np.abs(w) + np.abs(g),
        "ReciprocalSensitivityFixed": np.abs(w) / (np.abs(g) + 1e-12),
        "magnitude": np.abs(w),
        "SETFixed": np.abs(w) + 0.5 * (w < 0),
        "Random": rng.random(w.size),
    }[pname].ravel()[idx]
    return idx[np.argsort(score, kind="stable")[:k]]


def write_author_run(d, *, seed=0, own="SNIPFixed", results=True):
    """A save_dir as the authors' code leaves it; returns {step: {"before": masks, fwa criterion: removed sets}}."""
    rng = np.random.default_rng(seed)
    mask = {n: rng.random(s) < 0.4 for n, s in LAYERS.items()}
    truth = {}
    for step in STEPS:
        w = {n: rng.normal(size=s) * mask[n] for n, s in LAYERS.items()}
        g = {n: rng.normal(size=s) for n, s in LAYERS.items()}
        removed = {p: {} for p in PRUNERS}
        other_masks = {p: {} for p in PRUNERS}
        for n in LAYERS:
            k = math.ceil(0.3 * mask[n].sum())
            for p in PRUNERS:
                r = np.zeros(mask[n].size, dtype=bool)
                r[_remove(rng, p, w[n], g[n], mask[n], k)] = True
                removed[p][n] = r.reshape(mask[n].shape)
                after = mask[n] & ~removed[p][n]
                # the authors' masks are float tensors (Random's pruning may hand back other dtypes: one bool here)
                other_masks[p][n] = (
                    torch.from_numpy(after) if p == "Random" else torch.from_numpy(after.astype(np.float32))
                )
        origs = {n: torch.from_numpy(mask[n].astype(np.float32)) for n in LAYERS}
        torch.save({"other_masks": other_masks, "origs": origs}, d / f"jaccard-in-time-{step}.th")
        truth[step] = {"before": {n: m.copy() for n, m in mask.items()}, **{FWA[p]: removed[p] for p in PRUNERS}}
        # the run's own pruning, then random growth among the inactive weights
        for n in LAYERS:
            kept = mask[n] & ~removed[own][n]
            free = np.flatnonzero(~kept)
            grow = rng.choice(free, size=int(removed[own][n].sum()), replace=False)
            new = kept.ravel().copy()
            new[grow] = True
            mask[n] = new.reshape(kept.shape)
    truth["final"] = {n: m.copy() for n, m in mask.items()}
    # trainer.py's model_last.pth: the state_dict, the optimizer's and the final masks (float tensors)
    torch.save(
        {
            "epoch": 3,
            "state_dict": {"fc2.bias": torch.zeros(10)},
            "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]},
            "masks": {n: torch.from_numpy(m.astype(np.float32)) for n, m in mask.items()},
        },
        d / "model_last.pth",
    )
    if results:
        data = defaultdict(list)
        for e in range(3):  # WandbLogger.log once per epoch, WandbLogger.log_no_step for the test figures
            for key, v in (
                ("val_loss", np.nan),
                ("val_acc", np.nan),
                ("train_loss", 2.0 - e / 2),
                ("train_acc", 40.0 + 10 * e),
                ("running_death_rate", 0.3 - 0.1 * e),
                ("conv1.weight", 0.4),
            ):
                data[key].append(v)
            data["step"].append(e)
        data["test_loss"].append(0.9)
        data["test_acc"].append(71.5)
        np.save(d / "results.npy", data)
    return truth


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Two seeds of a SNIP run imported with their metrics."""
    root = tmp_path_factory.mktemp("paper")
    study = root / "study"
    truths = {}
    for seed in (0, 1):
        src = root / f"save{seed}"
        src.mkdir()
        truths[seed] = write_author_run(src, seed=seed)
        r = fwa(
            "import",
            "paper-code",
            src,
            "--out",
            study,
            "--set",
            "criterion=snip",
            "model=cnn-small",
            "dataset=digits",
            "--set",
            f"seed={seed}",
            "--set",
            "update_period=100",
            "--set",
            "density=0.4",
            "--trust-pickle",
            "--steps-per-epoch",
            SPE,
        )
        assert r.exit_code == 0, r.output
    return study, truths


def test_valid_and_shaped_as_recorded(imported):
    study, truths = imported
    r = fwa("validate", study)
    assert r.exit_code == 0, r.output
    runs = {load_run(p.parent).seed: load_run(p.parent) for p in study.rglob("run.json")}
    assert sorted(runs) == [0, 1]
    run, truth = runs[0], truths[0]
    assert (
        run.config["criterion"] == "snip" and run.config["method"] == "dst" and run.config["pruning_scope"] == "local"
    )
    assert run.update_steps == list(STEPS)
    assert run.mask_steps == [0, 199, 299]  # the mask before each update; the first recording is the first update
    assert set(run.shadow_criteria) == set(FWA.values())
    for i, step in enumerate(STEPS):
        upd = run.update(step)
        before = {n: m.reshape(-1) for n, m in truth[step]["before"].items()}
        got_before = run.masks(run.mask_steps[i])
        for n in LAYERS:
            np.testing.assert_array_equal(np.unpackbits(got_before[n], count=before[n].size).astype(bool), before[n])
            np.testing.assert_array_equal(
                np.unpackbits(upd.pruned[n], count=before[n].size).astype(bool), truth[step]["snip"][n].ravel()
            )
            for c in FWA.values():
                np.testing.assert_array_equal(
                    np.unpackbits(upd.shadow[c][n], count=before[n].size).astype(bool), truth[step][c][n].ravel()
                )
            after = (before[n] & ~truth[step]["snip"][n].ravel()) | np.unpackbits(
                upd.grown[n], count=before[n].size
            ).astype(bool)
            if i + 1 < len(STEPS):  # the format's rebuild gives the next recording's mask
                np.testing.assert_array_equal(after, truth[STEPS[i + 1]]["before"][n].ravel())


def test_jaccard_first_update_matches_hand(imported, jaccard_by_hand):
    study, truths = imported
    doc = jdoc("jaccard", "--at", "first", study)
    crits = doc["criteria"]
    assert set(crits) == set(FWA.values())
    for i, a in enumerate(crits):
        for j, b in enumerate(crits):
            hand = np.mean([jaccard_by_hand(truths[s][STEPS[0]][a], truths[s][STEPS[0]][b]) for s in (0, 1)])
            assert doc["mean"][i][j] == pytest.approx(hand, abs=1e-12), (a, b)


def test_jaccard_over_time_matches_hand(imported, jaccard_by_hand):
    study, truths = imported
    doc = jdoc("jaccard", "--at", "time", study)
    rows = {(r["other"], r["step"]): r["jaccard"] for r in doc["rows"]}
    assert len(rows) == 5 * len(STEPS)
    for (other, step), got in rows.items():
        hand = np.mean([jaccard_by_hand(truths[s][step]["snip"], truths[s][step][other]) for s in (0, 1)])
        assert got == pytest.approx(hand, abs=1e-12)


def test_metrics_from_results_npy(imported):
    study, _ = imported
    run = next(load_run(p.parent) for p in study.rglob("run.json") if load_run(p.parent).seed == 0)
    m = run.metrics()
    acc = m[(m.split == "train") & (m.name == "acc")]
    assert acc.step.tolist() == [SPE, 2 * SPE, 3 * SPE] and acc.epoch.tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(acc.value, [0.4, 0.5, 0.6])  # percent -> fraction
    assert m[m.split == "val"].empty  # NaN: no validation split
    assert run.summary["test_acc"] == pytest.approx(0.715) and run.summary["train_loss"] == pytest.approx(1.0)


def test_pickle_untrusted_masks_only(tmp_path):
    src = tmp_path / "save"
    src.mkdir()
    write_author_run(src)
    r = fwa("import", "paper-code", src, "--out", tmp_path / "s", "--set", "criterion=magnitude")
    assert r.exit_code == 0, r.output
    assert "--trust-pickle" in r.stderr and len([line for line in r.stderr.splitlines() if "results.npy" in line]) == 1
    assert (
        len([line for line in r.stderr.splitlines() if line.startswith("note: SETFixed") and "k + 1" in line]) == 1
    )  # what SET_fixed means
    run = load_run(next((tmp_path / "s").rglob("run.json")).parent)
    assert run.metrics().empty and run.criterion == "magnitude"
    assert fwa("validate", tmp_path / "s").exit_code == 0


@pytest.mark.parametrize(
    "args, says",
    [
        ((), "--set criterion"),
        (("--set", "criterion=set-legacy"), "not among the recorded pruners"),
        (("--set", "criterion=snip", "--trust-pickle"), "--steps-per-epoch"),
    ],
)
def test_bad_input_one_line(tmp_path, args, says):
    src = tmp_path / "save"
    src.mkdir()
    write_author_run(src)
    r = fwa("import", "paper-code", src, "--out", tmp_path / "s", *args)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert r.exit_code == 1 and len(errors) == 1 and says in errors[0], r.output
    assert "Traceback" not in r.output


def test_same_run_twice_refused(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        write_author_run(d, results=False)
    r = fwa("import", "paper-code", a, b, "--out", tmp_path / "s", "--set", "criterion=snip")
    assert r.exit_code == 1 and "imported before" in r.stderr


def test_without_torch_one_line(tmp_path, monkeypatch):
    src = tmp_path / "save"
    src.mkdir()
    (src / "jaccard-in-time-100.th").write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    r = fwa("import", "paper-code", src, "--out", tmp_path / "s", "--set", "criterion=snip")
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "needs PyTorch" in r.stderr


def test_final_checkpoint_gives_last_growth_and_final_mask(tmp_path, jaccard_by_hand):
    truths = {}
    for seed in (0, 1):
        src = tmp_path / f"save{seed}"
        src.mkdir()
        truths[seed] = write_author_run(src, seed=seed, results=False)
        r = fwa(
            "import",
            "paper-code",
            src,
            "--out",
            tmp_path / "s",
            "--final",
            src / "model_last.pth",
            "--set",
            "criterion=snip",
            f"seed={seed}",
            "density=0.4",
            "update_period=100",
        )
        assert r.exit_code == 0, r.output
    assert fwa("validate", tmp_path / "s").exit_code == 0
    run = next(load_run(p.parent) for p in (tmp_path / "s").rglob("run.json") if load_run(p.parent).seed == 0)
    assert run.mask_steps == [0, 199, 299, 300]
    last, truth = run.update(STEPS[-1]), truths[0]
    for n in LAYERS:
        size = truth["final"][n].size
        kept = truth[STEPS[-1]]["before"][n].ravel() & ~truth[STEPS[-1]]["snip"][n].ravel()
        grown = np.unpackbits(last.grown[n], count=size).astype(bool)
        np.testing.assert_array_equal(kept | grown, truth["final"][n].ravel())
    doc = jdoc("jaccard", "--at", "end", tmp_path / "s")
    assert doc["criteria"] == ["snip", "init"]
    hand = np.mean([jaccard_by_hand(truths[s]["final"], truths[s][STEPS[0]]["before"]) for s in (0, 1)])
    assert doc["mean"][0][1] == pytest.approx(hand, abs=1e-12)
