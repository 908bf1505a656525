"""In-Time Over-Parameterization (ITOP) ratio, rebuilt from a run's initial mask and its updates.

Liu et al. 2021, "Do we actually need dense over-parameterization? In-time over-parameterization in
sparse training" (ICML): the ITOP ratio at step t is the fraction of all weights of the masked layers
that have been active at some step up to t, ``|M_0 ∪ M_1 ∪ ... ∪ M_t| / total weights``.

Masks after each update follow the run format (docs/format.md): ``mask_after = (mask_before & ~pruned) | grown``.
Everything stays in packed uint8 bitsets; counting is popcount.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from fwanalysis.artifacts.bitset import popcount

__all__ = ["replay_masks", "itop_curve", "itop_ratio"]

LayerSets = Mapping[str, np.ndarray]


def _update_parts(update) -> tuple[int, LayerSets, LayerSets]:
    """``(step, pruned, grown)`` from a tuple or from an object with those attributes (e.g. UpdateSets)."""
    if hasattr(update, "pruned") and hasattr(update, "grown"):
        return int(update.step), update.pruned, update.grown
    step, pruned, grown = update
    return int(step), pruned, grown


def _bitset(arr, layer: str, nbytes: int, what: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype != np.uint8 or a.shape != (nbytes,):
        raise ValueError(
            f"layer {layer!r}: {what} must be a packed uint8 bitset of {nbytes} bytes, "
            f"got dtype {a.dtype} with shape {a.shape}"
        )
    return a


def replay_masks(initial: LayerSets, updates: Iterable) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Rebuild the mask after each update: ``mask_after = (mask_before & ~pruned) | grown``.

    Parameters: ``initial``: ``{layer: packed mask}`` before the first update. ``updates``: in step
    order, each ``(step, pruned, grown)`` with ``{layer: packed bitset}`` sets (a layer missing from
    ``pruned`` or ``grown`` counts as empty), or any object with ``step``, ``pruned`` and ``grown``
    attributes (such as ``fwanalysis.artifacts.UpdateSets``).
    Yields: ``(step, mask)`` after each update, in order (the initial mask is not yielded). Each mask
    is a new dict of new arrays; the inputs are not modified.
    """
    mask = {name: np.array(arr, dtype=np.uint8, copy=True) for name, arr in initial.items()}
    for update in updates:
        step, pruned, grown = _update_parts(update)
        unknown = (set(pruned) | set(grown)) - set(mask)
        if unknown:
            raise ValueError(f"update at step {step} names layers not in the initial mask: {sorted(unknown)[:5]}")
        new = {}
        for name, m in mask.items():
            out = m
            if name in pruned:
                out = out & ~_bitset(pruned[name], name, m.shape[0], "pruned")
            if name in grown:
                out = out | _bitset(grown[name], name, m.shape[0], "grown")
            new[name] = out if out is not m else m.copy()
        mask = new
        yield step, mask


def _total_weights(initial: LayerSets, numel: Mapping[str, int] | None) -> int:
    if numel is None:
        return sum(8 * np.asarray(a).shape[0] for a in initial.values())
    missing = sorted(set(initial) - set(numel))
    if missing:
        raise ValueError(f"numel lacks layers {missing[:5]}")
    for name, a in initial.items():
        if (int(numel[name]) + 7) // 8 != np.asarray(a).shape[0]:
            raise ValueError(
                f"layer {name!r}: numel {numel[name]} does not fit a bitset of {np.asarray(a).shape[0]} bytes"
            )
    return sum(int(numel[name]) for name in initial)


def itop_curve(
    initial: LayerSets,
    updates: Iterable,
    *,
    initial_step: int = 0,
    numel: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """ITOP ratio after each update (Liu et al. 2021): ``|union of masks so far| / total weights``.

    Parameters: ``initial``, ``updates``: as in :func:`replay_masks`. ``initial_step``: the step of
    the initial mask (its row comes first). ``numel``: ``{layer: number of weights}`` (run.json
    ``layers``); without it each layer counts ``8 * bytes`` weights, exact only when every layer's
    size is a multiple of 8.
    Returns: DataFrame with columns ``step`` (int64) and ``itop`` (float64), one row for the initial
    mask and one per update.

    Since ``mask_after ⊆ mask_before ∪ grown`` and ``grown ⊆ mask_after``, the union of the masks up
    to an update is the initial mask united with every grown set so far; that is what is counted.
    """
    total = _total_weights(initial, numel)
    names = list(initial)
    nbytes = [np.asarray(initial[n]).shape[0] for n in names]
    offsets = np.concatenate([[0], np.cumsum(nbytes)]).astype(np.intp)
    # The union of all masks so far, every layer in one buffer so one popcount counts it.
    union = np.empty(int(offsets[-1]), dtype=np.uint8)
    layer = {}
    for n, s, e in zip(names, offsets[:-1], offsets[1:]):
        layer[n] = union[s:e]
        layer[n][:] = _bitset(initial[n], n, e - s, "initial mask")

    def ratio() -> float:
        return popcount(union) / total if total else float("nan")

    steps, values = [int(initial_step)], [ratio()]
    for update in updates:
        step, pruned, grown = _update_parts(update)
        unknown = (set(pruned) | set(grown)) - set(layer)
        if unknown:
            raise ValueError(f"update at step {step} names layers not in the initial mask: {sorted(unknown)[:5]}")
        # mask_after = (mask_before & ~pruned) | grown only ever adds the grown weights, so the union
        # of all masks is the initial mask united with every grown set: no need to replay the masks.
        for n, g in grown.items():
            u = layer[n]
            np.bitwise_or(u, _bitset(g, n, u.shape[0], "grown"), out=u)
        for n, p in pruned.items():
            _bitset(p, n, layer[n].shape[0], "pruned")
        steps.append(step)
        values.append(ratio())
    return pd.DataFrame({"step": np.array(steps, dtype=np.int64), "itop": np.array(values, dtype=np.float64)})


def itop_ratio(initial: LayerSets, updates: Iterable, *, numel: Mapping[str, int] | None = None) -> float:
    """The ITOP ratio after the last update (of the initial mask when there is none); see :func:`itop_curve`."""
    return float(itop_curve(initial, updates, numel=numel)["itop"].iloc[-1])
