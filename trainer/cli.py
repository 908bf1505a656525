"""``fw-train``: train DST runs and write them as fwa artifacts (docs/cli.md).

fw-train run                                   # small MLP on the embedded digits data, < 1 min on a CPU
fw-train run --criterion snip --density 0.05 --growth gradient --out artifacts/mine
fw-train sweep specs/jaccard.toml --jobs 2     # a whole study, resuming what is done
fw-train models | datasets
"""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fwanalysis.vocab import CRITERIA, FORMATS, GROWTH, INITS, SCHEDULES, SCOPES, STATE_DUMPS, TRAINED_METHODS

app = typer.Typer(
    help="Train Dynamic Sparse Training runs and record every topology update (fwa artifacts, format v1).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# User text (paths, run ids, messages quoting values) is printed as rich.text.Text, never parsed as markup
# or emoji codes: a path holding "[/bold]" or ":x:" prints as it is.
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def _one_line(msg: object) -> str:
    return " ".join(str(msg).split())


def _fail(msg: str, code: int = 1):
    """Print ``error: <msg>`` as one line on stderr and exit with ``code``."""
    err.print(Text.assemble(("error:", "red"), " ", _one_line(msg)))
    raise typer.Exit(code)


def _reason(e: OSError) -> str:
    """What went wrong, in lower case: ``no space left on device``, ``permission denied``, ..."""
    text = e.strerror or (os.strerror(e.errno) if isinstance(e.errno, int) else "") or str(e) or type(e).__name__
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _write_error(out: str, e: OSError) -> str:
    """One line naming the study directory, the file that could not be written (when known) and why."""
    where = f"{e.filename}: " if e.filename is not None else ""
    return f"cannot write the run under --out {out}: {where}{_reason(e)}"


def _check_out(out: str) -> None:
    """Refuse an ``--out`` that cannot hold a run before any data is loaded: the path or one of its
    parents is not a directory, or the deepest existing one is not writable."""
    p = Path(out)
    for a in (p, *p.parents):
        try:
            if not (a.exists() or a.is_symlink()):
                continue
        except OSError as e:
            _fail(f"--out {out}: {a}: {_reason(e)}")
        if not a.is_dir():
            what = "exists and is not a directory" if a == p else "is not a directory"
            _fail(f"--out {out}: {a} {what}")
        if not os.access(a, os.W_OK | os.X_OK):
            _fail(f"--out {out}: {a} is not writable (permission denied)")
        return


@app.command()
def run(
    model: str = typer.Option("mlp-small", help="Model from `fw-train models`."),
    dataset: str = typer.Option("digits", help="Data set from `fw-train datasets` (digits is embedded)."),
    method: str | None = typer.Option(
        None, help=f"{' | '.join(TRAINED_METHODS)}. Default: dst (dense if --density 1)."
    ),
    criterion: str | None = typer.Option(None, help=f"Pruning criterion: {', '.join(CRITERIA)}. Default magnitude."),
    mest_lambda: float = typer.Option(1.0, help="λ of MEST's |θ| + λ|∇θ|."),
    growth: str = typer.Option("random", help=f"Growth criterion: {' | '.join(GROWTH)}."),
    density: float = typer.Option(0.1, help="Overall density D in (0, 1]."),
    init: str | None = typer.Option(None, help=f"{' | '.join(INITS)}. Default: ER for MLPs, ERK for conv nets."),
    prune_fraction: float = typer.Option(0.5, help="ρ: fraction of active weights removed at the first update."),
    prune_schedule: str = typer.Option("cosine", help=f"{' | '.join(SCHEDULES)}."),
    update_period: str = typer.Option(
        "25", help="Δt: steps between updates (e.g. 800), or epochs with 'ep' (e.g. 2ep)."
    ),
    update_end: str | None = typer.Option(
        None, help="T: last step with an update (steps or 'ep'). Default: end of training."
    ),
    pruning_scope: str = typer.Option("local", help=f"{' | '.join(SCOPES)}: per layer or across layers."),
    global_regrowth: str | None = typer.Option(
        None,
        help="With --pruning-scope global: across-layers (one ranking; default) "
        "| per-layer (each layer regrows what it lost).",
    ),
    update_order: str = typer.Option(
        "sparselearning", help="sparselearning (the authors' order) | step-first (score after the optimizer step)."
    ),
    update_batch_size: int | None = typer.Option(
        None, help="Examples in the gradient that scores and grows at an update. Default: the minibatch."
    ),
    regrown_weights: str = typer.Option(
        "keep", help="A weight regrown at the update that pruned it: keep (its value, the authors' code) | zero (RigL)."
    ),
    growth_count: str = typer.Option(
        "exact",
        help="exact (regrow as many as pruned: the paper) "
        "| binomial (random growth: each inactive weight with p = k/n, the authors' code).",
    ),
    prune_fraction_end: float = typer.Option(
        0.0,
        help="Cosine: the fraction ρ_t reaches at T; 0 is the paper's ½ρ(1 + cos πt/T), the authors' code ran 0.005.",
    ),
    prune_linear_every: int = typer.Option(
        600, help="Linear schedule: steps between its ×0.99 decays of ρ (the authors' 600)."
    ),
    prune_rounding: str = typer.Option(
        "ceil", help="The count of an update, ρ_t × active weights: ceil (the authors' code) | nearest."
    ),
    augment: bool | None = typer.Option(
        None,
        "--augment/--no-augment",
        help="The authors' training augmentation. Default: on for cifar10, cifar100, tinyimagenet.",
    ),
    epochs: int = typer.Option(30, help="Training epochs."),
    batch_size: int = typer.Option(128, help="Minibatch size."),
    lr: float | None = typer.Option(None, help="Learning rate. Default: the model's (paper App. A.2)."),
    momentum: float = typer.Option(0.9, help="SGD momentum."),
    weight_decay: float | None = typer.Option(None, help="Weight decay. Default: the model's."),
    dropout: float = typer.Option(0.0, help="Dropout before hidden FC layers (dense dropout baseline)."),
    width: float = typer.Option(
        1.0,
        help="Multiplier of the hidden widths (units, channels) of mlp-small, mlp-large, cnn-small, lenet5-caffe; "
        "1: the paper's network.",
    ),
    seed: int = typer.Option(0, help="Seed: data split, weights, sparse init, data order."),
    device: str = typer.Option("cpu", help="torch device: cpu, cuda, cuda:1, mps."),
    data_dir: str | None = typer.Option(None, help="Where the data set's files are (else its environment variable)."),
    out: str = typer.Option("artifacts/runs", help="Study directory; the run goes into a new directory below it."),
    shadow: str = typer.Option("all", help="Criteria whose would-be pruned sets are recorded: all | none | c1,c2."),
    state: str = typer.Option("none", help=f"Dump weights and gradients before updates: {' | '.join(STATE_DUMPS)}."),
    mask_every: int = typer.Option(
        0, help="A mask snapshot every K updates (besides step 0 and the last step); 0: none."
    ),
    overwrite: bool = typer.Option(False, help="Replace a complete run with the same config."),
    progress: bool = typer.Option(True, help="Show a progress bar on stderr."),
):
    """Train one run and write it under --out. With no options: DST with magnitude pruning on digits."""
    from .config import ConfigError, TrainConfig, parse_period

    if method is None:
        method = "dense" if density >= 1 and criterion is None else "dst"
    if method == "dst" and criterion is None:
        criterion = "magnitude"

    def steps(v: str):  # an amount of steps as an int; anything else ("2ep", typos) is checked as text
        period = parse_period(v)
        return period.steps if period is not None and period.steps is not None else v

    cfg = TrainConfig(
        model=model,
        dataset=dataset,
        method=method,
        criterion=criterion,
        mest_lambda=mest_lambda,
        growth=growth,
        density=density,
        init=init,
        prune_fraction=prune_fraction,
        prune_schedule=prune_schedule,
        update_period=steps(update_period),
        update_end=steps(update_end) if update_end is not None else None,
        pruning_scope=pruning_scope,
        global_regrowth=global_regrowth,
        update_order=update_order,
        update_batch_size=update_batch_size,
        regrown_weights=regrown_weights,
        growth_count=growth_count,
        prune_fraction_end=prune_fraction_end,
        prune_rounding=prune_rounding,
        prune_linear_every=prune_linear_every,
        augment=augment,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        momentum=momentum,
        weight_decay=weight_decay,
        dropout=dropout,
        width=width,
        seed=seed,
    )
    from fwanalysis.artifacts.lock import RunLocked

    from .data import DatasetError, DatasetNotFound

    try:
        from .loop import check_args, train

        check_args(
            cfg, device=device, shadow=shadow, state=state, mask_every=mask_every
        )  # before anything is read or written
        _check_out(out)
        path = train(
            cfg,
            out=out,
            device=device,
            shadow=shadow,
            state=state,
            mask_every=mask_every,
            data_dir=data_dir,
            progress=progress and sys.stderr.isatty(),
            exist="overwrite" if overwrite else "resume-incomplete",
        )
    except (ConfigError, DatasetNotFound, DatasetError) as e:
        _fail(str(e))
    except RunLocked as e:  # another process writes this run now: not a write failure of ours
        _fail(f"{e}; wait for it to finish, or choose another --out")
    except FileExistsError as e:
        if e.errno is None and "already exists" in str(e):  # the writer's refusal to replace a complete run
            _fail(f"{e}; pass --overwrite to replace it, or another --out")
        _fail(str(e) if e.errno is None else _write_error(out, e))
    except OSError as e:  # data errors are DatasetError by now: what is left failed writing the run
        _fail(_write_error(out, e))
    except KeyboardInterrupt:
        _fail("interrupted; the run is not marked complete (the same command trains it again)", code=130)
    from fwanalysis.artifacts import load_run

    r = load_run(path)
    s = r.summary
    acc = f"{s['test_acc']:.4f}" if s.get("test_acc") is not None else "-"
    err.print(
        Text.assemble(("complete", "green"), f" {r.run_id}: test_acc {acc}, {len(r.update_steps)} updates -> {path}")
    )
    print(path)


@app.command(
    help="Expand each SPEC into runs and execute those not yet complete (a run left running by a dead process is "
    "redone).\n\nSeveral specs with the local executor are one sweep: their runs, in the order given, share one "
    "pool of --jobs workers. With Slurm each spec is submitted as its own job array, in turn, with its own Slurm "
    "settings."
)
def sweep(
    specs: list[str] = typer.Argument(
        ...,
        metavar="SPEC",
        help="Sweep specs (TOML), e.g. specs/jaccard.toml; several run as one sweep (one pool of --jobs workers).",
    ),
    profile: str = typer.Option("quick", help="Profile of the spec: quick (embedded data, CPU) or paper."),
    out: str | None = typer.Option(
        None, help="Where the runs go, each to <out>/<model>/<run-id>/ (default: artifacts)."
    ),
    executor: str = typer.Option(
        "local",
        help="local (processes here) | slurm (job arrays through submitit) "
        "| submitit-local (the slurm path through submitit's local executor, for testing).",
    ),
    jobs: int = typer.Option(1, help="Parallel processes for --executor local."),
    dry_run: bool = typer.Option(False, help="List the runs and whether each is done; train nothing."),
    fmt: str = typer.Option(
        "table",
        "--format",
        help='table | json: {"runs": [{"run_id", "config", "done"}]} alone on stdout '
        "(with --dry-run instead of the table; without, after training).",
    ),
    device: str | None = typer.Option(None, help="torch device for every run (overrides the spec)."),
    data_dir: str | None = typer.Option(None, help="Data directory for every run."),
    max_runs: int | None = typer.Option(
        None,
        help="Refuse a spec that expands to more runs than this (counted before any run is built). Default: 100,000.",
    ),
    partition: str | None = typer.Option(None, help="Slurm partition (overrides the spec)."),
    time_min: int | None = typer.Option(None, "--time", help="Slurm time limit per run, minutes."),
    gpus: int | None = typer.Option(None, help="GPUs per Slurm task."),
    array_parallelism: int | None = typer.Option(None, help="Slurm array tasks running at once."),
    slurm_folder: str | None = typer.Option(
        None, help="submitit's log folder (default: the spec's [slurm] folder, else slurm-logs)."
    ),
):
    # the help is the decorator's: Typer's help prints a paragraph's line breaks as they stand, so one
    # wrapped to fit here would print broken at this margin
    from .config import ConfigError
    from .sweep import MAX_RUNS, PLAN_FORMATS, SpecError, SweepFailed, execute, expand, load_spec

    if fmt not in PLAN_FORMATS:
        _fail(f"--format {fmt!r} is not one of: {', '.join(PLAN_FORMATS)}")
    limit = MAX_RUNS if max_runs is None else max_runs
    slurm = {
        "partition": partition,
        "time": time_min,
        "gpus": gpus,
        "array_parallelism": array_parallelism,
        "folder": slurm_folder,
    }
    try:
        loaded = [load_spec(spec) for spec in specs]
        planned = [
            expand(s, profile=profile, out=out, device=device, data_dir=data_dir, max_runs=limit) for s in loaded
        ]
        if len(loaded) == 1:
            execute(planned[0], executor=executor, jobs=jobs, dry_run=dry_run, spec=loaded[0], fmt=fmt, slurm=slurm)
        elif executor == "local" or dry_run:
            unique: dict = {}  # a spec given twice trains its runs once
            for runs in planned:
                for r in runs:
                    unique.setdefault(r.run_id, r)
            execute(
                list(unique.values()),
                executor=executor,
                jobs=jobs,
                dry_run=dry_run,
                fmt=fmt,
                title=f"sweep {' + '.join(s.name for s in loaded)}",
            )
        elif fmt == "json":
            _fail(f"--format json prints one document: give --executor {executor} one spec at a time")
        else:
            for s, runs in zip(loaded, planned):
                execute(runs, executor=executor, jobs=jobs, spec=s, fmt=fmt, slurm=slurm)
    except (SpecError, ConfigError, SweepFailed) as e:
        _fail(str(e))


def _print(rows: list[dict], title: str, fmt: str, key: str):
    if fmt == "json":
        print(json.dumps({key: rows}, indent=2))
        return
    if fmt == "csv":
        import csv

        w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
        return
    console = Console()
    if not console.is_terminal:  # piped or captured: print every cell whole, never cut, wrapped or ellipsized
        console = Console(width=10_000)
    t = Table(title=title)
    for col in rows[0]:
        t.add_column(col, overflow="fold")
    for r in rows:  # cells as Text: a path or name is never read as markup
        t.add_row(
            *(
                Text("" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))
                for v in r.values()
            )
        )
    console.print(t)


