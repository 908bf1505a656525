"""The trainer's reproduction options: set-legacy, update_order, global_regrowth, update_batch_size, augment,
DST at density 1 (measured once) and the dense dropout baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fwanalysis.artifacts import CRITERIA, load_run, popcount, unpack
from fwanalysis.artifacts.schema import UPDATE_ORDERS
from trainer import config as cfgmod
from trainer.augment import augment_batch
from trainer.config import ConfigError, TrainConfig
from trainer.loop import check_args, train
from trainer.models import MODELS
from trainer.sparsity import prune_fraction

FAST = dict(model="mlp-small", dataset="digits", epochs=3, update_period=4, batch_size=64, density=0.2)


def _train(tmp_path, **kw):
    state = kw.pop("state", "none")
    shadow = kw.pop("shadow", "all")
    return load_run(train(TrainConfig(**{**FAST, **kw}), out=tmp_path, state=state, shadow=shadow, progress=False))


def _sets(run, step, n):
    upd = run.update(step)
    return unpack(upd.pruned[n], run.numel[n]), unpack(upd.grown[n], run.numel[n]), upd


# -- set-legacy -------------------------------------------------------------------------------------


def test_set_legacy_run_regrows_what_it_removed_and_shadows_keep_the_asked_count(tmp_path):
    run = _train(tmp_path, criterion="set-legacy", update_order="step-first")
    assert run.config["criterion"] == "set-legacy" and run.validate() == []
    masks = {n: unpack(m, run.numel[n]) for n, m in run.initial_masks().items()}
    rho = dict(zip(*[run.metrics().query("name == 'prune_fraction'")[k].tolist() for k in ("step", "value")]))
    more = 0
    for step in run.update_steps:
        for n in run.layer_names:
            pruned, grown, upd = _sets(run, step, n)
            asked = math.ceil(rho[step] * int(masks[n].sum()))  # prune_rounding ceil, the default
            assert pruned.sum() == grown.sum()  # regrows as many as it removed (the authors' num_remove)
            more += int(pruned.sum() > asked)
            for c in CRITERIA:
                if c not in ("set-legacy",):
                    assert popcount(upd.shadow[c][n]) == asked  # the other criteria: the count rho_t asks for
            masks[n] = (masks[n] & ~pruned) | grown
    assert more > 0  # it removed more than asked somewhere (about half of each layer)


# -- update_order -----------------------------------------------------------------------------------


def test_sparselearning_scores_gradient_criteria_before_the_step(tmp_path):
    """snip (sparselearning) at step 4 scores the weights after 3 steps: those a magnitude run scores at step 3."""
    snip = _train(tmp_path, criterion="snip", state="first", shadow="none")
    mag = _train(tmp_path, criterion="magnitude", update_period=3, state="first", shadow="none")
    assert snip.state_steps == [4] and mag.state_steps == [3]
    a, b = snip.state(4), mag.state(3)
    for n in a.weight:
        assert np.array_equal(a.weight[n], b.weight[n])
        assert not np.array_equal(a.grad[n], b.grad[n])
    step_first = _train(tmp_path, criterion="snip", update_order="step-first", state="first", shadow="none")
    n = next(iter(a.weight))
    assert not np.array_equal(step_first.state(4).weight[n], a.weight[n])


def test_sparselearning_keeps_momentum_of_regrown_weights(tmp_path):
    """The same first update under both orders (magnitude scores after the step in both); afterwards the
    authors' momentum (dense gradients, never reset) moves regrown weights differently."""
    runs = {
        o: _train(tmp_path, criterion="magnitude", update_order=o, state="all", shadow="none") for o in UPDATE_ORDERS
    }
    a, b = (runs[o] for o in UPDATE_ORDERS)
    assert a.config["update_order"] == "sparselearning" and b.config["update_order"] == "step-first"
    first, second = a.state_steps[0], a.state_steps[1]
    for n in a.layer_names:
        np.testing.assert_array_equal(a.state(first).weight[n], b.state(first).weight[n])
        np.testing.assert_array_equal(a.update(first).pruned[n], b.update(first).pruned[n])
    assert any(not np.array_equal(a.state(second).weight[n], b.state(second).weight[n]) for n in a.layer_names)


# -- global_regrowth --------------------------------------------------------------------------------


