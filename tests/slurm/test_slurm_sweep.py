"""`fw-train sweep --executor slurm` on a real single-node Slurm cluster (tests/slurm/cluster.sh): a sweep
through a job array, a cancelled array, a run stopped at its time limit, a local and a Slurm sweep on one
study at once, and Slurm without accounting (no sacct).

Trainings are counted by tests/slurm/hooks/sitecustomize.py, put on the PYTHONPATH of the sweeps (and so
of their Slurm tasks): a ``start``/``done`` line per call of ``trainer.sweep._train_one``, apart from what
the sweep reports. The same hook stalls a chosen run once, so that it is cancelled or timed out midway.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from slurmlib import (
    EARLY,
    MODEL,
    TIME_LIMIT,
    Sweep,
    array_id,
    start_time_limit_sweep,
    stop_sweep,
    trained_here,
    wait_for,
)


def _time_limit_sweep(slurm_conf, tmp_path_factory, *, deaf: bool):
    started = EARLY.pop(deaf, None)  # conftest.py started it when the tests were collected
    if started is None:
        started = start_time_limit_sweep(
            tmp_path_factory.mktemp("killed" if deaf else "timeout"), slurm_conf, deaf=deaf
        )
    yield started
    stop_sweep(*started)


@pytest.fixture(scope="module")
def timed_out(slurm_conf, tmp_path_factory):
    """The `--time 3` sweep whose stalled run submitit's warning stops (started early, by conftest.py)."""
    yield from _time_limit_sweep(slurm_conf, tmp_path_factory, deaf=False)


@pytest.fixture(scope="module")
def killed_at_limit(slurm_conf, tmp_path_factory):
    """The `--time 2` sweep whose stalled run ignores the warning: Slurm kills it at the limit."""
    yield from _time_limit_sweep(slurm_conf, tmp_path_factory, deaf=True)


@pytest.fixture(scope="module")
def plain_sweep(slurm_conf, tmp_path_factory):
    """A two-run sweep through the cluster, run once and then again."""
    sw = Sweep(tmp_path_factory.mktemp("plain"), slurm_conf, seeds=[0, 1], name="slurm-plain")
    first = sw.run()
    again = sw.run()
    return sw, first, again


def test_sweep_through_slurm_completes_every_run(plain_sweep):
    sw, first, again = plain_sweep
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    assert re.search(r"submitted 2 runs as job \d+", out), out
    assert trained_here(out) == 2
    sw.assert_all_complete_once(out)
    # no --time: submitit's 5 minutes, said once
    assert out.count("no --time") == 1 and "#SBATCH --time=5" in next(sw.logs.glob("*_submission.sh")).read_text()
    # every task ran in Slurm: one log per task, in the folder given
    assert len(list(sw.logs.glob("*_log.err"))) == 2
    # again: nothing to do, nothing submitted
    assert again.returncode == 0, again.stderr
    assert "2 runs: 2 complete, 0 to train" in again.stderr and "submitted" not in again.stderr
    assert sum(sw.trainings()[0].values()) == 2


def test_without_accounting_sacct_is_one_line(plain_sweep):
    """Accounting is off on the test cluster, so sacct fails: one note, no warning per poll."""
    sw, first, _ = plain_sweep
    out = first.stdout + first.stderr
    sacct_fails = subprocess.run(["sacct", "-n", "-X"], capture_output=True, text=True, env=sw.env).returncode != 0
    lines = [line for line in out.splitlines() if "sacct" in line]
    assert len(lines) == (1 if sacct_fails else 0), out
    if sacct_fails:
        assert lines[0].startswith("note: sacct failed (") and "scontrol" in lines[0]
    assert "Bypassing" not in out and "Traceback" not in out


@pytest.mark.slow
def test_cancelled_array_is_finished_by_the_same_command(slurm_conf, tmp_path):
    """scancel of the array while its second run trains (one task at a time): the sweep reports the
    cancelled runs; the same command then trains those only."""
    sw = Sweep(tmp_path, slurm_conf, seeds=[0, 1, 2], name="slurm-cancel")
    marker = sw.stall(sw.run_ids[1])
    proc, log = sw.start("--array-parallelism", "1")
    job = array_id(log)
    wait_for(marker, proc, log)  # run 1 is mid-training; run 0 is done, run 2 waits
    assert sw.status(sw.run_ids[1]) == "running"
    subprocess.run(["scancel", job], check=True, env=sw.env)
    proc.wait(timeout=120)
    out = log.read_text()
    assert proc.returncode == 1, out
    done_before = [r for r in sw.run_ids if sw.status(r) == "complete"]
    assert sw.run_ids[0] in done_before and sw.run_ids[1] not in done_before, out
    for r in set(sw.run_ids) - set(done_before):
        assert re.search(rf"failed: {r}: cancelled: Slurm job {job}_\d+ was cancelled", out), out
    # nothing claims completion without its files: the complete runs are valid, the others are not complete
    doc = sw.validate()
    assert set(doc["valid"]) >= set(done_before), doc
    assert {e["run"] for e in doc["runs"] if e["status"] == "complete"} == set(done_before), doc
    hashes = {r: sw.manifest_hash(r) for r in done_before}
    started_before, _ = sw.trainings()

    out2 = sw.finish("--array-parallelism", "1", trained=3 - len(done_before))
    assert f"3 runs: {len(done_before)} complete, {3 - len(done_before)} to train" in out2, out2
    started, _ = sw.trainings()
    for r in done_before:  # not trained again: no new training, run.json untouched
        assert started[r] == started_before[r] == 1 and sw.manifest_hash(r) == hashes[r]


