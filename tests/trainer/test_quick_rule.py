"""Every quick profile follows the scaling rule of docs/figures.md ("The quick study's scaling rule").

The rule is typed here from that page, not derived from the specs: the paper's reference regime (CIFAR-10, 100
epochs, batch 128, Δt 800: 35,200 steps, 44 updates) with every step count divided by 40, the data sets and
widths per role, densities {0.1, 0.2, 0.5}, three seeds for the accuracy study, and every value the paper
varies kept. Each expanded quick run is resolved as the trainer resolves it (steps per epoch from the real
loaders) and checked line by line. A second test checks the data the quick study trains on: no input that is
zero in every training sample the network sees.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from trainer import sweep  # noqa: E402
from trainer.config import AUGMENT_RECIPES, default_lr, resolve  # noqa: E402
from trainer.models import MODELS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").glob("*.toml"))

SCALE = 40  # every step count of the paper's regime ÷ 40
PAPER_T, PAPER_DT = 35_200, 800  # CIFAR-10, 100 epochs of 352 steps at batch 128; Δt
T0, DT0 = PAPER_T // SCALE, PAPER_DT // SCALE  # 880 steps, Δt 20
UPDATES = (39, 49)  # 44 ± 10 %
DATA = {
    "mlp-small": "mnist1d",
    "mlp-large": "mnist1d",
    "cnn-small": "digits",
    "lenet5-caffe": "digits",
    "resnet56": "digits",
    "vgg16": "digits",
}
WIDTH = {"mlp-small": 1.0, "mlp-large": 0.25, "cnn-small": 0.5, "lenet5-caffe": 0.5, "resnet56": 1.0, "vgg16": 1.0}
FIRST_UPDATE_ONLY = {"resnet56", "vgg16"}  # too costly for 880 steps: only in runs measured once
EPOCHS = {"mnist1d": 30, "digits": 98}  # T ≈ 880 at batch 128
DENSITIES = {0.1, 0.2, 0.5}
MIN_SEEDS = {"accuracy": 3, "update-batch": 1, "schedule": 1}  # else 2
# Quantities the rule scales (checked below one by one); every other config key takes the paper profile's values.
SCALED = {
    "model",
    "dataset",
    "epochs",
    "update_period",
    "update_end",
    "batch_size",
    "lr",
    "seed",
    "density",
    "width",
    "augment",
    "lr_milestones",
    "prune_linear_every",
    "update_batch_size",
}

PER_MODEL = {"weight_decay", "lr_gamma", "init", "nesterov", "momentum"}  # the paper's regime per model (App. A.2)


def quick_specs():
    return [p for p in SPECS if "quick" in sweep.load_spec(p).profiles]


@cache
def steps_per_epoch(dataset: str, batch_size: int) -> int:
    from trainer.data import load_dataset

    return math.ceil(len(load_dataset(dataset, seed=0).train[1]) / batch_size)


def resolved(run):
    spe = steps_per_epoch(run.cfg.dataset, run.cfg.batch_size)
    return resolve(run.cfg, model_spec=MODELS[run.cfg.model], steps_per_epoch=spe), spe


def values(runs, key) -> set:
    out = set()
    for r in runs:
        v = getattr(r.cfg, key)
        out.add(tuple(v) if isinstance(v, list) else v)
    return out


def test_some_specs_have_a_quick_profile():
    assert len(quick_specs()) >= 10


@pytest.mark.parametrize("path", quick_specs(), ids=lambda p: p.stem)
def test_quick_profile_follows_the_scaling_rule(path):
    spec = sweep.load_spec(path)
    quick = sweep.expand(spec, profile="quick")
    paper = sweep.expand(spec, profile="paper")
    paper_dts = {r.cfg.update_period for r in paper if r.cfg.method == "dst"}
    quick_dts = {r.cfg.update_period for r in quick if r.cfg.method == "dst"}

    # rule 2: everything the paper varies (criteria, growths, methods, λ, ρ, schedules, scopes, dropout) as it is
    keys = [
        f.name for f in dataclasses.fields(type(quick[0].cfg)) if f.name not in SCALED | PER_MODEL | {"extra", "device"}
    ]
    if all(r.shadow == "all" for r in quick):  # one run's shadow sets hold every criterion's choice on its state
        keys.remove("criterion")
    for key in keys:
        assert values(quick, key) == values(paper, key), f"{spec.name}: {key} differs from the paper profile"
    for model in {r.cfg.model for r in quick} & {r.cfg.model for r in paper}:  # the model's own regime
        for key in PER_MODEL:
            q, p = ([r for r in runs if r.cfg.model == model] for runs in (quick, paper))
            assert values(q, key) == values(p, key), f"{spec.name}: {model}'s {key} differs from the paper profile"

    # rule 1 for the studies of Δt: the paper's grid ÷ 40, rounded, at least 1
    if len(paper_dts) > 1:
        assert quick_dts == {max(1, round(dt / SCALE)) for dt in paper_dts}, spec.name

    for run in quick:
        c, spe = resolved(run)
        where = f"{spec.name}: {run.run_id}"
        assert c.dataset == DATA[c.model], f"{where}: {c.model} trains on {DATA[c.model]}"
        assert c.width == WIDTH[c.model], f"{where}: width {c.width}, the rule's {WIDTH[c.model]}"
        if c.dataset == "digits":
            assert c.augment is True and AUGMENT_RECIPES["digits"]["pad"] == 1, f"{where}: digits trains shifted"
        once = c.method == "dst" and c.update_end == c.update_period
        if once:  # measured at one update, at step 20, with the full-length run's learning-rate milestones
            epochs = EPOCHS[c.dataset]
            assert c.update_period == DT0 and c.epochs * spe >= DT0, where
            assert c.lr_milestones == [round(epochs * 0.5), round(epochs * 0.75)], where
            continue
        assert c.model not in FIRST_UPDATE_ONLY, f"{where}: {c.model} only in runs measured once"
        assert c.epochs == EPOCHS[c.dataset], f"{where}: {c.epochs} epochs"
        assert c.lr_milestones == [round(c.epochs * 0.5), round(c.epochs * 0.75)], where
        if c.method != "dst":
            continue
        assert c.update_end == c.epochs * spe, f"{where}: updates stop before the end"
        if c.prune_schedule == "linear":
            assert c.prune_linear_every == 600 // SCALE, where
        factor = c.batch_size / 128
        if len(paper_dts) == 1:  # the default Δt (÷ the batch factor, lr × it, as the paper's Fig. 12)
            assert c.update_period == round(DT0 / factor), f"{where}: Δt {c.update_period}"
            assert c.lr == pytest.approx(default_lr(c.dataset, MODELS[c.model]) * factor), where
            updates = c.update_end // c.update_period
            assert UPDATES[0] <= updates <= UPDATES[1], f"{where}: {updates} updates"

    # rule 4: densities a subset of the paper's; the accuracy-vs-density studies take {0.1, 0.2, 0.5}
    quick_d, paper_d = values(quick, "density"), values(paper, "density")
    assert quick_d - {1.0} <= paper_d, spec.name
    if len(paper_d) >= 5:
        assert quick_d - {1.0} == DENSITIES, spec.name

    # rule 6: seeds per cell (every config but the seed)
    seeds = defaultdict(set)
    for r in quick:
        seeds[
            (
                r.cfg.model,
                r.cfg.method,
                r.cfg.criterion,
                r.cfg.growth,
                r.cfg.density,
                r.cfg.update_period,
                r.cfg.prune_fraction,
                r.cfg.prune_schedule,
                r.cfg.batch_size,
                r.cfg.mest_lambda,
                r.cfg.dropout,
                r.cfg.pruning_scope,
            )
        ].add(r.cfg.seed)
    need = MIN_SEEDS.get(spec.name, 2)
    assert min(len(s) for s in seeds.values()) >= need, f"{spec.name}: fewer than {need} seeds in a cell"


def test_no_input_of_the_quick_data_is_zero_in_every_training_sample():
    """MNIST-1D as loaded, and digits as the conv roles see it (shifted by the augmentation): every input
    feature is non-zero in some training sample (a feature that is always 0 has no gradient on its weights)."""
    from trainer.augment import augment_batch
    from trainer.data import load_dataset

    x = load_dataset("mnist1d", seed=0).train[0].reshape(3600, -1)
    assert (x != 0).any(dim=0).all(), "an MNIST-1D input is 0 in every training signal"

    raw = load_dataset("digits", seed=0).train[0]
    black = raw.amin(dim=(0, 2, 3))  # raw 0 in normalised units, as trainer.loop computes it
    assert ((raw != black.reshape(1, -1, 1, 1)).any(dim=0) == False).any(), "digits has always-black pixels"  # noqa: E712
    gen = torch.Generator().manual_seed(0)
    seen = torch.cat([augment_batch(raw, AUGMENT_RECIPES["digits"], generator=gen, black=black) for _ in range(4)])
    dead = ~(seen != black.reshape(1, -1, 1, 1)).any(dim=0)
    assert not dead.any(), f"{int(dead.sum())} digits pixels are black in every shifted training image"
