"""What every ``fwa`` analysis command shares: the Typer app, the common options (declared once), their
parsing into a :class:`Common`, and :func:`analysis_command`, which registers a command with them."""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from ..artifacts import ArtifactError
from ..artifacts.select import RunFilter, key_values
from ..console import command_app, err, handles_errors, one_line_paragraphs, progress_bar, repeatable_option
from ..results import Selection
from ..vocab import FORMATS

app = command_app("Analyse Dynamic Sparse Training runs: where to prune (Jaccard, ITOP, critical differences, ...).")

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
ConfigOpt = repeatable_option(
    "--config",
    "KEY=VALUE",
    "Only runs whose config KEY equals VALUE (repeatable), e.g. --config batch_size=128, --config "
    "mest_lambda=0.1; VALUE is read as JSON where it parses (numbers, true, null), else as text.",
)
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
QuietOpt = Annotated[
    bool, typer.Option("--quiet", help="No progress bar (one is drawn on stderr only when it is a terminal).")
]
AllOpt = Annotated[
    bool,
    typer.Option(
        "--all",
        help="With --format table on a terminal, print every table and row even past a screenful (by default "
        "fwa then prints what fits and names the filters that narrow the rest).",
    ),
]

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
    ("quiet", QuietOpt, False),
    ("everything", AllOpt, False),
)


def report_bad(e: ArtifactError) -> None:
    err.print(f"skipped: {e}")


def warn(msg: str) -> None:
    err.print(f"warning: {msg}")


@dataclass
class Common:
    """The common options of a command, parsed: the runs it works on (``sel``), ``--format``, ``--plot`` and
    ``--all`` (``everything``: print every table and row on a terminal); ``--quiet`` is in ``sel.progress``."""

    sel: Selection
    fmt: str
    plot: Path | None
    everything: bool = False


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
    quiet=False,
    everything=False,
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
    sel = Selection(
        list(paths or [Path("artifacts")]),
        flt,
        include_incomplete,
        skip_bad,
        on_bad=report_bad,
        on_warning=warn,
        on_note=err.print,
        progress=progress_bar(quiet=quiet),
    )
    return Common(sel, fmt, plot, everything)


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
    from --help and refuses it with a usage error rather than ignoring it. A failure of the command is shown
    by :func:`~fwanalysis.console.handles_errors`."""

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

        @handles_errors
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