@pytest.mark.slow
def test_local_and_slurm_sweeps_at_once_train_each_run_once(slurm_conf, tmp_path):
    sw = Sweep(tmp_path, slurm_conf, seeds=range(4), name="slurm-both")
    slurm_proc, slurm_log = sw.start(log="slurm.log")
    array_id(slurm_log)  # the array is submitted: from now on both sweeps go
    local_proc, local_log = sw.start("--jobs", "1", executor="local", log="local.log")
    local_proc.wait(timeout=180)
    slurm_proc.wait(timeout=180)
    out_s, out_l = slurm_log.read_text(), local_log.read_text()
    assert slurm_proc.returncode == 0, out_s
    assert local_proc.returncode == 0, out_l
    assert trained_here(out_s) + trained_here(out_l) == 4, (out_s, out_l)
    sw.assert_all_complete_once(out_s + out_l)
    started, _ = sw.trainings()
    assert sum(started.values()) == 4  # no training was begun twice either


def _failed_run(started) -> tuple:
    """A time-limit sweep once it has ended: (sweep, its run, its output); it must have exited 1."""
    sw, proc, log_file = started
    proc.wait(timeout=300)
    out = log_file.read_text()
    assert proc.returncode == 1, out
    return sw, sw.run_ids[0], out


@pytest.mark.slow
def test_time_limit_is_reported_with_its_log_and_resumed(timed_out):
    """A run that outlives its `--time` (it stalls): Slurm's warning signal before the limit stops it, the
    summary says it timed out and names its log; the same command again finishes it."""
    sw, run_id, out = _failed_run(timed_out)
    m = re.search(rf"failed: {run_id}: timed out: (.*) \(log: (\S+)\)$", out, re.M)
    assert m, out
    assert f"--time {TIME_LIMIT[False]} min" in m.group(1)
    log = Path(m.group(2))
    assert log.is_file() and log.parent == sw.logs and "timed-out" in log.read_text()
    assert sw.status(run_id) == "failed", "a run stopped by the warning is marked failed (never complete)"
    assert sw.trainings()[1][run_id] == 0

    sw.finish("--time", TIME_LIMIT[False], trained=1)


@pytest.mark.slow
def test_task_killed_at_its_time_limit_is_reported_and_resumed(killed_at_limit):
    """A run deaf to the warning signal outlives its `--time`: Slurm kills it (state TIMEOUT). The summary
    says so with its log; the run is left `running` with the lock of a dead process, which names its
    Slurm job. Made to look like another node's lock (whose pid cannot be checked from here), it is
    still taken over by the same command, which asks Slurm, and the run is finished."""
    sw, run_id, out = _failed_run(killed_at_limit)
    m = re.search(
        rf"failed: {run_id}: timed out: Slurm job \d+ was killed at its time limit "
        rf"\(--time {TIME_LIMIT[True]} min\) \(log: (\S+)\)$",
        out,
        re.M,
    )
    assert m, out
    assert Path(m.group(1)).is_file()
    assert sw.status(run_id) == "running"
    (lock,) = (sw.out / MODEL / ".locks").glob("*.lock")  # the killed task's lock is still there
    record = json.loads(lock.read_text())
    job = re.search(r"Slurm job (\d+) was killed", out).group(1)
    cluster = re.search(r"^ClusterName=(\S+)", Path(sw.env["SLURM_CONF"]).read_text(), re.M).group(1)
    assert (record["slurm_job"], record["slurm_cluster"]) == (job, cluster), record
    # as if the task had run on another node, whose processes this host cannot see: only Slurm's word
    # (the job ended, TIMEOUT) lets the same command take the lock over
    lock.write_text(json.dumps({**record, "host": "another-node", "pid": 1}))

    sw.finish("--time", TIME_LIMIT[True], trained=1)
