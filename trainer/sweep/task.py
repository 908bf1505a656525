"""One task of a sweep: claim a run by its lock, check it again under the lock, train it if it is not complete.

:func:`_claim_and_train` is what a pool worker, a Slurm task or a ``--jobs 1`` sweep runs for one run
(docs/sweeps.md, "From Python"). A pool worker is a :class:`_Worker`: told to stop (SIGTERM, SIGINT), it
marks the run it trains failed and releases its lock before it exits.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import typing

from fwanalysis.artifacts.lock import RunLocked, describe

if typing.TYPE_CHECKING:
    from .plan import PlannedRun


class SweepFailed(Exception):
    """Some runs of a sweep failed (each was listed on stderr as ``failed: <run_id>: <error>``)."""


def _train_one(run: PlannedRun, **overrides) -> str:
    """Train one planned run in this process; return its directory (a ``RunWriter`` of the run in the
    same thread joins a claim :func:`_claim_and_train` holds). ``overrides`` replace arguments of
    :func:`trainer.loop.train` (the benchmarks time a run into a folder of their own)."""
    from ..loop import train

    options = dict(
        out=run.study,
        device=run.device,
        shadow=run.shadow,
        state=run.state,
        mask_every=run.mask_every,
        data_dir=run.data_dir,
        progress=False,
        run_id=run.run_id,
        exist="resume-incomplete",
    )
    return str(train(run.cfg, **{**options, **overrides}))


def _claim_and_train(run: PlannedRun) -> tuple[str, str | None]:
    """What a pool worker, a Slurm task or a ``--jobs 1`` sweep runs for one run: claim the run's lock,
    check its status again under the lock, train it if it is not complete.

    Returns ``("trained", directory)``, ``("complete", None)`` (another process completed it since
    the sweep looked) or ``("locked", holder)`` (another live process holds it: left to that one).
    A failed training raises, as :func:`_train_one` does; the lock is released either way.
    """
    try:
        lock = run.claim()
    except RunLocked as e:
        return "locked", describe(e.holder)
    try:
        if run.status() == "complete":
            return "complete", None
        return "trained", _train_one(run)
    except _Stop as e:
        # drop the stopped training's frames: a writer they still hold (stopped before the loop took
        # charge of it) releases its part of the lock now, not at a garbage collection that never comes
        e.__traceback__ = None
        import gc

        gc.collect()
        _mark_stopped(run, str(e))
        raise
    finally:
        lock.release()


def _mark_stopped(run: PlannedRun, why: str) -> None:
    """After a stop signal, still under the run's lock: a run.json left ``running`` (the signal came after
    the writer wrote it, before the training loop took charge of the writer) is marked ``failed`` with
    ``error`` = ``why``, as the writer marks a run it is stopped in. Left as it is where it cannot be."""
    from fwanalysis.artifacts.io import utc_now, write_json

    path = run.path / "run.json"
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(m, dict) and m.get("status") == "running":
            m.update(status="failed", finished=utc_now(), error=why)
            write_json(path, m, mkdir=False)
    except (OSError, ValueError):
        pass


class _Stop(BaseException):
    """SIGTERM or SIGINT: stop training (a BaseException, so that no ``except Exception`` swallows it).
    Its message, ``interrupted by SIGTERM``, is what the run writer records as the stopped run's ``error``."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class _Worker:
    """A pool worker of a local sweep (:class:`~trainer.pool.WorkerPool` ``init=worker.start``,
    ``fn=worker.run``): what it knows of itself is here, not in module state. The pool sends both
    methods to the new process in one pickle, so they share one object there.

    Told to stop, a run in progress is marked failed and its lock released, then the worker exits. Later
    signals (Ctrl-C reaches the workers and then the sweep terminates them) do nothing, so they never
    interrupt the cleanup. The handler stays installed: a signal already pending when a handler is
    replaced by SIG_IGN makes Python raise "signal ignored due to race condition" instead.
    """

    def __init__(self, jobs: int, parent_pid: int | None = None):
        self.jobs, self.parent_pid = jobs, parent_pid
        self.in_run = False  # a run is being trained now
        self.stopping = False  # a stop signal came

    def start(self) -> None:
        """In the new worker process: die with the sweep, stop on its signals, share the CPUs."""
        if self.parent_pid is not None:
            _die_with_parent(self.parent_pid)
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, self._signal)
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.jobs))

    def _signal(self, signum, frame) -> None:
        if self.stopping:
            return
        self.stopping = True
        if self.in_run:
            raise _Stop(signum)
        os._exit(128 + signum)

    def run(self, run: PlannedRun) -> tuple[str, str | None]:
        """:func:`_claim_and_train`; the worker exits after a stop has cleaned up."""
        self.in_run = True
        try:
            return _claim_and_train(run)
        except _Stop as e:  # the writer marked the run failed and the locks were released on the way here
            os._exit(128 + e.signum)
        finally:
            self.in_run = False


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``): a killed
    sweep leaves no worker training on. A no-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(1)


def _one_line(e: BaseException) -> str:
    """An exception as one line; for a submitit job, the last line of the remote traceback."""
    text = str(e)
    if type(e).__name__ == "FailedJobError" and "----" in text:
        trace = text.split("----------------------\n")[1] if text.count("----------------------\n") >= 2 else text
        lines = [line.strip() for line in trace.splitlines() if line.strip()]
        return lines[-1] if lines else "failed"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(e).__name__}: {first}" if first else type(e).__name__
