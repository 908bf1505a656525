"""Wall time of the quick `make reports` from nothing (trains the whole quick study, then renders every
figure), then the re-render from existing artifacts (`fwa report`) at --jobs 1 and --jobs 2, wall and CPU
seconds, each checked to change no byte of the first rendering; and, in this process, the CPU of saving every
figure as the report saves it (figures.layout.figure_bytes) against matplotlib's tight savefig, the same bytes.

    python benchmarks/bench_reports.py [--study DIR] [--keep]
    python benchmarks/bench_reports.py --small     # the tests' figures study (tests/figstudy.py): no training

--small renders the miniature of every study of the quick profile that the tests build with RunWriter in a
few seconds (every figure of the registry that can be made here, ~570 runs with short metrics): the same
figures, fewer and shorter runs, so its times are lower than the quick study's and its ratios alike.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FWA = Path(sys.executable).parent / "fwa"


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


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


def rerender(study: Path, first: Path, out: Path, jobs: int, profile: str | None) -> tuple[float, float, bool]:
    """(wall s, CPU s of fwa and its processes, byte-identical to ``first``) of ``fwa report --jobs`` into a
    copy of the first rendering (its tables and record kept, as `make report` finds them)."""
    shutil.copytree(first, out)
    cmd = [str(FWA), "report", str(study), "--out", str(out), "--jobs", str(jobs), "--quiet"]
    cmd += ["--profile", profile] if profile else []
    c, t = children_cpu(), time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t, children_cpu() - c, digest(out) == digest(first)


def save_ratio(study: Path, profile: str | None) -> tuple[float, float, int, bool]:
    """(CPU s of tight savefig, of figure_bytes, figures, same bytes) saving every figure of ``study`` as PNG
    then PDF, each from its own build of the figure, alternating which goes first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fwanalysis.artifacts import find_runs
    from fwanalysis.figures import FIGURES, STYLE, build, select_for
    from fwanalysis.figures.layout import _META, figure_bytes

    def savefig(fig, fmt):
        buf = io.BytesIO()
        with plt.rc_context(STYLE):
            fig.savefig(buf, format=fmt, metadata=_META[fmt], bbox_inches="tight")
        return buf.getvalue()

    runs = sorted(find_runs(study), key=lambda r: r.run_id)
    runs = [r for r in runs if profile is None or r.config.get("profile") in (profile, None)]
    cpu = {"savefig": 0.0, "figure_bytes": 0.0}
    n, same = 0, True
    for k, e in enumerate(FIGURES.values()):
        sel = select_for(e, runs)
        if not sel:
            continue
        try:
            figs = {way: build(e, sel, select=False).figure for way in cpu}
        except (ValueError, KeyError):
            continue
        out = {}
        for way in sorted(cpu, reverse=bool(k % 2)):
            save = savefig if way == "savefig" else figure_bytes
            c = own_cpu()
            out[way] = [save(figs[way], fmt) for fmt in ("png", "pdf")]
            cpu[way] += own_cpu() - c
            plt.close(figs[way])
        same &= out["savefig"] == out["figure_bytes"]
        n += 1
    return cpu["savefig"], cpu["figure_bytes"], n, same


def small_study(tmp: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from figstudy import _write_figures_study

    study = tmp / "figures-study"
    study.mkdir()
    _write_figures_study(study)
    return study


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, default=None, help="study directory (default: a fresh temporary one)")
    ap.add_argument("--small", action="store_true", help="the tests' figures study instead of the quick study")
    ap.add_argument("--keep", action="store_true", help="keep the temporary study")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="fwa-bench-"))
    try:
        if args.small:
            study, profile, what = small_study(tmp), None, "the tests' figures study"
            c, t = children_cpu(), time.perf_counter()
            subprocess.run(
                [str(FWA), "report", str(study), "--out", str(tmp / "r1"), "--jobs", "1", "--quiet"],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wall, cpu = time.perf_counter() - t, children_cpu() - c
            print(f"fwa report --jobs 1 ({what}), first rendering: {wall:8.1f} s wall, {cpu:6.1f} s CPU")
        else:
            study, profile = args.study or tmp / "quick", "quick"
            full = make("reports", study=study, reports=tmp / "r1")
            what = (
                "quick study from nothing: train + render"
                if args.study is None
                else f"study {study}: train what is missing + render"
            )
            print(f"make reports ({what}): {full:8.1f} s  ({full / 60:.1f} min; target <= 15 min on 2 cores)")
        for jobs in (1, 2):
            wall, cpu, same = rerender(study, tmp / "r1", tmp / f"j{jobs}", jobs, profile)
            print(
                f"fwa report --jobs {jobs} (re-render from existing artifacts): {wall:8.1f} s wall, {cpu:6.1f} s CPU; "
                f"byte-identical to the first rendering: {same} ({len(digest(tmp / 'r1'))} files)"
            )
        old, new, n, same = save_ratio(study, profile)
        print(
            f"saving {n} figures as PNG + PDF: tight savefig {old:.1f} s CPU, figure_bytes {new:.1f} s CPU "
            f"(x{new / old:.2f}); the same bytes: {same}"
        )
        print("target: the quick study's re-render <= 30 s wall on 2 cores")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    sys.exit(main())
