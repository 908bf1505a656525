"""``fwa``: analyse DST runs (docs/cli.md). Parses, calls the library, prints or saves; no logic of its own.

fwa ls artifacts/
fwa validate artifacts/
fwa jaccard --at first artifacts/quick --plot jaccard.png
fwa cd-diagram --density-max 0.2 --format json
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import math
import os
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .artifacts import ArtifactError
from .artifacts.io import json_ready, open_regular
from .artifacts.select import NoRunsError, RunFilter, drop_repeats, in_sweeps, key_values, profiles_of, select_runs
from .console import UserError, csv_cell, err, error_text, one_line_paragraphs, printable, run_command
from .vocab import BASELINES, FORMATS, JACCARD_AT, LOWER_IS_BETTER, METRICS

app = typer.Typer(
    help="Analyse Dynamic Sparse Training runs: where to prune (Jaccard, ITOP, critical differences, ...).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# -- common options, declared once (every analysis command takes them) ---------------------------------
Paths = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Studies or run directories, searched recursively for run.json. Default: artifacts/.", show_default=False
    ),
]
ModelOpt = Annotated[list[str] | None, typer.Option("--model", help="Only runs of this model (repeatable).")]
DatasetOpt = Annotated[list[str] | None, typer.Option("--dataset", help="Only runs on this data set (repeatable).")]
GrowthOpt = Annotated[list[str] | None, typer.Option("--growth", help="Only this growth criterion (repeatable).")]
CriterionOpt = Annotated[
    list[str] | None, typer.Option("--criterion", help="Only this pruning criterion (repeatable).")
]
DensityOpt = Annotated[list[float] | None, typer.Option("--density", help="Only this overall density (repeatable).")]
DensityMinOpt = Annotated[float | None, typer.Option("--density-min", help="Only densities >= this (inclusive).")]
DensityMaxOpt = Annotated[
    float | None,
    typer.Option(
        "--density-max",
        help="Only densities <= this (inclusive): the paper's low-density blocks are --density-max 0.2.",
    ),
]
DensityGtOpt = Annotated[
    float | None,
    typer.Option(
        "--density-gt", help="Only densities > this (strict): the paper's high-density blocks are --density-gt 0.2."
    ),
]
DensityLtOpt = Annotated[float | None, typer.Option("--density-lt", help="Only densities < this (strict).")]
UpdatePeriodOpt = Annotated[
    list[int] | None, typer.Option("--update-period", help="Only this Δt in steps (repeatable).")
]
SweepOpt = Annotated[
    list[str] | None,
    typer.Option("--sweep", help="Only runs made by this sweep spec (config 'sweep', e.g. jaccard; repeatable)."),
]
ConfigOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--config",
        metavar="KEY=VALUE",
        help="Only runs whose config KEY equals VALUE (repeatable), e.g. --config batch_size=128, --config "
        "mest_lambda=0.1; VALUE is read as JSON where it parses (numbers, true, null), else as text.",
    ),
]
IncompleteOpt = Annotated[bool, typer.Option("--include-incomplete", help="Also use runs that are running or failed.")]
SkipBadOpt = Annotated[bool, typer.Option("--skip-bad", help="Go on past malformed runs, listing each on stderr.")]
TABLE_FORMATS = (*FORMATS, "latex")  # every analysis command's result is a table: latex prints it as booktabs
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        help=f"{' | '.join(TABLE_FORMATS)}. With json, stdout holds exactly one JSON document; "
        "latex is a booktabs table (\\usepackage{booktabs}).",
    ),
]
PlotOpt = Annotated[Path | None, typer.Option("--plot", help="Write the figure to FILE (.png, .pdf or .svg).")]

# (name, type, default) of the options every analysis command takes, after its own
_COMMON = (
    ("paths", Paths, None),
    ("model", ModelOpt, None),
    ("dataset", DatasetOpt, None),
    ("growth", GrowthOpt, None),
    ("criterion", CriterionOpt, None),
    ("density", DensityOpt, None),
    ("density_min", DensityMinOpt, None),
    ("density_max", DensityMaxOpt, None),
    ("density_gt", DensityGtOpt, None),
    ("density_lt", DensityLtOpt, None),
    ("update_period", UpdatePeriodOpt, None),
    ("sweep", SweepOpt, None),
    ("config", ConfigOpt, None),
    ("include_incomplete", IncompleteOpt, False),
    ("skip_bad", SkipBadOpt, False),
    ("fmt", FormatOpt, "table"),
    ("plot", PlotOpt, None),
)


def _report_bad(e: ArtifactError) -> None:
    err.print(f"skipped: {e}")


def _warn(msg: str) -> None:
    err.print(f"warning: {msg}")


@dataclass
class Common:
    paths: list[Path]
    flt: RunFilter
    include_incomplete: bool
    skip_bad: bool
    fmt: str
    plot: Path | None

    def runs(self, *, baselines: bool = False, repeats: bool = False, keep: Callable[[list], list] | None = None):
        """The runs matching the filters; malformed ones stop the command unless --skip-bad.

        A run_id found in two directories is counted once (a warning names both). ``keep`` narrows the
        runs further (before repeats are looked for). Unless ``repeats``, runs that repeat another run's
        config and seed under another sweep name are counted once too (a note says how many): an
        analysis averages over seeds only."""
        on_bad = _report_bad if self.skip_bad else None
        try:
            runs = select_runs(
                self.paths,
                self.flt,
                include_incomplete=self.include_incomplete,
                on_bad=on_bad,
                on_warning=_warn,
                baselines=baselines,
            )
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        if not runs:
            where = ", ".join(map(str, self.paths))
            state = "" if self.include_incomplete else " complete"
            raise NoRunsError(f"no{state} runs matched under {where} ({self.flt.describe()})")
        if keep is not None:
            runs = keep(runs)
        if not repeats:
            runs, dropped = drop_repeats(runs)
            if dropped:
                r, first = dropped[0]
                err.print(
                    f"note: {len(dropped)} run(s) repeat the config and seed of another run "
                    f"(under another sweep name or run id) (e.g. {r.run_id} repeats {first.run_id}); "
                    "each experiment is counted once"
                )
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


def _parse_config(items: list[str] | None) -> dict:
    try:
        return key_values(items)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None  # the message names --config and the item


def common(
    *,
    paths,
    model,
    dataset,
    growth,
    criterion,
    density,
    density_min,
    density_max,
    density_gt,
    density_lt,
    update_period,
    sweep,
    config,
    include_incomplete,
    skip_bad,
    fmt,
    plot,
    formats=FORMATS,
) -> Common:
    if fmt not in formats:
        raise typer.BadParameter(f"{fmt!r} is not one of: {', '.join(formats)}", param_hint="--format")
    if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise typer.BadParameter(f"{str(plot)!r}: the suffix must be .png, .pdf or .svg", param_hint="--plot")
    flt = RunFilter(
        model=tuple(model or ()),
        dataset=tuple(dataset or ()),
        growth=tuple(growth or ()),
        criterion=tuple(criterion or ()),
        density=tuple(density or ()),
        density_min=density_min,
        density_max=density_max,
        density_gt=density_gt,
        density_lt=density_lt,
        update_period=tuple(update_period or ()),
        sweep=tuple(sweep or ()),
        extra=_parse_config(config),
    )
    return Common(list(paths or [Path("artifacts")]), flt, include_incomplete, skip_bad, fmt, plot)


def analysis_command(
    name: str | None = None,
    *,
    incomplete_help: str | None = None,
    formats: tuple[str, ...] = TABLE_FORMATS,
    plot: bool = True,
):
    """Register ``fn(c: Common, **own options)`` as an ``fwa`` command taking its own options and then
    the common ones (paths, filters, --format, --plot, ...), which arrive parsed as ``c``. ``formats``:
    the --format choices (default table, csv, json, latex); ``plot``: whether the command draws a figure.
    Every command accepts --plot, as the command-line contract has it; one that draws nothing hides it
    from --help and refuses it with a usage error rather than ignoring it."""

    def register(fn):
        own = [p for p in inspect.signature(fn).parameters.values() if p.name != "c"]
        hints = {k: v for k, v in typing.get_type_hints(fn, include_extras=True).items() if k != "c"}
        shared = []
        for pname, ann, default in _COMMON:
            if pname == "plot" and not plot:
                ann = Annotated[Path | None, typer.Option("--plot", hidden=True)]
            if pname == "include_incomplete" and incomplete_help:
                ann = Annotated[bool, typer.Option("--include-incomplete", help=incomplete_help)]
            if pname == "fmt" and formats != TABLE_FORMATS:
                ann = Annotated[
                    str,
                    typer.Option(
                        "--format", help=f"{' | '.join(formats)}. With json, stdout holds exactly one JSON document."
                    ),
                ]
            shared.append(inspect.Parameter(pname, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann))
            hints[pname] = ann

        def command(**kw):
            if not plot and kw["plot"] is not None:
                raise typer.BadParameter(
                    f"fwa {name or fn.__name__} draws no figure; the commands that draw one "
                    "(jaccard, never-removed, itop, loss-gap, accuracy, update-period, cd-diagram) "
                    "take it",
                    param_hint="--plot",
                )
            c = common(**{pname: kw.pop(pname) for pname, _, _ in _COMMON}, formats=formats)
            return fn(c, **kw)

        command.__name__, command.__doc__, command.__module__ = fn.__name__, fn.__doc__, fn.__module__
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(p.name, p.annotation)) for p in own]
        command.__signature__ = inspect.Signature(own + shared)
        command.__annotations__ = hints
        app.command(name)(one_line_paragraphs(command))
        return fn

    return register


# -- output ----------------------------------------------------------------------------------------
def _stdout_console() -> Console:
    """A console for tables on stdout. On a terminal rich fits the table to the width and folds long
    cells; piped or redirected, the width is unbounded so that no cell is ever cut or wrapped."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=100_000)


