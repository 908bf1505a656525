"""The DST training loop: one function, :func:`train`, that reads top to bottom.

    from trainer.config import TrainConfig
    from trainer.loop import train
    run_dir = train(TrainConfig(criterion="snip", density=0.2), out="artifacts/mine")

Order within a step (``update_order``, docs/trainer.md). ``sparselearning`` (default, the authors' code):
forward, backward, and the DENSE gradient goes to the optimizer (momentum buffers of inactive weights
accumulate it and are never reset); each criterion scores the weights on the side of the optimizer step
its row of the criterion table says (``fwanalysis.criteria``): magnitude, set, set-legacy and random after
the step and re-masking, mest, sensitivity, rsensitivity and snip before it (then the step follows with the
new mask). ``step-first``: gradients of inactive weights zeroed, optimizer step, re-mask, then
the update, which zeroes the momentum of pruned and regrown weights. Either way an update scores with
this step's minibatch gradient (or one on ``update_batch_size`` examples), prunes ρ_t of the active
weights by the criterion (``prune_rounding``: the count rounded up, as the authors' code does), regrows
as many (``growth_count binomial``: each inactive weight with probability k/n, as their random growth
does), and records the pruned, grown and shadow sets. A newly grown weight starts at zero; one regrown
at the update that pruned it keeps its value (``regrown_weights keep``, the authors' code) or starts at
zero too (``zero``, RigL's rule). The update itself is :func:`trainer.topology.update_topology`.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from fwanalysis.artifacts import RunWriter
from fwanalysis.criteria.rules import topology_generator
from fwanalysis.vocab import STATE_DUMPS

from . import config as cfgmod
from .augment import augment_batch
from .data import DATASETS, DatasetError, load_dataset
from .models import MODELS, build_model, channels_last, masked_parameter_names
from .optim import SGD, MultiStepLR
from .sparsity.init import initial_masks, layer_densities
from .sparsity.schedules import prune_fraction
from .topology import update_topology

__all__ = ["train", "check_args", "check_device", "topology_generator", "seed_everything"]

FLUSH_SECONDS = (
    30.0  # a running run's metrics and run.json are written at the end of the first epoch this long after the last time
)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch; ask torch for deterministic algorithms."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    deterministic_algorithms()
    torch.backends.cudnn.benchmark = False


def deterministic_algorithms() -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)`` without importing torch's compiler stack.

    The public function first imports ``torch._inductor`` to set its ``config.deterministic``: about 3 s of
    CPU in every new process, half of a sweep worker's start-up. fwa never compiles, so only the flag the
    eager kernels read is set, unless ``torch._inductor`` is loaded already (something in this process
    compiles) or this torch has no such flag: then the public call.
    """
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None or "torch._inductor" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        setter(True, warn_only=True)


def check_device(device: str) -> torch.device:
    """``device`` as a ``torch.device`` this machine can train on, or :class:`~trainer.config.ConfigError`."""
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise cfgmod.ConfigError(f"--device {device!r} is not a torch device (e.g. cpu, cuda, cuda:1, mps)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise cfgmod.ConfigError(
                f"--device {device}: CUDA is not available on this machine (torch {torch.__version__})"
            )
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            raise cfgmod.ConfigError(f"--device {device}: this machine has {n} CUDA device(s), cuda:0 to cuda:{n - 1}")
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise cfgmod.ConfigError(
                f"--device {device}: MPS is not available on this machine (torch {torch.__version__})"
            )
    elif dev.type == "meta":
        raise cfgmod.ConfigError(f"--device {device}: the meta device holds no data; use cpu, cuda or mps")
    elif dev.type != "cpu":
        try:
            torch.empty(1, device=dev)
        except Exception as e:  # an unusual backend: whatever torch says, on one line
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise cfgmod.ConfigError(f"--device {device}: {first}") from None
    return dev


