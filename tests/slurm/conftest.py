"""The Slurm tests run `fw-train sweep --executor slurm` against a real single-node Slurm cluster
(tests/slurm/cluster.sh; `make test` starts one when it can). Without one they are skipped with the
reason, or fail where ``FWA_REQUIRE_SLURM=1`` (CI)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import slurmlib

PARTITION = "debug"


@functools.cache  # asked at collection and by the fixture: one sinfo (a dead controller takes ~20 s)
def _down() -> tuple[str | None, str]:
    """(why no cluster can be used, or None; the SLURM_CONF to use).

    Only a cluster named by ``SLURM_CONF`` is used (``make test`` sets it; ``eval "$(cluster.sh start)"``
    exports it): a suite run elsewhere never sends jobs to a test cluster it did not ask for."""
    conf = os.environ.get("SLURM_CONF", "")
    if os.environ.get("FWA_SLURM_DOWN"):  # make test tried to start one and says why it could not
        return f"no Slurm test cluster: {os.environ['FWA_SLURM_DOWN']}", conf
    hint = 'start one with `eval "$(tests/slurm/cluster.sh start)"` (as root), or run `make test` as root'
    if not conf:
        return f"no Slurm test cluster: SLURM_CONF is not set; {hint}", conf
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return f"no Slurm test cluster: Slurm's commands are not installed; {hint}", conf
    if not Path(conf).is_file():
        return f"no Slurm test cluster: no {conf}; {hint}", conf
    try:
        r = subprocess.run(
            ["sinfo", "-h", "-p", PARTITION, "-o", "%T"],
            capture_output=True,
            text=True,
            timeout=20,
            env={**os.environ, "SLURM_CONF": conf},
        )
    except subprocess.TimeoutExpired:
        return f"no Slurm test cluster: sinfo did not answer in 20 s (SLURM_CONF={conf}); {hint}", conf
    states = r.stdout.split()
    if r.returncode != 0 or not any(
        s.rstrip("*").startswith(("idle", "mixed", "allocated", "completing")) for s in states
    ):
        why = (
            r.stderr.strip().splitlines()
            or [f"partition {PARTITION} has no usable node ({' '.join(states) or 'none'})"]
        )[0]
        return f"no Slurm test cluster ({why}; SLURM_CONF={conf}); {hint}", conf
    return None, conf


@pytest.fixture(scope="session")
def slurm_conf() -> str:
    """The SLURM_CONF of a running test cluster; skips (or fails, with FWA_REQUIRE_SLURM=1) without one."""
    why, conf = _down()
    if why is not None:
        if os.environ.get("FWA_REQUIRE_SLURM") == "1":
            pytest.fail(f"FWA_REQUIRE_SLURM=1 and {why}", pytrace=False)
        pytest.skip(why)
    return conf


def pytest_collection_finish(session):
    """Start the two time-limit sweeps as soon as the tests are collected, where tests that use them are
    selected and a cluster is up: they mostly wait for Slurm (up to 150 s; slurmlib.TIME_LIMIT), and that wait
    is then spent while the rest of the suite runs. A sweep no test took over is stopped at the end."""
    wanted = [
        deaf
        for deaf, name in ((False, "timed_out"), (True, "killed_at_limit"))
        if any(name in getattr(item, "fixturenames", ()) for item in session.items)
    ]
    if not wanted or session.config.option.collectonly or _down()[0] is not None:
        return
    factory = getattr(session.config, "_tmp_path_factory", None)  # pytest's tmp_path_factory
    for deaf in wanted:
        name = "killed" if deaf else "timeout"
        directory = factory.mktemp(name) if factory is not None else Path(tempfile.mkdtemp(prefix=f"fwa-slurm-{name}-"))
        slurmlib.EARLY[deaf] = slurmlib.start_time_limit_sweep(directory, _down()[1], deaf=deaf)

    def stop_left():
        for started in list(slurmlib.EARLY.values()):
            slurmlib.stop_sweep(*started)
        slurmlib.EARLY.clear()

    session.config.add_cleanup(stop_left)
