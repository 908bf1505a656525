"""The fault-free reference study every fault test compares with (the mounts for the disk faults, ``tmpfs``, are
in tests/conftest.py)."""

from __future__ import annotations

import sys

import pytest
from faultlib import SEEDS, Reference, complete_runs, run_sweep, write_spec

if not sys.platform.startswith("linux"):
    pytest.skip("fault injection reads /proc and mounts file systems (Linux only)", allow_module_level=True)


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Reference:
    """The study trained once without faults (the same spec, ``--jobs 2``)."""
    d = tmp_path_factory.mktemp("reference")
    rc, out = run_sweep(write_spec(d), d / "study", d / "sweep.log")
    assert rc == 0, out
    runs = complete_runs(d / "study")
    assert len(runs) == len(SEEDS)
    return Reference(study=d / "study", files=sum(1 for r in runs.values() for f in r.rglob("*") if f.is_file()))
