"""``fwa import``: runs of other tools into run format v1 (docs/import.md). Parses, calls the importers, prints.

    fwa import paper-code save/mlp-snip --out artifacts/imported --set criterion=snip model=mlp-large dataset=cifar10
    fwa import torch-prune ckpt/step-*.pt --out artifacts/imported --set criterion=magnitude
    fwa import tensorboard runs/exp1 --run artifacts/imported/<run> --map Loss/train=train:loss
    fwa import wandb-csv history.csv --out artifacts/imported --set model=my-net seed=0

torch is imported only when paper-code or torch-prune runs, tensorboard only when tensorboard runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from fwanalysis.console import command_app, err, fail, one_line_paragraphs, repeatable_option, run_command

app = command_app(
    "Convert runs of other tools into fwa's run format (docs/import.md): paper-code, torch-prune, tensorboard, "
    "wandb-csv."
)

SetOpt = repeatable_option(
    "--set",
    "KEY=VALUE",
    "A config value of the run (repeatable; several KEY=VALUE after one --set are fine too), e.g. --set "
    "model=resnet56 density=0.1 seed=0. VALUE is read as JSON where it parses (numbers, true, null), else as text.",
)
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="The study (directory) the new run goes into; made if missing.")
]
RunIdOpt = Annotated[
    str | None,
    typer.Option(
        "--run-id", help="The run's id and directory name (default: <dataset>-<model>-...-<hash of the config>)."
    ),
]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace a complete run of the same id (default: refuse it; an incomplete one is always redone).",
    ),
]
MapOpt = repeatable_option(
    "--map",
    "TAG=SPLIT:NAME",
    "Import TAG as the metric (SPLIT, NAME) (repeatable), e.g. --map Loss/train=train:loss, --map lr=:lr. "
    "Without it, tags such as train/loss, val/acc, test_acc, Accuracy/validation, lr are recognised; others are "
    "listed and left out.",
)
RunOpt = Annotated[
    Path | None,
    typer.Option(
        "--run",
        help="Add the metrics to this existing run directory (rows of the same split and name are replaced; summary "
        "updated).",
    ),
]
StepsPerEpochOpt = Annotated[
    int | None,
    typer.Option("--steps-per-epoch", min=1, help="Optimizer steps per epoch: gives each row its epoch (step / N)."),
]
SkipBadOpt = Annotated[
    bool,
    typer.Option(
        "--skip-bad",
        help="Leave out what cannot be read (a damaged or truncated record, a ragged line, a bad step, a FIFO named "
        "like an input) instead of stopping at it; how much was left out is said in a note and recorded in run.json. "
        "Without it such input is an error naming the file and the record, and nothing is written.",
    ),
]


def _err(msg: str) -> None:
    err.print(msg)


def _run(body: Callable[[], None]) -> None:
    """Run a command body (fwa's :func:`~fwanalysis.console.run_command`): bad input, a missing package, a locked
    run or a file system error becomes one ``error:`` line, exit 1; a complete run in the way says how to replace it."""

    def guarded():
        try:
            body()
        except FileExistsError as e:  # RunWriter refusing a complete run of the same id
            if e.strerror is None:
                fail(e, hint="; --overwrite replaces it")
            raise

    run_command(guarded, expected=(ValueError,))


def _settings(set_: list[str] | None, extra: list[str] | None) -> dict:
    """The --set values; keys that are not config keys of the format are kept (as extra config) and named."""
    from fwanalysis.artifacts import CONFIG_KEYS

    from .common import parse_settings

    settings = parse_settings([*(set_ or []), *(extra or [])])
    unknown = [k for k in settings if k not in CONFIG_KEYS]
    if unknown:
        _err(
            "note: not config keys of the run format, kept as extra config "
            f"(runs pair only when they agree on them): {', '.join(unknown)}"
        )
    return settings


def _split_sources(sources: list[Path]) -> tuple[list[Path], list[str]]:
    """The source paths, and the KEY=VALUE words that followed a --set (``--set a=1 b=2``: the shell hands
    ``b=2`` over as one more argument). A word with ``=`` that names an existing file stays a source."""
    paths, extra = [], []
    for s in sources:
        if "=" in str(s) and not s.exists():
            extra.append(str(s))
        else:
            paths.append(s)
    if not paths:
        raise ValueError("give at least one source to import")
    return paths, extra


@app.command("paper-code")
@one_line_paragraphs
def paper_code(
    sources: Annotated[
        list[Path],
        typer.Argument(
            metavar="DIR",
            help="Directories of the authors' runs (their save_dir), each holding jaccard-in-time-<step>.th files and "
            "maybe results.npy; or first-update checkpoints (the model_last.pth of a --manual_stop true run, or its "
            "directory); one run each.",
            show_default=False,
        ),
    ],
    out: OutOpt = None,
    set_: SetOpt = None,
    trust_pickle: Annotated[
        bool,
        typer.Option(
            "--trust-pickle",
            help="Also read results.npy (train/val/test loss and accuracy, death rate). It is a pickled dict, and "
            "unpickling a file can run any code in it, so it is read only when you say you trust where it came from; "
            "without this flag the masks and sets are imported and the metrics left out (said in one line). The .th "
            "files are always read with torch.load(weights_only=True), which runs no code.",
        ),
    ] = False,
    steps_per_epoch: Annotated[
        int | None,
        typer.Option(
            "--steps-per-epoch",
            min=1,
            help="Batches per epoch of the authors' run (len(train_loader)): results.npy logs per epoch, fwa per "
            "optimizer step. Needed with --trust-pickle.",
        ),
    ] = None,
    final: Annotated[
        Path | None,
        typer.Option(
            "--final",
            help="The run's last checkpoint (the authors' model_last.pth, whose 'masks' hold the final mask), read "
            "with torch.load(weights_only=True): gives what the last recorded update regrew and a final mask snapshot. "
            "One source only.",
        ),
    ] = None,
    run_id: RunIdOpt = None,
    overwrite: OverwriteOpt = False,
    skip_bad: SkipBadOpt = False,
):
    """The authors' Jaccard recordings (alooow/fantastic_weights_paper, --jaccard true) as format-v1 runs.

    A first-update checkpoint (--manual_stop true: model_last.pth with masks_before) becomes a run with that one
    update: pruned = masks_before & ~masks, nothing grown, the weights and gradients as its state dump; give --set
    criterion=NAME and update_period=N (its step).

    Each recording jaccard-in-time-<step>.th becomes the update at <step>: every recorded pruner's removed set (mask
    before & ~ mask after) is the shadow set of its fwa criterion (SNIPFixed snip, MESTFixed mest,
    ReciprocalSensitivityFixed rsensitivity, magnitude, SETFixed set, Random random), and the run's own criterion
    (--set criterion=..., required) gives the pruned set. Config comes from --set (method dst, local scope and the
    recorded density unless given). Needs PyTorch. Details and limits: docs/import.md.

    Example: fwa import paper-code save/run1 --out artifacts/paper --set criterion=snip model=mlp-large
    dataset=cifar10 density=0.1 update_period=800 seed=0
    """

    def body():
        from .paper_code import import_paper_code

        paths, extra = _split_sources(sources)
        settings = _settings(set_, extra)
        if out is None:
            raise ValueError("give the study the runs go into with --out STUDY")
        if (run_id is not None or final is not None) and len(paths) > 1:
            raise ValueError("--run-id and --final belong to one run: import one source at a time with them")
        if final is not None and not final.is_file():
            raise ValueError(f"--final {final}: no such file")
        taken: set = set()
        for src in paths:
            path = import_paper_code(
                src,
                out,
                settings=settings,
                trust_pickle=trust_pickle,
                steps_per_epoch=steps_per_epoch,
                run_id=run_id,
                overwrite=overwrite,
                taken=taken,
                final=final,
                skip_bad=skip_bad,
                note=_err,
            )
            typer.echo(f"imported {src} -> {path}")

    _run(body)


@app.command("torch-prune")
@one_line_paragraphs
def torch_prune(
    checkpoints: Annotated[
        list[Path],
        typer.Argument(
            metavar="CHECKPOINT",
            help="state_dicts saved with torch.save, of one model pruned with torch.nn.utils.prune (<name>_orig and "
            "<name>_mask entries), one training run.",
            show_default=False,
        ),
    ],
    out: OutOpt = None,
    set_: SetOpt = None,
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps",
            metavar="S1,S2,...",
            help="The optimizer step of each checkpoint, in the order given. Default: the last number in each file "
            "name (ckpt-800.pt is step 800).",
        ),
    ] = None,
    run_id: RunIdOpt = None,
    overwrite: OverwriteOpt = False,
    skip_bad: SkipBadOpt = False,
):
    """Checkpoints of a model pruned with torch.nn.utils.prune as one format-v1 run.

    Masked layers are the <name> with both <name>_orig and <name>_mask. Every checkpoint gives a mask snapshot at
    its step; where the masks of two consecutive checkpoints differ, the later step gets an update: pruned = before
    & ~after, grown = after & ~before. Steps come from the file names unless --steps gives them. Needs PyTorch.
    Details: docs/import.md.

    Example: fwa import torch-prune ckpt/step-0.pt ckpt/step-800.pt ckpt/step-1600.pt --out artifacts/pruned --set
    criterion=magnitude model=my-net seed=0
    """

    def body():
        from .torch_prune import import_torch_prune

        paths, extra = _split_sources(checkpoints)
        settings = _settings(set_, extra)
        if out is None:
            raise ValueError("give the study the run goes into with --out STUDY")
        step_list = None
        if steps is not None:
            try:
                step_list = [int(s) for s in steps.replace(" ", "").split(",") if s]
            except ValueError:
                raise ValueError(
                    f"--steps {steps!r}: expected whole numbers separated by commas, e.g. 0,800,1600"
                ) from None
        path = import_torch_prune(
            paths,
            out,
            settings=settings,
            steps=step_list,
            run_id=run_id,
            overwrite=overwrite,
            skip_bad=skip_bad,
            note=_err,
        )
        typer.echo(f"imported {len(paths)} checkpoints -> {path}")

    _run(body)


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
) -> None:
    """Metric rows of ``series`` into a new run (``out``) or an existing one (``run``), ``imported_from`` (kind,
    source, what ``--skip-bad`` skipped) recorded in its run.json."""
    from .common import add_metrics, metric_rows, parse_map, write_metrics_run

    if (run is None) == (out is None):
        raise ValueError(
            "give either --run RUN_DIR (add to an existing run) or --out STUDY (a new run, its config from --set)"
        )
    if run is not None and (settings or run_id):
        raise ValueError("--set and --run-id make a new run: use them with --out, not with --run")
    rows, skipped = metric_rows(series, mapping=parse_map(mapping), epochs=epochs, steps_per_epoch=steps_per_epoch)
    if skipped:
        _err(f"note: not imported (no --map and no default name): {_some(skipped)}")
    if not rows:
        source = imported_from["source"]
        raise ValueError(
            f"{', '.join(source) if isinstance(source, list) else source}: no metric to import (tags found: "
            f"{_some(list(series)) or 'none'}); name them with --map TAG=SPLIT:NAME"
        )
    if run is not None:
        path, replaced = add_metrics(run, rows, imported_from=imported_from)
        typer.echo(
            f"added {len(rows)} metric rows to {path}"
            + (f" ({replaced} rows of the same metrics replaced)" if replaced else "")
        )
    else:
        path = write_metrics_run(out, settings, rows, run_id=run_id, overwrite=overwrite, imported_from=imported_from)
        typer.echo(f"imported {len(rows)} metric rows -> {path}")


def _some(names: list[str], shown: int = 50) -> str:
    """The first ``shown`` names, then how many more (a CSV of 200,000 columns makes no readable line)."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f", ... ({more} more)" if more > 0 else "")


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
                series[f"{p.name}/{tag}" if seen[tag] > 1 and tag not in EPOCH_TAGS else tag] = points
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
            "epoch), or a one-run chart export (Step, '<run> - <key>').",
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
):
    """A W&B history CSV into metrics.parquet of an existing run (--run) or of a new one (--out with --set).

    Each non-empty cell of a metric column is one row at that line's step. The epoch comes from --steps-per-epoch,
    else from an epoch column, else it is empty (NaN). Columns starting with _ are W&B's own and are not imported.

    Example: fwa import wandb-csv history.csv --run
    artifacts/mine/cifar10-my-net-dst-snip-random-d0.1-s0-1a2b3c4d5e6f7081 --map val_accuracy=val:acc
    """

    def body():
        from .wandb_csv import read_history, skipped_note

        paths, extra = _split_sources(files)
        if len(paths) > 1:
            raise ValueError(f"give one CSV file (a run's history), got {len(paths)}")
        h = read_history(
            paths[0], step_column=step_column, skip_bad=skip_bad
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
        )

    _run(body)
