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


def _std(res, i: int, j: int):
    """The std of a cell, or None where it rests on one seed (n = 1: no spread to show)."""
    s = float(res.std[i, j])
    return s if s == s and res.n[i, j] > 1 else None


def matrix_rows(res) -> list[dict]:
    rows = []
    for i, a in enumerate(res.criteria):
        row = {"criterion": a}
        for j, b in enumerate(res.criteria):
            m, s = res.mean[i, j], _std(res, i, j)
            row[b] = None if m != m else (f"{m:.3f}±{s:.3f}" if s is not None else f"{m:.3f}")
        rows.append(row)
    return rows


def _ref(res) -> str:
    v = float(res.reference_value)
    return f"{res.reference_name} = {v:.3f}" if v == v else f"{res.reference_name} = –"


#: the reference of each --at: the criterion whose sets it compares across seeds, and what they are
_REFERENCE_OF = {
    "J_r": ("random", "the random criterion's first-update sets"),
    "J_init": ("init", "the initial masks"),
}


def reference_missing(res, *, whose: str = "these runs have") -> str:
    """Why the reference of ``res`` is not available ("" when it is): it needs 2 or more seeds."""
    v = float(res.reference_value)
    if v == v or res.reference_name not in _REFERENCE_OF:
        return ""
    crit, what = _REFERENCE_OF[res.reference_name]
    seeds = int(res.n[res.criteria.index(crit)].max()) if crit in res.criteria else 0
    have = f"{seeds} seed" + "s" * (seeds != 1) if crit in res.criteria else f"no run of criterion {crit}"
    return f"{res.reference_name} needs ≥ 2 seeds: it compares {what} across seeds, and {whose} {have}"


def matrix_latex(res, title: str) -> str:
    """A Jaccard matrix as booktabs: one row per criterion, mean ± std over seeds in each cell."""
    from ..latex import MeanStd, latex_table

    rows = [
        {
            "criterion": a,
            **{b: MeanStd(float(res.mean[i, j]), _std(res, i, j)) for j, b in enumerate(res.criteria)},
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
        return f"Jaccard at {self.at} ({_ref(res)}, {res.groups} group(s))"

    def to_json(self) -> dict:
        return self.res.to_json() | {"separated_by": []}

    def tables(self, fmt: str) -> list[Table]:
        res, title = self.res, self.title
        rows = (lambda: matrix_rows(res)) if fmt == "table" else (lambda: records(res.to_frame()))
        return [Table(title, rows, lambda: matrix_latex(res, title))]

    def notes(self, fmt: str) -> list[str]:
        why = reference_missing(self.res)
        return [f"note: {_ref(self.res)}: {why}"] if why else []

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
            title = f"Jaccard at {self.at}, {where} ({_ref(res)})"
            out.append(Table(title, matrix_rows(res), lambda res=res, title=title: matrix_latex(res, title)))
        return out

    def notes(self, fmt: str) -> list[str]:
        missing = [(key, res) for key, res in self.results.items() if reference_missing(res)]
        if not missing:
            return []
        key, res = missing[0]
        where = ", ".join(f"{f}={fmt_cell(v)}" for f, v in key)
        return [
            f"note: {_ref(res)} in {len(missing)} of {len(self.results)} groups (e.g. {where}): "
            f"{reference_missing(res, whose='that group has')}"
        ]

    def narrowing(self, tables: list[Table]) -> dict[str, list]:
        """The fields that separate the groups, each with its values: a filter on one narrows the matrices."""
        values: dict[str, dict] = {}
        for key in self.results:
            for f, v in key:
                values.setdefault(f, {})[v] = None
        return {f: list(vs) for f, vs in values.items()}

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
