"""Jaccard similarity of weight sets, layer by layer and averaged over layers (Nowak et al. 2023, Eq. 1).

A *layer set* is ``{layer name: packed uint8 bitset}`` (docs/format.md, "Packed bitsets"), all
masked layers of one model. Definitions (docs/format.md, "Definitions the analyses use"):

- Jaccard of two sets A, B of one layer: ``|A ∩ B| / |A ∪ B|``; NaN when both are empty.
- Layer-averaged Jaccard: the mean over layers of the per-layer Jaccard, NaN layers left out
  (NaN when every layer is NaN).

Sets stay packed and are counted with popcount: every layer's bitset is read as uint64 words (a
view, copied only when its byte length is not a multiple of 8); for each pair, ``bitwise_count(a & b)``
is summed per layer with ``np.add.reduceat``, and unions come from ``|A ∪ B| = |A| + |B| - |A ∩ B|``,
so each pair costs one AND and one popcount pass over the model.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: pandas is imported where frames are made
    import pandas as pd


__all__ = [
    "AT_CHOICES",
    "JaccardResult",
    "JaccardAggregate",
    "jaccard_layers",
    "jaccard",
    "jaccard_matrix",
    "reference_jaccard",
    "aggregate_jaccard",
    "jaccard_summary",
    "jaccard_over_time",
]

from fwanalysis.vocab import JACCARD_AT as AT_CHOICES

REFERENCE_NAMES = {"first": "J_r", "time": "J_r", "end": "J_init"}
REFERENCE_CRITERIA = {"first": "random", "time": "random", "end": "init"}

LayerSets = Mapping[str, np.ndarray]


def _check_at(at: str) -> str:
    if at not in AT_CHOICES:
        raise ValueError(f"at={at!r} is not one of {', '.join(map(repr, AT_CHOICES))}")
    return at


def _as_bitset(arr, layer: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype != np.uint8 or a.ndim != 1:
        raise TypeError(
            f"layer {layer!r}: expected a packed bitset (1-D uint8, numpy.packbits of the flat mask), "
            f"got dtype {a.dtype} with shape {a.shape}"
        )
    return a


def _layer_names(sets: Sequence[LayerSets | None]) -> list[str]:
    """Layer names of the first set (model order); every other set must have the same layers."""
    present = [s for s in sets if s is not None]
    if not present:
        return []
    names = list(present[0])
    want = set(names)
    for i, s in enumerate(present[1:], 1):
        if set(s) != want:
            missing = sorted(want - set(s))[:3]
            extra = sorted(set(s) - want)[:3]
            raise ValueError(f"layer sets disagree on layers: set {i} lacks {missing} and has extra {extra}")
    return names


def _layer_bytes(sets: Sequence[LayerSets | None], names: list[str]) -> np.ndarray:
    """Bytes per layer, checked equal across sets."""
    present = [s for s in sets if s is not None]
    nbytes = np.zeros(len(names), dtype=np.int64)
    for li, name in enumerate(names):
        lengths = {_as_bitset(s[name], name).shape[0] for s in present}
        if len(lengths) != 1:
            raise ValueError(f"layer {name!r}: bitsets of different lengths {sorted(lengths)} cannot be compared")
        nbytes[li] = lengths.pop()
    return nbytes


def _ratio(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    inter = np.asarray(inter, dtype=np.float64)
    union = np.asarray(union, dtype=np.float64)
    out = np.full(np.broadcast(inter, union).shape, np.nan)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def _nanmean(values: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """Mean along ``axis`` leaving NaN out; NaN where every value is NaN (no warning)."""
    values = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(values)
    count = ok.sum(axis=axis)
    total = np.where(ok, values, 0.0).sum(axis=axis)
    out = np.full(np.shape(count), np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out if out.ndim else float(out)


def _words(arr: np.ndarray) -> np.ndarray:
    """A packed layer bitset as uint64 words: a view when its length is a multiple of 8, else a zero-padded copy."""
    a = np.ascontiguousarray(arr)
    if a.shape[0] % 8 == 0:
        return a.view(np.uint64)
    padded = np.zeros((a.shape[0] + 7) // 8 * 8, dtype=np.uint8)
    padded[: a.shape[0]] = a
    return padded.view(np.uint64)


# Scratch for popcounts is at most this many bytes; row blocks are sized to fit it.
_SCRATCH_BYTES = 64 << 20
_LANES = np.uint64(0x00FF00FF00FF00FF)
_FOLD = np.uint64(0x0001000100010001)


def _byte_sums(pop_row: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Sum of each 8 bytes of a uint8 row of popcounts (each <= 64), as uint64, without widening every byte.

    Adds byte pairs into four 16-bit lanes (<= 128 each), then folds the lanes into the top 16 bits
    with one multiply (<= 512): five word operations on an eighth of the elements.
    """
    x = pop_row.view(np.uint64)
    np.bitwise_and(x, _LANES, out=y)
    np.right_shift(x, np.uint64(8), out=z)
    np.bitwise_and(z, _LANES, out=z)
    np.add(y, z, out=y)
    np.multiply(y, _FOLD, out=y)
    np.right_shift(y, np.uint64(48), out=y)
    return y


