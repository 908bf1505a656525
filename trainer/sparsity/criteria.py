"""Pruning criteria of Dynamic Sparse Training (Nowak et al. 2023, "Fantastic Weights", Section 3).

Every criterion removes the active weights with the LOWEST score:

============  ===========================================================================
magnitude     |θ|                                          (Han et al. 2015; RigL, Evci et al. 2020)
set           |θ| within each sign: ⌈k/2⌉ smallest non-negative and ⌊k/2⌋ negative weights
              closest to zero                              (SET, Mocanu et al. 2018)
set-legacy    the ``SET`` option of the authors' public code, exactly (see ``_set_legacy_choice``):
              locally it removes the ⌈k/2⌉ smallest positive weights and every negative weight but
              the ⌈k/2⌉ − 1 most negative ones, so about half the layer whatever k is
mest          |θ| + λ|∇θ|                                  (MEST, Yuan et al. 2021)
sensitivity   |∇θ| / |θ|                                   (Naji et al. 2021)
rsensitivity  |θ| / |∇θ|                                   (Nowak et al. 2023)
snip          |θ| · |∇θ|                                   (SNIP, Lee et al. 2019)
random        uniform among the active weights
============  ===========================================================================

Divisions add ``EPS`` (1e-12) to the denominator so that every score is finite: a weight that is
exactly zero (a freshly regrown one) gets a huge sensitivity and an rsensitivity of 0.

For ``set`` a weight equal to zero (either sign of zero) counts as positive. The paper's public code
(``SET`` option) keeps only the most negative weights instead; ``set`` follows the paper's definition and
``set-legacy`` the code. ``set-legacy`` removes its own number of weights, not ``k``.

Ties are broken by position: within a layer by flat (C-order) index, across layers (global pruning)
by the order of the ``masks`` dict and then flat index. Sorting is ``torch.argsort(stable=True)``
over the active weights only (listed in ascending index order), so inactive weights can never be
chosen and the choice is the same on CPU and CUDA whenever the scores are. Random choices draw
``torch.randperm`` on a CPU generator and move the result to the weights' device.
"""

from __future__ import annotations

import math
import operator

import torch

from .init import _check_cpu_generator

__all__ = [
    "CRITERIA",
    "EPS",
    "prune_scores",
    "prune_counts",
    "count_of",
    "select_prune",
    "select_prune_global",
]

from fwanalysis.artifacts.schema import PRUNE_ROUNDINGS as ROUNDINGS  # ceil | nearest
from fwanalysis.vocab import (
    CRITERIA,  # the built-in criteria, each implemented below
    criterion_score,  # the scores' formulas, shared with fwanalysis.record
)
from fwanalysis.vocab import SCORE_EPS as EPS  # noqa: F401  (added to the denominators of (r)sensitivity)
from fwanalysis.vocab import SCORED_CRITERIA as _SCORED

_NEEDS_GRAD = ("mest", "sensitivity", "rsensitivity", "snip")


def _check_criterion(criterion: str, allowed: tuple[str, ...] = CRITERIA) -> None:
    """Raise ValueError quoting ``criterion`` and listing ``allowed`` unless it is one of them."""
    if criterion not in allowed:
        raise ValueError(f"criterion {criterion!r} is not one of: {', '.join(allowed)}")


def _as_float(t: torch.Tensor) -> torch.Tensor:
    """``t`` detached, in at least float32 (half-precision weights are scored in float32)."""
    t = t.detach()
    return t.to(torch.promote_types(t.dtype, torch.float32))


def prune_scores(
    criterion: str,
    weight: torch.Tensor,
    grad: torch.Tensor | None,
    *,
    mest_lambda: float = 1.0,
) -> torch.Tensor:
    """Element-wise pruning score of one layer; the lowest-scoring active weights are removed.

    Parameters
    ----------
    criterion:
        One of ``"magnitude"``, ``"mest"``, ``"sensitivity"``, ``"rsensitivity"``, ``"snip"``
        (``set`` and ``random`` are not score-based; see ``select_prune``).
    weight:
        The layer's weights θ (any shape, any device).
    grad:
        The dense gradient ∇θ of the same shape; may be None for ``magnitude``.
    mest_lambda:
        λ of MEST's |θ| + λ|∇θ|.

    Returns
    -------
    Scores of ``weight``'s shape and device, float32 or wider: magnitude |θ|, mest |θ| + λ|∇θ|,
    sensitivity |∇θ| / (|θ| + EPS), rsensitivity |θ| / (|∇θ| + EPS), snip |θ|·|∇θ|.
    """
    _check_criterion(criterion, _SCORED)
    w = _as_float(weight).abs()
    if criterion == "magnitude":
        return w
    if grad is None:
        raise ValueError(f"criterion {criterion!r} needs the gradient, got grad=None")
    if tuple(grad.shape) != tuple(weight.shape):
        raise ValueError(f"grad has shape {tuple(grad.shape)}, weight has {tuple(weight.shape)}")
    return criterion_score(criterion, w, _as_float(grad).abs(), mest_lambda=mest_lambda)