def emit(
    doc: dict,
    rows: list[dict] | Callable[[], list[dict]] | None,
    *,
    fmt: str,
    title: str = "",
    latex: Callable[[], str] | None = None,
) -> None:
    """Print ``doc`` as JSON, or ``rows`` (a list, or a function making it only when needed) as a rich
    table, CSV or a booktabs LaTeX table (``latex`` makes a command's own, e.g. the paper's wide shape).

    Table cells and titles are plain text: a run id or config value holding ``[red]`` prints as written."""
    if fmt == "json":
        sys.stdout.write(json.dumps(json_ready(doc), indent=2, allow_nan=False) + "\n")
        return
    if fmt == "latex":
        from .latex import latex_table

        sys.stdout.write(
            latex()
            if latex is not None
            else latex_table(json_ready((rows() if callable(rows) else rows) or []), caption=title)
        )
        return
    rows = (rows() if callable(rows) else rows) or []
    if fmt == "csv":
        if rows:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(
                {k: csv_cell(printable(v)) if isinstance(v, str) else v for k, v in r.items()} for r in json_ready(rows)
            )
            sys.stdout.write(buf.getvalue())
        return
    t = Table(title=Text(printable(title)) if title else None)
    cols = list(rows[0]) if rows else []
    for c in cols:
        t.add_column(Text(printable(c)), overflow="fold")
    for r in rows:
        t.add_row(*(Text(_fmt_cell(r.get(c))) for c in cols))
    _stdout_console().print(t)


