"""Generate a large study (default 70,000 runs) with fwa's own RunWriter, for the scale benchmark (issue 23).

Each run is what ``fw-train`` writes, made small: an MLP-like model of three masked layers (a few thousand
weights), the initial and final masks, a few topology updates, metrics of a few epochs and the summary. The
grid follows the paper's profiles: an accuracy sweep (5 criteria x 2 growth x 11 densities over 8 model-data
setups, no shadow sets) and a jaccard sweep (6 criteria, gradient growth, density 0.2, shadow sets of every
criterion at every update), seeds added until ``--runs`` runs are planned (about 1 run in 12 is a jaccard
run). Runs are written in parallel processes (``--jobs``, default all cores).

    python benchmarks/make_big_study.py /tmp/big --runs 7000
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
import zlib
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fwanalysis.artifacts import RunWriter  # noqa: E402

CRITERIA = ("magnitude", "set", "mest", "rsensitivity", "snip")
GROWTH = ("random", "gradient")
DENSITIES = (0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
# (model, dataset, input features, hidden widths, outputs): the paper's setups, shapes shrunk to MLP-like sizes
SETUPS = (
    ("mlp-small", "higgs", 28, (32, 32), 1),
    ("mlp-large", "cifar10", 48, (64, 32), 10),
    ("cnn-small", "cifar10", 36, (48, 24), 10),
    ("lenet5-caffe", "fashionmnist", 40, (40, 20), 10),
    ("resnet56", "cifar10", 32, (32, 32), 10),
    ("resnet56", "cifar100", 32, (32, 32), 100),
    ("vgg16", "cifar100", 40, (32, 32), 100),
    ("efficientnet-b0", "tinyimagenet", 48, (32, 24), 200),
)
JACCARD_SETUPS = SETUPS[1:3]
EPOCHS, STEPS_PER_EPOCH, UPDATE_PERIOD = 4, 50, 50
TOTAL_STEPS = EPOCHS * STEPS_PER_EPOCH


def _shapes(inp: int, hidden: tuple[int, ...], out: int) -> dict[str, tuple[int, int]]:
    sizes = (inp, *hidden, out)
    return {f"layers.{i}.weight": (sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)}


def plan(runs: int):
    """The first ``runs`` configs of the grid, seed by seed: (config, shapes, shadow criteria)."""
    out = []
    for seed in itertools.count():
        for setup in SETUPS:
            model, dataset, inp, hidden, nout = setup
            shapes = _shapes(inp, hidden, nout)
            base = {"model": model, "dataset": dataset, "method": "dst", "update_period": UPDATE_PERIOD}
            base |= {"epochs": EPOCHS, "batch_size": 128, "lr": 0.1, "seed": seed}
            for crit, growth, density in itertools.product(CRITERIA, GROWTH, DENSITIES):
                cfg = base | {"sweep": "accuracy", "criterion": crit, "growth": growth, "density": density}
                out.append((cfg, shapes, ()))
                if len(out) >= runs:
                    return out
            if setup in JACCARD_SETUPS:
                for crit in (*CRITERIA, "random"):
                    cfg = base | {"sweep": "jaccard", "criterion": crit, "growth": "gradient", "density": 0.2}
                    out.append((cfg, shapes, (*CRITERIA, "random")))
                    if len(out) >= runs:
                        return out
    return out


def write_run(study: str, item) -> None:
    cfg, shapes, shadow = item
    rng = np.random.default_rng(zlib.crc32(repr(sorted(cfg.items())).encode()))
    d = cfg["density"]
    masks = {n: rng.random(s) < d for n, s in shapes.items()}
    acc0 = 0.5 + 0.4 * d + 0.02 * CRITERIA.index(cfg["criterion"]) if cfg["criterion"] in CRITERIA else 0.6
    with RunWriter(study, cfg, shapes, total_steps=TOTAL_STEPS, exist="overwrite") as w:
        w.write_masks(0, masks)
        for step in range(UPDATE_PERIOD, TOTAL_STEPS, UPDATE_PERIOD):
            pruned = {n: m & (rng.random(m.shape) < 0.3) for n, m in masks.items()}
            grown = {n: ~m & (rng.random(m.shape) < 0.3 * d) for n, m in masks.items()}
            sets = {c: {n: m & (rng.random(m.shape) < 0.3) for n, m in masks.items()} for c in shadow}
            w.write_update(step, pruned, grown, shadow=sets)
            masks = {n: (m & ~pruned[n]) | grown[n] for n, m in masks.items()}
        w.write_masks(TOTAL_STEPS, masks)
        for epoch in range(1, EPOCHS + 1):
            step = epoch * STEPS_PER_EPOCH
            w.log(step, float(epoch), "train", "loss", float(2.0 / epoch + rng.random() * 0.1))
            w.log(step, float(epoch), "test", "loss", float(2.2 / epoch + rng.random() * 0.1))
            w.log(step, float(epoch), "test", "acc", float(min(acc0 * (1 - 0.3 / epoch) + rng.random() * 0.03, 1.0)))


def _no_fsync() -> None:
    """The generated study is a benchmark's scratch data: the writer's fsync calls (its durability, most of the
    wall time of writing small runs) are skipped in the generating processes only."""
    os.fsync = lambda fd: None


def _worker(args) -> int:
    study, items = args
    _no_fsync()
    for item in items:
        write_run(study, item)
    return len(items)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", type=Path, help="the study folder to write (made if missing)")
    ap.add_argument("--runs", type=int, default=70_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    args.study.mkdir(parents=True, exist_ok=True)
    items = plan(args.runs)
    chunks = [items[i : i + 200] for i in range(0, len(items), 200)]
    t0, done = time.perf_counter(), 0
    if args.jobs <= 1:
        for c in chunks:
            done += _worker((str(args.study), c))
    else:
        with get_context("fork").Pool(args.jobs) as pool:
            for n in pool.imap_unordered(_worker, [(str(args.study), c) for c in chunks]):
                done += n
    print(f"wrote {done} runs to {args.study} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
