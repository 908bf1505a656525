"""The run lock (fwanalysis.artifacts.lock) and how RunWriter holds it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from fwanalysis.artifacts import RunWriter, load_run
from fwanalysis.artifacts.lock import RunLock, RunLocked, claim_run, lock_path, read_lock

CONFIG = dict(model="mlp-small", dataset="digits", method="dst", criterion="snip", growth="random", density=0.5, seed=0)
LAYERS = {"fc1.weight": (4, 6), "fc2.weight": (3, 4)}
MASKS = {"fc1.weight": np.ones((4, 6), bool), "fc2.weight": np.ones((3, 4), bool)}
ROOT = Path(__file__).resolve().parents[2]


def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def write_lock(path: Path, **fields) -> None:
    rec = {
        "run_id": path.stem,
        "host": socket.gethostname(),
        "pid": 0,
        "time": "2026-01-01T00:00:00Z",
        "token": "t0" * 16,
    }
    rec.update(fields)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))


# -- one winner ----------------------------------------------------------------------------------


RACER = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from fwanalysis.artifacts.lock import RunLock, RunLocked
study, start, done = sys.argv[2], float(sys.argv[3]), sys.argv[4]
lock = RunLock(study, "r1")
while time.time() < start:
    pass
try:
    lock.acquire()
except RunLocked:
    print("locked", flush=True)
    sys.exit(0)
print("won", flush=True)
import os
while not os.path.exists(done):   # hold it until every racer has tried
    time.sleep(0.01)
lock.release()
"""


@pytest.mark.parametrize("stale", [False, True], ids=["free", "stale"])
def test_processes_racing_for_one_lock_one_wins(tmp_path, stale):
    if stale:  # every racer sees the same stale lock: exactly one may take it over
        write_lock(lock_path(tmp_path, "r1"), pid=dead_pid())
    done = tmp_path / "done"
    start = time.time() + 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(ROOT), str(tmp_path), str(start), str(done)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(5)
    ]
    deadline = time.time() + 30
    while sum(p.poll() is not None for p in procs) < 4 and time.time() < deadline:
        time.sleep(0.02)  # the losers exit at once; a winner holds the lock until `done`
    done.touch()
    outs = [p.communicate(timeout=20)[0].strip() for p in procs]
    assert sorted(outs) == ["locked"] * 4 + ["won"], outs
    assert not lock_path(tmp_path, "r1").exists()  # the winner released it


def test_threads_racing_for_one_lock_one_wins(tmp_path):
    barrier = threading.Barrier(8)
    results, locks = [], []

    def race():
        lock = RunLock(tmp_path, "r1")
        barrier.wait()
        try:
            lock.acquire()
            results.append("won")
            locks.append(lock)
        except RunLocked:
            results.append("locked")

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["locked"] * 7 + ["won"]
    locks[0].release()
    assert not lock_path(tmp_path, "r1").exists()


# -- stale, live, other host ---------------------------------------------------------------------


def test_a_lock_of_a_dead_process_is_taken_over(tmp_path):
    path = lock_path(tmp_path, "r1")
    write_lock(path, pid=dead_pid())
    lock = RunLock(tmp_path, "r1").acquire()
    rec = read_lock(path)
    assert rec["pid"] == os.getpid() and rec["host"] == socket.gethostname() and rec["token"] == lock.token
    assert {"time", "run_id"} <= set(rec)
    lock.release()
    assert not path.exists()


def test_a_lock_of_a_reused_pid_is_taken_over(tmp_path, sleeper):
    if not Path(f"/proc/{sleeper.pid}/stat").exists():
        pytest.skip("needs /proc to tell process start times")
    path = lock_path(tmp_path, "r1")
    write_lock(path, pid=sleeper.pid, pid_start=1)  # the pid lives, but as another process than the holder
    RunLock(tmp_path, "r1").acquire().release()