def _fmt_cell(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.4g}"
    return printable(v)


def _frame_doc(df, key: str = "rows") -> dict:
    """The JSON document of a result frame: its rows, how many groups of runs it compared and which
    fields it kept apart (``attrs`` of the analyses' frames)."""
    return {
        key: _records(df),
        "groups": int(df.attrs.get("groups", 0)),
        "separated_by": list(df.attrs.get("separated_by", [])),
    }


def _title(text: str, df) -> str:
    sep = df.attrs.get("separated_by") or []
    return f"{text} (kept apart by {', '.join(sep)})" if sep else text


# -- commands --------------------------------------------------------------------------------------
@analysis_command("ls", plot=False)
def ls_(c: Common):
    """One row per run: run_id, model, dataset, method, criterion, growth, density, update_period, seed, status,
    test_acc."""

    def body():
        rows = []
        for r in c.runs(repeats=True):
            cfg = r.config
            rows.append(
                {
                    "run_id": r.run_id,
                    "model": cfg["model"],
                    "dataset": cfg["dataset"],
                    "method": cfg["method"],
                    "criterion": cfg["criterion"],
                    "growth": cfg["growth"],
                    "density": cfg["density"],
                    "update_period": cfg["update_period"],
                    "seed": cfg["seed"],
                    "status": r.status,
                    "test_acc": r.summary.get("test_acc"),
                }
            )
        emit({"runs": rows}, rows, fmt=c.fmt, title=f"{len(rows)} runs")

    run_command(body)


@analysis_command(
    incomplete_help="Accept runs that are running or failed when their files are sound (default: a run that is not "
    "complete is a problem).",
    plot=False,
)
def validate(
    c: Common,
    jobs: Annotated[
        int, typer.Option(min=1, help="Processes that read runs at once (default: one per CPU core).")
    ] = os.cpu_count() or 1,
):
    """Check each run against the artifact format (docs/format.md), reading every file it lists, and show its status.

    A run that is not complete (status running: still training, or killed; failed) is a problem unless
    --include-incomplete. Exit 1 naming run, file and problem if any run is invalid.
    """

    def body():
        from rich.progress import track

        from .artifacts.reader import validate_runs

        bad_manifests: list[ArtifactError] = []
        try:
            runs = select_runs(c.paths, c.flt, include_incomplete=True, on_bad=bad_manifests.append, on_warning=_warn)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        if not runs and not bad_manifests:
            raise NoRunsError(f"no runs found under {', '.join(map(str, c.paths))} ({c.flt.describe()})")
        valid, invalid, listing = [], [], []
        for e in bad_manifests:
            invalid.append({"run": e.run, "status": None, "file": e.file, "problem": e.problem})
            listing.append({"run": e.run, "status": None, "problems": 1})
        checked = zip(runs, validate_runs(runs, jobs=jobs))
        for r, found in track(
            checked,
            total=len(runs),
            description="validating",
            console=err,
            disable=not sys.stderr.isatty() or len(runs) < 3,
        ):
            problems = [{"run": e.run, "status": r.status, "file": e.file, "problem": e.problem} for e in found]
            if r.status != "complete" and not c.include_incomplete:
                problems.insert(
                    0,
                    {
                        "run": r.run_id,
                        "status": r.status,
                        "file": "run.json",
                        "problem": f"status {r.status}: {_why_incomplete(r)}; --include-incomplete accepts it",
                    },
                )
            listing.append({"run": r.run_id, "status": r.status, "problems": len(problems)})
            if problems:
                invalid.extend(problems)
            else:
                valid.append(r.run_id)
        rows = [
            {"run": v["run"], "status": v["status"], "file": "", "problem": "valid"}
            for v in listing
            if not v["problems"]
        ] + invalid
        emit(
            {"valid": valid, "invalid": invalid, "runs": listing},
            rows,
            fmt=c.fmt,
            title=f"{len(valid)} valid, {len({i['run'] for i in invalid})} invalid",
        )
        if invalid:
            for i in invalid:
                err.print(f"invalid: run {i['run']}: {i['file']}: {i['problem']}")
            raise typer.Exit(1)

    run_command(body)


