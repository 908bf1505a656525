"""Atomic file writes: a temporary name in the same directory, then ``os.replace`` (ARTIFACTS.md, "Writing safely")."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np


class ArtifactError(Exception):
    """A run artifact that cannot be read: carries the run, the file and the problem."""

    def __init__(self, run: str, file: str, problem: str):
        self.run = str(run)
        self.file = str(file)
        self.problem = str(problem)
        super().__init__(f"run {self.run}: {self.file}: {self.problem}")


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``, on error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(path, obj) -> None:
    """Write ``obj`` as UTF-8 JSON (indented, keys in insertion order) atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False, allow_nan=False)
            f.write("\n")


def write_npz(path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays with ``numpy.savez_compressed`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def write_bytes(path, data: bytes) -> None:
    """Write bytes atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
