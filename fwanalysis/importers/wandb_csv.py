"""``fwa import wandb-csv``: a Weights & Biases run history exported as CSV, as tidy metric rows.

Two shapes are read. A run's history (``run.history()`` or ``run.scan_history()`` written with
``DataFrame.to_csv``, or the run page's table export): one row per ``wandb.log`` call, the columns ``_step``,
``_runtime``, ``_timestamp``, the logged keys (``train/loss``, ``val/acc``, ``epoch``, ...), empty cells
where a row did not log a key. A chart's "Export CSV": a ``Step`` column and ``<run name> - <key>`` columns,
with ``__MIN`` and ``__MAX`` companions; it must hold a single run.

The file is read whole and checked before anything is written: it is opened through
:func:`~fwanalysis.artifacts.io.read_regular` (a FIFO or device is refused, a file above
:data:`MAX_CSV_BYTES` too), parsed with the ``csv`` module, and a line with more or fewer fields than the
header, or a step that is not a whole number from 0 to 2**63 - 1, is an error naming the file and the
line (with ``skip_bad``: the line is left out and counted). The metric cells are converted to numbers in
one vectorised pass per block of lines, so the cost is linear in the file's bytes however wide it is.
"""

from __future__ import annotations

import csv
import io
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from fwanalysis.artifacts.io import read_regular
from fwanalysis.artifacts.schema import MAX_STEP

from .common import EPOCH_TAGS

__all__ = ["read_history", "read_text", "read_header", "History", "skipped_note", "MAX_CSV_BYTES"]

#: A CSV file larger than this is refused before it is read (docs/import.md).
MAX_CSV_BYTES = 2**30
_BLOCK_CELLS = 2**20  # metric cells converted at a time: bounds the memory of the text cells held

Series = dict[str, list[tuple[int, float]]]


@dataclass
class History:
    """What :func:`read_history` read: the metric series, the epoch series, what ``skip_bad`` left out
    (``ragged_lines``, ``bad_step_lines``), and the number of lines without a step (left out)."""

    series: Series
    epochs: list[tuple[int, float]]
    skipped: dict[str, int] = field(default_factory=lambda: {"ragged_lines": 0, "bad_step_lines": 0})
    stepless: int = 0


def skipped_note(skipped: dict[str, int]) -> str:
    """What ``--skip-bad`` left out of the CSV, in words."""
    return (
        f"{skipped.get('ragged_lines', 0)} lines with more or fewer fields than the header, "
        f"{skipped.get('bad_step_lines', 0)} lines whose step is not a whole number from 0 to {MAX_STEP}"
    )


