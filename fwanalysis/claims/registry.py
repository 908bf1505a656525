"""The claims (:data:`CLAIMS`): each states one finding of Nowak et al. (2023) as a quantity computed from the runs
of the report figures it rests on, with a test fixed in advance; :func:`evaluate` computes them on a study."""

from __future__ import annotations

from collections.abc import Sequence

from ..artifacts import Run
from ..figures import FIGURES
from .accuracy import _differences, _dst_beats_static, _magnitude_best_low, _rsens_high, _set_defect, _snip_not_better
from .base import Claim, ClaimResult, Selected, _num, _round, check_profiles
from .settings import _best_dt_not_smallest, _few_updates, _gradient_lose_more, _mest_lambda, _rsens_vs_sens
from .structure import PAPER_SHARES, _end_masks, _first_magnitude_family, _shares, _snip_rsens_least

__all__ = ["CLAIMS", "FIGURE_OF", "evaluate"]


CLAIMS: list[Claim] = [
    Claim(
        "first-update-magnitude-family",
        "Magnitude, SET and MEST choose nearly the same weights at the first update",
        "Sec. 5.4, Fig. 6a",
        "per model of the jaccard-first study at density 1.0 and ρ = 0.5: J(SET, magnitude) and J(MEST, magnitude) at "
        "the first update; the smallest of them",
        ">= 0.9",
        ("fig06a-jaccard-first-update",),
        _first_magnitude_family,
    ),
    Claim(
        "snip-rsensitivity-least-similar",
        "SNIP and RSensitivity are the least similar pair, and every other pair overlaps more than random sets",
        "Sec. 5.4, Fig. 6a",
        "per model (as above): the least similar pair of the five criteria, and the smallest J of any other pair "
        "minus J_r; the number of models where SNIP–RSensitivity is the least similar pair",
        "in every model SNIP–RSensitivity is the least similar pair and every other pair's J > J_r",
        ("fig06a-jaccard-first-update",),
        _snip_rsens_least,
    ),
    Claim(
        "magnitude-best-at-low-density",
        "At low density magnitude is at least as good as every gradient-based criterion",
        "Sec. 5.2, Fig. 3b",
        "accuracy study, density <= 0.2: magnitude's average rank minus the best average rank of the five",
        "<= CD",
        ("fig03b-cd-low-density",),
        _magnitude_best_low,
    ),
    Claim(
        "rsensitivity-better-at-high-density",
        "RSensitivity ranks better at high density than at low density",
        "Sec. 5.2, Fig. 3c",
        "accuracy study: RSensitivity's average rank at low density minus its average rank at high density (ranks "
        "among the five; lower is better)",
        "> 0",
        ("fig03c-cd-high-density", "fig03b-cd-low-density"),
        _rsens_high,
    ),
    Claim(
        "snip-not-better-than-magnitude",
        "SNIP is never clearly better than magnitude at low density",
        "Sec. 5.2, Fig. 3b",
        "accuracy study, density <= 0.2: magnitude's average rank minus SNIP's",
        "< CD",
        ("fig03b-cd-low-density",),
        _snip_not_better,
    ),
    Claim(
        "dst-beats-static-at-low-density",
        "DST beats static sparse training at low density",
        "Sec. 5.2, Fig. 1",
        "accuracy study: over (model, dataset, growth, density <= 0.2) blocks with a static run, the share of blocks "
        "where the median of the five criteria's mean accuracy exceeds the static run's mean accuracy",
        ">= 0.75",
        ("fig01-accuracy-vs-density",),
        _dst_beats_static,
        all_setups=True,
    ),
    Claim(
        "differences-larger-at-low-density",
        "Differences between criteria are larger at low than at high density",
        "Sec. 5.2, Figs. 1, 10",
        "accuracy study: mean over blocks of (best − worst of the five criteria's mean accuracy), low-density blocks "
        "minus high-density blocks",
        "> 0",
        ("fig01-accuracy-vs-density",),
        _differences,
        all_setups=True,
    ),
    Claim(
        "best-update-period-not-smallest",
        "Frequent updates are not needed: the best Δt is not the smallest",
        "Sec. 5.3, Fig. 5",
        "update-period study: per (model, dataset, growth, density) panel, the Δt with the best mean accuracy over "
        "the five criteria; the share of panels where that Δt is not the smallest",
        "= 1",
        ("fig05-update-period",),
        _best_dt_not_smallest,
    ),
    Claim(
        "few-updates-beat-static",
        "Even a few updates (the largest Δt) beat static sparse training",
        "Sec. 5.3, Fig. 5",
        "update-period study: the share of panels where the five criteria's mean accuracy at the largest Δt exceeds "
        "the static run of that density",
        ">= 0.75",
        ("fig05-update-period",),
        _few_updates,
    ),
    Claim(
        "gradient-criteria-lose-more-at-small-update-period",
        "At the smallest Δt gradient-based criteria lose more than magnitude",
        "Sec. 5.3, Fig. 5",
        "update-period study: per panel and criterion, the loss at the smallest Δt = its best mean accuracy over Δt "
        "minus its mean accuracy at the smallest Δt; the mean loss of SNIP and RSensitivity minus magnitude's, "
        "averaged over panels",
        "> 0",
        ("fig05-update-period",),
        _gradient_lose_more,
    ),
    Claim(
        "mest-between-magnitude-and-gradient",
        "MEST approaches magnitude as λ → 0 and degrades for large λ",
        "App. A.3, Fig. 7",
        "mest-lambda study and the accuracy study's magnitude runs of the same setup: per density |MEST(λ_min) − "
        "magnitude|, |MEST(λ_max) − magnitude| and MEST(λ=1) − MEST(λ_max), averaged over densities; the value is the "
        "smaller of (mean |MEST(λ_max) − magnitude| − mean |MEST(λ_min) − magnitude|) and mean (MEST(λ=1) − "
        "MEST(λ_max))",
        "|MEST(λ_min) − magnitude| < |MEST(λ_max) − magnitude| and MEST(λ_max) < MEST(λ = 1) (value > 0)",
        ("fig07-mest-lambda", "fig01-accuracy-vs-density"),
        _mest_lambda,
        all_setups=True,
    ),
    Claim(
        "rsensitivity-beats-sensitivity",
        "RSensitivity beats sensitivity",
        "App. B, Fig. 8",
        "sensitivity study and the accuracy study's RSensitivity runs of the same setup (random growth): mean over "
        "densities of RSensitivity's minus sensitivity's mean accuracy",
        "> 0",
        ("fig08-sensitivity-vs-rsensitivity",),
        _rsens_vs_sens,
        all_setups=True,
    ),
    Claim(
        "end-masks-closer-than-random",
        "The masks at the end of training overlap more than independent random masks",
        "Sec. 5.4, Fig. 6b",
        "jaccard study: per model, the smallest end-of-training J between two of the five criteria minus J_init; the "
        "smallest over models",
        "> 0",
        ("fig06b-jaccard-end",),
        _end_masks,
    ),
    Claim(
        "resnet-shares-least",
        "The weights kept by all criteria at the end of training: about 23% (MLP), 37% (CNN), 11% (ResNet-56); "
        "ResNet-56's criteria share the fewest",
        "App. K, Fig. 19",
        "jaccard study, final masks of the five criteria: per model, the share of kept weights kept by all (mean over "
        "seeds); ResNet-56's share",
        "ResNet-56's share is the smallest of the models measured",
        ("fig19-never-removed",),
        _shares,
        paper_value=dict(PAPER_SHARES),
    ),
    Claim(
        "set-defect-changes-little",
        "The authors' SET code (set-legacy, which removes about every negative weight at each update) does not change "
        "SET's standing among the criteria",
        "beyond the paper; set-defect study",
        "set-defect and accuracy studies, blocks with magnitude, SET and set-legacy: |average rank of SET − average "
        "rank of set-legacy| among the three",
        "< CD",
        ("figx1-set-defect",),
        _set_defect,
    ),
]


