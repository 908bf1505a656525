"""Schedules of the pruning fraction: how much of each layer a topology update replaces at a step.

``cosine`` is RigL's cosine decay (Evci et al. 2020), ``linear`` the step decay of the paper's
Appendix J (Nowak et al. 2023), ``constant`` a fixed fraction (SET, Mocanu et al. 2018).
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
) -> float:
    """Fraction of the active weights to prune (and regrow) at training step ``step``.

    Parameters
    ----------
    schedule:
        ``"cosine"``: ρ/2 · (1 + cos(π · step / update_end));
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
    if step > update_end:
        return 0.0
    if schedule == "cosine":
        return 0.5 * rho * (1.0 + math.cos(step * math.pi / update_end))
    if schedule == "linear":
        return rho * linear_decay ** (step // linear_every)
    return float(rho)
