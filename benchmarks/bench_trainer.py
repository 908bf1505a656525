"""Trainer speed and recording cost on CPU: mlp-large and cnn-small on CIFAR-10-shaped data.

First, ``bench_recording.py``: ``fw-train run`` (mlp-small, Δt = 100) against a plain masked PyTorch loop
of the same model and steps, as a ratio of CPU seconds measured in this run, and its start-up CPU.

For each model: steps/s of dense training, of DST without recording (``record=False``), and of DST
recording everything (pruned, grown and all seven shadow sets at every update, masks at start and
end) at Δt = 100 and 800, with the recording overhead ratios; and bytes on disk per weight of one
mask snapshot and of one update file. Targets: overhead <= 10 % at Δt = 100; a mask snapshot <= 1 bit
(0.125 bytes) per weight.

The data are random images written in CIFAR-10's python pickle format (no download here), so the
shapes and the loader are the real ones; accuracy is meaningless. Each configuration trains the same
number of steps, repeated (interleaved) and reported best-of, since a 2-core machine is noisy; the time
includes the per-epoch validation pass, equal for every configuration.

    python benchmarks/bench_trainer.py [--steps 800] [--models mlp-large cnn-small] [--device cpu]
                                       [--no-recording-ratio]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fabricate_cifar10(root: Path, *, n_train: int = 6400, n_test: int = 1000, seed: int = 0) -> Path:
    """Random images in CIFAR-10's pickle layout (``cifar-10-batches-py``)."""
    rng = np.random.default_rng(seed)
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    per = n_train // 5
    for i in range(1, 6):
        batch = {
            b"data": rng.integers(0, 256, (per, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, per).tolist(),
        }
        (d / f"data_batch_{i}").write_bytes(pickle.dumps(batch))
    test = {
        b"data": rng.integers(0, 256, (n_test, 3072), dtype=np.uint8),
        b"labels": rng.integers(0, 10, n_test).tolist(),
    }
    (d / "test_batch").write_bytes(pickle.dumps(test))
    (d / "batches.meta").write_bytes(pickle.dumps({b"label_names": [str(i).encode() for i in range(10)]}))
    return root


def run(
    model: str, *, method: str, update_period: int, record: bool, steps: int, data_dir: Path, out: Path, device: str
) -> tuple[float, Path | None]:
    from trainer.config import TrainConfig
    from trainer.data import load_dataset
    from trainer.loop import train

    n = len(load_dataset("cifar10", data_dir=str(data_dir), seed=0).train[0])
    steps_per_epoch = -(-n // 128)
    epochs = max(1, round(steps / steps_per_epoch))
    cfg = TrainConfig(
        model=model,
        dataset="cifar10",
        method=method,
        criterion="magnitude" if method == "dst" else None,
        density=0.1 if method == "dst" else 1.0,
        update_period=update_period,
        epochs=epochs,
        batch_size=128,
    )
    t = time.perf_counter()
    path = train(
        cfg,
        out=out,
        device=device,
        shadow="all",
        data_dir=str(data_dir),
        progress=False,
        exist="overwrite",
        record=record,
    )
    wall = time.perf_counter() - t
    return epochs * steps_per_epoch / wall, path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--steps", type=int, default=820, help="optimizer steps per configuration (rounded to whole epochs)"
    )
    ap.add_argument(
        "--repeat", type=int, default=2, help="interleaved repeats; the best of each configuration is reported"
    )
    ap.add_argument("--models", nargs="+", default=["mlp-large", "cnn-small"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-recording-ratio", action="store_true", help="leave out bench_recording's comparison")
    args = ap.parse_args(argv)
    if not args.no_recording_ratio:
        import bench_recording

        print("== fw-train run against a plain masked PyTorch loop (bench_recording.py)")
        bench_recording.main([])
        print()
    import torch

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
        f"~{args.steps} steps per configuration"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = fabricate_cifar10(tmp / "data")
        for model in args.models:
            print(f"\n== {model}")
            run(
                model,
                method="dense",
                update_period=100,
                record=False,
                steps=60,
                data_dir=data,
                out=tmp / "o",
                device=args.device,
            )  # warm-up
            configs = [("dense", "dense", 100, False)] + [
                (f"dst{dt}{'rec' if rec else ''}", "dst", dt, rec) for dt in (100, 800) for rec in (False, True)
            ]
            best: dict[str, float] = {}
            paths: dict[str, Path] = {}
            for _ in range(args.repeat):  # interleaved repeats, best of each: robust to a busy moment
                for key, method, dt, rec in configs:
                    sps, path = run(
                        model,
                        method=method,
                        update_period=dt,
                        record=rec,
                        steps=args.steps,
                        data_dir=data,
                        out=tmp / key,
                        device=args.device,
                    )
                    best[key] = max(best.get(key, 0.0), sps)
                    paths[key] = path
            dense = best["dense"]
            print(f"  dense                              {dense:7.2f} steps/s")
            for dt in (100, 800):
                plain, rec = best[f"dst{dt}"], best[f"dst{dt}rec"]
                overhead = plain / rec - 1
                flag = (
                    ""
                    if dt != 100
                    else ("  (target <= 10%: met)" if overhead <= 0.10 else "  (target <= 10%: NOT met)")
                )
                print(f"  DST Δt={dt:<4} no recording         {plain:7.2f} steps/s   ({plain / dense:.2f} of dense)")
                print(
                    f"  DST Δt={dt:<4} full recording       {rec:7.2f} steps/s   overhead {overhead * 100:+.1f}%{flag}"
                )
                from fwanalysis.artifacts import load_run

                path = paths[f"dst{dt}rec"]
                r = load_run(path)
                total = sum(r.numel.values())
                mask_bytes = (path / "masks" / f"step-{r.mask_steps[-1]:08d}.npz").stat().st_size
                if r.update_steps:
                    upd_bytes = (path / "updates" / f"step-{r.update_steps[0]:08d}.npz").stat().st_size
                    upd = (
                        f"first update file {upd_bytes / total:.4f} bytes/weight "
                        f"({upd_bytes * 8 / total:.3f} bits; pruned+grown+7 shadow sets)"
                    )
                else:
                    upd = "no update in this many steps"
                print(
                    f"  disk Δt={dt:<4} mask snapshot {mask_bytes / total:.4f} bytes/weight "
                    f"({mask_bytes * 8 / total:.3f} bits, target <= 1 bit); {upd}"
                )


if __name__ == "__main__":
    main()
