"""``fwa``: analyse DST runs (shared/CLI.md). Parses, calls the library, prints or saves; no logic of its own.

    fwa ls artifacts/
    fwa validate artifacts/
    fwa jaccard --at first artifacts/quick --plot jaccard.png
    fwa cd-diagram --density-max 0.2 --format json
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from .artifacts import ArtifactError
from .artifacts.select import NoRunsError, RunFilter, select_runs

app = typer.Typer(
    help="Analyse Dynamic Sparse Training runs: where to prune (Jaccard, ITOP, critical differences, ...).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# -- common options (CLI.md "Common to every analysis command") ------------------------------------
Paths = Annotated[Optional[list[Path]], typer.Argument(help="Studies or run directories, searched recursively for run.json. Default: artifacts/.", show_default=False)]
ModelOpt = Annotated[Optional[list[str]], typer.Option("--model", help="Only runs of this model (repeatable).")]
DatasetOpt = Annotated[Optional[list[str]], typer.Option("--dataset", help="Only runs on this data set (repeatable).")]
GrowthOpt = Annotated[Optional[list[str]], typer.Option("--growth", help="Only this growth criterion (repeatable).")]
CriterionOpt = Annotated[Optional[list[str]], typer.Option("--criterion", help="Only this pruning criterion (repeatable).")]
DensityOpt = Annotated[Optional[list[float]], typer.Option("--density", help="Only this overall density (repeatable).")]
DensityMinOpt = Annotated[Optional[float], typer.Option("--density-min", help="Only densities >= this.")]
DensityMaxOpt = Annotated[Optional[float], typer.Option("--density-max", help="Only densities <= this.")]
UpdatePeriodOpt = Annotated[Optional[list[int]], typer.Option("--update-period", help="Only this Δt in steps (repeatable).")]
IncompleteOpt = Annotated[bool, typer.Option("--include-incomplete", help="Also use runs that are running or failed.")]
SkipBadOpt = Annotated[bool, typer.Option("--skip-bad", help="Go on past malformed runs, listing each on stderr.")]
FormatOpt = Annotated[str, typer.Option("--format", help="table | csv | json. With json, stdout holds exactly one JSON document.")]
PlotOpt = Annotated[Optional[Path], typer.Option("--plot", help="Write the figure to FILE (.png, .pdf or .svg).")]


@dataclass
class Common:
    paths: list[Path]
    flt: RunFilter
    include_incomplete: bool
    skip_bad: bool
    fmt: str
    plot: Path | None

    def runs(self, *, baselines: bool = False):
        """The runs matching the filters; malformed ones stop the command unless --skip-bad."""
        on_bad = _report_bad if self.skip_bad else None
        try:
            runs = select_runs(self.paths, self.flt, include_incomplete=self.include_incomplete, on_bad=on_bad, baselines=baselines)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        if not runs:
            where = ", ".join(map(str, self.paths))
            state = "" if self.include_incomplete else " complete"
            raise NoRunsError(f"no{state} runs matched under {where} ({self.flt.describe()})")
        return runs


class UserError(Exception):
    """A mistake in the command line or its input: one line on stderr, exit 1."""


def _report_bad(e: ArtifactError) -> None:
    err.print(f"skipped: {e}")


def common(
    paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot,
) -> Common:
    if fmt not in ("table", "csv", "json"):
        raise typer.BadParameter(f"{fmt!r} is not one of: table, csv, json", param_hint="--format")
    if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise typer.BadParameter(f"{str(plot)!r}: the suffix must be .png, .pdf or .svg", param_hint="--plot")
    flt = RunFilter(
        model=tuple(model or ()), dataset=tuple(dataset or ()), growth=tuple(growth or ()), criterion=tuple(criterion or ()),
        density=tuple(density or ()), density_min=density_min, density_max=density_max, update_period=tuple(update_period or ()),
    )
    return Common(list(paths or [Path("artifacts")]), flt, include_incomplete, skip_bad, fmt, plot)


def run_command(fn: Callable[[], None]) -> None:
    """Run a command body; user mistakes and bad artifacts become one ``error:`` line and exit 1."""
    try:
        fn()
    except (UserError, NoRunsError, ArtifactError, ValueError) as e:
        err.print(f"error: {e}")
        raise typer.Exit(1)
    except FileNotFoundError as e:
        err.print(f"error: {e}")
        raise typer.Exit(1)


# -- output ----------------------------------------------------------------------------------------
def _clean(v):
    """JSON-ready: NaN/inf -> None, numpy scalars -> python."""
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        v = v.tolist()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def emit(doc: dict, rows: list[dict] | None, *, fmt: str, title: str = "") -> None:
    """Print ``doc`` as JSON, or ``rows`` as a rich table / CSV."""
    if fmt == "json":
        sys.stdout.write(json.dumps(_clean(doc), indent=2, allow_nan=False) + "\n")
        return
    rows = rows or []
    if fmt == "csv":
        if rows:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(_clean(rows))
            sys.stdout.write(buf.getvalue())
        return
    t = Table(title=title or None)
    cols = list(rows[0]) if rows else []
    for c in cols:
        t.add_column(str(c))
    for r in rows:
        t.add_row(*(_fmt_cell(r.get(c)) for c in cols))
    Console().print(t)


def _fmt_cell(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.4g}"
    return str(v)


def save_plot(ax, path: Path | None) -> None:
    """Save the figure holding ``ax`` (deterministic metadata) and say so on stderr."""
    if path is None:
        return
    from .figures import save_figure

    save_figure(ax.figure, path)
    err.print(f"wrote {path}")


# -- commands --------------------------------------------------------------------------------------
@app.command("ls")
def ls_(
    paths: Paths = None, model: ModelOpt = None, dataset: DatasetOpt = None, growth: GrowthOpt = None, criterion: CriterionOpt = None,
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None,
    include_incomplete: IncompleteOpt = False, skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """One row per run: run_id, model, dataset, method, criterion, growth, density, update_period, seed, status, test_acc."""
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot)

    def body():
        rows = []
        for r in c.runs():
            cfg = r.config
            rows.append({
                "run_id": r.run_id, "model": cfg["model"], "dataset": cfg["dataset"], "method": cfg["method"],
                "criterion": cfg["criterion"], "growth": cfg["growth"], "density": cfg["density"],
                "update_period": cfg["update_period"], "seed": cfg["seed"], "status": r.status, "test_acc": r.summary.get("test_acc"),
            })
        emit({"runs": rows}, rows, fmt=c.fmt, title=f"{len(rows)} runs")

    run_command(body)


@app.command()
def validate(
    paths: Paths = None, model: ModelOpt = None, dataset: DatasetOpt = None, growth: GrowthOpt = None, criterion: CriterionOpt = None,
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None,
    include_incomplete: Annotated[bool, typer.Option("--include-incomplete/--complete-only", help="Check runs that are running or failed too (default: yes).")] = True,
    skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """Check each run against ARTIFACTS.md, reading every file it lists; exit 1 naming run, file and problem if any is invalid."""
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot)

    def body():
        from rich.progress import track

        bad_manifests: list[ArtifactError] = []
        try:
            runs = select_runs(c.paths, c.flt, include_incomplete=c.include_incomplete, on_bad=bad_manifests.append)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        if not runs and not bad_manifests:
            raise NoRunsError(f"no runs found under {', '.join(map(str, c.paths))} ({c.flt.describe()})")
        valid, invalid = [], [{"run": e.run, "file": e.file, "problem": e.problem} for e in bad_manifests]
        for r in track(runs, description="validating", console=err, disable=not sys.stderr.isatty() or len(runs) < 3):
            problems = r.validate()
            if problems:
                invalid.extend({"run": e.run, "file": e.file, "problem": e.problem} for e in problems)
            else:
                valid.append(r.run_id)
        rows = [{"run": v, "file": "", "problem": "valid"} for v in valid] + invalid
        emit({"valid": valid, "invalid": invalid}, rows, fmt=c.fmt, title=f"{len(valid)} valid, {len({i['run'] for i in invalid})} invalid")
        if invalid:
            for i in invalid:
                err.print(f"invalid: run {i['run']}: {i['file']}: {i['problem']}")
            raise typer.Exit(1)

    run_command(body)


def main():
    app()


if __name__ == "__main__":
    main()
