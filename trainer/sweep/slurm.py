"""Slurm: whether a job has ended (for a lock another host left), the states of job arrays, and a sweep's runs
submitted through submitit and watched until each has a result or has ended without one (docs/sweeps.md).

Slurm is reached only through its commands (``scontrol``, ``sacct``), each given 60 s; where they are
missing or silent nothing is assumed: a lock is respected, a task is waited for.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import sys
import time
import typing
from collections.abc import Callable

from .spec import _SLURM_KEYS, Spec, SpecError
from .task import SweepFailed, _claim_and_train, _one_line

if typing.TYPE_CHECKING:
    from .plan import PlannedRun


def _slurm_command(cmd: list[str]):
    """A Slurm command's completed process, or None where it could not run (not installed, no answer in 60 s)."""
    import subprocess

    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None


@functools.cache
def _cluster_name() -> str:
    """This machine's Slurm cluster (``ClusterName`` of ``scontrol show config``), asked once it answers.
    Without an answer it raises :class:`LookupError`, which is not cached: maybe the controller answers
    next time."""
    r = _slurm_command(["scontrol", "show", "config"])
    for line in r.stdout.splitlines() if r is not None and r.returncode == 0 else []:
        key, sep, value = line.partition("=")
        if sep and key.strip() == "ClusterName":
            return value.strip()
    raise LookupError("scontrol show config named no ClusterName")


def slurm_job_ended(info: dict) -> bool:
    """Whether the holder of a lock of another host has ended for sure: the lock was taken inside a
    Slurm job (its record names ``slurm_job`` and ``slurm_cluster``), the cluster is the one this
    machine's Slurm commands talk to, and its controller says the job has ended (``TIMEOUT``,
    ``CANCELLED``, ``NODE_FAIL``, ``OUT_OF_MEMORY``, ...) or no longer knows it (``Invalid job id``:
    it ended longer ago than ``MinJobAge``). Anything else (no Slurm here, another cluster, no answer,
    a job still running) is False: the lock is respected."""
    job, cluster = info.get("slurm_job"), info.get("slurm_cluster")
    if not isinstance(job, str) or not job.isdigit() or not isinstance(cluster, str) or not cluster:
        return False
    try:
        if _cluster_name() != cluster:
            return False
    except LookupError:  # no answer: asked again next time
        return False
    r = _slurm_command(["scontrol", "show", "job", "-o", job])
    if r is None:
        return False
    if r.returncode != 0:
        return "invalid job id" in (r.stderr + r.stdout).lower()
    return _slurm_state(_scontrol_fields(r.stdout).get("JobState", "")) in _SLURM_ENDED


def _scontrol_fields(line: str) -> dict:
    """``scontrol show job -o``'s ``Key=Value`` words as a dict."""
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


def _slurm_state(state: str) -> str:
    """A job state as sacct or scontrol writes it, bare: ``CANCELLED by 0`` and ``CANCELLED+`` -> ``CANCELLED``."""
    return (state.split() or [""])[0].rstrip("+").upper()


def _slurm_parameters(spec: Spec | None, slurm: dict) -> dict:
    params = dict(spec.slurm if spec is not None else {})
    for key, v in (slurm or {}).items():
        if key not in _SLURM_KEYS:
            raise SpecError(f"slurm option {key!r} is not one of: {', '.join(_SLURM_KEYS)}")
        if v is not None:
            params[key] = v
    return params


# Slurm job states of a task that may still run (or run again); any other state is final
_SLURM_LIVE = frozenset(
    (
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "SUSPENDED",
        "REQUEUED",
        "REQUEUE_HOLD",
        "REQUEUE_FED",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
        "STOPPED",
        "PREEMPTED",
        "RESV_DEL_HOLD",
        "READY",
    )
)
# Slurm job states after which a job's processes are gone for good: what lets a sweep take over a lock
# that such a job left on another host (listed, not "any state but the live ones": a state a later Slurm
# adds never breaks a lock)
_SLURM_ENDED = frozenset(
    (
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "TIMEOUT",
    )
)


