"""Writing runs in format v1: :class:`RunWriter`, usable from any PyTorch (or numpy) training loop.

Example::

    from fwanalysis.artifacts import RunWriter

    with RunWriter("artifacts/mine", config, {n: p.shape for n, p in model.named_parameters() if n in masks}) as w:
        w.write_masks(0, masks)                       # the sparse initialisation
        for step in range(1, total + 1):
            ...                                       # forward, backward, optimizer step
            if step % delta_t == 0:
                w.write_update(step, pruned, grown, shadow={"snip": snip_set})
            w.log(step, step / steps_per_epoch, "train", "loss", loss)
        w.write_masks(total, masks)
        w.log(total, epochs, "test", "acc", test_acc)
    # leaving the block writes run.json with status "complete" (or "failed" on an exception)

The writer holds the run's lock (:mod:`.lock`, ``<study>/.locks/<run_id>.lock``) from before it
looks at or removes an old run directory until it is closed; a run locked by another live process
raises :class:`~fwanalysis.artifacts.lock.RunLocked`. ``complete`` is written last, only when every
file run.json lists is in place, by a writer that still holds the lock, into the directory it made.

Masks and sets may be boolean numpy arrays or torch tensors; torch is never imported here.
"""

from __future__ import annotations

import errno
import os
import platform
import sys
import weakref
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from fwanalysis.vocab import check_criterion_name, criterion_order

from . import schema
from .bitset import as_bool, pack, popcount
from .io import atomic_path, fsync_dir, sync_paths, utc_now, write_json, write_npz
from .lock import RunLock, RunLocked
from .manifest import config_problem, manifest_problem
from .rundir import old_run_status, remove_run_dir
from .runid import _jsonable, canonical_config, run_id_for

__all__ = ["RunWriter", "run_id_for", "canonical_config", "software_versions"]


def software_versions() -> dict:
    """Versions of fwanalysis, torch (if already imported), numpy and python."""
    from fwanalysis import __version__

    torch = sys.modules.get("torch")
    return {
        "fwanalysis": __version__,
        "torch": getattr(torch, "__version__", None),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _reason(exc: BaseException) -> str:
    """Why a run stopped, in one line, for run.json's ``error``: ``ValueError: <message>``; a stop that is
    not an error (a ``BaseException`` such as a sweep's stop signal) by its message alone, e.g.
    ``interrupted by SIGTERM``."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    if not isinstance(exc, Exception):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _arrow_column(pa, values, type_):
    """``pa.array(values, type=type_)`` for an int64, float64 or string column, built from its buffers: the same
    array (the same parquet bytes), without ``pa.array``'s import of pandas (0.7 s of CPU in a training process)."""
    if type_ == pa.string():
        data = [v.encode("utf-8") for v in values]
        offsets = np.zeros(len(data) + 1, dtype=np.int32)
        np.cumsum([len(d) for d in data], out=offsets[1:])
        return pa.Array.from_buffers(type_, len(data), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])
    arr = np.array(values, dtype={pa.int64(): np.int64, pa.float64(): np.float64}[type_])
    return pa.Array.from_buffers(type_, len(arr), [None, pa.py_buffer(arr)])


def _release(lock, dir_fd: list) -> None:
    """Close the writer's handle on its directory and leave its lock (at close, or when it is dropped)."""
    while dir_fd:
        try:
            os.close(dir_fd.pop())
        except OSError:
            pass
    lock.release()


