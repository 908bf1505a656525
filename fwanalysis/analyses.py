"""From runs to results: gathers what each analysis needs from the artifacts and calls ``stats``.

This layer sits between ``artifacts`` + ``stats`` (below) and ``figures``/``cli`` (above): it is the
only place that turns :class:`~fwanalysis.artifacts.Run` objects into arrays and frames. Every
function takes a list of runs (already filtered) and keyword-only options, and returns a result
object or a tidy frame; it draws nothing and prints nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from .artifacts import Run
from .artifacts.select import (
    PoolingError,
    config_get,
    describe_fields,
    design,
    drop_repeats,
    filter_hint,
    group_key,
    varying_fields,
)
from .vocab import BASELINES, METRICS, criterion_order


class _Lazy:
    """A module imported on first attribute access: the Jaccard and ITOP paths never need pandas, and
    importing it (with pyarrow) is a quarter of a short ``fwa jaccard`` command's wall time."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        import importlib

        return getattr(importlib.import_module(self._name), attr)


pd = _Lazy("pandas")

__all__ = [
    "config_value",
    "run_frame",
    "metric_vs",
    "accuracy_table",
    "update_period_table",
    "loss_gap_table",
    "learning_curves",
    "cd_scores",
    "METRICS",
]


config_value = config_get  # a config value, looking into criterion_params too (e.g. mest_lambda)

# -- the pooling rule ----------------------------------------------------------------------------------
# Every table below averages runs over seeds only. A function names the keys of its cells; any other
# field in which runs of one cell differ becomes a key of its own (_separate), baselines are shown in
# every panel of a field that does not apply to them (_broadcast_baselines), and runs that repeat another
# run's design and seed under another sweep name are counted once (_unique). The result frame says what
# it did in ``attrs``: "separated_by" (the extra keys) and "groups" (how many run designs, criterion and
# seed aside, it compared).


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
    """The series a run belongs to in a figure: its criterion, or ``dense``/``static`` for baselines."""
    m = run.config.get("method")
    return m if m in ("dense", "static") else (run.config.get("criterion") or str(m))


