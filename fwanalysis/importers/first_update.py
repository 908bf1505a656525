"""``fwa import paper-code`` of a first-update checkpoint: the authors' runs with ``--manual_stop true``.

With ``--manual_stop true`` (the runs behind the paper's first-update comparisons, Figs. 6a, 17 and 20) the
authors' code stops at the first topology update, after pruning and before any growth (``core.py`` skips
growth and the optimizer step), and ``trainer.py`` saves ``./save/model_last.pth``::

    {"epoch", "state_dict", "optimizer",
     "masks": {layer: mask after the run's own pruning},
     "masks_before": {layer: mask at the update, before pruning},
     "weights": {parameter: weights at the update}, "grads": {parameter: gradient at the update},
     "scores": {layer: the run's criterion's score}}

One such file is one run with one update (docs/import.md): the mask snapshot at step 0 is ``masks_before``
(nothing changes the mask before the first update), the update's pruned set is ``masks_before & ~masks``,
nothing is grown, and where the file holds the weights and gradients they are written as the state
dumped before the update. Runs of several criteria from the same seed share ``masks_before``, so
``fwa jaccard --at first`` compares what each removed from the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import claim_run_id, new_run, run_config, to_bool, torch_load
from .paper_code import _layer_masks

__all__ = ["FirstUpdate", "is_first_update", "read_first_update", "import_first_update"]


@dataclass
class FirstUpdate:
    """One first-update checkpoint: the masks before and after the run's pruning, and the state it pruned from."""

    before: dict[str, np.ndarray]
    after: dict[str, np.ndarray]
    weights: dict[str, np.ndarray] | None
    grads: dict[str, np.ndarray] | None


def is_first_update(obj) -> bool:
    """Whether a loaded checkpoint is a first-update checkpoint (it holds ``masks_before`` and ``masks``)."""
    return (
        isinstance(obj, Mapping)
        and isinstance(obj.get("masks_before"), Mapping)
        and isinstance(obj.get("masks"), Mapping)
    )


def _floats(path: Path, label: str, tensors, shapes: Mapping[str, tuple]) -> dict[str, np.ndarray] | None:
    """``tensors[layer]`` as float32 arrays of each layer's shape; None when the file does not hold them all."""
    if not isinstance(tensors, Mapping) or any(tensors.get(n) is None for n in shapes):
        return None
    out = {}
    for n, shape in shapes.items():
        t = tensors[n]
        got = tuple(int(d) for d in getattr(t, "shape", ()))
        if got != tuple(shape):
            raise ValueError(f"{path}: {label}[{n!r}] has shape {list(got)}, the layer's mask {list(shape)}")
        if hasattr(t, "detach"):
            t = t.detach().float().cpu().numpy()
        out[n] = np.asarray(t, dtype=np.float32)
    return out


def read_first_update(path: Path) -> FirstUpdate:
    """Read a first-update checkpoint with ``torch.load(weights_only=True)``; every mask checked against
    ``masks_before``'s layers and shapes, and ``masks`` a subset of it (pruning only removes weights)."""
    path = Path(path)
    obj = torch_load(path, what="fwa import paper-code")
    if not is_first_update(obj):
        keys = sorted(map(str, obj)) if isinstance(obj, Mapping) else type(obj).__name__
        raise ValueError(
            f"{path}: expected the authors' --manual_stop checkpoint (a dict with 'masks_before' and 'masks'), "
            f"found {keys}"
        )
    before = {str(n): to_bool(t, where=f"{path.name}: masks_before[{n!r}]") for n, t in obj["masks_before"].items()}
    if not before:
        raise ValueError(f"{path}: masks_before holds no layer mask")
    shapes = {n: b.shape for n, b in before.items()}
    after = _layer_masks(path, "masks", obj["masks"], shapes, "masks_before")
    grew = [n for n in shapes if (after[n] & ~before[n]).any()]
    if grew:
        raise ValueError(
            f"{path}: masks holds weights that masks_before does not ({grew[0]!r}): growth ran, so this is not "
            "a first-update checkpoint (--manual_stop true)"
        )
    weights = _floats(path, "weights", obj.get("weights"), shapes)
    grads = _floats(path, "grads", obj.get("grads"), shapes)
    return FirstUpdate(before, after, weights, grads)


def import_first_update(
    path: Path,
    study: Path,
    *,
    settings: Mapping,
    run_id: str | None = None,
    overwrite: bool = False,
    taken: set | None = None,
    note: Callable[[str], None] = print,
) -> Path:
    """Convert one first-update checkpoint into a run of ``study`` (one update); returns the run directory.

    ``settings``: config keys (``--set``); ``criterion`` (the run's own, an fwa name) is required: the file
    holds the run's pruning but not its name. The update is at step ``update_period`` (``--set
    update_period=N``, the authors' ``--update_frequency``), or step 1 with a note when it is not given."""
    from fwanalysis.artifacts import run_id_for

    criterion = settings.get("criterion")
    if criterion is None:
        raise ValueError(
            "give the run's own criterion with --set criterion=NAME (an fwa name: magnitude, set, mest, "
            "rsensitivity, snip, random): a first-update checkpoint holds what it pruned but not by which rule"
        )
    rec = read_first_update(path)
    period = settings.get("update_period")
    step = period if isinstance(period, int) and not isinstance(period, bool) and period >= 1 else 1
    if step == 1 and period is None:
        note("note: no --set update_period=N: the first update is recorded at step 1 (the file does not say its step)")
    config = run_config(
        settings, rec.before, defaults={"method": "dst", "pruning_scope": "local"}, where="its masks_before", note=note
    )
    rid = claim_run_id(run_id or run_id_for(config), taken, path, sets="criterion=..., seed=...")
    layers = {n: b.shape for n, b in rec.before.items()}
    pruned = {n: rec.before[n] & ~rec.after[n] for n in layers}
    extra = {"imported_from": {"kind": "paper-code", "source": str(path), "first_update": True}}
    with new_run(study, config, layers, run_id=rid, total_steps=step, overwrite=overwrite, extra=extra) as w:
        w.write_masks(0, rec.before)
        if rec.weights is not None and rec.grads is not None:
            w.write_state(step, rec.weights, rec.grads, rec.before)
        w.write_update(
            step, pruned, {n: np.zeros(s, dtype=bool) for n, s in layers.items()}, shadow={criterion: pruned}
        )
        w.write_masks(step, rec.after)
    return w.path