FIGURE_OF = {c.id: c.figure for c in CLAIMS}


def evaluate(runs: Sequence[Run], *, only: Sequence[str] = ()) -> list[ClaimResult]:
    """Every claim (or those whose id is in ``only``) computed on ``runs``, in :data:`CLAIMS` order.

    Raises ValueError when the runs hold several sweep profiles. A claim whose runs are absent, too few or
    cannot be pooled is ``no data`` with the reason in ``detail["reason"]``; it never stops the others."""
    runs = sorted(runs, key=lambda r: r.run_id)
    check_profiles(runs)
    out = []
    for c in CLAIMS:
        if only and c.id not in only:
            continue
        try:
            o = c.compute(*(Selected(FIGURES[f], runs, all_setups=c.all_setups) for f in c.figures))
        except ValueError as e:  # NoData, PoolingError, an analysis that cannot be done on these runs
            out.append(
                ClaimResult(
                    c.id,
                    c.text,
                    c.source,
                    c.quantity,
                    None,
                    c.paper_value,
                    c.threshold,
                    "no data",
                    0,
                    {"reason": str(e)},
                )
            )
            continue
        value = _num(o.value)
        if isinstance(value, float):
            value = _round(value)
        holds = o.holds(value) if callable(o.holds) and value is not None else o.holds
        verdict = "no data" if value is None else ("holds" if holds else "fails")
        detail = o.detail if value is not None else {**o.detail, "reason": "the value is not a finite number"}
        out.append(
            ClaimResult(c.id, c.text, c.source, c.quantity, value, c.paper_value, c.threshold, verdict, o.runs, detail)
        )
    return out
