"""The folder a test run shares between its pytest-xdist workers, and ``build_once``: what is expensive to make
and read-only once made, made there once per test session."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path


def session_folder(tmp_path_factory) -> Path:
    """The folder of this test run that every pytest-xdist worker sees (a plain run's own base folder): the
    workers' base folders are siblings in it."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory, name: str, build: Callable[[Path], object]) -> Path:
    """The folder ``name``, made by ``build(folder)`` once per test session and shared read-only.

    Under pytest-xdist (``make test`` runs ``-n 2``) every worker asks for it; the first builds it holding a
    lock and the others block on that lock until it is built (an event, not a sleep), then use the same
    folder. A build that failed part-way is thrown away and made again by the next asker."""
    base = session_folder(tmp_path_factory)
    folder, built = base / f"shared-{name}", base / f"shared-{name}.built"
    with open(base / f"shared-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not built.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            built.touch()
    return folder
