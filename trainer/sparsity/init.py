"""Sparse initialisation: per-layer densities (ER, ERK, uniform, dense) and the random initial masks.

ER is the Erdős–Rényi topology of SET (Mocanu et al. 2018); ERK its convolutional extension from
RigL (Evci et al. 2020), whose capping loop (``get_sparsities_erdos_renyi`` in RigL's
``sparse_utils.py``) makes any layer that would exceed density 1 dense and rescales the rest.

Shapes follow PyTorch's layout: a Linear weight is ``(out, in)``, a conv weight ``(out, in, kh, kw)``.
"""

from __future__ import annotations

import math

import torch

__all__ = ["DENSITY_METHODS", "layer_densities", "initial_masks"]

from fwanalysis.criteria.rules import check_cpu_generator as _check_cpu_generator
from fwanalysis.vocab import INITS as DENSITY_METHODS


def _raw_score(shape: tuple[int, ...], *, method: str, erk_power_scale: float) -> float:
    """Unscaled Erdős–Rényi density of one layer (before multiplying by epsilon).

    ``er``: (n_out + n_in) / (n_out * n_in) from the first two dimensions, ignoring a kernel;
    ``erk``: (sum of all dimensions / product of all dimensions) ** ``erk_power_scale``.
    """
    if method == "er":
        n_out, n_in = shape[0], shape[1]
        return (n_out + n_in) / (n_out * n_in)
    return (sum(shape) / math.prod(shape)) ** erk_power_scale


def layer_densities(
    shapes: dict[str, tuple[int, ...]],
    density: float,
    *,
    method: str,
    erk_power_scale: float = 1.0,
) -> dict[str, float]:
    """Per-layer densities whose weighted mean over all weights is ``density``.

    Parameters
    ----------
    shapes:
        Layer name -> weight shape (PyTorch layout). ``er`` needs at least 2 dimensions; every
        dimension must be positive.
    density:
        Overall fraction of active weights, in (0, 1]. At 1 every layer is dense.
    method:
        ``"er"`` (Mocanu et al. 2018: density ∝ (n_in + n_out) / (n_in · n_out), a conv kernel's
        spatial size is ignored), ``"erk"`` (Evci et al. 2020: density ∝ sum(shape) / prod(shape),
        which equals ER for 2-D weights), ``"uniform"`` (every layer gets ``density``) or
        ``"dense"`` (every layer gets 1.0).
    erk_power_scale:
        Exponent on the ERK score (RigL's ``erk_power_scale``; < 1 softens ERK). Used by ``erk`` only,
        as in RigL.

    Returns
    -------
    Layer name -> density in (0, 1], in the order of ``shapes``. For ``er``/``erk`` the layers
    that would exceed 1 are set to exactly 1.0 (repeatedly, the largest-score layers first, as in
    RigL) and epsilon is solved on the rest so that ``sum(d_l * numel_l) == density * sum(numel_l)``
    up to float rounding. Unlike RigL, which floors the number of zeros per layer, the counts here
    are real-valued, so the overall density is exact; ``initial_masks`` does the rounding.
    """
    if method not in DENSITY_METHODS:
        raise ValueError(f"method {method!r} is not one of: {', '.join(DENSITY_METHODS)}")
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density!r}")
    if not erk_power_scale > 0:
        raise ValueError(f"erk_power_scale must be > 0, got {erk_power_scale!r}")
    for name, shape in shapes.items():
        if len(shape) == 0 or any(int(d) <= 0 for d in shape):
            raise ValueError(f"layer {name!r} has shape {tuple(shape)!r}; every dimension must be positive")
        if method == "er" and len(shape) < 2:
            raise ValueError(
                f"method 'er' needs weights with at least 2 dimensions; layer {name!r} has shape {tuple(shape)!r}"
            )

    if method == "dense" or density == 1.0:
        return {name: 1.0 for name in shapes}
    if method == "uniform":
        return {name: float(density) for name in shapes}

    numel = {name: math.prod(int(d) for d in shape) for name, shape in shapes.items()}
    raw = {
        name: _raw_score(tuple(int(d) for d in shape), method=method, erk_power_scale=erk_power_scale)
        for name, shape in shapes.items()
    }
    dense: set[str] = set()
    while True:
        # eps * sum_{sparse} raw_l * n_l  +  sum_{dense} n_l  =  density * sum_all n_l
        rhs = density * sum(numel.values()) - sum(numel[n] for n in dense)
        divisor = sum(raw[n] * numel[n] for n in shapes if n not in dense)
        eps = rhs / divisor
        max_raw = max(raw[n] for n in shapes if n not in dense)
        if eps * max_raw <= 1.0 + 1e-12:  # tolerance: the last sparse layer may land on 1 exactly
            break
        dense.update(n for n in shapes if n not in dense and raw[n] == max_raw)
    return {name: 1.0 if name in dense else min(1.0, eps * raw[name]) for name in shapes}


def initial_masks(
    shapes: dict[str, tuple[int, ...]],
    densities: dict[str, float],
    *,
    generator: torch.Generator,
    device: torch.device | str | None = None,
) -> dict[str, torch.Tensor]:
    """Random masks with exactly ``round(density * numel)`` active weights per layer.

    Parameters
    ----------
    shapes:
        Layer name -> weight shape.
    densities:
        Layer name -> density in [0, 1] (e.g. from ``layer_densities``); must cover every layer.
    generator:
        CPU ``torch.Generator``; the active positions are the first k entries of
        ``torch.randperm(numel, generator=generator)``, drawn layer by layer in the order of ``shapes``
        (on CPU, so the masks are the same whatever ``device`` is).
    device:
        Where the masks are created (default CPU); pass the weights' device.

    Returns
    -------
    Layer name -> bool tensor of the layer's shape on ``device``. ``round`` is Python's (half to even).
    """
    _check_cpu_generator(generator)
    masks = {}
    for name, shape in shapes.items():
        if name not in densities:
            raise ValueError(f"no density given for layer {name!r}")
        d = float(densities[name])
        if not 0.0 <= d <= 1.0:
            raise ValueError(f"density of layer {name!r} must be in [0, 1], got {d!r}")
        n = math.prod(int(s) for s in shape)
        k = round(d * n)
        flat = torch.zeros(n, dtype=torch.bool, device=device)
        flat[torch.randperm(n, generator=generator)[:k].to(flat.device)] = True
        masks[name] = flat.reshape(tuple(shape))
    return masks