@pytest.mark.parametrize("regrowth", ["per-layer", "across-layers"])
def test_global_regrowth(tmp_path, regrowth):
    run = _train(tmp_path, criterion="magnitude", pruning_scope="global", global_regrowth=regrowth, shadow="none")
    assert run.config["global_regrowth"] == regrowth
    same = [
        bool(_sets(run, s, n)[0].sum() == _sets(run, s, n)[1].sum()) for s in run.update_steps for n in run.layer_names
    ]
    assert all(same) if regrowth == "per-layer" else not all(same)


def test_global_regrowth_defaults_and_refusals(tmp_path):
    assert (
        _train(tmp_path, criterion="magnitude", pruning_scope="global", epochs=1, shadow="none").config[
            "global_regrowth"
        ]
        == "across-layers"
    )
    assert _train(tmp_path, criterion="magnitude", epochs=1, shadow="none").config["global_regrowth"] is None
    with pytest.raises(ConfigError, match="--global-regrowth 'per-layer' applies only with --pruning-scope global"):
        check_args(TrainConfig(global_regrowth="per-layer"))
    with pytest.raises(ConfigError, match="--global-regrowth 'x' is not one of"):
        check_args(TrainConfig(pruning_scope="global", global_regrowth="x"))
    with pytest.raises(ConfigError, match="--update-order 'after' is not one of: sparselearning, step-first"):
        check_args(TrainConfig(update_order="after"))


# -- update_batch_size ------------------------------------------------------------------------------


def test_update_batch_size(tmp_path):
    base = _train(tmp_path, criterion="magnitude", state="first", shadow="none")
    same = _train(tmp_path, criterion="magnitude", update_batch_size=64, state="first", shadow="none")
    big = _train(tmp_path, criterion="magnitude", update_batch_size=512, state="first", shadow="none")
    assert big.config["update_batch_size"] == 512 and base.config["update_batch_size"] is None
    step = base.state_steps[0]
    s0, s1, s2 = base.state(step), same.state(step), big.state(step)
    for n in s0.weight:  # training is untouched; only the scoring gradient changes
        np.testing.assert_array_equal(s0.weight[n], s2.weight[n])
        np.testing.assert_allclose(s0.grad[n], s1.grad[n], rtol=1e-5, atol=1e-7)
    assert any(not np.allclose(s0.grad[n], s2.grad[n]) for n in s0.grad)
    with pytest.raises(ConfigError, match="larger than the training split"):
        train(TrainConfig(**FAST, update_batch_size=100_000), out=tmp_path, progress=False)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ConfigError, match="--update-batch-size"):
            check_args(TrainConfig(update_batch_size=bad))


# -- augment ----------------------------------------------------------------------------------------


