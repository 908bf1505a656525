"""fw-train's progress bar (rich): what it counts, a bar, done of total, a line of news, time spent and left."""

from __future__ import annotations

__all__ = ["progress_bar"]


def progress_bar(**options):
    """A ``rich.progress.Progress`` with fw-train's columns; ``options`` go to it (``console``, ``transient``,
    ``disable``). Tasks carry the news in their ``info`` field."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}", markup=False),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        **options,
    )
