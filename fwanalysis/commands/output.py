"""How ``fwa`` shows a result: its JSON, its tables (rich, CSV or booktabs LaTeX), its notes on stderr and its
figure (``--plot``)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from ..artifacts.io import json_ready
from ..console import csv_cell, err, printable
from ..results import Result, Table
from ..results.base import fmt_cell


def _stdout_console() -> Console:
    """A console for tables on stdout. On a terminal rich fits the table to the width and folds long
    cells; piped or redirected, the width is unbounded so that no cell is ever cut or wrapped."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=100_000)


def show(result: Result, fmt: str) -> None:
    """Print ``result`` as ``fmt``: one JSON document, markdown, or each of its tables; then its notes on stderr.

    Table cells and titles are plain text: a run id or config value holding ``[red]`` prints as written."""
    if fmt == "json":
        sys.stdout.write(json.dumps(json_ready(result.to_json()), indent=2, allow_nan=False) + "\n")
    elif fmt == "md":
        sys.stdout.write(result.markdown() + "\n")
    else:
        for t in result.tables(fmt):
            _print_table(t, fmt)
    for line in result.notes(fmt):
        err.print(line)


def _print_table(t: Table, fmt: str) -> None:
    """``t`` as a rich table, CSV or a booktabs LaTeX table (its own, e.g. the paper's wide shape, or its rows)."""
    if fmt == "latex":
        from ..latex import latex_table

        sys.stdout.write(t.latex() if t.latex is not None else latex_table(json_ready(_rows(t)), caption=t.title))
        return
    rows = _rows(t)
    if fmt == "csv":
        if rows:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(
                {k: csv_cell(printable(v)) if isinstance(v, str) else v for k, v in r.items()} for r in json_ready(rows)
            )
            sys.stdout.write(buf.getvalue())
        return
    table = RichTable(title=Text(printable(t.title)) if t.title else None)
    cols = list(rows[0]) if rows else []
    for c in cols:
        table.add_column(Text(printable(c)), overflow="fold")
    for r in rows:
        table.add_row(*(Text(fmt_cell(r.get(c))) for c in cols))
    _stdout_console().print(table)


def _rows(t: Table) -> list[dict]:
    return (t.rows() if callable(t.rows) else t.rows) or []


def plot(result: Result, path: Path | None) -> None:
    """Draw the result's figure with its registry entry (the same code path as ``fwa report``) into ``path``."""
    if path is None:
        return
    import matplotlib.pyplot as plt

    from ..figures import FIGURES, draw_styled, save_figure

    fig_spec = result.figure()
    fig = draw_styled(fig_spec.draw or FIGURES[fig_spec.id].draw, fig_spec.data)
    try:
        save_figure(fig, path)
    finally:
        plt.close(fig)
    err.print(f"wrote {path}")