def read_text(path: Path) -> str:
    """The text of the CSV file ``path`` (UTF-8, at most :data:`MAX_CSV_BYTES`, a regular file only)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ValueError(f"{path}: no such file")
    return _text(path)


def read_header(path: Path, text: str) -> list[str]:
    """The column names of the CSV ``text`` of ``path`` (checked as :func:`read_history` checks them)."""
    return _header(path, csv.reader(io.StringIO(text, newline="")))


def read_history(
    path: Path, *, step_column: str | None = None, skip_bad: bool = False, text: str | None = None
) -> History:
    """The metric series of an exported history, all lines checked first.

    The step of a row is ``step_column`` if given, else ``_step`` (W&B's own counter: the number of the
    ``wandb.log`` call unless the run logged with ``step=``), else a chart export's ``Step``. Columns
    starting with ``_`` (W&B's ``_runtime``, ``_timestamp``, ``_wandb``...) and columns without a number
    are not metrics; non-finite values are left out, as are lines with an empty step cell. ``text``: the file's
    text when it was read already (:func:`read_text`)."""
    path = Path(path)
    rows = csv.reader(io.StringIO(read_text(path) if text is None else text, newline=""))
    cols = _header(path, rows)
    step_column = _step_column(path, cols, step_column)
    metrics = [
        i
        for i, c in enumerate(cols)
        if c != step_column and not c.startswith("_") and not c.endswith(("__MIN", "__MAX"))
    ]
    names = _metric_names(path, cols, metrics, step_column)
    out = History({}, [])
    si = cols.index(step_column)
    pick = operator.itemgetter(*metrics) if len(metrics) > 1 else (lambda row: [row[i] for i in metrics])
    steps: list[int] = []
    blocks: list[np.ndarray] = []
    block: list[Sequence[str]] = []
    line = rows.line_num
    try:
        for row in rows:
            start, line = line + 1, rows.line_num
            if not row:
                continue  # a blank line
            if len(row) != len(cols):
                _bad(
                    path, f"line {start}: {len(row)} fields, the header has {len(cols)}", skip_bad, out, "ragged_lines"
                )
                continue
            try:
                step = _step(row[si])
            except ValueError:
                _bad(
                    path,
                    f"line {start}: column {step_column!r} holds {_short(row[si])}, "
                    f"not a step (a whole number from 0 to {MAX_STEP})",
                    skip_bad,
                    out,
                    "bad_step_lines",
                )
                continue
            if step is None:
                out.stepless += 1
                continue
            steps.append(step)
            block.append(pick(row))
            if len(block) * max(len(metrics), 1) >= _BLOCK_CELLS:
                blocks.append(_numbers(block, len(metrics)))
                block = []
    except csv.Error as e:
        raise ValueError(f"{path}: line {rows.line_num}: cannot be read as CSV ({e})") from None
    blocks.append(_numbers(block, len(metrics)))
    _fill(out, names, np.array(steps, dtype=np.int64), np.concatenate(blocks))
    return out


def _bad(path: Path, problem: str, skip_bad: bool, out: History, key: str) -> None:
    """A bad line: the one error, or (``skip_bad``) counted under ``key``."""
    if not skip_bad:
        raise ValueError(f"{path}: {problem}")
    out.skipped[key] += 1


def _text(path: Path) -> str:
    """The file's text (UTF-8, a byte-order mark dropped), read through :func:`read_regular`."""
    data = read_regular(path, max_bytes=MAX_CSV_BYTES)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(f"{path}: line {line}: not UTF-8 text (byte offset {e.start})") from None


def _header(path: Path, rows) -> list[str]:
    """The column names of the first line (an empty one named ``Unnamed: <i>``, as pandas names the index
    column ``DataFrame.to_csv`` writes); a name given twice is refused."""
    try:
        header = next(rows, None)
    except csv.Error as e:
        raise ValueError(f"{path}: line {rows.line_num}: cannot be read as CSV ({e})") from None
    if not header:
        raise ValueError(f"{path}: empty, or no header on the first line")
    cols = [c if c else f"Unnamed: {i}" for i, c in enumerate(header)]
    seen: dict[str, int] = {}
    for i, c in enumerate(cols):
        if c in seen:
            raise ValueError(f"{path}: line 1: column {c!r} appears twice (columns {seen[c] + 1} and {i + 1})")
        seen[c] = i
    return cols


def _listing(cols: list[str]) -> str:
    return ", ".join(cols[:8]) + (", ..." if len(cols) > 8 else "")


def _step_column(path: Path, cols: list[str], step_column: str | None) -> str:
    """The step column: the one named, else ``_step``, else ``Step``."""
    if step_column is None:
        step_column = next((c for c in ("_step", "Step") if c in cols), None)
        if step_column is None:
            raise ValueError(
                f"{path}: no _step or Step column; name the step column with --step-column (columns: {_listing(cols)})"
            )
    elif step_column not in cols:
        raise ValueError(f"{path}: no column {step_column!r} (columns: {_listing(cols)})")
    return step_column


def _metric_names(path: Path, cols: list[str], metrics: list[int], step_column: str) -> list[str]:
    """The names of the metric columns: a chart export's ``<run> - <key>`` becomes ``<key>`` (one run only)."""
    names = [cols[i] for i in metrics]
    if step_column == "Step" and names and all(" - " in c for c in names):
        runs = sorted({c.split(" - ", 1)[0] for c in names})
        if len(runs) > 1:
            raise ValueError(
                f"{path}: a chart export of {len(runs)} runs ({', '.join(runs[:4])}); export one run at a time"
            )
        names = [c.split(" - ", 1)[1] for c in names]
    return names


def _short(cell: str) -> str:
    return repr(cell if len(cell) <= 40 else cell[:40] + "...")


def _step(cell: str) -> int | None:
    """The step in a cell (``12``, ``12.0``, ``1.2e3``): None when empty, ``ValueError`` for anything but a
    whole number from 0 to :data:`MAX_STEP` (``-1``, ``2.5``, ``inf``, ``nan``, ``1e20``, text)."""
    s = cell.strip()
    if not s:
        return None
    try:
        v = int(s)
    except ValueError:
        try:
            d = Decimal(s)
        except InvalidOperation:
            raise ValueError(s) from None
        # compared as a decimal before int(): 1e999999999 is never expanded
        if not d.is_finite() or d != d.to_integral_value() or not 0 <= d <= MAX_STEP:
            raise ValueError(s) from None
        v = int(d)
    if not 0 <= v <= MAX_STEP:
        raise ValueError(s)
    return v


def _numbers(block: list[Sequence[str]], width: int) -> np.ndarray:
    """The cells of a block of lines as float64 (lines x metric columns) in one ``pandas.to_numeric``:
    empty cells and text are NaN."""
    import pandas as pd

    if not block or not width:
        return np.empty((len(block), width))
    cells = np.empty(len(block) * width, dtype=object)
    cells[:] = [c for row in block for c in row]
    return np.asarray(pd.to_numeric(cells, errors="coerce"), dtype=np.float64).reshape(len(block), width)


def _fill(out: History, names: list[str], steps: np.ndarray, values: np.ndarray) -> None:
    """``out.series`` (and ``out.epochs``, from an epoch column: the last one when there are several) from the
    steps and the value matrix: each finite value one point; a column without any is not a series (text,
    media, an empty column)."""
    finite = np.isfinite(values)
    cols, lines = np.nonzero(finite.T)  # by column, lines in order
    points = list(zip(steps[lines].tolist(), values[lines, cols].tolist()))
    b = np.searchsorted(cols, np.arange(len(names) + 1)).tolist()
    out.series = {names[j]: points[b[j] : b[j + 1]] for j in np.flatnonzero(finite.any(axis=0)).tolist()}
    for _, tag in sorted((names.index(t), t) for t in EPOCH_TAGS if t in out.series):
        out.epochs = out.series.pop(tag)