def count_of(fraction: float, active: int, rounding: str = "nearest") -> int:
    """The number of weights ``fraction`` of ``active`` weights is: ``ceil(fraction * active)`` (the authors'
    ``math.ceil``, on the same float product) or ``round(fraction * active)`` (nearest, half to even)."""
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding {rounding!r} is not one of: {', '.join(ROUNDINGS)}")
    x = fraction * float(active)
    return min(math.ceil(x), int(active)) if rounding == "ceil" else round(x)


def prune_counts(masks: dict[str, torch.Tensor], fraction: float, *, rounding: str = "nearest") -> dict[str, int]:
    """Per-layer number of weights to prune: :func:`count_of` ``fraction`` of each layer's active weights.

    Parameters
    ----------
    masks:
        Layer name -> bool mask (True = active).
    fraction:
        Fraction of each layer's active weights to remove, in [0, 1] (e.g. from ``prune_fraction``).
    rounding:
        ``ceil`` (the authors' code) or ``nearest`` (half to even).
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    return {name: count_of(fraction, int(m.sum()), rounding) for name, m in masks.items()}


def _count(name: str, value) -> int:
    """``value`` as a non-negative int, or ValueError naming the layer."""
    try:
        k = operator.index(value)
    except TypeError:
        raise ValueError(f"count for layer {name!r} must be an integer, got {value!r}") from None
    if k < 0:
        raise ValueError(f"count for layer {name!r} must be >= 0, got {k}")
    return k


def _check_counts(counts: dict[str, int], masks: dict[str, torch.Tensor]) -> dict[str, int]:
    """Counts for every layer of ``masks`` (missing layers get 0); unknown layers are an error."""
    unknown = [n for n in counts if n not in masks]
    if unknown:
        raise ValueError(f"counts name layers that are not in masks: {unknown!r}; layers: {list(masks)!r}")
    return {name: _count(name, counts.get(name, 0)) for name in masks}


def _check_like(name: str, what: str, t: torch.Tensor | None, mask: torch.Tensor) -> torch.Tensor:
    """Return ``t`` after checking it exists and has the mask's shape."""
    if t is None:
        raise ValueError(f"no {what} given for layer {name!r}")
    if tuple(t.shape) != tuple(mask.shape):
        raise ValueError(f"{what} of layer {name!r} has shape {tuple(t.shape)}, mask has {tuple(mask.shape)}")
    return t


