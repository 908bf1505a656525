"""What every analysis result knows: its JSON document, the tables it prints (rows and LaTeX) and the figure
it draws, the way autorank's ``RankResult`` feeds ``plot_stats`` and ``latex_table``. The command line only
chooses which to show (``--format``, ``--plot``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..artifacts.io import json_ready
from ..console import printable
from ..vocab import BASELINES

__all__ = ["Figure", "FrameResult", "Result", "Table", "fmt_cell", "frame_doc", "records", "separated_title"]


@dataclass
class Table:
    """One printed table: its title, its rows (a list, or a function making them only when needed) and its own
    LaTeX (None: the rows as a booktabs table captioned with the title)."""

    title: str = ""
    rows: list[dict] | Callable[[], list[dict]] | None = None
    latex: Callable[[], str] | None = None


@dataclass
class Figure:
    """The registry entry ``id`` (fwanalysis.figures) that draws ``data``; ``draw`` replaces the entry's own."""

    id: str
    data: object
    draw: Callable | None = None


class Result:
    """An analysis result: ``to_json()`` (``--format json``), ``tables(fmt)`` (table, csv, latex), ``notes(fmt)``
    (lines for stderr after the output), ``figure()`` (what ``--plot`` draws) and ``ok`` (False: exit 1)."""

    ok = True

    def to_json(self) -> dict:
        raise NotImplementedError

    def tables(self, fmt: str) -> list[Table]:
        raise NotImplementedError

    def notes(self, fmt: str) -> list[str]:
        return []

    def figure(self) -> Figure | None:
        return None

    def narrowing(self, tables: list[Table]) -> dict[str, list]:
        """The fields a filter narrows these tables by (the volume rule, docs/cli.md), each with its values in
        order of appearance: the table columns named like a filter, and the fields that keep runs apart."""
        values: dict[str, dict] = {}
        for t in tables:
            for r in (t.rows() if callable(t.rows) else t.rows) or []:
                for f in (*FILTER_FIELDS, *self.separated_by()):
                    v = r.get(f)
                    if v is not None and not (f == "criterion" and v in BASELINES):
                        values.setdefault(f, {})[v] = None
        return {f: list(vs) for f, vs in values.items()}

    def separated_by(self) -> list[str]:
        """The fields in which the runs of one cell differed, kept apart (the pooling rule)."""
        return []


#: the columns of a table that a filter of the same name narrows (docs/cli.md, "Filters")
FILTER_FIELDS = ("model", "dataset", "growth", "criterion", "density", "update_period", "sweep")


@dataclass
class FrameResult(Result):
    """A tidy frame of an analysis (``attrs``: groups, separated_by) shown as one table."""

    df: object
    title: str
    fig: Figure | None = None
    latex: Callable[[], str] | None = None

    def to_json(self) -> dict:
        return frame_doc(self.df)

    def tables(self, fmt: str) -> list[Table]:
        return [Table(self.title, records(self.df), self.latex)]

    def separated_by(self) -> list[str]:
        return list(self.df.attrs.get("separated_by", []))

    def figure(self) -> Figure | None:
        return self.fig


def records(df) -> list[dict]:
    return [{k: json_ready(v) for k, v in r.items()} for r in df.to_dict(orient="records")]


def frame_doc(df, key: str = "rows") -> dict:
    """The JSON document of a result frame: its rows, how many groups of runs it compared and which
    fields it kept apart (``attrs`` of the analyses' frames)."""
    return {
        key: records(df),
        "groups": int(df.attrs.get("groups", 0)),
        "separated_by": list(df.attrs.get("separated_by", [])),
    }


def separated_title(text: str, df) -> str:
    sep = df.attrs.get("separated_by") or []
    return f"{text} (kept apart by {', '.join(sep)})" if sep else text


def fmt_cell(v) -> str:
    """A value as a table cell: numbers to 4 significant digits, missing ones as –, text escaped."""
    if v is None:
        return "–"
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.4g}"
    return printable(v)


def wide_latex(df, *, columns: str, title: str, higher_is_better: bool = True) -> str:
    """A long mean/std table in the paper's shape: a row per criterion (and what separates it), a
    column per value of ``columns``; the best criterion of each column and group in bold (baselines excluded)."""
    from ..latex import latex_table, wide_rows

    rows = records(df)
    index = [k for k in df.columns if k not in (columns, "mean", "std", "n")]
    wide, best = wide_rows(
        rows,
        index=index,
        columns=columns,
        group=[k for k in index if k != "criterion"],
        not_best=BASELINES,
        higher_is_better=higher_is_better,
    )
    return latex_table(wide, bold=best, caption=title)
