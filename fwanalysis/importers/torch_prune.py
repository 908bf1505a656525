"""``fwa import torch-prune``: checkpoints of a model pruned with ``torch.nn.utils.prune`` as one run.

``torch.nn.utils.prune`` replaces a pruned parameter ``<name>`` by the parameter ``<name>_orig`` and the
buffer ``<name>_mask`` (1 = kept), so a module's ``state_dict()`` holds both. A series of such
state_dicts saved with ``torch.save`` (the checkpoints of one training run, in step order) becomes a run
whose masked layers are the ``<name>`` that have both keys, with a mask snapshot per checkpoint and, between
two consecutive checkpoints whose masks differ, an update at the later one: ``pruned = before & ~after``,
``grown = after & ~before``. A weight pruned and regrown between two checkpoints is invisible.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .common import new_run, run_config, to_bool, torch_load

__all__ = ["step_from_name", "read_masks", "import_torch_prune"]

_WRAPPERS = ("state_dict", "model_state_dict", "model")


def step_from_name(path: Path) -> int:
    """The step in a checkpoint's file name: the last run of digits in its name without the suffix
    (``ckpt-800.pt`` -> 800, ``step_001600.pth`` -> 1600, ``epoch3-step2400.pt`` -> 2400)."""
    from fwanalysis.artifacts.schema import MAX_STEP

    digits = re.findall(r"\d+", Path(path).name.split(".")[0])
    if not digits:
        raise ValueError(f"{path}: no step number in the file name; give every step with --steps 0,800,1600,...")
    if int(digits[-1]) > MAX_STEP:
        raise ValueError(
            f"{path}: the step in its name ({digits[-1][:30]}...) is larger than 2^63 - 1, the largest step the "
            "run format holds; give the steps with --steps"
        )
    return int(digits[-1])


def _state_dict(path: Path) -> Mapping:
    """The state_dict of a checkpoint (unwrapped from ``state_dict``, ``model_state_dict`` or ``model`` of a
    training checkpoint that holds one)."""
    sd = torch_load(path, what="fwa import torch-prune")
    if isinstance(sd, Mapping):
        for key in _WRAPPERS:
            inner = sd.get(key)
            if isinstance(inner, Mapping) and any(str(k).endswith(("_mask", "_orig")) for k in inner):
                return inner
    if not isinstance(sd, Mapping):
        raise ValueError(f"{path}: expected a state_dict (a dict of tensors), found {type(sd).__name__}")
    return sd


def read_masks(path: Path, layers: Mapping[str, tuple] | None = None) -> dict[str, np.ndarray] | None:
    """``{layer: bool mask}`` of one checkpoint: every ``<name>_mask`` with a ``<name>_orig`` beside it, in
    state_dict order. A checkpoint without any (saved before pruning) gives None, or, when ``layers`` are
    known from another checkpoint, all-True masks for them, provided it holds each as a plain ``<name>``
    of that shape."""
    sd = _state_dict(path)
    masks = {}
    for k, v in sd.items():
        k = str(k)
        if k.endswith("_mask") and f"{k[:-5]}_orig" in sd:
            mask_shape, orig_shape = (tuple(getattr(x, "shape", ())) for x in (v, sd[f"{k[:-5]}_orig"]))
            if mask_shape != orig_shape:  # checked before the mask is converted (and allocated)
                raise ValueError(f"{path}: {k} has shape {list(mask_shape)}, {k[:-5]}_orig {list(orig_shape)}")
            masks[k[:-5]] = to_bool(v, where=f"{path.name}: {k}")
    if masks or layers is None:
        return masks or None
    for n, shape in layers.items():
        v = sd.get(n)
        if v is None or tuple(getattr(v, "shape", ())) != tuple(shape):
            raise ValueError(f"{path}: neither {n}_mask nor a plain {n} of shape {tuple(shape)}")
        masks[n] = np.ones(shape, dtype=bool)
    return masks


def import_torch_prune(
    checkpoints: Sequence[Path],
    study: Path,
    *,
    settings: Mapping,
    steps: Sequence[int] | None = None,
    run_id: str | None = None,
    overwrite: bool = False,
    skip_bad: bool = False,
    note: Callable[[str], None] = print,
) -> Path:
    """Convert checkpoints (one run, any order: they are sorted by step) into a run of ``study``.

    ``steps``: one per checkpoint, in the order given; else each file name's step
    (:func:`step_from_name`). ``settings``: config keys (``--set``); ``method`` defaults to ``dst``
    and ``density`` to the first checkpoint's. Every checkpoint is read and checked before the run is
    written (``skip_bad``: a bad one is left out instead, :func:`_checked_masks`). Returns the run directory."""
    from fwanalysis.artifacts.schema import MAX_STEP

    paths = [Path(p) for p in checkpoints]
    if not paths:
        raise ValueError("give at least one checkpoint")
    for p in paths:
        if not os.path.lexists(p):
            raise ValueError(f"{p}: no such file")
    if steps is not None:
        if len(steps) != len(paths):
            raise ValueError(
                f"--steps gives {len(steps)} steps for {len(paths)} checkpoints: give one per checkpoint, in order"
            )
        if any(not 0 <= int(s) <= MAX_STEP for s in steps):
            raise ValueError("--steps: steps are optimizer steps, from 0 to 2^63 - 1")
        pairs = list(zip((int(s) for s in steps), paths))
    else:
        pairs = [(step_from_name(p), p) for p in paths]
    pairs.sort(key=lambda t: t[0])
    dup = sorted({s for (s, _), (t, _) in zip(pairs, pairs[1:]) if s == t})
    if dup:
        raise ValueError(
            f"two checkpoints at step {dup[0]}: every checkpoint needs its own step (--steps to give them)"
        )

    checked, skipped = _checked_masks(pairs, skip_bad=skip_bad, note=note)
    (first_step, cur), layers = checked[0], {n: m.shape for n, m in checked[0][1].items()}
    config = run_config(settings, cur, defaults={"method": "dst"}, where="its first checkpoint", note=note)
    if config.get("criterion") is None:
        note(
            "note: no --set criterion=NAME: the run has no criterion, "
            "and the Jaccard analyses compare runs by criterion"
        )
    extra = {"imported_from": {"kind": "torch-prune", "checkpoints": [str(p) for _, p in pairs]}}
    if skipped:
        extra["imported_from"]["skipped"] = {"checkpoints": len(skipped), "files": [str(p) for p in skipped]}
    updates = 0
    with new_run(
        study, config, layers, run_id=run_id, total_steps=checked[-1][0], overwrite=overwrite, extra=extra
    ) as w:
        w.write_masks(first_step, cur)
        for step, nxt in checked[1:]:
            pruned = {n: cur[n] & ~nxt[n] for n in layers}
            grown = {n: nxt[n] & ~cur[n] for n in layers}
            if any(pruned[n].any() or grown[n].any() for n in layers):
                w.write_update(step, pruned, grown)
                updates += 1
            w.write_masks(step, nxt)
            cur = nxt
    if not updates:
        note("note: the masks are the same in every checkpoint: the run has no topology update")
    return w.path


def _packed(masks: Mapping[str, np.ndarray]) -> dict:
    """``{layer: (packed bits, shape)}``: a checkpoint's masks at 1 bit a weight while the others are checked."""
    return {n: (np.packbits(m.reshape(-1)), m.shape) for n, m in masks.items()}


