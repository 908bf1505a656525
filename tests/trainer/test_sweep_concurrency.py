"""Sweeps sharing a study: run locks, killed sweeps, stopped sweeps (the real CLI, in subprocesses)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# the specs' model: the runs are <study>/mlp-small/<run_id>, their locks in <study>/mlp-small/.locks
from sweeplib import FWA, MODEL, children, gone, lock_pids, spec_file, start_sweep, trained_here, wait_for
from typer.testing import CliRunner

from trainer import sweep
from trainer.cli import app
from trainer.sweep import execute, expand, load_spec

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process checks read /proc")


def check_study(study: Path, n: int) -> None:
    """n runs, all complete, each with every file its run.json lists, in <study>/<model>/; fwa validate
    agrees; no lock left."""
    assert [d.name for d in study.iterdir()] == [MODEL]
    runs = [d for d in (study / MODEL).iterdir() if d.is_dir() and d.name != ".locks"]
    assert len(runs) == n
    for d in runs:
        m = json.loads((d / "run.json").read_text())
        assert m["status"] == "complete", d
        listed = (
            ["metrics.parquet"]
            + [f"masks/step-{s:08d}.npz" for s in m["mask_steps"]]
            + [f"updates/step-{s:08d}.npz" for s in m["update_steps"]]
            + [f"state/step-{s:08d}.npz" for s in m["state_steps"]]
        )
        assert m["mask_steps"] and all((d / f).is_file() for f in listed), d
        assert not [p for p in d.rglob(".*")], "temporary files left"
    res = subprocess.run([FWA, "validate", str(study)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert list((study / MODEL / ".locks").glob("*")) == []


# -- two sweeps at once ---------------------------------------------------------------------------


@pytest.mark.slow  # two real sweeps of six runs at once
def test_two_sweeps_on_one_study_train_every_run_exactly_once(tmp_path):
    n = 6
    spec, study = spec_file(tmp_path, range(n)), tmp_path / "study"
    a = start_sweep(spec, study, tmp_path / "a.log", jobs=2)  # a pool of two workers
    b = start_sweep(spec, study, tmp_path / "b.log", jobs=2)  # and another, started at the same moment
    assert a.wait(240) == 0 and b.wait(240) == 0
    out_a, out_b = (tmp_path / "a.log").read_text(), (tmp_path / "b.log").read_text()
    assert "Traceback" not in out_a + out_b and "failed" not in out_a + out_b
    # every run is complete, so each was trained at least once; the two counts adding up to n means
    # none was trained twice (a run trained by both sweeps would be counted by both)
    assert trained_here(out_a, n) + trained_here(out_b, n) == n, out_a + out_b
    check_study(study, n)


# -- a killed sweep ------------------------------------------------------------------------------


@pytest.fixture
def one_torch_thread():
    """Train tiny runs in this process on one thread (much faster than two competing ones)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_killed_sweep_leaves_no_worker_and_the_next_sweep_finishes(tmp_path, one_torch_thread):
    n = 4
    spec, study = spec_file(tmp_path, range(n), epochs=2), tmp_path / "study"
    p = start_sweep(spec, study, tmp_path / "a.log", jobs=2)
    try:
        wait_for(lambda: lock_pids(study) - {p.pid}, 60, "a worker to claim a run")
        workers = children(p.pid) | lock_pids(study)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    assert len(workers) >= 2
    wait_for(lambda: all(gone(w) for w in workers), 10, f"the workers {sorted(workers)} to die with their parent")
    stale = list((study / MODEL / ".locks").glob("*.lock"))
    assert stale  # the killed workers' locks: taken over below
    res = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(study), "--jobs", "1"])  # the same sweep again
    assert res.exit_code == 0, res.output
    assert "being trained by another process" not in res.output
    assert trained_here(res.output, n) >= len(stale)
    check_study(study, n)


