"""How ``fwa`` shows a result: its JSON, its tables (rich on a terminal, plain aligned text when piped, CSV or
booktabs LaTeX), its notes on stderr and its figure (``--plot``)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from ..artifacts.io import json_ready
from ..artifacts.select import filter_hint
from ..console import csv_cell, err, printable
from ..results import Result, Table
from ..results.base import fmt_cell


def _stdout_console() -> Console:
    """A console for tables on stdout. On a terminal rich fits the table to the width and folds long
    cells; piped or redirected, the width is unbounded so that no cell is ever cut or wrapped."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=100_000)


def show(result: Result, fmt: str, *, everything: bool = False) -> None:
    """Print ``result`` as ``fmt``: one JSON document, markdown, or each of its tables; then its notes on stderr.

    Table cells and titles are plain text: a run id or config value holding ``[red]`` prints as written. The
    volume rule (docs/cli.md): with ``--format table`` on a terminal, tables past a screenful are left out,
    and a line says how many and which filters narrow them, unless ``everything`` (``--all``)."""
    if fmt == "json":
        sys.stdout.write(json.dumps(json_ready(result.to_json()), indent=2, allow_nan=False) + "\n")
    elif fmt == "md":
        sys.stdout.write(result.markdown() + "\n")
    else:
        tables, left_out = result.tables(fmt), ""
        if fmt == "table" and not everything and stdout_is_terminal():
            tables, left_out = fit_screen(result, tables, shutil.get_terminal_size().lines)
        for t in tables:
            _print_table(t, fmt)
        if left_out:
            sys.stdout.write(left_out + "\n")
    for line in result.notes(fmt):
        err.print(line)


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal: only there does the volume rule cut a table (piped output is complete)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # no stdout, or a closed one
        return False


#: lines a rich table takes besides its rows: title, top rule, header, header rule, bottom rule
FRAME_LINES = 5


def fit_screen(result: Result, tables: list[Table], height: int) -> tuple[list[Table], str]:
    """The tables (whole, or the first one's first rows) that fit a screen of ``height`` lines, and the line
    saying what was left out and how to narrow it ("" when everything fits)."""
    rows = [_rows(t) for t in tables]
    total = sum(map(len, rows))
    budget = max(height - 4, 2 * FRAME_LINES)  # room for that line, a note and the shell's prompt
    if sum(len(r) + FRAME_LINES for r in rows) <= budget:
        return tables, ""
    kept, used = [], 0
    for t, r in zip(tables, rows):
        if used + len(r) + FRAME_LINES > budget:
            if not kept:  # the first table alone is taller than the screen: its first rows
                kept.append(Table(t.title, r[: max(budget - FRAME_LINES, 1)], t.latex))
            break
        kept.append(t)
        used += len(r) + FRAME_LINES
    shown = sum(len(_rows(t)) for t in kept)
    where = f", in {len(kept)} of {len(tables)} tables" if len(tables) > 1 else ""
    hints = [
        f"{filter_hint(f, vals[0])} (1 of {len(vals)})" for f, vals in result.narrowing(tables).items() if len(vals) > 1
    ]
    narrow = f"narrow with a filter, e.g. {', '.join(hints[:4])}" if hints else "narrow with the filters of --help"
    return kept, f"... {shown} of {total} rows shown{where} (a screenful); {narrow}; or print them all with --all"


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
    cols = list(rows[0]) if rows else []
    if not stdout_is_terminal():
        sys.stdout.write(
            plain_table(
                printable(t.title) if t.title else "",
                [printable(c) for c in cols],
                [[fmt_cell(r.get(c)) for c in cols] for r in rows],
            )
        )
        return
    table = RichTable(title=Text(printable(t.title)) if t.title else None)
    for c in cols:
        table.add_column(Text(printable(c)), overflow="fold")
    for r in rows:
        table.add_row(*(Text(fmt_cell(r.get(c))) for c in cols))
    _stdout_console().print(table)


def plain_table(title: str, header: list[str], cells: list[list[str]]) -> str:
    """A table as plain aligned text (stdout not a terminal, docs/cli.md): the title on its own line (if any), the
    header, then a line per row; columns left-aligned, two spaces apart, as wide as their widest cell (no cell cut
    or wrapped), no trailing spaces; a blank line after the table."""
    from rich.cells import cell_len

    lines = [title] if title else []
    if header:
        widths = [max(cell_len(row[i]) for row in (header, *cells)) for i in range(len(header))]
        for row in (header, *cells):
            padded = [cell + " " * (w - cell_len(cell)) for cell, w in zip(row, widths)]
            lines.append("  ".join(padded).rstrip())
    return "\n".join(lines) + "\n\n" if lines else ""


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
