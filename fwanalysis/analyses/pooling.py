"""The pooling rule the analyses share (docs/cli.md, "The pooling rule"), and the lazy pandas import.

Every table of :mod:`fwanalysis.analyses` averages runs over seeds only. A function names the keys of its
cells; any other field in which runs of one cell differ becomes a key of its own (:func:`_separate`),
baselines are shown in every panel of a field that does not apply to them (:func:`_broadcast_baselines`),
and runs that repeat another run's design and seed under another sweep name are counted once
(:func:`_unique`). The result frame says what it did in ``attrs``: "separated_by" (the extra keys) and
"groups" (how many run designs, criterion and seed aside, it compared).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..artifacts import Run
from ..artifacts.select import (
    config_get,
    design,
    drop_repeats,
    group_key,
    varying_fields,
)
from ..vocab import BASELINES, PRUNING_LOOPS, criterion_order


class _Lazy:
    """A module imported on first attribute access: the Jaccard and ITOP paths never need pandas, and
    importing it (with pyarrow) is a quarter of a short ``fwa jaccard`` command's wall time."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        import importlib

        return getattr(importlib.import_module(self._name), attr)


pd = _Lazy("pandas")


config_value = config_get  # a config value, looking into criterion_params too (e.g. mest_lambda)


def _unique(runs: Sequence[Run]) -> list[Run]:
    return drop_repeats(runs)[0]


def _cell_value(run: Run, key: str):
    if key == "criterion":
        return _label(run)
    d = design(run)
    return d[key] if key in d else config_get(run, key)


def _separate(runs: Sequence[Run], keys: Sequence[str]) -> list[str]:
    """Fields beyond ``keys`` (and the seed) in which runs of one cell differ; ``criterion`` is the series label."""
    return [f for f in varying_fields(runs, lambda r: tuple(repr(_cell_value(r, k)) for k in keys)) if f not in keys]


def _tag(
    df: pd.DataFrame, runs: Sequence[Run], separated_by: Sequence[str], *, groups: int | None = None
) -> pd.DataFrame:
    df.attrs["separated_by"] = list(separated_by)
    df.attrs["groups"] = len({group_key(r) for r in runs}) if groups is None else groups
    return df


def _not_applicable(df: pd.DataFrame, col: str) -> pd.Series:
    """Baseline rows for which ``col`` does not apply: null, or the dense run's ``init`` ("dense")."""
    na = df[col].isna()
    if col == "init":
        na |= df["method"] == "dense"
    return na & df["method"].isin(BASELINES)


def _broadcast_baselines(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """Dense and static rows are repeated for every value of each ``col`` that does not apply to them
    (growth, update period, ...) found among the DST rows of their model and dataset, so every panel shows
    its baselines. Their mean, std and n are those of the baseline runs themselves."""
    for col in cols:
        if col not in df.columns or df.empty:
            continue
        na = _not_applicable(df, col)
        if not na.any():
            continue
        targets = df[~df["method"].isin(BASELINES) & df[col].notna()]
        parts = [df[~na]]
        for (model, dataset), g in df[na].groupby(["model", "dataset"], dropna=False, sort=False):
            vals = (
                targets.loc[(targets["model"] == model) & (targets["dataset"] == dataset), col]
                .drop_duplicates()
                .tolist()
            )
            if not vals:
                parts.append(g)
            for v in vals:
                parts.append(g.assign(**{col: [v] * len(g)}))
        df = pd.concat(parts, ignore_index=True)
    return df


def _order(df: pd.DataFrame, keys: Sequence[str], label: str = "criterion") -> pd.DataFrame:
    """Sort by ``keys`` with ``label`` in display order (built-in criteria, others sorted, baselines)."""
    rank = {c: i for i, c in enumerate(criterion_order(df[label]))}
    df = df.assign(_o=df[label].map(rank))
    keys = [("_o" if k == label else k) for k in keys]
    return df.sort_values(keys, kind="stable").drop(columns="_o").reset_index(drop=True)


def _label(run: Run) -> str:
    """The series a run belongs to in a figure: its criterion, ``dense``/``static`` for baselines, and
    ``<method>-<criterion>`` for an imp or pai run (``imp-magnitude``: never one series with DST's ``magnitude``)."""
    m = run.kind
    if m in PRUNING_LOOPS:
        return "-".join(x for x in (m, run.config.get("criterion")) if x)
    return m if m in ("dense", "static") else (run.config.get("criterion") or str(m))