def _why_incomplete(run) -> str:
    """Why a run is not complete, from its status and the lock of its run directory (docs/sweeps.md)."""
    from .artifacts.lock import describe, lock_holder

    if run.status == "failed":
        return "training failed"
    try:  # the lock is named after the run's directory, as fwa's writer names both; never after run.json's run_id
        holder = lock_holder(run.path.parent, run.path.name)
    except ValueError:  # a directory name that cannot be a run id of fwa's: no lock of fwa's can be there
        holder = None
    if holder is not None:
        return f"being trained by {describe(holder)}"
    return "no live process holds its lock, so it was interrupted (killed or crashed); train it again"


def _plot_with(figure_id: str, result, path: Path | None, *, draw=None) -> None:
    """Draw ``result`` with the registry entry ``figure_id`` (the same code path as ``fwa report``)."""
    if path is None:
        return
    import matplotlib.pyplot as plt

    from .figures import FIGURES, draw_styled, save_figure

    fig = draw_styled(draw or FIGURES[figure_id].draw, result)
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


def _matrix_latex(res, title: str) -> str:
    """A Jaccard matrix as booktabs: one row per criterion, mean ± std over seeds in each cell."""
    from .latex import MeanStd, latex_table

    rows = [
        {
            "criterion": a,
            **{b: MeanStd(float(res.mean[i, j]), float(res.std[i, j])) for j, b in enumerate(res.criteria)},
        }
        for i, a in enumerate(res.criteria)
    ]
    return latex_table(rows, caption=title)


def _wide_latex(df, *, columns: str, title: str, higher_is_better: bool = True) -> str:
    """A long mean/std table in the paper's shape: a row per criterion (and what separates it), a
    column per value of ``columns``; the best criterion of each column and group in bold (baselines excluded)."""
    from .latex import latex_table, wide_rows

    rows = _records(df)
    index = [k for k in df.columns if k not in (columns, "mean", "std", "n")]
    wide, best = wide_rows(
        rows,
        index=index,
        columns=columns,
        group=[k for k in index if k != "criterion"],
        not_best=BASELINES,
        higher_is_better=higher_is_better,
    )
    return latex_table(wide, bold=best, caption=title)


def _records(df) -> list[dict]:
    return [{k: json_ready(v) for k, v in r.items()} for r in df.to_dict(orient="records")]


AtOpt = Annotated[
    str,
    typer.Option(
        "--at", help="first: sets removed at the first update; end: final masks (+ init); time: over training."
    ),
]


@analysis_command()
def jaccard(
    c: Common,
    at: AtOpt = "first",
    std: Annotated[
        bool,
        typer.Option(
            "--std",
            help="With --at first or end and --plot, draw the std over seeds (Figs. 20-21) instead of the mean. (--at "
            "time prints the std beside each mean.)",
        ),
    ] = False,
):
    """Layer-averaged Jaccard index (paper Eq. 1) between what the criteria remove, or between final masks.

    Runs are paired within one group (configs equal but for criterion and seed); cells are means over seeds. When
    the matched runs form several groups (other models, densities, Δt, ...) each group gets its own matrix, titled
    by the fields that separate the groups (JSON: a "results" list, one object per group with those fields); the
    filters narrow to one. References: J_r (random criterion's first-update sets across seeds), J_init (initial
    masks across seeds).

    Example: fwa jaccard --at first artifacts/quick --sweep jaccard --model cnn-small --plot first.png
    """
    if at not in JACCARD_AT:
        raise typer.BadParameter(f"{at!r} is not one of: {', '.join(JACCARD_AT)}", param_hint="--at")
    if std and (at == "time" or c.plot is None):
        why = (
            "--at time already gives the std beside each mean"
            if at == "time"
            else "it chooses what --plot draws, and no --plot was given"
        )
        raise typer.BadParameter(
            f"--std applies to --at first or end with --plot (Figs. 20, 21); {why}", param_hint="--std"
        )

    def body():
        from . import analyses as A

        runs = c.runs()
        if at == "time":
            df = c.compute(A.jaccard_time_rows, runs)
            rows = _records(df)
            emit(
                {"at": "time", "rows": rows, "groups": 1, "separated_by": []},
                rows,
                fmt=c.fmt,
                title="Jaccard over time",
            )
            _plot_with("fig18-jaccard-over-time", df, c.plot)
            return
        fn = A.jaccard_first if at == "first" else A.jaccard_end
        fid = {
            ("first", False): "fig06a-jaccard-first-update",
            ("end", False): "fig06b-jaccard-end",
            ("first", True): "fig20-jaccard-first-update-std",
            ("end", True): "fig21-jaccard-end-std",
        }[(at, std)]
        groups = A.split_groups(runs, always=())
        if len(groups) > 1:  # kept apart: one matrix per group, named by the fields that separate the groups
            results = {key: c.compute(fn, rs) for key, rs in groups.items()}
            fields = [f for f, _ in next(iter(results))]
            doc = {
                "at": at,
                "groups": len(results),
                "separated_by": fields,
                "results": [dict(key) | res.to_json() for key, res in results.items()],
            }
            if c.fmt == "json":
                emit(doc, None, fmt="json")
            elif c.fmt == "csv":
                emit(doc, [dict(key) | r for key, res in results.items() for r in _records(res.to_frame())], fmt="csv")
            else:
                for key, res in results.items():
                    where = ", ".join(f"{f}={_fmt_cell(v)}" for f, v in key)
                    title = f"Jaccard at {at}, {where} ({res.reference_name} = {res.reference_value:.3f})"
                    emit(
                        {},
                        _matrix_rows(res),
                        fmt=c.fmt,
                        title=title,
                        latex=lambda res=res, title=title: _matrix_latex(res, title),
                    )
            _plot_with(fid, results, c.plot)
            return
        res = c.compute(fn, runs)
        title = f"Jaccard at {at} ({res.reference_name} = {res.reference_value:.3f}, {res.groups} group(s))"
        emit(
            res.to_json() | {"separated_by": []},
            lambda: _matrix_rows(res) if c.fmt == "table" else _records(res.to_frame()),
            fmt=c.fmt,
            title=title,
            latex=lambda: _matrix_latex(res, title),
        )
        _plot_with(fid, res, c.plot)

    run_command(body)


