"""``fwa import``: runs of other tools into run format v1 (docs/import.md). Parses, calls the importers, prints.

    fwa import paper-code save/mlp-snip --out artifacts/imported --set criterion=snip model=mlp-large dataset=cifar10
    fwa import torch-prune ckpt/step-*.pt --out artifacts/imported --set criterion=magnitude
    fwa import tensorboard runs/exp1 --run artifacts/imported/<run> --map Loss/train=train:loss
    fwa import wandb-csv history.csv --out artifacts/imported --set model=my-net seed=0

torch is imported only when paper-code or torch-prune runs, tensorboard only when tensorboard runs.
"""

from __future__ import annotations

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


from . import metrics_cli  # noqa: E402, F401  (registers tensorboard and wandb-csv, after the commands above)
