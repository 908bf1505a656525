"""Which active weights a criterion removes: the selection rules of the trainer and of the Recorder, one copy.

Every criterion removes the active weights with the LOWEST score (its row's ``score`` in
:data:`fwanalysis.criteria.TABLE`), or by its own rule (``choose``: set, set-legacy, random). Pure functions
on dicts of torch tensors (layer name -> tensor) on any device; all randomness comes from an explicit CPU
``torch.Generator``. torch is imported inside the functions, so importing this module never loads it.
:func:`shadow_sets` is their numpy front end for :class:`fwanalysis.record.Recorder` (numpy in, numpy out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from . import names, row
from .rules import (
    as_float,
    check_counts,
    check_cpu_generator,
    check_like,
    check_total,
    lowest_of,
    to_mask,
    topology_generator,
)

__all__ = ["prune_scores", "select_prune", "select_prune_global", "shadow_sets"]


def _row(criterion: str, *, scored: bool = False):
    """The table's row of ``criterion``; ValueError quoting it and listing the choices unless there is one."""
    c = row(criterion)
    if c is None or (scored and c.score is None):
        allowed = names(lambda r: r.score is not None) if scored else names()
        raise ValueError(f"criterion {criterion!r} is not one of: {', '.join(allowed)}")
    return c


def prune_scores(criterion: str, weight, grad, *, mest_lambda: float = 1.0):
    """Element-wise pruning score of one layer; the lowest-scoring active weights are removed.

    Parameters
    ----------
    criterion:
        A criterion with a score (``magnitude``, ``mest``, ``sensitivity``, ``rsensitivity``, ``snip``, ...;
        ``set``, ``set-legacy`` and ``random`` are not score-based: see ``select_prune``).
    weight:
        The layer's weights θ (a tensor of any shape, on any device).
    grad:
        The dense gradient ∇θ of the same shape; may be None when the criterion needs no gradient.
    mest_lambda:
        λ of MEST's |θ| + λ|∇θ|.

    Returns
    -------
    Scores of ``weight``'s shape and device, float32 or wider: magnitude |θ|, mest |θ| + λ|∇θ|,
    sensitivity |∇θ| / (|θ| + EPS), rsensitivity |θ| / (|∇θ| + EPS), snip |θ|·|∇θ|.
    """
    c = _row(criterion, scored=True)
    w = as_float(weight).abs()
    if not c.needs_grad:
        return c.score(w, None, mest_lambda)
    if grad is None:
        raise ValueError(f"criterion {criterion!r} needs the gradient, got grad=None")
    if tuple(grad.shape) != tuple(weight.shape):
        raise ValueError(f"grad has shape {tuple(grad.shape)}, weight has {tuple(weight.shape)}")
    return c.score(w, as_float(grad).abs(), mest_lambda)


def _choose(c, weight, grad, candidates, k: int, *, generator, mest_lambda: float, global_scope: bool = False):
    """Flat indices of the candidates row ``c`` prunes: ``k`` of them (``set-legacy``: its own count); flat inputs."""
    if c.choose is not None:
        return c.choose(weight, candidates, k, generator=generator, global_scope=global_scope)
    # score only the candidates (the active weights, ~density of the layer), not the whole tensor
    w = weight[candidates] if weight is not None else None
    g = grad[candidates] if grad is not None else None
    return lowest_of(prune_scores(c.name, w, g, mest_lambda=mest_lambda), candidates, k)


def _inputs(c, weights, grads, masks) -> tuple[dict, dict]:
    """Flat weights and grads per layer for what row ``c`` needs (None where it needs nothing)."""
    flat_w, flat_g = {}, {}
    for name, mask in masks.items():
        w = g = None
        if c.needs_weight:
            w = check_like(name, "weight", (weights or {}).get(name), mask).reshape(-1)
        if c.needs_grad:
            g = check_like(name, "grad", (grads or {}).get(name), mask).reshape(-1)
        flat_w[name], flat_g[name] = w, g
    return flat_w, flat_g


