"""The browser tests open ``fwa report``'s index.html in a real headless browser: Debian's chromium, driven by
Playwright for Python (the dev extra; no ``playwright install``: it launches /usr/bin/chromium). Without
chromium the tests install it as tests/slurm/cluster.sh installs Slurm (apt-get, as root); where they cannot,
they are skipped with the reason, or fail where ``FWA_REQUIRE_BROWSER=1`` (CI)."""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
APT_TIMEOUT = 900  # s: chromium and its libraries are about 100 MB


def _apt(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], capture_output=True, text=True, env=env, timeout=APT_TIMEOUT)


def _install() -> str | None:
    """apt-get install chromium (then update and again, as cluster.sh does); why it could not, or None."""
    if os.geteuid() != 0:
        return f"no {CHROMIUM} and not root: cannot apt-get install chromium"
    if shutil.which("apt-get") is None:
        return f"no {CHROMIUM} and no apt-get to install chromium"
    # one installer at a time (pytest-xdist workers): the others wait on the lock, then find it installed
    with open(Path(tempfile.gettempdir()) / "fwa-chromium-install.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists():
            return None
        r = _apt("install", "-y", "-q", "chromium")
        if r.returncode != 0:
            _apt("update", "-q")
            r = _apt("install", "-y", "-q", "chromium")
    if r.returncode != 0 or not CHROMIUM.exists():
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return f"apt-get install chromium failed ({last})"
    return None


@functools.cache
def _missing() -> str | None:
    """Why no browser can be used, or None (installing chromium where it is missing and we may)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if CHROMIUM.exists():
        return None
    try:
        return _install()
    except subprocess.TimeoutExpired:
        return f"apt-get install chromium took more than {APT_TIMEOUT} s"


@pytest.fixture(scope="session")
def browser():
    """A headless chromium (Playwright's Browser); skips, or fails with FWA_REQUIRE_BROWSER=1, without one."""
    why = _missing()
    if why is not None:
        if os.environ.get("FWA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"FWA_REQUIRE_BROWSER=1 and {why}", pytrace=False)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # as root chromium refuses its sandbox; the page is the report's own, read from disk
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"] if os.geteuid() == 0 else [])
        yield b
        b.close()
