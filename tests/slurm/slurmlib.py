"""Helpers of the Slurm tests (test_slurm_sweep.py, conftest.py): a study with its spec and its sweeps,
the training log the test hook keeps (hooks/sitecustomize.py), and the two time-limit sweeps that
conftest.py starts as soon as the tests are collected."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

from typer.testing import CliRunner

from fwanalysis.cli import app as fwa_app
from trainer.sweep import expand, load_spec

HOOKS = Path(__file__).resolve().parent / "hooks"
import sweeplib  # noqa: E402
from sweeplib import FW_TRAIN, MODEL  # noqa: E402,F401  (the Slurm tests import them from here)


class Sweep:
    """One study, one spec, one training log; the fw-train sweep commands over them."""

    def __init__(self, tmp_path: Path, slurm_conf: str, seeds, name: str):
        self.tmp = tmp_path
        self.spec = sweeplib.spec_file(tmp_path, seeds, name=name)
        self.out = tmp_path / "study"
        self.logs = tmp_path / "slurm-logs"
        self.train_log = tmp_path / "trainings.log"
        self.env = {
            **os.environ,
            "SLURM_CONF": slurm_conf,
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join(
                [str(HOOKS)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
            ),
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
        return subprocess.run(
            self.args(*extra, executor=executor), capture_output=True, text=True, env=self.env, timeout=timeout
        )

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

    def finish(self, *extra, trained: int) -> str:
        """The same command again: it exits 0 having trained ``trained`` runs, and every run is complete,
        finished by exactly one training. Returns its output."""
        again = self.run(*extra)
        out = again.stdout + again.stderr
        assert again.returncode == 0, out
        assert trained_here(out) == trained
        self.assert_all_complete_once(out)
        return out

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


def array_id(log: Path, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r"submitted \d+ runs as job (\d+)", log.read_text())
        if m:
            return m.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no job submitted within {timeout} s:\n{log.read_text()}")


def wait_for(path: Path, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the sweep ended before {path.name} appeared:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"{path.name} did not appear within {timeout} s:\n{log.read_text()}"
        time.sleep(0.2)


# The time limits (minutes) of the two time-limit sweeps. Slurm kills a task at its limit (to within its
# 30 s timer; KillWait=5 in cluster.sh), and the stalled run must be inside its stall long before that,
# also when the suite keeps both cores busy and the task's start (Python, torch, the data) is slow. With a
# 1-minute limit, CI once found the warned run left `running`: most likely it reached its stall so late that
# Slurm killed it at the limit before its writer had marked it failed.
# - warned: submitit asks for SIGUSR2 90 s before the limit, which Slurm sends 60 to 90 s after the start;
#   the limit itself is 3 minutes away;
# - deaf: killed at 2 minutes, 120 to 150 s after the start.
TIME_LIMIT = {False: "3", True: "2"}


def start_time_limit_sweep(directory: Path, slurm_conf: str, *, deaf: bool) -> tuple[Sweep, subprocess.Popen, Path]:
    """A one-run sweep with `--time TIME_LIMIT[deaf]` whose run stalls, started in the background:
    submitit's warning signal stops it, or (``deaf``) Slurm kills it at the limit (see TIME_LIMIT and
    hooks/sitecustomize.py). Returns (sweep, process, its output file)."""
    directory.mkdir(parents=True, exist_ok=True)
    sw = Sweep(directory, slurm_conf, seeds=[0], name="slurm-killed" if deaf else "slurm-timeout")
    sw.stall(sw.run_ids[0], deaf=deaf)
    proc, log = sw.start("--time", TIME_LIMIT[deaf])
    return sw, proc, log


def stop_sweep(sw: Sweep, proc: subprocess.Popen, log: Path) -> None:
    """A background sweep still waiting (its test did not run, or failed early): stop it and cancel its job."""
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)
        m = re.search(r"submitted \d+ runs as job (\d+)", log.read_text())
        if m:
            subprocess.run(["scancel", m.group(1)], env=sw.env)


EARLY: dict = {}  # deaf -> (sweep, process, output file): the time-limit sweeps conftest.py started early
