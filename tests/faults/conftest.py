"""The fault-free reference study every fault test compares with (the mounts for the disk faults, ``tmpfs``, are
in tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from faultlib import SEEDS, Reference, complete_runs, run_sweep, write_spec
from sharedlib import build_once

if not sys.platform.startswith("linux"):
    pytest.skip("fault injection reads /proc and mounts file systems (Linux only)", allow_module_level=True)


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Reference:
    """The study trained once without faults (the same spec, ``--jobs 2``)."""

    def train(d: Path) -> None:
        rc, out = run_sweep(write_spec(d), d / "study", d / "sweep.log")
        assert rc == 0, out

    d = build_once(tmp_path_factory, "fault-reference", train)  # one for all xdist workers
    runs = complete_runs(d / "study")
    assert len(runs) == len(SEEDS)
    return Reference(study=d / "study", files=sum(1 for r in runs.values() for f in r.rglob("*") if f.is_file()))
