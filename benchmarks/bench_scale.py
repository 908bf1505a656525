"""Scale: fwa's commands on a large generated study, against a floor script run in the same bench (issue 23).

The floor reads and JSON-parses every run.json of the study (a plain Python process: start-up, a directory
listing, open, read, ``json.loads``); nothing that loads every run can do much less. Each command is timed
(CPU seconds of the child process, user + sys, and wall) with the study index warm, and once more right after
the index was deleted (it is rebuilt by that run). Ratios are to the floor's CPU seconds.

Targets at 70,000 runs (2 cores): warm, each command <= 3 s or <= 3x the floor; after deleting the index <= 30 s.

    python benchmarks/bench_scale.py --runs 7000 [--study /tmp/big7k] [--repeat 2]

``--study`` keeps the generated study (made by benchmarks/make_big_study.py when it holds fewer runs) for the
next time; without it a temporary study is generated and removed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FWA = [sys.executable, "-m", "fwanalysis.cli"]
INDEX = ".fwa-index.sqlite"
FLOOR = """
import json, os, sys
n = 0
with os.scandir(sys.argv[1]) as it:
    for e in it:
        try:
            with open(os.path.join(e.path, "run.json"), "rb") as f:
                json.loads(f.read())
            n += 1
        except (FileNotFoundError, NotADirectoryError):
            pass
print(n)
"""


def commands(study: str) -> list[tuple[str, list[str]]]:
    return [
        ("fwa ls --format csv", [*FWA, "ls", study, "--format", "csv"]),
        ("fwa ls (table, piped: plain text)", [*FWA, "ls", study]),
        ("fwa accuracy", [*FWA, "accuracy", study]),
        ("fwa cd-diagram --density-max 0.2", [*FWA, "cd-diagram", study, "--density-max", "0.2"]),
        ("fwa jaccard (one model)", [*FWA, "jaccard", study, "--sweep", "jaccard", "--model", "mlp-large"]),
    ]


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(CPU seconds of the child, wall seconds, stdout); exits if the command fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        print(f"failed: {' '.join(cmd)}\n{out.stderr}", file=sys.stderr)
        raise SystemExit(1)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall, out.stdout


def best(cmd: list[str], repeat: int) -> tuple[float, float, str]:
    runs = [timed(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[-1][2]


def ensure_study(study: Path, runs: int) -> None:
    have = sum(1 for e in os.scandir(study) if not e.name.startswith(".")) if study.is_dir() else 0
    if have < runs:
        print(f"generating a study of {runs} runs in {study} (benchmarks/make_big_study.py) ...", flush=True)
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "make_big_study.py"), str(study), "--runs", str(runs)],
            check=True,
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000, help="runs of the generated study (default 1000)")
    ap.add_argument("--study", type=Path, help="where the generated study is kept (default: a temporary folder)")
    ap.add_argument("--repeat", type=int, default=2, help="best of this many timings of each warm command")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fwa-scale-") as tmp:
        study = args.study or Path(tmp) / "study"
        ensure_study(study, args.runs)
        s = str(study)
        floor_cpu, floor_wall, n = best([sys.executable, "-c", FLOOR, s], args.repeat)
        print(
            f"study: {s}, {int(n)} runs; floor (read + json-parse every run.json): {floor_cpu:.2f} s CPU, "
            f"{floor_wall:.2f} s wall"
        )
        print(f"{'command':<36} {'index':<14} {'CPU s':>7} {'wall s':>7} {'x floor':>8}  target")
        for name, cmd in commands(s):
            index = study / INDEX
            if index.exists():
                index.unlink()
            cold_cpu, cold_wall, cold_out = timed(cmd)  # the first run after deleting the index (builds it)
            warm_cpu, warm_wall, warm_out = best(cmd, args.repeat)
            assert warm_out == cold_out, f"{name}: output differs with the index warm"
            ok = "ok" if warm_cpu <= 3 or warm_cpu <= 3 * floor_cpu else "MISSED"
            print(
                f"{name:<36} {'warm':<14} {warm_cpu:7.2f} {warm_wall:7.2f} {warm_cpu / floor_cpu:8.2f}  "
                f"<= 3 s or 3x floor: {ok}"
            )
            ok = "ok" if cold_cpu <= 30 else "MISSED"
            print(
                f"{'':<36} {'deleted first':<14} {cold_cpu:7.2f} {cold_wall:7.2f} {cold_cpu / floor_cpu:8.2f}  "
                f"<= 30 s: {ok}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
