"""Running a sweep from this machine: the plan shown (``--dry-run``), the runs trained here by a pool of
worker processes (or in this process with ``--jobs 1``) or handed to Slurm (:mod:`trainer.sweep.slurm`),
and the report. Every run is claimed by its lock and its status checked again under it before it is
trained (:mod:`trainer.sweep.task`): two sweeps, a sweep and ``fw-train run``, or a local pool and a
Slurm array on one ``out`` train every run once; a run another live process holds is left to it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

from fwanalysis.artifacts.lock import RunLocked, claim_run, lock_path

from .plan import PlannedRun, listing
from .slurm import _run_submitit
from .spec import Spec, SpecError
from .task import SweepFailed, _claim_and_train, _one_line, _Stop, _Worker

EXECUTORS = ("local", "slurm", "submitit-local")
PLAN_FORMATS = ("table", "json")  # --format of fw-train sweep


class _StopOnSignals:
    """In the main thread: SIGTERM and SIGINT raise :class:`_Stop` (once; later ones are ignored while
    the sweep cleans up). Elsewhere a no-op (signal handlers can only be set in the main thread)."""

    def __enter__(self):
        self.old = {}
        self.stopping = False
        if threading.current_thread() is not threading.main_thread():
            return self

        def handler(signum, frame):
            if self.stopping:  # one stop is enough: never interrupt the cleanup (see _Worker)
                return
            self.stopping = True
            raise _Stop(signum)

        for s in (signal.SIGTERM, signal.SIGINT):
            self.old[s] = signal.getsignal(s)
            signal.signal(s, handler)
        return self

    def __exit__(self, *exc) -> None:
        for s, h in self.old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


def _progress(total: int, title: str):
    from rich.console import Console

    from ..progress import progress_bar

    bar = progress_bar(console=Console(stderr=True), transient=False)
    return bar, bar.add_task(title, total=total, info="")


def _print_plan(runs: list[PlannedRun], statuses: list[str], title: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if not console.is_terminal:  # piped: never cut or wrap a run id
        console = Console(width=10_000)
    t = Table(title=Text(title))  # spec names, run ids and values are printed as written, never as markup
    for col in ("run_id", "model", "dataset", "method", "criterion", "growth", "density", "seed", "status"):
        t.add_column(col, no_wrap=col == "run_id")
    for r, s in zip(runs, statuses):
        c = r.cfg
        cells = (r.run_id, c.model, c.dataset, c.method, c.criterion, c.growth, f"{c.density:g}", c.seed, s)
        t.add_row(*(Text("-" if v is None else str(v)) for v in cells))
    console.print(t)


def _run_local(todo: list[PlannedRun], jobs: int, title: str, outcomes: dict) -> list[tuple[str, str]]:
    """Train ``todo`` here; fill ``outcomes`` (run_id -> (kind, detail)); return the failures."""
    failures = []
    bar, task = _progress(len(todo), title)
    with bar:
        if jobs == 1:
            for run in todo:
                bar.update(task, info=run.run_id)
                try:
                    outcomes[run.run_id] = _claim_and_train(run)
                except Exception as e:  # one failed run must not stop the others
                    failures.append((run.run_id, _one_line(e)))
                bar.advance(task)
        else:
            from ..pool import WorkerPool

            worker = _Worker(jobs, os.getpid())
            with WorkerPool(worker.run, jobs=jobs, init=worker.start, describe=_one_line) as pool:
                for run, kind, value in pool.map(todo):
                    _pool_answer(run, kind, value, outcomes, failures)
                    bar.update(task, advance=1, info=f"{len(failures)} failed" if failures else "")
    return failures


def _pool_answer(run: PlannedRun, kind: str, value, outcomes: dict, failures: list) -> None:
    """One answer of the :class:`~trainer.pool.WorkerPool` into ``outcomes`` or ``failures``."""
    if kind == "ok":
        outcomes[run.run_id] = value
    elif kind == "died" and run.status() == "complete":  # killed after it marked the run complete
        _clear_stale_locks([run], ["complete"])
        outcomes[run.run_id] = ("trained", str(run.path))
    elif kind == "died":  # its run is left `running` with a stale lock; the other workers go on
        hint = " (the out-of-memory killer, or kill -9)" if value == "killed by SIGKILL" else ""
        failures.append((run.run_id, f"not done: its worker process died, {value}{hint}; the other runs went on"))
    else:
        failures.append((run.run_id, value))


def _plan_status(run: PlannedRun, status: str) -> tuple[str, dict | None]:
    """What ``--dry-run`` shows, and the holder of a run that another process is training now."""
    if status == "complete":
        return status, None
    holder = run.holder()
    if holder is not None:
        if holder.get("unreadable"):
            return f"locked (unreadable lock {lock_path(run.study, run.run_id)})", holder
        return f"running (pid {holder.get('pid')} on host {holder.get('host')})", holder
    return ("interrupted" if status == "running" else status), None


def _print_json(doc: dict, stream=None) -> None:
    stream = stream if stream is not None else sys.stdout
    stream.write(json.dumps(doc, indent=2) + "\n")
    stream.flush()


def execute(
    runs: list[PlannedRun],
    *,
    executor: str = "local",
    jobs: int = 1,
    dry_run: bool = False,
    spec: Spec | None = None,
    slurm: dict | None = None,
    fmt: str = "table",
    title: str | None = None,
) -> list[PlannedRun]:
    """Train every run of ``runs`` that is not ``complete`` and not being trained by another process;
    return the runs this call trained.

    ``executor``: ``local`` (``jobs`` processes here; 1: in this process), ``slurm`` (a submitit job
    array) or ``submitit-local`` (the slurm path through submitit's local executor, for testing);
    ``dry_run``: print the runs and their status, train nothing; ``slurm``: options overriding the
    spec's ``[slurm]`` table (``None`` values are ignored); ``fmt``: ``table`` (a dry run prints a table
    and a summary line on stdout) or ``json`` (stdout gets one JSON document, :func:`listing`, and
    nothing else: a dry run prints it instead of the table, a sweep prints it after training, the runs'
    status read again, also when runs failed; everything else goes to stderr); ``title``: the progress
    bar's and the plan's title (default ``sweep <spec name>``). Every run is claimed by its lock and its
    status checked again under it before it is trained; a run another live process holds is left to
    it and reported, not counted as a failure. Raises :class:`SweepFailed` when a run failed (after
    every other run was tried), each failure listed on stderr as ``failed: <run_id>: <error>``, and
    when SIGTERM or SIGINT stopped a local sweep (its workers stopped; the runs they were training
    are not complete).
    """
    if executor not in EXECUTORS:
        raise SpecError(f"--executor {executor!r} is not one of: {', '.join(EXECUTORS)}")
    if not isinstance(jobs, int) or jobs < 1:
        raise SpecError(f"--jobs {jobs!r} must be at least 1")
    if fmt not in PLAN_FORMATS:
        raise SpecError(f"--format {fmt!r} is not one of: {', '.join(PLAN_FORMATS)}")
    statuses = [r.status() for r in runs]
    shown, held = zip(*(_plan_status(r, s) for r, s in zip(runs, statuses))) if runs else ((), ())
    n_done = sum(s == "complete" for s in statuses)
    todo = [r for r, s, h in zip(runs, statuses, held) if s != "complete" and h is None]
    n_held = sum(h is not None for h in held)
    summary = f"{len(runs)} runs: {n_done} complete, {len(todo)} to train"
    if n_held:
        summary += f", {n_held} being trained by another process"
    title = title or (f"sweep {spec.name}" if spec is not None else "sweep")
    n_legacy = sum(s == "complete" and not (r.path / "run.json").exists() for r, s in zip(runs, statuses))
    if n_legacy:
        one = n_legacy == 1
        print(
            f"note: {n_legacy} complete {'run was' if one else 'runs were'} found under {'its' if one else 'their'} "
            "old id (8 hex digits, as an earlier fwa named runs): done, not trained again",
            file=sys.stderr,
        )
    if dry_run:
        if fmt == "json":
            _print_json(listing(runs, statuses))
            print(summary, file=sys.stderr)
            return []
        _print_plan(runs, list(shown), f"{title} ({spec.path})" if spec is not None else title)
        print(summary)
        return []
    if fmt == "json":  # stdout holds the one JSON document: anything this process prints meanwhile goes to stderr
        import contextlib

        stdout = sys.stdout
        try:
            with contextlib.redirect_stdout(sys.stderr):
                return _execute(runs, todo, statuses, held, summary, title, executor, jobs, spec, slurm)
        finally:
            _print_json(listing(runs), stdout)
    return _execute(runs, todo, statuses, held, summary, title, executor, jobs, spec, slurm)


def _clear_stale_locks(runs: list[PlannedRun], statuses: list[str]) -> None:
    """A complete run whose lock outlived its holder (killed after it marked the run complete, before it
    removed the lock): the stale lock is taken over and released, so none is left beside a finished run."""
    for r, s in zip(runs, statuses):
        if s == "complete" and lock_path(r.study, r.run_id).exists() and r.holder() is None:
            try:
                claim_run(r.study, r.run_id).release()
            except (RunLocked, OSError):
                pass


def _execute(runs, todo, statuses, held, summary, title, executor, jobs, spec, slurm) -> list[PlannedRun]:
    """:func:`execute` once the plan is made: train ``todo``, report, raise :class:`SweepFailed` on failures."""
    n_held = sum(h is not None for h in held)
    print(summary, file=sys.stderr)
    _clear_stale_locks(runs, statuses)
    outcomes: dict[str, tuple[str, str | None]] = {}
    failures: list[tuple[str, str]] = []
    if todo:
        if executor == "local":
            try:
                with _StopOnSignals():
                    failures = _run_local(todo, jobs, title, outcomes)
            except _Stop as e:
                n_left = len(todo) - len(outcomes) - len(failures)
                n_trained = sum(k == "trained" for k, _ in outcomes.values())
                if not n_left:
                    raise SweepFailed(
                        f"stopped by {e.name} after the last run; trained {n_trained} runs here"
                    ) from None
                raise SweepFailed(
                    f"stopped by {e.name}: trained {n_trained} runs here; {n_left} runs not done "
                    "(the ones being trained were stopped and are not complete); run the sweep again to finish them"
                ) from None
        else:
            try:
                failures = _run_submitit(todo, executor, spec, slurm or {}, title, outcomes, _progress)
            except KeyboardInterrupt:
                raise SweepFailed(
                    "interrupted while waiting for the submitted runs: they were not cancelled and go on "
                    "(scancel stops Slurm jobs); run the sweep again to see what is done"
                ) from None
    trained = [r for r in todo if outcomes.get(r.run_id, ("",))[0] == "trained"]
    n_meanwhile = sum(k == "complete" for k, _ in outcomes.values())
    n_locked = n_held + sum(k == "locked" for k, _ in outcomes.values())
    line = f"trained {len(trained)} of {len(runs)} runs here"
    if n_meanwhile:
        line += f"; {n_meanwhile} {'was' if n_meanwhile == 1 else 'were'} completed by another process meanwhile"
    if n_locked:
        line += (
            f"; {n_locked} {'run is' if n_locked == 1 else 'runs are'} being trained by another process: "
            "run the sweep again later to pick up any that fail"
        )
    print(line, file=sys.stderr)
    for run_id, msg in failures:
        print(f"failed: {run_id}: {msg}", file=sys.stderr)
    if failures:
        raise SweepFailed(
            f"{len(failures)} of {len(todo)} runs failed (listed above); run the sweep again to retry them"
        )
    return trained
