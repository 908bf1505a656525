"""Each spec's ``paper`` profile expands to exactly the paper's grid for its figures.

The expected grids are typed here from the paper's text (Table 3, Appendix A.2, the captions and the
appendix sections), not derived from the spec files. Where the text is silent and the authors' public
specs decide, the line says so (docs/figures.md lists every such choice).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from trainer.sweep import expand, load_spec

SPECS = Path(__file__).resolve().parents[2] / "specs"

DENSITIES = (0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)  # Table 3, Fig. 1
FIVE = ("magnitude", "set", "mest", "rsensitivity", "snip")  # Sec. 5, Fig. 3
GROWTHS = ("random", "gradient")
SEEDS = (0, 1, 2, 3, 4)  # "5 runs", A.2
DELTA_T = (25, 50, 100, 200, 400, 800, 1600, 3200, 6400)  # Table 3, Fig. 5
EPOCHS = {
    "mlp-small": 100,
    "mlp-large": 100,
    "cnn-small": 100,
    "lenet5-caffe": 100,  # A.2
    "resnet56": 200,
    "vgg16": 200,
    "efficientnet-b0": 100,
    "resnet50": 90,
}
SETUPS = (
    ("mlp-small", "higgs"),
    ("mlp-large", "cifar10"),
    ("cnn-small", "cifar10"),
    ("lenet5-caffe", "fashionmnist"),
    ("resnet56", "cifar10"),
    ("resnet56", "cifar100"),
    ("vgg16", "cifar100"),
    ("efficientnet-b0", "tinyimagenet"),
)
CIFAR10_THREE = (("mlp-large", "cifar10"), ("cnn-small", "cifar10"), ("resnet56", "cifar10"))  # Figs. 5, 6

FIELDS = (
    "model",
    "dataset",
    "method",
    "criterion",
    "growth",
    "density",
    "update_period",
    "epochs",
    "seed",
    "batch_size",
    "prune_fraction",
    "prune_schedule",
    "pruning_scope",
    "dropout",
    "update_batch_size",
    "mest_lambda",
)


def row(
    model,
    dataset,
    method,
    seed,
    *,
    criterion=None,
    growth=None,
    density=None,
    update_period=800,
    batch_size=128,
    prune_fraction=0.5,
    prune_schedule="cosine",
    pruning_scope="local",
    dropout=0.0,
    update_batch_size=None,
    mest_lambda=1.0,
    epochs=None,
):
    if method == "dense":
        density = 1.0
    fixed = method != "dst"
    return (
        model,
        dataset,
        method,
        criterion,
        growth,
        density,
        None if fixed else update_period,
        epochs or EPOCHS[model],
        seed,
        batch_size,
        None if fixed else prune_fraction,
        None if fixed else prune_schedule,
        None if fixed else pruning_scope,
        dropout,
        None if fixed else update_batch_size,
        None if fixed else mest_lambda,
    )


def accuracy_grid(setups, *, densities=DENSITIES, seeds=SEEDS, criteria=FIVE, growths=GROWTHS, **kw):
    """DST over criteria x growth x density, static over density, and dense, per setup (Fig. 1's design)."""
    out = set()
    for (m, d), s in itertools.product(setups, seeds):
        out.add(row(m, d, "dense", s, **{k: v for k, v in kw.items() if k in ("batch_size", "epochs")}))
        for rho in densities:
            out.add(
                row(m, d, "static", s, density=rho, **{k: v for k, v in kw.items() if k in ("batch_size", "epochs")})
            )
            for c, g in itertools.product(criteria, growths):
                out.add(row(m, d, "dst", s, criterion=c, growth=g, density=rho, **kw))
    return out


def project(cfg) -> tuple:
    c = cfg.__dict__
    mest = c["mest_lambda"] if c["method"] == "dst" else None
    vals = {**c, "mest_lambda": mest}
    if c["method"] != "dst":
        for k in ("update_period", "prune_fraction", "prune_schedule", "pruning_scope", "update_batch_size"):
            vals[k] = None
    return tuple(vals[k] for k in FIELDS)


def paper_grid(name: str) -> set:
    if name == "accuracy":  # Fig. 1, 3, 10, 22-30: Table 3's densities on the eight setups (Sec. 5.1)
        return accuracy_grid(SETUPS)
    if name == "set-defect":  # beyond the paper: the authors' SET code on Fig. 1's setups, densities and growths
        return {
            row(m, d, "dst", s, criterion="set-legacy", growth=g, density=rho)
            for (m, d), s, g, rho in itertools.product(SETUPS, SEEDS, GROWTHS, DENSITIES)
        }
    if name == "imagenet":  # Fig. 2: ResNet-50, density 0.2, gradient growth, 3 runs, batch 256 (Sec. 5.1, A.2)
        return accuracy_grid(
            [("resnet50", "imagenet")], densities=(0.2,), seeds=(0, 1, 2), growths=("gradient",), batch_size=256
        )
    if (
        name == "loss-gap"
    ):  # Fig. 4 (Table 3's "Fig. 5" row: density 0.5, Δt 800); random growth: the authors' choice (text silent)
        out = {
            row("mlp-large", "cifar10", "dst", s, criterion=c, growth="random", density=0.5)
            for s in SEEDS
            for c in FIVE
        }
        out |= {row("mlp-large", "cifar10", "static", s, density=0.5) for s in SEEDS}
        out |= {row("mlp-large", "cifar10", "dense", s, dropout=p) for s in SEEDS for p in (0.0, 0.05)}
        return out
    if name == "update-period":  # Fig. 5 and 11: Table 3's "Fig. 4" row, three models, both growths, static reference
        out = set()
        for (m, d), s, rho in itertools.product(CIFAR10_THREE, SEEDS, (0.1, 0.2)):
            out.add(row(m, d, "static", s, density=rho))
            out |= {
                row(m, d, "dst", s, criterion=c, growth=g, density=rho, update_period=dt)
                for c, g, dt in itertools.product(FIVE, GROWTHS, DELTA_T)
            }
        return out
    if name == "jaccard-first":  # Fig. 6a (density 1.0, measured once) and Fig. 17 (ρ, constant schedule); density 0.2
        # and random growth from the authors' specs (text silent); five criteria and random (App. K)
        return {
            row(
                m,
                d,
                "dst",
                s,
                criterion=c,
                growth="random",
                density=rho,
                prune_fraction=pf,
                prune_schedule="constant",
                epochs=3,
            )
            for (m, d), s, c, rho, pf in itertools.product(
                CIFAR10_THREE, SEEDS, (*FIVE, "random"), (0.2, 1.0), (0.5, 0.25, 0.125, 0.0625)
            )
        }
    if name == "jaccard":  # Fig. 6b, 18, 19, 21: density 0.2 (Table 3); gradient growth from the authors' specs
        return {
            row(m, d, "dst", s, criterion=c, growth="gradient", density=0.2)
            for (m, d), s, c in itertools.product(CIFAR10_THREE, SEEDS, (*FIVE, "random"))
        }
    if name == "mest-lambda":  # Fig. 7 (A.3): large MLP over densities, λ 0.001..1000, random growth
        return {
            row("mlp-large", "cifar10", "dst", s, criterion="mest", growth="random", density=rho, mest_lambda=lam)
            for s, rho, lam in itertools.product(SEEDS, DENSITIES, (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0))
        }
    if name == "sensitivity":  # Fig. 8 (App. B): sensitivity on the large MLP over densities, random growth
        return {
            row("mlp-large", "cifar10", "dst", s, criterion="sensitivity", growth="random", density=rho)
            for s in SEEDS
            for rho in DENSITIES
        }
    if name == "batch-size":  # Fig. 12 (App. G): LeNet-5 at batch 1024, lr 0.08, Δt 100
        return accuracy_grid([("lenet5-caffe", "fashionmnist")], batch_size=1024, update_period=100)
    if name == "update-batch":  # Fig. 13 (App. G): a 1024 batch only for the DST update, MLP and LeNet-5
        return {
            row(m, d, "dst", s, criterion=c, growth=g, density=rho, update_batch_size=1024)
            for (m, d), s, c, g, rho in itertools.product(
                (("mlp-large", "cifar10"), ("lenet5-caffe", "fashionmnist")), SEEDS, FIVE, GROWTHS, DENSITIES
            )
        }
    if (
        name == "scope"
    ):  # Fig. 15 (App. I): ResNet-56, global pruning, 0.05/0.1/0.15, SET left out; random growth (authors)
        return {
            row("resnet56", "cifar10", "dst", s, criterion=c, growth="random", density=rho, pruning_scope="global")
            for s, c, rho in itertools.product(SEEDS, ("magnitude", "mest", "rsensitivity", "snip"), (0.05, 0.1, 0.15))
        }
    if name == "schedule":  # Fig. 16 (App. J): MLP, random growth, linear/constant at batch 128, cosine at 256;
        # densities of Fig. 5 (the caption does not name them)
        arms = (("linear", 128), ("constant", 128), ("cosine", 256))
        return {
            row(
                "mlp-large",
                "cifar10",
                "dst",
                s,
                criterion=c,
                growth="random",
                density=rho,
                update_period=dt,
                prune_schedule=sch,
                batch_size=bs,
            )
            for s, c, rho, dt, (sch, bs) in itertools.product(SEEDS, FIVE, (0.1, 0.2), DELTA_T, arms)
        }
    raise KeyError(name)


SPEC_FILES = sorted(p for p in SPECS.glob("*.toml") if "[profiles.paper]" in p.read_text())


def test_every_spec_is_checked():
    assert {load_spec(p).name for p in SPEC_FILES} == {
        "accuracy",
        "imagenet",
        "loss-gap",
        "update-period",
        "jaccard-first",
        "jaccard",
        "mest-lambda",
        "sensitivity",
        "batch-size",
        "update-batch",
        "scope",
        "schedule",
        "set-defect",
    }


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_paper_profile_is_the_papers_grid(path):
    spec = load_spec(path)
    runs = expand(spec, profile="paper")
    got = [project(r.cfg) for r in runs]
    assert len(got) == len(set(got)), "two runs of the paper profile differ only in fields the paper does not vary"
    want = paper_grid(spec.name)
    missing, extra = want - set(got), set(got) - want
    assert not missing and not extra, (
        f"{spec.name}: {len(missing)} runs missing (e.g. {sorted(missing, key=str)[:2]}), "
        f"{len(extra)} extra (e.g. {sorted(extra, key=str)[:2]})"
    )
    assert all(r.device == "cuda" for r in runs)


def test_paper_regime_per_model():
    """A.2: learning rate and weight decay of every model in the accuracy study's paper profile."""
    lr = {
        "mlp-small": 0.01,
        "mlp-large": 0.01,
        "cnn-small": 0.01,
        "lenet5-caffe": 0.01,
        "resnet56": 0.1,
        "vgg16": 0.01,
        "efficientnet-b0": 0.01,
    }
    wd = {
        "mlp-small": 5e-4,
        "mlp-large": 5e-4,
        "cnn-small": 5e-4,
        "lenet5-caffe": 5e-4,
        "resnet56": 1e-4,
        "vgg16": 1e-4,
        "efficientnet-b0": 1e-4,
    }
    for r in expand(load_spec(SPECS / "accuracy.toml"), profile="paper"):
        assert (r.cfg.lr, r.cfg.weight_decay, r.cfg.momentum, r.cfg.nesterov) == (
            lr[r.cfg.model],
            wd[r.cfg.model],
            0.9,
            True,
        )
        assert r.cfg.init == ("dense" if r.cfg.method == "dense" else "er" if r.cfg.model.startswith("mlp") else "erk")
        assert r.cfg.lr_gamma == (
            0.001 if r.cfg.model == "efficientnet-b0" else 0.1
        )  # A.2's "decay of 0.001" for EfficientNet


def test_dry_run_json_lists_the_paper_grid(tmp_path):
    """The listing a cluster user sees is the same grid (``fw-train sweep --dry-run --format json``)."""
    from typer.testing import CliRunner

    from trainer.cli import app

    res = CliRunner().invoke(
        app,
        [
            "sweep",
            str(SPECS / "loss-gap.toml"),
            "--profile",
            "paper",
            "--dry-run",
            "--format",
            "json",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    got = {
        (c["method"], c["criterion"], c["density"], c["dropout"], c["seed"]) for c in (r["config"] for r in doc["runs"])
    }
    want = {(m, c, d, p, s) for (m, c, d, p, s) in (t[2:4] + (t[5], t[13], t[8]) for t in paper_grid("loss-gap"))}
    assert got == want and not any(r["done"] for r in doc["runs"])