def test_augment_reflect_crop_flip_is_a_crop_of_the_padded_image():
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6)
    recipe = cfgmod.AUGMENT_RECIPES["cifar10"]
    a = augment_batch(x, recipe, generator=torch.Generator().manual_seed(1))
    b = augment_batch(x, recipe, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == x.shape
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
    for i in range(2):
        found = [
            (dy, dx, f)
            for dy in range(9)
            for dx in range(9)
            for f in (False, True)
            if torch.equal(a[i], (lambda c: c.flip(-1) if f else c)(padded[i, :, dy : dy + 6, dx : dx + 6]))
        ]
        assert found
    # draws: 2B offsets then B coins, from the generator only
    g = torch.Generator().manual_seed(1)
    off = torch.randint(0, 9, (2, 2), generator=g)
    coin = torch.rand(2, generator=g) < 0.5
    for i in range(2):
        crop = padded[i, :, off[i, 0] : off[i, 0] + 6, off[i, 1] : off[i, 1] + 6]
        assert torch.equal(a[i], crop.flip(-1) if coin[i] else crop)


def test_augment_digits_shifts_by_at_most_one_pixel_without_flips():
    x = torch.arange(64.0).reshape(1, 1, 8, 8).repeat(200, 1, 1, 1)
    black = torch.tensor([-5.0])
    out = augment_batch(x, cfgmod.AUGMENT_RECIPES["digits"], generator=torch.Generator().manual_seed(1), black=black)
    seen = set()
    for img in out[:, 0]:
        matches = [
            (dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if torch.equal(img, shift(x[0, 0], dr, dc, fill=-5.0))
        ]
        assert len(matches) == 1  # a shift by at most one pixel, background shifted in, never a mirror image
        seen.add(matches[0])
    assert len(seen) == 9  # every shift of the 3 x 3 occurs, and the image is never mirrored


def shift(img: torch.Tensor, dr: int, dc: int, *, fill: float) -> torch.Tensor:
    """``img`` moved so that out[r, c] = img[r + dr, c + dc], ``fill`` where that falls outside."""
    out = torch.full_like(img, fill)
    h, w = img.shape
    for r in range(h):
        for c in range(w):
            if 0 <= r + dr < h and 0 <= c + dc < w:
                out[r, c] = img[r + dr, c + dc]
    return out


def test_augment_black_padding_and_flip_only():
    x = torch.ones(4, 3, 5, 5)
    black = torch.tensor([-1.0, -2.0, -3.0])
    out = augment_batch(x, cfgmod.AUGMENT_RECIPES["cifar100"], generator=torch.Generator().manual_seed(0), black=black)
    vals = set(out[:, 1].unique().tolist())
    assert vals <= {1.0, -2.0}
    out = augment_batch(
        x * torch.arange(5.0), cfgmod.AUGMENT_RECIPES["tinyimagenet"], generator=torch.Generator().manual_seed(0)
    )
    for i in range(4):
        assert torch.equal(out[i], x[i] * torch.arange(5.0)) or torch.equal(out[i], (x[i] * torch.arange(5.0)).flip(-1))


def test_augment_defaults_per_dataset_and_refusal(tmp_path):
    def resolved(dataset, augment=None):
        return cfgmod.resolve(
            TrainConfig(dataset=dataset, augment=augment), model_spec=MODELS["mlp-small"], steps_per_epoch=10
        ).augment

    assert [resolved(d) for d in ("cifar10", "cifar100", "tinyimagenet")] == [True, True, True]
    assert [resolved(d) for d in ("digits", "fashionmnist", "higgs")] == [False, False, False]
    assert resolved("cifar10", False) is False
    assert _train(tmp_path, criterion="magnitude", epochs=1, shadow="none").config["augment"] is False
    with pytest.raises(ConfigError, match="no augmentation recipe for 'mnist1d'"):
        check_args(TrainConfig(dataset="mnist1d", augment=True))
    shifted = _train(tmp_path / "aug", criterion="magnitude", epochs=1, shadow="none", augment=True)
    assert shifted.config["augment"] is True and shifted.validate() == []
    with pytest.raises(ConfigError, match="--augment 'yes' must be true or false"):
        check_args(TrainConfig(augment="yes"))


# -- DST at density 1: measured once ----------------------------------------------------------------


def test_dst_at_density_one_is_measured_once_and_trains_as_dense(tmp_path):
    once = _train(tmp_path, criterion="magnitude", density=1.0, state="first")
    assert once.config["method"] == "dst" and once.config["update_end"] == 4 and once.update_steps == [4]
    assert once.validate() == [] and once.shadow_criteria == list(CRITERIA)
    total = once.total_steps
    rho = prune_fraction("cosine", 4, rho=0.5, update_end=total)  # what a sparse run uses at that step
    for n in once.layer_names:
        pruned, grown, upd = _sets(once, 4, n)
        np.testing.assert_array_equal(pruned, grown)  # mask_after = (before & ~pruned) | grown = before
        assert pruned.sum() == math.ceil(rho * once.numel[n]) > 0  # prune_rounding ceil
        for c in CRITERIA:
            if c != "set-legacy":
                assert popcount(upd.shadow[c][n]) == pruned.sum()
        assert popcount(once.final_masks()[n]) == once.numel[n]
    dense = _train(tmp_path, method="dense", criterion=None, density=1.0)
    # weights and momentum untouched by the update: the same training as the dense run
    assert (
        once.summary["test_acc"] == dense.summary["test_acc"]
        and once.summary["test_loss"] == dense.summary["test_loss"]
    )


# -- dense + dropout baseline -----------------------------------------------------------------------


def test_dense_dropout_baseline(tmp_path):
    plain = _train(tmp_path, method="dense", criterion=None, density=1.0)
    drop = _train(tmp_path, method="dense", criterion=None, density=1.0, dropout=0.3)
    assert drop.status == "complete" and drop.validate() == [] and drop.config["dropout"] == 0.3
    assert drop.config["update_order"] is None and drop.update_steps == []
    assert drop.summary["train_loss"] != plain.summary["train_loss"]
    assert math.isfinite(drop.summary["test_acc"])
