"""Sparse topology of Dynamic Sparse Training: initialisation, pruning criteria, growth, schedules.

Pure functions on dicts of torch tensors (layer name -> tensor), on any device. All randomness
comes from an explicit CPU ``torch.Generator``; draws are made on CPU and moved to the tensors'
device, so a run gives the same masks on CPU and CUDA.

One topology update of a layer set, local pruning::

    fraction = prune_fraction("cosine", step, rho=0.5, update_end=T)
    counts = prune_counts(masks, fraction)
    pruned = select_prune("magnitude", weights, grads, masks, counts, generator=g)
    after = {n: masks[n] & ~pruned[n] for n in masks}
    grown = select_grow("gradient", grads, after, counts, generator=g)
    masks = {n: after[n] | grown[n] for n in masks}
"""

from .criteria import CRITERIA, EPS, prune_counts, prune_scores, select_prune, select_prune_global
from .growth import GROWTH, select_grow
from .init import DENSITY_METHODS, initial_masks, layer_densities
from .schedules import SCHEDULES, prune_fraction

__all__ = [
    "CRITERIA",
    "DENSITY_METHODS",
    "EPS",
    "GROWTH",
    "SCHEDULES",
    "initial_masks",
    "layer_densities",
    "prune_counts",
    "prune_fraction",
    "prune_scores",
    "select_grow",
    "select_prune",
    "select_prune_global",
]
