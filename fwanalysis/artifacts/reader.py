"""Reading runs in format v1: :func:`find_runs`, :func:`load_run` and the lazy :class:`Run`.

``load_run`` reads and checks ``run.json`` only; masks, updates, states and metrics are read (and
checked) when asked for, so a command touches only the files it needs. Every problem is raised as
:class:`ArtifactError` naming the run, the file and the problem.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from . import schema
from .bitset import check_packed
from .io import ArtifactError

__all__ = ["Run", "LayerInfo", "UpdateSets", "StateDump", "load_run", "find_runs", "validate_run"]


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


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


class Run:
    """One run directory. Construct with :func:`load_run`."""

    def __init__(self, path: Path, manifest: dict):
        self.path = Path(path)
        self.manifest = manifest
        self.run_id: str = manifest["run_id"]
        self.status: str = manifest["status"]
        self.config: dict = {k: None for k in schema.CONFIG_KEYS} | manifest["config"]
        self.layers: list[LayerInfo] = [
            LayerInfo(l["name"], tuple(l["shape"]), int(l["numel"]), l.get("density")) for l in manifest["layers"]
        ]
        self.layer_names: list[str] = [l.name for l in self.layers]
        self.numel: dict[str, int] = {l.name: l.numel for l in self.layers}
        self.mask_steps: list[int] = list(manifest["mask_steps"])
        self.update_steps: list[int] = list(manifest["update_steps"])
        self.state_steps: list[int] = list(manifest["state_steps"])
        self.shadow_criteria: list[str] = list(manifest["shadow_criteria"])
        self.total_steps: int = int(manifest["total_steps"])
        self.summary: dict = {k: None for k in schema.SUMMARY_KEYS} | (manifest.get("summary") or {})

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, status={self.status!r}, path={str(self.path)!r})"

    @property
    def criterion(self) -> str | None:
        return self.config.get("criterion")

    @property
    def seed(self):
        return self.config.get("seed")

    @cached_property
    def manifest_hash(self) -> str:
        """sha256 of ``run.json`` as on disk (provenance in reports)."""
        import hashlib

        return hashlib.sha256((self.path / "run.json").read_bytes()).hexdigest()

    def error(self, file: str, problem: str) -> ArtifactError:
        return ArtifactError(self.run_id, file, problem)

    # -- npz files -------------------------------------------------------------------------------
    def _npz(self, rel: str, prefixes: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Arrays of an npz file; with ``prefixes``, only the keys of those layer prefixes are decompressed."""
        p = self.path / rel
        if not p.exists():
            raise self.error(rel, "file is listed in run.json but missing on disk")
        try:
            with np.load(p, allow_pickle=False) as z:
                files = set(z.files)
                if prefixes is None:
                    keys = sorted(files)
                else:
                    keys = [pre + n for pre in prefixes for n in self.layer_names if pre + n in files]
                return {k: z[k] for k in keys}
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as e:
            raise self.error(rel, f"cannot read npz ({type(e).__name__}: {e})") from None

    def _bitsets(self, rel: str, data: dict, prefix: str) -> dict[str, np.ndarray]:
        out = {}
        for name in self.layer_names:
            key = prefix + name
            if key not in data:
                raise self.error(rel, f"missing key {key!r}")
            problem = check_packed(data[key], self.numel[name])
            if problem:
                raise self.error(rel, f"{key}: {problem}")
            out[name] = data[key]
        return out

    def _check_step(self, kind: str, steps: list[int], step: int) -> str:
        if step not in steps:
            raise self.error("run.json", f"no {kind} at step {step}; {kind} steps are {steps[:10]}{'...' if len(steps) > 10 else ''}")
        return f"{kind}/{schema.step_file(step)}"

    def masks(self, step: int) -> dict[str, np.ndarray]:
        """Packed mask of every layer at ``step`` (must be one of ``mask_steps``)."""
        rel = self._check_step("masks", self.mask_steps, step)
        return self._bitsets(rel, self._npz(rel), "")

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
        data = self._npz(rel, prefixes)
        return UpdateSets(
            step=int(step),
            pruned=self._bitsets(rel, data, "pruned/"),
            grown=self._bitsets(rel, data, "grown/") if grown else {},
            shadow={c: self._bitsets(rel, data, f"shadow/{c}/") for c in crits},
        )

    def state(self, step: int) -> StateDump:
        """Weights, gradients and masks dumped just before pruning at ``step``."""
        rel = self._check_step("state", self.state_steps, step)
        data = self._npz(rel)
        arrays = {}
        for kind in ("weight", "grad"):
            arrays[kind] = {}
            for layer in self.layers:
                key = f"{kind}/{layer.name}"
                if key not in data:
                    raise self.error(rel, f"missing key {key!r}")
                a = data[key]
                if a.dtype != np.float32 or tuple(a.shape) != layer.shape:
                    raise self.error(rel, f"{key}: expected float32 of shape {list(layer.shape)}, got {a.dtype} {list(a.shape)}")
                arrays[kind][layer.name] = a
        return StateDump(int(step), arrays["weight"], arrays["grad"], self._bitsets(rel, data, "mask/"))

    def metrics(self) -> "pd.DataFrame":
        """The tidy metrics table (columns step, epoch, split, name, value)."""
        import pyarrow as pa  # imported here: commands that never read metrics do not pay for it
        import pyarrow.parquet as pq

        rel = "metrics.parquet"
        p = self.path / rel
        if not p.exists():
            raise self.error(rel, "file missing")
        try:
            table = pq.read_table(p)
        except (pa.ArrowException, OSError, ValueError) as e:
            raise self.error(rel, f"cannot read parquet ({type(e).__name__}: {e})") from None
        names = set(table.column_names)
        missing = [c for c in schema.METRICS_COLUMNS if c not in names]
        if missing:
            raise self.error(rel, f"missing columns {missing}")
        df = table.select(list(schema.METRICS_COLUMNS)).to_pandas()
        try:
            df = df.astype({"step": "int64", "epoch": "float64", "value": "float64"})
            df["split"] = df["split"].fillna("").astype(str)
            df["name"] = df["name"].astype(str)
        except (TypeError, ValueError) as e:
            raise self.error(rel, f"bad column types ({e})") from None
        return df

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
            attempt(self.metrics)
        elif (self.path / "metrics.parquet").exists():
            attempt(self.metrics)
        return problems


