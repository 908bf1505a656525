"""Schedules of the pruning fraction: how much of each layer a topology update replaces at a step.

``cosine`` is RigL's cosine decay (Evci et al. 2020), as the paper prints it, ρ_t = ½ρ(1 + cos(tπ/T)),
or shifted to end at ``end`` instead of 0: ρ_t = end + ½(ρ − end)(1 + cos(tπ/T)), which is what the
authors' code ran (``CosineDecay``: PyTorch's ``CosineAnnealingLR`` with ``eta_min`` 0.005, stepped once
per optimizer step, T the number of training steps); ``linear`` the step decay of the paper's Appendix J
(Nowak et al. 2023), ``constant`` a fixed fraction (SET, Mocanu et al. 2018).
"""

from __future__ import annotations

import math

__all__ = ["SCHEDULES", "prune_fraction"]

from fwanalysis.vocab import SCHEDULES


def prune_fraction(
    schedule: str,
    step: int,
    *,
    rho: float,
    update_end: int,
    linear_decay: float = 0.99,
    linear_every: int = 600,
    end: float = 0.0,
) -> float:
    """Fraction of the active weights to prune (and regrow) at training step ``step``.

    Parameters
    ----------
    schedule:
        ``"cosine"``: end + (ρ − end)/2 · (1 + cos(π · step / update_end)), the paper's ρ/2 · (1 + cos(π ·
        step / update_end)) for ``end`` 0;
        ``"linear"``: ρ · linear_decay ** ⌊step / linear_every⌋;
        ``"constant"``: ρ.
    step:
        Training step (>= 0).
    rho:
        Initial pruning fraction ρ, in [0, 1].
    update_end:
        Last step with topology updates (T, > 0); after it the fraction is 0.0.
    linear_decay:
        Factor of the ``linear`` schedule per ``linear_every`` steps, in (0, 1].
    linear_every:
        Steps between decays of the ``linear`` schedule (> 0).
    end:
        The fraction the ``cosine`` schedule reaches at ``update_end``, in [0, rho] (the authors' code: 0.005).

    Returns
    -------
    The fraction in [0, rho]; 0.0 for ``step > update_end``.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule {schedule!r} is not one of: {', '.join(SCHEDULES)}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step!r}")
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be in [0, 1], got {rho!r}")
    if not update_end > 0:
        raise ValueError(f"update_end must be > 0, got {update_end!r}")
    if not 0.0 < linear_decay <= 1.0:
        raise ValueError(f"linear_decay must be in (0, 1], got {linear_decay!r}")
    if not linear_every > 0:
        raise ValueError(f"linear_every must be > 0, got {linear_every!r}")
    if not 0.0 <= end <= rho:
        raise ValueError(f"end must be in [0, rho], got {end!r}")
    if step > update_end:
        return 0.0
    if schedule == "cosine":
        return end + 0.5 * (rho - end) * (1.0 + math.cos(step * math.pi / update_end))
    if schedule == "linear":
        return rho * linear_decay ** (step // linear_every)
    return float(rho)
