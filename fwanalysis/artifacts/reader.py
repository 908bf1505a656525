"""Reading runs in format v1: :func:`load_run` and the lazy :class:`Run` (finding them: :mod:`.find`).

``load_run`` reads and checks ``run.json`` only; masks, updates, states and metrics are read (and
checked) when asked for, so a command touches only the files it needs. Every problem is raised as
:class:`ArtifactError` naming the run, the file and the problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the annotations only: reading run.json never imports pandas or pyarrow
    import pandas as pd
    import pyarrow as pa

from fwanalysis.vocab import kind_of

from . import schema
from .bitset import check_packed, packed_length
from .io import ArtifactError, open_regular, read_regular
from .manifest import MAX_MANIFEST_BYTES, manifest_problem
from .npz import ZIP_ERRORS, MemberError, read_members

__all__ = ["Run", "LayerInfo", "UpdateSets", "StateDump", "load_run", "validate_run", "validate_runs"]


@dataclass(frozen=True)
class LayerInfo:
    name: str
    shape: tuple[int, ...]
    numel: int
    density: float | None


@dataclass(frozen=True)
class UpdateSets:
    """The sets of one topology update, each ``{layer: packed uint8 bitset}``."""

    step: int
    pruned: dict[str, np.ndarray]
    grown: dict[str, np.ndarray]
    shadow: dict[str, dict[str, np.ndarray]]


@dataclass(frozen=True)
class StateDump:
    """Weights and gradients (float32, layer shape) and packed masks just before pruning."""

    step: int
    weight: dict[str, np.ndarray]
    grad: dict[str, np.ndarray]
    mask: dict[str, np.ndarray]


_NULL_CONFIG = dict.fromkeys(schema.CONFIG_KEYS)
_NULL_SUMMARY = dict.fromkeys(schema.SUMMARY_KEYS)


class Run:
    """One run directory. Construct with :func:`load_run`. What only some commands use (layers, steps) is
    built from the manifest when first asked for."""

    def __init__(self, path: Path, manifest: dict):
        self.path = path if isinstance(path, Path) else Path(path)
        self._manifest: dict | None = manifest
        self._text: str | None = None
        self.run_id: str = manifest["run_id"]
        self.status: str = manifest["status"]
        self.config: dict = _NULL_CONFIG | manifest["config"]
        self.summary: dict = _NULL_SUMMARY | (manifest.get("summary") or {})

    @classmethod
    def from_head(cls, path: Path, head: dict, text: str | Callable[[], str]) -> Run:
        """A run from the study index: ``head`` holds its run_id, status, config and summary; the rest of the
        manifest is parsed from ``text`` (its checked run.json, or what returns it) when first asked for."""
        run = cls.__new__(cls)
        run.path, run._manifest, run._text = path, None, text
        run.run_id, run.status = head["run_id"], head["status"]
        if not (isinstance(run.run_id, str) and isinstance(run.status, str)):
            raise TypeError("run_id and status must be strings")
        run.config = _NULL_CONFIG | head["config"]
        run.summary = _NULL_SUMMARY | (head.get("summary") or {})
        return run

    def head(self) -> dict:
        """What :meth:`from_head` needs besides the text: run_id, status, config and summary as in run.json, less
        the null values of the format's config and summary keys (which :meth:`from_head` adds back, in place)."""
        m = self.manifest
        config = {k: v for k, v in m["config"].items() if v is not None or k not in _NULL_CONFIG}
        summary = {k: v for k, v in (m.get("summary") or {}).items() if v is not None or k not in _NULL_SUMMARY}
        return {"run_id": m["run_id"], "status": m["status"], "config": config, "summary": summary}

    @property
    def manifest(self) -> dict:
        """The parsed run.json."""
        if self._manifest is None:
            text = self._text() if callable(self._text) else self._text
            self._manifest = json.loads(text)
            self._text = None
        return self._manifest

    @cached_property
    def layers(self) -> list[LayerInfo]:
        return [
            LayerInfo(ly["name"], tuple(ly["shape"]), int(ly["numel"]), ly.get("density"))
            for ly in self.manifest["layers"]
        ]

    @cached_property
    def layer_names(self) -> list[str]:
        return [ly.name for ly in self.layers]

    @cached_property
    def numel(self) -> dict[str, int]:
        return {ly.name: ly.numel for ly in self.layers}

    @cached_property
    def mask_steps(self) -> list[int]:
        return list(self.manifest["mask_steps"])

    @cached_property
    def update_steps(self) -> list[int]:
        return list(self.manifest["update_steps"])

    @cached_property
    def state_steps(self) -> list[int]:
        return list(self.manifest["state_steps"])

    @cached_property
    def shadow_criteria(self) -> list[str]:
        return list(self.manifest["shadow_criteria"])

    @cached_property
    def total_steps(self) -> int:
        return int(self.manifest["total_steps"])

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, status={self.status!r}, path={str(self.path)!r})"

    @property
    def criterion(self) -> str | None:
        return self.config.get("criterion")

    @property
    def kind(self) -> str | None:
        """What the run is to the analyses: ``config.pruning_loop`` (``imp``, ``pai``) where set, else
        ``config.method`` (``dense``, ``static``, ``dst``); docs/format.md, "Pruning runs"."""
        return kind_of(self.config)

    @property
    def seed(self):
        return self.config.get("seed")

    @cached_property
    def manifest_hash(self) -> str:
        """sha256 of ``run.json`` as on disk (provenance in reports)."""
        import hashlib

        return hashlib.sha256(read_regular(self.path / "run.json", max_bytes=MAX_MANIFEST_BYTES)).hexdigest()

    def error(self, file: str, problem: str) -> ArtifactError:
        return ArtifactError(self.run_id, file, problem)

    # -- npz files -------------------------------------------------------------------------------
    def _npz(self, rel: str, expected: dict[str, tuple[np.dtype, tuple[int, ...]]]) -> dict[str, np.ndarray]:
        """The members ``expected`` (``{key: (dtype, shape)}``) of an npz file, and nothing else.

        Each member's npy header is checked against its expected dtype and shape *before* its data is
        decompressed, and exactly that many bytes are read, so a small file that claims (or unpacks to)
        gigabytes is refused without allocating them. Object arrays (pickles) are refused.
        """
        p = self.path / rel
        try:
            f = open_regular(p)
        except FileNotFoundError:
            raise self.error(rel, "file is listed in run.json but missing on disk") from None
        except (OSError, ValueError) as e:
            raise self.error(rel, f"cannot read ({e})") from None
        try:
            with f:
                return read_members(f, expected)
        except MemberError as e:
            raise self.error(rel, str(e)) from None
        except ZIP_ERRORS as e:
            raise self.error(rel, f"cannot read npz ({type(e).__name__}: {e})") from None

    def _bitset_keys(self, prefix: str) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
        return {prefix + ly.name: (np.dtype(np.uint8), (packed_length(ly.numel),)) for ly in self.layers}

    def _bitsets(self, rel: str, data: dict, prefix: str) -> dict[str, np.ndarray]:
        out = {}
        for name in self.layer_names:
            key = prefix + name
            problem = check_packed(data[key], self.numel[name])
            if problem:
                raise self.error(rel, f"{key}: {problem}")
            out[name] = data[key]
        return out

    def _check_step(self, kind: str, steps: list[int], step: int) -> str:
        if step not in steps:
            raise self.error(
                "run.json", f"no {kind} at step {step}; {kind} steps are {steps[:10]}{'...' if len(steps) > 10 else ''}"
            )
        return f"{kind}/{schema.step_file(step)}"

    def masks(self, step: int) -> dict[str, np.ndarray]:
        """Packed mask of every layer at ``step`` (must be one of ``mask_steps``)."""
        rel = self._check_step("masks", self.mask_steps, step)
        return self._bitsets(rel, self._npz(rel, self._bitset_keys("")), "")

    def initial_masks(self) -> dict[str, np.ndarray]:
        return self.masks(self.mask_steps[0])

    def final_masks(self) -> dict[str, np.ndarray]:
        return self.masks(self.mask_steps[-1])

    def update(self, step: int, *, shadow: Iterable[str] | None = None, grown: bool = True) -> UpdateSets:
        """Pruned, grown and shadow sets of the update at ``step``.

        ``shadow`` limits the shadow criteria read (``[]``: none); ``grown=False`` skips the grown sets
        (returned empty). Only the keys asked for are decompressed.
        """
        rel = self._check_step("updates", self.update_steps, step)
        crits = self.shadow_criteria if shadow is None else [c for c in shadow if c in self.shadow_criteria]
        prefixes = ["pruned/"] + (["grown/"] if grown else []) + [f"shadow/{c}/" for c in crits]
        data = self._npz(rel, {k: v for pre in prefixes for k, v in self._bitset_keys(pre).items()})
        return UpdateSets(
            step=int(step),
            pruned=self._bitsets(rel, data, "pruned/"),
            grown=self._bitsets(rel, data, "grown/") if grown else {},
            shadow={c: self._bitsets(rel, data, f"shadow/{c}/") for c in crits},
        )

    def state(self, step: int) -> StateDump:
        """Weights, gradients and masks dumped just before pruning at ``step``."""
        rel = self._check_step("state", self.state_steps, step)
        floats = {
            f"{kind}/{ly.name}": (np.dtype(np.float32), ly.shape) for kind in ("weight", "grad") for ly in self.layers
        }
        data = self._npz(rel, floats | self._bitset_keys("mask/"))
        weight = {ly.name: data[f"weight/{ly.name}"] for ly in self.layers}
        grad = {ly.name: data[f"grad/{ly.name}"] for ly in self.layers}
        return StateDump(int(step), weight, grad, self._bitsets(rel, data, "mask/"))

    def metrics(self) -> pd.DataFrame:
        """The tidy metrics table (columns step, epoch, split, name, value)."""
        return self._metrics_frame(self._metrics_table())

    def _metrics_table(self) -> pa.Table:
        """The columns of ``metrics.parquet`` as an Arrow table, its size bounds checked before it is decoded."""
        import pyarrow as pa  # imported here: commands that never read metrics do not pay for it
        import pyarrow.parquet as pq

        rel = "metrics.parquet"
        try:
            f = open_regular(self.path / rel)
        except FileNotFoundError:
            raise self.error(rel, "file missing") from None
        except (OSError, ValueError) as e:
            raise self.error(rel, f"cannot read ({e})") from None
        try:
            with f:
                pf = pq.ParquetFile(f)
                limit = max_metric_rows(self.total_steps)
                meta = pf.metadata
                rows, size = meta.num_rows, sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
                if rows > limit or size > METRIC_ROW_BYTES * limit:
                    raise self.error(
                        rel,
                        f"holds {rows} rows ({size} bytes decoded), more than the {limit} rows a run of "
                        f'{self.total_steps} steps may have (docs/format.md, "Size bounds")',
                    )
                table = pf.read(use_threads=False)
        except (pa.ArrowException, OSError, ValueError) as e:
            raise self.error(rel, f"cannot read parquet ({type(e).__name__}: {e})") from None
        names = set(table.column_names)
        missing = [c for c in schema.METRICS_COLUMNS if c not in names]
        if missing:
            raise self.error(rel, f"missing columns {missing}")
        return table.select(list(schema.METRICS_COLUMNS))

    def _metrics_frame(self, table: pa.Table) -> pd.DataFrame:
        """The metrics columns as the tidy pandas table, their types checked."""
        df = table.to_pandas()
        try:
            df = df.astype({"step": "int64", "epoch": "float64", "value": "float64"})
            df["split"] = df["split"].fillna("").astype(str)
            df["name"] = df["name"].astype(str)
        except (TypeError, ValueError) as e:
            raise self.error("metrics.parquet", f"bad column types ({e})") from None
        return df

    def _check_metrics(self) -> None:
        """What :meth:`metrics` checks, without pandas for a table of the writer's types (docs/format.md,
        "metrics.parquet"); any other table is checked by turning it into the pandas table, with the same messages."""
        table = self._metrics_table()
        if not _plain_metrics(table):
            self._metrics_frame(table)

    def validate(self) -> list[ArtifactError]:
        """Read every file the manifest lists and return every problem found (empty if valid)."""
        problems: list[ArtifactError] = []

        def attempt(fn: Callable, *a, **kw):
            try:
                return fn(*a, **kw)
            except ArtifactError as e:
                problems.append(e)

        for s in self.mask_steps:
            attempt(self.masks, s)
        for s in self.update_steps:
            attempt(self.update, s)
        for s in self.state_steps:
            attempt(self.state, s)
        if self.status == "complete":
            attempt(self._check_metrics)
        elif (self.path / "metrics.parquet").exists():
            attempt(self._check_metrics)
        return problems


