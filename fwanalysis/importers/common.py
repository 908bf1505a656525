"""What the importers share: ``--set`` and ``--map`` parsing, tag names to (split, name), torch files, metrics.

Metrics go into ``metrics.parquet`` with exactly the columns of docs/format.md (``step`` int64, ``epoch``
float64, ``split`` string, ``name`` string, ``value`` float64): either into a new run made through
:class:`~fwanalysis.artifacts.RunWriter` (:func:`write_metrics_run`) or added to an existing run
(:func:`add_metrics`), whose table and ``run.json`` summary are rewritten atomically under the run's lock.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from fwanalysis.artifacts.select import key_values
from fwanalysis.vocab import METRICS, SPLITS

__all__ = [
    "MissingDependency",
    "parse_settings",
    "parse_map",
    "default_metric",
    "metric_rows",
    "to_bool",
    "torch_load",
    "run_config",
    "claim_run_id",
    "new_run",
    "write_metrics_run",
    "add_metrics",
    "METRIC_COLUMNS",
    "EPOCH_TAGS",
    "ACCURACY_SCALES",
    "accuracy_divisor",
    "metric_label",
    "check_steps",
    "some_names",
]

#: The columns of metrics.parquet, in order (docs/format.md, "metrics.parquet").
METRIC_COLUMNS = ("step", "epoch", "split", "name", "value")
#: Tags (TensorBoard) and columns (W&B) read as the epoch of each step rather than as a metric.
EPOCH_TAGS = ("epoch", "Epoch", "trainer/epoch", "train/epoch")


class MissingDependency(ValueError):
    """An optional package an importer needs is not installed (one ``error:`` line naming how to get it)."""


# -- the command line's KEY=VALUE and TAG=SPLIT:NAME ---------------------------------------------------
def parse_settings(items: Iterable[str] | None) -> dict:
    """``--set KEY=VALUE`` items as a dict; VALUE is read as JSON where it parses (numbers, true, null,
    lists), else as text: ``density=0.1`` is a number, ``model=resnet56`` a string."""
    return key_values(items, option="--set", example="density=0.1")


def parse_map(items: Iterable[str] | None) -> dict[str, tuple[str, str]]:
    """``--map TAG=SPLIT:NAME`` items as ``{tag: (split, name)}``; SPLIT may be empty (``lr=:lr``)."""
    out = {}
    for item in items or ():
        tag, sep, target = item.rpartition("=")
        split, colon, name = target.partition(":")
        if not sep or not tag or not colon or not name:
            raise ValueError(
                f"--map {item!r}: expected TAG=SPLIT:NAME, e.g. --map train/loss=train:loss "
                "(SPLIT may be empty: lr=:lr)"
            )
        if split not in SPLITS:
            raise ValueError(f"--map {item!r}: split {split!r} is not one of: {', '.join(repr(s) for s in SPLITS)}")
        out[tag] = (split, name)
    return out


_SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
_NAME_WORDS = {"loss": "loss", "acc": "acc", "accuracy": "acc", "top1": "acc", "acc1": "acc"}


def some_names(names: list[str], shown: int = 50) -> str:
    """The first ``shown`` names, then how many more (a CSV of 200,000 columns makes no readable line)."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f", ... ({more} more)" if more > 0 else "")


