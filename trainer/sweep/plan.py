"""Planning a sweep: a spec expanded into :class:`PlannedRun` objects, counted first, each named by its run id.

Runs are normalised (:func:`trainer.config.normalise`), checked, de-duplicated and named before training,
so a sweep knows which runs are done. A run's id is :func:`fwanalysis.artifacts.run_id_for` of its
normalised, unresolved config (every ``TrainConfig`` field but ``extra``, model defaults filled in) plus
the labels ``sweep`` (the spec's name) and ``profile``, and ``shadow``, ``state`` and ``mask_every``; not
the device or the data directory. A run is written to ``<out>/<model>/<run_id>/``; ``<out>/<model>`` is
its study directory, which holds its lock ``.locks/<run_id>.lock``.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from fwanalysis.artifacts import ArtifactError, load_run, run_id_for
from fwanalysis.artifacts.lock import RunLock, claim_run, lock_holder
from fwanalysis.vocab import STATE_DUMPS

from .. import config as cfgmod
from ..config import ConfigError, TrainConfig, normalise, without_omitted
from ..models.registry import MODELS
from .slurm import slurm_job_ended
from .spec import _CONFIG_KEYS, Spec, SpecError, _is_axis

DEFAULT_OUT = "artifacts"
MAX_RUNS = 100_000  # runs a spec may expand to unless --max-runs says more (counted before any is built)
# Config keys added since fwa named runs with 8 hex digits: left out of a run's legacy id, as the ids of then
# were hashed without them. A legacy run still counts only with the config the run would record, so a dst
# run made before them (regrown weights zeroed, counts rounded to the nearest) is trained again, while a
# dense or static run (which none of them changes: its run.json reads them as null) is not.
_KEYS_SINCE_LEGACY_IDS = ("regrown_weights", "growth_count", "prune_fraction_end", "prune_rounding")


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

    def claim(self) -> RunLock:
        """The run's lock, taken (release it when done); a lock whose holder has ended (as :meth:`holder`
        judges it) is taken over, one held by a live process raises ``RunLocked``."""
        return claim_run(self.study, self.run_id, gone=slurm_job_ended)

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


def _canonical_shadow(path, shadow: str) -> str:
    try:
        return cfgmod.canonical_shadow(shadow)
    except ConfigError as e:
        raise SpecError(f"{path}: {e}") from None


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
    from ..data import DATASETS

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
