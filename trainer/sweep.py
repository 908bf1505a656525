"""Sweeps: a TOML spec expanded into runs, executed locally or as Slurm job arrays (docs/sweeps.md).

    from trainer.sweep import execute, expand, load_spec
    spec = load_spec("specs/accuracy.toml")
    runs = expand(spec, profile="quick", out=None, device=None, data_dir=None)
    execute(runs, executor="local", jobs=2, dry_run=False, spec=spec, slurm={})
    listing(runs)   # {"runs": [{"run_id", "config", "done"}]}: what --dry-run --format json prints

A spec is ``[base]`` keys, any number of ``[[grid]]`` blocks merged over base, and ``[profiles.<name>]``
whose keys override both; a list value is a grid axis (cartesian product). Runs are normalised like
:func:`trainer.config.resolve` (dense and static runs drop the keys they do not use), de-duplicated,
and named before training, so a sweep knows which runs are done: a ``complete`` run is never redone,
any other is (re)trained. A run's id is :func:`fwanalysis.artifacts.run_id_for` of its normalised,
unresolved config (every ``TrainConfig`` field but ``extra``, model defaults filled in) plus the labels
``sweep`` (the spec's name) and ``profile``, and ``shadow``, ``state`` and ``mask_every``; not the
device or the data directory.

A run is written to ``<out>/<model>/<run_id>/`` (``out`` defaults to ``artifacts``; ``<model>`` is the
registry name). ``<out>/<model>`` is the run's study directory: the one its ``RunWriter`` works in, so
its lock is ``<out>/<model>/.locks/<run_id>.lock``, the lock ``fw-train run --out <out>/<model>`` and
every analysis (which looks for the lock beside the run directory) take too. Each run is claimed by its
lock before it is trained, and its status is checked again under the lock: two sweeps, a sweep and
``fw-train run``, or a local pool and a Slurm array on one ``out`` train every run once. A run another
live process holds is left to it.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from fwanalysis.artifacts import ArtifactError, load_run, run_id_for
from fwanalysis.artifacts.io import NotRegularFile, read_regular
from fwanalysis.artifacts.lock import RunLocked, claim_run, describe, lock_holder, lock_path
from fwanalysis.vocab import STATE_DUMPS

from . import config as cfgmod
from .config import ConfigError, TrainConfig, without_omitted
from .models import MODELS

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

EXECUTORS = ("local", "slurm", "submitit-local")
PLAN_FORMATS = ("table", "json")  # --format of fw-train sweep
DEFAULT_OUT = "artifacts"
MAX_RUNS = 100_000  # runs a spec may expand to unless --max-runs says more (counted before any is built)
MAX_SPEC_BYTES = 2**20  # a spec file larger than this is refused unread

_CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name != "extra")
_RECORD_KEYS = ("shadow", "state", "mask_every")  # what is recorded: part of the run id
# Config keys added since fwa named runs with 8 hex digits: left out of a run's legacy id, as the ids of then
# were hashed without them. A legacy run still counts only with the config the run would record, so a dst
# run made before them (regrown weights zeroed, counts rounded to the nearest) is trained again, while a
# dense or static run (which none of them changes: its run.json reads them as null) is not.
_KEYS_SINCE_LEGACY_IDS = ("regrown_weights", "growth_count", "prune_fraction_end", "prune_rounding")
RUN_KEYS = _CONFIG_KEYS + _RECORD_KEYS + ("device",)  # device: where it trains, not part of the run id
_TOP_KEYS = ("name", "description", "base", "grid", "profiles", "slurm")
_SLURM_KEYS = (
    "partition",
    "account",
    "qos",
    "constraint",
    "time",
    "gpus",
    "cpus_per_task",
    "mem_gb",
    "array_parallelism",
    "folder",
)
_DEFAULTS = TrainConfig()
_HINTS = typing.get_type_hints(TrainConfig)


def _unused_by_fixed() -> tuple[str, ...]:
    """Keys a dense or static run does not use, reset to their defaults by :func:`normalise`: those
    :func:`trainer.config.resolve` sets to None for a static run (found by resolving one, so a field
    added to ``TrainConfig`` and dropped there is dropped here too), and ``mest_lambda`` (recorded only
    under a dst run's ``criterion_params``)."""
    fixed = ["mest_lambda", "prune_fraction", "prune_schedule", "update_period", "update_end", "pruning_scope"]
    try:
        name = next(iter(MODELS))
        probe = cfgmod.resolve(TrainConfig(model=name, method="static"), model_spec=MODELS[name], steps_per_epoch=1)
    except Exception:  # a config module that cannot resolve a default static run: the known keys only
        return tuple(fixed)
    fixed += [
        k for k in _CONFIG_KEYS if k not in ("criterion", "growth") and getattr(probe, k) is None and k not in fixed
    ]
    return tuple(fixed)


_UNUSED_BY_FIXED = _unused_by_fixed()


class SpecError(ValueError):
    """A sweep spec or option that cannot be used; the one-line message names the file and the key.

    Messages name tables in words ("table base", "grid block 2", "profile quick"), not as
    ``[base]``: the CLI prints them through rich, which would read ``[base]`` as markup.
    """


class SweepFailed(Exception):
    """Some runs of a sweep failed (each was listed on stderr as ``failed: <run_id>: <error>``)."""


@dataclass(frozen=True)
class Spec:
    """A parsed sweep spec: ``base`` and each ``grids`` entry map run keys to a value or a list (an axis)."""

    path: str
    name: str
    description: str = ""
    base: dict = field(default_factory=dict)
    grids: list = field(default_factory=list)  # list of dicts; [] means one grid equal to base
    profiles: dict = field(default_factory=dict)  # name -> dict of run keys
    slurm: dict = field(default_factory=dict)  # defaults for --executor slurm (_SLURM_KEYS)


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep: its normalised (unresolved) config, where it goes and what it records."""

    cfg: TrainConfig  # extra holds the labels: {"sweep": spec name, "profile": profile name}
    out: str  # the sweep's --out; the run is out/<model>/run_id
    run_id: str  # run_id_for(config without extra + sweep, profile, shadow, state, mask_every)
    shadow: str = "all"  # all | none | c1,c2 (canonical order)
    state: str = "none"  # none | first | all
    mask_every: int = 0  # a mask snapshot every K updates; 0: first and last only
    device: str = "cpu"
    data_dir: str | None = None
    legacy_id: str | None = None  # run_id_for(..., digits=8): the id an earlier fwa gave this run

    @property
    def study(self) -> str:
        """The directory that holds the run directory and its lock: ``<out>/<model>``."""
        return str(Path(self.out) / self.cfg.model)

    @property
    def path(self) -> Path:
        """The run directory: ``<out>/<model>/<run_id>``."""
        return Path(self.study) / self.run_id

    def status(self) -> str:
        """``complete``, ``running`` or ``failed`` from ``run.json``; ``missing`` without one.

        An unreadable or malformed ``run.json`` counts as ``failed`` (so it is trained again). Without a
        ``run.json`` at its id, a run an older fwa left complete under its legacy id counts as ``complete``
        (:func:`_complete_under_legacy_id`).
        """
        if not (self.path / "run.json").exists():
            return "complete" if _complete_under_legacy_id(self) else "missing"
        try:
            return load_run(self.path).status
        except ArtifactError:
            return "failed"

    def holder(self) -> dict | None:
        """The lock record (``host``, ``pid``, ``time``) of the process training this run now, or None.

        A lock of another host counts as held (its process cannot be checked from here), unless it was
        taken inside a Slurm job that Slurm says has ended (:func:`slurm_job_ended`); a lock whose process
        is gone from this host does not (the next claim takes it over).
        """
        return lock_holder(self.study, self.run_id, gone=slurm_job_ended)

    def config(self) -> dict:
        """The run's config as its ``run.json`` will record it, as far as it is known without data, plus
        ``shadow``, ``state`` and ``mask_every`` (docs/sweeps.md, "Listing a sweep").

        :func:`trainer.config.resolve` and :func:`trainer.config.to_manifest_config` make it, as the
        trainer does; an ``update_period`` given in epochs (``"2ep"``) and ``update_end`` left unset
        (``None``: the end of training) stay as written, since their steps depend on the data set's size.
        """
        d, _ = self._manifest_config()
        d.update(shadow=self.shadow, state=self.state, mask_every=self.mask_every)
        return d

    def _manifest_config(self) -> tuple[dict, set[str]]:
        """The ``config`` of the run's ``run.json`` as far as it is known without data (:meth:`config`
        without the recording keys), and the keys shown as planned because their value depends on the data."""
        # resolved for two data set sizes: a value that differs between them depends on the data and is
        # shown as planned (10**9 steps per epoch make any amount of epochs _check_run accepted >= 1 step)
        spec = MODELS[self.cfg.model]
        c = cfgmod.resolve(self.cfg, model_spec=spec, steps_per_epoch=10**9)
        other = cfgmod.resolve(self.cfg, model_spec=spec, steps_per_epoch=2 * 10**9)
        by_data = {key for key in _CONFIG_KEYS if getattr(c, key) != getattr(other, key)}
        for key in by_data:
            setattr(c, key, getattr(self.cfg, key))
        return cfgmod.to_manifest_config(c), by_data


def _legacy_id(ident: dict) -> str:
    """The id an earlier fwa gave the run of ``ident``: 8 hex digits of the hash of ``ident`` without the
    config keys added since (:data:`_KEYS_SINCE_LEGACY_IDS`)."""
    return run_id_for({k: v for k, v in ident.items() if k not in _KEYS_SINCE_LEGACY_IDS}, digits=8)


def _complete_under_legacy_id(run: PlannedRun) -> bool:
    """Whether an older fwa left ``run`` complete under its legacy id (8 hex digits), at
    ``<out>/<model>/<legacy_id>`` (docs/sweeps.md, "Runs of older fwa"): that ``run.json`` says
    ``complete`` and its ``config`` is the one this run would record (the keys that depend on the data
    aside). A legacy run that is not complete, or not this run, is ignored."""
    if not run.legacy_id or run.legacy_id == run.run_id:
        return False
    path = Path(run.study) / run.legacy_id
    if not (path / "run.json").exists():
        return False
    try:
        old = load_run(path)
    except ArtifactError:
        return False
    planned, by_data = run._manifest_config()
    return (
        old.status == "complete"
        and set(old.config) == set(planned)
        and all(old.config[k] == v for k, v in planned.items() if k not in by_data)
    )


# -- reading a spec ----------------------------------------------------------------------------------


def _unknown(path, what: str, key: str, allowed) -> SpecError:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return SpecError(f"{path}: unknown key {key!r} in {what}{hint}; allowed: {', '.join(allowed)}")


def _type_name(hint) -> str:
    """``int | str | None`` -> "an integer or a string" (TOML has no null)."""
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    args = typing.get_args(hint) if typing.get_origin(hint) is not list else (hint,)
    return " or ".join(names.get(a, "a list of integers") for a in (args or (hint,)) if a is not type(None))


def _coerce(path, where: str, key: str, value):
    """One value of ``key`` checked against its type (an int where a float is asked becomes a float)."""
    if key in ("shadow", "state", "device"):
        ok, v = isinstance(value, str) and bool(value.strip()), value
        hint_name = "a string"
    elif key == "mask_every":
        ok, v = isinstance(value, int) and not isinstance(value, bool) and value >= 0, value
        hint_name = "a non-negative integer (0: no snapshots between the first and the last)"
    else:
        hint = _HINTS[key]
        allowed = set(typing.get_args(hint) or (hint,))
        v, ok = value, False
        if isinstance(value, bool):
            ok = bool in allowed
        elif isinstance(value, int):
            ok = int in allowed or float in allowed
            v = value if int in allowed else float(value)
        elif isinstance(value, float):
            ok = float in allowed
        elif isinstance(value, str):
            ok = str in allowed
            if ok and int in allowed and value.strip().isdigit():
                v = int(value)  # "800" and 800 are the same update period
        elif isinstance(value, list):
            ok = any(typing.get_origin(a) is list for a in allowed) and all(
                isinstance(x, int) and not isinstance(x, bool) for x in value
            )
        hint_name = _type_name(hint)
    if not ok:
        raise SpecError(f"{path}: {key} = {value!r} in {where}: expected {hint_name}")
    return v


def _is_axis(key: str, value) -> bool:
    """A list is a grid axis, except a flat list for a list-valued key (``lr_milestones = [10, 20]``)."""
    if not isinstance(value, list):
        return False
    if key in _HINTS and any(typing.get_origin(a) is list for a in typing.get_args(_HINTS[key])):
        return any(isinstance(x, list) for x in value)
    return True


def _read_block(path, where: str, block, *, nested: bool = False) -> dict:
    """A table of run keys: each value checked; a list value becomes a list of checked values.

    ``setups`` (not inside a setup) is a list of such tables: keys that go together, such as a model, its
    data set and its number of epochs; each setup is merged over the rest of the block in turn."""
    if not isinstance(block, dict):
        raise SpecError(f"{path}: {where} must be a table of run keys")
    out = {}
    for key, value in block.items():
        if key == "setups" and not nested:
            if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
                raise SpecError(
                    f"{path}: setups in {where} must be a non-empty list of tables, e.g. "
                    f'setups = [{{ model = "mlp-large", dataset = "cifar10" }}]'
                )
            out[key] = [_read_block(path, f"{where}, setup {i + 1}", v, nested=True) for i, v in enumerate(value)]
            continue
        if key not in RUN_KEYS:
            raise _unknown(path, where, key, RUN_KEYS + (() if nested else ("setups",)))
        if key == "device" and isinstance(value, list):  # not part of a run's id: an axis would only repeat runs
            raise SpecError(
                f"{path}: device = {value!r} in {where}: expected a string (where every run trains; not an axis)"
            )
        if _is_axis(key, value):
            if not value:
                raise SpecError(f"{path}: {key} in {where} is an empty list (an axis with no values)")
            out[key] = [_coerce(path, where, key, v) for v in value]
        else:
            out[key] = _coerce(path, where, key, value)
    return out


def _read_toml(path) -> dict:
    """The TOML document of the spec file ``path``: a regular file of at most :data:`MAX_SPEC_BYTES`
    bytes in UTF-8 (read without waiting: a FIFO is refused, never opened for reading), else
    :class:`SpecError` naming the file and what it is."""
    try:
        text = read_regular(path, max_bytes=MAX_SPEC_BYTES).decode("utf-8")
        return tomllib.loads(text)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except NotRegularFile as e:
        raise SpecError(f"{e}; a spec is a TOML file of at most {MAX_SPEC_BYTES // 2**20} MiB") from None
    except UnicodeDecodeError as e:
        raise SpecError(
            f"{path}: not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start}); a spec is a TOML file"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: not valid TOML ({e})") from None
    except RecursionError:
        raise SpecError(f"{path}: not a usable TOML spec (values nested too deeply)") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read ({e.strerror or e})") from None


def load_spec(path) -> Spec:
    """Read and check a sweep spec (TOML); raise :class:`SpecError` naming the file and the key."""
    raw = _read_toml(path)
    for key in raw:
        if key not in _TOP_KEYS:
            raise _unknown(path, "the spec's top level", key, _TOP_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f'{path}: `name = "..."` is required (a string)')
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{path}: description must be a string")
    base = _read_block(path, "table base", raw.get("base", {}))
    grid_raw = raw.get("grid", [])
    if not isinstance(grid_raw, list):
        raise SpecError(f"{path}: grid must be an array of tables, one per grid block")
    grids = [_read_block(path, f"grid block {i + 1}", g) for i, g in enumerate(grid_raw)]
    prof_raw = raw.get("profiles", {})
    if not isinstance(prof_raw, dict):
        raise SpecError(f"{path}: profiles must hold one table per profile (profiles.<name>)")
    profiles = {k: _read_block(path, f"profile {k}", v) for k, v in prof_raw.items()}
    slurm = raw.get("slurm", {})
    if not isinstance(slurm, dict):
        raise SpecError(f"{path}: slurm must be a table")
    for key in slurm:
        if key not in _SLURM_KEYS:
            raise _unknown(path, "table slurm", key, _SLURM_KEYS)
    return Spec(
        path=str(path), name=name, description=description, base=base, grids=grids, profiles=profiles, slurm=dict(slurm)
    )


# -- expanding it into runs --------------------------------------------------------------------------


def _canonical_shadow(path, shadow: str) -> str:
    try:
        return cfgmod.canonical_shadow(shadow)
    except ConfigError as e:
        raise SpecError(f"{path}: {e}") from None


def normalise(cfg: TrainConfig) -> TrainConfig:
    """The canonical form of ``cfg`` as :func:`trainer.config.resolve` would treat it.

    dense: density 1, init dense, no criterion or growth; dense and static: the update and prune keys
    are reset to their defaults (resolve sets them to None; unused either way); dst: growth random if
    unset. Two configs that train the same run normalise to equal configs.
    """
    c = dataclasses.replace(cfg, extra={})
    if c.method == "dense":
        c.density, c.init = 1.0, "dense"
    if c.method in ("dense", "static"):
        c.criterion = c.growth = None
        for key in _UNUSED_BY_FIXED:
            setattr(c, key, getattr(_DEFAULTS, key))
    elif c.method == "dst":
        c.growth = c.growth or "random"
    return c


def _describe(values: dict) -> str:
    keys = ("model", "dataset", "method", "criterion", "growth", "density", "seed")
    return " ".join(f"{k}={values[k]}" for k in keys if values.get(k) is not None)


def _check_run(spec: Spec, cfg: TrainConfig, where: str) -> None:
    try:
        cfgmod.check(cfg)
        if cfg.method == "dst" and cfg.criterion is None:
            raise ConfigError("--method dst needs a --criterion")
        for key in ("update_period", "update_end"):
            v = getattr(cfg, key)
            if isinstance(v, str):  # the format only; 10**9 steps per epoch makes any positive amount >= 1 step
                cfgmod.steps_of(v, steps_per_epoch=10**9, name=key.replace("_", "-"))
    except ConfigError as e:
        raise SpecError(f"{spec.path}: run {where}: {e}") from None
    from .data import DATASETS
    from .models import MODELS

    for key, registry in (("model", MODELS), ("dataset", DATASETS)):
        if getattr(cfg, key) not in registry:
            raise SpecError(
                f"{spec.path}: run {where}: {key} {getattr(cfg, key)!r} is not one of: {', '.join(registry)}"
            )


def _setups(merged: dict):
    """``(block, axes)`` for each setup of a merged block: the setup merged over the rest of the block, and
    the keys of its axes (list values)."""
    rest = {k: v for k, v in merged.items() if k != "setups"}
    for setup in merged.get("setups", [{}]):
        block = {**rest, **setup}
        yield block, [k for k, v in block.items() if _is_axis(k, v)]


def _combinations(merged: dict):
    """Each run's keys from a merged block: every setup in turn merged over the block, then the cartesian
    product of the axes."""
    for block, axes in _setups(merged):
        for combo in itertools.product(*(block[k] for k in axes)):
            yield {**block, **dict(zip(axes, combo))}


def _blocks(spec: Spec, profile: str) -> list[dict]:
    """The spec's grid blocks (one equal to base where it has none), each merged over base, with the
    profile's keys over both; an unknown profile is a :class:`SpecError` listing the available ones."""
    if profile not in spec.profiles:
        avail = ", ".join(spec.profiles) or "none (add a table profiles.<name>)"
        close = difflib.get_close_matches(profile, list(spec.profiles), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpecError(f"{spec.path}: unknown profile {profile!r}; available profiles: {avail}{hint}")
    return [{**spec.base, **grid, **spec.profiles[profile]} for grid in spec.grids or [{}]]


def count_runs(spec: Spec, profile: str) -> tuple[int, dict[str, int]]:
    """How many runs :func:`expand` builds for ``profile`` before they are normalised and de-duplicated
    (per block and setup, the product of its axes' lengths), and each axis's length (its longest over
    blocks and setups). Arithmetic only: a spec of 10^9 runs is counted as fast as one of 10."""
    total, lengths = 0, {}
    for merged in _blocks(spec, profile):
        for block, axes in _setups(merged):
            total += math.prod(len(block[k]) for k in axes)
            for k in axes:
                lengths[k] = max(lengths.get(k, 0), len(block[k]))
    return total, lengths


def _check_count(spec: Spec, profile: str, max_runs: int) -> None:
    """A :class:`SpecError` when ``spec`` expands to more than ``max_runs`` runs under ``profile``: one line
    with the count, the largest axes and the option that raises the limit."""
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1:
        raise SpecError(f"--max-runs {max_runs!r} must be a whole number of at least 1")
    total, lengths = count_runs(spec, profile)
    if total <= max_runs:
        return
    largest = sorted(lengths.items(), key=lambda kv: -kv[1])[:3]
    axes = ", ".join(f"{k} ({n:,} values)" for k, n in largest) or "none: that many setups"
    shown = f"{total:,}" if total < 10**15 else f"about 10^{len(str(total)) - 1}"
    raise SpecError(
        f"{spec.path}: profile {profile} expands to {shown} runs, more than the {max_runs:,} allowed "
        f"(largest axes: {axes}); shrink the grid, or pass --max-runs N to allow up to N runs"
    )


def expand(
    spec: Spec,
    *,
    profile: str,
    out: str | None = None,
    device: str | None = None,
    data_dir: str | None = None,
    max_runs: int = MAX_RUNS,
) -> list[PlannedRun]:
    """Every run of ``spec`` under ``profile``, normalised and de-duplicated (first one kept), in spec order.

    ``out``: where the runs go, each to ``<out>/<model>/<run_id>`` (default ``artifacts``); ``device``:
    overrides the spec's ``device`` key (default cpu); ``data_dir``: passed to every run. The runs are
    counted first (:func:`count_runs`): a spec of more than ``max_runs`` is a :class:`SpecError`, before
    any run is built.
    """
    blocks = _blocks(spec, profile)
    _check_count(spec, profile, max_runs)
    out = str(out) if out is not None else DEFAULT_OUT
    runs: dict[str, PlannedRun] = {}
    keys_of: dict[str, str] = {}
    for gi, merged in enumerate(blocks):
        for values in _combinations(merged):
            where = f"({'grid block ' + str(gi + 1) + ', ' if spec.grids else ''}{_describe(values) or 'defaults'})"
            cfg = normalise(TrainConfig(**{k: v for k, v in values.items() if k in _CONFIG_KEYS}))
            _check_run(spec, cfg, where)
            # defaults that depend on the model and data set only are part of what a run is (and of its id)
            cfg = cfgmod.fill_model_defaults(cfg, model_spec=MODELS[cfg.model])
            # labels (fwanalysis.vocab.LABEL_KEYS): the spec's name goes into config as "sweep" (figures
            # select their runs by it, figures.py), the profile's as "profile" (--config profile=quick)
            labels = {"sweep": spec.name, "profile": profile}
            cfg = dataclasses.replace(cfg, extra=dict(labels))
            shadow = _canonical_shadow(spec.path, values.get("shadow", "all"))
            state = values.get("state", "none")
            if state not in STATE_DUMPS:
                raise SpecError(f"{spec.path}: run {where}: state {state!r} is not one of: {', '.join(STATE_DUMPS)}")
            mask_every = values.get("mask_every", 0)
            if cfg.method != "dst":  # shadow sets, states and mask snapshots exist only at updates
                shadow, state, mask_every = "none", "none", 0
            ident = {k: v for k, v in without_omitted(dataclasses.asdict(cfg)).items() if k != "extra"}
            ident |= labels | {"shadow": shadow, "state": state, "mask_every": mask_every}
            key = json.dumps(ident, sort_keys=True)
            run_id = run_id_for(ident)
            if run_id in runs:
                if keys_of[run_id] != key:  # two different runs, one 64-bit hash: a guard, never silently merged
                    raise SpecError(f"{spec.path}: runs {where} and {runs[run_id].run_id} share run id {run_id}")
                continue
            keys_of[run_id] = key
            runs[run_id] = PlannedRun(
                cfg=cfg,
                out=out,
                run_id=run_id,
                shadow=shadow,
                state=state,
                mask_every=mask_every,
                device=device or values.get("device", "cpu"),
                data_dir=data_dir,
                legacy_id=_legacy_id(ident),
            )
    return list(runs.values())


# -- executing the runs ------------------------------------------------------------------------------


def _train_one(run: PlannedRun) -> str:
    """Train one planned run in this process; return its directory (a ``RunWriter`` of the run in the
    same thread joins a claim :func:`_claim_and_train` holds)."""
    from .loop import train

    path = train(
        run.cfg,
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
    return str(path)


_slurm_cluster_name: list = []  # this machine's Slurm cluster, once asked


def _slurm_command(cmd: list[str]):
    """A Slurm command's completed process, or None where it could not run (not installed, no answer in 60 s)."""
    import subprocess

    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None


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
    if not _slurm_cluster_name:
        r = _slurm_command(["scontrol", "show", "config"])
        names = [
            line.split("=", 1)[1].strip()
            for line in (r.stdout.splitlines() if r is not None and r.returncode == 0 else [])
            if line.split("=", 1)[0].strip() == "ClusterName" and "=" in line
        ]
        if not names:
            return False  # not asked again: maybe the controller answers next time
        _slurm_cluster_name.append(names[0])
    if _slurm_cluster_name[0] != cluster:
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


def _claim_and_train(run: PlannedRun) -> tuple[str, str | None]:
    """What a pool worker, a Slurm task or a ``--jobs 1`` sweep runs for one run: claim the run's lock,
    check its status again under the lock, train it if it is not complete.

    Returns ``("trained", directory)``, ``("complete", None)`` (another process completed it since
    the sweep looked) or ``("locked", holder)`` (another live process holds it: left to that one).
    A failed training raises, as :func:`_train_one` does; the lock is released either way.
    """
    try:
        lock = claim_run(run.study, run.run_id, gone=slurm_job_ended)
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


_in_run = False  # in a pool worker: whether a run is being trained now
_stopping = False  # in a pool worker: a stop signal came


def _worker_signal(signum, frame) -> None:
    """A pool worker told to stop: a run in progress is marked failed and its lock released, then exit.

    Later signals (Ctrl-C reaches the workers and then the sweep terminates them) do nothing, so they
    never interrupt the cleanup. The handler stays installed: a signal already pending when a handler
    is replaced by SIG_IGN makes Python raise "signal ignored due to race condition" instead.
    """
    global _stopping
    if _stopping:
        return
    _stopping = True
    if _in_run:
        raise _Stop(signum)
    os._exit(128 + signum)


def _worker_run(run: PlannedRun) -> tuple[str, str | None]:
    """:func:`_claim_and_train` in a pool worker; the worker exits after a stop has cleaned up."""
    global _in_run
    _in_run = True
    try:
        return _claim_and_train(run)
    except _Stop as e:  # the writer marked the run failed and the locks were released on the way here
        os._exit(128 + e.signum)
    finally:
        _in_run = False


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


def _init_worker(jobs: int, parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, _worker_signal)
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // jobs))


class _StopOnSignals:
    """In the main thread: SIGTERM and SIGINT raise :class:`_Stop` (once; later ones are ignored while
    the sweep cleans up). Elsewhere a no-op (signal handlers can only be set in the main thread)."""

    def __enter__(self):
        self.old = {}
        self.stopping = False
        if threading.current_thread() is not threading.main_thread():
            return self

        def handler(signum, frame):
            if self.stopping:  # one stop is enough: never interrupt the cleanup (see _worker_signal)
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


def _one_line(e: BaseException) -> str:
    """An exception as one line; for a submitit job, the last line of the remote traceback."""
    text = str(e)
    if type(e).__name__ == "FailedJobError" and "----" in text:
        trace = text.split("----------------------\n")[1] if text.count("----------------------\n") >= 2 else text
        lines = [l.strip() for l in trace.splitlines() if l.strip()]
        return lines[-1] if lines else "failed"
    first = next((l.strip() for l in text.splitlines() if l.strip()), "")
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


def _progress(total: int, title: str):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}", markup=False),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
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
            from .pool import WorkerPool

            with WorkerPool(
                _worker_run, jobs=jobs, init=_init_worker, initargs=(jobs, os.getpid()), describe=_one_line
            ) as pool:
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
    todo: list[PlannedRun], executor: str, spec: Spec | None, slurm: dict, title: str, outcomes: dict
) -> list[tuple[str, str]]:
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
    bar, task = _progress(len(todo), title)
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


def listing(runs: list[PlannedRun], statuses: list[str] | None = None) -> dict:
    """``{"runs": [{"run_id", "config", "done"}, ...]}`` in the order of ``runs``: what ``fw-train sweep
    --format json`` prints. ``config`` is :meth:`PlannedRun.config`; ``done``: the run is complete at
    ``<out>/<model>/<run_id>`` (``statuses``: the runs' :meth:`PlannedRun.status`, read now if not given).
    """
    if statuses is None:
        statuses = [r.status() for r in runs]
    return {
        "runs": [{"run_id": r.run_id, "config": r.config(), "done": s == "complete"} for r, s in zip(runs, statuses)]
    }


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
        print(
            f"note: {n_legacy} complete {'run was' if n_legacy == 1 else 'runs were'} found under {'its' if n_legacy == 1 else 'their'} "
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
                    f"stopped by {e.name}: trained {n_trained} runs here; {n_left} runs not done (the ones being trained "
                    "were stopped and are not complete); run the sweep again to finish them"
                ) from None
        else:
            try:
                failures = _run_submitit(todo, executor, spec, slurm or {}, title, outcomes)
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
