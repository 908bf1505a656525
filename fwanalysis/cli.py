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
from .vocab import FORMATS, JACCARD_AT, METRICS

app = typer.Typer(
    help="Analyse Dynamic Sparse Training runs: where to prune (Jaccard, ITOP, critical differences, ...).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

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
SweepOpt = Annotated[Optional[list[str]], typer.Option("--sweep", help="Only runs made by this sweep spec (config 'sweep', e.g. jaccard; repeatable).")]
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


    def compute(self, fn: Callable, runs: list):
        """``fn(runs)``; with --skip-bad, a run whose files turn out damaged is dropped (said on stderr) and
        ``fn`` is tried again without it, until it succeeds or no run is left."""
        runs = list(runs)
        while True:
            try:
                return fn(runs)
            except ArtifactError as e:
                if not self.skip_bad:
                    raise
                kept = [r for r in runs if r.run_id != e.run and str(r.path) != e.run]
                if len(kept) == len(runs):
                    raise
                _report_bad(e)
                runs = kept
                if not runs:
                    raise NoRunsError("every matching run was skipped as malformed") from None


class UserError(Exception):
    """A mistake in the command line or its input: one line on stderr, exit 1."""


def _report_bad(e: ArtifactError) -> None:
    err.print(f"skipped: {e}")


def common(
    paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot,
    sweep=None,
) -> Common:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of: {', '.join(FORMATS)}", param_hint="--format")
    if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise typer.BadParameter(f"{str(plot)!r}: the suffix must be .png, .pdf or .svg", param_hint="--plot")
    flt = RunFilter(
        model=tuple(model or ()), dataset=tuple(dataset or ()), growth=tuple(growth or ()), criterion=tuple(criterion or ()),
        density=tuple(density or ()), density_min=density_min, density_max=density_max, update_period=tuple(update_period or ()),
        sweep=tuple(sweep or ()),
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


def emit(doc: dict, rows: list[dict] | Callable[[], list[dict]] | None, *, fmt: str, title: str = "") -> None:
    """Print ``doc`` as JSON, or ``rows`` (a list, or a function making it only when needed) as a rich table / CSV."""
    if fmt == "json":
        sys.stdout.write(json.dumps(_clean(doc), indent=2, allow_nan=False) + "\n")
        return
    rows = (rows() if callable(rows) else rows) or []
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


# -- commands --------------------------------------------------------------------------------------
@app.command("ls")
def ls_(
    paths: Paths = None, model: ModelOpt = None, dataset: DatasetOpt = None, growth: GrowthOpt = None, criterion: CriterionOpt = None,
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None, sweep: SweepOpt = None,
    include_incomplete: IncompleteOpt = False, skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """One row per run: run_id, model, dataset, method, criterion, growth, density, update_period, seed, status, test_acc."""
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot, sweep)

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
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None, sweep: SweepOpt = None,
    include_incomplete: Annotated[bool, typer.Option("--include-incomplete/--complete-only", help="Check runs that are running or failed too (default: yes).")] = True,
    skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """Check each run against ARTIFACTS.md, reading every file it lists; exit 1 naming run, file and problem if any is invalid."""
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot, sweep)

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


def _plot_with(figure_id: str, result, path: Path | None, *, draw=None) -> None:
    """Draw ``result`` with the registry entry ``figure_id`` (the same code path as ``fwa report``)."""
    if path is None:
        return
    import matplotlib.pyplot as plt

    from .figures import FIGURES, save_figure

    fig = (draw or FIGURES[figure_id].draw)(result)
    try:
        save_figure(fig, path)
    finally:
        plt.close(fig)
    err.print(f"wrote {path}")


def _matrix_rows(res) -> list[dict]:
    rows = []
    for i, a in enumerate(res.criteria):
        row = {"criterion": a}
        for j, b in enumerate(res.criteria):
            m, s = res.mean[i, j], res.std[i, j]
            row[b] = None if m != m else (f"{m:.3f}±{s:.3f}" if s == s else f"{m:.3f}")
        rows.append(row)
    return rows


def _records(df) -> list[dict]:
    return [{k: _clean(v) for k, v in r.items()} for r in df.to_dict(orient="records")]


AtOpt = Annotated[str, typer.Option("--at", help="first: sets removed at the first update; end: final masks (+ init); time: over training.")]


@app.command()
def jaccard(
    paths: Paths = None, at: AtOpt = "first",
    std: Annotated[bool, typer.Option("--std", help="With --plot, draw the std over seeds (Figs. 20-21) instead of the mean.")] = False,
    model: ModelOpt = None, dataset: DatasetOpt = None, growth: GrowthOpt = None, criterion: CriterionOpt = None,
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None, sweep: SweepOpt = None,
    include_incomplete: IncompleteOpt = False, skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """Layer-averaged Jaccard index (paper Eq. 1) between what the criteria remove, or between final masks.

    Runs are paired within groups (configs equal but for criterion and seed); cells are means over seeds, then over groups. References: J_r (random criterion's first-update sets across seeds), J_init (initial masks across seeds).

    Example: fwa jaccard --at first artifacts/quick --model cnn-small --plot first.png
    """
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot, sweep)
    if at not in JACCARD_AT:
        raise typer.BadParameter(f"{at!r} is not one of: {', '.join(JACCARD_AT)}", param_hint="--at")

    def body():
        from . import analyses as A

        runs = c.runs()
        if at == "time":
            df = c.compute(A.jaccard_time_rows, runs)
            rows = _records(df)
            emit({"at": "time", "rows": rows}, rows, fmt=c.fmt, title="Jaccard over time")
            _plot_with("fig18-jaccard-over-time", df, c.plot)
            return
        res = c.compute(A.jaccard_first if at == "first" else A.jaccard_end, runs)
        title = f"Jaccard at {at} ({res.reference_name} = {res.reference_value:.3f}, {res.groups} group(s))"
        emit(res.to_json(), lambda: _matrix_rows(res) if c.fmt == "table" else _records(res.to_frame()), fmt=c.fmt, title=title)
        fid = {("first", False): "fig06a-jaccard-first-update", ("end", False): "fig06b-jaccard-end",
               ("first", True): "fig20-jaccard-first-update-std", ("end", True): "fig21-jaccard-end-std"}[(at, std)]
        _plot_with(fid, res, c.plot)

    run_command(body)


@app.command("never-removed")
def never_removed(
    paths: Paths = None, model: ModelOpt = None, dataset: DatasetOpt = None, growth: GrowthOpt = None, criterion: CriterionOpt = None,
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None, sweep: SweepOpt = None,
    include_incomplete: IncompleteOpt = False, skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """Per model and seed: weights kept by every criterion / kept weights, and removed by every criterion / removed weights (first update)."""
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot, sweep)

    def body():
        from . import analyses as A

        df = c.compute(A.never_removed_rows, c.runs())
        rows = _records(df)
        emit({"rows": rows}, rows, fmt=c.fmt, title="kept / removed by every criterion")
        _plot_with("fig19-never-removed", df, c.plot)

    run_command(body)


@app.command()
def itop(
    paths: Paths = None, model: ModelOpt = None, dataset: DatasetOpt = None, growth: GrowthOpt = None, criterion: CriterionOpt = None,
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None, sweep: SweepOpt = None,
    include_incomplete: IncompleteOpt = False, skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """ITOP ratio per run (Liu et al. 2021): share of weights ever active, rebuilt from the initial mask and every update."""
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot, sweep)

    def body():
        from . import analyses as A

        df = c.compute(A.itop_rows, c.runs())
        rows = _records(df[["run_id", "criterion", "growth", "update_period", "density", "itop", "itop_logged"]])
        emit({"rows": rows}, rows, fmt=c.fmt, title="ITOP ratio")
        _plot_with("fig11-itop", A.itop_vs_update_period(df), c.plot)

    run_command(body)


@app.command("loss-gap")
def loss_gap_cmd(
    paths: Paths = None, model: ModelOpt = None, dataset: DatasetOpt = None, growth: GrowthOpt = None, criterion: CriterionOpt = None,
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None, sweep: SweepOpt = None,
    include_incomplete: IncompleteOpt = False, skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """Validation loss − training loss per epoch, per method and criterion (mean ± std over runs). Narrow with --density."""
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot, sweep)

    def body():
        from . import analyses as A

        df = c.compute(A.loss_gap_table, c.runs(baselines=True))
        rows = _records(df)
        emit({"rows": rows}, rows, fmt=c.fmt, title="loss gap (val − train)")
        _plot_with("fig04-loss-gap", df, c.plot)

    run_command(body)


MetricOpt = Annotated[str, typer.Option("--metric", help=f"Summary metric: {', '.join(METRICS)}.")]


@app.command()
def accuracy(
    paths: Paths = None, metric: MetricOpt = "test_acc",
    model: ModelOpt = None, dataset: DatasetOpt = None, growth: GrowthOpt = None, criterion: CriterionOpt = None,
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None, sweep: SweepOpt = None,
    include_incomplete: IncompleteOpt = False, skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """A metric vs density per criterion and growth (mean ± std over seeds), with dense and static baselines."""
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot, sweep)

    def body():
        from . import analyses as A

        df = A.accuracy_table(c.runs(baselines=True), metric=metric)
        rows = _records(df)
        emit({"rows": rows}, rows, fmt=c.fmt, title=f"{metric} vs density")
        _plot_with("fig01-accuracy-vs-density", df, c.plot)

    run_command(body)


@app.command("update-period")
def update_period_cmd(
    paths: Paths = None, metric: MetricOpt = "test_acc",
    model: ModelOpt = None, dataset: DatasetOpt = None, growth: GrowthOpt = None, criterion: CriterionOpt = None,
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None, sweep: SweepOpt = None,
    include_incomplete: IncompleteOpt = False, skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """A metric vs the update period Δt per criterion (mean ± std over seeds)."""
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot, sweep)

    def body():
        from . import analyses as A

        df = A.update_period_table(c.runs(), metric=metric)
        rows = _records(df)
        emit({"rows": rows}, rows, fmt=c.fmt, title=f"{metric} vs update period")
        _plot_with("fig05-update-period", df, c.plot)

    run_command(body)


@app.command("cd-diagram")
def cd_diagram(
    paths: Paths = None, metric: MetricOpt = "test_acc",
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level: 0.05 or 0.10 (any value scipy's studentized range supports).")] = 0.05,
    lower_is_better: Annotated[bool, typer.Option("--lower-is-better", help="Rank lower scores first (e.g. for losses).")] = False,
    test: Annotated[str, typer.Option("--test", help="Post-hoc test: nemenyi (critical difference) | wilcoxon-holm.")] = "nemenyi",
    input_file: Annotated[Optional[Path], typer.Option("--input", help="Rank a results table (CSV or parquet with columns block, method, score) instead of runs.")] = None,
    model: ModelOpt = None, dataset: DatasetOpt = None, growth: GrowthOpt = None, criterion: CriterionOpt = None,
    density: DensityOpt = None, density_min: DensityMinOpt = None, density_max: DensityMaxOpt = None, update_period: UpdatePeriodOpt = None, sweep: SweepOpt = None,
    include_incomplete: IncompleteOpt = False, skip_bad: SkipBadOpt = False, fmt: FormatOpt = "table", plot: PlotOpt = None,
):
    """Friedman test (+ Iman–Davenport F), Nemenyi post-hoc, average ranks and critical difference (Demšar 2006).

    Blocks are (model, dataset, growth, density); a block's score for a criterion is the mean of --metric over seeds. Blocks missing a criterion are left out and counted. Ties get average ranks.

    Examples: fwa cd-diagram artifacts/quick --density-max 0.2 --plot cd.pdf;  fwa cd-diagram --input results.csv --alpha 0.1
    """
    c = common(paths, model, dataset, growth, criterion, density, density_min, density_max, update_period, include_incomplete, skip_bad, fmt, plot, sweep)
    if test not in ("nemenyi", "wilcoxon-holm"):
        raise typer.BadParameter(f"{test!r} is not one of: nemenyi, wilcoxon-holm", param_hint="--test")
    if not 0 < alpha < 1:
        raise typer.BadParameter(f"{alpha!r} must be between 0 and 1 (e.g. 0.05 or 0.10)", param_hint="--alpha")

    def body():
        from . import analyses as A

        if input_file is not None:
            scores = _read_scores(input_file)
        else:
            scores = A.cd_scores(c.runs(), metric=metric)
        res = A.cd_result(scores, alpha=alpha, lower_is_better=lower_is_better, test=test)
        rows = [{"method": m, "avg_rank": res.avg_ranks[m]} for m in res.methods]
        emit(res.to_json(), rows, fmt=c.fmt,
             title=f"{res.n_blocks} blocks ({res.dropped_blocks} dropped), CD = {res.cd:.3f} at α = {res.alpha}, Friedman p = {res.friedman['pvalue']:.3g}")
        if c.fmt == "table":
            err.print("cliques: " + ("; ".join(", ".join(q) for q in res.cliques) or "none"))
        _plot_with("fig03a-cd-all", res, c.plot)

    run_command(body)


def _read_scores(path: Path):
    import pandas as pd

    if not path.exists():
        raise UserError(f"--input {path}: no such file")
    try:
        df = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except Exception as e:  # noqa: BLE001 - any reader failure is a user input problem
        raise UserError(f"--input {path}: cannot read ({type(e).__name__}: {e})") from None
    missing = [k for k in ("block", "method", "score") if k not in df.columns]
    if missing:
        raise UserError(f"--input {path}: missing columns {missing}; have {list(df.columns)}")
    return df


@app.command()
def report(
    paths: Paths = None,
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("reports"),
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Only figures whose id starts with this (repeatable), e.g. fig06.")] = None,
    skip_bad: SkipBadOpt = False,
):
    """Every paper figure whose runs exist: PNG, PDF and CSV per figure, and index.md with captions and provenance."""

    def body():
        from .artifacts import find_runs
        from .report import write_report

        ps = list(paths or [Path("artifacts")])
        try:
            runs = find_runs(ps, on_bad=_report_bad if skip_bad else None)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        if not runs:
            raise NoRunsError(f"no complete runs under {', '.join(map(str, ps))}; train some with `make artifacts` or `fw-train sweep`")
        from rich.progress import Progress

        with Progress(console=err, transient=True, disable=not sys.stderr.isatty()) as prog:
            task = prog.add_task("report", total=None)
            items = write_report(runs, out, studies=[str(p) for p in ps], only=only or (),
                                 progress=lambda fid: prog.update(task, description=fid, advance=1))
        for i in items:
            if i.status == "error":
                err.print(f"failed: {i.id}: {i.note}")
        ok = sum(i.status == "ok" for i in items)
        err.print(f"{ok} figures written to {out}/ ({len(runs)} runs); index: {out / 'index.md'}")

    run_command(body)


def main():
    app()


if __name__ == "__main__":
    main()
