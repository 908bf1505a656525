"""``fwa jaccard``: the layer-averaged Jaccard index between what the criteria remove (first update, end of
training, over time), one matrix per group of runs."""

from __future__ import annotations

from dataclasses import dataclass

from .. import analyses as A
from .base import Figure, FrameResult, Result, Table, fmt_cell, records

__all__ = ["JaccardGroups", "JaccardMatrix", "jaccard"]

#: (at, std) -> the registry entry that draws it
FIGURES = {
    ("first", False): "fig06a-jaccard-first-update",
    ("end", False): "fig06b-jaccard-end",
    ("first", True): "fig20-jaccard-first-update-std",
    ("end", True): "fig21-jaccard-end-std",
}


def matrix_rows(res) -> list[dict]:
    rows = []
    for i, a in enumerate(res.criteria):
        row = {"criterion": a}
        for j, b in enumerate(res.criteria):
            m, s = res.mean[i, j], res.std[i, j]
            row[b] = None if m != m else (f"{m:.3f}±{s:.3f}" if s == s else f"{m:.3f}")
        rows.append(row)
    return rows


def matrix_latex(res, title: str) -> str:
    """A Jaccard matrix as booktabs: one row per criterion, mean ± std over seeds in each cell."""
    from ..latex import MeanStd, latex_table

    rows = [
        {
            "criterion": a,
            **{b: MeanStd(float(res.mean[i, j]), float(res.std[i, j])) for j, b in enumerate(res.criteria)},
        }
        for i, a in enumerate(res.criteria)
    ]
    return latex_table(rows, caption=title)


@dataclass
class JaccardMatrix(Result):
    """One matrix (the matched runs form one group)."""

    res: object
    at: str
    figure_id: str

    @property
    def title(self) -> str:
        res = self.res
        return f"Jaccard at {self.at} ({res.reference_name} = {res.reference_value:.3f}, {res.groups} group(s))"

    def to_json(self) -> dict:
        return self.res.to_json() | {"separated_by": []}

    def tables(self, fmt: str) -> list[Table]:
        res, title = self.res, self.title
        rows = (lambda: matrix_rows(res)) if fmt == "table" else (lambda: records(res.to_frame()))
        return [Table(title, rows, lambda: matrix_latex(res, title))]

    def figure(self) -> Figure:
        return Figure(self.figure_id, self.res)


@dataclass
class JaccardGroups(Result):
    """One matrix per group, keyed by the fields that separate the groups: ``{((field, value), ...): result}``."""

    results: dict
    at: str
    figure_id: str

    def to_json(self) -> dict:
        return {
            "at": self.at,
            "groups": len(self.results),
            "separated_by": [f for f, _ in next(iter(self.results))],
            "results": [dict(key) | res.to_json() for key, res in self.results.items()],
        }

    def tables(self, fmt: str) -> list[Table]:
        if fmt == "csv":
            return [Table(rows=[dict(key) | r for key, res in self.results.items() for r in records(res.to_frame())])]
        out = []
        for key, res in self.results.items():
            where = ", ".join(f"{f}={fmt_cell(v)}" for f, v in key)
            title = f"Jaccard at {self.at}, {where} ({res.reference_name} = {res.reference_value:.3f})"
            out.append(Table(title, matrix_rows(res), lambda res=res, title=title: matrix_latex(res, title)))
        return out

    def figure(self) -> Figure:
        return Figure(self.figure_id, self.results)


def jaccard(sel, *, at: str = "first", std: bool = False) -> Result:
    """Runs are paired within one group (configs equal but for criterion and seed); cells are means over seeds;
    several groups give a matrix each. ``at``: first, end or time; ``std``: the figure draws the std over seeds."""
    runs = sel.runs()
    if at == "time":
        df = sel.compute(A.jaccard_time_rows, runs)
        return _JaccardTime(df, "Jaccard over time", Figure("fig18-jaccard-over-time", df))
    fn = A.jaccard_first if at == "first" else A.jaccard_end
    fid = FIGURES[(at, std)]
    groups = A.split_groups(runs, always=())
    if len(groups) > 1:  # kept apart: one matrix per group, named by the fields that separate the groups
        return JaccardGroups({key: sel.compute(fn, rs) for key, rs in groups.items()}, at, fid)
    return JaccardMatrix(sel.compute(fn, runs), at, fid)


class _JaccardTime(FrameResult):
    """The Jaccard over training: one row per (run, update, criterion pair)."""

    def to_json(self) -> dict:
        return {"at": "time", "rows": records(self.df), "groups": 1, "separated_by": []}