def check_args(
    cfg: cfgmod.TrainConfig,
    *,
    device: str = "cpu",
    shadow: str | list[str] = "all",
    state: str = "none",
    mask_every: int = 0,
) -> tuple[torch.device, list[str]]:
    """Every check of a run that needs no data: the config (:func:`trainer.config.check`), the model and
    data set registries, the device and the recording options. Raises
    :class:`~trainer.config.ConfigError` with a one-line message; returns the device and the shadow criteria.
    """
    if cfg.model not in MODELS:
        raise cfgmod.ConfigError(f"--model {cfg.model!r} is not one of: {', '.join(MODELS)}")
    if cfg.dataset not in DATASETS:
        raise cfgmod.ConfigError(f"--dataset {cfg.dataset!r} is not one of: {', '.join(DATASETS)}")
    cfgmod.check(cfg)
    if state not in STATE_DUMPS:
        raise cfgmod.ConfigError(f"--state {state!r} is not one of: {', '.join(STATE_DUMPS)}")
    if not isinstance(mask_every, int) or isinstance(mask_every, bool) or mask_every < 0:
        raise cfgmod.ConfigError(
            f"--mask-every {mask_every!r} must be an integer >= 0 (0: no snapshots between the first and last)"
        )
    shadows = cfgmod.parse_shadow(shadow)
    return check_device(device), shadows


def _batches(n: int, batch_size: int, gen: torch.Generator):
    perm = torch.randperm(n, generator=gen)
    for i in range(0, n, batch_size):
        yield perm[i : i + batch_size]


def _loss_and_correct(out: torch.Tensor, y: torch.Tensor, binary: bool):
    if binary:
        logit = out.reshape(-1)
        loss = F.binary_cross_entropy_with_logits(logit, y.float())
        correct = ((logit > 0).long() == y).sum()
    else:
        loss = F.cross_entropy(out, y)
        correct = (out.argmax(1) == y).sum()
    return loss, correct


