"""`make bench`: every benchmark, printing its figures. `python benchmarks/run.py jaccard trainer reports`
runs a subset (default: all six)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = {
    "trainer": "bench_trainer.py",
    "layout": "bench_layout.py",
    "quick": "bench_quick.py",
    "jaccard": "bench_jaccard.py",
    "reports": "bench_reports.py",
    "validate": "bench_validate.py",
    "scale": "bench_scale.py",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    bad = [n for n in names if n not in BENCHES]
    if bad:
        print(f"error: unknown benchmark {', '.join(bad)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    for n in names:
        print(f"\n### {n} ({BENCHES[n]})", flush=True)
        rc = subprocess.run([sys.executable, str(HERE / BENCHES[n])]).returncode
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