def _check_manifest(run: str, m) -> str | None:
    if not isinstance(m, dict):
        return "run.json is not a JSON object"
    if m.get("format") != schema.FORMAT:
        return f"format is {m.get('format')!r}, expected {schema.FORMAT!r}"
    v = m.get("format_version")
    if not _is_int(v):
        return f"format_version is {v!r}, expected an integer"
    if v > schema.FORMAT_VERSION:
        return f"format_version {v} is newer than this reader supports (version {schema.FORMAT_VERSION}); upgrade fwanalysis"
    if v < 1:
        return f"format_version {v} is not a known version"
    missing = [k for k in schema.MANIFEST_KEYS if k not in m]
    if missing:
        return f"missing keys {missing}"
    if not isinstance(m["run_id"], str) or not m["run_id"]:
        return "run_id must be a non-empty string"
    if m["status"] not in schema.STATUSES:
        return f"status {m['status']!r}: expected one of {list(schema.STATUSES)}"
    if not isinstance(m["config"], dict):
        return "config must be an object"
    for key, choices in schema.CONFIG_CHOICES.items():
        val = m["config"].get(key)
        if val is not None and val not in choices:
            return f"config.{key} is {val!r}: expected one of {list(choices)}"
    d = m["config"].get("density")
    if d is not None and not (_is_num(d) and 0 < d <= 1):
        return f"config.density is {d!r}: expected a number in (0, 1]"
    if not isinstance(m["layers"], list):
        return "layers must be a list"
    seen = set()
    for i, l in enumerate(m["layers"]):
        if not isinstance(l, dict) or not all(k in l for k in ("name", "shape", "numel")):
            return f"layers[{i}] must be an object with name, shape, numel"
        if not isinstance(l["name"], str) or l["name"] in seen:
            return f"layers[{i}].name is missing or repeated"
        seen.add(l["name"])
        if not isinstance(l["shape"], list) or not all(_is_int(s) and s >= 0 for s in l["shape"]):
            return f"layers[{i}].shape must be a list of non-negative integers"
        if not _is_int(l["numel"]) or l["numel"] != int(np.prod(l["shape"], dtype=np.int64)):
            return f"layers[{i}].numel {l['numel']!r} does not equal the product of shape {l['shape']}"
    for key in ("mask_steps", "update_steps", "state_steps"):
        steps = m[key]
        if not isinstance(steps, list) or not all(_is_int(s) and s >= 0 for s in steps):
            return f"{key} must be a list of non-negative integers"
        if steps != sorted(set(steps)):
            return f"{key} must be sorted without repeats"
    if m["status"] == "complete" and not m["mask_steps"]:
        return "a complete run needs at least one mask snapshot"
    if not isinstance(m["shadow_criteria"], list) or any(c not in schema.CRITERIA for c in m["shadow_criteria"]):
        return f"shadow_criteria must be a list of {list(schema.CRITERIA)}"
    if not _is_int(m["total_steps"]) or m["total_steps"] < 0:
        return "total_steps must be a non-negative integer"
    if m["summary"] is not None and not isinstance(m["summary"], dict):
        return "summary must be an object"
    return None


def load_run(path) -> Run:
    """Read and check ``run.json`` of the run directory ``path`` (or of the ``run.json`` file itself)."""
    path = Path(path)
    if path.name == "run.json":
        path = path.parent
    run = path.name or str(path)
    mp = path / "run.json"
    try:
        text = mp.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArtifactError(str(path), "run.json", "file missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ArtifactError(str(path), "run.json", f"cannot read ({e})") from None
    try:
        m = json.loads(text)
    except ValueError as e:
        raise ArtifactError(str(path), "run.json", f"not valid JSON ({e})") from None
    if isinstance(m, dict) and isinstance(m.get("run_id"), str) and m["run_id"]:
        run = m["run_id"]
    problem = _check_manifest(run, m)
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


def find_runs(
    paths: Iterable | str | Path,
    *,
    include_incomplete: bool = False,
    on_bad: Callable[[ArtifactError], None] | None = None,
) -> list[Run]:
    """Every run below ``paths`` (directories holding a ``run.json``), sorted by path.

    A malformed ``run.json`` raises :class:`ArtifactError`, unless ``on_bad`` is given: then it is
    called with the error and the run skipped. Runs not ``complete`` are left out unless
    ``include_incomplete``. A path that does not exist raises ``FileNotFoundError``.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    manifests: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise FileNotFoundError(f"no such file or directory: {p}")
        if p.is_file():
            if p.name != "run.json":
                raise FileNotFoundError(f"{p} is not a run directory or run.json")
            manifests.append(p)
        else:
            manifests.extend(p.rglob("run.json"))
    runs: list[Run] = []
    seen: set[Path] = set()
    for mp in sorted(set(manifests)):
        d = mp.parent.resolve()
        if d in seen:
            continue
        seen.add(d)
        try:
            run = load_run(mp.parent)
        except ArtifactError as e:
            if on_bad is None:
                raise
            on_bad(e)
            continue
        if run.status == "complete" or include_incomplete:
            runs.append(run)
    return runs