def test_a_lock_of_a_live_process_is_respected(tmp_path, sleeper):
    path = lock_path(tmp_path, "r1")
    write_lock(path, pid=sleeper.pid)
    before = path.read_bytes()
    with pytest.raises(RunLocked) as e:
        RunLock(tmp_path, "r1").acquire()
    assert e.value.pid == sleeper.pid and e.value.host == socket.gethostname()
    msg = str(e.value)
    assert "r1" in msg and f"pid {sleeper.pid}" in msg and socket.gethostname() in msg and str(path) in msg
    assert "\n" not in msg
    assert path.read_bytes() == before


def test_a_lock_of_another_host_is_respected(tmp_path):
    path = lock_path(tmp_path, "r1")
    write_lock(path, host="gpu-node-17.cluster", pid=dead_pid())  # dead here, but it is not ours to check
    with pytest.raises(RunLocked, match="pid [0-9]+ on host gpu-node-17.cluster"):
        RunLock(tmp_path, "r1").acquire()
    assert read_lock(path)["host"] == "gpu-node-17.cluster"


def test_a_lock_of_another_host_is_taken_over_only_when_the_judge_says_it_ended(tmp_path, sleeper):
    """``gone`` judges the holders this host cannot check (another host), and only those: never a live
    process of this host, never an unreadable lock. It sees the whole record."""
    from fwanalysis.artifacts.lock import lock_holder

    path = lock_path(tmp_path, "r1")
    seen = []
    write_lock(path, host="gpu-node-17.cluster", pid=4242, slurm_job="345", slurm_cluster="c1")
    with pytest.raises(RunLocked):
        RunLock(tmp_path, "r1", gone=lambda info: seen.append(info) or False).acquire()
    assert seen[0]["slurm_job"] == "345" and seen[0]["host"] == "gpu-node-17.cluster"
    assert lock_holder(tmp_path, "r1", gone=lambda info: False)["pid"] == 4242
    assert lock_holder(tmp_path, "r1", gone=lambda info: True) is None
    lock = claim_run(tmp_path, "r1", gone=lambda info: True)
    assert read_lock(path)["token"] == lock.token and read_lock(path)["host"] == socket.gethostname()
    lock.release()
    # the judge is never asked about a live process of this host, nor about an unreadable lock
    asked = []
    write_lock(path, pid=sleeper.pid)
    with pytest.raises(RunLocked):
        RunLock(tmp_path, "r1", gone=lambda info: asked.append(info) or True).acquire()
    path.write_text("garbage")
    with pytest.raises(RunLocked, match="unknown holder"):
        RunLock(tmp_path, "r1", gone=lambda info: asked.append(info) or True).acquire()
    assert asked == []


def test_a_lock_taken_inside_a_slurm_job_names_the_job(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "345")
    monkeypatch.setenv("SLURM_CLUSTER_NAME", "c1")
    with RunLock(tmp_path, "r1"):
        rec = read_lock(lock_path(tmp_path, "r1"))
    assert (rec["slurm_job"], rec["slurm_cluster"]) == ("345", "c1")
    monkeypatch.delenv("SLURM_JOB_ID")
    with RunLock(tmp_path, "r2"):
        assert "slurm_job" not in read_lock(lock_path(tmp_path, "r2"))


def test_an_unreadable_lock_is_respected(tmp_path):
    path = lock_path(tmp_path, "r1")
    path.parent.mkdir(parents=True)
    path.write_text("")
    with pytest.raises(RunLocked, match="unknown holder"):
        RunLock(tmp_path, "r1").acquire()


def test_a_slow_taker_never_replaces_a_fresh_lock(tmp_path):
    """Two processes saw the same stale lock; the first took it over; the second must not take it."""
    path = lock_path(tmp_path, "r1")
    write_lock(path, pid=dead_pid(), token="stale" * 4)
    stale = read_lock(path)
    winner = RunLock(tmp_path, "r1").acquire()
    slow = RunLock(tmp_path, "r1")
    assert slow._take_over(stale, slow._record("x" * 32)) is False
    assert read_lock(path)["token"] == winner.token
    assert not list(path.parent.glob("*takeover*"))
    winner.release()


