"""The analyses whose result is one tidy frame: never-removed weights, ITOP, the loss gap, a metric vs density
or vs the update period."""

from __future__ import annotations

from .. import analyses as A
from ..vocab import LOWER_IS_BETTER
from .base import Figure, FrameResult, separated_title, wide_latex
from .select import Selection

__all__ = ["accuracy", "itop", "loss_gap", "never_removed", "update_period"]


def never_removed(sel: Selection) -> FrameResult:
    df = sel.compute(A.never_removed_rows, sel.runs())
    title = separated_title("kept / removed by every criterion (final masks)", df)
    return FrameResult(df, title, Figure("fig19-never-removed", df))


def itop(sel: Selection) -> FrameResult:
    df = sel.compute(A.itop_rows, sel.runs())
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
    return FrameResult(shown, separated_title("ITOP ratio", df), Figure("fig11-itop", A.itop_vs_update_period(df)))


def loss_gap(sel: Selection) -> FrameResult:
    from ..figures import draw_loss_gap

    df = sel.compute(A.loss_gap_table, sel.runs(baselines=True))
    # the left panel of Fig. 4
    return FrameResult(df, separated_title("loss gap (val − train)", df), Figure("fig04-loss-gap", df, draw_loss_gap))


def _metric_vs(df, *, what: str, columns: str, metric: str, figure_id: str) -> FrameResult:
    title = separated_title(f"{metric} vs {what}", df)
    return FrameResult(
        df,
        title,
        Figure(figure_id, df),
        latex=lambda: wide_latex(df, columns=columns, title=title, higher_is_better=metric not in LOWER_IS_BETTER),
    )


def accuracy(sel: Selection, *, metric: str = "test_acc") -> FrameResult:
    df = A.accuracy_table(sel.runs(baselines=True), metric=metric)
    return _metric_vs(df, what="density", columns="density", metric=metric, figure_id="fig01-accuracy-vs-density")


def update_period(sel: Selection, *, metric: str = "test_acc") -> FrameResult:
    df = A.update_period_table(sel.runs(), metric=metric)
    return _metric_vs(df, what="update period", columns="update_period", metric=metric, figure_id="fig05-update-period")