def _check_format(fmt: str):
    if fmt not in FORMATS:
        _fail(f"--format {fmt!r} is not one of: {', '.join(FORMATS)}")


@app.command()
def models(fmt: str = typer.Option("table", "--format", help="table | csv | json.")):
    """The model registry, with dense parameter counts on each model's reference input."""
    _check_format(fmt)
    from .models import MODELS, param_count

    rows = []
    for name, spec in MODELS.items():
        row = {"name": name, "params": param_count(name)}
        if fmt != "json":
            row |= {
                "input": "x".join(map(str, spec.reference_input)),
                "outputs": spec.reference_outputs,
                "data": spec.reference_dataset,
                "init": spec.default_init,
                "lr": spec.default_lr,
            }
            if fmt == "csv":
                row["description"] = spec.description
        rows.append(row)
    _print(rows, "fw-train models (dense parameters on the reference input)", fmt, "models")


@app.command()
def datasets(
    fmt: str = typer.Option("table", "--format", help="table | csv | json."),
    data_dir: str | None = typer.Option(None, help="Also look here."),
):
    """The dataset registry: which are embedded, which are found locally, and how to point at each."""
    _check_format(fmt)
    from .data import dataset_status

    try:
        status = dataset_status(data_dir=data_dir)
    except OSError as e:  # e.g. a --data-dir below a folder that cannot be listed
        _fail(f"--data-dir {data_dir}: {e.filename if e.filename is not None else data_dir}: {_reason(e)}")
    rows = []
    for d in status:
        found = d.get("found")
        rows.append(
            {
                "name": d["name"],
                "embedded": bool(d.get("embedded")),
                "found": str(found)
                if found
                else ("embedded" if d.get("embedded") else "not found" if fmt != "json" else None),
                "env var": d.get("env_var"),
                "expected": d.get("expected"),
            }
        )
    _print(rows, "fw-train datasets", fmt, "datasets")