def _lowest(scores: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` entries of ``candidates`` (ascending flat indices) with the lowest ``scores``, ties by index."""
    return _lowest_of(scores[candidates], candidates, k)


def _lowest_of(s: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` entries of ``candidates`` with the lowest candidate scores ``s`` (aligned), ties by index.

    The same set as ``argsort(s, stable=True)[:k]``, found in linear time: everything below the k-th
    smallest score, then the lowest-index entries equal to it. (With NaN scores it sorts, as before.)
    """
    n = s.numel()
    if k <= 0:
        return candidates[:0]
    if k >= n:
        return candidates
    if torch.isnan(s).any():
        return candidates[torch.argsort(s, stable=True)[:k]]
    kth = torch.kthvalue(s.cpu() if s.device.type == "mps" else s, k).values.to(s.device)
    below = torch.nonzero(s < kth).squeeze(1)
    ties = torch.nonzero(s == kth).squeeze(1)[: k - below.numel()]
    return candidates[torch.cat([below, ties])]


def _random(candidates: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """``k`` entries of ``candidates`` uniformly at random (a CPU ``randperm``, moved to their device)."""
    if k == 0:
        return candidates[:0]
    perm = torch.randperm(candidates.numel(), generator=generator)[:k]
    return candidates[perm.to(candidates.device)]


def _set_choice(weight: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """SET's choice among ``candidates`` of flat ``weight``: ⌈k/2⌉ smallest θ ≥ 0 and ⌊k/2⌋ largest θ < 0.

    If one sign has too few candidates the rest come from the other sign, so that
    ``min(k, #candidates)`` weights are chosen (NaN weights belong to neither sign and are never chosen).
    """
    values = weight[candidates]
    pos = candidates[values >= 0]
    neg = candidates[values < 0]
    k_neg = min(k // 2, neg.numel())  # ⌊k/2⌋ negatives if there are enough ...
    k_pos = min(k - k_neg, pos.numel())  # ... so ⌈k/2⌉ (or more) non-negatives ...
    k_neg = min(k - k_pos, neg.numel())  # ... and negatives make up for missing non-negatives
    magnitude = weight.abs()
    return torch.cat([_lowest(magnitude, pos, k_pos), _lowest(magnitude, neg, k_neg)])


def _set_legacy_choice(weight: torch.Tensor, candidates: torch.Tensor, k: int, *, global_scope: bool) -> torch.Tensor:
    """The authors' ``SET`` option among ``candidates`` of flat ``weight`` (alooow/fantastic_weights_paper).

    Local scope (``setup_utils.get_pruner`` maps ``SET`` to ``MagnitudeAndNegativityPruner``, i.e.
    ``pruners.magnitude_and_negativity_prune``): with h = ⌈k/2⌉, the threshold of the positives is the
    h-th smallest positive weight and every positive weight <= it is removed; the threshold of the
    negatives is the h-th MOST negative weight (an ascending sort where a descending one was meant) and
    every negative weight >= it is removed, so only the h − 1 most negative weights stay. h is clipped to
    the number of weights of each sign. With n₋ negative active weights and h <= n₊, n₋ that removes
    h + n₋ − h + 1 = n₋ + 1 weights whatever k is (about half the layer).

    Global scope (``SET`` maps to ``SETGlobalPruner``, a descending sort of the negatives): the h smallest
    positive and the h negative weights closest to zero over all layers, so 2h weights, not k.

    In both, an active weight equal to zero (or NaN) is neither positive nor negative and is always
    removed (the code keeps only ``w > t₊ & w > 0`` and ``w < t₋ & w < 0``), and ties at a threshold are
    removed together. ``k == 0`` removes nothing here; the authors' code never asks for 0 (it rounds up
    and its cosine decay stops at 0.005).
    """
    if k <= 0:
        return candidates[:0]
    h = -(-k // 2)
    values = weight[candidates]
    pos = values > 0
    neg = values < 0
    remove = ~(pos | neg)  # zeros and NaN
    if pos.any():
        p = torch.sort(values[pos]).values
        remove |= pos & (values <= p[min(h, p.numel()) - 1])
    if neg.any():
        n = torch.sort(values[neg], descending=global_scope).values
        t = n[min(h, n.numel()) - 1]
        remove |= neg & (values >= t)  # local: keep the h - 1 more negative; global: keep all but the h nearest zero
    return candidates[remove]


def _choose(
    criterion: str,
    weight: torch.Tensor | None,
    grad: torch.Tensor | None,
    candidates: torch.Tensor,
    k: int,
    *,
    generator: torch.Generator,
    mest_lambda: float,
    global_scope: bool = False,
) -> torch.Tensor:
    """Flat indices of the candidates to prune: ``k`` of them (``set-legacy``: its own count); flat inputs."""
    if criterion == "random":
        return _random(candidates, k, generator)
    if criterion == "set":
        return _set_choice(_as_float(weight), candidates, k)
    if criterion == "set-legacy":
        return _set_legacy_choice(_as_float(weight), candidates, k, global_scope=global_scope)
    # score only the candidates (the active weights, ~density of the layer), not the whole tensor
    w = weight[candidates] if weight is not None else None
    g = grad[candidates] if grad is not None else None
    return _lowest_of(prune_scores(criterion, w, g, mest_lambda=mest_lambda), candidates, k)


def _to_mask(indices: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A bool tensor shaped and placed like ``like`` that is True exactly at the flat ``indices``."""
    flat = torch.zeros(like.numel(), dtype=torch.bool, device=like.device)
    flat[indices] = True
    return flat.reshape(like.shape)


def _inputs(
    criterion: str,
    weights: dict[str, torch.Tensor] | None,
    grads: dict[str, torch.Tensor] | None,
    masks: dict[str, torch.Tensor],
) -> tuple[dict, dict]:
    """Flat weights and grads per layer for what ``criterion`` needs (None where it needs nothing)."""
    flat_w, flat_g = {}, {}
    for name, mask in masks.items():
        w = g = None
        if criterion != "random":
            w = _check_like(name, "weight", (weights or {}).get(name), mask).reshape(-1)
        if criterion in _NEEDS_GRAD:
            g = _check_like(name, "grad", (grads or {}).get(name), mask).reshape(-1)
        flat_w[name], flat_g[name] = w, g
    return flat_w, flat_g


def select_prune(
    criterion: str,
    weights: dict[str, torch.Tensor] | None,
    grads: dict[str, torch.Tensor] | None,
    masks: dict[str, torch.Tensor],
    counts: dict[str, int],
    *,
    generator: torch.Generator,
    mest_lambda: float = 1.0,
) -> dict[str, torch.Tensor]:
    """LOCAL pruning: in every layer choose ``counts[layer]`` active weights to remove.

    Parameters
    ----------
    criterion:
        One of ``CRITERIA``.
    weights:
        Layer name -> weights θ (needed by all but ``random``, which may pass None).
    grads:
        Layer name -> dense gradient ∇θ (needed by mest, sensitivity, rsensitivity, snip; else may be None).
    masks:
        Layer name -> bool mask, True = active. Only active weights are ever chosen.
    counts:
        Layer name -> number to remove, clipped to the layer's active count. A layer missing from
        ``counts`` removes nothing; a name not in ``masks`` is an error.
    generator:
        CPU ``torch.Generator`` used by ``random`` (one ``randperm`` per layer with k > 0, in the order of ``masks``).
    mest_lambda:
        λ of MEST.

    Returns
    -------
    Layer name -> bool tensor on the mask's device and in its shape, True at the weights to remove;
    each has exactly ``min(counts[layer], active)`` True entries, all of them active (``set-legacy``:
    as many as its rule removes, see ``_set_legacy_choice``).
    """
    _check_criterion(criterion)
    _check_cpu_generator(generator)
    counts = _check_counts(counts, masks)
    flat_w, flat_g = _inputs(criterion, weights, grads, masks)
    out = {}
    for name, mask in masks.items():
        active = torch.nonzero(mask.reshape(-1)).squeeze(1)
        k = min(counts[name], active.numel())
        chosen = _choose(criterion, flat_w[name], flat_g[name], active, k, generator=generator, mest_lambda=mest_lambda)
        out[name] = _to_mask(chosen, mask)
    return out


def _concat(flat: dict[str, torch.Tensor | None], names: list[str]) -> torch.Tensor | None:
    """The flat tensors of ``names`` joined end to end, or None when the criterion does not use them."""
    if flat[names[0]] is None:
        return None
    return torch.cat([flat[n] for n in names])


def select_prune_global(
    criterion: str,
    weights: dict[str, torch.Tensor] | None,
    grads: dict[str, torch.Tensor] | None,
    masks: dict[str, torch.Tensor],
    total: int,
    *,
    generator: torch.Generator,
    mest_lambda: float = 1.0,
) -> dict[str, torch.Tensor]:
    """GLOBAL pruning: rank the active weights of all layers together and remove the ``total`` lowest.

    For ``set`` the ⌈total/2⌉ smallest non-negative and ⌊total/2⌋ largest negative weights over all
    layers are removed; for ``random`` ``total`` weights uniformly over all active weights. Scores
    are compared as they are across layers (no per-layer normalisation). All layers must be on one
    device.

    Parameters are those of ``select_prune``, with ``total`` (clipped to the number of active
    weights) instead of per-layer counts; ties are broken by layer order in ``masks``, then flat index.

    Returns
    -------
    Layer name -> bool tensor (mask's shape and device), True at the weights to remove; together
    they hold exactly ``min(total, active)`` True entries, all of them active (``set-legacy``: as many
    as its rule removes).
    """
    _check_criterion(criterion)
    _check_cpu_generator(generator)
    total = _count("<all>", total)
    flat_w, flat_g = _inputs(criterion, weights, grads, masks)
    names = list(masks)
    if not names:
        return {}
    sizes = [masks[n].numel() for n in names]
    all_mask = torch.cat([masks[n].reshape(-1) for n in names])
    active = torch.nonzero(all_mask).squeeze(1)
    k = min(total, active.numel())
    chosen = _choose(
        criterion,
        _concat(flat_w, names),
        _concat(flat_g, names),
        active,
        k,
        generator=generator,
        mest_lambda=mest_lambda,
        global_scope=True,
    )
    selected = _to_mask(chosen, all_mask)
    return {n: part.reshape(masks[n].shape) for n, part in zip(names, torch.split(selected, sizes))}
