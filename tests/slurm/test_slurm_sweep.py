"""`fw-train sweep --executor slurm` on a real single-node Slurm cluster (tests/slurm/cluster.sh): a sweep
through a job array, a cancelled array, a run stopped at its time limit, a local and a Slurm sweep on one
study at once, and Slurm without accounting (no sacct).

Trainings are counted by tests/slurm/hooks/sitecustomize.py, put on the PYTHONPATH of the sweeps (and so
of their Slurm tasks): a ``start``/``done`` line per call of ``trainer.sweep._train_one``, apart from what
the sweep reports. The same hook stalls a chosen run once, so that it is cancelled or timed out midway.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from typer.testing import CliRunner

from fwanalysis.cli import app as fwa_app
from trainer.sweep import expand, load_spec

HOOKS = Path(__file__).resolve().parent / "hooks"
BIN = Path(sys.executable).parent
FW_TRAIN = str(BIN / "fw-train")
MODEL = "mlp-small"  # the smallest model; digits, 1 epoch: a run trains in about a second


def spec_file(tmp_path: Path, seeds, name: str) -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(textwrap.dedent(f"""
        name = "{name}"
        [base]
        model = "{MODEL}"
        dataset = "digits"
        epochs = 1
        method = "dst"
        criterion = "magnitude"
        density = 0.2
        shadow = "none"
        seed = {list(seeds)}
        [profiles.quick]
    """))
    return p


class Sweep:
    """One study, one spec, one training log; the fw-train sweep commands over them."""

    def __init__(self, tmp_path: Path, slurm_conf: str, seeds, name: str):
        self.tmp = tmp_path
        self.spec = spec_file(tmp_path, seeds, name)
        self.out = tmp_path / "study"
        self.logs = tmp_path / "slurm-logs"
        self.train_log = tmp_path / "trainings.log"
        self.env = {
            **os.environ, "SLURM_CONF": slurm_conf, "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(HOOKS)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
            "FWA_TEST_TRAIN_LOG": str(self.train_log),
        }
        self.env.pop("FWA_TEST_STALL", None)
        self.run_ids = [r.run_id for r in expand(load_spec(self.spec), profile="quick", out=str(self.out))]
        assert len(self.run_ids) == len(list(seeds))

    def args(self, *extra, executor="slurm") -> list[str]:
        args = [FW_TRAIN, "sweep", str(self.spec), "--out", str(self.out), "--executor", executor]
        if executor == "slurm":
            args += ["--partition", "debug", "--slurm-folder", str(self.logs)]
        return args + list(extra)

    def stall(self, run_id: str, deaf: bool = False) -> Path:
        """The first training of ``run_id`` stalls (after its first mask snapshot) until it is stopped
        (``deaf``: deaf to submitit's warning signal before the time limit, so Slurm kills it at the
        limit); returns the marker file that appears when it does."""
        marker = self.tmp / "stalled"
        self.env["FWA_TEST_STALL"] = f"{run_id}:{marker}" + (":deaf" if deaf else "")
        return marker

    def run(self, *extra, executor="slurm", timeout=240) -> subprocess.CompletedProcess:
        return subprocess.run(self.args(*extra, executor=executor), capture_output=True, text=True, env=self.env, timeout=timeout)

    def start(self, *extra, executor="slurm", log: str = "sweep.log") -> tuple[subprocess.Popen, Path]:
        path = self.tmp / log
        with open(path, "w") as f:
            p = subprocess.Popen(self.args(*extra, executor=executor), stdout=f, stderr=subprocess.STDOUT, env=self.env)
        return p, path

    def trainings(self) -> tuple[collections.Counter, collections.Counter]:
        """(trainings started, trainings finished) per run id, from the hook's log."""
        started, done = collections.Counter(), collections.Counter()
        if self.train_log.exists():
            for line in self.train_log.read_text().splitlines():
                word, run_id, _pid = line.split()
                (started if word == "start" else done)[run_id] += 1
        return started, done

    def status(self, run_id: str) -> str:
        p = self.out / MODEL / run_id / "run.json"
        return json.loads(p.read_text())["status"] if p.exists() else "missing"

    def manifest_hash(self, run_id: str) -> str:
        return hashlib.sha1((self.out / MODEL / run_id / "run.json").read_bytes()).hexdigest()

    def validate(self) -> dict:
        """``fwa validate --format json`` of the study (in this process: no start-up to wait for)."""
        r = CliRunner().invoke(fwa_app, ["validate", str(self.out), "--format", "json", "--include-incomplete"])
        assert r.stdout.startswith("{"), r.output
        return json.loads(r.stdout)

    def assert_all_complete_once(self, output: str = "") -> None:
        """Every run complete and valid, each finished by exactly one training."""
        assert [self.status(r) for r in self.run_ids] == ["complete"] * len(self.run_ids), output
        doc = self.validate()
        assert sorted(doc["valid"]) == sorted(self.run_ids) and doc["invalid"] == [], doc
        _, done = self.trainings()
        assert {r: done[r] for r in self.run_ids} == {r: 1 for r in self.run_ids}, (done, output)
        assert not list((self.out / MODEL / ".locks").glob("*.lock")), "a lock was left behind"


