"""Metric tables: a metric vs density or Δt, the loss gap, learning curves, paired and per-arm comparisons,
and the scores and result of a critical-difference analysis (Figs. 1, 3, 4, 5, 10, 22-30)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from ..artifacts import Run
from ..artifacts.select import (
    config_get,
    design,
)
from ..errors import UserError
from ..vocab import METRICS
from .pooling import (
    _broadcast_baselines,
    _cell_value,
    _label,
    _order,
    _separate,
    _tag,
    _unique,
    pd,
)


def run_frame(runs: Sequence[Run], *, metric: str = "test_acc", keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row per run: run_id, model, dataset, method, criterion (label), growth, density, seed, ``keys``, and
    ``value``.

    ``metric`` is a ``summary`` key of run.json (docs/format.md): test_acc, test_loss, val_acc, val_loss,
    train_loss or itop. Runs without the metric are left out.
    """
    if metric not in METRICS:
        raise UserError(f"--metric {metric!r} is not one of: {', '.join(METRICS)}")
    rows = []
    for r in runs:
        v = r.summary.get(metric)
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        c = r.config
        row = {
            "run_id": r.run_id,
            "model": c.get("model"),
            "dataset": c.get("dataset"),
            "method": r.kind,
            "criterion": _label(r),
            "growth": c.get("growth"),
            "density": c.get("density"),
            "seed": c.get("seed"),
        }
        for k in keys:
            if k not in row:
                row[k] = _cell_value(r, k)
        row["value"] = float(v)
        rows.append(row)
    fixed = ["run_id", "model", "dataset", "method", "criterion", "growth", "density", "seed"]
    return pd.DataFrame(rows, columns=[*fixed, *[k for k in keys if k not in fixed], "value"])


def metric_vs(
    runs: Sequence[Run],
    *,
    x: str,
    metric: str = "test_acc",
    by: Sequence[str] = ("model", "dataset", "growth", "criterion"),
) -> pd.DataFrame:
    """``metric`` against config key ``x`` per ``by``: mean, std (ddof=0) and n over seeds.

    Runs that differ in any other field get that field as a column of their own (listed in
    ``attrs["separated_by"]``), so a cell never averages more than seeds. Dense and static runs are
    baselines: their ``criterion`` is ``dense``/``static``, and they are repeated for every value of a
    field that does not apply to them (growth, update period, ...), so each panel shows them.
    """
    runs = _unique(runs)
    by = [b for b in by if b != x]
    sep = _separate(runs, [*by, x])
    df = run_frame(runs, metric=metric, keys=[*by, *sep, x])
    if df.empty:
        return _tag(pd.DataFrame(columns=[*by, *sep, x, "mean", "std", "n"]), runs, sep)
    df = _broadcast_baselines(df, ["growth", *sep])
    from ..stats.tables import mean_std

    out = mean_std(df, by=[*by, *sep, x], value="value")
    out = _order(out, [*[b for b in by if b != "criterion"], *sep, "criterion", x])
    return _tag(out[[*by, *sep, x, "mean", "std", "n"]], runs, sep)


