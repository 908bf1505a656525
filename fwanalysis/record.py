"""Record a run in format v1 from any PyTorch training loop: :class:`Recorder`.

A few lines turn a loop that prunes and regrows weights (with ``torch.nn.utils.prune`` or its own
boolean masks) into a run every ``fwa`` command reads::

    from fwanalysis.record import Recorder

    with Recorder(model, "artifacts/mine", criterion="magnitude", growth="random", seed=0,
                  steps_per_epoch=len(loader), shadow="all") as rec:      # masks found from prune's buffers
        for step in range(1, total_steps + 1):
            loss = train_step()                                           # forward, backward, optimizer step
            if step % 100 == 0:
                with rec.update(step):                                    # sees the state before ...
                    prune_and_regrow(model)                               # ... and records what changed
            rec.step(step)                                                # any other mask change, snapshots
            rec.log(step, "train", "loss", loss)
    # leaving the block writes the final mask and marks the run complete (failed on an exception)

What is recorded (docs/format.md): the masks at step 0 (when the Recorder is made), every
``mask_every`` updates and at :meth:`Recorder.close`; one update file per step at which the masks
changed, with ``pruned`` = active before and not after and ``grown`` = active after and not before
(the net change: a weight removed and regrown at the same update is in neither); with ``shadow``, the
set each chosen built-in criterion would have removed from the weights and gradients seen by
:meth:`Recorder.before_update`, with as many weights per layer as the loop removed; the metrics rows
``density``, ``prune_fraction`` and ``itop`` at every update and ``itop`` at the end.

A loop may start dense (iterative pruning, ``method="imp"``; pruning at initialisation, ``method="pai"``, inside
``with rec.update(0):``): with no masks yet, every weight matrix is recorded (``layers=`` picks others), a layer
without a mask is all ones until prune gives it one, and ``config.density`` of such a run is measured from the
masks last seen, never taken from another setting. An update at step 0 makes the step-0 snapshot again, after it.

This is the one module of fwanalysis written for PyTorch loops, and nothing else of the package imports
it. It imports torch only inside the functions that need it: it calls the methods of the model and of the
mask tensors it is given (``named_parameters``, ``named_buffers``, ``clone``, ``detach``), so importing it
(and the analysis) needs no torch. It never imports the trainer either (fwanalysis never does): the shadow
sets are chosen by :func:`shadow_sets` with the trainer's own selection rules
(:func:`fwanalysis.criteria.select.select_prune`, local scope) and, for ``random``, the generator the trainer
seeds for the same seed, step and criterion, so a shadow set here is the one ``fw-train`` would record.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping

import numpy as np

from fwanalysis.artifacts import RunWriter, as_bool
from fwanalysis.criteria.select import shadow_sets
from fwanalysis.vocab import CRITERIA, KINDS, LOOP_METHOD, PRUNING_LOOPS, SCORE_EPS, STATE_DUMPS, check_choice

__all__ = ["Recorder", "shadow_sets", "prune_masks", "EPS"]

EPS = SCORE_EPS
"""Added to the denominator of ``sensitivity`` and ``rsensitivity`` (as in the trainer)."""


# -- reading a model's masks --------------------------------------------------------------------------------
def prune_masks(model) -> dict[str, tuple[object, str]]:
    """The layers pruned with ``torch.nn.utils.prune``: parameter name -> (module, tensor name), in model order.

    A layer is a buffer ``<name>_mask`` next to a parameter ``<name>_orig`` in the same module. The
    buffer is looked up again at every read, since pruning a layer again replaces it.
    """
    params = {n for n, _ in model.named_parameters()}
    found = {}
    for full, _ in model.named_buffers():
        if not full.endswith("_mask") or f"{full[:-5]}_orig" not in params:
            continue
        module_name, _, attr = full[:-5].rpartition(".")
        found[full[:-5]] = (model.get_submodule(module_name) if module_name else model, attr)
    return found


def _dense_layers(model) -> list[str]:
    """The layers a model that has no masks yet is recorded with: its parameters of two or more dimensions (the
    weights of linear and convolution layers, what pruning loops prune), in model order."""
    return [n for n, p in model.named_parameters() if len(tuple(p.shape)) >= 2]


def _numpy(x) -> np.ndarray:
    """A numpy copy of a tensor (any device) or array."""
    if hasattr(x, "detach"):
        x = x.detach()
        if getattr(x, "dtype", None) is not None and str(x.dtype) in ("torch.bfloat16", "torch.float16"):
            x = x.float()
        return x.cpu().numpy().copy()
    return np.array(x, copy=True)


def _bool(x) -> np.ndarray:
    """A boolean numpy copy of a mask: any tensor dtype (bfloat16, float8, quantized, sparse) or array, nonzero is
    True."""
    return np.array(as_bool(x), dtype=bool, copy=True)


def _copy(x):
    """A copy of a mask that stays where it is (a tensor on its device, or an array); None (no mask) stays None."""
    if x is None:
        return None
    return x.detach().clone() if hasattr(x, "detach") else np.array(x, dtype=bool, copy=True)


def _same(a, b) -> bool:
    """Whether two masks of one layer hold the same values (compared on their device); None is all ones."""
    if a is None or b is None:
        return a is b or not bool(((b if a is None else a) == 0).any())
    return not bool((a != b).any())


class Recorder:
    """Writes a run in format v1 (docs/format.md) from a PyTorch training loop, one call per step.

    Parameters
    ----------
    model:
        The ``torch.nn.Module`` being trained (read, never changed).
    out:
        The study directory; the run is written to ``<out>/<run_id>``.
    masks:
        Parameter name -> boolean mask tensor (True = active), read again at every call, so the loop may
        change the tensors in place or replace the dict's entries. Default: the masks of
        ``torch.nn.utils.prune`` (buffers ``<name>_mask`` of parameters ``<name>_orig``).
    layers:
        The parameters to record. Default: the keys of ``masks``; else the layers prune has masked; else (a
        dense start: no masks yet) every parameter of two or more dimensions. A layer without a mask counts
        as dense (all ones) until one appears; a mask that goes away (``prune.remove``) leaves its last.
        With the default, a mask of prune on a layer not recorded fails the run at the next update.
    model_name, dataset, method, criterion, growth, density, update_period, seed:
        Config fields of the run (docs/format.md, "config"). ``model_name`` defaults to the model's
        class name in lower case, ``method`` to ``dst`` (which needs ``criterion``: a built-in name or any
        ``[a-z0-9_-]+`` name; ``imp`` and ``pai`` start dense or prune at step 0, and are written as
        ``config.method`` ``dst`` and ``static`` with ``config.pruning_loop`` ``imp`` and ``pai``), ``density``
        to the density of the masks at step 0, for ``imp`` and ``pai`` of the last masks seen; the others to null.
    shadow:
        Built-in criteria whose would-be pruned sets go into every update: ``"all"``, ``"none"`` or a
        list. Each update then needs :meth:`before_update` (or ``with rec.update(step):``).
    mask_every:
        Write a mask snapshot every this many updates (0: only at step 0 and at the end).
    state:
        ``none``, ``first`` or ``all``: also write the weights, gradients and mask seen by
        :meth:`before_update` before the first or every update.
    steps_per_epoch:
        Optimizer steps per epoch, to fill the ``epoch`` column of metrics (NaN without it unless
        :meth:`log` is given ``epoch``).
    run_id:
        The run's id; default: ``<dataset>-<model>-<method>-...-<hash of the config>`` (docs/artifacts.md).
    exist:
        What to do with a run of the same id already there: ``overwrite`` (default: rerunning the loop
        replaces the run), ``resume-incomplete`` (replace it unless it is complete) or ``error``.
    **config:
        Any other config field (``epochs``, ``batch_size``, ``lr``, ``prune_fraction``, ...) or extra key.
    """

    def __init__(
        self,
        model,
        out,
        *,
        masks: Mapping | None = None,
        layers: Iterable[str] | None = None,
        model_name: str | None = None,
        dataset: str | None = None,
        method: str = "dst",
        criterion: str | None = None,
        growth: str | None = None,
        density: float | None = None,
        update_period: int | None = None,
        seed: int | None = None,
        shadow: str | Iterable[str] = "none",
        mask_every: int = 0,
        state: str = "none",
        steps_per_epoch: float | None = None,
        run_id: str | None = None,
        exist: str = "overwrite",
        **config,
    ):
        check_choice(state, STATE_DUMPS, what="state")
        check_choice(method, KINDS, what="method")
        if method == "dst" and criterion is None:
            raise ValueError(
                "a dst run needs criterion=: a built-in name ("
                + ", ".join(CRITERIA)
                + ") or any name of lowercase letters, digits, '-' and '_'"
            )
        if isinstance(shadow, str):
            shadow = {"all": list(CRITERIA), "none": []}.get(
                shadow, [s.strip() for s in shadow.split(",") if s.strip()]
            )
        bad = [c for c in shadow if c not in CRITERIA]
        if bad:
            raise ValueError(f"shadow {', '.join(map(repr, bad))}: not one of: {', '.join(CRITERIA)} (or all, none)")
        if int(mask_every) < 0:
            raise ValueError(f"mask_every must be >= 0, got {mask_every!r}")
        self.model = model
        self.shadow = [c for c in CRITERIA if c in shadow]
        self.mask_every = int(mask_every)
        self.state = state
        self.steps_per_epoch = steps_per_epoch
        order = {n: i for i, (n, _) in enumerate(model.named_parameters())}
        self._masks, self._auto = masks, layers is None and masks is None
        if masks is not None:
            unknown = [n for n in masks if n not in order]
            if unknown:
                raise ValueError(f"masks name parameters the model does not have: {unknown}")
        if layers is None:  # the dict's layers, prune's, or (no masks yet: a dense start) every weight matrix
            layers = list(masks) if masks is not None else list(prune_masks(model)) or _dense_layers(model)
            if not layers:
                raise ValueError("the model has no masks and no parameter of two or more dimensions: pass layers=")
        unknown = [n for n in layers if n not in order and f"{n}_orig" not in order]
        if unknown:
            raise ValueError(f"layers name parameters the model does not have: {unknown}")
        self._names = sorted(dict.fromkeys(layers), key=lambda n: order.get(n, order.get(f"{n}_orig", len(order))))
        self._where = {}  # layer -> (module, tensor name), where prune keeps <name>_orig and <name>_mask
        for n in self._names:
            module, _, attr = n.rpartition(".")
            self._where[n] = (model.get_submodule(module) if module else model, attr)
        self._shape = {n: tuple(self._param(n).shape) for n in self._names}
        self._last: dict = {}
        current = self._read_masks()
        total = sum(math.prod(self._shape[n]) for n in self._names)
        active = sum(self._count(n, current[n]) for n in self._names)
        #: where config.density comes from when not given: the masks at step 0, or (imp, pai) the last masks
        self._density_from = None if density is not None else "last" if method in PRUNING_LOOPS else "initial"
        cfg = {
            "model": model_name or type(model).__name__.lower(),
            "dataset": dataset,
            "method": LOOP_METHOD.get(method, method),  # a pruning loop is written as the format's method ...
            **({"pruning_loop": method} if method in PRUNING_LOOPS else {}),  # ... plus the loop (docs/format.md)
            "criterion": criterion,
            "growth": growth,
            "density": active / max(total, 1) if self._density_from == "initial" else density,
            "update_period": update_period,
            "seed": seed,
            **config,
        }
        self._mest_lambda = float((cfg.get("criterion_params") or {}).get("mest_lambda", 1.0))
        self.writer = RunWriter(out, cfg, self._shape, run_id=run_id, total_steps=0, exist=exist)
        self.run_id, self.path = self.writer.run_id, self.writer.path
        self._total = total
        self._active = active
        self._last = {n: _copy(current[n]) for n in self._names}
        self._ever = self._bools(current)  # ITOP: every weight ever active
        self._step = 0
        self._updates = 0
        self._pending: tuple[int, dict, dict, dict] | None = None
        self.writer.write_masks(0, self._bools(current))
        self._snapshot_at = 0

    # -- reading the loop's state ------------------------------------------------------------------------
    def _read_masks(self) -> dict:
        """The masks as the loop holds them now, each checked to have its parameter's shape (a mask of another
        shape, even of the same size, would record the wrong weights). A layer without a mask is None (all ones)
        until it has had one; one whose mask went away (``prune.remove``) keeps its last."""
        if self._masks is not None:
            given = dict(self._masks)
            masks = {n: given.get(n) for n in self._names}
        else:
            masks = {}
            for n, (module, attr) in self._where.items():
                masks[n] = getattr(module, f"{attr}_mask", None) if hasattr(module, f"{attr}_orig") else None
        for name, mask in masks.items():
            if mask is None:
                masks[name] = self._last.get(name)
                continue
            want = self._shape[name]
            got = tuple(getattr(mask, "shape", np.shape(mask)))
            if got != want:
                raise ValueError(f"the mask of {name!r} has shape {list(got)}, its parameter {list(want)}")
        return masks

    def _bools(self, masks: Mapping, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Boolean numpy copies of masks (of ``names``, default all layers), a layer without a mask (None) all ones."""
        names = self._names if names is None else names
        return {n: np.ones(self._shape[n], bool) if masks[n] is None else _bool(masks[n]) for n in names}

    def _count(self, name: str, mask) -> int:
        return math.prod(self._shape[name]) if mask is None else int(mask.sum())

    def _param(self, name: str):
        """The layer's weights: prune's ``<name>_orig`` where the layer is pruned, else the parameter itself."""
        module, attr = self._where[name]
        orig = getattr(module, f"{attr}_orig", None)
        return orig if orig is not None else getattr(module, attr)

    def _unrecorded(self) -> None:
        """Fail if the loop pruned a layer the Recorder chose not to record (only when it chose the layers)."""
        extra = [n for n in prune_masks(self.model) if n not in self._where] if self._auto else []
        if extra:
            raise ValueError(
                f"the loop pruned {extra}, which the Recorder does not record (it chose its {len(self._names)} layers "
                "when it was made): pass layers= naming every layer the loop prunes"
            )

    def _check_step(self, step: int) -> int:
        if isinstance(step, bool) or int(step) != step or step < self._step:
            raise ValueError(f"step {step!r}: steps are integers that never decrease (last step {self._step})")
        return int(step)

    # -- the loop's calls ---------------------------------------------------------------------------------
    def before_update(self, step: int) -> None:
        """Keep the weights, gradients and masks as they are now, just before the loop changes the masks at ``step``.

        The shadow sets of the update recorded at ``step`` are chosen from them (and the ``state``
        dump written). Call it after the backward pass whose gradient should score the weights.
        """
        step = self._check_step(step)
        masks = self._bools(self._read_masks())
        weights, grads = {}, {}
        for n in self._names:
            p = self._param(n)
            weights[n] = _numpy(p)
            grads[n] = _numpy(p.grad) if getattr(p, "grad", None) is not None else None
        self._pending = (step, masks, weights, grads)
        if self.state == "all" or (
            self.state == "first" and not self._updates and not self.writer.manifest["state_steps"]
        ):
            missing = [n for n in self._names if grads[n] is None]
            if missing:
                raise ValueError(
                    f"state dumps need gradients; layers {missing} have none (call before_update after backward)"
                )
            self.writer.write_state(step, weights, grads, masks)

    @contextlib.contextmanager
    def update(self, step: int):
        """``with rec.update(step): <change the masks>``: :meth:`before_update`, then :meth:`step` on leaving."""
        self.before_update(step)
        yield self
        self.step(step)

    def step(self, step: int) -> bool:
        """Call once per optimizer step (after any mask change of that step); records the masks' change since the
        last call.

        Returns whether an update was recorded. With ``shadow`` criteria, a change needs
        :meth:`before_update` at the same step first.
        """
        step = self._check_step(step)
        current = self._read_masks()
        changed = [n for n in self._names if not _same(current[n], self._last[n])]
        self._step = step
        if not changed:
            return False
        if step in self.writer.manifest["update_steps"]:
            raise ValueError(f"step {step}: the masks changed again after the update recorded at this step")
        pending, self._pending = self._pending, None
        self._unrecorded()
        before = self._bools(self._last)
        after = {**before, **self._bools(current, changed)}
        pruned = {n: before[n] & ~after[n] for n in self._names}
        grown = {n: after[n] & ~before[n] for n in self._names}
        shadow = {}
        if self.shadow:
            if pending is None or pending[0] != step:
                raise ValueError(
                    f"step {step}: the masks changed but before_update({step}) was not called first; "
                    "with shadow criteria wrap the change in `with rec.update(step):`"
                )
            _, seen, weights, grads = pending
            moved = [n for n in self._names if not np.array_equal(seen[n], before[n])]
            if moved:
                raise ValueError(
                    f"step {step}: the masks of {moved} changed between the last step() and before_update({step})"
                )
            counts = {n: int(pruned[n].sum()) for n in self._names}
            own = self.writer.config.get("criterion")
            seed = int(self.writer.config.get("seed") or 0)
            others = [c for c in self.shadow if c != own]
            shadow = shadow_sets(
                others, weights, grads, before, counts, mest_lambda=self._mest_lambda, seed=seed, step=step
            )
            if own in self.shadow:
                shadow[own] = pruned
            shadow = {c: shadow[c] for c in self.shadow}
        self.writer.write_update(step, pruned, grown, shadow)
        self._updates += 1
        n_before = sum(int(before[n].sum()) for n in self._names)
        n_after = sum(int(after[n].sum()) for n in self._names)
        for n in self._names:
            self._ever[n] |= after[n]
        self._metric(step, "", "prune_fraction", sum(int(p.sum()) for p in pruned.values()) / max(n_before, 1))
        self._metric(step, "", "density", n_after / max(self._total, 1))
        self._metric(step, "", "itop", self.itop())
        self._last = {n: _copy(current[n]) for n in self._names}
        self._active = n_after
        if self._density_from == "last" or (self._density_from == "initial" and step == 0):
            self._measured_density()
        # a snapshot is the masks after everything done at its step: the one made at step 0 is made again
        if step in self.writer.manifest["mask_steps"] or (self.mask_every and self._updates % self.mask_every == 0):
            self.writer.write_masks(step, after)
            self._snapshot_at = step
        return True

    def _measured_density(self) -> None:
        """config.density from the masks last seen (left null if they hold no active weight)."""
        self.writer.config["density"] = self._active / self._total if self._active and self._total else None

    def itop(self) -> float:
        """The ITOP ratio so far (Liu et al. 2021): weights ever active / weights of the masked layers."""
        return sum(int(e.sum()) for e in self._ever.values()) / max(self._total, 1)

    def _metric(self, step: int, split: str, name: str, value: float, epoch: float | None = None) -> None:
        if epoch is None:
            epoch = step / self.steps_per_epoch if self.steps_per_epoch else math.nan
        self.writer.log(step, epoch, split, name, value)

    def log(self, step: int, split: str, name: str, value: float, *, epoch: float | None = None) -> None:
        """One measurement: ``split`` is ``train``, ``val``, ``test`` or ``""``; ``name`` e.g. ``loss``, ``acc``.

        The last ``test``/``acc``, ``val``/``acc``, ... become the run's ``summary`` at :meth:`close`.
        ``epoch`` defaults to ``step / steps_per_epoch``.
        """
        if hasattr(value, "item"):
            value = value.item()
        self._metric(int(step), split, name, float(value), epoch)

    def close(self, status: str = "complete") -> None:
        """Write the final mask (the masks last seen by :meth:`step`), the metrics and run.json with ``status``."""
        if self.writer._closed:
            return
        if self._density_from == "last":
            self._measured_density()
        try:
            if status == "complete":
                self._unrecorded()
                self._metric(self._step, "", "itop", self.itop())
                if self._snapshot_at != self._step:
                    self.writer.write_masks(self._step, self._bools(self._last))
        except BaseException:
            self.writer.close("failed")
            raise
        self.writer.close(status, total_steps=self._step)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("complete" if exc_type is None else "failed")