@analysis_command("never-removed")
def never_removed(c: Common):
    """Per model and seed, on the final masks of runs paired by seed (paper App. K, Fig. 19): weights kept by every
    criterion / weights kept per criterion, and weights outside every final mask / weights outside per criterion.

    The criteria are those of the matched runs (narrow with --criterion). Groups of runs that differ in more than
    criterion and seed get rows of their own, with the separating fields as columns.
    """

    def body():
        from . import analyses as A

        df = c.compute(A.never_removed_rows, c.runs())
        emit(
            _frame_doc(df), _records(df), fmt=c.fmt, title=_title("kept / removed by every criterion (final masks)", df)
        )
        _plot_with("fig19-never-removed", df, c.plot)

    run_command(body)


@analysis_command()
def itop(c: Common):
    """ITOP ratio per run (Liu et al. 2021): share of weights ever active, rebuilt from the initial mask and every
    update."""

    def body():
        from . import analyses as A

        df = c.compute(A.itop_rows, c.runs())
        cols = [
            "run_id",
            "criterion",
            "growth",
            "update_period",
            "density",
            *df.attrs["separated_by"],
            "itop",
            "itop_logged",
        ]
        shown = df[list(dict.fromkeys(cols))]
        emit(_frame_doc(shown), _records(shown), fmt=c.fmt, title=_title("ITOP ratio", df))
        _plot_with("fig11-itop", A.itop_vs_update_period(df), c.plot)

    run_command(body)


@analysis_command("loss-gap")
def loss_gap_cmd(c: Common):
    """Validation loss − training loss per epoch, per method and criterion (mean ± std over seeds). Runs that differ
    in more than criterion and seed (density, model, ...) are kept apart as columns."""

    def body():
        from . import analyses as A

        df = c.compute(A.loss_gap_table, c.runs(baselines=True))
        emit(_frame_doc(df), _records(df), fmt=c.fmt, title=_title("loss gap (val − train)", df))
        from .figures import draw_loss_gap

        _plot_with("fig04-loss-gap", df, c.plot, draw=draw_loss_gap)  # the left panel of Fig. 4

    run_command(body)


MetricOpt = Annotated[str, typer.Option("--metric", help=f"Summary metric: {', '.join(METRICS)}.")]


@analysis_command()
def accuracy(c: Common, metric: MetricOpt = "test_acc"):
    """A metric vs density per criterion and growth (mean ± std over seeds), with dense and static baselines.

    Cells average over seeds only: runs that differ in any other config field (Δt, batch size, schedule, ...) get
    that field as a column of their own, and the output lists those fields (JSON "separated_by").
    """

    def body():
        from . import analyses as A

        df = A.accuracy_table(c.runs(baselines=True), metric=metric)
        title = _title(f"{metric} vs density", df)
        emit(
            _frame_doc(df),
            _records(df),
            fmt=c.fmt,
            title=title,
            latex=lambda: _wide_latex(
                df, columns="density", title=title, higher_is_better=metric not in LOWER_IS_BETTER
            ),
        )
        _plot_with("fig01-accuracy-vs-density", df, c.plot)

    run_command(body)


@analysis_command("update-period")
def update_period_cmd(c: Common, metric: MetricOpt = "test_acc"):
    """A metric vs the update period Δt per criterion (mean ± std over seeds); other differing fields are kept apart
    as columns."""

    def body():
        from . import analyses as A

        df = A.update_period_table(c.runs(), metric=metric)
        title = _title(f"{metric} vs update period", df)
        emit(
            _frame_doc(df),
            _records(df),
            fmt=c.fmt,
            title=title,
            latex=lambda: _wide_latex(
                df, columns="update_period", title=title, higher_is_better=metric not in LOWER_IS_BETTER
            ),
        )
        _plot_with("fig05-update-period", df, c.plot)

    run_command(body)