@torch.no_grad()
def evaluate(model, X, y, *, binary: bool, device, batch_size: int = 1024) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``(X, y)``."""
    model.eval()
    total_loss, total_correct = 0.0, 0
    for i in range(0, len(X), batch_size):
        xb, yb = X[i : i + batch_size].to(device), y[i : i + batch_size].to(device)
        loss, correct = _loss_and_correct(model(xb), yb, binary)
        total_loss += float(loss) * len(xb)
        total_correct += int(correct)
    model.train()
    return total_loss / max(len(X), 1), total_correct / max(len(X), 1)


def train(
    cfg: cfgmod.TrainConfig,
    *,
    out: str | os.PathLike = "artifacts",
    device: str = "cpu",
    shadow: str | list[str] = "all",
    state: str = "none",
    mask_every: int = 0,
    data_dir: str | None = None,
    progress: bool = True,
    run_id: str | None = None,
    exist: str = "resume-incomplete",
    record: bool = True,
) -> Path | None:
    """Train one run and write it (docs/format.md) under ``out``; return the run directory.

    ``shadow``: criteria whose would-be pruned sets are recorded at every update (``all``, ``none`` or
    a list); ``state``: dump weights/gradients before the ``first`` or ``all`` updates; ``mask_every``:
    a mask snapshot every K updates (besides step 0 and the last step); ``record=False`` trains
    without writing anything (benchmarks).
    """
    device, shadows = check_args(cfg, device=device, shadow=shadow, state=state, mask_every=mask_every)
    seed_everything(cfg.seed)

    # -- data, model, config ----------------------------------------------------------------------
    try:
        data = load_dataset(cfg.dataset, data_dir=data_dir, seed=cfg.seed)
    except OSError as e:  # e.g. a folder on the search path that cannot be listed: a data problem, not a write problem
        where = e.filename if e.filename is not None else (data_dir or cfg.dataset)
        raise DatasetError(where, e.strerror or e) from None
    binary = data.task == "binary"
    Xtr, ytr = data.train
    steps_per_epoch = math.ceil(len(Xtr) / cfg.batch_size)
    c = cfgmod.resolve(cfg, model_spec=MODELS[cfg.model], steps_per_epoch=steps_per_epoch)
    total_steps = c.epochs * steps_per_epoch
    shadows = shadows if c.method == "dst" and record else []  # shadow sets exist to be recorded
    if c.update_batch_size is not None and c.update_batch_size > len(Xtr):
        raise cfgmod.ConfigError(
            f"--update-batch-size {c.update_batch_size} is larger than the training split of {c.dataset} "
            f"({len(Xtr)} examples)"
        )
    once = cfgmod.measured_once(c)
    score_first = c.method == "dst" and cfgmod.scores_before_step(c)
    mask_grads = c.update_order != "sparselearning"  # the authors' optimizer sees the dense gradient
    # T of the ρ schedule: update_end, except when measured once (update_end is then the first update step,
    # and ρ_t is what a sparse run of the same config would use at that step)
    schedule_end = total_steps if once else c.update_end
    recipe = cfgmod.AUGMENT_RECIPES.get(c.dataset) if c.augment else None
    aug_gen = topology_generator(c.seed, 0, "augment") if recipe else None
    black = Xtr.amin(dim=(0, 2, 3)) if recipe and recipe["fill"] == "black" else None  # raw 0 in normalised units

    if len(MODELS[c.model].reference_input) == 3 and len(data.in_shape) != 3:
        mlps = ", ".join(name for name, spec in MODELS.items() if len(spec.reference_input) == 1)
        raise cfgmod.ConfigError(
            f"--model {c.model} takes images (channels, height, width); --dataset {c.dataset} has inputs "
            f"shaped {tuple(data.in_shape)}: train an MLP on it ({mlps})"
        )
    torch.manual_seed(c.seed)
    model = channels_last(
        build_model(
            c.model,
            in_shape=data.in_shape,
            num_outputs=1 if binary else data.num_classes,
            dropout=c.dropout,
            width=c.width,
        ).to(device)
    )
    params = dict(model.named_parameters())
    names = masked_parameter_names(model)
    shapes = {n: tuple(params[n].shape) for n in names}

    # -- sparse initialisation --------------------------------------------------------------------
    dens = layer_densities(shapes, c.density, method=c.init)
    masks = {
        n: m.to(device) for n, m in initial_masks(shapes, dens, generator=topology_generator(c.seed, 0, "init")).items()
    }
    with torch.no_grad():
        for n in names:
            params[n].mul_(masks[n])
    ever_active = {n: m.clone() for n, m in masks.items()}
    n_weights = sum(m.numel() for m in masks.values())

    opt = SGD(
        model.parameters(),
        lr=c.lr,
        momentum=c.momentum,
        weight_decay=c.weight_decay,
        nesterov=c.nesterov and c.momentum > 0,
    )
    sched = MultiStepLR(opt, milestones=c.lr_milestones, gamma=c.lr_gamma)
    data_gen = torch.Generator().manual_seed(c.seed)

    writer = (
        RunWriter(out, cfgmod.to_manifest_config(c), shapes, run_id=run_id, total_steps=total_steps, exist=exist)
        if record
        else None
    )
    ctx = writer if writer is not None else nullcontext()

    def log(step, epoch, split, name, value):
        if writer is not None:
            writer.log(step, epoch, split, name, value)

    from .progress import progress_bar

    bar = progress_bar(disable=not progress, transient=True)
    with ctx, bar:
        if writer is not None:
            writer.write_masks(0, masks)
        task = bar.add_task(writer.run_id if writer else c.model, total=total_steps, info="")
        step, n_updates = 0, 0
        last_flush = time.monotonic()
        for epoch in range(c.epochs):
            run_loss, run_correct, run_n = 0.0, 0, 0
            for idx in _batches(len(Xtr), c.batch_size, data_gen):
                xb, yb = Xtr[idx].to(device, non_blocking=True), ytr[idx].to(device, non_blocking=True)
                if recipe is not None:
                    xb = augment_batch(xb, recipe, generator=aug_gen, black=black)
                loss, correct = _loss_and_correct(model(xb), yb, binary)
                opt.zero_grad(set_to_none=False)
                loss.backward()
                step += 1
                is_update = c.method == "dst" and step % c.update_period == 0 and step <= c.update_end
                dense_grads = None
                if is_update:
                    if c.update_batch_size is None:
                        dense_grads = {n: params[n].grad.detach().clone() for n in names}
                    else:
                        dense_grads = _update_batch_grads(
                            c,
                            step,
                            model,
                            params,
                            names,
                            Xtr,
                            ytr,
                            idx,
                            xb,
                            binary=binary,
                            device=device,
                            recipe=recipe,
                            black=black,
                        )

                def update(step, dense_grads):
                    nonlocal masks, n_updates
                    rho_t = prune_fraction(
                        c.prune_schedule,
                        step,
                        rho=c.prune_fraction,
                        update_end=schedule_end,
                        end=c.prune_fraction_end or 0.0,
                        linear_every=c.prune_linear_every,
                    )
                    masks = update_topology(
                        c,
                        step,
                        rho_t,
                        params,
                        names,
                        masks,
                        dense_grads,
                        opt,
                        writer,
                        shadows,
                        dump_state=(state == "all" or (state == "first" and n_updates == 0)),
                        once=once,
                    )
                    n_updates += 1
                    return rho_t

                rho_t = None
                if is_update and score_first:  # score the weights of before this step, then step with the new mask
                    rho_t = update(step, dense_grads)
                with torch.no_grad():
                    if mask_grads:
                        for n in names:
                            params[n].grad.mul_(masks[n])
                    opt.step()
                    for n in names:
                        params[n].mul_(masks[n])
                if is_update and not score_first:
                    rho_t = update(step, dense_grads)
                loss_value = float(loss.detach())
                run_loss += loss_value * len(idx)
                run_correct += int(correct)
                run_n += len(idx)

                if is_update:
                    for n in names:
                        ever_active[n] |= masks[n]
                    density = sum(int(m.sum()) for m in masks.values()) / n_weights
                    itop = sum(int(m.sum()) for m in ever_active.values()) / n_weights
                    log(step, step / steps_per_epoch, "", "prune_fraction", rho_t)
                    log(step, step / steps_per_epoch, "", "density", density)
                    log(step, step / steps_per_epoch, "", "itop", itop)
                    if writer is not None and mask_every and n_updates % mask_every == 0 and step != total_steps:
                        writer.write_masks(step, masks)
                if progress:  # a hidden bar's update still costs a lock and the task's bookkeeping each step
                    bar.update(task, advance=1, info=f"epoch {epoch + 1}/{c.epochs} loss {loss_value:.3f}")

            sched.step()
            ep = epoch + 1
            log(step, ep, "train", "loss", run_loss / run_n)
            log(step, ep, "train", "acc", run_correct / run_n)
            log(step, ep, "", "lr", opt.param_groups[0]["lr"])
            vl, va = evaluate(model, *data.val, binary=binary, device=device)
            log(step, ep, "val", "loss", vl)
            log(step, ep, "val", "acc", va)
            if writer is not None and time.monotonic() - last_flush >= FLUSH_SECONDS:
                writer.flush()
                last_flush = time.monotonic()

        tl, ta = evaluate(model, *data.test, binary=binary, device=device)
        log(step, c.epochs, "test", "loss", tl)
        log(step, c.epochs, "test", "acc", ta)
        if c.method == "dst":
            log(step, c.epochs, "", "itop", sum(int(m.sum()) for m in ever_active.values()) / n_weights)
        if writer is not None:
            writer.write_masks(step, masks)
            writer.close("complete", total_steps=step)
    return writer.path if writer is not None else None


def _update_batch_grads(c, step, model, params, names, Xtr, ytr, idx, xb, *, binary, device, recipe, black):
    """Dense gradients of the masked weights on ``c.update_batch_size`` training examples, at the current weights.

    The batch is this step's minibatch (as trained on, augmented or not) followed by other training examples
    drawn uniformly without replacement by a generator of (seed, step, "update-batch"); a size below the
    minibatch's takes its first examples. Nothing of training changes: ``.grad`` is untouched
    (``torch.autograd.grad``), batch-norm buffers are restored and the torch RNG (dropout) is forked.
    """
    size = c.update_batch_size
    gen = topology_generator(c.seed, step, "update-batch")
    if size <= len(idx):
        x, y = xb[:size], ytr[idx[:size]].to(device)
    else:
        taken = torch.zeros(len(Xtr), dtype=torch.bool)
        taken[idx] = True
        rest = torch.nonzero(~taken).squeeze(1)
        extra = rest[torch.randperm(rest.numel(), generator=gen)[: size - len(idx)]]
        xe = Xtr[extra].to(device)
        if recipe is not None:
            xe = augment_batch(xe, recipe, generator=gen, black=black)
        x = torch.cat([xb, xe])
        y = torch.cat([ytr[idx], ytr[extra]]).to(device)
    buffers = {k: b.detach().clone() for k, b in model.named_buffers()}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        loss, _ = _loss_and_correct(model(x), y, binary)
        grads = torch.autograd.grad(loss, [params[n] for n in names])
    with torch.no_grad():
        for k, b in model.named_buffers():
            b.copy_(buffers[k])
    return {n: g.detach() for n, g in zip(names, grads)}