@pytest.mark.slow  # a real sweep in a subprocess
def test_sigterm_stops_the_workers_and_leaves_no_run_complete_or_locked(tmp_path):
    n = 4
    spec, study = spec_file(tmp_path, range(n), epochs=2), tmp_path / "study"
    p = start_sweep(spec, study, tmp_path / "a.log", jobs=2)
    try:
        wait_for(lambda: list(study.glob(f"{MODEL}/*/run.json")), 60, "a run directory")
        workers = children(p.pid) | lock_pids(study)
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(60)
    out = (tmp_path / "a.log").read_text()
    assert rc == 1 and "Traceback" not in out
    assert re.search(r"^error: stopped by SIGTERM: .*run the sweep again", out, re.M), out
    wait_for(lambda: all(gone(w) for w in workers), 10, "the workers to exit")
    statuses = [json.loads(f.read_text())["status"] for f in study.glob(f"{MODEL}/*/run.json")]
    assert statuses and "failed" in statuses  # a worker stopped in a run marked it failed
    assert list((study / MODEL / ".locks").glob("*.lock")) == []  # and released its lock


# -- the sweep and locks, in process ---------------------------------------------------------------


def _hold(run, pid: int, host: str | None = None) -> None:
    d = Path(run.study) / ".locks"
    d.mkdir(parents=True, exist_ok=True)
    rec = {
        "run_id": run.run_id,
        "host": host or socket.gethostname(),
        "pid": pid,
        "time": "2026-01-01T00:00:00Z",
        "token": "x" * 32,
    }
    (d / f"{run.run_id}.lock").write_text(json.dumps(rec))


def test_a_run_locked_by_a_live_process_is_shown_and_left_to_it(tmp_path, sleeper, capsys, monkeypatch):
    spec = load_spec(spec_file(tmp_path, [0, 1]))
    runs = expand(spec, profile="quick", out=str(tmp_path / "study"))
    _hold(runs[0], sleeper.pid)
    _hold(runs[1], 1, host="gpu-node-3")
    assert execute(runs, dry_run=True, spec=spec) == []
    out = capsys.readouterr().out
    assert (
        f"running (pid {sleeper.pid} on host {socket.gethostname()})" in out
        and "running (pid 1 on host gpu-node-3)" in out
    )
    assert "2 runs: 0 complete, 0 to train, 2 being trained by another process" in out

    monkeypatch.setattr(sweep, "_train_one", lambda run: pytest.fail("trained a run another process holds"))
    assert execute(runs, jobs=1, spec=spec) == []  # not a failure
    err = capsys.readouterr().err
    assert "2 runs are being trained by another process: run the sweep again later to pick up any that fail" in err


def test_claim_then_recheck_a_run_completed_meanwhile_is_not_trained(tmp_path, monkeypatch, one_torch_thread):
    spec = load_spec(spec_file(tmp_path, [0]))
    (run,) = expand(spec, profile="quick", out=str(tmp_path / "study"))
    calls = []
    real = sweep._train_one
    monkeypatch.setattr(sweep, "_train_one", lambda r: calls.append(r.run_id) or real(r))
    assert sweep._claim_and_train(run)[0] == "trained"
    # a sweep that listed the run before it was complete: under the lock it finds it complete
    assert sweep._claim_and_train(run) == ("complete", None)
    assert calls == [run.run_id]
    assert not (Path(run.out) / MODEL / ".locks" / f"{run.run_id}.lock").exists()


def test_a_second_stop_signal_never_interrupts_the_cleanup():
    """SIGTERM raises once; signals that follow (Ctrl-C, then the sweep's own terminate) are let go."""
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(sweep._Stop) as e:
        with sweep._StopOnSignals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted by the signal
    assert e.value.name == "SIGTERM"
    with sweep._StopOnSignals():
        with pytest.raises(sweep._Stop):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        os.kill(os.getpid(), signal.SIGTERM)  # during the cleanup: nothing happens
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before  # restored
