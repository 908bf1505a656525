"""What one run of the quick study costs, and where the time goes: start / data / train / record / write.

For every spec with a quick profile, a few of its runs per model (evenly spread over that model's runs, the
same ones every time) are trained here, in one process, twice: once as the sweep trains them and once with
``record=False``. CPU seconds (process time, robust on a busy machine) are split into

* data:   reading and normalising the data set (``load_dataset``);
* write:  the ``RunWriter`` calls (masks, update files, metrics, run.json, their fsyncs);
* record: the rest of what recording costs (shadow sets, mask copies): recorded run − unrecorded run − write;
* train:  the unrecorded run less data: model, steps, updates, evaluation;

and ``start`` is one worker's start-up, measured in a fresh interpreter: imports, the deterministic
set-up every run does and one optimizer step. The estimate per spec is the mean per run times its number
of runs; the total adds one start per worker per spec (``--jobs``), as ``make artifacts`` runs the specs one
after the other. A spec's runs differ most by model (a VGG-16 run costs a hundred MLP runs), so the mean is
taken per model and weighted by that model's number of runs.

    python benchmarks/bench_quick.py [--per-model 2] [--specs accuracy jaccard] [--jobs 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START = (  # imports, the deterministic set-up, and one optimizer step (torch.optim's would import torch._dynamo)
    "import time; t = time.process_time(); import torch, trainer.loop, trainer.sweep; "
    "trainer.loop.seed_everything(0); w = torch.zeros(3, requires_grad=True); w.sum().backward(); "
    "o = trainer.loop.SGD([w], lr=0.1, momentum=0.9, nesterov=True); o.step(); o.zero_grad(False); "
    "print(time.process_time() - t)"
)


def start_cost() -> float:
    """CPU seconds of a fresh interpreter importing the trainer and setting up determinism (best of 3)."""
    runs = [
        float(
            subprocess.run([sys.executable, "-c", START], capture_output=True, text=True, check=True, cwd=ROOT).stdout
        )
        for _ in range(3)
    ]
    return min(runs)


class Timed:
    """Accumulate the process time spent inside some functions, by wrapping them."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self._undo = []

    def wrap(self, owner, name: str, bucket: str) -> None:
        fn = getattr(owner, name)

        def timed(*args, **kwargs):
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[bucket] += time.process_time() - t

        setattr(owner, name, timed)
        self._undo.append((owner, name, fn))

    def undo(self) -> None:
        for owner, name, fn in reversed(self._undo):
            setattr(owner, name, fn)
        self._undo.clear()


def one_run(run, out: Path, *, record: bool) -> dict[str, float]:
    import trainer.loop as loop
    from fwanalysis.artifacts.writer import RunWriter
    from trainer.sweep.task import _train_one

    timer = Timed()
    timer.wrap(loop, "load_dataset", "data")
    for method in ("write_masks", "write_update", "write_state", "flush", "close", "__init__"):
        timer.wrap(RunWriter, method, "write")
    t = time.process_time()
    try:
        _train_one(run, out=str(out), exist="overwrite", record=record)
    finally:
        timer.undo()
    return {"total": time.process_time() - t, **timer.seconds}


def sample(runs: list, k: int) -> list:
    if len(runs) <= k:
        return runs
    return [runs[round(i * (len(runs) - 1) / (k - 1))] for i in range(k)] if k > 1 else runs[:1]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--per-model", type=int, default=2, help="runs timed per model of a spec (evenly spread over its runs)"
    )
    ap.add_argument("--specs", nargs="*", help="spec names (default: every spec with a quick profile)")
    ap.add_argument("--jobs", type=int, default=2, help="workers per sweep, for the start-up term of the total")
    args = ap.parse_args(argv)
    import torch

    from trainer.sweep import expand, load_spec

    torch.set_num_threads(1)  # as a sweep worker with --jobs equal to the cores
    start = start_cost()
    print(
        f"torch {torch.__version__}, 1 thread per run; start-up of a worker {start:.2f} s CPU "
        "(imports, deterministic set-up, one optimizer step)"
    )
    paths = sorted((ROOT / "specs").glob("*.toml"))
    if args.specs:
        paths = [p for p in paths if p.stem in args.specs]
    header = (
        f"{'spec':<14}{'runs':>6}{'timed':>6}{'data':>8}{'train':>8}{'record':>8}{'write':>8}{'s/run':>8}{'est. s':>9}"
    )
    print("\nCPU seconds per run (mean over the spec's runs, per model from the timed ones):\n" + header)
    grand, sweeps = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            spec = load_spec(path)
            if "quick" not in spec.profiles:
                continue
            runs = expand(spec, profile="quick", out=tmp)
            by_model = defaultdict(list)
            for run in runs:
                by_model[run.cfg.model].append(run)
            parts, timed = defaultdict(float), 0
            for model_runs in by_model.values():
                picked = sample(model_runs, args.per_model)
                timed += len(picked)
                weight = len(model_runs) / len(picked)  # each timed run stands for this many
                for run in picked:
                    rec = one_run(run, Path(tmp) / "rec", record=True)
                    bare = one_run(run, Path(tmp) / "bare", record=False)
                    parts["data"] += weight * bare.get("data", 0.0)
                    parts["train"] += weight * (bare["total"] - bare.get("data", 0.0))
                    parts["write"] += weight * rec.get("write", 0.0)
                    parts["record"] += weight * max(0.0, rec["total"] - bare["total"] - rec.get("write", 0.0))
            per = {k: v / len(runs) for k, v in parts.items()}
            per_run = sum(per.values())
            est = per_run * len(runs)
            grand += est
            sweeps += 1
            print(
                f"{spec.name:<14}{len(runs):>6}{timed:>6}{per['data']:>8.2f}{per['train']:>8.2f}{per['record']:>8.2f}"
                f"{per['write']:>8.2f}{per_run:>8.2f}{est:>9.0f}",
                flush=True,
            )
    total = grand + start * args.jobs  # make artifacts trains every spec in one sweep: one start per worker
    print(
        f"\nestimated training CPU of the quick study ({sweeps} specs, one sweep): {grand:.0f} s, plus start-up "
        f"{start * args.jobs:.0f} s ({args.jobs} workers) = {total:.0f} s; "
        f"on {args.jobs} cores about {total / args.jobs / 60:.1f} min wall"
    )


if __name__ == "__main__":
    main()