def default_metric(tag: str) -> tuple[str, str] | None:
    """The (split, name) a tag gets without ``--map``, or None (not imported).

    A tag made of one split word (train, training, val, valid, validation, test) and one name word
    (loss; acc, accuracy, top1, acc1 as ``acc``) in either order, joined by ``/``, ``_``, ``-``, ``.`` or
    a space, case ignored: ``train/loss``, ``val/acc``, ``test_acc``, ``Loss/train``,
    ``validation accuracy``. The word ``epoch`` and a word said twice count once or not at all, for
    TensorBoard's folder-named tags: Keras' ``validation/epoch_accuracy``, ``SummaryWriter.add_scalars``'
    ``Loss_train/Loss``. ``lr`` and ``learning_rate`` (alone or after a ``train`` prefix) are the
    run-level ``lr``."""
    words = [w for w in re.split(r"[/_\-. ]+", tag.strip().lower()) if w]
    words = [w for i, w in enumerate(words) if w != "epoch" and w not in words[:i]]
    if words in (["lr"], ["learning", "rate"], ["train", "lr"], ["train", "learning", "rate"]):
        return ("", "lr")
    if len(words) != 2:
        return None
    a, b = words
    for s, n in ((a, b), (b, a)):
        if s in _SPLIT_WORDS and n in _NAME_WORDS:
            return (_SPLIT_WORDS[s], _NAME_WORDS[n])
    return None


#: ``--accuracy-scale``: how an accuracy series was logged (docs/import.md, "Accuracy in percent").
ACCURACY_SCALES = ("auto", "percent", "fraction")


def metric_label(split: str, name: str) -> str:
    """A metric as the docs write it: ``train/loss``, ``lr`` (run-level)."""
    return f"{split}/{name}" if split else name


def accuracy_divisor(tag: str, points: Sequence[tuple[int, float]], scale: str, note: Callable[[str], None]) -> float:
    """What the values of the accuracy series ``tag`` are divided by: 1 for ``fraction`` (as logged), 100 for
    ``percent``; ``auto`` reads a series whose finite values all lie in [0, 1] as fractions, one with values
    above 1 and all in [0, 100] as percent (divided, and a note says so), anything else is an error."""
    if scale not in ACCURACY_SCALES:
        raise ValueError(f"--accuracy-scale {scale!r}: expected one of {', '.join(ACCURACY_SCALES)}")
    if scale != "auto":
        return 100.0 if scale == "percent" else 1.0
    values = [x for x in (float(v) for _, v in points) if math.isfinite(x)]
    if not values or 0 <= min(values) and max(values) <= 1:
        return 1.0
    lo, hi = min(values), max(values)
    if lo >= 0 and hi <= 100:
        note(
            f"note: accuracy {tag!r} read as percent (values up to {hi:g}) and divided by 100; "
            "--accuracy-scale fraction keeps it as logged"
        )
        return 100.0
    raise ValueError(
        f"accuracy {tag!r} holds values from {lo:g} to {hi:g}, neither fractions (0 to 1) nor percent (0 to 100); "
        "--accuracy-scale fraction imports it as logged, or --map it to another name"
    )