@analysis_command("cd-diagram")
def cd_diagram(
    c: Common,
    metric: MetricOpt = "test_acc",
    alpha: Annotated[
        float,
        typer.Option(
            "--alpha",
            help="Significance level of the omnibus and post-hoc tests: 0.05 or 0.10 (any value scipy's studentized "
            "range supports).",
        ),
    ] = 0.05,
    lower_is_better: Annotated[
        bool, typer.Option("--lower-is-better", help="Rank lower scores first (e.g. for losses).")
    ] = False,
    test: Annotated[
        str, typer.Option("--test", help="Post-hoc test of every pair: nemenyi (critical difference) | wilcoxon-holm.")
    ] = "nemenyi",
    omnibus: Annotated[
        str,
        typer.Option(
            "--omnibus",
            help="The test that must reject before cliques are drawn: friedman (chi-square) | iman-davenport (F, less "
            "conservative; Demšar 2006 recommends it).",
        ),
    ] = "friedman",
    control: Annotated[
        str | None,
        typer.Option(
            "--control",
            metavar="METHOD",
            help="Also compare every method with METHOD (Bonferroni-Dunn, Demšar 2006 Sec. 3.2.2): the test for a "
            "paper proposing one new criterion.",
        ),
    ] = None,
    allow_insignificant: Annotated[
        bool,
        typer.Option(
            "--allow-insignificant",
            help="Draw cliques and the CD bar even when the omnibus test does not reject (the title says so).",
        ),
    ] = False,
    highlight: Annotated[
        list[str] | None,
        typer.Option(
            "--highlight", metavar="METHOD", help="With --plot, draw METHOD bold and the others grey (repeatable)."
        ),
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="Rank a results table (CSV or parquet) instead of runs: long (columns block, method, score) or wide "
            "(one column per method, see --wide).",
        ),
    ] = None,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help="--input is wide: a row per block, a column per method; the first column names the blocks when it is "
            "not numeric. Detected (with a note) when the table lacks method/score columns.",
        ),
    ] = False,
):
    """Friedman test (+ Iman–Davenport F), post-hoc p-values of every pair, average ranks and critical difference
    (Demšar 2006).

    Blocks are (model, dataset, growth, density); a block's score for a criterion is the mean of --metric over
    seeds. Runs of one criterion in such a block that differ in any other field (Δt, batch size, ...) form blocks of
    their own, named with that field (JSON "separated_by"). Blocks missing a criterion are left out and counted.
    Ties get average ranks. Cliques and the CD bar are drawn only when the omnibus test rejects at --alpha
    ("significant"); warnings (small N, dropped blocks, ties) go to stderr with a table and to "warnings" in JSON.
    --format csv gives tidy rows (kind = rank, clique, pairwise, control); --format latex a booktabs table of each
    method's score (mean ± std over blocks) and average rank, the best in bold. The paper's low- and high-density
    diagrams are --density-max 0.2 and --density-gt 0.2. When the paths hold a study made by `fw-train sweep`, the
    runs of its accuracy spec are ranked (as the paper's Fig. 3 and `fwa report`); --sweep NAME ranks another spec's
    runs.

    Examples: fwa cd-diagram --density-max 0.2 --plot cd.pdf  (Fig. 3b of the study in artifacts/);  fwa cd-diagram
    --control magnitude;  fwa cd-diagram --input results.csv --wide --alpha 0.1
    """
    from .stats.cd import OMNIBUS, TESTS

    if test not in TESTS:
        raise typer.BadParameter(f"{test!r} is not one of: {', '.join(TESTS)}", param_hint="--test")
    if omnibus not in OMNIBUS:
        raise typer.BadParameter(f"{omnibus!r} is not one of: {', '.join(OMNIBUS)}", param_hint="--omnibus")
    if not 0 < alpha < 1:
        raise typer.BadParameter(f"{alpha!r} must be between 0 and 1 (e.g. 0.05 or 0.10)", param_hint="--alpha")
    if highlight and c.plot is None:
        raise typer.BadParameter("it chooses what --plot draws, and no --plot was given", param_hint="--highlight")
    if wide and input_file is None:
        raise typer.BadParameter("describes an --input table, and no --input was given", param_hint="--wide")

    def body():
        from . import analyses as A

        if input_file is not None:
            scores = _read_scores(input_file, wide=wide)
            groups, sep = int(scores["block"].nunique()), []
        else:

            def accuracy_study(runs):
                # a whole study holds the Δt, λ, batch ... studies too, whose blocks are other designs: rank the
                # accuracy study, as the paper's Fig. 3 does (and as `fwa report` draws it); chosen before
                # repeats are dropped, so an accuracy run repeated by another spec stays in
                if c.flt.sweep or not any(r.config.get("sweep") == "accuracy" for r in runs):
                    return runs
                err.print(
                    "note: ranking the accuracy study's runs (the paper's Fig. 3); --sweep NAME ranks another study's"
                )
                return [r for r in runs if in_sweeps(r, ("accuracy",))]

            scores = A.cd_scores(c.runs(keep=accuracy_study), metric=metric)
            groups, sep = scores.attrs["groups"], scores.attrs["separated_by"]
        res = A.cd_result(
            scores,
            alpha=alpha,
            lower_is_better=lower_is_better,
            test=test,
            omnibus=omnibus,
            control=control,
            allow_insignificant=allow_insignificant,
        )
        # one line over the table
        title = f"N = {res.n_blocks}, CD = {res.cd:.3f}, {res.omnibus} p = {res.omnibus_pvalue:.2g}"
        emit(
            res.to_json() | {"groups": groups, "separated_by": sep},
            lambda: _cd_rows(res, c.fmt),
            fmt=c.fmt,
            title=title,
            latex=lambda: _cd_latex(res, metric if input_file is None else "score"),
        )
        if c.fmt == "table":
            if res.pairwise:
                ms = res.pairwise["methods"]
                emit(
                    {},
                    [{"method": a, **{b: res.pairwise["p"][i][j] for j, b in enumerate(ms)}} for i, a in enumerate(ms)],
                    fmt="table",
                    title=f"pairwise p ({res.test}{', Holm-adjusted' if res.test == 'wilcoxon-holm' else ''})",
                )
            if sep:
                err.print(f"blocks are also kept apart by: {', '.join(sep)}")
            decision = "rejects" if res.significant else "does not reject"
            err.print(
                f"{res.omnibus} at α = {res.alpha} {decision} (p = {res.omnibus_pvalue:.3g}); cliques: "
                + ("; ".join(", ".join(q) for q in res.cliques) or "none")
            )
            for w in res.warnings:
                _warn(w)
        if c.plot is not None:
            from .figures import draw_cd

            _plot_with("fig03a-cd-all", res, c.plot, draw=lambda r: draw_cd(r, highlight=tuple(highlight or ())))

    run_command(body)


