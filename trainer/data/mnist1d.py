"""MNIST-1D (Greydanus, 2020): 10 classes of 40-sample signals, generated offline by the ``mnist1d`` package.

Each signal is one of ten 1-D digit templates, padded, translated, scaled, sheared and blurred with
correlated and independent noise, then resampled to 40 points (``mnist1d.data.make_dataset``). The
package's default arguments give 5,000 signals, 4,000 for training and 1,000 for test, from generator
seed 42: the published benchmark. fwa generates exactly that set and carves a seeded 10% validation
hold-out from the training part: 3,600 / 400 / 1,000 signals, inputs shaped ``(1, 40)``.

Generating takes several seconds, so the arrays are kept in a cache file, ``mnist1d-<version>.npz`` in
``$FWA_DATA_CACHE`` (default ``~/.cache/fwa``; :mod:`.cache`), written atomically the first time. A cache file
that cannot be read or does not hold what the generator gives (names, shapes, dtypes, labels, a checksum) is
left as it is and the data are generated in memory; a cache that cannot be written only costs the time again.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from .cache import cache_file, cached_arrays
from .cache import store as _store
from .errors import DatasetError

__all__ = ["MNIST1D_SHAPE", "cache_path", "generate_mnist1d", "mnist1d_arrays", "store"]

MNIST1D_SHAPE = (1, 40)
_COUNTS = {"x": 4000, "x_test": 1000}


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mnist1d")
    except PackageNotFoundError:
        raise DatasetError(
            "mnist1d: the generator package is not installed; pip install mnist1d (or fwa[train])"
        ) from None


def generate_mnist1d() -> dict[str, np.ndarray]:
    """The benchmark from the package's default arguments: ``x`` (4000, 40) and ``x_test`` (1000, 40) float32,
    ``y`` and ``y_test`` int64. The generator seeds Python's and numpy's global random state; both are
    restored afterwards, so loading the data changes no other random draw."""
    _package_version()
    from mnist1d.data import get_dataset_args, make_dataset

    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        made = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {
        "x": np.asarray(made["x"], dtype=np.float32),
        "y": np.asarray(made["y"], dtype=np.int64),
        "x_test": np.asarray(made["x_test"], dtype=np.float32),
        "y_test": np.asarray(made["y_test"], dtype=np.int64),
    }


def _valid(arrays: dict[str, np.ndarray]) -> bool:
    for x, y in (("x", "y"), ("x_test", "y_test")):
        n = _COUNTS[x]
        a, b = arrays.get(x), arrays.get(y)
        if a is None or b is None or a.dtype != np.float32 or b.dtype != np.int64:
            return False
        if a.shape != (n, MNIST1D_SHAPE[1]) or b.shape != (n,) or not np.isfinite(a).all():
            return False
        if b.min() < 0 or b.max() > 9:
            return False
    return True


def mnist1d_arrays() -> dict[str, np.ndarray]:
    """The benchmark's arrays, from the cache when it holds them, else generated (and cached when the cache
    file does not exist yet and can be written)."""
    return cached_arrays(f"mnist1d-{_package_version()}", generate_mnist1d, _valid, what="mnist1d")


def cache_path() -> Path:
    """Where the generated arrays are kept: ``$FWA_DATA_CACHE`` or ``~/.cache/fwa``, one file per package version."""
    return cache_file(f"mnist1d-{_package_version()}")


def store(arrays: dict[str, np.ndarray], path: Path | None = None) -> None:
    """Keep generated arrays in the cache file, unless a file is there already (never replaced) or it cannot
    be written (a read-only home: the data are generated again next time)."""
    _store(arrays, cache_path() if path is None else path)
