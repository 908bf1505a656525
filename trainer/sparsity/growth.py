"""Growth: which inactive weights a topology update re-activates (Nowak et al. 2023, Section 3).

``random`` grows uniformly among the inactive weights (SET, Mocanu et al. 2018); ``gradient`` grows
the inactive weights with the largest dense-gradient magnitude |∇θ| (RigL, Evci et al. 2020), ties
broken by flat (C-order) index. ``count="binomial"`` (random growth only) grows each inactive weight
with probability k/n instead of exactly k of them, as the authors' ``random_growth`` does
(sparselearning/growers.py): the number grown is Binomial(n, k/n), mean k, variance k(1 − k/n).
What value a regrown weight takes is the caller's choice (``regrown_weights``, trainer/loop.py).
"""

from __future__ import annotations

import torch

from fwanalysis.artifacts.schema import GROWTH_COUNTS
from fwanalysis.criteria.rules import check_counts as _check_counts
from fwanalysis.criteria.rules import check_cpu_generator as _check_cpu_generator
from fwanalysis.criteria.rules import check_like as _check_like
from fwanalysis.criteria.rules import random_choice as _random
from fwanalysis.criteria.rules import to_mask as _to_mask
from fwanalysis.vocab import GROWTH

__all__ = ["GROWTH", "GROWTH_COUNTS", "select_grow"]


def select_grow(
    growth: str,
    grads: dict[str, torch.Tensor] | None,
    masks: dict[str, torch.Tensor],
    counts: dict[str, int],
    *,
    generator: torch.Generator,
    count: str = "exact",
) -> dict[str, torch.Tensor]:
    """In every layer choose ``counts[layer]`` INACTIVE weights to grow (in expectation, with ``binomial``).

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
        CPU ``torch.Generator`` used by ``random`` (one ``randperm`` per layer with k > 0, in the order of
        ``masks``; with ``binomial`` one ``rand`` of the layer's inactive count per layer with k > 0).
    count:
        ``exact`` (k weights) or ``binomial`` (each of the n inactive weights with probability k/n; random
        growth only).

    Returns
    -------
    Layer name -> bool tensor (the mask's shape and device), True at the weights to grow, all of them
    inactive; ``exact``: ``min(counts[layer], inactive)`` of them.
    """
    if growth not in GROWTH:
        raise ValueError(f"growth {growth!r} is not one of: {', '.join(GROWTH)}")
    if count not in GROWTH_COUNTS:
        raise ValueError(f"count {count!r} is not one of: {', '.join(GROWTH_COUNTS)}")
    if count == "binomial" and growth != "random":
        raise ValueError("count 'binomial' is the authors' random growth: use it with growth 'random'")
    _check_cpu_generator(generator)
    counts = _check_counts(counts, masks)
    out = {}
    for name, mask in masks.items():
        inactive = torch.nonzero(~mask.reshape(-1)).squeeze(1)
        k = min(counts[name], inactive.numel())
        if growth == "random" and count == "binomial":
            draws = torch.rand(inactive.numel(), generator=generator) if k > 0 else torch.zeros(0)
            chosen = inactive[(draws < k / inactive.numel()).to(inactive.device)] if k > 0 else inactive[:0]
        elif growth == "random":
            chosen = _random(inactive, k, generator)
        else:
            g = _check_like(name, "grad", (grads or {}).get(name), mask).detach().reshape(-1).abs()
            order = torch.argsort(g[inactive], descending=True, stable=True)
            chosen = inactive[order[:k]]
        out[name] = _to_mask(chosen, mask)
    return out
