"""Sweeps: a TOML spec expanded into runs, executed locally or as Slurm job arrays (docs/sweeps.md).

    from trainer.sweep import execute, expand, load_spec
    spec = load_spec("specs/accuracy.toml")
    runs = expand(spec, profile="quick", out=None, device=None, data_dir=None)
    execute(runs, executor="local", jobs=2, dry_run=False, spec=spec, slurm={})
    listing(runs)   # {"runs": [{"run_id", "config", "done"}]}: what --dry-run --format json prints

A spec is ``[base]`` keys, any number of ``[[grid]]`` blocks merged over base, and ``[profiles.<name>]``
whose keys override both; a list value is a grid axis (cartesian product). Runs are normalised as
:func:`trainer.config.resolve` treats them (:func:`trainer.config.normalise`: dense and static runs drop
the keys they do not use), de-duplicated, and named before training, so a sweep knows which runs are
done: a ``complete`` run is never redone, any other is (re)trained. A run's id is
:func:`fwanalysis.artifacts.run_id_for` of its normalised, unresolved config (every ``TrainConfig`` field
but ``extra``, model defaults filled in) plus the labels ``sweep`` (the spec's name) and ``profile``, and
``shadow``, ``state`` and ``mask_every``; not the device or the data directory.

A run is written to ``<out>/<model>/<run_id>/`` (``out`` defaults to ``artifacts``; ``<model>`` is the
registry name). ``<out>/<model>`` is the run's study directory: the one its ``RunWriter`` works in, so
its lock is ``<out>/<model>/.locks/<run_id>.lock``, the lock ``fw-train run --out <out>/<model>`` and
every analysis (which looks for the lock beside the run directory) take too. Each run is claimed by its
lock before it is trained, and its status is checked again under the lock: two sweeps, a sweep and
``fw-train run``, or a local pool and a Slurm array on one ``out`` train every run once. A run another
live process holds is left to it.

The parts, each importing only those above it: :mod:`~trainer.sweep.spec` (reading a spec),
:mod:`~trainer.sweep.task` (one run claimed and trained; a pool worker), :mod:`~trainer.sweep.slurm`
(Slurm's job states; submitit), :mod:`~trainer.sweep.plan` (runs, their ids and status) and
:mod:`~trainer.sweep.local` (:func:`execute`: the plan shown, the local pool, the report).
"""

from __future__ import annotations

import sys
import types

from fwanalysis.artifacts import run_id_for as run_id_for

from ..config import normalise as normalise
from . import local, plan, slurm, spec, task
from .local import EXECUTORS, PLAN_FORMATS, execute
from .local import _pool_answer as _pool_answer
from .local import _StopOnSignals as _StopOnSignals
from .plan import _KEYS_SINCE_LEGACY_IDS as _KEYS_SINCE_LEGACY_IDS
from .plan import DEFAULT_OUT as DEFAULT_OUT
from .plan import MAX_RUNS, PlannedRun, count_runs, expand, listing
from .plan import _blocks as _blocks
from .plan import _combinations as _combinations
from .slurm import _cluster_name as _cluster_name
from .slurm import _job_error as _job_error
from .slurm import _scontrol_fields as _scontrol_fields
from .slurm import _slurm_state as _slurm_state
from .slurm import _SlurmStates as _SlurmStates
from .slurm import slurm_job_ended as slurm_job_ended
from .spec import MAX_SPEC_BYTES, Spec, SpecError, load_spec
from .spec import RUN_KEYS as RUN_KEYS
from .task import SweepFailed
from .task import _claim_and_train as _claim_and_train
from .task import _Stop as _Stop
from .task import _train_one as _train_one

# public: what ``from trainer.sweep import *`` gives; the names imported ``as`` themselves above are
# importable from here too, as when the sweep was one module (tests and the Slurm tests' hook use them)
__all__ = [
    "Spec",
    "PlannedRun",
    "SpecError",
    "SweepFailed",
    "load_spec",
    "count_runs",
    "expand",
    "execute",
    "listing",
    "EXECUTORS",
    "PLAN_FORMATS",
    "MAX_RUNS",
    "MAX_SPEC_BYTES",
]


class _Package(types.ModuleType):
    """``trainer.sweep`` was one module: a name set on it (a test's monkeypatch of ``_train_one`` or
    ``run_id_for``, the Slurm tests' hook) is set in each part that holds it too, so the replacement
    takes effect where the name is used."""

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, value)
        for part in (spec, task, slurm, plan, local):
            if name in vars(part):
                setattr(part, name, value)


sys.modules[__name__].__class__ = _Package
