"""``fwa import wandb-csv``: a Weights & Biases run history exported as CSV, as tidy metric rows.

Two shapes are read. A run's history (``run.history()`` or ``run.scan_history()`` written with
``DataFrame.to_csv``, or the run page's table export): one row per ``wandb.log`` call, the columns ``_step``,
``_runtime``, ``_timestamp``, the logged keys (``train/loss``, ``val/acc``, ``epoch``, ...), empty cells
where a row did not log a key. A chart's "Export CSV": a ``Step`` column and ``<run name> - <key>`` columns,
with ``__MIN`` and ``__MAX`` companions; it must hold a single run.
"""

from __future__ import annotations

import math
from pathlib import Path

from .common import EPOCH_TAGS

__all__ = ["read_history"]


def read_history(path: Path, *, step_column: str | None = None) -> tuple[dict[str, list[tuple[int, float]]], list[tuple[int, float]]]:
    """``({key: [(step, value)]}, [(step, epoch)])`` from an exported history.

    The step of a row is ``step_column`` if given, else ``_step`` (W&B's own counter: the number of the
    ``wandb.log`` call unless the run logged with ``step=``), else a chart export's ``Step``. Columns
    starting with ``_`` (W&B's ``_runtime``, ``_timestamp``, ``_wandb``...) and columns without a number
    are not metrics."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        df = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise ValueError(f"{path}: cannot be read as CSV ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    cols = [str(c) for c in df.columns]
    df.columns = cols
    if step_column is None:
        step_column = next((c for c in ("_step", "Step") if c in cols), None)
        if step_column is None:
            raise ValueError(f"{path}: no _step or Step column; name the step column with --step-column (columns: {', '.join(cols[:8])}"
                             f"{', ...' if len(cols) > 8 else ''})")
    elif step_column not in cols:
        raise ValueError(f"{path}: no column {step_column!r} (columns: {', '.join(cols[:8])}{', ...' if len(cols) > 8 else ''})")
    metrics = [c for c in cols if c != step_column and not c.startswith("_") and not c.endswith(("__MIN", "__MAX"))]
    if step_column == "Step" and metrics and all(" - " in c for c in metrics):  # a chart export: "<run> - <key>"
        runs = sorted({c.split(" - ", 1)[0] for c in metrics})
        if len(runs) > 1:
            raise ValueError(f"{path}: a chart export of {len(runs)} runs ({', '.join(runs[:4])}); export one run at a time")
        df = df.rename(columns={c: c.split(" - ", 1)[1] for c in metrics})
        metrics = [c.split(" - ", 1)[1] for c in metrics]
    steps = pd.to_numeric(df[step_column], errors="coerce")
    bad = steps.notna() & ((steps < 0) | (steps != steps.round()))
    if bad.any():
        raise ValueError(f"{path}: column {step_column!r} holds {steps[bad].iloc[0]!r}, not a step (a whole number >= 0)")
    series: dict[str, list[tuple[int, float]]] = {}
    epochs: list[tuple[int, float]] = []
    for c in metrics:
        values = pd.to_numeric(df[c], errors="coerce")
        keep = steps.notna() & values.notna()
        if not keep.any():
            continue  # text, media or an empty column
        points = [(int(s), float(v)) for s, v in zip(steps[keep], values[keep]) if math.isfinite(float(v))]
        if c in EPOCH_TAGS:
            epochs = points
        else:
            series[c] = points
    return series, epochs