def _unpacked(packed: Mapping) -> dict[str, np.ndarray]:
    return {
        n: np.unpackbits(b, count=int(np.prod(shape))).astype(bool).reshape(shape) for n, (b, shape) in packed.items()
    }


def _checked_masks(pairs: list[tuple[int, Path]], *, skip_bad: bool, note: Callable[[str], None]):
    """Read every checkpoint before anything is written: ``([(step, masks)], skipped paths)``.

    The masked layers are those of the first checkpoint pruned with ``torch.nn.utils.prune``; earlier
    checkpoints (saved before pruning) count as all-active. A checkpoint that cannot be read, or whose
    masked layers or shapes differ from the first one's, is an error naming it, unless ``skip_bad``: then
    it is left out, said in a note and counted in ``imported_from.skipped``. Masks wait packed (1 bit a
    weight), so a long series of checkpoints costs the memory of its masks, not of its weights."""
    read: list[tuple[int, Path, dict | None]] = []
    skipped: list[Path] = []
    layers: dict[str, tuple] | None = None

    def bad(path: Path, e: ValueError) -> None:
        text = str(e) if str(e).startswith(str(path)) else f"{path}: {e}"
        if not skip_bad:
            raise ValueError(text + " (--skip-bad leaves such a checkpoint out)") from None
        skipped.append(path)
        note(f"note: skipped {text}")

    for step, path in pairs:
        try:
            masks = read_masks(path)
            if masks is not None:
                shapes = {n: m.shape for n, m in masks.items()}
                if layers is None:
                    layers = shapes
                elif shapes != layers:
                    raise ValueError(
                        f"its masked layers differ from those of the first pruned checkpoint "
                        f"({sorted(set(shapes) ^ set(layers)) or 'shapes differ'})"
                    )
        except ValueError as e:
            bad(path, e)
            continue
        read.append((step, path, _packed(masks) if masks is not None else None))
    if layers is None:
        where = pairs[0][1] if pairs else "the checkpoints"
        raise ValueError(
            f"no checkpoint holds a <name>_mask buffer with a <name>_orig beside it (e.g. {where}); "
            "was the model pruned with torch.nn.utils.prune, and saved before prune.remove?"
        )
    checked = []
    for step, path, packed in read:
        if packed is None:  # saved before pruning: every weight of the layers active
            try:
                checked.append((step, read_masks(path, layers)))
            except ValueError as e:
                bad(path, e)
            continue
        checked.append((step, _unpacked(packed)))
    if skipped:
        note(
            f"note: {len(skipped)} of {len(pairs)} checkpoints skipped (--skip-bad); "
            "recorded in run.json's imported_from.skipped"
        )
    return checked, skipped
