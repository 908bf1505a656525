"""``fwa cd-diagram``: the critical-difference analysis of the criteria over blocks of runs, or of a results
table (``--input``), with its rows, its LaTeX and the notes a reader should see."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .. import analyses as A
from ..artifacts.io import open_regular
from ..artifacts.select import in_sweeps
from ..errors import UserError, error_text
from .base import Figure, Result, Table
from .select import Selection

__all__ = ["MAX_INPUT_BYTES", "CDTable", "cd_diagram", "read_scores"]

MAX_INPUT_BYTES = 256 * 2**20  # cd-diagram --input: a results table, never gigabytes


@dataclass
class CDTable(Result):
    """A :class:`~fwanalysis.stats.cd.CDResult` as ``fwa cd-diagram`` shows it: ``metric`` names the score column
    of its LaTeX, ``groups`` and ``separated_by`` say how the blocks were formed, ``highlight`` the methods
    its figure draws bold."""

    res: object
    metric: str
    groups: int
    separated_by: list
    highlight: tuple = ()

    def to_json(self) -> dict:
        return self.res.to_json() | {"groups": self.groups, "separated_by": self.separated_by}

    def tables(self, fmt: str) -> list[Table]:
        res = self.res
        title = f"N = {res.n_blocks}, CD = {res.cd:.3f}, {res.omnibus} p = {res.omnibus_pvalue:.2g}"
        out = [Table(title, lambda: self.rows(fmt), self.latex)]
        if fmt == "table" and res.pairwise:
            ms = res.pairwise["methods"]
            holm = ", Holm-adjusted" if res.test == "wilcoxon-holm" else ""
            out.append(
                Table(
                    f"pairwise p ({res.test}{holm})",
                    [{"method": a, **{b: res.pairwise["p"][i][j] for j, b in enumerate(ms)}} for i, a in enumerate(ms)],
                )
            )
        return out

    def notes(self, fmt: str) -> list[str]:
        if fmt != "table":
            return []
        res, out = self.res, []
        if self.separated_by:
            out.append(f"blocks are also kept apart by: {', '.join(self.separated_by)}")
        decision = "rejects" if res.significant else "does not reject"
        out.append(
            f"{res.omnibus} at α = {res.alpha} {decision} (p = {res.omnibus_pvalue:.3g}); cliques: "
            + ("; ".join(", ".join(q) for q in res.cliques) or "none")
        )
        return out + [f"warning: {w}" for w in res.warnings]

    def figure(self) -> Figure:
        from ..figures import draw_cd

        methods = list(self.res.methods)
        unknown = [h for h in self.highlight if h not in methods]
        if unknown:  # a user's --highlight, said before anything is drawn
            raise UserError(f"highlight {unknown[0]!r} is not one of the methods: {', '.join(methods)}")
        return Figure("fig03a-cd-all", self.res, lambda r: draw_cd(r, highlight=tuple(self.highlight)))

    def rows(self, fmt: str) -> list[dict]:
        """One row per method for a table; tidy ``kind, method, other, value`` rows for CSV (rank: average rank;
        clique: the clique's number; pairwise: the pair's p; control: Bonferroni-Dunn p)."""
        res = self.res
        if fmt != "csv":
            rows = []
            for m in res.methods:
                row = {
                    "method": m,
                    "avg_rank": res.avg_ranks[m],
                    "score_mean": res.score_mean.get(m),
                    "score_std": res.score_std.get(m),
                }
                if res.control is not None:
                    row["p_vs_" + res.control["method"]] = res.control["p"].get(m)
                rows.append(row)
            return rows
        rows = [{"kind": "rank", "method": m, "other": "", "value": res.avg_ranks[m]} for m in res.methods]
        rows += [
            {"kind": "clique", "method": m, "other": "", "value": i} for i, q in enumerate(res.cliques, 1) for m in q
        ]
        rows += [
            {"kind": "pairwise", "method": r["method"], "other": r["other"], "value": r["p"]}
            for r in res.pairwise_rows()
        ]
        if res.control is not None:
            rows += [
                {"kind": "control", "method": m, "other": res.control["method"], "value": p}
                for m, p in res.control["p"].items()
            ]
        return rows

    def latex(self) -> str:
        """Each method's score (mean ± std over blocks) and average rank, best of each in bold."""
        from ..latex import MeanStd, latex_table

        res, metric = self.res, self.metric
        rows = [
            {"method": m, metric: MeanStd(res.score_mean.get(m), res.score_std.get(m)), "avg. rank": res.avg_ranks[m]}
            for m in res.methods
        ]
        pick = min if res.lower_is_better else max
        best_score = pick(res.score_mean.values())
        best_rank = min(res.avg_ranks.values())
        bold = {(i, metric) for i, m in enumerate(res.methods) if res.score_mean.get(m) == best_score}
        bold |= {(i, "avg. rank") for i, m in enumerate(res.methods) if res.avg_ranks[m] == best_rank}
        decision = "rejects" if res.significant else "does not reject"
        caption = (
            f"{metric} over {res.n_blocks} blocks and average ranks; {res.omnibus} {decision} at alpha = {res.alpha} "
            f"(p = {res.omnibus_pvalue:.3g})"
        )
        if math.isfinite(res.cd):
            caption += f", Nemenyi CD = {res.cd:.3f}"
        return latex_table(rows, bold=bold, caption=caption)


