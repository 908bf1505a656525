"""What recording costs: ``fw-train run`` (defaults, Δt = 100) against a plain masked PyTorch loop of the same
model, data, steps and evaluations, in CPU seconds of each whole process, measured in the same run; and the
start-up of ``fw-train run`` (a run of one optimizer step). Targets (issue 23): ≤ 1.15× and ≤ 2 s of CPU.

The plain loop is what fwa adds nothing to: the same data (``load_dataset``), model (``build_model``), sparse
masks and SGD hyper-parameters as the run's resolved config, each step forward, backward, the gradients and
then the weights multiplied by the masks, and the same per-epoch validation and final test pass; no topology
update, nothing written. Its optimizer is torch's functional SGD (``trainer.optim.SGD``, as fwa's), so the
import of ``torch._dynamo`` that constructing a ``torch.optim.Optimizer`` costs is charged to neither side.
Both run as fresh processes with the same number of torch threads (``--threads``, default 1: on a shared
machine more threads spin while they wait and their CPU time is noise), repeated interleaved, best of each.

    python benchmarks/bench_recording.py [--model mlp-small] [--dataset digits] [--update-period 100]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_RATIO, TARGET_STARTUP = 1.15, 2.0


def plain_loop(model_name: str, dataset: str, epochs: int, batch_size: int, update_period: int) -> None:
    """Train ``model_name`` on ``dataset`` with fixed sparse masks as a plain PyTorch loop (run in its own process)."""
    import torch
    import torch.nn.functional as F

    from trainer import config as cfgmod
    from trainer.data import load_dataset
    from trainer.loop import evaluate, seed_everything
    from trainer.models import MODELS, build_model, masked_parameter_names
    from trainer.optim import SGD
    from trainer.sparsity.init import initial_masks, layer_densities

    cfg = cfgmod.TrainConfig(
        model=model_name, dataset=dataset, epochs=epochs, batch_size=batch_size, update_period=update_period
    )
    seed_everything(cfg.seed)
    data = load_dataset(dataset, seed=cfg.seed)
    X, y = data.train
    c = cfgmod.resolve(cfg, model_spec=MODELS[model_name], steps_per_epoch=-(-len(X) // batch_size))
    model = build_model(model_name, in_shape=data.in_shape, num_outputs=data.num_classes, dropout=0.0, width=1.0)
    params = dict(model.named_parameters())
    names = masked_parameter_names(model)
    shapes = {n: tuple(params[n].shape) for n in names}
    masks = initial_masks(shapes, layer_densities(shapes, c.density, method=c.init), generator=torch.Generator())
    with torch.no_grad():
        for n in names:
            params[n].mul_(masks[n])
    opt = SGD(model.parameters(), lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
    gen = torch.Generator().manual_seed(c.seed)
    for _ in range(c.epochs):
        for idx in torch.randperm(len(X), generator=gen).split(c.batch_size):
            loss = F.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=False)
            loss.backward()
            with torch.no_grad():
                for n in names:
                    params[n].grad.mul_(masks[n])
                opt.step()
                for n in names:
                    params[n].mul_(masks[n])
        evaluate(model, *data.val, binary=False, device=torch.device("cpu"))
    evaluate(model, *data.test, binary=False, device=torch.device("cpu"))


def warm_comparison(args) -> dict[str, float]:
    """CPU seconds of ``trainer.loop.train`` (recording as ``fw-train run`` does) and of :func:`plain_loop`, each
    the best of ``args.repeat`` runs alternating in this process, after one of each to warm up."""
    import time

    from trainer.config import TrainConfig
    from trainer.loop import train

    cfg = TrainConfig(
        model=args.model,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        update_period=args.update_period,
    )
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat + 1):
            for key, fn in (
                ("train", lambda i=i: train(cfg, out=f"{tmp}/{i}", progress=False)),
                (
                    "plain",
                    lambda: plain_loop(args.model, args.dataset, args.epochs, args.batch_size, args.update_period),
                ),
            ):
                t = time.process_time()
                fn()
                if i:
                    best[key] = min(best.get(key, float("inf")), time.process_time() - t)
    return best


def _cpu_of(cmd: list[str], env: dict) -> float:
    """CPU seconds (user + system) of the process ``cmd`` and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mlp-small")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--update-period", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=30, help="fw-train run's default")
    ap.add_argument("--batch-size", type=int, default=128, help="fw-train run's default")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of both processes")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved repeats; the best of each is reported")
    ap.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)  # the plain loop's own process
    ap.add_argument("--freeze-at-exit", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)  # train() and the loop in one process
    args = ap.parse_args(argv)
    if args.plain:
        plain_loop(args.model, args.dataset, args.epochs, args.batch_size, args.update_period)
        if args.freeze_at_exit:  # as fw-train ends (trainer/cli.py): no last collection over torch's objects
            import gc

            gc.freeze()
        return
    if args.warm:
        print(json.dumps(warm_comparison(args)))
        return
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(args.threads),
        "MKL_NUM_THREADS": str(args.threads),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    fw_train = [sys.executable, "-c", "from trainer.cli import main; main()"]
    common = ["--model", args.model, "--dataset", args.dataset, "--update-period", str(args.update_period)]
    plain = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--plain",
        "--model",
        args.model,
        "--dataset",
        args.dataset,
        "--update-period",
        str(args.update_period),
    ]
    sizes = ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    one_step = ["--epochs", "1", "--batch-size", "1000000"]  # one optimizer step: the whole training split
    best: dict[str, float] = {}
    run = [*fw_train, "run", *common, "--no-progress"]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):  # a new study each time: no run to look at or remove first
            runs = {
                "fw-train": [*run, *sizes, "--out", f"{tmp}/{i}"],
                "plain": [*plain, *sizes],
                "plain, frozen at exit": [*plain, *sizes, "--freeze-at-exit"],
                "fw-train 1 step": [*run, *one_step, "--out", f"{tmp}/{i}-1"],
                "plain 1 step": [*plain, *one_step],
                "import torch": [sys.executable, "-c", "import torch"],
            }
            for key, cmd in runs.items():
                best[key] = min(best.get(key, float("inf")), _cpu_of(cmd, env))
    ratio = best["fw-train"] / best["plain"]
    print(
        f"{args.model} on {args.dataset}, Δt {args.update_period}, {args.epochs} epochs of batch {args.batch_size}, "
        f"{args.threads} torch thread(s), CPU seconds of the whole process, best of {args.repeat}"
    )
    print(f"  fw-train run (default recording)   {best['fw-train']:6.2f} s")
    print(f"  plain masked PyTorch loop          {best['plain']:6.2f} s")
    met = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"  ratio                              {ratio:6.2f}×   (target ≤ {TARGET_RATIO}×: {met})")
    warm = json.loads(
        subprocess.run(
            [*plain[:2], "--warm", *plain[3:], *sizes, "--repeat", str(max(5, args.repeat))],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()[-1]
    )
    print(
        f"  warm, in one process (imports and exit left out): train() recording {warm['train']:.2f} s, "
        f"plain loop {warm['plain']:.2f} s: {warm['train'] / warm['plain']:.2f}×"
    )
    frozen = best["plain, frozen at exit"]
    print(
        f"  against the plain loop also ending as fw-train does (gc frozen at exit, {frozen:.2f} s): "
        f"{best['fw-train'] / frozen:.2f}×"
    )
    startup = best["fw-train 1 step"]
    met = "met" if startup <= TARGET_STARTUP else "NOT met"
    print(
        f"  start-up: fw-train run, 1 step     {startup:6.2f} s   (target ≤ {TARGET_STARTUP:g} s: {met}); "
        f"plain loop, 1 step {best['plain 1 step']:.2f} s; import torch alone {best['import torch']:.2f} s"
    )


if __name__ == "__main__":
    main()
