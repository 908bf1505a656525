"""``fwa import tensorboard`` and ``fwa import wandb-csv``: metric series into a new run or an existing one
(docs/import.md). Registered on :mod:`fwanalysis.importers.cli`'s app, after paper-code and torch-prune.

tensorboard is imported only when the tensorboard command runs.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from fwanalysis.console import one_line_paragraphs, printable

from .cli import (
    MapOpt,
    OutOpt,
    OverwriteOpt,
    RunIdOpt,
    RunOpt,
    SetOpt,
    SkipBadOpt,
    StepsPerEpochOpt,
    _err,
    _run,
    _settings,
    _split_sources,
    app,
)
from .common import some_names as _some

AccuracyScaleOpt = Annotated[
    str,
    typer.Option(
        "--accuracy-scale",
        metavar="auto|percent|fraction",
        help="How accuracy (metrics named acc) was logged: percent (divided by 100), fraction (imported as logged), "
        "or auto (default): a series within 0..1 is fractions, one with values above 1 and all within 0..100 is "
        "percent (divided, said in a note), anything else an error.",
    ),
]
ExtendStepsOpt = Annotated[
    bool,
    typer.Option(
        "--extend-steps",
        help="With --run: import steps past the run's total_steps and raise it to the last one (said in a note). "
        "Without it such steps are refused: they are not the run's optimizer steps.",
    ),
]


def _write_metrics(
    series: dict,
    epochs,
    *,
    mapping: list[str] | None,
    run: Path | None,
    out: Path | None,
    settings: dict,
    steps_per_epoch: int | None,
    run_id: str | None,
    overwrite: bool,
    imported_from: dict,
    accuracy_scale: str,
    extend: bool,
    hint: str,
) -> None:
    """Metric rows of ``series`` into a new run (``out``) or an existing one (``run``, its steps checked against
    the run's: ``extend`` and ``hint`` as :func:`~fwanalysis.importers.common.check_steps` takes them),
    ``imported_from`` (kind, source, what ``--skip-bad`` skipped) recorded in its run.json."""
    from .common import add_metrics, metric_rows, parse_map, write_metrics_run

    if (run is None) == (out is None):
        raise ValueError(
            "give either --run RUN_DIR (add to an existing run) or --out STUDY (a new run, its config from --set)"
        )
    if run is not None and (settings or run_id):
        raise ValueError("--set and --run-id make a new run: use them with --out, not with --run")
    if run is None and extend:
        raise ValueError("--extend-steps raises the total_steps of an existing run: use it with --run")
    rows, skipped = metric_rows(
        series,
        mapping=parse_map(mapping),
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        accuracy_scale=accuracy_scale,
        note=_err,
    )
    if skipped:
        _err(f"note: not imported (no --map and no default name): {_some(skipped)}")
    if not rows:
        source = imported_from["source"]
        raise ValueError(
            f"{', '.join(source) if isinstance(source, list) else source}: no metric to import (tags found: "
            f"{_some(list(series)) or 'none'}); name them with --map TAG=SPLIT:NAME"
        )
    if run is not None:
        path, replaced = add_metrics(run, rows, imported_from=imported_from, extend=extend, hint=hint, note=_err)
        typer.echo(
            f"added {len(rows)} metric rows to {path}"
            + (f" ({replaced} rows of the same metrics replaced)" if replaced else "")
        )
    else:
        path = write_metrics_run(out, settings, rows, run_id=run_id, overwrite=overwrite, imported_from=imported_from)
        typer.echo(f"imported {len(rows)} metric rows -> {path}")


def _provenance(kind: str, source, skip_bad: bool, skipped: dict[str, int], said: str) -> dict:
    """run.json's record of an import: its kind and source and, with ``--skip-bad``, the counts of what was
    skipped, which a note (``said``: the counts in words) also prints."""
    if not skip_bad:
        return {"kind": kind, "source": source}
    _err(f"note: --skip-bad skipped {said}; recorded in run.json")
    return {"kind": kind, "source": source, "skipped": dict(skipped)}


@app.command("tensorboard")
@one_line_paragraphs
def tensorboard(
    logdirs: Annotated[
        list[Path],
        typer.Argument(
            metavar="LOGDIR",
            help="Directories of one run's events.out.tfevents.* files (read with every folder below them that holds "
            "some), or such files; their scalars go into one run.",
            show_default=False,
        ),
    ],
    run: RunOpt = None,
    out: OutOpt = None,
    set_: SetOpt = None,
    map_: MapOpt = None,
    steps_per_epoch: StepsPerEpochOpt = None,
    run_id: RunIdOpt = None,
    overwrite: OverwriteOpt = False,
    skip_bad: SkipBadOpt = False,
    accuracy_scale: AccuracyScaleOpt = "auto",
    extend_steps: ExtendStepsOpt = False,
):
    """TensorBoard scalars into metrics.parquet of an existing run (--run) or of a new one (--out with --set).

    A tag's event step is the row's step; its epoch is step / --steps-per-epoch, else the last value of an "epoch"
    tag at or before that step, else empty (NaN). A tag of a folder below LOGDIR is named FOLDER/TAG (Keras'
    train/epoch_loss and validation/epoch_loss; SummaryWriter.add_scalars' Loss_train/Loss), and a tag found in more
    than one LOGDIR is named after its LOGDIR's folder the same way. Needs the tensorboard package (pip install
    'fwa\\[tensorboard]').

    Example: fwa import tensorboard runs/exp1 --out artifacts/tb --set model=my-net dataset=cifar10 seed=0 --map
    Loss/train=train:loss
    """

    def body():
        from .common import EPOCH_TAGS
        from .tensorboard import read_scalars, skipped_note

        paths, extra = _split_sources(logdirs)
        settings = _settings(set_, extra)
        read, lost = [], Counter()
        for p in paths:  # every file read and checked before anything is written
            tags, skipped = read_scalars(p, skip_bad=skip_bad)
            read.append((p, tags))
            lost.update(skipped)
        seen = Counter(tag for _, tags in read for tag in tags)
        series: dict = {}
        for p, tags in read:  # a tag of several LOGDIRs (train/ and validation/ given apart) keeps its folder's name
            for tag, points in tags.items():
                name = f"{p.name}/{tag}" if seen[tag] > 1 and tag not in EPOCH_TAGS else tag
                if name in series:
                    raise ValueError(f"{p}: its tag {tag!r} would be named {name!r}, as one of another LOGDIR is")
                series[name] = points
        epochs = next((series.pop(t) for t in EPOCH_TAGS if t in series), None)
        imported_from = _provenance("tensorboard", [str(p) for p in paths], skip_bad, lost, skipped_note(lost))
        _write_metrics(
            series,
            epochs,
            mapping=map_,
            run=run,
            out=out,
            settings=settings,
            steps_per_epoch=steps_per_epoch,
            run_id=run_id,
            overwrite=overwrite,
            imported_from=imported_from,
            accuracy_scale=accuracy_scale,
            extend=extend_steps,
            hint="import steps that count the run's optimizer steps",
        )

    _run(body)


@app.command("wandb-csv")
@one_line_paragraphs
def wandb_csv(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="One W&B run history exported as CSV (columns _step, _runtime, _timestamp, the logged keys, maybe "
            "epoch), a one-run chart export (Step, '<run> - <key>'), or a runs table (one row per run: Name, ..., "
            "config and summary columns; one run each).",
            show_default=False,
        ),
    ],
    run: RunOpt = None,
    out: OutOpt = None,
    set_: SetOpt = None,
    map_: MapOpt = None,
    step_column: Annotated[
        str | None,
        typer.Option(
            "--step-column",
            help="The column holding the optimizer step (default _step, W&B's log counter, or a chart export's Step), "
            "e.g. a global_step you logged.",
        ),
    ] = None,
    steps_per_epoch: StepsPerEpochOpt = None,
    run_id: RunIdOpt = None,
    overwrite: OverwriteOpt = False,
    skip_bad: SkipBadOpt = False,
    accuracy_scale: AccuracyScaleOpt = "auto",
    extend_steps: ExtendStepsOpt = False,
):
    """A W&B history CSV into metrics.parquet of an existing run (--run) or of a new one (--out with --set).

    Each non-empty cell of a metric column is one row at that line's step. The epoch comes from --steps-per-epoch,
    else from an epoch column, else it is empty (NaN). Columns starting with _ are W&B's own and are not imported.

    A runs table (W&B's "Export CSV" of a project's runs: no _step column, one row per run with a Name or ID column)
    becomes one run per row in --out: its config columns (bare config keys such as seed and density, config.KEY, or
    a config column of dicts) are its config, its summary columns (summary.KEY, a summary column of dicts, or any
    other numeric column) its final metrics. Two rows with the same config are refused, never merged.

    Example: fwa import wandb-csv history.csv --run
    artifacts/mine/cifar10-my-net-dst-snip-random-d0.1-s0-1a2b3c4d5e6f7081 --map val_accuracy=val:acc
    """

    def body():
        from .wandb_csv import read_header, read_history, read_text, skipped_note
        from .wandb_runs import is_runs_table

        paths, extra = _split_sources(files)
        if len(paths) > 1:
            raise ValueError(f"give one CSV file (a run's history), got {len(paths)}")
        text = read_text(paths[0])
        if is_runs_table(read_header(paths[0], text)):
            _runs_table(paths[0], text, extra)
            return
        h = read_history(
            paths[0], step_column=step_column, skip_bad=skip_bad, text=text
        )  # every line checked before anything is written
        if h.stepless:
            _err(f"note: {h.stepless} lines have no value in the step column and are left out")
        imported_from = _provenance("wandb-csv", str(paths[0]), skip_bad, h.skipped, skipped_note(h.skipped))
        _write_metrics(
            h.series,
            h.epochs,
            mapping=map_,
            run=run,
            out=out,
            settings=_settings(set_, extra),
            steps_per_epoch=steps_per_epoch,
            run_id=run_id,
            overwrite=overwrite,
            imported_from=imported_from,
            accuracy_scale=accuracy_scale,
            extend=extend_steps,
            hint="W&B's _step counts wandb.log calls: name the column of the optimizer step with --step-column",
        )

    def _runs_table(path: Path, text: str, extra: list[str]) -> None:
        """One run per row of a runs table (fwanalysis/importers/wandb_runs.py)."""
        from .common import parse_map
        from .wandb_csv import skipped_note
        from .wandb_runs import import_runs_table

        what = f"{path}: a W&B runs table (one row per run, a Name or ID column, no _step)"
        if step_column is not None:
            raise ValueError(f"{what} has no steps: import it without --step-column, one run per row")
        if run is not None or out is None:
            raise ValueError(f"{what} makes one run per row: give the study they go into with --out STUDY")
        for flag, given in (("--steps-per-epoch", steps_per_epoch), ("--extend-steps", extend_steps)):
            if given:
                raise ValueError(f"{what} has no steps: {flag} does not apply")
        done = import_runs_table(
            path,
            text,
            out,
            settings=_settings(set_, extra),
            mapping=parse_map(map_),
            accuracy_scale=accuracy_scale,
            run_id=run_id,
            overwrite=overwrite,
            skip_bad=skip_bad,
            provenance=lambda skipped: _provenance("wandb-csv", str(path), skip_bad, skipped, skipped_note(skipped)),
            note=_err,
        )
        for row, run_dir in done:
            typer.echo(f"imported {path} line {row.line} ({printable(row.name)}) -> {run_dir}")

    _run(body)
