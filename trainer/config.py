"""The one place where a run's defaults live. Every field is a ``config`` key of the run format (docs/format.md).

Fields left ``None`` are resolved by :func:`resolve` from the model, the data set and the run length
(the resolved values are what ``run.json`` records, so a run is reproducible from its manifest).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from fwanalysis.artifacts.schema import CONFIG_CHOICES
from fwanalysis.criteria import names as criterion_names
from fwanalysis.vocab import CRITERIA, TRAINED_METHODS


@dataclass
class TrainConfig:
    model: str = "mlp-small"  # registry name (fw-train models)
    dataset: str = "digits"  # registry name (fw-train datasets); digits ships with scikit-learn
    method: str = "dst"  # dense | static (sparse, never updated) | dst
    criterion: str | None = "magnitude"  # pruning criterion for dst; None for dense/static
    mest_lambda: float = 1.0  # λ of MEST's |θ| + λ|∇θ| (recorded under criterion_params)
    growth: str | None = "random"  # random | gradient, for dst
    density: float = 0.1  # overall fraction of active weights D in (0, 1]
    init: str | None = None  # er | erk | uniform | dense; None: the model's default (ER for MLPs, ERK for conv nets)
    prune_fraction: float = 0.5  # rho: fraction of active weights removed at the first update
    # cosine: end + (rho - end)/2 (1 + cos(t pi / T)), end = prune_fraction_end
    # | linear: x0.99 every prune_linear_every steps | constant
    prune_schedule: str = "cosine"
    # linear schedule: steps between its x0.99 decays (the authors' 600, in a 35,200-step run)
    prune_linear_every: int = 600
    update_period: int | str = 25  # Delta t: optimizer steps between topology updates; "2ep" means 2 epochs
    update_end: int | str | None = None  # T: last step at which updates may happen; None: the last step of training
    pruning_scope: str = "local"  # local: per layer | global: across layers
    # global scope only: across-layers (one ranking) | per-layer (each layer regrows what it lost); None: across-layers
    global_regrowth: str | None = None
    # sparselearning: the authors' order | step-first: score after the optimizer step (docs/trainer.md)
    update_order: str = "sparselearning"
    # examples in the gradient that scores and grows at an update; None: the training minibatch
    update_batch_size: int | None = None
    # a weight regrown at the update that pruned it: keep its value (the authors' code) | zero (RigL)
    regrown_weights: str = "keep"
    # exact: regrow as many as pruned, density held at D (the paper)
    # | binomial: each inactive weight with p = k/n (the authors' random growth)
    growth_count: str = "exact"
    # cosine: the fraction rho_t decays to at T; 0: the paper's rho/2 (1 + cos(t pi / T)); the authors' code: 0.005
    prune_fraction_end: float = 0.0
    # per-layer count of an update: ceil(rho_t * active) (the authors' math.ceil) | nearest (half to even)
    prune_rounding: str = "ceil"
    epochs: int = 30  # passes over the training split
    batch_size: int = 128  # examples per optimizer step
    lr: float | None = None  # SGD learning rate; None: the model's default (paper App. A.2); on digits see DATASET_LR
    momentum: float = 0.9  # SGD momentum
    weight_decay: float | None = None  # L2 weight decay; None: the model's default
    nesterov: bool = True  # Nesterov momentum
    lr_milestones: list[int] | None = None  # epochs at which lr is multiplied by lr_gamma; None: 50% and 75% of epochs
    lr_gamma: float = 0.1  # lr multiplier at each milestone
    dropout: float = 0.0  # dropout before hidden fully connected layers (dense dropout baseline)
    width: float = 1.0  # multiplier of the model's hidden widths (units, channels); 1: the paper's network
    augment: bool | None = (
        None  # the authors' training augmentation of the data set (AUGMENT_RECIPES); None: DATASET_AUGMENT
    )
    seed: int = 0  # seeds python, numpy, torch, the data split and the sparse initialisation
    extra: dict = field(default_factory=dict)  # free-form keys added to config (e.g. a sweep's name)


# Learning rates for data sets whose models' paper defaults (tuned for CIFAR/FashionMNIST/Higgs) train
# too slowly. On the 1,078 training images of digits (30 epochs, density 0.1): mlp-small reaches 62 % with
# lr 0.01 and 95 % with 0.1; cnn-small (no batch norm) diverges in some seeds at 0.1 with gradient growth
# (loss 7.6, then a dead network) and trains stably to 94-98 % at 0.05. MNIST-1D (mlp-small, density 0.1, 870
# steps): 28 % at lr 0.01, 53 % at 0.1. "*" is any other model.
DATASET_LR = {"digits": {"mlp-small": 0.1, "mlp-large": 0.1, "*": 0.05}, "mnist1d": {"*": 0.1}}


# The authors' training-set augmentation (data_handling/utils.py of alooow/fantastic_weights_paper), applied to
# training batches only, as tensor ops (trainer/augment.py). CIFAR-10: 4-pixel reflect padding, random 32x32 crop,
# horizontal flip; CIFAR-100: RandomCrop(32, padding=4), i.e. 4 pixels of black (raw 0) padding, crop, flip;
# Tiny-ImageNet: horizontal flip only (their RandomResizedCrop is commented out). FashionMNIST, MNIST, Higgs:
# none. (ImageNet, RandomResizedCrop(224) + flip, is not a data set of fwa.)
AUGMENT_RECIPES = {
    "cifar10": {"pad": 4, "fill": "reflect", "flip": True},
    "cifar100": {"pad": 4, "fill": "black", "flip": True},
    "tinyimagenet": {"pad": 0, "fill": None, "flip": True},
    # not the authors' (digits is fwa's own stand-in): CIFAR's random crop in kind and proportion, a shift of up
    # to 1 of 8 pixels as theirs is up to 4 of 32, the background (raw 0) shifted in; no flip, which changes digits
    "digits": {"pad": 1, "fill": "black", "flip": False},
}
# ``augment`` when left None: the authors' choice per data set; False for digits and tabular data.
DATASET_AUGMENT = {
    "digits": False,
    "mnist1d": False,
    "cifar10": True,
    "cifar100": True,
    "fashionmnist": False,
    "higgs": False,
    "tinyimagenet": True,
}

# Criteria the authors' main.py scores BEFORE the optimizer step (it sets opt_order "after" for every --death
# other than magnitude, Random, SET, SETFixed, RunningMagnitude): the rows of the criterion table whose side is
# "before"; the others are scored after the step.
SCORE_FIRST_CRITERIA = criterion_names(lambda c: c.side == "before")


def default_lr(dataset: str, model_spec) -> float:
    """The learning rate used when none is given: a data set's own choice, else the model's paper default."""
    per = DATASET_LR.get(dataset)
    if per is None:
        return model_spec.default_lr
    return per.get(model_spec.name, per["*"])


def fill_model_defaults(cfg: TrainConfig, *, model_spec) -> TrainConfig:
    """Fill ``init``, ``lr`` and ``weight_decay`` left ``None`` from the model and data set (no data needed).

    Sweeps call this before naming runs, so a run id reflects the hyperparameters actually used.
    """
    c = dataclasses.replace(cfg, extra=dict(cfg.extra))
    if c.width != 1 and not model_spec.scalable:
        raise ConfigError(
            f"--width {c.width!r}: {model_spec.name} has no width multiplier "
            "(mlp-small, mlp-large, cnn-small and lenet5-caffe have)"
        )
    if c.init is None:
        c.init = "dense" if c.method == "dense" else model_spec.default_init
    if c.lr is None:
        c.lr = default_lr(c.dataset, model_spec)
    if c.weight_decay is None:
        c.weight_decay = model_spec.default_weight_decay
    return c


# Keys added after runs had ids: left out of run.json and of a sweep's run id at their defaults (and when null,
# as for dense and static runs), so every run made before them keeps its id.
OMITTED_AT_DEFAULT = {
    f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name in ("width", "prune_linear_every")
}


def without_omitted(d: dict) -> dict:
    """``d`` without the keys of :data:`OMITTED_AT_DEFAULT` that hold their default or null."""
    return {k: v for k, v in d.items() if not (k in OMITTED_AT_DEFAULT and v in (OMITTED_AT_DEFAULT[k], None))}


class ConfigError(ValueError):
    """A config value that is not allowed; the message names the option and the allowed values."""


MAX_SEED = 2**32 - 1  # scikit-learn's random_state and numpy's legacy seeding take [0, 2**32 - 1]


def _opt(key: str) -> str:
    return f"--{key.replace('_', '-')}"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(cfg: TrainConfig, key: str, *, optional: bool = False) -> float | None:
    """``cfg.<key>`` as a finite float, or ConfigError (``None`` passes when ``optional``)."""
    v = getattr(cfg, key)
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{_opt(key)} {v!r} is not a number")
    if not math.isfinite(v):
        raise ConfigError(f"{_opt(key)} {v!r} is not a finite number")
    return float(v)


def _integer(cfg: TrainConfig, key: str, *, lo: int, hi: int | None = None) -> None:
    v = getattr(cfg, key)
    if not _is_int(v):
        raise ConfigError(f"{_opt(key)} {v!r} is not an integer")
    if v < lo or (hi is not None and v > hi):
        raise ConfigError(
            f"{_opt(key)} {v} must be an integer " + (f"in [{lo}, {hi}]" if hi is not None else f">= {lo}")
        )


class Period(NamedTuple):
    """A period as written (``update_period``, ``update_end``): ``steps`` optimizer steps, or ``epochs``
    passes over the training split; the other is None."""

    steps: int | None = None
    epochs: float | None = None


# an amount of steps (a sign allowed, so that "-5" is refused as too few steps, not as malformed), or of epochs
_PERIOD = re.compile(r"\s*(?:(?P<steps>-?[0-9]+)|(?P<epochs>[0-9]*\.?[0-9]+)\s*(?:ep|epoch|epochs))\s*")


def parse_period(value: int | str) -> Period | None:
    """The one reading of a period's text: ``800`` or ``"800"`` are steps, ``"2ep"`` (also ``epoch``,
    ``epochs``, ``"0.5 ep"``) epochs; None for anything else. Ranges are the caller's to check.

    >>> parse_period(" 800 "), parse_period("1.5ep"), parse_period("2 weeks")
    (Period(steps=800, epochs=None), Period(steps=None, epochs=1.5), None)
    """
    if _is_int(value):
        return Period(steps=value)
    m = _PERIOD.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return None
    return Period(steps=int(m["steps"])) if m["steps"] is not None else Period(epochs=float(m["epochs"]))


def _steps_format(key: str, v) -> None:
    """``update_period``/``update_end``: a positive number of steps, or epochs such as ``2ep``."""
    if v is None:
        return
    period = parse_period(v)
    if period is None:
        raise ConfigError(f"{_opt(key)} {v!r}: give steps (e.g. 800) or epochs (e.g. 2ep)")
    if period.steps is not None and period.steps < 1:
        raise ConfigError(f"{_opt(key)} {v!r} must be at least one step")
    if period.epochs is not None and not period.epochs > 0:
        raise ConfigError(f"{_opt(key)} {v!r} must be more than 0 epochs")


def check(cfg: TrainConfig) -> None:
    """Check every choice, type and range of ``cfg``; raise :class:`ConfigError` with a one-line message.

    Needs no data, so it runs before anything is loaded or written. ``lr`` and ``weight_decay`` may
    still be ``None`` (filled from the model later); every number given must be finite.
    """
    # the trainer trains the built-in criteria and its own methods (imp and pai runs come from other loops)
    for key, allowed in {**CONFIG_CHOICES, "method": TRAINED_METHODS, "criterion": CRITERIA}.items():
        v = getattr(cfg, key)
        if v is not None and v not in allowed:
            raise ConfigError(f"{_opt(key)} {v!r} is not one of: {', '.join(allowed)}")
    for key in ("model", "dataset"):
        if not isinstance(getattr(cfg, key), str):
            raise ConfigError(f"{_opt(key)} {getattr(cfg, key)!r} is not a name")
    # numbers: finite first (nan fails every comparison below and would print a misleading range)
    density = _number(cfg, "density")
    mest_lambda = _number(cfg, "mest_lambda")
    prune_fraction = _number(cfg, "prune_fraction", optional=True)
    prune_fraction_end = _number(cfg, "prune_fraction_end", optional=True)
    lr = _number(cfg, "lr", optional=True)
    momentum = _number(cfg, "momentum")
    weight_decay = _number(cfg, "weight_decay", optional=True)
    lr_gamma = _number(cfg, "lr_gamma")
    dropout = _number(cfg, "dropout")
    width = _number(cfg, "width")
    if not 0 < width <= 4:
        raise ConfigError(f"--width {cfg.width!r} must be in (0, 4]")
    if not 0 < density <= 1:
        raise ConfigError(f"--density {cfg.density!r} must be in (0, 1]")
    if mest_lambda < 0:
        raise ConfigError(f"--mest-lambda {cfg.mest_lambda!r} must be >= 0")
    if prune_fraction is not None and not 0 <= prune_fraction <= 1:
        raise ConfigError(f"--prune-fraction {cfg.prune_fraction!r} must be in [0, 1]")
    if prune_fraction_end is not None and not 0 <= prune_fraction_end <= (
        1 if prune_fraction is None else prune_fraction
    ):
        raise ConfigError(f"--prune-fraction-end {cfg.prune_fraction_end!r} must be in [0, --prune-fraction]")
    if cfg.prune_linear_every is not None and not (_is_int(cfg.prune_linear_every) and cfg.prune_linear_every >= 1):
        raise ConfigError(f"--prune-linear-every {cfg.prune_linear_every!r} must be a whole number of steps >= 1")
    if prune_fraction_end and cfg.prune_schedule != "cosine":
        raise ConfigError(f"--prune-fraction-end {cfg.prune_fraction_end!r} applies only with --prune-schedule cosine")
    if cfg.growth_count == "binomial" and cfg.growth not in (None, "random"):
        raise ConfigError(
            "--growth-count binomial applies only with --growth random (the authors' gradient growth takes the top k)"
        )
    if lr is not None and not lr > 0:
        raise ConfigError(f"--lr {cfg.lr!r} must be > 0")
    if not 0 <= momentum < 1:
        raise ConfigError(f"--momentum {cfg.momentum!r} must be in [0, 1)")
    if weight_decay is not None and weight_decay < 0:
        raise ConfigError(f"--weight-decay {cfg.weight_decay!r} must be >= 0")
    if not lr_gamma > 0:
        raise ConfigError(f"lr_gamma {cfg.lr_gamma!r} must be > 0")
    if not 0 <= dropout < 1:
        raise ConfigError(f"--dropout {cfg.dropout!r} must be in [0, 1)")
    # integers
    _integer(cfg, "epochs", lo=1)
    _integer(cfg, "batch_size", lo=1)
    _integer(cfg, "seed", lo=0, hi=MAX_SEED)
    _steps_format("update_period", cfg.update_period)
    _steps_format("update_end", cfg.update_end)
    if cfg.lr_milestones is not None:
        ms = cfg.lr_milestones
        if not isinstance(ms, (list, tuple)) or not all(_is_int(m) and m >= 1 for m in ms):
            raise ConfigError(f"lr_milestones {ms!r} must be a list of epochs >= 1")
    if not isinstance(cfg.nesterov, bool):
        raise ConfigError(f"nesterov {cfg.nesterov!r} must be true or false")
    if cfg.global_regrowth is not None and cfg.pruning_scope != "global":
        raise ConfigError(f"--global-regrowth {cfg.global_regrowth!r} applies only with --pruning-scope global")
    if cfg.update_batch_size is not None:
        _integer(cfg, "update_batch_size", lo=1)
    if cfg.augment is not None and not isinstance(cfg.augment, bool):
        raise ConfigError(f"--augment {cfg.augment!r} must be true or false")
    if cfg.augment and cfg.dataset not in AUGMENT_RECIPES:
        raise ConfigError(f"--augment: no augmentation recipe for {cfg.dataset!r} (only {', '.join(AUGMENT_RECIPES)})")


def steps_of(value: int | str, *, steps_per_epoch: int, name: str) -> int:
    """An amount of optimizer steps from ``800`` or ``"800"`` (steps) or ``"2ep"`` (epochs)."""
    period = parse_period(value if isinstance(value, (int, str)) else str(value))
    if period is None:
        raise ConfigError(f"--{name} {value!r}: give steps (e.g. 800) or epochs (e.g. 2ep)")
    steps = period.steps if period.steps is not None else round(period.epochs * steps_per_epoch)
    if steps < 1:
        raise ConfigError(f"--{name} {value!r} is less than one step")
    return steps


FIXED_METHODS = ("dense", "static")  # no topology updates: the masks never change
# Keys only a run with topology updates uses: a dense or static run has no value for them
UPDATE_KEYS = (
    *("update_period", "update_end", "update_order", "update_batch_size"),  # when an update comes, what it scores
    *("prune_fraction", "prune_schedule", "prune_linear_every", "prune_fraction_end", "prune_rounding"),  # how much
    *("pruning_scope", "global_regrowth", "regrown_weights", "growth_count"),  # across which layers; how they regrow
)
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def _as_method_implies(cfg: TrainConfig, *, unused_as_null: bool) -> TrainConfig:
    """A copy of ``cfg`` with what its method implies: the one rule of :func:`resolve` and :func:`normalise`.

    dense: density 1, init dense; dense and static: no criterion or growth, and the :data:`UPDATE_KEYS`
    null (``unused_as_null``: as run.json records them) or at their defaults (as a sweep names the run);
    any other method: growth random unless given.
    """
    c = dataclasses.replace(cfg, extra=dict(cfg.extra))
    if c.method == "dense":
        c.density, c.init = 1.0, "dense"
    if c.method in FIXED_METHODS:
        c.criterion = c.growth = None
        for key in UPDATE_KEYS:
            setattr(c, key, None if unused_as_null else _DEFAULTS[key])
    else:
        c.growth = c.growth or "random"
    return c


def normalise(cfg: TrainConfig) -> TrainConfig:
    """The canonical form of ``cfg``, before any data: what its method implies (:func:`resolve`'s rule),
    with the keys a dense or static run does not use at their defaults, ``mest_lambda`` too (run.json
    records it only under a dst run's ``criterion_params``). Two configs that train the same run
    normalise to equal configs: a sweep names its runs by this form."""
    c = _as_method_implies(cfg, unused_as_null=False)
    if c.method in FIXED_METHODS:
        c.mest_lambda = _DEFAULTS["mest_lambda"]
    return c


def resolve(cfg: TrainConfig, *, model_spec, steps_per_epoch: int) -> TrainConfig:
    """Fill every ``None`` default from the model and run length; make dense/static consistent."""
    c = _as_method_implies(cfg, unused_as_null=True)
    total = c.epochs * steps_per_epoch
    if c.augment is None:
        c.augment = DATASET_AUGMENT.get(c.dataset, False)
    if c.method not in FIXED_METHODS:
        if c.criterion is None:
            raise ConfigError("--method dst needs a --criterion")
        c.update_period = steps_of(c.update_period, steps_per_epoch=steps_per_epoch, name="update-period")
        c.update_end = (
            total
            if c.update_end is None
            else steps_of(c.update_end, steps_per_epoch=steps_per_epoch, name="update-end")
        )
        if c.density >= 1:  # measured once: one update at the first update step, which changes nothing
            c.update_end = c.update_period
        if c.pruning_scope == "global" and c.global_regrowth is None:
            c.global_regrowth = "across-layers"
    c = fill_model_defaults(c, model_spec=model_spec)
    if c.lr_milestones is None:
        c.lr_milestones = sorted({max(1, round(c.epochs * 0.5)), max(1, round(c.epochs * 0.75))})
    check(c)
    return c


def measured_once(c: TrainConfig) -> bool:
    """DST at density 1: the sets are computed and recorded at the first update only; nothing changes."""
    return c.method == "dst" and c.density >= 1


def scores_before_step(c: TrainConfig) -> bool:
    """Whether an update of ``c`` scores the weights before this step's optimizer update (else after it)."""
    if c.update_order != "sparselearning":
        return False
    return measured_once(c) or c.criterion in SCORE_FIRST_CRITERIA


def parse_shadow(shadow: str | list[str]) -> list[str]:
    """The criteria of ``--shadow`` (``all``, ``none`` or ``c1,c2``), in the canonical order."""
    given = shadow if isinstance(shadow, str) else ",".join(shadow)
    if isinstance(shadow, str):
        shadow = {"all": list(CRITERIA), "none": []}.get(
            shadow.strip(), [s.strip() for s in shadow.split(",") if s.strip()]
        )
    bad = [c for c in shadow if c not in CRITERIA]
    if bad:
        raise ConfigError(f"shadow {given!r}: {', '.join(bad)} not one of: {', '.join(CRITERIA)} (or all, none)")
    return [c for c in CRITERIA if c in shadow]


def canonical_shadow(shadow: str) -> str:
    """``--shadow`` in one spelling per meaning: ``all``, ``none`` or ``c1,c2`` in the canonical order."""
    chosen = parse_shadow(shadow)
    return "all" if len(chosen) == len(CRITERIA) else "none" if not chosen else ",".join(chosen)


def to_manifest_config(c: TrainConfig) -> dict:
    """The ``config`` object of run.json (the config keys of docs/format.md, plus ``extra``)."""
    d = without_omitted(dataclasses.asdict(c))  # written only when set: older runs keep their format and ids
    lam = d.pop("mest_lambda")
    extra = d.pop("extra")
    d["criterion_params"] = {"mest_lambda": lam} if c.method == "dst" else None
    clash = sorted(set(extra) & set(d))
    if clash:
        raise ConfigError(f"extra config keys {clash} would overwrite real config keys")
    d.update(extra)
    return d
