"""Fault injection on ``fw-train sweep --executor local --jobs 2`` (docs/sweeps.md, "Faults").

Each test breaks a sweep of four tiny runs on the embedded digits data (a worker or the sweep killed
at a random moment, a stop signal, a full disk, a read-only study), checks what the fault leaves (a
killed worker loses its own run only: the sweep trains the others),
then runs the same sweep again and checks that it finishes the study: every run complete, ``fwa
validate`` clean, each run's files byte-equal to the fault-free reference (run.json but for its
times), and the runs that were complete before the fault untouched (never trained twice).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from faultlib import (
    FW_TRAIN,
    JOBS,
    MODEL,
    SEEDS,
    assert_same_run,
    assert_untouched,
    children,
    complete_runs,
    finish,
    gone,
    lock_pids,
    run_dirs,
    run_sweep,
    snapshot,
    start_sweep,
    status,
    sweep_env,
    wait_for,
    write_spec,
)


def _files(study) -> int:
    """Files of the runs written so far (temporary files and locks not counted)."""
    return sum(
        1 for f in (study / MODEL).rglob("*") if f.is_file() and not f.name.startswith(".") and ".locks" not in f.parts
    )


def _start_and_wait(spec, study, log, reference, seed: int):
    """Start the sweep and wait until a random share (seeded) of the study's files is written, plus a
    random few milliseconds: a moment chosen by progress, not by the clock, so that a slower or faster
    machine sees the same spread of moments. Return the process and the workers seen."""
    rng = random.Random(seed)
    target = rng.randint(0, int(0.7 * reference.files))
    p = start_sweep(spec, study, log, jobs=JOBS)
    wait_for(lambda: lock_pids(study) - {p.pid}, 60, "a worker to claim a run")
    workers = children(p.pid)  # the pool's workers (and multiprocessing's resource tracker)
    wait_for(lambda: _files(study) >= target or p.poll() is not None, 120, f"{target} files to be written")
    time.sleep(rng.uniform(0.0, 0.05))
    assert p.poll() is None, "the sweep ended before the fault"
    return p, workers | lock_pids(study) - {p.pid}


def _reap(p) -> None:
    if p.poll() is None:
        p.kill()
        p.wait()


# -- a worker killed ------------------------------------------------------------------------------


@pytest.mark.slow  # two real sweeps in subprocesses
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_worker_sigkilled_at_a_random_moment(tmp_path, reference, seed):
    spec, study, log = write_spec(tmp_path), tmp_path / "study", tmp_path / "faulty.log"
    p, _ = _start_and_wait(spec, study, log, reference, seed)
    try:
        victim = wait_for(lambda: sorted(lock_pids(study) - {p.pid}), 30, "a worker holding a run")[0]
        os.kill(victim, signal.SIGKILL)
        rc = p.wait(120)
    finally:
        _reap(p)
    out = log.read_text()
    assert gone(victim)
    # only the victim's run is lost: the other worker and a new one in the victim's place finish the rest
    failed = re.findall(
        r"^failed: (\S+): not done: its worker process died, killed by SIGKILL \(the out-of-memory killer", out, re.M
    )
    assert "Traceback" not in out, out
    assert len(re.findall(r"^failed:", out, re.M)) == len(failed) <= 1, out
    complete = complete_runs(study)
    assert len(complete) == len(SEEDS) - len(failed), out
    if failed:  # the usual case; with none, the victim was killed after marking its run complete
        assert rc == 1 and re.search(r"^error: 1 of \d+ runs failed .*run the sweep again", out, re.M), out
        assert failed[0] not in complete
    else:
        assert rc == 0, out
    finish(spec, study, reference.study, tmp_path / "finish.log")


# -- the sweep killed -----------------------------------------------------------------------------


@pytest.mark.slow  # two real sweeps in subprocesses
@pytest.mark.parametrize("seed", [4])
def test_sweep_sigkilled_at_a_random_moment(tmp_path, reference, seed):
    spec, study, log = write_spec(tmp_path), tmp_path / "study", tmp_path / "faulty.log"
    p, workers = _start_and_wait(spec, study, log, reference, seed)
    try:
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    finally:
        _reap(p)
    wait_for(lambda: all(gone(w) for w in workers), 10, f"the workers {sorted(workers)} to die with the sweep")
    left = {k: status(d) for k, d in run_dirs(study).items() if status(d) != "complete"}
    assert set(left.values()) <= {"running", None}  # killed mid-run: never marked anything
    finish(spec, study, reference.study, tmp_path / "finish.log")


# -- the sweep stopped ----------------------------------------------------------------------------


@pytest.mark.slow  # two real sweeps in subprocesses
@pytest.mark.parametrize("seed", [6])
def test_sigterm_marks_the_running_runs_failed_and_the_next_sweep_finishes(tmp_path, reference, seed):
    spec, study, log = write_spec(tmp_path), tmp_path / "study", tmp_path / "faulty.log"
    p, workers = _start_and_wait(spec, study, log, reference, seed)
    try:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(60)
    finally:
        _reap(p)
    out = log.read_text()
    assert rc == 1 and "Traceback" not in out, out
    assert re.search(r"^error: stopped by SIGTERM", out, re.M), out
    wait_for(lambda: all(gone(w) for w in workers), 15, "the workers to exit")
    assert list((study / MODEL / ".locks").glob("*.lock")) == []  # every stopped worker released its lock
    dirs = run_dirs(study)
    # stopped as its directory was made, before its run.json: nothing in it (the run counts as missing)
    assert all(not list(d.iterdir()) for d in dirs.values() if not (d / "run.json").exists())
    stopped = {
        k: json.loads((d / "run.json").read_text())
        for k, d in dirs.items()
        if (d / "run.json").exists() and status(d) != "complete"
    }
    # the format has no "interrupted" status: a stopped run is failed, and says why (docs/artifacts.md)
    assert all(m["status"] == "failed" and m.get("error") == "interrupted by SIGTERM" for m in stopped.values()), (
        stopped
    )
    finish(spec, study, reference.study, tmp_path / "finish.log")


# -- a full disk ----------------------------------------------------------------------------------


@pytest.mark.slow  # two real sweeps in subprocesses
def test_full_disk_fails_runs_cleanly_and_the_next_sweep_finishes(tmp_path, reference, tmpfs):
    spec = write_spec(tmp_path)
    disk = tmpfs.mount("320k")  # a run is about 120 kB: about two fit
    study, log = disk / "study", tmp_path / "faulty.log"
    rc, out = run_sweep(spec, study, log)
    assert rc == 1 and "Traceback" not in out, out
    failed = re.findall(r"^failed: (\S+): (.*)$", out, re.M)
    assert failed and all("No space left on device" in why for _, why in failed), out
    assert re.search(r"^error: \d+ of 4 runs failed .*run the sweep again", out, re.M), out
    done = complete_runs(study)
    assert len(done) + len(failed) == len(SEEDS)
    for name, d in done.items():  # what was marked complete is whole and right
        assert_same_run(d, run_dirs(reference.study)[name])
    tmpfs.remount(disk, "size=16m")  # space freed
    finish(spec, study, reference.study, tmp_path / "finish.log")


# -- a read-only study ----------------------------------------------------------------------------


@pytest.mark.slow  # two real sweeps in subprocesses
def test_read_only_study_fails_each_run_in_one_line_and_changes_nothing(tmp_path, reference, tmpfs):
    spec, study = write_spec(tmp_path), tmp_path / "study"
    half = sorted(run_dirs(reference.study))[:2]
    (study / MODEL).mkdir(parents=True)
    for name in half:  # two runs complete already, two to train
        shutil.copytree(reference.study / MODEL / name, study / MODEL / name)
    before = {k: snapshot(d) for k, d in complete_runs(study).items()}
    ro = tmpfs.bind_ro(study)  # root ignores permission bits, not a read-only mount
    with pytest.raises(OSError):
        (ro / "probe").write_text("x")
    dry = subprocess.run(
        [FW_TRAIN, "sweep", str(spec), "--out", str(ro), "--dry-run"], capture_output=True, text=True, env=sweep_env()
    )
    assert dry.returncode == 0 and "4 runs: 2 complete, 2 to train" in dry.stdout, dry.stdout + dry.stderr
    rc, out = run_sweep(spec, ro, tmp_path / "faulty.log")
    assert rc == 1 and "Traceback" not in out, out
    failed = re.findall(r"^failed: (\S+): (.*)$", out, re.M)
    assert sorted(k for k, _ in failed) == sorted(set(run_dirs(reference.study)) - set(half)), out
    assert all("Read-only file system" in why for _, why in failed), out
    assert sorted(run_dirs(study)) == half
    assert_untouched(before, study)
    finish(spec, study, reference.study, tmp_path / "finish.log")  # the same study, writable again


def _fill(path) -> None:
    """Write zeros to ``path`` until the disk is full."""
    import errno

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_lock_or_a_run_on_a_full_disk_fails_and_leaves_no_file(tmp_path, tmpfs):
    """A lock's record, and a run's files, on a disk with no byte left: an OSError (ENOSPC) each, and no
    temporary file or lock left behind (nothing for the next sweep to trip over)."""
    import errno

    import numpy as np

    from fwanalysis.artifacts import RunWriter
    from fwanalysis.artifacts.lock import RunLock

    disk = tmpfs.mount("64k")
    (disk / ".locks").mkdir()
    _fill(disk / "filler")
    with pytest.raises(OSError) as e:
        RunLock(disk, "r1").acquire()
    assert e.value.errno == errno.ENOSPC
    assert list((disk / ".locks").iterdir()) == []
    (disk / "filler").unlink()
    config = {
        "model": "toy",
        "dataset": "synthetic",
        "method": "dst",
        "criterion": "magnitude",
        "growth": "random",
        "density": 0.5,
        "seed": 0,
    }
    with pytest.raises(OSError) as e:
        with RunWriter(disk, config, {"w": (64, 64)}, total_steps=1) as w:
            _fill(disk / "filler")
            w.write_masks(0, {"w": np.random.default_rng(0).random((64, 64)) < 0.5})
    assert e.value.errno == errno.ENOSPC
    assert [p for p in disk.rglob(".*") if p.name != ".locks"] == []
    assert list((disk / ".locks").iterdir()) == []
    assert (
        json.loads((w.path / "run.json").read_text())["status"] == "running"
    )  # could not even be marked failed: skipped by readers


def test_a_stale_lock_beside_a_complete_run_is_cleared_without_training(tmp_path, monkeypatch):
    """A worker killed after it marked its run complete, before it removed the lock (seen after a killed
    sweep): the next sweep leaves the run alone and clears the lock."""
    import socket
    import sys

    import numpy as np

    from fwanalysis.artifacts import RunWriter
    from trainer import sweep
    from trainer.sweep import execute, expand, load_spec

    spec = load_spec(write_spec(tmp_path))
    runs = expand(spec, profile="quick", out=str(tmp_path / "study"))
    done = runs[0]
    w = RunWriter(
        done.study,
        {
            "model": MODEL,
            "dataset": "digits",
            "method": "dst",
            "criterion": "magnitude",
            "growth": "random",
            "density": 0.2,
            "seed": 0,
        },
        {"w": (2, 2)},
        run_id=done.run_id,
        total_steps=1,
    )
    w.write_masks(0, {"w": np.ones((2, 2), bool)})
    w.close("complete")
    before = snapshot(done.path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = Path(done.study) / ".locks" / f"{done.run_id}.lock"
    lock.write_text(
        json.dumps(
            {
                "run_id": done.run_id,
                "host": socket.gethostname(),
                "pid": dead.pid,
                "time": "2026-01-01T00:00:00Z",
                "token": "t" * 32,
            }
        )
    )
    trained = []
    monkeypatch.setattr(sweep, "_train_one", lambda r: trained.append(r.run_id) or pytest.fail("trained a run"))
    assert execute(runs[:1], jobs=1, spec=spec) == []
    assert trained == [] and not lock.exists()
    assert snapshot(done.path) == before