class _SlurmStates:
    """The state of each task of job arrays, read with ``sacct``; where ``sacct`` fails (Slurm's
    accounting is off, as on many small clusters), with ``scontrol show job``, saying so once.

    submitit's own watcher asks ``sacct`` only, warns at every failed call, and never learns that a
    task ended without a result (cancelled, killed at its time limit, its node lost): a sweep
    waiting on such a task would wait forever.
    """

    def __init__(self, array_ids):
        self.array_ids = [str(i) for i in array_ids]
        self.sacct = shutil.which("sacct") is not None
        self.misses = 0

    def read(self) -> dict:
        """``{"<array>_<task>": "STATE"}``, and under the key ``""`` where they come from: ``sacct``,
        ``scontrol``, or ``GONE`` when ``scontrol`` has known none of the jobs three reads in a row
        (it forgets a job ``MinJobAge`` after its end). A task Slurm does not know is missing."""
        out: dict = {}
        if self.sacct:
            cmd = ["sacct", "-X", "-n", "-P", "-o", "JobID,State"] + [a for i in self.array_ids for a in ("-j", i)]
            r = _slurm_command(cmd)
            if r is not None and r.returncode == 0:
                for line in r.stdout.splitlines():
                    job, _, state = line.partition("|")
                    self._put(out, job.strip(), state)
                out[""] = "sacct"
                return out
            why = (
                ((r.stderr or r.stdout).strip().splitlines() or ["exit status " + str(r.returncode)])[0]
                if r is not None
                else "no answer"
            )
            print(f"note: sacct failed ({why}); reading the tasks' states with scontrol instead", file=sys.stderr)
            self.sacct = False
        for array_id in self.array_ids:
            r = _slurm_command(["scontrol", "show", "job", "-o", array_id])
            if r is None or r.returncode != 0:
                continue
            for line in r.stdout.splitlines():
                fields = _scontrol_fields(line)
                job = fields.get("ArrayJobId", fields.get("JobId", ""))
                if "ArrayTaskId" in fields:
                    job = f"{job}_{fields['ArrayTaskId']}"
                self._put(out, job, fields.get("JobState", ""))
        self.misses = 0 if out else self.misses + 1
        out[""] = "scontrol" if out or self.misses < 3 else "GONE"
        return out

    @staticmethod
    def _put(out: dict, job: str, state: str) -> None:
        """``123_4``, ``123_[5-7%2]`` or ``123_5-7`` (tasks not started yet) -> one key per task;
        ``123`` (a single run is submitted as a plain job) -> itself."""
        state = _slurm_state(state)
        main, sep, tasks = job.partition("_")
        if not state or not main:
            return
        if not sep:
            out[main] = state
            return
        for part in tasks.strip("[]").split("%")[0].split(","):
            lo, _, hi = part.partition("-")
            if lo.isdigit() and (not hi or hi.isdigit()):
                for t in range(int(lo), int(hi or lo) + 1):
                    out[f"{main}_{t}"] = state


def _slurm_ended(job, state: str | None, limit: str) -> str:
    """Why a Slurm task ended without a result, in words (``state`` None: Slurm no longer knows it)."""
    if state is None:
        return f"Slurm job {job.job_id} ended without a result; Slurm no longer knows its state"
    if state == "TIMEOUT":
        return f"timed out: Slurm job {job.job_id} was killed at its time limit ({limit})"
    if state == "CANCELLED":
        return f"cancelled: Slurm job {job.job_id} was cancelled (scancel) before it finished"
    return f"Slurm job {job.job_id} ended {state} without a result"


def _job_error(e: BaseException, limit: str, run: PlannedRun) -> str:
    """A task's exception in one line; a run stopped by Slurm's warning signal before its time limit
    (submitit raises in the task, the run writer marks the run failed and its lock is released) is
    called a timeout, with the status its run.json was left in (read now, not assumed)."""
    line = _one_line(e)
    if "timed-out" in line and "not requeued" in line.lower():
        status = run.status()
        left = "it was marked failed" if status == "failed" else f"its run.json was left {status!r}"
        return f"timed out: Slurm's signal before its time limit ({limit}) stopped it and {left}"
    return line


