"""``fwa import paper-code``: the authors' recordings (``alooow/fantastic_weights_paper``) as a format-v1 run.

With ``--jaccard true`` their ``sparselearning/core.py`` (``Masking.local_truncate_weights``) saves, every
``save_every_jaccard`` steps at a topology update, ``<save_dir>/jaccard-in-time-<step>.th``::

    {"other_masks": {pruner_name: {layer: mask after that pruner}}, "origs": {layer: mask before}}

where every pruner of :data:`PRUNER_CRITERIA` pruned a copy of the same mask from the same weights and
gradient. ``data_handling/logger.py`` (``WandbLogger.save``) writes ``results.npy``, a pickled dict of
lists: one entry per epoch for each key given to ``log`` (``train_loss``, ``train_acc``, ``val_loss``,
``val_acc``, ``running_death_rate``, ...; ``step`` the epoch's index from 0) and the values of
``log_no_step`` (``test_loss``, ``test_acc`` once at the end). Accuracies are in percent.

The conversion (docs/import.md): each file becomes the update at its step, with the set each pruner
removed (``before & ~after``) as the shadow set of its fwa criterion and the run's own criterion's
shadow set as ``pruned``; ``origs`` becomes the mask snapshot of the step before (the mask does not
change between updates); ``grown`` is what the next file's ``origs`` holds beyond what this update kept.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fwanalysis.vocab import criterion_order

from .common import claim_run_id, new_run, run_config, to_bool, torch_load

__all__ = [
    "PRUNER_CRITERIA",
    "RESULT_METRICS",
    "jaccard_files",
    "read_jaccard_file",
    "read_final_masks",
    "read_results",
    "results_rows",
    "import_paper_code",
]

#: The authors' pruner names in their Jaccard recordings (``local_truncate_weights``) -> fwa's criteria.
#: ``SETFixed`` is ``SET_fixed``, the balanced rule of the paper, i.e. fwa's ``set`` (not ``set-legacy``,
#: their ``--death SET``). Their recording has no sensitivity pruner; the two names a sensitivity one
#: would carry in their naming are mapped in case a version of the code records one.
PRUNER_CRITERIA = {
    "magnitude": "magnitude",
    "SETFixed": "set",
    "MESTFixed": "mest",
    "SensitivityFixed": "sensitivity",
    "Sensitivity": "sensitivity",
    "ReciprocalSensitivityFixed": "rsensitivity",
    "SNIPFixed": "snip",
    "Random": "random",
}

#: Said once per import that holds SETFixed: what the authors' SET_fixed removes, which fwa's ``set`` does not.
SET_FIXED_NOTE = (
    "note: SETFixed (the authors' SET_fixed) is imported as set; it removes ceil(k/2) of each sign, so "
    "2*ceil(k/2) = k + 1 weights when k is odd, every active weight that is exactly zero besides, and "
    "fewer than k when one sign has too few weights, where fwa's set removes exactly k and makes up "
    "from the other sign (docs/import.md)"
)

#: ``results.npy`` keys -> (split, name, divisor): accuracies are logged in percent, fwa keeps fractions.
RESULT_METRICS = {
    "train_loss": ("train", "loss", 1.0),
    "train_acc": ("train", "acc", 100.0),
    "val_loss": ("val", "loss", 1.0),
    "val_acc": ("val", "acc", 100.0),
    "test_loss": ("test", "loss", 1.0),
    "test_acc": ("test", "acc", 100.0),
    "running_death_rate": ("", "running_death_rate", 1.0),
}

_FILE = re.compile(r"jaccard-in-time-(\d+)\.th")


@dataclass
class JaccardFile:
    """One ``jaccard-in-time-<step>.th``: the mask before the update and, per fwa criterion, the set removed."""

    step: int
    before: dict[str, np.ndarray]
    removed: dict[str, dict[str, np.ndarray]]
    unknown_pruners: list[str] = field(default_factory=list)


def jaccard_files(source: Path) -> list[tuple[int, Path]]:
    """``[(step, path)]`` of the ``jaccard-in-time-<step>.th`` files in ``source``, by step: every entry so named,
    whatever it is (a FIFO or a directory with that name is refused when it is read, never waited on)."""
    found = []
    for p in Path(source).iterdir():
        m = _FILE.fullmatch(p.name)
        if m:
            found.append((_step(m.group(1), p), p))
    return sorted(found)


def _step(digits: str, path: Path) -> int:
    """The step named in a file name, checked to be an optimizer step the run format can hold (int64)."""
    from fwanalysis.artifacts.schema import MAX_STEP

    step = int(digits)
    if step > MAX_STEP:
        raise ValueError(
            f"{path}: step {digits[:30]}{'...' if len(digits) > 30 else ''} is larger than 2^63 - 1, "
            "the largest step the run format holds"
        )
    return step


def read_jaccard_file(path: Path, step: int) -> JaccardFile:
    """Read one recording with ``torch.load(weights_only=True)``; the masks as boolean arrays."""
    obj = torch_load(path, what="fwa import paper-code")
    if (
        not isinstance(obj, Mapping)
        or not isinstance(obj.get("origs"), Mapping)
        or not isinstance(obj.get("other_masks"), Mapping)
    ):
        keys = sorted(map(str, obj)) if isinstance(obj, Mapping) else type(obj).__name__
        raise ValueError(
            f"{path}: expected a dict with 'other_masks' and 'origs' (the authors' Jaccard recording), found {keys}"
        )
    before = {str(n): to_bool(t, where=f"{path.name}: origs[{n!r}]") for n, t in obj["origs"].items()}
    if not before:
        raise ValueError(f"{path}: origs holds no layer mask")
    removed: dict[str, dict[str, np.ndarray]] = {}
    unknown = []
    for pname, masks in obj["other_masks"].items():
        crit = PRUNER_CRITERIA.get(str(pname))
        if crit is None:
            unknown.append(str(pname))
            continue
        if not isinstance(masks, Mapping):
            raise ValueError(f"{path}: other_masks[{pname!r}] is not a dict of layer masks")
        after = _layer_masks(path, f"other_masks[{pname!r}]", masks, {n: b.shape for n, b in before.items()}, "origs")
        removed[crit] = {n: b & ~after[n] for n, b in before.items()}
    return JaccardFile(step, before, removed, unknown)


def read_final_masks(path: Path, layers: Mapping[str, tuple]) -> dict[str, np.ndarray]:
    """The final mask from the authors' last checkpoint (``trainer.py`` saves ``model_last.pth`` with
    ``"masks": mask.masks``), read with ``torch.load(weights_only=True)``."""
    obj = torch_load(Path(path), what="fwa import paper-code --final")
    masks = obj.get("masks") if isinstance(obj, Mapping) else None
    if not isinstance(masks, Mapping):
        raise ValueError(f"{path}: no 'masks' dict (the authors' model_last.pth holds one)")
    return _layer_masks(Path(path), "masks", masks, layers, "the recordings")


def _layer_masks(
    path: Path, label: str, masks: Mapping, shapes: Mapping[str, tuple], other: str
) -> dict[str, np.ndarray]:
    """``masks[n]`` as a boolean array of ``shapes[n]``, for every layer ``n`` that ``other`` (where the
    shapes come from) has; a missing layer or another shape (a transposed mask of the right size too) is a
    one-line error, raised before the mask is converted."""
    out = {}
    for n, shape in shapes.items():
        if n not in masks:
            raise ValueError(f"{path}: {label} has no mask for layer {n!r} (it is in {other})")
        got = tuple(int(d) for d in getattr(masks[n], "shape", np.shape(masks[n])))
        if got != tuple(shape):
            raise ValueError(f"{path}: {label}[{n!r}] has shape {list(got)}, {list(shape)} in {other}")
        out[n] = to_bool(masks[n], where=f"{path.name}: {label}[{n!r}]")
    return out


def _matching(rec: JaccardFile, path: Path, first: JaccardFile, first_path: Path) -> JaccardFile:
    """``rec`` (read from ``path``) if it records the layers, with their shapes, and the pruners of the first
    recording; else ValueError naming both files."""
    if {n: b.shape for n, b in rec.before.items()} != {n: b.shape for n, b in first.before.items()}:
        raise ValueError(f"{path}: its layers or their shapes differ from those of {first_path.name}")
    if set(rec.removed) != set(first.removed):
        raise ValueError(
            f"{path}: records the pruners {', '.join(criterion_order(rec.removed))}, "
            f"{first_path.name} records {', '.join(criterion_order(first.removed))}"
        )
    return rec


def _checked_recordings(files: list[tuple[int, Path]], *, skip_bad: bool, note: Callable[[str], None]):
    """Read every recording once: ``(the readable, matching ones, the first of them read, the paths left out)``.

    A recording that cannot be read or does not match the first readable one is an error naming it and
    why, unless ``skip_bad`` (then it is left out and named in a note)."""
    good, first, skipped = [], None, []
    for step, path in files:
        try:
            rec = read_jaccard_file(path, step)
            if first is None:
                first = rec
            else:
                _matching(rec, path, first, good[0][1])
        except ValueError as e:
            text = str(e)
            if not text.startswith(str(path)):
                text = f"{path}: {text}"
            if not skip_bad:
                raise ValueError(text + " (--skip-bad leaves such a recording out)") from None
            skipped.append(path)
            note(f"note: skipped {text}")
            continue
        good.append((step, path))
    if first is None:
        raise ValueError(f"{files[0][1].parent}: none of its {len(files)} recordings could be read")
    if skipped:
        note(
            f"note: {len(skipped)} of {len(files)} recordings skipped (--skip-bad); "
            "recorded in run.json's imported_from.skipped"
        )
    return good, first, skipped


def read_results(path: Path) -> dict:
    """The pickled dict of ``results.npy`` (unpickling runs code: call only for a file you trust)."""
    from fwanalysis.artifacts.io import open_regular

    with open_regular(path) as f:  # a FIFO named results.npy is refused, never waited on
        obj = np.load(f, allow_pickle=True)
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if not isinstance(obj, Mapping):
        raise ValueError(
            f"{path}: expected a pickled dict of logged lists (data_handling/logger.py), found {type(obj).__name__}"
        )
    return dict(obj)


def results_rows(results: Mapping, *, steps_per_epoch: int | None, end_step: int) -> tuple[list[tuple], list[str]]:
    """Tidy metric rows from ``results.npy``'s dict, and the keys left out.

    Lists as long as ``step`` are per epoch: entry i is epoch i + 1, at optimizer step (i + 1) *
    ``steps_per_epoch``. Other lists (``log_no_step``: the test figures) are measured at the end: step
    epochs * ``steps_per_epoch`` (``end_step`` when no epoch was logged), epoch = epochs logged.
    Accuracies are divided by 100; NaN (``val_*`` without a validation split) is left out."""
    n_epochs = len(results["step"]) if "step" in results else 0
    if n_epochs and not steps_per_epoch:
        raise ValueError(
            "results.npy logs once per epoch: give --steps-per-epoch N (batches per epoch, the authors' "
            "len(train_loader)) so that its rows get optimizer steps"
        )
    rows, left_out = [], []
    end = n_epochs * steps_per_epoch if n_epochs else end_step
    for key, values in results.items():
        if key == "step":
            continue
        if key not in RESULT_METRICS:
            left_out.append(str(key))
            continue
        split, name, div = RESULT_METRICS[key]
        try:
            values = [float(v) for v in values]
        except (TypeError, ValueError):
            raise ValueError(f"results.npy: {key!r} does not hold a list of numbers") from None
        per_epoch = n_epochs and len(values) == n_epochs
        for i, v in enumerate(values):
            if not math.isfinite(v):
                continue
            if per_epoch:
                rows.append(((i + 1) * steps_per_epoch, float(i + 1), split, name, v / div))
            else:
                rows.append((end, float(n_epochs) if n_epochs else math.nan, split, name, v / div))
    rows.sort(key=lambda r: r[0])
    return rows, left_out


def _first_update_file(source: Path) -> Path | None:
    """The first-update checkpoint to import for ``source``: ``source`` itself when it is a file, else its
    ``model_last.pth`` when it holds no Jaccard recordings but that file; None otherwise."""
    if source.is_file():
        return source
    if source.is_dir() and not jaccard_files(source):
        last = source / "model_last.pth"
        if os.path.lexists(last):
            return last
        raise ValueError(
            f"{source}: no jaccard-in-time-<step>.th files (the authors' code writes them with --jaccard true) "
            "and no model_last.pth (what it saves with --manual_stop true)"
        )
    return None


def import_paper_code(
    source: Path,
    study: Path,
    *,
    settings: Mapping,
    trust_pickle: bool = False,
    steps_per_epoch: int | None = None,
    run_id: str | None = None,
    overwrite: bool = False,
    taken: set | None = None,
    final: Path | None = None,
    skip_bad: bool = False,
    note: Callable[[str], None] = print,
) -> Path:
    """Convert one directory of the authors' recordings into a run of ``study``; returns the run directory.
    A first-update checkpoint (``--manual_stop true``: a file, or a directory holding only it as
    ``model_last.pth``) is converted by :func:`~fwanalysis.importers.first_update.import_first_update`.

    ``settings``: config keys (``--set``); ``criterion`` (the run's own, an fwa name) is required and
    must be among the recorded pruners. ``method`` defaults to ``dst``, ``pruning_scope`` to ``local``
    (the authors record only local pruning), ``density`` to the first recorded mask's. ``results.npy``
    is read only with ``trust_pickle``. ``taken``: run ids already written by this command (a second
    source with the same id is refused instead of replacing the first). ``final``: the run's last
    checkpoint (their ``model_last.pth``, whose ``masks`` hold the final mask): it gives the last update's
    grown set and a final mask snapshot.

    Every recording is read and checked before the run is written: one that cannot be read, or whose
    layers, shapes or pruners differ from the first one's, is an error naming it, unless ``skip_bad``:
    then it is left out (the grown set before it spans the gap), said in a note and counted in
    ``imported_from.skipped`` of run.json."""
    from fwanalysis.artifacts import run_id_for

    source = Path(source)
    first_update = _first_update_file(source)
    if first_update is not None:  # a --manual_stop run: one checkpoint of the first update (first_update.py)
        from .first_update import import_first_update

        if final is not None:
            raise ValueError(
                f"{source}: --final belongs to a run's Jaccard recordings; a first-update checkpoint is the run's end"
            )
        return import_first_update(
            first_update, study, settings=settings, run_id=run_id, overwrite=overwrite, taken=taken, note=note
        )
    if not source.is_dir():
        raise ValueError(
            f"{source}: not a directory (give the authors' save_dir holding jaccard-in-time-<step>.th, or a "
            "--manual_stop checkpoint model_last.pth)"
        )
    files = jaccard_files(source)
    criterion = settings.get("criterion")
    if criterion is None:
        raise ValueError(
            "give the run's own criterion with --set criterion=NAME (an fwa name: magnitude, set, mest, "
            "rsensitivity, snip, random): the recordings hold every pruner's set but not which one trained"
        )
    files, cur, skipped = _checked_recordings(files, skip_bad=skip_bad, note=note)
    recorded = criterion_order(cur.removed)
    if criterion not in cur.removed:
        raise ValueError(
            f"criterion {criterion!r} is not among the recorded pruners ({', '.join(recorded)}); "
            "the authors' --death SET is set-legacy, which their recordings do not hold"
        )
    if cur.unknown_pruners:
        note(f"note: pruners not imported (no fwa criterion for them): {', '.join(cur.unknown_pruners)}")
    if "set" in cur.removed:
        note(SET_FIXED_NOTE)
    layers = {n: b.shape for n, b in cur.before.items()}
    config = run_config(
        settings,
        cur.before,
        defaults={"method": "dst", "pruning_scope": "local"},
        where="its first recorded mask",
        note=note,
    )
    rid = claim_run_id(run_id or run_id_for(config), taken, source, sets="seed=...")

    rows: list[tuple] = []
    results = source / "results.npy"
    if os.path.lexists(results) and not trust_pickle:
        note(
            f"note: {results} not read: it is a pickle, and unpickling can run code; pass --trust-pickle if you trust "
            "where it came from (masks and sets imported, no metrics)"
        )
    elif os.path.lexists(results):
        rows, left_out = results_rows(read_results(results), steps_per_epoch=steps_per_epoch, end_step=files[-1][0])
        if left_out:
            note(f"note: results.npy keys not imported: {', '.join(left_out)}")

    period = settings.get("update_period")
    gaps = {b - a for (a, _), (b, _) in zip(files, files[1:])}
    if isinstance(period, int) and gaps - {period}:
        note(
            f"note: recordings are {', '.join(map(str, sorted(gaps)))} steps apart but update_period is {period}: "
            "each grown set spans the unrecorded updates in between (docs/import.md)"
        )

    extra = {"imported_from": {"kind": "paper-code", "source": str(source), "files": len(files)}}
    if skipped:
        extra["imported_from"]["skipped"] = {"recordings": len(skipped), "files": [p.name for p in skipped]}
    total_steps = max([files[-1][0], *(r[0] for r in rows)])
    final_masks = read_final_masks(final, layers) if final is not None else None
    with new_run(study, config, layers, run_id=rid, total_steps=total_steps, overwrite=overwrite, extra=extra) as w:
        for k, (step, _) in enumerate(files):  # read again (checked above): one recording in memory at a time
            nxt = None
            if k + 1 < len(files):
                nxt = _matching(read_jaccard_file(files[k + 1][1], files[k + 1][0]), files[k + 1][1], cur, files[0][1])
            first_is_first_update = k == 0 and isinstance(period, int) and step == period
            w.write_masks(0 if first_is_first_update else max(step - 1, 0), cur.before)
            pruned = cur.removed[criterion]
            if nxt is not None:
                grown = {n: nxt.before[n] & ~(cur.before[n] & ~pruned[n]) for n in layers}
            elif final_masks is not None:  # the final mask: what the last recorded update (and any after it) regrew
                grown = {n: final_masks[n] & ~(cur.before[n] & ~pruned[n]) for n in layers}
            else:  # what was regrown after the last recording is not in the files
                grown = {n: np.zeros(shape, dtype=bool) for n, shape in layers.items()}
            w.write_update(step, pruned, grown, shadow=cur.removed)
            cur = nxt
        if final_masks is not None:
            w.write_masks(total_steps, final_masks)
        for r in rows:
            w.log(*r)
    return w.path
