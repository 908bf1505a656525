"""``fwa ls`` and ``fwa validate``: the runs themselves."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from .. import results as R
from .common import Common, analysis_command
from .output import show


@analysis_command("ls", plot=False)
def ls_(c: Common):
    """One row per run: run_id, model, dataset, method, criterion, growth, density, update_period, seed, status,
    test_acc."""
    show(R.list_runs(c.sel), c.fmt, everything=c.everything)


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
    result = R.validate(c.sel, jobs=jobs, progress=lambda checks, total: c.sel.progress(checks, total, "validating"))
    show(result, c.fmt, everything=c.everything)
    if not result.ok:
        raise typer.Exit(1)