def cd_diagram(
    sel: Selection,
    *,
    metric: str = "test_acc",
    input_file: Path | None = None,
    wide: bool = False,
    highlight: tuple = (),
    **options,
) -> CDTable:
    """Rank the criteria over blocks of the selected runs, or the methods of the results table ``input_file``;
    ``options`` go to :func:`~fwanalysis.analyses.cd_result` (alpha, lower_is_better, test, omnibus, control,
    allow_insignificant). Where the paths hold a whole study, the runs of its accuracy spec are ranked."""
    if input_file is not None:
        scores = read_scores(input_file, wide=wide, on_note=sel.on_note)
        groups, sep = int(scores["block"].nunique()), []
    else:

        def accuracy_study(runs):
            # a whole study holds the Δt, λ, batch ... studies too, whose blocks are other designs: rank the
            # accuracy study, as the paper's Fig. 3 does (and as `fwa report` draws it); chosen before
            # repeats are dropped, so an accuracy run repeated by another spec stays in
            if sel.flt.sweep or not any(r.config.get("sweep") == "accuracy" for r in runs):
                return runs
            sel.on_note(
                "note: ranking the accuracy study's runs (sweep accuracy), as the paper's Fig. 3 does; "
                "--sweep NAME ranks another sweep's runs instead"
            )
            return [r for r in runs if in_sweeps(r, ("accuracy",))]

        scores = A.cd_scores(sel.runs(keep=accuracy_study), metric=metric)
        groups, sep = scores.attrs["groups"], scores.attrs["separated_by"]
    try:
        res = A.cd_result(scores, **options)
    except ValueError as e:  # the statistics refuse the blocks the runs or the table gave (one method, ...)
        raise UserError(str(e)) from e
    return CDTable(res, metric if input_file is None else "score", groups, sep, tuple(highlight))


def read_scores(path: Path, *, wide: bool = False, on_note=lambda line: None):
    """The (block, method, score) table of --input: long as written, or melted from a wide table."""
    import pandas as pd

    try:
        f = open_regular(path, max_bytes=MAX_INPUT_BYTES)  # a FIFO is refused, never waited on
    except FileNotFoundError:
        raise UserError(f"--input {path}: no such file") from None
    except (OSError, ValueError) as e:  # not a regular file, too large, unreadable
        raise UserError(f"--input {error_text(e)}") from None
    try:
        with f:
            df = pd.read_parquet(f) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(f)
    except Exception as e:  # noqa: BLE001 - any reader failure is a user input problem
        raise UserError(f"--input {path}: cannot read ({type(e).__name__}: {e})") from None
    long_cols = ("block", "method", "score")
    if not wide and all(k in df.columns for k in long_cols):
        return df
    if not wide and any(k in df.columns for k in ("method", "score")):
        missing = [k for k in long_cols if k not in df.columns]
        raise UserError(
            f"--input {path}: missing columns {missing}; have {list(map(str, df.columns))} "
            "(a long table needs block, method, score; a wide one a column per method, with --wide)"
        )
    if df.shape[1] < 2:
        raise UserError(f"--input {path}: a wide table needs a column per method; have {list(map(str, df.columns))}")
    first = df.columns[0]
    if pd.api.types.is_numeric_dtype(df[first]):
        blocks, methods = [f"row {i + 1}" for i in range(len(df))], list(df.columns)
        named = "its row numbers"
    else:
        blocks, methods = df[first].astype(str).tolist(), list(df.columns[1:])
        named = f"column {first!r}"
    text = [str(m) for m in methods if not pd.api.types.is_numeric_dtype(df[m])]
    if text:
        raise UserError(
            f"--input {path}: read as a wide table (a column per method), but column(s) {text} hold text, not scores"
        )
    if len(methods) < 2:
        raise UserError(f"--input {path}: a wide table needs at least 2 method columns; have {list(map(str, methods))}")
    if not wide:
        on_note(
            f"note: --input {path} has no block/method/score columns: read as a wide table, blocks named by {named}, "
            f"methods {', '.join(map(str, methods))} (--wide says so and silences this note)"
        )
    return pd.DataFrame(
        {
            "block": [b for b in blocks for _ in methods],
            "method": [str(m) for _ in blocks for m in methods],
            "score": df[methods].to_numpy(dtype=float).ravel(),
        }
    )