class RunWriter:
    """Writes one run directory (run format v1, docs/format.md) below ``study_dir``; every file atomically.

    Parameters
    ----------
    study_dir : directory of the study; the run goes into ``study_dir/<run_id>``.
    config : the run's config (config keys of docs/format.md; missing ones are written as null).
    layers : masked layers in model order, ``{name: shape}`` or a list of ``(name, shape)``.
    run_id : defaults to :func:`run_id_for` of the config.
    total_steps : optimizer steps of the whole run, if known now (else the last step written).
    exist : what to do if the run directory exists: ``"error"``, ``"overwrite"``, or ``"resume-incomplete"``
        (overwrite a run that is not ``complete``, refuse a complete one).

    Raises :class:`~fwanalysis.artifacts.lock.RunLocked` (a ``BlockingIOError``) naming the run, the
    holder's host and pid and the lock file if another live process (or another host) holds the run's
    lock; ``FileExistsError`` if ``exist`` refuses the existing run.
    """

    def __init__(
        self,
        study_dir,
        config: Mapping,
        layers,
        *,
        run_id: str | None = None,
        total_steps: int | None = None,
        exist: str = "resume-incomplete",
        extra: Mapping | None = None,
    ):
        if exist not in ("error", "overwrite", "resume-incomplete"):
            raise ValueError(f"exist={exist!r}: expected one of 'error', 'overwrite', 'resume-incomplete'")
        self.config = canonical_config(config)
        problem = config_problem(self.config)  # the reader's own check: never write a run it would refuse
        if problem:
            raise ValueError(problem)
        self.run_id = run_id or run_id_for(self.config)
        problem = schema.run_id_problem(self.run_id)
        if problem:
            raise ValueError(problem)
        self.path = Path(study_dir) / self.run_id
        items = layers.items() if isinstance(layers, Mapping) else layers
        self.layers = []
        for name, shape in items:
            shape = [int(s) for s in shape]
            self.layers.append(
                {"name": str(name), "shape": shape, "numel": int(np.prod(shape, dtype=np.int64)), "density": None}
            )
        self._numel = {layer["name"]: layer["numel"] for layer in self.layers}
        self._shape = {layer["name"]: tuple(layer["shape"]) for layer in self.layers}
        self._rows: list[tuple] = []
        self._unsynced: list[Path] = []  # files written without a sync; synced before the run is marked complete
        self._manifest_stale = False  # steps added since run.json was last written
        self._closed = False
        self.close_problems: list[BaseException] = []
        # claimed before anything of the run is read, removed or written; released by close() (or when
        # the writer is dropped unclosed, or at exit): a writer that cannot be used any more holds nothing
        self._lock = RunLock(study_dir, self.run_id)
        self._lock.acquire()
        self._dir_fd: list[int] = []  # an open handle on the run directory: its inode cannot be reused meanwhile
        self._release = weakref.finalize(self, _release, self._lock, self._dir_fd)
        try:
            self._start(exist, total_steps, extra)
        except BaseException:
            self._closed = True
            self._release()
            raise

    def _start(self, exist: str, total_steps, extra) -> None:
        """Under the lock: check what is there, remove an old run if allowed, make the run directory."""
        if os.path.lexists(self.path):
            status = old_run_status(self.path, self.run_id)  # ValueError: not a run of fwa's, left alone
            if exist == "error" or (exist == "resume-incomplete" and status == "complete"):
                raise FileExistsError(f"run {self.run_id}: {self.path} already exists (status {status})")
            remove_run_dir(self.path)
        self.path.mkdir()  # the study directory exists (it holds the lock); never made again below a removed run
        self._dir_fd.append(os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)))
        st = os.fstat(self._dir_fd[0])
        self._dir_id = (st.st_dev, st.st_ino)
        self.manifest = {
            "format": schema.FORMAT,
            "format_version": schema.FORMAT_VERSION,
            "run_id": self.run_id,
            "status": "running",
            "created": utc_now(),
            "finished": None,
            "config": self.config,
            "layers": self.layers,
            "mask_steps": [],
            "update_steps": [],
            "state_steps": [],
            "shadow_criteria": [],
            "total_steps": int(total_steps) if total_steps is not None else 0,
            "summary": {k: None for k in schema.SUMMARY_KEYS},
            "software": software_versions(),
        }
        if extra:
            for k, v in extra.items():
                if k not in self.manifest:
                    self.manifest[k] = _jsonable(v)
        self._write_manifest()

    # -- helpers ---------------------------------------------------------------------------------
    def _packed(self, layer: str, x) -> np.ndarray:
        if layer not in self._numel:
            raise KeyError(f"run {self.run_id}: unknown layer {layer!r}; masked layers are {list(self._numel)}")
        b = as_bool(x)
        if b.size != self._numel[layer]:
            raise ValueError(
                f"run {self.run_id}: layer {layer!r} has {self._numel[layer]} weights, got an array of {b.size}"
            )
        return pack(b)

    def _layer_dict(self, prefix: str, sets: Mapping) -> dict[str, np.ndarray]:
        missing = set(self._numel) - set(sets)
        if missing:
            raise KeyError(f"run {self.run_id}: {prefix or 'mask'} sets miss layers {sorted(missing)}")
        return {f"{prefix}{name}": self._packed(name, sets[name]) for name in self._numel}

    def _check_dir(self) -> None:
        """Fail if the run directory is no longer the one this writer made (removed, or removed and made again)."""
        try:
            st = os.stat(self.path)
            same = (st.st_dev, st.st_ino) == self._dir_id and os.fstat(self._dir_fd[0]).st_nlink > 0
        except FileNotFoundError:
            same = False
        if not same:
            raise FileNotFoundError(
                errno.ENOENT,
                f"run {self.run_id}: its directory was removed or replaced while it was being written",
                str(self.path),
            )

    def _dir(self, name: str | None = None) -> Path:
        """The run directory (or its subdirectory ``name``, made inside it if missing), checked to be this writer's."""
        if self._closed:
            raise ValueError(f"run {self.run_id}: the writer is closed")
        self._check_dir()
        if name is None:
            return self.path
        d = self.path / name
        try:
            d.mkdir()  # no parents: never makes a removed run directory again
        except FileExistsError:
            pass
        return d

    def _write_manifest(self) -> None:
        """run.json, its content synced before the rename (a crash leaves the old one or the new one, never an
        empty one fwa would refuse to replace); the run directory is synced after it only when it says complete
        (docs/artifacts.md, "Writing": why that is all a complete run needs)."""
        complete = self.manifest["status"] == "complete"
        write_json(self._dir() / "run.json", self.manifest, mkdir=False, sync_dir=complete)
        self._manifest_stale = False

    def _write_data(self, out: Path, arrays: dict[str, np.ndarray]) -> None:
        """A mask, update or state file: atomic, synced only before the run is marked complete."""
        write_npz(out, arrays, mkdir=False, durable=False)
        self._unsynced.append(out)

    def _listed_files(self) -> list[str]:
        """Every file run.json lists (the files a complete run must have)."""
        files = ["metrics.parquet"]
        for key, sub in (("mask_steps", "masks"), ("update_steps", "updates"), ("state_steps", "state")):
            files += [f"{sub}/{schema.step_file(s)}" for s in self.manifest[key]]
        return files

    def _add_step(self, key: str, step: int) -> None:
        steps = self.manifest[key]
        if step not in steps:
            steps.append(int(step))
            steps.sort()
        self.manifest["total_steps"] = max(self.manifest["total_steps"], int(step))
        self._manifest_stale = True

    # -- public API ------------------------------------------------------------------------------
    def write_masks(self, step: int, masks: Mapping) -> Path:
        """Snapshot of the active weights after everything done at ``step`` (``masks/step-N.npz``)."""
        arrays = self._layer_dict("", masks)
        out = self._dir("masks") / schema.step_file(step)
        self._write_data(out, arrays)
        if not self.manifest["mask_steps"] or step <= min(self.manifest["mask_steps"]):
            for layer in self.layers:
                layer["density"] = popcount(arrays[layer["name"]]) / max(layer["numel"], 1)
        self._add_step("mask_steps", step)
        return out

    def write_update(
        self, step: int, pruned: Mapping, grown: Mapping, shadow: Mapping[str, Mapping] | None = None
    ) -> Path:
        """The sets of one topology update: ``pruned``, ``grown`` and ``shadow[criterion]`` per layer."""
        arrays = self._layer_dict("pruned/", pruned)
        arrays.update(self._layer_dict("grown/", grown))
        shadow = shadow or {}
        for crit, sets in shadow.items():
            check_criterion_name(crit, what="shadow criterion")
            arrays.update(self._layer_dict(f"shadow/{crit}/", sets))
        out = self._dir("updates") / schema.step_file(step)
        self._write_data(out, arrays)
        known = self.manifest["shadow_criteria"]
        for crit in shadow:
            if crit not in known:
                known.append(crit)
        known[:] = criterion_order(known)
        self._add_step("update_steps", step)
        return out

    def write_state(self, step: int, weights: Mapping, grads: Mapping, masks: Mapping) -> Path:
        """Float32 weights, minibatch gradients and packed masks just before pruning at ``step``."""
        arrays: dict[str, np.ndarray] = {}
        for name in self._numel:
            for kind, src in (("weight", weights), ("grad", grads)):
                x = src[name]
                if hasattr(x, "detach"):
                    x = x.detach().cpu().numpy()
                arrays[f"{kind}/{name}"] = np.asarray(x, dtype=np.float32).reshape(self._shape[name])
        arrays.update(self._layer_dict("mask/", masks))
        out = self._dir("state") / schema.step_file(step)
        self._write_data(out, arrays)
        self._add_step("state_steps", step)
        return out

    def log(self, step: int, epoch: float, split: str, name: str, value: float) -> None:
        """Record one measurement (a row of ``metrics.parquet``); written by :meth:`flush` and :meth:`close`."""
        if split not in schema.SPLITS:
            raise ValueError(f"split {split!r}: expected one of {schema.SPLITS}")
        self._rows.append((int(step), float(epoch), str(split), str(name), float(value)))

    def flush(self) -> None:
        """Write every metric logged so far to ``metrics.parquet`` (atomically, whole table), and run.json
        if steps were added since it was last written.

        Mask, update and state files are in place as soon as their ``write_*`` returns; run.json lists
        them from the next ``flush()`` (or ``close()``) on. A running run may so have files its run.json
        does not list yet, never the other way round.
        """
        self._write_metrics()
        if self._manifest_stale:
            self._write_manifest()

    def _write_metrics(self) -> None:
        import pyarrow as pa  # imported here: reading runs never needs it
        import pyarrow.parquet as pq

        schema_ = pa.schema(
            [
                ("step", pa.int64()),
                ("epoch", pa.float64()),
                ("split", pa.string()),
                ("name", pa.string()),
                ("value", pa.float64()),
            ]
        )
        cols = list(zip(*self._rows)) if self._rows else [[], [], [], [], []]
        table = pa.Table.from_arrays([_arrow_column(pa, c, f.type) for c, f in zip(cols, schema_)], schema=schema_)
        out = self._dir() / "metrics.parquet"
        with atomic_path(out, mkdir=False, durable=False) as tmp:
            pq.write_table(table, tmp)
        self._unsynced.append(out)

    def _last(self, split: str, name: str):
        for row in reversed(self._rows):
            if row[2] == split and row[3] == name:
                return row[4]
        return None

    def close(
        self,
        status: str = "complete",
        summary: Mapping | None = None,
        total_steps: int | None = None,
        *,
        error: str | None = None,
    ) -> None:
        """Write metrics and the final manifest: ``status`` and ``finished``; ``summary`` from the metrics.

        ``complete`` is written last, once every listed file is in place, and only by a writer that
        still holds the run's lock in the directory it made; if anything on that way fails, the run
        is marked ``failed`` where possible and the error raised. ``close("failed")`` never raises for
        a file it cannot write (a full disk): it tries the metrics, then run.json, each on its own (a
        run.json it cannot write stays ``running``, which readers skip too) and keeps what went wrong in
        ``close_problems``. Either way the lock is released. ``error``: why a run that is not complete
        stopped, kept as run.json's ``error`` (a key the format allows and readers ignore).
        """
        if self._closed:
            return
        if status not in schema.STATUSES:
            raise ValueError(f"status {status!r}: expected one of {schema.STATUSES}")
        try:
            if status == "complete":
                try:
                    self._close_complete(summary, total_steps)
                except BaseException as e:
                    self._close_quietly("failed", summary, total_steps, error=_reason(e))
                    raise
            else:
                self._close_quietly(status, summary, total_steps, error=error)
        finally:
            self._closed = True
            self._release()

    def _finish_manifest(self, status: str, summary: Mapping | None, total_steps: int | None) -> None:
        summ = {
            "test_acc": self._last("test", "acc"),
            "test_loss": self._last("test", "loss"),
            "val_acc": self._last("val", "acc"),
            "val_loss": self._last("val", "loss"),
            "train_loss": self._last("train", "loss"),
            "itop": self._last("", "itop"),
        }
        if summary:
            summ.update(summary)
        self.manifest["summary"] = _jsonable(summ)
        if total_steps is not None:
            self.manifest["total_steps"] = int(total_steps)
        self.manifest["status"] = status
        self.manifest["finished"] = utc_now()

    def _close_complete(self, summary, total_steps) -> None:
        self._write_metrics()
        self._finish_manifest("complete", summary, total_steps)
        problem = manifest_problem(self.manifest)
        if problem:  # never mark complete a run the reader would refuse
            raise ValueError(f"run {self.run_id}: cannot be marked complete: {problem}")
        self._check_dir()
        missing = [f for f in self._listed_files() if not (self.path / f).is_file()]
        if missing:
            raise FileNotFoundError(
                errno.ENOENT,
                f"run {self.run_id}: cannot be marked complete: {len(missing)} listed files are missing, "
                f"e.g. {missing[0]}",
                str(self.path / missing[0]),
            )
        if not self._lock.still_held():
            from .lock import read_lock

            raise RunLocked(
                self.run_id,
                self._lock.path,
                read_lock(self._lock.path),
                f"run {self.run_id}: this writer lost the run's lock; not marking it complete",
            )
        # every file on disk before the run.json that says complete (which is synced itself)
        listed = {self.path / f for f in self._listed_files()}
        dirs = [self.path / d for d in ("masks", "updates", "state") if (self.path / d).is_dir()]
        sync_paths(dict.fromkeys(p for p in self._unsynced if p in listed), [*dirs, self.path])
        self._unsynced.clear()
        self._write_manifest()  # synced, and the run directory after it
        fsync_dir(self.path.parent)  # the run directory's own entry in the study: a complete run stays after a crash

    def _close_quietly(self, status: str, summary, total_steps, error: str | None = None) -> None:
        """Mark the run ``status`` (not complete) as far as possible; never raise an ``Exception``."""
        self.manifest["status"] = "running"  # whatever happened before, never leave "complete" in memory
        if not self._lock.still_held():  # someone else owns the run now: touch nothing of it
            self.close_problems.append(
                RunLocked(self.run_id, self._lock.path, {}, f"run {self.run_id}: lost the run's lock")
            )
            return
        try:
            self.flush()
        except Exception as e:  # a full disk: still try to write run.json, which is much smaller
            self.close_problems.append(e)
        try:
            self._finish_manifest(status, summary, total_steps)
            if error:
                self.manifest["error"] = error
            self._write_manifest()
        except Exception as e:  # run.json stays as last written ("running"): readers skip it too
            self.close_problems.append(e)

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close("complete")
            return
        self.close("failed", error=_reason(exc))
        add_note = getattr(exc, "add_note", None)
        if add_note is not None:
            for p in self.close_problems:
                add_note(f"run {self.run_id}: while marking it failed: {type(p).__name__}: {p}")
