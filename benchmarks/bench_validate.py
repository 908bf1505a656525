"""`fwa validate` per run against a floor that only reads and decompresses every file, and the whole command.

A study of ``--runs`` runs is written by ``benchmarks/make_big_study.py`` (fwa's own RunWriter) in a temporary
folder, or ``--study`` names one. Every file is read once first (a warm page cache), then, in this process and
in CPU time (robust on a busy machine):

* floor:    every file of every run read, every npz member inflated (zlib), metrics.parquet decoded by pyarrow;
* validate: ``Run.validate()`` of every run, one process (what each ``--jobs`` worker does per run);
* load:     ``find_runs`` (the walk and every run.json read and checked: done once, in the parent process);

and the whole ``fwa validate --jobs J --format csv`` command in a subprocess (wall and CPU of it and its workers),
on every run and on a quarter of them: the difference is the CPU each run costs, the rest a fixed cost (start-up,
the workers' imports). Wall time on a shared machine says little, so the time for 70,000 runs on J idle cores
(issue 23: at most 2 minutes on 2 cores) is projected from CPU time: the fixed cost, plus per run the workers'
part (``validate``) divided among the J processes and the rest (finding and loading the run, sending it to a
worker, its output line) counted as serial.

    python benchmarks/bench_validate.py [--runs 2000] [--study DIR] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fwanalysis.artifacts.find import find_runs  # noqa: E402
from fwanalysis.artifacts.reader import validate_runs  # noqa: E402

TARGET_RUNS, TARGET_WALL = 70_000, 120.0
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # a zip member's local header (30 bytes)


def inflate_npz(data: bytes) -> int:
    """Inflate every member of a zip held in ``data``, walking its local headers; the bytes they unpack to."""
    pos, out = 0, 0
    while data[pos : pos + 4] == b"PK\x03\x04":
        fields = _LOCAL.unpack_from(data, pos)
        method, name_len, extra_len = fields[4], fields[10], fields[11]
        pos += _LOCAL.size + name_len + extra_len
        if method == 0:  # stored: its size is in the header (fwa's writer never stores)
            size = fields[9]
            out, pos = out + size, pos + size
            continue
        d = zlib.decompressobj(-15)
        out += len(d.decompress(data[pos:]))
        pos = len(data) - len(d.unused_data)
    return out


def run_files(run_dir: Path) -> list[Path]:
    files = [run_dir / "run.json", run_dir / "metrics.parquet"]
    for sub in ("masks", "updates", "state"):
        if (run_dir / sub).is_dir():
            files.extend(sorted((run_dir / sub).iterdir()))
    return [f for f in files if f.is_file()]


def floor(files: list[Path]) -> None:
    """Read every file and decompress what is compressed: the least any check of every file must do."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        if f.suffix == ".npz":
            inflate_npz(data)
        elif f.suffix == ".parquet":
            pq.ParquetFile(pa.BufferReader(data), pre_buffer=False).read(use_threads=False)


def cpu(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def command(paths: list[Path], jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds (this child and its workers) of ``fwa validate PATHS --jobs J --format csv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "fwanalysis.cli", "validate", *map(str, paths), "--jobs", str(jobs), "--format", "csv"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"fwa validate failed ({out.returncode}): {out.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000, help="runs in the generated study (default 2000)")
    ap.add_argument("--study", type=Path, default=None, help="an existing study instead of a generated one")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="fwa validate --jobs (default 2)")
    args = ap.parse_args(argv)
    tmp = None
    study = args.study
    if study is None:
        tmp = Path(tempfile.mkdtemp(prefix="fwa-bench-validate-"))
        study = tmp / "study"
        make = ROOT / "benchmarks" / "make_big_study.py"
        if not make.exists():
            sys.exit(f"error: {make.relative_to(ROOT)} writes the study this benchmark reads; pass --study DIR instead")
        subprocess.run([sys.executable, str(make), str(study), "--runs", str(args.runs)], check=True)
    try:
        runs = find_runs(study, include_incomplete=True)
        files = [f for r in runs for f in run_files(r.path)]
        n = len(runs)
        floor(files)  # warm the page cache (and pyarrow's imports)
        t_floor = cpu(lambda: floor(files))
        t_load = cpu(lambda: find_runs(study, include_incomplete=True))
        bad = []
        t_val = cpu(lambda: bad.extend(p for p in validate_runs(runs, jobs=1) if p))
        if bad:
            sys.exit(f"{len(bad)} runs invalid, e.g. {bad[0][0]}")
        size = sum(f.stat().st_size for f in files)
        print(f"study: {n} runs, {len(files)} files, {size / 1e6:.1f} MB ({study})")
        ms = 1e3 / n
        print(f"floor (read + decompress every file): {t_floor * ms:6.2f} ms/run CPU")
        print(
            f"fwa validate, per run in one process:  {t_val * ms:6.2f} ms/run CPU = {t_val / t_floor:4.1f}x the floor"
        )
        print(f"load (find_runs, every run.json):     {t_load * ms:6.2f} ms/run CPU = {t_load / t_floor:4.1f}x floor")
        wall, total = command([study], args.jobs)
        quarter = [r.path for r in runs[: n // 4]]
        _, part = command(quarter, args.jobs)
        per_run = (total - part) / (n - len(quarter))
        fixed = max(total - per_run * n, 0.0)
        serial = max(per_run - t_val / n, 0.0)
        projected = fixed + TARGET_RUNS * (serial + t_val / n / args.jobs)
        print(
            f"fwa validate --jobs {args.jobs} --format csv (whole command): {wall:.1f} s wall, {total:.1f} s CPU "
            f"= {fixed:.1f} s fixed + {per_run * 1e3:.2f} ms/run ({len(quarter)} runs: {part:.1f} s CPU)"
        )
        print(
            f"{TARGET_RUNS:,} runs on {args.jobs} idle cores, projected: {projected:.0f} s wall = {fixed:.0f} s fixed "
            f"+ {TARGET_RUNS * serial:.0f} s serial + {TARGET_RUNS * t_val / n:.0f} s validating / {args.jobs} "
            f"(target <= {TARGET_WALL:.0f} s on 2 cores); at the measured wall rate: {wall * TARGET_RUNS / n:.0f} s"
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
