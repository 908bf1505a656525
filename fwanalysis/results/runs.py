"""The runs themselves: ``fwa ls`` (one row per run) and ``fwa validate`` (each run against the artifact
format, docs/format.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..artifacts import ArtifactError
from ..artifacts.select import NoRunsError
from ..errors import UserError
from .base import Result, Table
from .select import Selection

__all__ = ["RunListing", "Validation", "list_runs", "validate"]


@dataclass
class RunListing(Result):
    rows: list[dict]

    def to_json(self) -> dict:
        return {"runs": self.rows}

    def tables(self, fmt: str) -> list[Table]:
        return [Table(f"{len(self.rows)} runs", self.rows)]


def list_runs(sel: Selection) -> RunListing:
    """One row per run: run_id, model, dataset, method, criterion, growth, density, update_period, seed, status,
    test_acc."""
    rows = []
    for r in sel.runs(repeats=True):
        cfg = r.config
        rows.append(
            {
                "run_id": r.run_id,
                "model": cfg["model"],
                "dataset": cfg["dataset"],
                "method": r.kind,
                "criterion": cfg["criterion"],
                "growth": cfg["growth"],
                "density": cfg["density"],
                "update_period": cfg["update_period"],
                "seed": cfg["seed"],
                "status": r.status,
                "test_acc": r.summary.get("test_acc"),
            }
        )
    return RunListing(rows)


@dataclass
class Validation(Result):
    """The valid runs, each problem found (run, status, file, problem) and every run with its count of problems."""

    valid: list[str]
    invalid: list[dict]
    listing: list[dict]

    @property
    def ok(self) -> bool:
        return not self.invalid

    def to_json(self) -> dict:
        return {"valid": self.valid, "invalid": self.invalid, "runs": self.listing}

    def tables(self, fmt: str) -> list[Table]:
        rows = [
            {"run": v["run"], "status": v["status"], "file": "", "problem": "valid"}
            for v in self.listing
            if not v["problems"]
        ] + self.invalid
        title = f"{len(self.valid)} valid, {len({i['run'] for i in self.invalid})} invalid"
        return [Table(title, rows)]

    def notes(self, fmt: str) -> list[str]:
        return [f"invalid: run {i['run']}: {i['file']}: {i['problem']}" for i in self.invalid]


def validate(
    sel: Selection, *, jobs: int, progress: Callable[[Iterable, int], Iterable] = lambda it, total: it
) -> Validation:
    """Every matching run checked (``jobs`` processes at once), whatever its status; one that is not complete is a
    problem unless the selection includes incomplete runs. ``progress(iterable, total)`` may wrap the checks."""
    from ..artifacts.reader import validate_runs

    bad_manifests: list[ArtifactError] = []
    runs = sel.find(include_incomplete=True, on_bad=bad_manifests.append)
    if not runs and not bad_manifests:
        raise NoRunsError(f"no runs found under {', '.join(map(str, sel.paths))} ({sel.flt.describe()})")
    valid, invalid, listing = [], [], []
    for e in bad_manifests:
        invalid.append({"run": e.run, "status": None, "file": e.file, "problem": e.problem})
        listing.append({"run": e.run, "status": None, "problems": 1})
    for r, found in progress(zip(runs, validate_runs(runs, jobs=jobs)), len(runs)):
        problems = [{"run": e.run, "status": r.status, "file": e.file, "problem": e.problem} for e in found]
        if r.status != "complete" and not sel.include_incomplete:
            problems.insert(
                0,
                {
                    "run": r.run_id,
                    "status": r.status,
                    "file": "run.json",
                    "problem": f"status {r.status}: {why_incomplete(r)}; --include-incomplete accepts it",
                },
            )
        listing.append({"run": r.run_id, "status": r.status, "problems": len(problems)})
        if problems:
            invalid.extend(problems)
        else:
            valid.append(r.run_id)
    return Validation(valid, invalid, listing)


def why_incomplete(run) -> str:
    """Why a run is not complete, from its status and the lock of its run directory (docs/sweeps.md)."""
    from ..artifacts.lock import describe, lock_holder

    if run.status == "failed":
        return "training failed"
    try:  # the lock is named after the run's directory, as fwa's writer names both; never after run.json's run_id
        holder = lock_holder(run.path.parent, run.path.name)
    except ValueError:  # a directory name that cannot be a run id of fwa's: no lock of fwa's can be there
        holder = None
    if holder is not None:
        return f"being trained by {describe(holder)}"
    return "no live process holds its lock, so it was interrupted (killed or crashed); train it again"


def report_runs(paths: list, *, profile: str | None = None, on_bad=None, on_warning=None, progress=None) -> list:
    """The complete runs under ``paths`` that ``fwa report`` draws: of ``profile`` only, when given; none is an
    error saying what was found. ``progress`` goes to :func:`~fwanalysis.artifacts.find_runs`."""
    from ..artifacts import find_runs
    from ..artifacts.select import profiles_of

    try:
        runs = find_runs(paths, on_bad=on_bad, on_warning=on_warning, progress=progress)
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    if profile is not None:
        have = profiles_of(runs)
        runs = [r for r in runs if r.config.get("profile") == profile]
        if not runs:
            raise NoRunsError(
                f"no complete runs of profile {profile!r} under {', '.join(map(str, paths))} "
                f"(profiles found: {', '.join(have) or 'none'})"
            )
    if not runs:
        raise NoRunsError(
            f"no complete runs under {', '.join(map(str, paths))}; train some with `make artifacts` or `fw-train sweep`"
        )
    return runs
