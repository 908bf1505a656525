"""``fwa jaccard``, ``fwa never-removed`` and ``fwa itop``: the structure of the masks."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import results as R
from ..vocab import JACCARD_AT
from .common import Common, analysis_command
from .output import plot, show

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

    result = R.jaccard(c.sel, at=at, std=std)
    show(result, c.fmt, everything=c.everything)
    plot(result, c.plot)


@analysis_command("never-removed")
def never_removed(c: Common):
    """Per model and seed, on the final masks of runs paired by seed (paper App. K, Fig. 19): weights kept by every
    criterion / weights kept per criterion, and weights outside every final mask / weights outside per criterion.

    The criteria are those of the matched runs (narrow with --criterion). Groups of runs that differ in more than
    criterion and seed get rows of their own, with the separating fields as columns.
    """
    result = R.never_removed(c.sel)
    show(result, c.fmt, everything=c.everything)
    plot(result, c.plot)


@analysis_command()
def itop(c: Common):
    """ITOP ratio per run (Liu et al. 2021): share of weights ever active, rebuilt from the initial mask and every
    update."""
    result = R.itop(c.sel)
    show(result, c.fmt, everything=c.everything)
    plot(result, c.plot)
