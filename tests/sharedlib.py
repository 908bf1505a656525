"""``build_once``: what is expensive to make and read-only once made, made once per test session."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path


def build_once(tmp_path_factory, name: str, build: Callable[[Path], object]) -> Path:
    """The folder ``name``, made by ``build(folder)`` once per test session and shared read-only.

    Under pytest-xdist (``make test`` runs ``-n 2``) every worker asks for it; the first builds it holding a
    lock and the others block on that lock until it is built (an event, not a sleep), then use the same
    folder. A build that failed part-way is thrown away and made again by the next asker."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers' base folders are siblings in this run's folder
        base = base.parent
    folder, built = base / f"shared-{name}", base / f"shared-{name}.built"
    with open(base / f"shared-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not built.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            built.touch()
    return folder