def select_prune(criterion: str, weights, grads, masks, counts, *, generator, mest_lambda: float = 1.0) -> dict:
    """LOCAL pruning: in every layer choose ``counts[layer]`` active weights to remove.

    Parameters
    ----------
    criterion:
        A criterion of the table (``fwanalysis.vocab.CRITERIA``).
    weights:
        Layer name -> weights θ (needed by all but ``random``, which may pass None).
    grads:
        Layer name -> dense gradient ∇θ (needed by the criteria whose row ``needs_grad``: mest, sensitivity,
        rsensitivity, snip; else may be None).
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
    as many as its rule removes, see ``rules.set_legacy_choice``).
    """
    import torch

    c = _row(criterion)
    check_cpu_generator(generator)
    counts = check_counts(counts, masks)
    flat_w, flat_g = _inputs(c, weights, grads, masks)
    out = {}
    for name, mask in masks.items():
        active = torch.nonzero(mask.reshape(-1)).squeeze(1)
        k = min(counts[name], active.numel())
        chosen = _choose(c, flat_w[name], flat_g[name], active, k, generator=generator, mest_lambda=mest_lambda)
        out[name] = to_mask(chosen, mask)
    return out


def _concat(flat: dict, layers: list[str]):
    """The flat tensors of ``layers`` joined end to end, or None when the criterion does not use them."""
    import torch

    if flat[layers[0]] is None:
        return None
    return torch.cat([flat[n] for n in layers])


def select_prune_global(criterion: str, weights, grads, masks, total: int, *, generator, mest_lambda=1.0) -> dict:
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
    import torch

    c = _row(criterion)
    check_cpu_generator(generator)
    total = check_total(total)
    flat_w, flat_g = _inputs(c, weights, grads, masks)
    layers = list(masks)
    if not layers:
        return {}
    sizes = [masks[n].numel() for n in layers]
    all_mask = torch.cat([masks[n].reshape(-1) for n in layers])
    active = torch.nonzero(all_mask).squeeze(1)
    k = min(total, active.numel())
    chosen = _choose(
        c,
        _concat(flat_w, layers),
        _concat(flat_g, layers),
        active,
        k,
        generator=generator,
        mest_lambda=mest_lambda,
        global_scope=True,
    )
    selected = to_mask(chosen, all_mask)
    return {n: part.reshape(masks[n].shape) for n, part in zip(layers, torch.split(selected, sizes))}


# -- the criteria's choices, by the trainer's rules ---------------------------------------------------------
def shadow_sets(
    criteria: Iterable[str],
    weights: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray | None],
    masks: Mapping[str, np.ndarray],
    counts: Mapping[str, int],
    *,
    mest_lambda: float = 1.0,
    seed: int = 0,
    step: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """What each built-in criterion would remove: per layer, ``counts[layer]`` of its active weights.

    The trainer's rules (``fwanalysis.criteria.select.select_prune``, local scope): the lowest scores among the
    active weights, ties by flat index; ``set`` balanced by sign, ``set-legacy`` its own count; ``random`` drawn
    by the trainer's generator of (``seed``, ``step``, criterion). Needs torch (imported here, when called).

    Parameters
    ----------
    criteria:
        Built-in criterion names (the table's, ``fwanalysis.vocab.CRITERIA``).
    weights, grads:
        Layer name -> weights θ and minibatch gradients ∇θ (numpy, the layer's shape); a gradient may be
        None when no chosen criterion needs it.
    masks:
        Layer name -> boolean mask before the update (True = active; only active weights are chosen).
    counts:
        Layer name -> number of weights to remove (clipped to the active count).
    mest_lambda:
        λ of MEST's |θ| + λ|∇θ|.
    seed, step:
        The run's seed and the update's step, which seed the generator of ``random``.

    Returns
    -------
    criterion -> layer -> boolean array of the layer's shape, True at the weights it would remove.
    """
    import torch

    criteria = list(criteria)
    for crit in criteria:
        c = row(crit)
        if c is None:
            raise ValueError(f"shadow criterion {crit!r} is not one of: {', '.join(names())}")
        for name in masks:
            if c.needs_grad and grads.get(name) is None:
                raise ValueError(
                    f"shadow criterion {crit!r} needs the gradient of layer {name!r}: "
                    "call before_update after loss.backward()"
                )

    def tensors(arrays: Mapping, dtype=None) -> dict:
        return {
            n: None if a is None else torch.from_numpy(np.ascontiguousarray(a, dtype=dtype)) for n, a in arrays.items()
        }

    w, g, m = tensors(weights), tensors(grads), tensors(masks, bool)
    counts = {n: min(int(counts.get(n, 0)), int(m[n].sum())) for n in m}
    out: dict[str, dict[str, np.ndarray]] = {}
    for crit in criteria:
        gen = topology_generator(seed, step, crit)
        sets = select_prune(crit, w, g, m, counts, generator=gen, mest_lambda=mest_lambda)
        out[crit] = {n: s.numpy() for n, s in sets.items()}
    return out
