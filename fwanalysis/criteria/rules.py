"""The selection rules' building blocks, on torch tensors: the lowest scores, SET, the authors' SET, random.

Ties are broken by position: within a layer by flat (C-order) index, across layers (global pruning) by the
order of the layers and then flat index. The lowest ``k`` are the set ``torch.argsort(stable=True)[:k]`` over
the active weights only (listed in ascending index order), so inactive weights can never be chosen and the
choice is the same on CPU and CUDA whenever the scores are. Random choices draw ``torch.randperm`` on a CPU
generator and move the result to the weights' device.

For ``set`` a weight equal to zero (either sign of zero) counts as positive. The paper's public code (``SET``
option) keeps only the most negative weights instead; ``set`` follows the paper's definition and ``set-legacy``
the code. ``set-legacy`` removes its own number of weights, not ``k``.

torch is imported inside each function (when called), never when this module is imported: the analysis
installs without torch, and the Recorder and the trainer call the same rules.
"""

from __future__ import annotations

import hashlib
import operator

__all__ = [
    "as_float",
    "check_counts",
    "check_cpu_generator",
    "check_like",
    "check_total",
    "choose_random",
    "choose_set",
    "choose_set_legacy",
    "lowest",
    "lowest_of",
    "random_choice",
    "set_choice",
    "set_legacy_choice",
    "to_mask",
    "topology_generator",
]


def topology_generator(seed: int, step: int, tag: str):
    """A CPU ``torch.Generator`` for the random choices of one update (criterion or growth ``tag``).

    Independent of the training RNG, so recording shadow sets never changes training.
    """
    import torch

    h = hashlib.sha256(f"{seed}/{step}/{tag}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(h[:8], "little") & (2**63 - 1))


def check_cpu_generator(generator) -> None:
    """Raise unless ``generator`` is a CPU ``torch.Generator`` (draws are made on CPU, then moved)."""
    import torch

    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != "cpu":
        raise ValueError(f"generator must be a CPU torch.Generator, got one on {generator.device}")


def as_float(t):
    """Tensor ``t`` detached, in at least float32 (half-precision weights are scored in float32)."""
    import torch

    t = t.detach()
    return t.to(torch.promote_types(t.dtype, torch.float32))


def _count(name: str, value) -> int:
    """``value`` as a non-negative int, or ValueError naming the layer."""
    try:
        k = operator.index(value)
    except TypeError:
        raise ValueError(f"count for layer {name!r} must be an integer, got {value!r}") from None
    if k < 0:
        raise ValueError(f"count for layer {name!r} must be >= 0, got {k}")
    return k


def check_counts(counts: dict, masks: dict) -> dict[str, int]:
    """Counts for every layer of ``masks`` (missing layers get 0); unknown layers are an error."""
    unknown = [n for n in counts if n not in masks]
    if unknown:
        raise ValueError(f"counts name layers that are not in masks: {unknown!r}; layers: {list(masks)!r}")
    return {name: _count(name, counts.get(name, 0)) for name in masks}


def check_total(total) -> int:
    """The total count of global pruning as a non-negative int."""
    return _count("<all>", total)


def check_like(name: str, what: str, t, mask):
    """Return tensor ``t`` after checking it exists and has the mask's shape."""
    if t is None:
        raise ValueError(f"no {what} given for layer {name!r}")
    if tuple(t.shape) != tuple(mask.shape):
        raise ValueError(f"{what} of layer {name!r} has shape {tuple(t.shape)}, mask has {tuple(mask.shape)}")
    return t


def lowest(scores, candidates, k: int):
    """The ``k`` entries of ``candidates`` (ascending flat indices) with the lowest ``scores``, ties by index."""
    return lowest_of(scores[candidates], candidates, k)


def lowest_of(s, candidates, k: int):
    """The ``k`` entries of ``candidates`` with the lowest candidate scores ``s`` (aligned), ties by index.

    The same set as ``argsort(s, stable=True)[:k]``, found in linear time: everything below the k-th
    smallest score, then the lowest-index entries equal to it. (With NaN scores it sorts, as before.)
    """
    import torch

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


def random_choice(candidates, k: int, generator):
    """``k`` entries of ``candidates`` uniformly at random (a CPU ``randperm``, moved to their device)."""
    import torch

    if k == 0:
        return candidates[:0]
    perm = torch.randperm(candidates.numel(), generator=generator)[:k]
    return candidates[perm.to(candidates.device)]


def set_choice(weight, candidates, k: int):
    """SET's choice among ``candidates`` of flat ``weight``: ⌈k/2⌉ smallest θ ≥ 0 and ⌊k/2⌋ largest θ < 0.

    If one sign has too few candidates the rest come from the other sign, so that
    ``min(k, #candidates)`` weights are chosen (NaN weights belong to neither sign and are never chosen).
    """
    import torch

    values = weight[candidates]
    pos = candidates[values >= 0]
    neg = candidates[values < 0]
    k_neg = min(k // 2, neg.numel())  # ⌊k/2⌋ negatives if there are enough ...
    k_pos = min(k - k_neg, pos.numel())  # ... so ⌈k/2⌉ (or more) non-negatives ...
    k_neg = min(k - k_pos, neg.numel())  # ... and negatives make up for missing non-negatives
    magnitude = weight.abs()
    return torch.cat([lowest(magnitude, pos, k_pos), lowest(magnitude, neg, k_neg)])


def set_legacy_choice(weight, candidates, k: int, *, global_scope: bool):
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
    import torch

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


# -- the rules of the criteria that are not a score, as the table's ``choose``: (flat weight or None, candidates,
# k, *, generator, global_scope) -> the flat indices removed
def choose_set(weight, candidates, k: int, *, generator, global_scope: bool):
    return set_choice(as_float(weight), candidates, k)


def choose_set_legacy(weight, candidates, k: int, *, generator, global_scope: bool):
    return set_legacy_choice(as_float(weight), candidates, k, global_scope=global_scope)


def choose_random(weight, candidates, k: int, *, generator, global_scope: bool):
    return random_choice(candidates, k, generator)


def to_mask(indices, like):
    """A bool tensor shaped and placed like ``like`` that is True exactly at the flat ``indices``."""
    import torch

    flat = torch.zeros(like.numel(), dtype=torch.bool, device=like.device)
    flat[indices] = True
    return flat.reshape(like.shape)
