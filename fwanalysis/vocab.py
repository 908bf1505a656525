"""The one vocabulary of fwa: every set of named choices, defined once.

The artifact reader and writer, the statistics, the figures, the trainer and both command lines import
their choices from here, so a name is valid in one place exactly when it is valid in all of them. This
module imports nothing else of the package but the criterion table it derives the criteria's names from
(:mod:`fwanalysis.criteria`, itself a leaf), so any layer may import it.

Criteria are open-ended: the built-in ones (``CRITERIA``, the rows of the criterion table in its order,
the paper's) are what the trainer can train, but any name made of lowercase letters, digits, ``-`` and
``_`` is a valid criterion in a run's config, in its shadow sets and in every analysis
(:func:`is_criterion_name`). Listings put the built-ins first in their fixed order and other names after
them, sorted (:func:`criterion_order`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from . import criteria as _table
from .criteria import SCORE_EPS

__all__ = [
    "CRITERIA",
    "GROWTH",
    "METHODS",
    "TRAINED_METHODS",
    "PRUNING_LOOPS",
    "LOOP_METHOD",
    "KINDS",
    "kind_of",
    "INITS",
    "SCHEDULES",
    "SCOPES",
    "STATUSES",
    "SPLITS",
    "PAPER_CRITERIA",
    "STRUCTURAL_CRITERIA",
    "SCORED_CRITERIA",
    "SCORE_EPS",
    "criterion_score",
    "FORMATS",
    "JACCARD_AT",
    "METRICS",
    "LOWER_IS_BETTER",
    "STATE_DUMPS",
    "BASELINES",
    "LABEL_KEYS",
    "is_criterion_name",
    "check_criterion_name",
    "criterion_order",
    "check_choice",
]

#: Built-in pruning criteria, the rows of the criterion table (:data:`fwanalysis.criteria.TABLE`) in its order,
#: the paper's: magnitude |θ|, SET (balanced signs), SET as the authors' public code trains it (``set-legacy``),
#: MEST |θ|+λ|∇θ|, sensitivity |∇θ|/|θ|, RSensitivity |θ|/|∇θ|, SNIP |θ|·|∇θ|, random.
CRITERIA = _table.names()
#: The criteria the paper compares (Figs. 1, 3, 5: the rows marked ``paper``); its structural study (Figs. 6,
#: 17-21) adds its reference, random. Sensitivity appears only in App. B (Fig. 8), set-legacy not at all.
PAPER_CRITERIA = _table.names(lambda c: c.paper)
STRUCTURAL_CRITERIA = (*PAPER_CRITERIA, *_table.names(lambda c: c.reference))
#: Growth criteria: uniformly at random, or the largest |∇θ| (RigL).
GROWTH = ("random", "gradient")
#: Methods of the run format (``config.method``), the paper's: dense; static (sparse, never updated); dst (dynamic
#: sparse training). fwa's trainer trains all three.
METHODS = ("dense", "static", "dst")
TRAINED_METHODS = METHODS
#: Pruning loops of one's own that :class:`fwanalysis.record.Recorder` records (``config.pruning_loop``, an extra
#: config key): imp (iterative pruning: starts dense, or less sparse, and removes weights over rounds, e.g. iterative
#: magnitude pruning) and pai (pruning at initialisation, then never updated). The paper's figures and claims
#: leave them out.
PRUNING_LOOPS = ("imp", "pai")
#: The format's ``config.method`` each pruning loop is written with, the method whose definitions it meets: imp's
#: masks change at updates (pruned sets, nothing grown), pai's are fixed before training.
LOOP_METHOD = {"imp": "dst", "pai": "static"}
#: What a run is to the analyses (:attr:`fwanalysis.artifacts.Run.kind`, the ``--method`` filter): its pruning
#: loop where it has one, else its method.
KINDS = (*METHODS, *PRUNING_LOOPS)


def kind_of(config) -> str | None:
    """A run's kind from its config (a mapping): ``pruning_loop`` (``imp``, ``pai``) where set, else ``method``."""
    return config.get("pruning_loop") or config.get("method")