# -- metrics.parquet and run.json -----------------------------------------------------------------------
METRIC_ROWS_PER_STEP = 100  # metrics.parquet: rows per optimizer step (a run logs a few per step at most) ...
METRIC_ROWS_FLOOR = 10**6  # ... but at least this many, whatever total_steps says (a running run's may be 0) ...
METRIC_ROWS_CAP = 2 * 10**7  # ... and never more than this (~1.5 GB in memory), whatever total_steps says
METRIC_ROW_BYTES = 256  # decoded bytes per row allowed (long names or splits count)


def _plain_metrics(table: pa.Table) -> bool:
    """Whether the metrics columns have the types fwa's writer gives them, with no null where the tidy table
    cannot hold one: then turning them into the tidy pandas table (:meth:`Run.metrics`) cannot fail."""
    import pyarrow as pa

    types = [table.schema.field(c).type for c in schema.METRICS_COLUMNS]
    want = [pa.int64(), pa.float64(), pa.string(), pa.string(), pa.float64()]
    return types == want and table.column("step").null_count == 0 and table.column("name").null_count == 0


def max_metric_rows(total_steps: int) -> int:
    """The most rows ``metrics.parquet`` of a run of ``total_steps`` steps may hold (docs/format.md, "Size bounds")."""
    return min(max(METRIC_ROWS_FLOOR, METRIC_ROWS_PER_STEP * (int(total_steps) + 1)), METRIC_ROWS_CAP)


