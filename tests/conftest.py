"""Fixtures shared by several test modules."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.fixture
def sleeper():
    """A live process of this user that does nothing for a minute (a lock holder that is alive)."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield p
    p.kill()
    p.wait()