def _cd_rows(res, fmt: str) -> list[dict]:
    """Rows of ``fwa cd-diagram``: one per method for a table; tidy ``kind, method, other, value`` rows for CSV
    (rank: average rank; clique: the clique's number; pairwise: the pair's p; control: Bonferroni-Dunn p)."""
    if fmt != "csv":
        rows = []
        for m in res.methods:
            row = {
                "method": m,
                "avg_rank": res.avg_ranks[m],
                "score_mean": res.score_mean.get(m),
                "score_std": res.score_std.get(m),
            }
            if res.control is not None:
                row["p_vs_" + res.control["method"]] = res.control["p"].get(m)
            rows.append(row)
        return rows
    rows = [{"kind": "rank", "method": m, "other": "", "value": res.avg_ranks[m]} for m in res.methods]
    rows += [{"kind": "clique", "method": m, "other": "", "value": i} for i, q in enumerate(res.cliques, 1) for m in q]
    rows += [
        {"kind": "pairwise", "method": r["method"], "other": r["other"], "value": r["p"]} for r in res.pairwise_rows()
    ]
    if res.control is not None:
        rows += [
            {"kind": "control", "method": m, "other": res.control["method"], "value": p}
            for m, p in res.control["p"].items()
        ]
    return rows


def _cd_latex(res, metric: str) -> str:
    """Each method's score (mean ± std over blocks) and average rank, best of each in bold."""
    from .latex import MeanStd, latex_table

    rows = [
        {"method": m, metric: MeanStd(res.score_mean.get(m), res.score_std.get(m)), "avg. rank": res.avg_ranks[m]}
        for m in res.methods
    ]
    pick = min if res.lower_is_better else max
    best_score = pick(res.score_mean.values())
    best_rank = min(res.avg_ranks.values())
    bold = {(i, metric) for i, m in enumerate(res.methods) if res.score_mean.get(m) == best_score}
    bold |= {(i, "avg. rank") for i, m in enumerate(res.methods) if res.avg_ranks[m] == best_rank}
    decision = "rejects" if res.significant else "does not reject"
    caption = (
        f"{metric} over {res.n_blocks} blocks and average ranks; {res.omnibus} {decision} at alpha = {res.alpha} "
        f"(p = {res.omnibus_pvalue:.3g})"
    )
    if math.isfinite(res.cd):
        caption += f", Nemenyi CD = {res.cd:.3f}"
    return latex_table(rows, bold=bold, caption=caption)


MAX_INPUT_BYTES = 256 * 2**20  # cd-diagram --input: a results table, never gigabytes


def _read_scores(path: Path, *, wide: bool = False):
    """The (block, method, score) table of --input: long as written, or melted from a wide table."""
    import pandas as pd

    try:
        f = open_regular(path, max_bytes=MAX_INPUT_BYTES)  # a FIFO is refused, never waited on
    except FileNotFoundError:
        raise UserError(f"--input {path}: no such file") from None
    except (OSError, ValueError) as e:  # not a regular file, too large, unreadable
        raise UserError(f"--input {error_text(e)}") from None
    try:
        with f:
            df = pd.read_parquet(f) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(f)
    except Exception as e:  # noqa: BLE001 - any reader failure is a user input problem
        raise UserError(f"--input {path}: cannot read ({type(e).__name__}: {e})") from None
    long_cols = ("block", "method", "score")
    if not wide and all(k in df.columns for k in long_cols):
        return df
    if not wide and any(k in df.columns for k in ("method", "score")):
        missing = [k for k in long_cols if k not in df.columns]
        raise UserError(
            f"--input {path}: missing columns {missing}; have {list(map(str, df.columns))} "
            "(a long table needs block, method, score; a wide one a column per method, with --wide)"
        )
    if df.shape[1] < 2:
        raise UserError(f"--input {path}: a wide table needs a column per method; have {list(map(str, df.columns))}")
    first = df.columns[0]
    if pd.api.types.is_numeric_dtype(df[first]):
        blocks, methods = [f"row {i + 1}" for i in range(len(df))], list(df.columns)
        named = "its row numbers"
    else:
        blocks, methods = df[first].astype(str).tolist(), list(df.columns[1:])
        named = f"column {first!r}"
    text = [str(m) for m in methods if not pd.api.types.is_numeric_dtype(df[m])]
    if text:
        raise UserError(
            f"--input {path}: read as a wide table (a column per method), but column(s) {text} hold text, not scores"
        )
    if len(methods) < 2:
        raise UserError(f"--input {path}: a wide table needs at least 2 method columns; have {list(map(str, methods))}")
    if not wide:
        err.print(
            f"note: --input {path} has no block/method/score columns: read as a wide table, blocks named by {named}, "
            f"methods {', '.join(map(str, methods))} (--wide says so and silences this note)"
        )
    return pd.DataFrame(
        {
            "block": [b for b in blocks for _ in methods],
            "method": [str(m) for _ in blocks for m in methods],
            "score": df[methods].to_numpy(dtype=float).ravel(),
        }
    )