@app.command()
def tables(
    out: str = typer.Option("reports", help="Folder for table01-criteria ... table04-datasets (.csv and .md)."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace files in --out that fwa did not write (or that changed since), naming them; "
        "without it nothing is written.",
    ),
):
    """Write the paper's Tables 1-4 as fwa runs them: criteria and scores, the model registry with parameter
    counts, every spec's paper-profile DST settings, and the data sets with their splits. Like fwa report,
    it replaces only the files fwa wrote in --out (its .fwa-written.json), unless --force."""
    _check_out(out)
    from .tables import write_tables

    def replacing(names: list[str]) -> None:
        err.print(
            Text(
                f"--force: replacing {len(names)} file{'s' * (len(names) > 1)} in {out} "
                f"that fwa did not write (or that changed since): {', '.join(names)}"
            )
        )

    try:
        paths = write_tables(out, force=force, replacing=replacing)
    except OSError as e:
        _fail(_write_error(out, e))
    except ValueError as e:  # files in --out that fwa did not write
        _fail(str(e))
    for p in paths:
        err.print(Text(f"wrote {p}"))


def main():
    import importlib.util

    if importlib.util.find_spec("torch") is None:  # `pip install .` installs the analysis only (pyproject.toml)
        err.print(
            Text.assemble(
                ("error:", "red"),
                " fw-train needs PyTorch, which is not installed here: pip install torch, "
                "or install fwa with its train extra (pip install '.[train]' in the repository); "
                "fwa's analyses work without it",
            )
        )
        raise SystemExit(1)
    try:
        app()
    finally:
        # the process ends here: the last garbage collection of its exit would walk every object torch made,
        # 0.3 s of CPU that frees nothing the end of the process does not; frozen objects are left out of it
        gc.freeze()


if __name__ == "__main__":
    main()
