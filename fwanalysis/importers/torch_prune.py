"""``fwa import torch-prune``: checkpoints of a model pruned with ``torch.nn.utils.prune`` as one run.

``torch.nn.utils.prune`` replaces a pruned parameter ``<name>`` by the parameter ``<name>_orig`` and the
buffer ``<name>_mask`` (1 = kept), so a module's ``state_dict()`` holds both. A series of such
state_dicts saved with ``torch.save`` (the checkpoints of one training run, in step order) becomes a run
whose masked layers are the ``<name>`` that have both keys, with a mask snapshot per checkpoint and, between
two consecutive checkpoints whose masks differ, an update at the later one: ``pruned = before & ~after``,
``grown = after & ~before``. A weight pruned and regrown between two checkpoints is invisible.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .common import run_config, to_bool, torch_load

__all__ = ["step_from_name", "read_masks", "import_torch_prune"]

_WRAPPERS = ("state_dict", "model_state_dict", "model")


def step_from_name(path: Path) -> int:
    """The step in a checkpoint's file name: the last run of digits in its name without the suffix
    (``ckpt-800.pt`` -> 800, ``step_001600.pth`` -> 1600, ``epoch3-step2400.pt`` -> 2400)."""
    digits = re.findall(r"\d+", Path(path).name.split(".")[0])
    if not digits:
        raise ValueError(f"{path}: no step number in the file name; give every step with --steps 0,800,1600,...")
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
    note: Callable[[str], None] = print,
) -> Path:
    """Convert checkpoints (one run, any order: they are sorted by step) into a run of ``study``.

    ``steps``: one per checkpoint, in the order given; else each file name's step
    (:func:`step_from_name`). ``settings``: config keys (``--set``); ``method`` defaults to ``dst``
    and ``density`` to the first checkpoint's. Returns the run directory."""
    from fwanalysis.artifacts import RunWriter

    paths = [Path(p) for p in checkpoints]
    if not paths:
        raise ValueError("give at least one checkpoint")
    for p in paths:
        if not p.is_file():
            raise ValueError(f"{p}: no such file")
    if steps is not None:
        if len(steps) != len(paths):
            raise ValueError(f"--steps gives {len(steps)} steps for {len(paths)} checkpoints: give one per checkpoint, in order")
        if any(int(s) < 0 for s in steps):
            raise ValueError("--steps: steps are optimizer steps, >= 0")
        pairs = list(zip((int(s) for s in steps), paths))
    else:
        pairs = [(step_from_name(p), p) for p in paths]
    pairs.sort(key=lambda t: t[0])
    dup = sorted({s for (s, _), (t, _) in zip(pairs, pairs[1:]) if s == t})
    if dup:
        raise ValueError(f"two checkpoints at step {dup[0]}: every checkpoint needs its own step (--steps to give them)")

    cur = None
    for i, (_, p) in enumerate(pairs):  # the masked layers: those of the first pruned checkpoint
        cur = read_masks(p)
        if cur is not None:
            break
    if cur is None:
        raise ValueError(f"no checkpoint holds a <name>_mask buffer with a <name>_orig beside it (e.g. {pairs[0][1]}); "
                         "was the model pruned with torch.nn.utils.prune, and saved before prune.remove?")
    if i:  # checkpoints saved before pruning: every weight of the layers active
        cur = read_masks(pairs[0][1], {n: m.shape for n, m in cur.items()})
    layers = {n: m.shape for n, m in cur.items()}
    config = run_config(settings, cur, defaults={"method": "dst"}, where="its first checkpoint", note=note)
    if config.get("criterion") is None:
        note("note: no --set criterion=NAME: the run has no criterion, and the Jaccard analyses compare runs by criterion")
    study = Path(study)
    study.mkdir(parents=True, exist_ok=True)
    extra = {"imported_from": {"kind": "torch-prune", "checkpoints": [str(p) for _, p in pairs]}}
    updates = 0
    with RunWriter(study, config, layers, run_id=run_id, total_steps=pairs[-1][0],
                   exist="overwrite" if overwrite else "resume-incomplete", extra=extra) as w:
        w.write_masks(pairs[0][0], cur)
        for step, path in pairs[1:]:
            nxt = read_masks(path, layers)
            if {n: m.shape for n, m in nxt.items()} != layers:
                raise ValueError(f"{path}: its masked layers differ from those of {pairs[0][1].name} "
                                 f"({sorted(set(nxt) ^ set(layers)) or 'shapes differ'})")
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