def trained_here(output: str) -> int:
    m = re.search(r"trained (\d+) of (\d+) runs here", output)
    assert m, output
    return int(m.group(1))


def array_id(log: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r"submitted \d+ runs as job (\d+)", log.read_text())
        if m:
            return m.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no job submitted within {timeout} s:\n{log.read_text()}")


def wait_for(path: Path, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the sweep ended before {path.name} appeared:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"{path.name} did not appear within {timeout} s:\n{log.read_text()}"
        time.sleep(0.2)


def _timeout_sweep(slurm_conf, tmp_path_factory, *, deaf: bool):
    sw = Sweep(tmp_path_factory.mktemp("killed" if deaf else "timeout"), slurm_conf, seeds=[0],
               name="slurm-killed" if deaf else "slurm-timeout")
    sw.stall(sw.run_ids[0], deaf=deaf)
    proc, log = sw.start("--time", "1")
    yield sw, proc, log
    if proc.poll() is None:  # the test did not run or failed early: leave nothing behind
        proc.terminate()
        proc.wait(timeout=30)
        m = re.search(r"submitted \d+ runs as job (\d+)", log.read_text())
        if m:
            subprocess.run(["scancel", m.group(1)], env=sw.env)


@pytest.fixture(scope="module")
def timed_out(slurm_conf, tmp_path_factory):
    """A one-run sweep with `--time 1` whose run stalls, started in the background before the other
    tests (by :func:`plain_sweep`), so that waiting for Slurm overlaps them: submitit's warning signal
    comes within the first 30 s (see hooks/sitecustomize.py). Yields (sweep, process, its output)."""
    yield from _timeout_sweep(slurm_conf, tmp_path_factory, deaf=False)


@pytest.fixture(scope="module")
def killed_at_limit(slurm_conf, tmp_path_factory):
    """As :func:`timed_out`, but the run ignores the warning signal: Slurm kills it at the limit (60 to
    95 s after it starts)."""
    yield from _timeout_sweep(slurm_conf, tmp_path_factory, deaf=True)


@pytest.fixture(scope="module")
def plain_sweep(slurm_conf, tmp_path_factory, timed_out, killed_at_limit):
    """A two-run sweep through the cluster, run once and then again (the time-limit sweeps start first)."""
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

    again = sw.run("--array-parallelism", "1")
    out2 = again.stdout + again.stderr
    assert again.returncode == 0, out2
    assert f"3 runs: {len(done_before)} complete, {3 - len(done_before)} to train" in out2, out2
    assert trained_here(out2) == 3 - len(done_before)
    sw.assert_all_complete_once(out2)
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


@pytest.mark.slow
def test_time_limit_is_reported_with_its_log_and_resumed(timed_out):
    """A run that outlives `--time 1` (it stalls): Slurm's warning signal before the limit stops it, the
    summary says it timed out and names its log; the same command again finishes it."""
    sw, proc, log_file = timed_out
    run_id = sw.run_ids[0]
    proc.wait(timeout=300)
    out = log_file.read_text()
    assert proc.returncode == 1, out
    m = re.search(rf"failed: {run_id}: timed out: (.*) \(log: (\S+)\)$", out, re.M)
    assert m, out
    assert "--time 1 min" in m.group(1)
    log = Path(m.group(2))
    assert log.is_file() and log.parent == sw.logs and "timed-out" in log.read_text()
    assert sw.status(run_id) == "failed", "a run stopped by the warning is marked failed (never complete)"
    assert sw.trainings()[1][run_id] == 0

    again = sw.run("--time", "1")
    out2 = again.stdout + again.stderr
    assert again.returncode == 0, out2
    assert trained_here(out2) == 1
    sw.assert_all_complete_once(out2)


@pytest.mark.slow
def test_task_killed_at_its_time_limit_is_reported_and_resumed(killed_at_limit):
    """A run deaf to the warning signal outlives `--time 1`: Slurm kills it (state TIMEOUT). The summary
    says so with its log; the run is left `running` with the lock of a dead process, which the same
    command takes over to finish it."""
    sw, proc, log_file = killed_at_limit
    run_id = sw.run_ids[0]
    proc.wait(timeout=300)
    out = log_file.read_text()
    assert proc.returncode == 1, out
    m = re.search(rf"failed: {run_id}: timed out: Slurm job \d+ was killed at its time limit \(--time 1 min\) \(log: (\S+)\)$", out, re.M)
    assert m, out
    assert Path(m.group(1)).is_file()
    assert sw.status(run_id) == "running"
    assert list((sw.out / MODEL / ".locks").glob("*.lock")), "the killed task's lock should still be there"

    again = sw.run("--time", "1")
    out2 = again.stdout + again.stderr
    assert again.returncode == 0, out2
    assert trained_here(out2) == 1
    sw.assert_all_complete_once(out2)
