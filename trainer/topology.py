"""One topology update of the DST loop (trainer/loop.py): prune ρ_t of the active weights by the run's criterion,
regrow as many, fix the weights and momentum of the changed ones, and record the pruned, grown and shadow sets.

The loop decides when (``update_period``, ``update_end``) and on which side of the optimizer step (``update_order``,
the criterion's row of the criterion table); this module decides what. The random choices of an update come from
generators of (seed, step, criterion or "growth"), independent of the training RNG (``topology_generator``).
"""

from __future__ import annotations

import torch

from fwanalysis.criteria.rules import topology_generator

from .sparsity.criteria import count_of, prune_counts, select_prune, select_prune_global
from .sparsity.growth import select_grow

__all__ = ["update_topology", "global_grow_counts"]


def global_grow_counts(growth, grads, masks, total, *, generator) -> dict[str, int]:
    """Per-layer regrowth counts for global scope: top-|∇| or uniform over all inactive weights."""
    names = list(masks)
    inactive = [(~masks[n]).reshape(-1) for n in names]
    sizes = torch.tensor([int(i.sum()) for i in inactive])
    total = min(total, int(sizes.sum()))
    if growth == "gradient":
        scores = torch.cat(
            [
                torch.where(i, grads[n].reshape(-1).abs(), torch.tensor(-1.0, device=i.device))
                for n, i in zip(names, inactive)
            ]
        )
        top = torch.topk(scores.cpu(), total).indices
        bounds = torch.tensor([0] + [m.numel() for m in masks.values()]).cumsum(0)
        per = torch.bucketize(top, bounds[1:], right=True)
    else:
        pick = torch.randperm(int(sizes.sum()), generator=generator)[:total]
        per = torch.bucketize(pick, sizes.cumsum(0), right=True)
    counts = torch.bincount(per, minlength=len(names))
    return {n: int(c) for n, c in zip(names, counts)}


def update_topology(c, step, rho_t, params, names, masks, grads, opt, writer, shadows, *, dump_state, once=False):
    """Prune ρ_t of the active weights by ``c.criterion``, regrow as many; record; return new masks.

    ``once`` (DST at density 1, measured once): the sets are computed and recorded with grown = pruned, and
    the masks, weights and momentum are left as they are.
    """
    weights = {n: params[n].detach() for n in names}
    if writer is not None and dump_state:
        writer.write_state(step, weights, grads, masks)
    lam = c.mest_lambda
    asked = prune_counts(masks, rho_t, rounding=c.prune_rounding)
    if c.pruning_scope == "global":  # one ranking across layers: a total count
        active = sum(int(m.sum()) for m in masks.values())
        select, how_many = select_prune_global, count_of(rho_t, active, c.prune_rounding)
    else:
        select, how_many = select_prune, asked
    gen = topology_generator(c.seed, step, c.criterion)
    pruned = select(c.criterion, weights, grads, masks, how_many, generator=gen, mest_lambda=lam)
    counts = {n: int(pruned[n].sum()) for n in names}
    # the count every shadow criterion is given per layer: what the run's pruning asked for (local), or the
    # per-layer counts of its global ranking; set-legacy removes its own number, so the counts of a
    # set-legacy run are the asked ones, not its removed ones
    shadow_counts = asked if c.pruning_scope != "global" else counts
    shadow_sets = {}
    for crit in shadows:
        if crit == c.criterion:
            shadow_sets[crit] = pruned
        else:  # same weights, same gradient, same per-layer count
            shadow_sets[crit] = select_prune(
                crit,
                weights,
                grads,
                masks,
                shadow_counts,
                generator=topology_generator(c.seed, step, crit),
                mest_lambda=lam,
            )
    if once:
        grown = {n: p.clone() for n, p in pruned.items()}
        if writer is not None:
            writer.write_update(step, pruned, grown, shadow_sets)
        return masks
    kept = {n: masks[n] & ~pruned[n] for n in names}
    grow_gen = topology_generator(c.seed, step, "growth")
    if c.pruning_scope == "global" and c.global_regrowth == "across-layers":
        grow_counts = global_grow_counts(c.growth, grads, kept, sum(counts.values()), generator=grow_gen)
    else:  # local, or global with per-layer regrowth: each layer regrows as many as it lost
        grow_counts = counts
    grown = select_grow(c.growth, grads, kept, grow_counts, generator=grow_gen, count=c.growth_count)
    new_masks = {n: kept[n] | grown[n] for n in names}
    reset_momentum = c.update_order != "sparselearning"  # the authors' code never touches the momentum buffers
    with torch.no_grad():
        for n in names:
            p = params[n]
            # inactive weights are zero here (re-masked after every step): multiplying by the new mask zeroes
            # the pruned ones and keeps the value of one regrown where it was just pruned, as the authors'
            # code does (growth runs before apply_mask); "zero" starts every regrown weight at zero (RigL)
            p.mul_(new_masks[n])
            if c.regrown_weights == "zero":
                p.masked_fill_(grown[n], 0.0)
            buf = opt.state.get(p, {}).get("momentum_buffer")
            if buf is not None and reset_momentum:
                buf.masked_fill_(pruned[n] | grown[n], 0.0)
    if writer is not None:
        writer.write_update(step, pruned, grown, shadow_sets)
    return new_masks
