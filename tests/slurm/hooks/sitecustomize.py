"""Test instrumentation for the Slurm tests, loaded by every Python process started with this folder on
PYTHONPATH and ``FWA_TEST_TRAIN_LOG`` set (the tests' fw-train sweeps, their pool workers and their
Slurm tasks, which inherit the submitter's environment). Nothing here is part of fwa.

- ``FWA_TEST_TRAIN_LOG=FILE``: each call of ``trainer.sweep._train_one`` appends ``start <run_id> <pid>``
  before training and ``done <run_id> <pid>`` after it returned: an account of trainings kept apart from
  what the sweep itself reports.
- ``FWA_TEST_STALL=<run_id>:<marker file>[:deaf]``: the first training of that run (the one that creates
  the marker file) sleeps for ten minutes once its run directory exists (after its first mask snapshot),
  so that it can be cancelled or stopped at its time limit midway; later trainings of it do not stall.

  Time limits: submitit has Slurm send SIGUSR2 90 s before a task's limit, and Slurm sends it up to
  30 s early, so with a short limit it comes early, maybe before the task's Python has set submitit's
  handler (the signal would then kill the task outright). So every Slurm task of such
  an environment blocks SIGUSR2 from its very start: the stalled training unblocks it when it begins
  to stall (the warning, pending or still to come, then reaches submitit's handler in the middle of
  the run), and any other training, the rerun of a timed-out run included, is never interrupted by
  it. ``deaf``: the stalled training keeps it blocked, so that Slurm kills it at the limit.
"""

import os

if os.environ.get("FWA_TEST_STALL") and os.environ.get("SLURM_JOB_ID"):
    import signal

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})

_sweep = None
if os.environ.get("FWA_TEST_TRAIN_LOG"):
    try:  # any Python started with this folder on its path (not only fwa's) loads this file
        import trainer.sweep as _sweep
        from fwanalysis.artifacts import RunWriter as _RunWriter
    except ImportError:
        _sweep = None

if _sweep is not None:
    import time

    _log_path = os.environ["FWA_TEST_TRAIN_LOG"]
    _train_one = _sweep._train_one
    _stall_run, _, _marker = os.environ.get("FWA_TEST_STALL", "").partition(":")
    _marker, _, _deaf = _marker.partition(":")

    def _note(word: str, run_id: str) -> None:
        fd = os.open(_log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, f"{word} {run_id} {os.getpid()}\n".encode())
        finally:
            os.close(fd)

    def _counted_train_one(run):
        _note("start", run.run_id)
        path = _train_one(run)
        _note("done", run.run_id)
        return path

    _sweep._train_one = _counted_train_one

    if _stall_run and _marker:
        _write_masks = _RunWriter.write_masks

        def _stalling_write_masks(self, step, masks, *args, **kwargs):
            out = _write_masks(self, step, masks, *args, **kwargs)
            if step == 0 and self.run_id == _stall_run:
                try:
                    fd = os.open(_marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    return out
                os.close(fd)
                if not _deaf:
                    import signal

                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})
                time.sleep(600)
            return out

        _RunWriter.write_masks = _stalling_write_masks