def run_frame(runs: Sequence[Run], *, metric: str = "test_acc", keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row per run: run_id, model, dataset, method, criterion (label), growth, density, seed, ``keys``, and
    ``value``.

    ``metric`` is a ``summary`` key of run.json (docs/format.md): test_acc, test_loss, val_acc, val_loss,
    train_loss or itop. Runs without the metric are left out.
    """
    if metric not in METRICS:
        raise ValueError(f"--metric {metric!r} is not one of: {', '.join(METRICS)}")
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
            "method": c.get("method"),
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
    from .stats.tables import mean_std

    out = mean_std(df, by=[*by, *sep, x], value="value")
    out = _order(out, [*[b for b in by if b != "criterion"], *sep, "criterion", x])
    return _tag(out[[*by, *sep, x, "mean", "std", "n"]], runs, sep)


def accuracy_table(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 1: metric vs density per model, dataset, growth and criterion, with dense and static baselines
    (plus a column for each other field in which runs differ, see :func:`metric_vs`)."""
    return metric_vs(runs, x="density", metric=metric)


def update_period_table(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 5: metric vs update period Δt per criterion (DST runs only)."""
    dst = [r for r in runs if r.config.get("method") == "dst"]
    return metric_vs(dst, x="update_period", metric=metric, by=("model", "dataset", "growth", "density", "criterion"))


def _metrics_long(runs: Sequence[Run], *, keys: Sequence[str]) -> pd.DataFrame:
    frames = []
    for r in runs:
        m = r.metrics()
        m = m[m["split"].isin(["train", "val", "test"])].copy()
        m["run"] = r.run_id
        m["method"] = r.config.get("method")
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
    from .stats.tables import loss_gap

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
    drop = [r for r in runs if r.config.get("method") == "dense" and (r.config.get("dropout") or 0) > 0]
    rest = [r for r in runs if r not in drop]
    frames = [loss_gap_table(rest, by_config=("model",))] if rest else []
    if drop:
        frames.append(_dropout_label(loss_gap_table(drop, by_config=("model",))))
    if not frames:
        raise ValueError("no runs matched: the loss gap needs them")
    return pd.concat(frames, ignore_index=True)


def accuracy_by_label(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 4 (right): ``metric`` per criterion and baseline (dense+dropout apart), mean, std, n over seeds."""
    from .stats.tables import mean_std

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
    ds = sorted(
        {r.config["density"] for r in runs if r.config.get("method") != "dense" and r.config.get("density") is not None}
    )
    if not ds:
        return list(runs)
    best = min(ds, key=lambda d: (abs(math.log(d / target)), d))
    return [r for r in runs if r.config.get("method") == "dense" or r.config.get("density") == best]


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
        raise ValueError(
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
    from .stats.tables import mean_std

    out = mean_std(sel, by=[*by_config, "density", *sep, "criterion", "epoch"], value="value")
    return _tag(_order(out, [*by_config, "density", *sep, "criterion", "epoch"]), runs, sep)


CD_BLOCK = ("model", "dataset", "growth", "density")


def cd_scores(runs: Sequence[Run], *, metric: str = "test_acc", block: Sequence[str] = CD_BLOCK) -> pd.DataFrame:
    """Scores for a critical-difference analysis: one row per (block, criterion), the mean of ``metric`` over seeds.

    Blocks are (model, dataset, growth, density), DST runs only; runs of one criterion in such a block
    that differ in any other field (Δt, batch size, ...) go to blocks of their own, named with that field
    (``attrs["separated_by"]``), so a block's score averages over seeds only.
    """
    dst = _unique([r for r in runs if r.config.get("method") == "dst"])
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


# -- structure: Jaccard, never-removed, ITOP ---------------------------------------------------------
def _dst_groups(runs: Sequence[Run], *, check: bool = True) -> dict[tuple, dict]:
    """``{group key: {seed: [runs]}}`` of the DST runs, groups = designs equal but for criterion and seed
    (criterion parameters are compared among runs of one criterion). With ``check``, raises
    :class:`PoolingError` when two runs of one group, seed and criterion differ (e.g. MEST at two λ)."""
    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(list))
    for r in _unique([r for r in runs if r.config.get("method") == "dst"]):
        out[group_key(r)][r.config.get("seed")].append(r)
    if check:
        _one_run_per_criterion(out)
    return out


def _one_run_per_criterion(groups: dict[tuple, dict]) -> None:
    """:class:`PoolingError` if a group and seed hold two runs of one criterion (runs are unique, so they differ)."""
    for by_seed in groups.values():
        for rs in by_seed.values():
            by_crit: dict[str, list[Run]] = defaultdict(list)
            for r in rs:
                by_crit[r.criterion].append(r)
            cell = next((c for c in by_crit.values() if len(c) > 1), None)
            if cell is not None:
                clash = varying_fields(cell, lambda r: 0)
                first = cell[0]
                raise PoolingError(
                    f"runs of {first.criterion} with seed {first.seed} differ in {describe_fields(cell, clash)}; "
                    f"pick one with {' '.join(filter_hint(f, design(first).get(f)) for f in clash)}"
                )


def group_fields(runs: Sequence[Run]) -> list[str]:
    """The design fields that tell the groups of the DST runs apart (criterion and seed aside), in config
    order; a field implied by the ones before it (a model's own learning rate or init) is left out."""
    keys = [dict(g) for g in {group_key(r) for r in runs if r.config.get("method") == "dst"}]
    if len(keys) < 2:
        return []
    differing = {k for g in keys for k in g if any(h.get(k) != g.get(k) for h in keys)}
    kept: list[str] = []
    for f in [f for f in varying_fields(runs, lambda r: 0) if f in differing]:
        values: dict[tuple, set] = defaultdict(set)
        for g in keys:
            values[tuple(g.get(k) for k in kept)].add(g.get(f))
        if any(len(v) > 1 for v in values.values()):
            kept.append(f)
    return kept


def split_groups(runs: Sequence[Run], *, always: Sequence[str] = ("model",)) -> dict[tuple, list[Run]]:
    """The DST runs split into groups, keyed by the values of ``always`` plus every field in which
    the groups differ (:func:`group_fields`), in sorted order: ``{((field, value), ...): runs}``."""
    dst = [r for r in runs if r.config.get("method") == "dst"]
    fields = list(dict.fromkeys([*always, *group_fields(dst)]))
    out: dict[tuple, list[Run]] = defaultdict(list)
    for r in dst:
        out[tuple((f, _cell_value(r, f)) for f in fields)].append(r)

    def order(v):  # numbers by value (Δt 3 before 10), then everything else by its text
        return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, repr(v))

    return dict(sorted(out.items(), key=lambda kv: [order(v) for _, v in kv[0]]))


def _one_group(runs: Sequence[Run], what: str) -> dict[tuple, dict]:
    """The single group of :func:`_dst_groups`; several groups are an error naming what separates them."""
    groups = _dst_groups(runs, check=False)
    if len(groups) > 1:
        dst = [r for by_seed in groups.values() for rs in by_seed.values() for r in rs]
        fields = group_fields(dst)
        first = next(iter(next(iter(groups.values())).values()))[0]
        raise PoolingError(
            f"{what} compares criteria within one group of runs (equal but for criterion and seed), "
            f"but the runs form {len(groups)} groups that differ in {describe_fields(dst, fields)}; "
            f"narrow to one, e.g. {' '.join(filter_hint(f, _cell_value(first, f)) for f in fields)}"
        )
    _one_run_per_criterion(groups)  # one group: each criterion and seed must have one run in it
    return groups


def _present(criteria: Iterable[str], only: Sequence[str] | None = None) -> list[str]:
    """The criteria in ``criteria`` in the paper's order, restricted to ``only`` when given."""
    return criterion_order(c for c in criteria if c != "init" and (only is None or c in only))


def _read_in_threads(fn, items: list) -> list:
    """``[fn(x) for x in items]``, in threads: reading update files is mostly zlib, which releases the GIL."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    workers = min(8, os.cpu_count() or 1, len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def first_update_sets(runs: Sequence[Run], *, what: str = "the first-update Jaccard") -> dict[tuple, dict[str, dict]]:
    """``{(group, seed): {criterion: removed set at the first update}}``.

    A criterion's own run gives its pruned set; criteria without a run come from the shadow sets of
    a run of the same group and seed (same weights, gradient and per-layer counts). Every run's update
    file is read at most once, several at a time.
    """
    plan: list[tuple[tuple, list[tuple[Run, list[str]]]]] = []
    for gi, (_, by_seed) in enumerate(sorted(_one_group(runs, what).items())):
        for seed, rs in sorted(by_seed.items(), key=lambda kv: repr(kv[0])):
            own: dict[str, Run] = {}
            for r in rs:
                if r.update_steps:
                    own.setdefault(r.criterion, r)
            missing = criterion_order(c for r in rs if r.update_steps for c in r.shadow_criteria if c not in own)
            reads = {id(r): (r, []) for r in own.values()}
            for donor in (r for r in rs if r.update_steps):  # shadow sets fill in criteria without a run of their own
                take = [c for c in missing if c in donor.shadow_criteria]
                if take:
                    reads.setdefault(id(donor), (donor, []))[1].extend(take)
                    missing = [c for c in missing if c not in take]
            if reads:
                plan.append(((gi, seed), list(reads.values())))
    flat = [task for _, tasks in plan for task in tasks]
    loaded = iter(_read_in_threads(lambda t: t[0].update(t[0].update_steps[0], shadow=t[1], grown=False), flat))
    out: dict[tuple, dict[str, dict]] = {}
    for key, tasks in plan:
        sets: dict[str, dict] = {}
        shadows: dict[str, dict] = {}
        for (r, _), upd in zip(tasks, loaded):  # own runs come first, so a donor never overrides one
            sets.setdefault(r.criterion, upd.pruned)
            shadows.update(upd.shadow)
        for c, v in shadows.items():
            sets.setdefault(c, v)
        out[key] = sets
    return out


def jaccard_first(runs: Sequence[Run], criteria: Sequence[str] | None = None, *, std: str = "seeds"):
    """Fig. 6a/17/20: Jaccard of the sets each criterion removes at the first update; reference J_r.

    ``criteria``: compare only these (shadow sets of the others are not shown); J_r still comes from
    the random criterion's sets when the runs have them. ``std``: ``seeds`` is the standard deviation
    over seeds of the layer-averaged index; ``layers`` the paper's Fig. 20 (per layer over seeds, then
    averaged over layers)."""
    import dataclasses

    from .stats.jaccard import jaccard_summary, layerwise_std

    sets = first_update_sets(runs, what="the first-update Jaccard")
    if not sets:
        raise ValueError("no DST runs with topology updates matched: the first-update Jaccard needs them")
    shown = _present((c for s in sets.values() for c in s), criteria)
    if not shown:
        raise ValueError(f"none of the criteria {', '.join(criteria or [])} has a first-update set in the matched runs")
    res = jaccard_summary(sets, criteria=shown, at="first", reference_criterion="random")
    if std == "layers":
        res = dataclasses.replace(res, std=layerwise_std(sets, criteria=shown))
    elif std != "seeds":
        raise ValueError(f"std {std!r} is not one of: seeds, layers")
    return res


def jaccard_end(runs: Sequence[Run]):
    """Fig. 6b/21: Jaccard of the final masks of runs paired by seed, plus ``init``; reference J_init."""
    from .stats.jaccard import jaccard_summary

    plan: list[tuple[tuple, dict[str, Run], Run]] = []
    for gi, (_, by_seed) in enumerate(sorted(_one_group(runs, "the end-of-training Jaccard").items())):
        for seed, rs in by_seed.items():
            own: dict[str, Run] = {}
            for r in rs:
                own.setdefault(r.criterion, r)
            plan.append(((gi, seed), own, rs[0]))
    reads = [(r, "final") for _, own, _ in plan for r in own.values()] + [(first, "init") for _, _, first in plan]
    loaded = dict(
        zip(
            ((id(r), what) for r, what in reads),
            _read_in_threads(lambda t: t[0].final_masks() if t[1] == "final" else t[0].initial_masks(), reads),
        )
    )
    sets: dict[tuple, dict[str, dict]] = {}
    for key, own, first in plan:
        sets[key] = {**{c: loaded[(id(r), "final")] for c, r in own.items()}, "init": loaded[(id(first), "init")]}
    if not sets:
        raise ValueError("no DST runs matched: the end-of-training Jaccard needs them")
    shown = _present(c for s in sets.values() for c in s) + ["init"]
    return jaccard_summary(sets, criteria=shown, at="end", reference_criterion="init")


def jaccard_time_rows(runs: Sequence[Run], *, criteria: Sequence[str] | None = None, every: int = 1) -> pd.DataFrame:
    """Fig. 18: per run and update, Jaccard of the run's removed set and each other criterion's shadow set.

    ``criteria``: only runs of, and shadow sets of, these criteria. ``every``: every n-th update only
    (the paper looks every 3,200 iterations, every 4th update at Δt = 800), counted from the first."""
    from .stats.jaccard import jaccard, jaccard_over_time

    if not (isinstance(every, int) and every >= 1):
        raise ValueError(f"every {every!r} must be a whole number of updates >= 1")
    rows = []
    for by_seed in _one_group(runs, "the Jaccard over time").values():
        for rs in by_seed.values():
            for r in rs:
                if criteria is not None and r.criterion not in criteria:
                    continue
                others = [c for c in r.shadow_criteria if c != r.criterion and (criteria is None or c in criteria)]
                for step in r.update_steps[every - 1 :: every] if others else []:
                    upd = r.update(step, shadow=others, grown=False)
                    for b in others:
                        rows.append(
                            {
                                "seed": r.seed,
                                "step": step,
                                "run_criterion": r.criterion,
                                "other": b,
                                "jaccard": jaccard(upd.pruned, upd.shadow[b]),
                            }
                        )
    if not rows:
        raise ValueError(
            "no DST runs with shadow sets matched: the Jaccard over time needs them (record with --shadow all)"
        )
    out = jaccard_over_time(pd.DataFrame(rows))
    order = {c: i for i, c in enumerate(criterion_order([*out["run_criterion"], *out["other"]]))}
    return out.sort_values(
        ["run_criterion", "other", "step"], key=lambda s: s.map(order) if s.name != "step" else s, kind="stable"
    ).reset_index(drop=True)


def never_removed_rows(runs: Sequence[Run], criteria: Sequence[str] | None = None) -> pd.DataFrame:
    """Fig. 19 (paper App. K): per model and seed, on the **final** masks of the runs paired by seed: the
    weights kept by every criterion / mean weights kept per criterion, and the weights outside every final
    mask / mean weights outside per criterion (over all weights of the masked layers). ``criteria``: use
    only the runs of these criteria (default: every criterion with a run). Groups that differ in more than
    criterion and seed get rows of their own, with the fields that separate them as columns."""
    from .stats.never_removed import never_removed_end

    runs = [r for r in runs if r.config.get("method") == "dst" and (criteria is None or r.criterion in criteria)]
    groups = _dst_groups(runs)
    sep = group_fields([r for by_seed in groups.values() for rs in by_seed.values() for r in rs])
    plan = []
    for _, by_seed in sorted(groups.items()):
        for seed, rs in sorted(by_seed.items(), key=lambda kv: repr(kv[0])):
            own: dict[str, Run] = {}
            for r in rs:
                own.setdefault(r.criterion, r)
            if len(own) >= 2:
                plan.append((seed, own))
    finals = _read_in_threads(lambda r: r.final_masks(), [r for _, own in plan for r in own.values()])
    it = iter(finals)
    rows = []
    for seed, own in plan:
        masks = {c: next(it) for c in own}
        rep = next(iter(own.values()))
        res = never_removed_end(masks, numel=rep.numel)
        row = {
            "model": rep.config.get("model"),
            "dataset": rep.config.get("dataset"),
            "seed": seed,
            "density": rep.config.get("density"),
            **{f: _cell_value(rep, f) for f in sep if f not in ("model", "dataset", "density")},
            "criteria": len(masks),
            "retained_by_all": res["retained_by_all"],
            "removed_by_all": res["removed_by_all"],
        }
        rows.append(row)
    if not rows:
        raise ValueError(
            "no seed with complete DST runs of at least two criteria matched: "
            "never-removed compares the final masks of runs paired by seed"
        )
    df = pd.DataFrame(rows)
    df = df.sort_values(
        ["model", "dataset", *[f for f in sep if f not in ("model", "dataset")], "seed"],
        key=lambda col: col.map(repr),
        kind="stable",
    ).reset_index(drop=True)
    return _tag(df, runs, sep)


ITOP_CELL = ("model", "dataset", "growth", "density", "criterion", "update_period")


def itop_rows(runs: Sequence[Run]) -> pd.DataFrame:
    """ITOP ratio per DST run, rebuilt from the initial mask and every update file (Liu et al. 2021).

    Fields that separate runs of one (model, dataset, growth, density, criterion, Δt) are columns too
    (``attrs["separated_by"]``), so that :func:`itop_vs_update_period` averages over seeds only."""
    from .stats.itop import itop_ratio

    dst = _unique([r for r in runs if r.config.get("method") == "dst"])
    sep = _separate(dst, ITOP_CELL)
    rows = []
    for r in dst:
        updates = (r.update(s, shadow=[]) for s in r.update_steps)
        rows.append(
            {
                "run_id": r.run_id,
                "criterion": r.criterion,
                "growth": r.config.get("growth"),
                "update_period": r.config.get("update_period"),
                "density": r.config.get("density"),
                "seed": r.seed,
                "model": r.config.get("model"),
                "dataset": r.config.get("dataset"),
                **{f: _cell_value(r, f) for f in sep},
                "itop": itop_ratio(r.initial_masks(), updates, numel=r.numel),
                "itop_logged": r.summary.get("itop"),
            }
        )
    if not rows:
        raise ValueError("no DST runs matched: ITOP needs runs with topology updates")
    return _tag(pd.DataFrame(rows), dst, sep)


def itop_vs_update_period(rows: pd.DataFrame) -> pd.DataFrame:
    """Fig. 11: ITOP ratio vs Δt per criterion and growth, mean and std over seeds (and over nothing else:
    the fields in ``rows.attrs["separated_by"]`` are kept apart)."""
    from .stats.tables import mean_std

    sep = list(rows.attrs.get("separated_by", []))
    keys = ["model", "dataset", "growth", "density", *sep, "criterion", "update_period"]
    out = mean_std(rows, by=keys, value="itop").rename(columns={"mean": "itop", "std": "itop_std"})
    out = _order(out, keys)
    out.attrs = dict(rows.attrs)
    return out


def cd_result(
    scores: pd.DataFrame,
    *,
    alpha: float = 0.05,
    lower_is_better: bool = False,
    test: str = "nemenyi",
    omnibus: str = "friedman",
    control: str | None = None,
    allow_insignificant: bool = False,
):
    """Fig. 3: Friedman + post-hoc over blocks of a (block, method, score) table (``stats.cd``)."""
    from .stats.cd import cd_analysis

    return cd_analysis(
        scores,
        alpha=alpha,
        lower_is_better=lower_is_better,
        test=test,
        omnibus=omnibus,
        control=control,
        allow_insignificant=allow_insignificant,
    )
