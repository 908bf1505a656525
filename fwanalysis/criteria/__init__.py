"""The criterion table: every pruning criterion fwa trains, described once, one row each.

Every list of criteria, every choice set, colour, marker and table row is derived from :data:`TABLE`:
``fwanalysis.vocab`` (``CRITERIA``, ``PAPER_CRITERIA``, ``STRUCTURAL_CRITERIA``, ``SCORED_CRITERIA``,
``criterion_score``), the selection rules (:mod:`fwanalysis.criteria.select`, shared by the trainer and
:class:`fwanalysis.record.Recorder`), the trainer's choices (``trainer/config.py``: ``--criterion``,
``--shadow``, the side of the optimizer step), Table 1 (``fw-train tables``) and the figures' colours
(``fwanalysis.plots.metrics``). Adding a criterion is adding a row here, and its tests
(docs/contributing.md): a score function of ``w`` = |θ| and ``g`` = |∇θ| makes it a score-based criterion
(the lowest-scoring active weights are removed, ties by flat index); a criterion that is not a score
(set, set-legacy, random) names its rule in :mod:`.rules`.

Divisions add :data:`SCORE_EPS` (1e-12) to the denominator so that every score is finite: a weight that is
exactly zero (a freshly regrown one) gets a huge sensitivity and an rsensitivity of 0.

This package imports nothing else of fwanalysis (every layer and the trainer may import it) and never
imports torch when imported: the rules in :mod:`.rules` and :mod:`.select` import it inside the functions
that need it, so the analysis installs and runs without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import rules

__all__ = ["Criterion", "TABLE", "SCORE_EPS", "SIDES", "row", "names"]

#: Added to the denominator of sensitivity and rsensitivity so that scores stay finite.
SCORE_EPS = 1e-12
#: Which side of the optimizer step an update scores a criterion on, in the authors' order
#: (``update_order sparselearning``; docs/trainer.md).
SIDES = ("before", "after")


@dataclass(frozen=True)
class Criterion:
    """One pruning criterion: what it scores, what it needs, and how the paper and its Table 1 name it.

    Exactly one of ``score`` and ``choose`` is given.
    """

    #: The name (``--criterion``, ``config.criterion``, shadow sets): lowercase letters, digits, ``-``, ``_``.
    name: str
    #: ``score(w, g, lam)`` -> the score of each weight (the lowest are removed), from ``w`` = |θ| and ``g`` = |∇θ|
    #: (None unless ``needs_grad``) as float32-or-wider tensors or numpy arrays, and MEST's λ. Plain arithmetic.
    score: Callable | None
    #: Whether it reads the gradient ∇θ of the update's minibatch.
    needs_grad: bool
    #: ``before`` or ``after``: the side of the optimizer step an update scores it on in the authors' order (their
    #: main.py sets opt_order "after", i.e. scores first, for every --death other than magnitude, Random, SET).
    side: str
    #: One of the five criteria the paper compares (Figs. 1, 3, 5 and the claims): stated, never derived.
    paper: bool
    #: Table 1, "score (lowest removed)".
    formula: str
    #: Table 1: the method of the literature that uses it with random growth, with its citation ("" if none).
    random_growth: str = ""
    #: Table 1: the same with gradient growth.
    gradient_growth: str = ""
    #: For a criterion that is not a score: ``choose(weight, candidates, k, *, generator, global_scope)`` -> the flat
    #: indices of the candidates it removes (:mod:`.rules`).
    choose: Callable | None = None
    #: Whether it reads the weights θ (random does not).
    needs_weight: bool = True
    #: The reference of the paper's structural study (Figs. 6, 17-21), added to the paper's five there.
    reference: bool = False
    #: Its colour in every figure; None: one of ``fwanalysis.plots.metrics``'s other colours, its own.
    colour: str | None = None
    #: Its marker in every figure (None: ``o``).
    marker: str | None = None

    def __post_init__(self):
        if (self.score is None) == (self.choose is None):
            raise ValueError(f"criterion {self.name!r}: give exactly one of score and choose")
        if self.side not in SIDES:
            raise ValueError(f"criterion {self.name!r}: side {self.side!r} is not one of: {', '.join(SIDES)}")


#: The criteria, in the paper's order (every listing of criteria follows it).
TABLE: tuple[Criterion, ...] = (
    Criterion(
        "magnitude",  # Han et al. 2015; RigL, Evci et al. 2020
        score=lambda w, g, lam: w,
        needs_grad=False,
        side="after",
        paper=True,
        formula="|θ|",
        gradient_growth="RigL (Evci et al. 2020)",
        colour="#1f77b4",
        marker="o",
    ),
    Criterion(
        "set",  # Mocanu et al. 2018 (SET); the paper's definition: ⌈k/2⌉ θ ≥ 0 and ⌊k/2⌋ θ < 0 closest to zero
        score=None,
        choose=rules.choose_set,
        needs_grad=False,
        side="after",
        paper=True,
        formula="|θ| among θ > 0 and among θ < 0, half each",
        random_growth="SET (Mocanu et al. 2018)",
        colour="#ff7f0e",
        marker="s",
    ),
    Criterion(
        "set-legacy",  # the SET option of the authors' public code, exactly (rules.set_legacy_choice)
        score=None,
        choose=rules.choose_set_legacy,
        needs_grad=False,
        side="after",
        paper=False,  # the authors' code, not in the paper
        formula="the authors' SET code: ⌈k/2⌉ smallest positive, all negatives but the ⌈k/2⌉−1 most negative",
        colour="#b35806",  # set's orange, darker
        marker="p",
    ),
    Criterion(
        "mest",  # Yuan et al. 2021
        score=lambda w, g, lam: w + lam * g,
        needs_grad=True,
        side="before",
        paper=True,
        formula="|θ| + λ|∇θ|",
        random_growth="MEST (Yuan et al. 2021)",
        colour="#2ca02c",
        marker="^",
    ),
    Criterion(
        "sensitivity",  # Naji et al. 2021
        score=lambda w, g, lam: g / (w + SCORE_EPS),
        needs_grad=True,
        side="before",
        paper=False,  # App. B (Fig. 8) only
        formula="|∇θ| / |θ|",
        random_growth="Sensitivity (Naji et al. 2021)",
        colour="#d62728",
        marker="v",
    ),
    Criterion(
        "rsensitivity",  # Nowak et al. 2023
        score=lambda w, g, lam: w / (g + SCORE_EPS),
        needs_grad=True,
        side="before",
        paper=True,
        formula="|θ| / |∇θ|",
        colour="#9467bd",
        marker="D",
    ),
    Criterion(
        "snip",  # Lee et al. 2019 (SNIP)
        score=lambda w, g, lam: w * g,
        needs_grad=True,
        side="before",
        paper=True,
        formula="|θ| · |∇θ|",
        colour="#8c564b",
        marker="P",
    ),
    Criterion(
        "random",  # uniform among the active weights
        score=None,
        choose=rules.choose_random,
        needs_grad=False,
        needs_weight=False,
        side="after",
        paper=False,
        reference=True,
        formula="uniform",
        colour="#e377c2",
        marker="X",
    ),
)


def names(keep: Callable[[Criterion], bool] | None = None) -> tuple[str, ...]:
    """The names of the rows of :data:`TABLE` (those ``keep`` accepts), in its order."""
    return tuple(c.name for c in TABLE if keep is None or keep(c))


def row(name: str) -> Criterion | None:
    """The row of ``name``, or None for a name the table does not hold."""
    return next((c for c in TABLE if c.name == name), None)
