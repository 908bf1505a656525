"""Seeded splits and per-channel normalisation, on numpy arrays.

Arrays are ``(N, C, ...)``: images ``(N, C, H, W)``, tables ``(N, F)`` where every feature
counts as a channel.
"""

from __future__ import annotations

import numpy as np


def holdout_split(n: int, *, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into (kept, held out) with ``round(fraction * n)`` held out.

    The held-out rows are a uniformly random subset drawn with ``numpy.random.default_rng(seed)``;
    both index arrays are returned sorted, so the split is a function of ``(n, fraction, seed)``.
    """
    held = int(round(fraction * n))
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[held:]), np.sort(order[:held])


def three_way_split(
    n: int, *, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``range(n)`` into (train, val, test) index arrays; val and test get
    ``round(fraction * n)`` rows each, train the rest. Deterministic per seed, sorted."""
    n_val, n_test = int(round(val_fraction * n)), int(round(test_fraction * n))
    order = np.random.default_rng(seed).permutation(n)
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return np.sort(train), np.sort(val), np.sort(test)


def channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (float64) over all axes but axis 1.

    ``uint8`` arrays are summarised through a 256-bin histogram per channel, which is exact
    and needs no float copy of the data (Tiny-ImageNet is ~1.1 GB as uint8). A zero standard
    deviation is replaced by 1 so constant channels normalise to 0 instead of NaN.
    """
    if x.dtype == np.uint8:
        mean, std = _uint8_channel_stats(x)
    else:
        axes = tuple(axis for axis in range(x.ndim) if axis != 1)
        mean = x.mean(axis=axes, dtype=np.float64)
        std = x.std(axis=axes, dtype=np.float64)
    return mean, np.where(std > 0, std, 1.0)


def _uint8_channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-channel mean and std of a uint8 array from value histograms."""
    values = np.arange(256, dtype=np.float64)
    means, stds = [], []
    for channel in range(x.shape[1]):
        counts = np.bincount(np.ascontiguousarray(x[:, channel]).ravel(), minlength=256)
        weights = counts / counts.sum()
        mean = float(weights @ values)
        means.append(mean)
        stds.append(float(np.sqrt(weights @ (values - mean) ** 2)))
    return np.array(means), np.array(stds)


def normalise(x: np.ndarray, *, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` per channel (axis 1), as a new float32 array."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    out = x.astype(np.float32)
    out -= mean.astype(np.float32).reshape(shape)
    out /= std.astype(np.float32).reshape(shape)
    return out