def metric_rows(
    series: Mapping[str, Sequence[tuple[int, float]]],
    *,
    mapping: Mapping[str, tuple[str, str]] | None = None,
    epochs: Sequence[tuple[int, float]] | None = None,
    steps_per_epoch: int | None = None,
    accuracy_scale: str = "fraction",
    note: Callable[[str], None] = lambda _: None,
) -> tuple[list[tuple], list[str]]:
    """Tidy rows ``(step, epoch, split, name, value)`` from ``{tag: [(step, value), ...]}``.

    A tag named in ``mapping`` gets its (split, name); any other tag its :func:`default_metric`, or is
    left out (returned in the second list). Non-finite values are left out. ``epoch``: ``step /
    steps_per_epoch`` when given, else the last value of ``epochs`` (``[(step, epoch)]``, e.g. a logged
    ``epoch`` series) at or before the step, else NaN. Two tags that would become one metric are an error
    naming both (one would overwrite the other). The values of an ``acc`` metric are divided as
    :func:`accuracy_divisor` says for ``accuracy_scale`` (``note`` prints its note). Rows come sorted by step."""
    mapping = dict(mapping or {})
    ep_steps = ep_values = None
    if epochs:
        ordered = sorted((int(s), float(v)) for s, v in epochs if math.isfinite(float(v)))
        ep_steps = np.array([s for s, _ in ordered], dtype=np.int64)
        ep_values = [v for _, v in ordered]

    def epoch_at(step: int) -> float:
        if steps_per_epoch:
            return step / steps_per_epoch
        if ep_steps is not None and len(ep_steps):
            i = int(np.searchsorted(ep_steps, step, side="right")) - 1
            return ep_values[i] if i >= 0 else math.nan
        return math.nan

    rows: list[tuple] = []
    skipped = []
    source: dict[tuple[str, str], str] = {}  # metric -> the tag that gives it
    for tag, points in series.items():
        target = mapping.get(tag) or default_metric(tag)
        if target is None:
            skipped.append(tag)
            continue
        split, name = target
        if target in source:
            raise ValueError(
                f"tags {source[target]!r} and {tag!r} would both become the metric {metric_label(split, name)} (one "
                f"overwriting the other); give one of them another name with --map, e.g. --map '{tag}={split}:{name}_2'"
            )
        source[target] = tag
        divisor = accuracy_divisor(tag, points, accuracy_scale, note) if name == "acc" else 1.0
        for step, value in points:
            value = float(value)
            if not math.isfinite(value):
                continue
            step = int(step)
            if step < 0:
                raise ValueError(
                    f"tag {tag!r} has a negative step ({step}); the run format counts optimizer steps from 0"
                )
            rows.append((step, epoch_at(step), split, name, value / divisor if divisor != 1 else value))
    # one value per (step, split, name): a tag's last at a step, as before tags were checked apart
    last = {(r[0], r[2], r[3]): r for r in rows}
    return sorted(last.values(), key=lambda r: (r[0], r[2], r[3])), skipped


def run_config(
    settings: Mapping, masks: Mapping[str, np.ndarray], *, defaults: Mapping, where: str, note: Callable[[str], None]
) -> dict:
    """The config of an imported run: ``defaults``, then the ``--set`` values. Without ``--set density=D``
    the run gets the measured density of ``masks`` (4 decimals), and a note says so, naming ``where`` the
    masks come from: a measured density differs a little between seeds, so their runs would not pair up."""
    config = {**defaults, **settings}
    if config.get("density") is None:
        total = sum(m.size for m in masks.values())
        config["density"] = round(sum(int(m.sum()) for m in masks.values()) / max(total, 1), 4)
        note(
            f"note: no --set density=D: the run gets the density of {where}, {config['density']}; give the "
            "nominal one so that runs of other seeds pair up"
        )
    return config


# -- torch files -------------------------------------------------------------------------------------------
def torch_load(path: Path, *, what: str):
    """``torch.load(path, weights_only=True)`` on the CPU; one-line errors when torch is missing or the file
    cannot be read that way (weights_only refuses anything but tensors, numbers, strings and containers)."""
    try:
        import torch  # only here: fwa's analyses never need torch (docs/import.md)
    except ImportError:
        raise MissingDependency(
            f"{what} reads files written by torch.save and needs PyTorch, which is not installed (pip install torch)"
        ) from None
    from fwanalysis.artifacts.io import open_regular

    with open_regular(path) as f:  # a FIFO or device is refused here, never waited on
        try:
            return torch.load(f, map_location="cpu", weights_only=True)
        except Exception as e:  # torch raises UnpicklingError, RuntimeError, EOFError ... for a bad file
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(f"{path}: cannot be read with torch.load(weights_only=True): {first}") from None


def to_bool(x, *, where: str) -> np.ndarray:
    """A mask (torch tensor of any dtype, layout or device, or an array of bool, 0/1 floats or integers) as a
    boolean numpy array: nonzero is True (:func:`fwanalysis.artifacts.as_bool`); ``ValueError`` naming
    ``where`` for anything else (a meta tensor, a broadcast view posing as a large mask, text)."""
    from fwanalysis.artifacts import as_bool

    a = np.asarray(x) if not hasattr(x, "detach") else None
    if a is not None and not (a.dtype == bool or np.issubdtype(a.dtype, np.number)):
        raise ValueError(f"{where}: expected a mask tensor, found {type(x).__name__} of dtype {a.dtype}")
    try:
        return as_bool(x)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


