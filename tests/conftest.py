"""Fixtures shared by several test modules: a live process, and file systems mounted for disk faults."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sharedlib import session_folder


def pytest_configure(config):
    """Under pytest-xdist (make test: two workers on two cores) each worker's torch computes on one thread:
    two workers with a thread per core each would contend for the cores (torch's threads spin while they
    wait), which made in-process trainings several times slower. Set before any test module imports torch;
    the sweeps the tests start inherit it (their pool workers set their own count)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist the tests marked ``slow`` run first, one module's after another's in turn: xdist
    deals the first tests out one by one to the workers in turn, so the long ones are spread over the
    workers and the many short ones fill in at the end (a long test left for last keeps one worker busy
    while the other has nothing to do), and the workers' first tests need different shared fixtures (one
    worker building a ``build_once`` folder while the other waits for it wasted both)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    by_module: dict[str, list] = {}
    for item in items:
        if item.get_closest_marker("slow") is not None:
            by_module.setdefault(item.nodeid.split("::")[0], []).append(item)
    slow = [item for turn in itertools.zip_longest(*by_module.values()) for item in turn if item is not None]
    items[:] = slow + [item for item in items if item.get_closest_marker("slow") is None]


@pytest.fixture(scope="session", autouse=True)
def _no_fsync():
    """``os.fsync`` returns at once in the test processes (as ``eatmydata`` makes it): the suite writes
    thousands of small files, each flushed to disk by fwa's atomic writes, and the waits were a fifth of
    the wall time of some modules. What a power cut leaves cannot be tested here anyway; the tests that
    check fwa calls fsync where it must (tests/artifacts/test_durability.py, test_io.py) record the calls
    over this one. Sweeps the tests start in subprocesses keep the real fsync."""
    real = os.fsync
    os.fsync = lambda fd: None
    yield
    os.fsync = real


@pytest.fixture
def sleeper():
    """A live process of this user that does nothing for a minute (a lock holder that is alive)."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield p
    p.kill()
    p.wait()


def _mount(*args: str) -> str | None:
    """Run ``mount``; the reason it failed, or None."""
    try:
        res = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return None if res.returncode == 0 else (res.stderr.strip() or f"mount exited {res.returncode}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@pytest.fixture
def tmpfs(tmp_path):
    """``mount(size)``: a tmpfs of ``size`` (e.g. ``"200k"``) at a new directory; ``resize(size)`` grows it.
    Skips where mounting is not permitted (not root, or a container without CAP_SYS_ADMIN)."""
    mounted = []

    class Tmpfs:
        def mount(self, size: str) -> Path:
            d = tmp_path / f"tmpfs{len(mounted)}"
            d.mkdir()
            why = _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d))
            if why:
                pytest.skip(f"cannot mount a tmpfs here ({why}): needs root with CAP_SYS_ADMIN")
            mounted.append(d)
            return d

        def remount(self, d: Path, options: str) -> None:
            why = _mount("-o", f"remount,{options}", str(d))
            assert why is None, why

        def bind_ro(self, src: Path) -> Path:
            """A read-only view of ``src`` (a bind mount remounted read-only)."""
            d = tmp_path / f"ro{len(mounted)}"
            d.mkdir()
            why = _mount("--bind", str(src), str(d))
            if why:
                pytest.skip(f"cannot bind-mount here ({why}): needs root with CAP_SYS_ADMIN")
            mounted.append(d)
            why = _mount("-o", "remount,bind,ro", str(d))
            if why:
                pytest.skip(f"cannot remount a bind mount read-only here ({why})")
            return d

    yield Tmpfs()
    for d in reversed(mounted):
        _umount(d)


@pytest.fixture(scope="session", autouse=True)
def _data_cache(tmp_path_factory):
    """Generated data sets (mnist1d, digits' splits) are cached in a folder of this test session, never in the
    user's home; subprocesses the tests start inherit it. Under pytest-xdist the workers share one folder
    (the cache writes each file atomically, and two writers of one file write the same bytes)."""
    before = os.environ.get("FWA_DATA_CACHE")
    cache = session_folder(tmp_path_factory) / "data-cache"
    cache.mkdir(exist_ok=True)
    os.environ["FWA_DATA_CACHE"] = str(cache)
    yield
    if before is None:
        os.environ.pop("FWA_DATA_CACHE", None)
    else:
        os.environ["FWA_DATA_CACHE"] = before
