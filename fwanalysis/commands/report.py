"""``fwa claims`` and ``fwa report``: the paper's findings as tested claims, and every figure at once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .. import results as R
from ..console import UserError, err, handles_errors, one_line_paragraphs, progress_bar, stderr_is_terminal
from ..results.select import LOADING_BAR_AT
from .common import TABLE_FORMATS, Common, Paths, QuietOpt, SkipBadOpt, analysis_command, app, report_bad, warn
from .output import show


@analysis_command(formats=(*TABLE_FORMATS, "md"), plot=False)
def claims(c: Common):
    """Each finding of the paper as a quantity with a stated test, computed on the runs given (docs/claims.md).

    One row per claim: its verdict (holds, fails, or no data when the runs it needs are absent), value, threshold
    and the number of runs used. Each claim takes its runs from the report figures it rests on, as they select
    them (by config sweep, untagged runs counting for every claim, and by the figure's setups and filters), one
    profile at a time: a study holding several profiles
    needs --config profile=NAME. JSON: {"claims": [{"id", "text", "source", "quantity", "value", "paper_value",
    "threshold", "verdict", "runs", "detail"}]}; --format md prints a markdown table and one section per claim with
    its detail.

    Example: fwa claims artifacts --format md
    """
    show(R.claims(c.sel), c.fmt, everything=c.everything)


@app.command()
@one_line_paragraphs
@handles_errors
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
    quiet: QuietOpt = False,
    jobs: Annotated[
        int,
        typer.Option(
            min=1,
            help="Figures drawn at once, each in a process of its own (default: one per CPU core); the report is "
            "the same whatever the number.",
        ),
    ] = os.cpu_count() or 1,
):
    """Every paper figure whose runs exist: PNG, PDF and CSV per figure; index.md, a front page (the claims at a glance,
    each figure with its caption and the regime measured from its runs), index.html, the same as a web page that needs
    no network, provenance.md (run ids and run.json hashes) and claims.md.

    The report replaces only the files fwa wrote in --out (listed in its .fwa-written.json with their sha256): a
    file of yours there, one you edited, or a symbolic link refuses it before anything is written, unless
    --force."""

    from rich.progress import Progress

    from ..report import check_out, write_report

    try:
        check_out(out, only=only or (), force=force)  # before any run is read
    except ValueError as e:  # an --out that cannot be written, or holds files fwa did not write
        raise UserError(str(e)) from e
    ps = list(paths or [Path("artifacts")])
    track = progress_bar(quiet=quiet)
    runs = R.report_runs(
        ps,
        profile=profile,
        on_bad=report_bad if skip_bad else None,
        on_warning=warn,
        progress=lambda items, total: track(items, total, "loading runs", at_least=LOADING_BAR_AT),
    )

    def replacing(names: list[str]) -> None:
        err.print(
            f"--force: replacing {len(names)} file{'s' * (len(names) > 1)} in {out} that fwa did not write "
            f"(or that changed since): {', '.join(names)}"
        )

    # redrawn at each figure, by no thread of its own: the processes that draw the figures are then forked from
    # this one (report_figures), not started by a fork server, which imports fwa again (seconds)
    bar = Progress(console=err, transient=True, disable=quiet or not stderr_is_terminal(), auto_refresh=False)
    with bar as prog:
        task = prog.add_task("report", total=None)
        prog.refresh()

        def progress(fid: str) -> None:
            prog.update(task, description=fid, advance=1)
            prog.refresh()

        items = write_report(
            runs,
            out,
            studies=[str(p) for p in ps],
            only=only or (),
            force=force,
            replacing=replacing,
            jobs=jobs,
            progress=progress,
        )
    for i in items:
        if i.status == "error":
            err.print(f"failed: {i.id}: {i.note}")
    ok = sum(i.status == "ok" for i in items)
    err.print(f"{ok} figures written to {out}/ ({len(runs)} runs); index: {out / 'index.md'}, {out / 'index.html'}")