def _run_submitit(
    todo: list[PlannedRun],
    executor: str,
    spec: Spec | None,
    slurm: dict,
    title: str,
    outcomes: dict,
    progress: Callable[[int, str], tuple],
) -> list[tuple[str, str]]:
    """Submit ``todo`` as one job array (``executor`` slurm) or as local submitit jobs and wait for each;
    fill ``outcomes`` (run_id -> (kind, detail)); return the failures. ``progress(total, title)``: the
    front's progress bar and its task, made once the runs are submitted."""
    import submitit

    params = _slurm_parameters(spec, slurm)
    if executor == "slurm" and shutil.which("sbatch") is None:
        raise SweepFailed("--executor slurm: sbatch is not on PATH (no Slurm here); use --executor local")
    folder = params.pop("folder", None) or "slurm-logs"
    ex = submitit.AutoExecutor(folder=folder, cluster="slurm" if executor == "slurm" else "local")
    ex.update_parameters(
        name=f"fw-{spec.name}" if spec is not None else "fw-sweep",
        timeout_min=params.get("time"),
        gpus_per_node=params.get("gpus"),
        cpus_per_task=params.get("cpus_per_task"),
        mem_gb=params.get("mem_gb"),
        slurm_partition=params.get("partition"),
        slurm_account=params.get("account"),
        slurm_qos=params.get("qos"),
        slurm_constraint=params.get("constraint"),
        slurm_array_parallelism=params.get("array_parallelism"),
    )
    # a task may start in another directory than this one: give it absolute paths
    jobs = ex.map_array(_claim_and_train, [dataclasses.replace(r, out=os.path.abspath(r.out)) for r in todo])
    ids = sorted({str(j.job_id).split("_")[0] for j in jobs})  # one Slurm array; one id per run locally
    shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    print(f"submitted {len(jobs)} runs as job{'s' if len(ids) > 1 else ''} {shown} (logs in {folder})", file=sys.stderr)
    if executor == "slurm" and params.get("time") is None:
        print(
            "note: no --time (nor time in the spec's slurm table): submitit asked Slurm for 5 minutes per run",
            file=sys.stderr,
        )
    failures = []
    pending = list(zip(todo, jobs))
    states = _SlurmStates(ids) if executor == "slurm" else None
    limit = f"--time {params['time']} min" if params.get("time") is not None else "submitit's default of 5 min"
    started = time.monotonic()
    ended: dict = {}  # job id -> when Slurm was first seen to say COMPLETED without a result file here
    bar, task = progress(len(todo), title)
    with bar:
        while pending:
            still = []
            known = states.read() if states is not None else None
            for run, job in pending:
                if states is None and not job.done():
                    still.append((run, job))
                    continue
                if states is not None and not job.paths.result_pickle.exists():
                    state = known.get(str(job.job_id))
                    if state is None and known.get("") != "GONE":  # no state of this task (yet)
                        still.append((run, job))
                        continue
                    if state is not None and state in _SLURM_LIVE:
                        still.append((run, job))
                        continue
                    # a task that completed wrote its result: on a network file system it may show late
                    if (
                        state == "COMPLETED"
                        and time.monotonic() - ended.setdefault(str(job.job_id), time.monotonic()) < 30
                    ):
                        still.append((run, job))
                        continue
                    failures.append((run.run_id, f"{_slurm_ended(job, state, limit)} (log: {job.paths.stderr})"))
                else:
                    try:
                        outcomes[run.run_id] = job.result()
                    except Exception as e:
                        failures.append((run.run_id, f"{_job_error(e, limit, run)} (log: {job.paths.stderr})"))
                bar.update(task, advance=1, info=f"{len(failures)} failed" if failures else "")
            pending = still
            if pending:  # Slurm: every second at first, then less often (at most every 15 s)
                waited = time.monotonic() - started
                time.sleep(1.0 if executor == "submitit-local" else min(15.0, 1.0 + waited / 10))
    return failures
