"""Arrays that take seconds to make, kept between processes: one ``<name>.npz`` in ``$FWA_DATA_CACHE``
(default ``~/.cache/fwa``), written atomically the first time and never replaced.

A cache file that cannot be read, or does not hold what its maker gives (``valid`` refuses it, or the sha256 of
its arrays stored beside them does not match), is left as it is and the arrays are made in memory, with a
one-line warning; a cache that cannot be written only costs the time again.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fwanalysis.artifacts.io import read_regular, write_npz

__all__ = ["CACHE_ENV", "cache_file", "cached_arrays", "store"]

CACHE_ENV = "FWA_DATA_CACHE"
_MAX_BYTES = 8 << 20  # what fwa caches takes ~1 MB a file


def cache_file(name: str) -> Path:
    """``$FWA_DATA_CACHE/<name>.npz`` (default ``~/.cache/fwa``)."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "fwa"
    return Path(root).expanduser() / f"{name}.npz"


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    """Over the arrays in their order (the order they are written in and read back): a cache of mnist1d written
    before this module existed checks out the same."""
    h = hashlib.sha256()
    for key, a in arrays.items():
        h.update(key.encode() + np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _read(path: Path, valid: Callable[[dict], bool], what: str) -> dict[str, np.ndarray] | None:
    try:
        data = read_regular(path, max_bytes=_MAX_BYTES)
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        return None
    except Exception as e:  # not a regular file, too large, not an npz (zipfile and zlib raise errors of their own)
        _warn(f"{what}: the cache {path} is unreadable ({type(e).__name__}); making the data in memory")
        return None
    stored = arrays.pop("sha256", None)
    if stored is None or str(stored) != _checksum(arrays) or not valid(arrays):
        _warn(f"{what}: the cache {path} does not hold the data; it is left as it is, the data are made in memory")
        return None
    return arrays


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def cached_arrays(
    name: str, make: Callable[[], dict[str, np.ndarray]], valid: Callable[[dict], bool], *, what: str
) -> dict[str, np.ndarray]:
    """The arrays of ``cache_file(name)`` when it holds them (``valid`` accepts them and their checksum
    matches), else ``make()`` (and cached when the file does not exist yet and can be written). ``what``
    names the data in warnings."""
    path = cache_file(name)
    cached = _read(path, valid, what)
    if cached is not None:
        return cached
    arrays = make()
    store(arrays, path)
    return arrays


def store(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Keep ``arrays`` in ``path``, unless a file is there already (never replaced) or it cannot be written
    (a read-only home: the data are made again next time)."""
    if os.path.lexists(path):
        return
    try:
        write_npz(path, {**arrays, "sha256": np.array(_checksum(arrays))})
    except OSError:
        pass