def _read_manifest_text(mp: Path) -> str:
    """The text of ``run.json``: a regular file (symlinks followed) of at most MAX_MANIFEST_BYTES, UTF-8.

    A FIFO named run.json is refused instead of waited on, and a device such as /dev/zero instead of
    read until memory runs out.
    """
    return read_regular(mp, max_bytes=MAX_MANIFEST_BYTES).decode("utf-8")


def load_run(path) -> Run:
    """Read and check ``run.json`` of the run directory ``path`` (or of the ``run.json`` file itself)."""
    path = Path(path)
    if path.name == "run.json":
        path = path.parent
    return run_from_text(path, read_manifest(path))


def read_manifest(path: Path) -> str:
    """The text of ``<path>/run.json``; :class:`ArtifactError` naming the run folder if it cannot be read."""
    try:
        return _read_manifest_text(path / "run.json")
    except FileNotFoundError:
        raise ArtifactError(str(path), "run.json", "file missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ArtifactError(str(path), "run.json", f"cannot read ({e})") from None


def run_from_text(path: Path, text: str) -> Run:
    """The run in folder ``path`` whose run.json holds ``text``, checked (:class:`ArtifactError` naming the run)."""
    run = path.name or str(path)
    try:
        m = json.loads(text)
    except RecursionError:
        raise ArtifactError(str(path), "run.json", "not valid JSON (nested too deeply)") from None
    except ValueError as e:
        raise ArtifactError(str(path), "run.json", f"not valid JSON ({e})") from None
    if isinstance(m, dict) and isinstance(m.get("run_id"), str) and m["run_id"]:
        run = m["run_id"]
    try:
        problem = manifest_problem(m)
    except RecursionError:  # a deeply nested value in a key that is not checked for its type
        problem = "a value is nested too deeply"
    if problem:
        raise ArtifactError(run if run != path.name else str(path), "run.json", problem)
    return Run(path, m)


def validate_run(path) -> list[ArtifactError]:
    """Every problem of the run at ``path``: manifest first, then every listed file."""
    try:
        run = load_run(path)
    except ArtifactError as e:
        return [e]
    return run.validate()


RUNS_PER_VALIDATE_JOB = 4  # validate_runs uses processes only with at least this many runs per process
VALIDATE_CHUNK = 64  # runs sent to a process at once: few enough that the progress moves, many for little overhead


def _problems_of(path: str, manifest: dict) -> list[tuple[str, str, str]]:
    """``validate()`` of the run at ``path`` whose ``run.json`` was read as ``manifest`` (in a worker process: the
    run's path and manifest are sent, which is cheaper to send than the :class:`Run` built from them)."""
    return [(e.run, e.file, e.problem) for e in Run(Path(path), manifest).validate()]


def validate_runs(runs: list[Run], *, jobs: int = 1) -> Iterator[list[ArtifactError]]:
    """``run.validate()`` of every run, in order, in ``jobs`` processes (fresh interpreters, so no lock or
    thread of this process is copied into them); ``jobs`` 1, or fewer than ``RUNS_PER_VALIDATE_JOB * jobs``
    runs: here. Runs go to the processes in chunks of at most ``VALIDATE_CHUNK`` (a few per process at least),
    and each result comes back as soon as its chunk and every chunk before it are done."""
    if jobs <= 1 or len(runs) < RUNS_PER_VALIDATE_JOB * jobs:
        yield from (run.validate() for run in runs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = max(1, min(VALIDATE_CHUNK, len(runs) // (8 * jobs)))
    paths, manifests = [str(r.path) for r in runs], [r.manifest for r in runs]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        for found in pool.map(_problems_of, paths, manifests, chunksize=size):
            yield [ArtifactError(*problem) for problem in found]
