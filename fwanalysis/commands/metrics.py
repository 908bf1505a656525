"""``fwa loss-gap``, ``fwa accuracy``, ``fwa update-period`` and ``fwa cd-diagram``: metrics of the runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import results as R
from ..vocab import METRICS
from .common import Common, analysis_command
from .output import plot, show


@analysis_command("loss-gap")
def loss_gap_cmd(c: Common):
    """Validation loss − training loss per epoch, per method and criterion (mean ± std over seeds). Runs that differ
    in more than criterion and seed (density, model, ...) are kept apart as columns."""
    result = R.loss_gap(c.sel)
    show(result, c.fmt, everything=c.everything)
    plot(result, c.plot)


MetricOpt = Annotated[str, typer.Option("--metric", help=f"Summary metric: {', '.join(METRICS)}.")]


@analysis_command()
def accuracy(c: Common, metric: MetricOpt = "test_acc"):
    """A metric vs density per criterion and growth (mean ± std over seeds), with dense and static baselines.

    Cells average over seeds only: runs that differ in any other config field (Δt, batch size, schedule, ...) get
    that field as a column of their own, and the output lists those fields (JSON "separated_by").
    """

    result = R.accuracy(c.sel, metric=metric)
    show(result, c.fmt, everything=c.everything)
    plot(result, c.plot)


@analysis_command("update-period")
def update_period_cmd(c: Common, metric: MetricOpt = "test_acc"):
    """A metric vs the update period Δt per criterion (mean ± std over seeds); other differing fields are kept apart
    as columns."""

    result = R.update_period(c.sel, metric=metric)
    show(result, c.fmt, everything=c.everything)
    plot(result, c.plot)


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
    from ..stats.cd import OMNIBUS, TESTS

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

    result = R.cd_diagram(
        c.sel,
        metric=metric,
        input_file=input_file,
        wide=wide,
        highlight=tuple(highlight or ()),
        alpha=alpha,
        lower_is_better=lower_is_better,
        test=test,
        omnibus=omnibus,
        control=control,
        allow_insignificant=allow_insignificant,
    )
    show(result, c.fmt, everything=c.everything)
    plot(result, c.plot)
