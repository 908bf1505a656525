"""Wall time of the quick `make reports` from nothing (trains the whole quick study, then renders every
figure) and of a re-render from existing artifacts (`make report`), and checks the re-render changes
no byte.

    python benchmarks/bench_reports.py [--study DIR] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def make(*targets: str, study: Path, reports: Path) -> float:
    t = time.perf_counter()
    subprocess.run(
        ["make", *targets, f"STUDY={study}", f"REPORTS={reports}"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, default=None, help="study directory (default: a fresh temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary study")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="fwa-bench-"))
    study = args.study or tmp / "quick"
    try:
        full = make("reports", study=study, reports=tmp / "r1")
        what = (
            "quick study from nothing: train + render"
            if args.study is None
            else f"study {study}: train what is missing + render"
        )
        print(f"make reports ({what}): {full:8.1f} s  ({full / 60:.1f} min; target <= 15 min on 2 cores)")
        again = make("report", study=study, reports=tmp / "r2")
        print(f"make report  (re-render from existing artifacts):      {again:8.1f} s")
        same = digest(tmp / "r1") == digest(tmp / "r2")
        print(f"re-render byte-identical: {same} ({len(digest(tmp / 'r1'))} files)")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    sys.exit(main())