# -- writing metrics ---------------------------------------------------------------------------------------
def _table(rows: Sequence[tuple]):
    import pyarrow as pa

    schema = pa.schema(
        [
            ("step", pa.int64()),
            ("epoch", pa.float64()),
            ("split", pa.string()),
            ("name", pa.string()),
            ("value", pa.float64()),
        ]
    )
    cols = list(zip(*rows)) if rows else [[] for _ in METRIC_COLUMNS]
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, schema)], schema=schema)


def claim_run_id(rid: str, taken: set | None, source, *, sets: str) -> str:
    """``rid``, added to ``taken`` (the run ids this command has written, None: not kept): a second source of
    the same id is refused rather than replacing the first; ``sets`` names the ``--set`` keys that tell runs
    apart."""
    if taken is not None:
        if rid in taken:
            raise ValueError(
                f"{source}: its run id {rid} is that of a source imported before in this command (same config); "
                f"import each run with its own --set (e.g. {sets}) or --run-id"
            )
        taken.add(rid)
    return rid


def new_run(study, config: Mapping, layers, *, run_id, total_steps, overwrite: bool, extra):
    """The :class:`~fwanalysis.artifacts.RunWriter` of an imported run in ``study`` (made if missing):
    ``overwrite`` replaces a complete run of the same id, else one is refused (an incomplete one is redone)."""
    from fwanalysis.artifacts import RunWriter

    study = Path(study)
    study.mkdir(parents=True, exist_ok=True)
    exist = "overwrite" if overwrite else "resume-incomplete"
    return RunWriter(study, config, layers, run_id=run_id, total_steps=total_steps, exist=exist, extra=extra)


def write_metrics_run(
    study: Path,
    config: Mapping,
    rows: Sequence[tuple],
    *,
    run_id: str | None = None,
    overwrite: bool = False,
    imported_from: Mapping | None = None,
) -> Path:
    """A new run holding only metrics: no masked layers, one (empty) mask snapshot at step 0, since a
    complete run must list one (docs/format.md), and ``rows`` as its metrics.parquet. ``imported_from``
    (what was read, what ``--skip-bad`` left out) becomes run.json's ``imported_from``. Returns its directory."""
    total = max((r[0] for r in rows), default=0)
    extra = {"imported_from": dict(imported_from)} if imported_from else None
    with new_run(study, config, {}, run_id=run_id, total_steps=total, overwrite=overwrite, extra=extra) as w:
        w.write_masks(0, {})
        for r in rows:
            w.log(*r)
    return w.path


def _summary(df) -> dict:
    """The final figures of ``summary`` from a metrics frame: per (split, name) the row of the largest step
    (the last such row in the table when several share it)."""
    out = {}
    for key in METRICS:
        split, _, name = key.rpartition("_") if key != "itop" else ("", "", "itop")
        sel = df[(df["split"] == split) & (df["name"] == name)]
        if len(sel):
            last = sel.iloc[np.flatnonzero(sel["step"].to_numpy() == sel["step"].max())[-1]]
            out[key] = float(last["value"])
    return out


def check_steps(
    total: int, steps: Sequence[int], *, source: str, run: Path, extend: bool, hint: str, note: Callable[[str], None]
) -> int:
    """The run's ``total_steps`` after adding rows at ``steps`` (read from ``source``) to ``run``, whose
    ``total_steps`` is ``total``. Steps past a run that has steps of its own (``total`` > 0) are refused,
    with the numbers and ``hint``, unless ``extend``; a run's total_steps is raised only with a note saying
    so. Steps that end before half the run's are allowed, with a note (a counter of log calls, say)."""
    if not len(steps):
        return total
    lo, hi = int(min(steps)), int(max(steps))
    if hi > total:
        if total and not extend:
            raise ValueError(
                f"{source}: steps {lo}–{hi} run past the {total} steps of the run {run}; {hint}, or give "
                f"--extend-steps to import them and raise its total_steps to {hi}"
            )
        note(f"note: total_steps of {run} raised from {total} to {hi}, the last step imported")
        return hi
    if hi < total / 2:
        note(f"note: {source}: steps {lo}–{hi} end before half of the {total} steps of the run {run}; {hint}")
    return total