def test_the_exception_pickles_and_is_an_oserror(tmp_path):
    import pickle

    e = RunLocked("r1", lock_path(tmp_path, "r1"), {"host": "h", "pid": 7, "time": "T"})
    e2 = pickle.loads(pickle.dumps(e))
    assert isinstance(e2, BlockingIOError) and str(e2) == str(e) and e2.pid == 7 and e2.run_id == "r1"


# -- RunWriter holds the lock ---------------------------------------------------------------------


def test_writer_holds_the_lock_and_releases_it(tmp_path, sleeper):
    path = lock_path(tmp_path, "r1")
    with RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1") as w:
        w.write_masks(0, MASKS)
        assert read_lock(path)["pid"] == os.getpid()
    assert not path.exists() and load_run(w.path).status == "complete"

    with pytest.raises(RuntimeError, match="boom"):
        with RunWriter(tmp_path, CONFIG, LAYERS, run_id="r2") as w:
            w.write_masks(0, MASKS)
            raise RuntimeError("boom")
    assert not lock_path(tmp_path, "r2").exists() and load_run(w.path).status == "failed"

    # another live process holds r2: the writer refuses, naming run, holder and lock, and touches nothing
    write_lock(lock_path(tmp_path, "r2"), pid=sleeper.pid)
    before = sorted(p.name for p in w.path.rglob("*"))
    with pytest.raises(RunLocked) as e:
        RunWriter(tmp_path, CONFIG, LAYERS, run_id="r2", exist="overwrite")
    assert "r2" in str(e.value) and f"pid {sleeper.pid}" in str(e.value) and "r2.lock" in str(e.value)
    assert sorted(p.name for p in w.path.rglob("*")) == before


def test_writer_joins_a_claim_of_the_same_thread(tmp_path):
    lock = claim_run(tmp_path, "r1")
    with RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1") as w:
        w.write_masks(0, MASKS)
    assert read_lock(lock_path(tmp_path, "r1"))["token"] == lock.token  # still claimed
    lock.release()
    assert not lock_path(tmp_path, "r1").exists()


def test_writer_whose_directory_was_removed_fails_and_never_makes_it_again(tmp_path):
    w = RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1")
    w.write_masks(0, MASKS)
    shutil.rmtree(w.path)
    with pytest.raises(FileNotFoundError, match="removed or replaced"):
        w.write_masks(5, MASKS)
    with pytest.raises(OSError):
        w.close("complete")
    assert not w.path.exists()
    assert not lock_path(tmp_path, "r1").exists()

    w = RunWriter(tmp_path, CONFIG, LAYERS, run_id="r2")
    w.write_masks(0, MASKS)
    shutil.rmtree(w.path)
    w.path.mkdir()  # removed and made again by someone else
    with pytest.raises(FileNotFoundError, match="removed or replaced"):
        w.write_update(1, {k: ~v for k, v in MASKS.items()}, MASKS)
    with pytest.raises(OSError):
        w.close("complete")
    assert list(w.path.iterdir()) == []


def test_complete_only_with_every_listed_file(tmp_path):
    w = RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1")
    w.write_masks(0, MASKS)
    w.write_masks(4, MASKS)
    (w.path / "masks" / "step-00000000.npz").unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        w.close("complete")
    assert json.loads((w.path / "run.json").read_text())["status"] == "failed"
    assert not lock_path(tmp_path, "r1").exists()


def test_writer_dropped_unclosed_releases_its_lock(tmp_path):
    w = RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1")
    assert lock_path(tmp_path, "r1").exists()
    del w
    assert not lock_path(tmp_path, "r1").exists()