def _pair_counts(sets: Sequence[LayerSets | None], pairs: Sequence[tuple[int, int]]) -> tuple[list[str], np.ndarray]:
    """``|A_i ∩ A_j|`` per layer for each ``(i, j)`` in ``pairs`` (``i == j`` gives ``|A_i|``).

    Returns the layer names and an int64 array ``(len(pairs), layers)``. Sets stay packed: each layer
    is viewed as uint64 words (copied only when its byte length is not a multiple of 8). Per layer
    and pair, ``bitwise_count(a & b)`` goes into a uint8 row laid out layer after layer (each layer
    padded with zeros to a multiple of 8 words); each row is then summed 8 bytes at a time
    (:func:`_byte_sums`) and over layer boundaries with one ``np.add.reduceat``. Layers are the outer
    loop, so the k bitsets of a layer stay in cache while all pairs are counted.
    """
    names = _layer_names(sets)
    nbytes = _layer_bytes(sets, names)
    out = np.zeros((len(pairs), len(names)), dtype=np.int64)
    nwords = (nbytes + 7) // 8
    nonempty = nwords > 0
    if not pairs or not nonempty.any():
        return names, out
    used = sorted({i for p in pairs for i in p})
    cols = [{i: _words(sets[i][name]) for i in used} for name, n in zip(names, nwords) if n]
    nw = nwords[nonempty]
    off = np.concatenate([[0], np.cumsum((nw + 7) // 8 * 8)]).astype(np.intp)  # layer starts in a row
    width = int(off[-1])
    tmp = np.empty(int(nw.max()), dtype=np.uint64)
    y = np.empty(width // 8, dtype=np.uint64)
    z = np.empty(width // 8, dtype=np.uint64)
    block = max(1, min(len(pairs), _SCRATCH_BYTES // width))
    pop = np.zeros((block, width), dtype=np.uint8)  # pad bytes are never written, so stay 0
    for b0 in range(0, len(pairs), block):
        rows = pairs[b0 : b0 + block]
        for li, col in enumerate(cols):
            s = off[li]
            e = s + nw[li]
            t = tmp[: e - s]
            for r, (i, j) in enumerate(rows):
                if i == j:
                    np.bitwise_count(col[i], out=pop[r, s:e])
                else:
                    np.bitwise_and(col[i], col[j], out=t)
                    np.bitwise_count(t, out=pop[r, s:e])
        for r in range(len(rows)):
            out[b0 + r, nonempty] = np.add.reduceat(_byte_sums(pop[r], y, z), off[:-1] // 8)
    return names, out


def jaccard_layers(a: LayerSets, b: LayerSets) -> dict[str, float]:
    """Per-layer Jaccard ``|A ∩ B| / |A ∪ B|`` of two layer sets; NaN for a layer where both are empty.

    Parameters: ``a``, ``b``: ``{layer: packed uint8 bitset}`` with the same layers and lengths.
    Returns: ``{layer: jaccard}`` in the layer order of ``a``.
    """
    names, c = _pair_counts([a, b], [(0, 0), (1, 1), (0, 1)])
    return dict(zip(names, _ratio(c[2], c[0] + c[1] - c[2]).tolist()))


def jaccard(a: LayerSets, b: LayerSets) -> float:
    """Layer-averaged Jaccard of two layer sets (Nowak et al. 2023, Eq. 1); NaN layers left out.

    Returns NaN when both sets are empty in every layer.
    """
    return _nanmean(np.fromiter(jaccard_layers(a, b).values(), dtype=np.float64))


def jaccard_matrix(sets: Sequence[LayerSets | None]) -> np.ndarray:
    """k×k symmetric matrix of layer-averaged Jaccard between k layer sets.

    Parameters: ``sets``: k layer sets of one model (same layers, same lengths). An entry may be
    ``None`` (a run that is absent): its row and column are NaN.
    Returns: float64 array ``(k, k)``; the diagonal is 1 (NaN for a set empty in every layer).

    Counting stays on packed bits: per layer, ``|A ∩ B|`` is the sum of ``np.bitwise_count(a & b)``
    over uint64 words (summed per layer with ``np.add.reduceat``), ``|A|`` likewise, and
    ``|A ∪ B| = |A| + |B| - |A ∩ B|``: one AND and one popcount pass per pair.
    """
    sets = list(sets)
    k = len(sets)
    out = np.full((k, k), np.nan)
    idx = [i for i, s in enumerate(sets) if s is not None]
    pairs = [(i, i) for i in idx] + list(combinations(idx, 2))
    _, counts = _pair_counts(sets, pairs)
    size = {i: counts[n] for n, i in enumerate(idx)}
    for (i, j), inter in zip(pairs, counts):
        out[i, j] = out[j, i] = _nanmean(_ratio(inter, size[i] + size[j] - inter))
    return out


def reference_jaccard(sets_by_seed: Sequence[LayerSets | None]) -> float:
    """Mean layer-averaged Jaccard over all pairs of different seeds (one layer set per seed).

    Used for J_r (the random criterion's sets at the first update, one per seed) and J_init (the
    initial masks, one per seed). ``None`` entries and NaN pairs are left out; NaN with fewer than
    two seeds.
    """
    m = jaccard_matrix(list(sets_by_seed))
    vals = m[np.triu_indices(len(m), k=1)]
    vals = vals[~np.isnan(vals)]
    return float(vals.mean()) if vals.size else math.nan


@dataclass(frozen=True)
class JaccardAggregate:
    """Cell-wise mean, std and count of k×k Jaccard matrices over seeds and groups."""

    mean: np.ndarray
    std: np.ndarray
    n: np.ndarray
    groups: int


def aggregate_jaccard(per_seed: Sequence[np.ndarray], *, groups: Sequence[Hashable] | None = None) -> JaccardAggregate:
    """Average k×k Jaccard matrices over seeds, then over groups (the mean of group means).

    Parameters: ``per_seed``: one k×k matrix per (group, seed), NaN where a pair is absent.
    ``groups``: the group of each matrix (same length); default: all in one group.
    Returns: per cell, ``mean`` = mean over groups of the group's mean over seeds; ``std`` = mean over
    groups of the group's population standard deviation over seeds (ddof=0, so one seed gives 0);
    ``n`` = number of non-NaN values behind the cell (all groups); ``groups`` = number of groups.
    NaN values are left out; a cell with no value is NaN (``n`` 0).
    """
    mats = [np.asarray(m, dtype=np.float64) for m in per_seed]
    if groups is None:
        groups = [0] * len(mats)
    groups = list(groups)
    if len(groups) != len(mats):
        raise ValueError(f"{len(mats)} matrices but {len(groups)} group labels")
    if not mats:
        raise ValueError("no matrices to aggregate")
    shapes = {m.shape for m in mats}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"matrices must all be k×k of one size, got shapes {sorted(shapes)}")
    order = list(dict.fromkeys(groups))
    g_mean, g_std, n = [], [], np.zeros(mats[0].shape, dtype=np.int64)
    for g in order:
        stack = np.stack([m for m, gg in zip(mats, groups) if gg == g])
        ok = ~np.isnan(stack)
        cnt = ok.sum(axis=0)
        mean = _nanmean(stack, axis=0)
        dev = np.where(ok, stack - np.nan_to_num(mean), 0.0)
        var = np.full(cnt.shape, np.nan)
        np.divide((dev**2).sum(axis=0), cnt, out=var, where=cnt > 0)
        g_mean.append(mean)
        g_std.append(np.sqrt(var))
        n += cnt
    return JaccardAggregate(
        mean=_nanmean(np.stack(g_mean), axis=0),
        std=_nanmean(np.stack(g_std), axis=0),
        n=n,
        groups=len(order),
    )


def _none_if_nan(x):
    if isinstance(x, (list, tuple)):
        return [_none_if_nan(v) for v in x]
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


@dataclass(frozen=True)
class JaccardResult:
    """Criterion × criterion Jaccard summary, the data of ``fwa jaccard --at first|end`` (Nowak et al. 2023, Fig. 6).

    ``criteria`` labels rows and columns (for ``at="end"``: the criteria, then ``"init"`` last);
    ``mean``/``std``/``n`` are k×k (see :func:`aggregate_jaccard`); the reference is J_r (random
    criterion's first-update sets across seeds) or J_init (initial masks across seeds).
    """

    at: str
    criteria: list[str]
    mean: np.ndarray
    std: np.ndarray
    n: np.ndarray
    reference_name: str
    reference_value: float
    groups: int = 1

    def __post_init__(self):
        _check_at(self.at)
        object.__setattr__(self, "criteria", list(self.criteria))
        for key, dtype in (("mean", np.float64), ("std", np.float64), ("n", np.int64)):
            object.__setattr__(self, key, np.asarray(getattr(self, key), dtype=dtype))
        k = len(self.criteria)
        for key in ("mean", "std", "n"):
            if np.shape(getattr(self, key)) != (k, k):
                raise ValueError(
                    f"{key} has shape {np.shape(getattr(self, key))}, expected ({k}, {k}) for {k} criteria"
                )

    def to_frame(self):
        """Long table: one row per (row, col) cell with mean, std, n, and the reference."""
        import pandas as pd

        k = len(self.criteria)
        ref = (
            f"{self.reference_name}={self.reference_value:.4f}"
            if self.reference_value == self.reference_value
            else self.reference_name
        )
        return pd.DataFrame(
            {
                "row": [a for a in self.criteria for _ in range(k)],
                "col": [b for _ in range(k) for b in self.criteria],
                "mean": np.asarray(self.mean, float).ravel(),
                "std": np.asarray(self.std, float).ravel(),
                "n": np.asarray(self.n).astype(int).ravel(),
                "reference": ref,
            }
        )

    def to_json(self) -> dict:
        """The JSON object of the CLI contract; NaN becomes None."""
        return {
            "at": self.at,
            "criteria": list(self.criteria),
            "mean": _none_if_nan(np.asarray(self.mean, dtype=float).tolist()),
            "std": _none_if_nan(np.asarray(self.std, dtype=float).tolist()),
            "n": np.asarray(self.n).astype(int).tolist(),
            "reference": {"name": self.reference_name, "value": _none_if_nan(float(self.reference_value))},
            "groups": int(self.groups),
        }


def jaccard_summary(
    sets: Mapping[tuple[Hashable, Hashable], Mapping[str, LayerSets | None]],
    *,
    criteria: Sequence[str],
    at: str = "first",
    reference_criterion: str | None = None,
) -> JaccardResult:
    """Criterion × criterion Jaccard, mean and std over seeds then groups, with its reference.

    Parameters: ``sets``: ``{(group, seed): {criterion: layer set}}``: for ``at="first"`` the sets
    removed at the first update, for ``at="end"`` the final masks plus ``"init"`` (the shared initial
    mask of that seed). A criterion missing for a seed gives NaN for its pairs there.
    ``criteria``: row/column order (for ``"end"`` put ``"init"`` last).
    ``reference_criterion``: whose sets across seeds give the reference; default ``"random"`` (J_r)
    for ``first``/``time`` and ``"init"`` (J_init) for ``end``. The reference is the mean over groups
    of :func:`reference_jaccard` within each group.
    """
    _check_at(at)
    criteria = list(criteria)
    ref_c = reference_criterion or REFERENCE_CRITERIA[at]
    mats, groups = [], []
    by_group: dict[Hashable, list] = {}
    for (group, _seed), per_crit in sets.items():
        mats.append(jaccard_matrix([per_crit.get(c) for c in criteria]))
        groups.append(group)
        by_group.setdefault(group, []).append(per_crit.get(ref_c))
    agg = aggregate_jaccard(mats, groups=groups)
    refs = np.array([reference_jaccard(v) for v in by_group.values()])
    return JaccardResult(
        at=at,
        criteria=criteria,
        mean=agg.mean,
        std=agg.std,
        n=agg.n,
        reference_name=REFERENCE_NAMES[at] if ref_c == REFERENCE_CRITERIA[at] else f"J_{ref_c}",
        reference_value=_nanmean(refs),
        groups=agg.groups,
    )


def jaccard_over_time(rows: pd.DataFrame) -> pd.DataFrame:
    """Jaccard over training ("--at time"): mean over seeds, then over groups, with std (Fig. 18).

    Parameters: ``rows`` with columns ``step``, ``run_criterion``, ``other``, ``seed``, ``jaccard`` and
    optionally ``group`` (absent: one group); one row per (group, seed, step, run_criterion, other).
    Returns: columns ``step``, ``run_criterion``, ``other``, ``jaccard``, ``std``, ``n``, sorted by
    (run_criterion, other, step). ``jaccard`` is the mean over groups of the mean over seeds; ``std`` is
    the mean over groups of the population std over seeds (ddof=0); ``n`` counts the values behind it.
    NaN Jaccard values are left out.
    """
    need = {"step", "run_criterion", "other", "seed", "jaccard"}
    import pandas as pd  # noqa: F401  (only this function works on frames)

    missing = sorted(need - set(rows.columns))
    if missing:
        raise ValueError(f"rows lack columns {missing}; have {list(rows.columns)}")
    df = rows.copy()
    if "group" not in df.columns:
        df["group"] = 0
    df = df[df["jaccard"].notna()]
    keys = ["run_criterion", "other", "step"]
    per_group = (
        df.groupby(keys + ["group"], sort=False, dropna=False)["jaccard"]
        .agg(jaccard="mean", std=lambda s: s.std(ddof=0), n="count")
        .reset_index()
    )
    out = (
        per_group.groupby(keys, sort=False, dropna=False)
        .agg(jaccard=("jaccard", "mean"), std=("std", "mean"), n=("n", "sum"))
        .reset_index()
    )
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    return out[["step", "run_criterion", "other", "jaccard", "std", "n"]]


def layerwise_std(
    sets: Mapping[tuple[Hashable, Hashable], Mapping[str, LayerSets | None]], *, criteria: Sequence[str]
) -> np.ndarray:
    """k×k standard deviation over seeds taken per layer, then averaged over layers (paper Fig. 20).

    The paper's first-update index is the mean over seeds per layer, averaged over layers; its standard
    deviation is therefore computed per layer (population std over seeds, ddof=0) and averaged over the
    layers, and over groups when ``sets`` holds several. NaN layers (both sets empty) are left out.
    """
    criteria = list(criteria)
    k = len(criteria)
    per_group: dict[Hashable, list[dict[tuple[int, int], dict[str, float]]]] = {}
    for (group, _seed), per_crit in sets.items():
        cells = {}
        for i in range(k):
            for j in range(k):
                a, b = per_crit.get(criteria[i]), per_crit.get(criteria[j])
                if a is not None and b is not None:
                    cells[(i, j)] = jaccard_layers(a, b)
        per_group.setdefault(group, []).append(cells)
    out = []
    for seeds in per_group.values():
        g = np.full((k, k), np.nan)
        for i in range(k):
            for j in range(k):
                layers = sorted({name for s in seeds for name in s.get((i, j), {})})
                stds = []
                for name in layers:
                    v = np.array([s[(i, j)][name] for s in seeds if (i, j) in s and name in s[(i, j)]], dtype=float)
                    v = v[~np.isnan(v)]
                    if v.size:
                        stds.append(float(v.std()))
                if stds:
                    g[i, j] = float(np.mean(stds))
        out.append(g)
    return _nanmean(np.stack(out), axis=0) if out else np.full((k, k), np.nan)
