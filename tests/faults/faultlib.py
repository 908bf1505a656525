"""Helpers of the fault-injection tests: one tiny sweep, run through the real ``fw-train`` in a subprocess,
checked against a study trained without faults.

Every sweep here (the fault-free reference, the faulty one, the one that finishes the study) runs with
``--jobs 2``, so every run trains in a pool worker with the same number of torch threads
(``cpu_count // 2``) and its files come out byte for byte the same.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

from clilib import fwa
from sweeplib import FW_TRAIN, MODEL, children, gone, lock_pids, start_sweep, sweep_env, trained_here, wait_for  # noqa: E402,F401  (the fault tests import them from here)

SEEDS = (0, 1, 2, 3)
JOBS = 2
#: run.json keys that say when a run was written, not what it is
VOLATILE = ("created", "finished")

SPEC = textwrap.dedent(f"""
    name = "faults"
    [base]
    model = "{MODEL}"
    dataset = "digits"
    epochs = 3
    method = "dst"
    criterion = "magnitude"
    density = 0.2
    update_period = 10
    seed = {list(SEEDS)}
    [profiles.quick]
""")


@dataclass(frozen=True)
class Reference:
    """The study trained without faults, and how many files its runs have (masks, updates, metrics, run.json)."""

    study: Path
    files: int


def write_spec(directory: Path) -> Path:
    p = Path(directory) / "faults.toml"
    p.write_text(SPEC)
    return p


def run_sweep(spec: Path, study: Path, log: Path, timeout: float = 240) -> tuple[int, str]:
    p = start_sweep(spec, study, log, jobs=JOBS)
    rc = p.wait(timeout)
    return rc, log.read_text()


# -- studies ------------------------------------------------------------------------------------------


def run_dirs(study: Path) -> dict[str, Path]:
    d = Path(study) / MODEL
    return {p.name: p for p in sorted(d.iterdir()) if p.is_dir() and p.name != ".locks"} if d.is_dir() else {}


def status(run: Path) -> str | None:
    try:
        return json.loads((run / "run.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


def complete_runs(study: Path) -> dict[str, Path]:
    return {k: p for k, p in run_dirs(study).items() if status(p) == "complete"}


def snapshot(run: Path) -> dict[str, tuple]:
    """Every file of a run directory: (inode, mtime in ns, SHA-1 of its bytes). A run trained again gets
    new files (a new directory, new inodes), even with the same bytes."""
    out = {}
    for f in sorted(run.rglob("*")):
        if f.is_file():
            st = f.stat()
            out[str(f.relative_to(run))] = (st.st_ino, st.st_mtime_ns, hashlib.sha1(f.read_bytes()).hexdigest())
    return out


def manifest_without_times(run: Path) -> dict:
    m = json.loads((run / "run.json").read_text())
    for k in VOLATILE:
        m.pop(k, None)
    return m


def assert_same_run(run: Path, ref: Path) -> None:
    """``run`` holds the same files as ``ref`` with the same bytes; run.json equal but for its times."""
    files = sorted(str(f.relative_to(run)) for f in run.rglob("*") if f.is_file())
    assert files == sorted(str(f.relative_to(ref)) for f in ref.rglob("*") if f.is_file()), run.name
    assert manifest_without_times(run) == manifest_without_times(ref), run.name
    for name in files:
        if name != "run.json":  # masks, updates, metrics.parquet: byte for byte
            assert (run / name).read_bytes() == (ref / name).read_bytes(), (
                f"{run.name}/{name} differs from the fault-free run"
            )


def assert_finished_like(study: Path, ref: Path) -> None:
    """Every run of the spec is complete, valid (``fwa validate`` exits 0), byte-equal to the fault-free
    reference; no lock and no temporary file left."""
    runs, refs = run_dirs(study), run_dirs(ref)
    assert sorted(runs) == sorted(refs) and len(refs) == len(SEEDS)
    for name, d in runs.items():
        assert status(d) == "complete", name
        assert_same_run(d, refs[name])
    assert not [p for p in (Path(study) / MODEL).rglob(".*") if p.name != ".locks"], "temporary files left"
    assert list((Path(study) / MODEL / ".locks").iterdir()) == [], "locks left"
    res = fwa("validate", study)  # in process: no interpreter to start
    assert res.exit_code == 0, res.output


def assert_untouched(before: dict[str, dict], study: Path) -> None:
    """Runs complete before (``{run_id: snapshot}``) still have exactly those files: never trained again."""
    for name, snap in before.items():
        assert snapshot(run_dirs(study)[name]) == snap, f"{name} was complete before the fault and was written again"


def finish(spec: Path, study: Path, ref: Path, log: Path) -> None:
    """Run the sweep once more: it trains exactly the runs that are not complete, and the study ends up
    equal to the fault-free one, the runs complete before untouched."""
    before = {k: snapshot(p) for k, p in complete_runs(study).items()}
    rc, out = run_sweep(spec, study, log)
    assert rc == 0 and "Traceback" not in out, out
    assert "being trained by another process" not in out, out
    assert trained_here(out, len(SEEDS)) == len(SEEDS) - len(before), out  # nothing trained twice
    assert_untouched(before, study)
    assert_finished_like(study, ref)
