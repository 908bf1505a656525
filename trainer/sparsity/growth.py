"""Growth: which inactive weights a topology update re-activates (Nowak et al. 2023, Section 3).

``random`` grows uniformly among the inactive weights (SET, Mocanu et al. 2018); ``gradient`` grows
the inactive weights with the largest dense-gradient magnitude |∇θ| (RigL, Evci et al. 2020), ties
broken by flat (C-order) index. Regrown weights are expected to start at zero (the caller sets them).
"""

from __future__ import annotations

import torch

from .criteria import _check_counts, _check_like, _random, _to_mask
from .init import _check_cpu_generator

__all__ = ["GROWTH", "select_grow"]

from fwanalysis.vocab import GROWTH


def select_grow(
    growth: str,
    grads: dict[str, torch.Tensor] | None,
    masks: dict[str, torch.Tensor],
    counts: dict[str, int],
    *,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """In every layer choose ``counts[layer]`` INACTIVE weights to grow.

    Parameters
    ----------
    growth:
        ``"random"`` (uniform among inactive weights) or ``"gradient"`` (largest |∇θ| among them).
    grads:
        Layer name -> dense gradient ∇θ; needed by ``gradient``, may be None for ``random``.
    masks:
        Layer name -> bool mask AFTER pruning (True = active). Only inactive weights are chosen, so
        weights pruned in this same update can be grown back.
    counts:
        Layer name -> number to grow, clipped to the layer's inactive count. A layer missing from
        ``counts`` grows nothing; a name not in ``masks`` is an error.
    generator:
        CPU ``torch.Generator`` used by ``random`` (one ``randperm`` per layer with k > 0, in the order of ``masks``).

    Returns
    -------
    Layer name -> bool tensor (the mask's shape and device), True at the weights to grow; each has
    exactly ``min(counts[layer], inactive)`` True entries, all of them inactive.
    """
    if growth not in GROWTH:
        raise ValueError(f"growth {growth!r} is not one of: {', '.join(GROWTH)}")
    _check_cpu_generator(generator)
    counts = _check_counts(counts, masks)
    out = {}
    for name, mask in masks.items():
        inactive = torch.nonzero(~mask.reshape(-1)).squeeze(1)
        k = min(counts[name], inactive.numel())
        if growth == "random":
            chosen = _random(inactive, k, generator)
        else:
            g = _check_like(name, "grad", (grads or {}).get(name), mask).detach().reshape(-1).abs()
            order = torch.argsort(g[inactive], descending=True, stable=True)
            chosen = inactive[order[:k]]
        out[name] = _to_mask(chosen, mask)
    return out