@analysis_command(formats=(*TABLE_FORMATS, "md"), plot=False)
def claims(c: Common):
    """Each finding of the paper as a quantity with a stated test, computed on the runs given (docs/claims.md).

    One row per claim: its verdict (holds, fails, or no data when the runs it needs are absent), value, threshold
    and the number of runs used. Each claim selects its runs as the report's figures do (by config sweep, untagged
    runs count for every claim, and by the five criteria), one profile at a time: a study holding several profiles
    needs --config profile=NAME. JSON: {"claims": [{"id", "text", "source", "quantity", "value", "paper_value",
    "threshold", "verdict", "runs", "detail"}]}; --format md prints a markdown table and one section per claim with
    its detail.

    Example: fwa claims artifacts --format md
    """

    def body():
        from .claims import evaluate, rows, to_markdown

        results = c.compute(evaluate, c.runs(baselines=True, repeats=True))
        if c.fmt == "md":
            sys.stdout.write(to_markdown(results) + "\n")
            return
        emit(
            {"claims": [r.to_json() for r in results]},
            rows(results),
            fmt=c.fmt,
            title=f"{sum(r.verdict == 'holds' for r in results)} of {len(results)} claims hold",
        )

    run_command(body)


@app.command()
@one_line_paragraphs
def report(
    paths: Paths = None,
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("reports"),
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Only figures whose id starts with this (repeatable), e.g. fig06."),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="Only runs of this sweep profile (quick, paper, ...): a figure never mixes two; needed when the study "
            "holds several.",
        ),
    ] = None,
    skip_bad: SkipBadOpt = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace files in --out that fwa did not write (or that changed since it wrote them), naming them; "
            "without it the report refuses them before writing anything.",
        ),
    ] = False,
):
    """Every paper figure whose runs exist: PNG, PDF and CSV per figure, and index.md with captions and provenance.

    The report replaces only the files fwa wrote in --out (listed in its .fwa-written.json with their sha256): a
    file of yours there, one you edited, or a symbolic link refuses it before anything is written, unless
    --force."""

    def body():
        from .artifacts import find_runs
        from .report import check_out, write_report

        check_out(out, only=only or (), force=force)  # before any run is read
        ps = list(paths or [Path("artifacts")])
        try:
            runs = find_runs(ps, on_bad=_report_bad if skip_bad else None, on_warning=_warn)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        if profile is not None:
            have = profiles_of(runs)
            runs = [r for r in runs if r.config.get("profile") == profile]
            if not runs:
                raise NoRunsError(
                    f"no complete runs of profile {profile!r} under {', '.join(map(str, ps))} "
                    f"(profiles found: {', '.join(have) or 'none'})"
                )
        if not runs:
            raise NoRunsError(
                f"no complete runs under {', '.join(map(str, ps))}; "
                "train some with `make artifacts` or `fw-train sweep`"
            )
        from rich.progress import Progress

        def replacing(names: list[str]) -> None:
            err.print(
                f"--force: replacing {len(names)} file{'s' * (len(names) > 1)} in {out} that fwa did not write "
                f"(or that changed since): {', '.join(names)}"
            )

        with Progress(console=err, transient=True, disable=not sys.stderr.isatty()) as prog:
            task = prog.add_task("report", total=None)
            items = write_report(
                runs,
                out,
                studies=[str(p) for p in ps],
                only=only or (),
                force=force,
                replacing=replacing,
                progress=lambda fid: prog.update(task, description=fid, advance=1),
            )
        for i in items:
            if i.status == "error":
                err.print(f"failed: {i.id}: {i.note}")
        ok = sum(i.status == "ok" for i in items)
        err.print(f"{ok} figures written to {out}/ ({len(runs)} runs); index: {out / 'index.md'}")

    run_command(body)


from .importers.cli import app as import_app  # noqa: E402  (the sub-app imports neither torch nor tensorboard)

app.add_typer(
    import_app,
    name="import",
    help="Convert runs of other tools into fwa's run format: paper-code, torch-prune, tensorboard, wandb-csv "
    "(docs/import.md).",
)


def main():
    # the command line only writes files: never open a window (a library import leaves the backend alone)
    os.environ.setdefault("MPLBACKEND", "Agg")
    app()


if __name__ == "__main__":
    main()