def add_metrics(
    run_dir: Path,
    rows: Sequence[tuple],
    *,
    imported_from: Mapping | None = None,
    extend: bool = False,
    hint: str = "check that they count the run's optimizer steps",
    note: Callable[[str], None] = lambda _: None,
) -> tuple[Path, int]:
    """Add ``rows`` to the metrics of the existing run at ``run_dir``, under the run's lock.

    Rows already in the run with a (split, name) that ``rows`` bring are replaced; others are kept.
    Their steps are checked against the run's own (:func:`check_steps`, ``extend`` and ``hint`` passed on)
    before anything is written. ``summary`` in run.json is updated for the final figures the new rows give;
    ``imported_from`` (what was read, what ``--skip-bad`` left out), with the number of rows and the time, is
    appended to run.json's ``imported_metrics`` list. Both files are rewritten atomically. Returns the run
    directory and the number of rows replaced."""
    import pandas as pd
    import pyarrow.parquet as pq

    from fwanalysis.artifacts import ArtifactError, RunLock, atomic_path, load_run, write_json
    from fwanalysis.artifacts.io import read_regular, utc_now
    from fwanalysis.artifacts.reader import MAX_MANIFEST_BYTES

    run = load_run(run_dir)  # the manifest checked like any other run's
    # the lock of the run's directory, named as fwa's writer names it: the run_id inside run.json never
    # decides a path (a run_id of "../../x" would make the lock's folder elsewhere)
    lock = RunLock(run.path.parent, run.path.name)
    lock.acquire()
    try:
        mp = run.path / "metrics.parquet"
        if mp.exists():
            old = run.metrics()
        elif run.status == "complete":
            raise ArtifactError(run.run_id, "metrics.parquet", "file missing")
        else:
            old = pd.DataFrame({c: [] for c in METRIC_COLUMNS})
        new = pd.DataFrame(list(rows), columns=list(METRIC_COLUMNS))
        manifest = json.loads(read_regular(run.path / "run.json", max_bytes=MAX_MANIFEST_BYTES).decode("utf-8"))
        source = (imported_from or {}).get("source", "the import")
        total = check_steps(
            int(manifest.get("total_steps") or 0),
            new["step"].tolist(),
            source=", ".join(map(str, source)) if isinstance(source, list) else str(source),
            run=run.path,
            extend=extend,
            hint=hint,
            note=note,
        )
        brought = set(zip(new["split"], new["name"]))
        keep = ~pd.Series([(s, n) in brought for s, n in zip(old["split"], old["name"])], index=old.index, dtype=bool)
        merged = pd.concat([old[keep], new], ignore_index=True) if len(old) else new
        merged = merged.sort_values("step", kind="stable").reset_index(drop=True)
        table = _table(list(merged.itertuples(index=False, name=None)))
        with atomic_path(mp, mkdir=False) as tmp:
            pq.write_table(table, tmp)
        summary = dict(manifest.get("summary") or {})
        fresh = _summary(new)
        summary.update({k: v for k, v in _summary(merged).items() if k in fresh})
        manifest["summary"] = summary
        manifest["total_steps"] = total
        if imported_from:
            history = manifest.get("imported_metrics")
            manifest["imported_metrics"] = [
                *(history if isinstance(history, list) else []),
                {**imported_from, "rows": len(new), "at": utc_now()},
            ]
        write_json(run.path / "run.json", manifest, mkdir=False)
    finally:
        lock.release()
    return run.path, int((~keep).sum()) if len(old) else 0