def accuracy_table(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 1: metric vs density per model, dataset, growth and criterion, with dense and static baselines
    (plus a column for each other field in which runs differ, see :func:`metric_vs`)."""
    return metric_vs(runs, x="density", metric=metric)


def update_period_table(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 5: metric vs update period Δt per criterion (DST runs only)."""
    dst = [r for r in runs if r.kind == "dst"]
    return metric_vs(dst, x="update_period", metric=metric, by=("model", "dataset", "growth", "density", "criterion"))


def _metrics_long(runs: Sequence[Run], *, keys: Sequence[str]) -> pd.DataFrame:
    frames = []
    for r in runs:
        m = r.metrics()
        m = m[m["split"].isin(["train", "val", "test"])].copy()
        m["run"] = r.run_id
        m["method"] = r.kind
        m["criterion"] = _label(r)
        for k in keys:
            if k not in m.columns:
                m[k] = _cell_value(r, k)
        m["model"], m["dataset"] = r.config.get("model"), r.config.get("dataset")
        frames.append(m)
    if not frames:
        return pd.DataFrame(
            columns=["step", "epoch", "split", "name", "value", "run", "method", "criterion", "model", "dataset", *keys]
        )
    return pd.concat(frames, ignore_index=True)


def loss_gap_table(runs: Sequence[Run], *, by_config: Sequence[str] = ()) -> pd.DataFrame:
    """Fig. 4: validation loss − training loss per epoch, per method and criterion (mean, std over seeds).

    ``by_config``: config keys to keep apart as columns (e.g. ``("model",)``); any other field in which
    runs of one (method, criterion) differ is kept apart as well (``attrs["separated_by"]``).
    """
    from ..stats.tables import loss_gap

    runs = _unique(runs)
    sep = _separate(runs, [*by_config, "method", "criterion"])
    long = _broadcast_baselines(_metrics_long(runs, keys=[*by_config, *sep]), sep)
    out = loss_gap(long, by=[*by_config, *sep, "method", "criterion"])
    out = _order(out, [*by_config, *sep, "criterion", "method", "epoch"])
    return _tag(out[[*by_config, *sep, "epoch", "method", "criterion", "gap_mean", "gap_std", "n"]], runs, sep)


def _dropout_label(df: pd.DataFrame) -> pd.DataFrame:
    """Dense runs with dropout are the baseline ``dense+dropout`` (paper Fig. 4), not another dense line."""
    return df.assign(criterion=df["criterion"].where(df["criterion"] != "dense", "dense+dropout"))


def loss_gap_baselines(runs: Sequence[Run]) -> pd.DataFrame:
    """Fig. 4 (left): the loss gap per criterion and of the static, dense and dense + dropout baselines,
    one line each (dense runs with ``dropout`` > 0 are labelled ``dense+dropout``)."""
    drop = [r for r in runs if r.kind == "dense" and (r.config.get("dropout") or 0) > 0]
    rest = [r for r in runs if r not in drop]
    frames = [loss_gap_table(rest, by_config=("model",))] if rest else []
    if drop:
        frames.append(_dropout_label(loss_gap_table(drop, by_config=("model",))))
    if not frames:
        raise UserError("no runs matched: the loss gap needs them")
    return pd.concat(frames, ignore_index=True)


def accuracy_by_label(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 4 (right): ``metric`` per criterion and baseline (dense+dropout apart), mean, std, n over seeds."""
    from ..stats.tables import mean_std

    runs = _unique(runs)
    df = run_frame(runs, metric=metric, keys=["dropout"])
    drop = (df["method"] == "dense") & (df["dropout"].fillna(0) > 0)
    df.loc[drop, "criterion"] = "dense+dropout"
    out = mean_std(df, by=["model", "criterion"], value="value")
    return _order(out, ["model", "criterion"])


def paired_difference(runs: Sequence[Run], a: str, b: str, *, metric: str = "test_acc") -> dict:
    """``metric`` of criterion ``a`` minus criterion ``b`` over runs paired by design and seed (configs equal
    but for the criterion): ``{"mean", "min", "max", "n"}`` (n pairs; NaN values without pairs)."""
    import numpy as np

    by: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in _unique(runs):
        v = r.summary.get(metric)
        if r.criterion in (a, b) and v is not None and math.isfinite(v):
            key = tuple(sorted((k, x) for k, x in design(r).items() if k not in ("criterion", "mest_lambda")))
            by[key][r.criterion] = float(v)
    diffs = np.array([d[a] - d[b] for d in by.values() if a in d and b in d])
    if not diffs.size:
        return {"mean": math.nan, "min": math.nan, "max": math.nan, "n": 0}
    return {"mean": float(diffs.mean()), "min": float(diffs.min()), "max": float(diffs.max()), "n": int(diffs.size)}


def per_arm(runs: Sequence[Run], field: str, table) -> pd.DataFrame:
    """``table(runs)`` for each value of config ``field`` apart (an experiment's arms, e.g. batch 128 and
    1024 with their own lr and Δt), stacked with ``field`` as a column. Baselines belong to the arm of
    their own value, so they are never broadcast across arms."""
    values = sorted(
        {config_get(r, field) for r in runs}, key=lambda v: (v is None, v if isinstance(v, (int, float)) else str(v))
    )
    frames = []
    for v in values:
        df = table([r for r in runs if config_get(r, field) == v])
        frames.append(df.drop(columns=[field], errors="ignore").assign(**{field: v}))
    out = pd.concat(frames, ignore_index=True)
    out.attrs = {
        "separated_by": sorted({s for f in frames for s in f.attrs.get("separated_by", []) if s != field}),
        "groups": len(frames),
    }
    return out


def closest_density(runs: Sequence[Run], target: float) -> list[Run]:
    """The dense runs and the runs at the sparse density nearest ``target`` in log scale (ties: the lower)."""
    ds = sorted({r.config["density"] for r in runs if r.kind != "dense" and r.config.get("density") is not None})
    if not ds:
        return list(runs)
    best = min(ds, key=lambda d: (abs(math.log(d / target)), d))
    return [r for r in runs if r.kind == "dense" or r.config.get("density") == best]


def scope_pairs(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 15: ``metric`` of global pruning beside local pruning, one row per design the two share.

    A global run's counterpart is a local run whose config is equal but for ``pruning_scope`` and what
    applies to global pruning only (``global_regrowth``); mean, std (ddof=0) and n over seeds on each
    side. Runs of one scope with no counterpart are left out."""
    import numpy as np

    only = ("pruning_scope", "global_regrowth", "seed")
    sides: dict[str, dict[tuple, list[float]]] = {"local": defaultdict(list), "global": defaultdict(list)}
    first: dict[tuple, Run] = {}
    for r in _unique(runs):
        scope, v = r.config.get("pruning_scope"), r.summary.get(metric)
        if scope not in sides or v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        key = tuple(sorted((k, x) for k, x in design(r).items() if k not in only))
        sides[scope][key].append(float(v))
        first.setdefault(key, r)
    rows = []
    for key in sorted(set(sides["local"]) & set(sides["global"]), key=repr):
        r = first[key]
        row = {k: r.config.get(k) for k in ("model", "dataset", "growth", "density")} | {"criterion": _label(r)}
        for scope in ("local", "global"):
            vals = np.array(sides[scope][key])
            row |= {scope: float(vals.mean()), f"{scope}_std": float(vals.std()), f"n_{scope}": int(vals.size)}
        rows.append(row)
    if not rows:
        raise UserError(
            "no design has both local and global runs: the global-vs-local comparison needs pairs "
            "(runs equal but for pruning_scope)"
        )
    return _order(pd.DataFrame(rows), ["model", "dataset", "growth", "density", "criterion"])


def learning_curves(
    runs: Sequence[Run], *, split: str = "val", name: str = "acc", by_config: Sequence[str] = ("model",)
) -> pd.DataFrame:
    """Fig. 23: a per-epoch metric (default validation accuracy) per criterion, mean and std over seeds.

    Returns ``by_config`` + density (+ any field that separates runs) + criterion, epoch, mean, std, n;
    dense runs keep density 1.
    """
    runs = _unique(runs)
    sep = _separate(runs, [*by_config, "density", "criterion"])
    long = _broadcast_baselines(_metrics_long(runs, keys=(*by_config, "density", *sep)), sep)
    sel = long[(long["split"] == split) & (long["name"] == name)]
    from ..stats.tables import mean_std

    out = mean_std(sel, by=[*by_config, "density", *sep, "criterion", "epoch"], value="value")
    return _tag(_order(out, [*by_config, "density", *sep, "criterion", "epoch"]), runs, sep)


CD_BLOCK = ("model", "dataset", "growth", "density")


def cd_scores(runs: Sequence[Run], *, metric: str = "test_acc", block: Sequence[str] = CD_BLOCK) -> pd.DataFrame:
    """Scores for a critical-difference analysis: one row per (block, criterion), the mean of ``metric`` over seeds.

    Blocks are (model, dataset, growth, density), DST runs only; runs of one criterion in such a block
    that differ in any other field (Δt, batch size, ...) go to blocks of their own, named with that field
    (``attrs["separated_by"]``), so a block's score averages over seeds only.
    """
    dst = _unique([r for r in runs if r.kind == "dst"])
    sep = _separate(dst, [*block, "criterion"])
    df = run_frame(dst, metric=metric, keys=sep)
    if df.empty:
        return _tag(pd.DataFrame(columns=["block", "method", "score"]), dst, sep)
    g = df.groupby([*block, *sep, "criterion"], dropna=False, sort=False)["value"].mean().reset_index()

    def name(row) -> str:
        head = "/".join(str(row[k]) for k in block)
        tail = ", ".join(f"{k}={row[k]}" for k in sep)
        return f"{head} ({tail})" if tail else head

    g["block"] = g.apply(name, axis=1) if len(g) else []
    out = g.rename(columns={"criterion": "method", "value": "score"})[["block", "method", "score"]]
    out = out.sort_values(["block", "method"]).reset_index(drop=True)
    return _tag(out, dst, sep, groups=int(out["block"].nunique()))


def cd_result(scores: pd.DataFrame, **options):
    """Fig. 3: Friedman + post-hoc over blocks of a (block, method, score) table, by
    :func:`~fwanalysis.stats.cd.cd_analysis` with its ``options`` (alpha, lower_is_better, test, omnibus, control,
    allow_insignificant) and its defaults."""
    from ..stats.cd import cd_analysis

    return cd_analysis(scores, **options)