#: Sparse initialisations (layer densities): Erdős–Rényi, ER-Kernel, uniform, dense.
INITS = ("er", "erk", "uniform", "dense")
#: Pruning-fraction schedules ρ_t.
SCHEDULES = ("cosine", "linear", "constant")
#: Pruning scopes: per layer or across layers.
SCOPES = ("local", "global")
#: ``status`` of a run in ``run.json``.
STATUSES = ("running", "complete", "failed")
#: ``split`` column of ``metrics.parquet`` (``""``: run-level quantities such as ITOP).
SPLITS = ("train", "val", "test", "")
#: Output formats of table-shaped command results.
FORMATS = ("table", "csv", "json")
#: ``fwa jaccard --at``: the first update, the end of training, every update.
JACCARD_AT = ("first", "end", "time")
#: ``summary`` keys of ``run.json`` an analysis can use as its metric.
METRICS = ("test_acc", "test_loss", "val_acc", "val_loss", "train_loss", "itop")
#: Metrics where a smaller value is the better one (a table bolds the lowest).
LOWER_IS_BETTER = ("test_loss", "val_loss", "train_loss")
#: ``fw-train --state``: dump weights and gradients before no, the first, or every update.
STATE_DUMPS = ("none", "first", "all")
#: Series labels of the baselines in metric tables (they have no criterion).
BASELINES = ("static", "dense")
#: Config keys that say where a run came from, not what was trained (``fw-train sweep`` writes the spec's
#: name and the profile's). Two runs whose configs differ only in these, with the same seed, are one
#: experiment recorded twice.
LABEL_KEYS = ("sweep", "profile")

_CRITERION_NAME = re.compile(r"[a-z0-9_-]{1,64}")


def is_criterion_name(name) -> bool:
    """Whether ``name`` is a valid criterion: 1 to 64 lowercase letters, digits, ``-`` and ``_``."""
    return isinstance(name, str) and _CRITERION_NAME.fullmatch(name) is not None


def check_criterion_name(name, *, what: str = "criterion") -> str:
    """``name`` if valid, else ``ValueError`` quoting it back and saying what a name may hold."""
    if not is_criterion_name(name):
        raise ValueError(
            f"{what} {name!r} is not a valid criterion name: use 1 to 64 lowercase letters, digits, '-' and '_' "
            f"(built-in: {', '.join(CRITERIA)})"
        )
    return name


def criterion_order(names: Iterable) -> list:
    """Distinct ``names`` in display order: built-in criteria in their fixed order, then any other name
    sorted, then the baselines ``static`` and ``dense``."""
    fixed = {c: i for i, c in enumerate(CRITERIA)}
    tail = {b: i for i, b in enumerate(BASELINES)}

    def key(n):
        if n in fixed:
            return (0, fixed[n], "")
        if n in tail:
            return (2, tail[n], "")
        return (1, 0, str(n))

    return sorted(dict.fromkeys(names), key=key)


def check_choice(value, choices: Iterable[str], *, what: str):
    """``value`` if it is one of ``choices``, else ``ValueError`` naming ``what``, the value and the choices."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{what} {value!r} is not one of: {', '.join(choices)}")
    return value


#: The criteria that rank weights by a score and remove the lowest (SET and random choose otherwise).
SCORED_CRITERIA = _table.names(lambda c: c.score is not None)


def criterion_score(criterion: str, w, g, *, mest_lambda: float = 1.0):
    """The paper's score of each weight (Table 1; the lowest are removed), from ``w`` = |θ| and ``g`` = |∇θ|.

    The ``score`` of the criterion's row of the table: plain arithmetic on torch tensors or numpy arrays
    (magnitude |θ|, mest |θ| + λ|∇θ|, sensitivity |∇θ| / (|θ| + EPS), rsensitivity |θ| / (|∇θ| + EPS), snip
    |θ|·|∇θ|). ``g`` may be None for a criterion that needs no gradient (magnitude).
    """
    row = _table.row(criterion)
    if row is None or row.score is None:
        scored = _table.names(lambda c: c.score is not None)
        raise ValueError(f"criterion {criterion!r} is not one of the scored criteria: {', '.join(scored)}")
    return row.score(w, g, mest_lambda)
