"""Jaccard on ResNet-50-sized masks: packed popcount (fwa) vs the naive float32 computation.

5 criteria x 3 seeds, masks of ResNet-50's 54 conv/fc weights (25.5M weights). Two results:
the first-update Jaccard (sets removed at the first update) and the end-of-training Jaccard (final
masks plus the initial mask). The naive computation is what the paper's code does: float32 tensors,
per layer ``sum(a * b)`` and ``sum((a + b) > 0)``. Also times the whole ``fwa jaccard`` command on a
study written to disk, against the naive computation alone (inputs already in memory).

    python benchmarks/bench_jaccard.py [--density 0.2] [--rho 0.3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fwanalysis.artifacts import RunWriter, pack  # noqa: E402
from fwanalysis.stats.jaccard import jaccard_matrix  # noqa: E402

CRITS = ("magnitude", "set", "snip", "rsensitivity", "random")
SEEDS = (0, 1, 2)


def resnet50_shapes() -> dict[str, tuple[int, ...]]:
    """Weight shapes of ResNet-50's convolutions and classifier (torchvision layout): 25.5M weights."""
    shapes = {"conv1.weight": (64, 3, 7, 7)}
    inplanes = 64
    for li, (width, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=1):
        for b in range(blocks):
            p = f"layer{li}.{b}"
            shapes[f"{p}.conv1.weight"] = (width, inplanes, 1, 1)
            shapes[f"{p}.conv2.weight"] = (width, width, 3, 3)
            shapes[f"{p}.conv3.weight"] = (width * 4, width, 1, 1)
            if b == 0:
                shapes[f"{p}.downsample.0.weight"] = (width * 4, inplanes, 1, 1)
            inplanes = width * 4
    shapes["fc.weight"] = (1000, 2048)
    return shapes


def make_sets(shapes, density, rho, rng):
    """Per seed: initial mask, first-update removed sets per criterion, final masks per criterion (bool)."""
    data = {}
    for seed in SEEDS:
        init = {n: rng.random(s, dtype=np.float32) < density for n, s in shapes.items()}
        removed, final = {}, {}
        for c in CRITS:
            removed[c] = {n: m & (rng.random(m.shape, dtype=np.float32) < rho) for n, m in init.items()}
            final[c] = {n: rng.random(s, dtype=np.float32) < density for n, s in shapes.items()}
        data[seed] = (init, removed, final)
    return data


def naive_jaccard(sets_list) -> np.ndarray:
    """The naive computation: float32 tensors, per layer and pair, sum(a*b) / sum((a+b)>0), averaged over layers."""
    import torch

    k = len(sets_list)
    out = np.full((k, k), np.nan)
    names = list(sets_list[0])
    for i, j in itertools.combinations_with_replacement(range(k), 2):
        vals = []
        for n in names:
            a, b = sets_list[i][n], sets_list[j][n]
            inter = torch.sum(a * b)
            union = torch.sum((a + b) > 0)
            if union > 0:
                vals.append(float(inter / union))
        out[i, j] = out[j, i] = np.mean(vals) if vals else np.nan
    return out


def timed(fn, repeat=3):
    best = float("inf")
    res = None
    for _ in range(repeat):
        t = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t)
    return best, res


def write_study(root: Path, shapes, data):
    for seed, (init, removed, final) in data.items():
        for c in CRITS:
            cfg = {
                "model": "resnet50",
                "dataset": "synthetic",
                "method": "dst",
                "criterion": c,
                "growth": "random",
                "density": 0.2,
                "update_period": 100,
                "seed": seed,
            }
            w = RunWriter(root, cfg, shapes, total_steps=200)
            w.write_masks(0, init)
            empty = {n: np.zeros(s, bool) for n, s in shapes.items()}
            w.write_update(100, removed[c], empty, shadow={})
            w.write_masks(200, final[c])
            w.close("complete")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--density", type=float, default=0.2)
    ap.add_argument("--rho", type=float, default=0.3)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    shapes = resnet50_shapes()
    total = sum(int(np.prod(s)) for s in shapes.values())
    print(f"ResNet-50 masks: {len(shapes)} layers, {total:,} weights; {len(CRITS)} criteria x {len(SEEDS)} seeds")
    rng = np.random.default_rng(0)
    data = make_sets(shapes, args.density, args.rho, rng)

    packed = {
        s: (
            [{n: pack(m) for n, m in removed[c].items()} for c in CRITS],
            [{n: pack(m) for n, m in final[c].items()} for c in CRITS] + [{n: pack(m) for n, m in init.items()}],
        )
        for s, (init, removed, final) in data.items()
    }
    floats = {
        s: (
            [{n: torch.from_numpy(m.astype(np.float32)) for n, m in removed[c].items()} for c in CRITS],
            [{n: torch.from_numpy(m.astype(np.float32)) for n, m in final[c].items()} for c in CRITS]
            + [{n: torch.from_numpy(m.astype(np.float32)) for n, m in init.items()}],
        )
        for s, (init, removed, final) in data.items()
    }

    results = {}
    for which, idx in (("first-update", 0), ("end-of-training", 1)):
        t_fast, fast = timed(lambda idx=idx: [jaccard_matrix(packed[s][idx]) for s in SEEDS], args.repeat)
        t_naive, naive = timed(lambda idx=idx: [naive_jaccard(floats[s][idx]) for s in SEEDS], args.repeat)
        for f, n in zip(fast, naive):
            np.testing.assert_allclose(f, n, rtol=1e-6, atol=1e-9)
        results[which] = (t_fast, t_naive)
        print(
            f"{which:>16}: fwa packed popcount {t_fast * 1e3:8.1f} ms | naive float32 {t_naive * 1e3:9.1f} ms | "
            f"speed-up {t_naive / t_fast:6.1f}x (target >= 30x)"
        )

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        write_study(Path(d), shapes, data)
        written = time.perf_counter() - t
        size = sum(f.stat().st_size for f in Path(d).rglob("*") if f.is_file())
        print(f"wrote the study (15 runs) in {written:.1f} s; on disk {size / 1e6:.1f} MB")
        fwa = [sys.executable, "-m", "fwanalysis.cli"]
        for at, which in (("first", "first-update"), ("end", "end-of-training")):
            walls = []
            for _ in range(args.repeat):  # best of N, as for the naive baseline
                t = time.perf_counter()
                out = subprocess.run(
                    fwa + ["jaccard", "--at", at, d, "--format", "json"], capture_output=True, text=True, cwd=ROOT
                )
                walls.append(time.perf_counter() - t)
                if out.returncode != 0:
                    print(out.stderr)
                    raise SystemExit(1)
            wall = min(walls)
            doc = json.loads(out.stdout)
            naive = results[which][1]
            print(
                f"{'fwa jaccard --at ' + at:>24}: whole command {wall:6.2f} s (best of {args.repeat}; process start, "
                f"reading, computing) vs naive computation alone {naive:6.2f} s -> "
                f"{'faster' if wall < naive else 'SLOWER'} ({naive / wall:.1f}x)"
            )
            assert len(doc["criteria"]) >= 5


if __name__ == "__main__":
    main()
