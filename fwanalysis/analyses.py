"""From runs to results: gathers what each analysis needs from the artifacts and calls ``stats``.

This layer sits between ``artifacts`` + ``stats`` (below) and ``figures``/``cli`` (above): it is the
only place that turns :class:`~fwanalysis.artifacts.Run` objects into arrays and frames. Every
function takes a list of runs (already filtered) and keyword-only options, and returns a result
object or a tidy frame; it draws nothing and prints nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np

from .artifacts import ArtifactError, Run
from .vocab import METRICS, criterion_order


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



def config_value(run: Run, key: str):
    """A config value, looking into ``criterion_params`` too (e.g. ``mest_lambda``)."""
    c = run.config
    if key in c:
        return c[key]
    params = c.get("criterion_params") or {}
    return params.get(key)


def _label(run: Run) -> str:
    """The series a run belongs to in a figure: its criterion, or ``dense``/``static`` for baselines."""
    m = run.config.get("method")
    return m if m in ("dense", "static") else (run.config.get("criterion") or str(m))


def _criterion_order(labels: Iterable[str]) -> list[str]:
    return criterion_order(labels)


def run_frame(runs: Sequence[Run], *, metric: str = "test_acc", keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row per run: run_id, model, dataset, method, criterion (label), growth, density, seed, ``keys``, and ``value``.

    ``metric`` is a ``summary`` key of run.json (ARTIFACTS.md): test_acc, test_loss, val_acc, val_loss,
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
            "run_id": r.run_id, "model": c.get("model"), "dataset": c.get("dataset"), "method": c.get("method"),
            "criterion": _label(r), "growth": c.get("growth"), "density": c.get("density"), "seed": c.get("seed"),
        }
        for k in keys:
            row[k] = config_value(r, k)
        row["value"] = float(v)
        rows.append(row)
    return pd.DataFrame(rows, columns=["run_id", "model", "dataset", "method", "criterion", "growth", "density", "seed", *keys, "value"])


def _baseline_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Baselines have no growth; give them every growth present so each panel shows them."""
    growths = sorted({g for g in df["growth"].dropna().unique()}) or [None]
    dense = df[df["method"] == "dense"]
    static = df[df["method"] == "static"]
    parts = [df[~df["method"].isin(["dense", "static"])]]
    for g in growths:
        for base in (dense, static):
            if not base.empty:
                parts.append(base.assign(growth=g))
    return pd.concat(parts, ignore_index=True)


def metric_vs(runs: Sequence[Run], *, x: str, metric: str = "test_acc", by: Sequence[str] = ("model", "dataset", "growth", "criterion")) -> pd.DataFrame:
    """``metric`` against config key ``x`` per ``by``: mean, std (ddof=0) and n over seeds.

    Dense and static runs are baselines: their ``criterion`` is ``dense``/``static`` and they are
    repeated for every growth criterion present.
    """
    df = run_frame(runs, metric=metric, keys=[x] if x not in ("density",) else [])
    if df.empty:
        return pd.DataFrame(columns=list(by) + [x, "mean", "std", "n"])
    df = _baseline_rows(df)
    by = [b for b in by if b != x]
    from .stats.tables import mean_std

    out = mean_std(df, by=list(by) + [x], value="value")
    out["_o"] = out["criterion"].map({c: i for i, c in enumerate(_criterion_order(out["criterion"]))})
    out = out.sort_values([b for b in by if b != "criterion"] + ["_o", x], kind="stable").drop(columns="_o").reset_index(drop=True)
    return out


def accuracy_table(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 1: metric vs density per model, dataset, growth and criterion, with dense and static baselines."""
    out = metric_vs(runs, x="density", metric=metric)
    return out[["model", "dataset", "growth", "criterion", "density", "mean", "std", "n"]]


def update_period_table(runs: Sequence[Run], *, metric: str = "test_acc") -> pd.DataFrame:
    """Fig. 5: metric vs update period Δt per criterion (DST runs only)."""
    dst = [r for r in runs if r.config.get("method") == "dst"]
    out = metric_vs(dst, x="update_period", metric=metric, by=("model", "dataset", "growth", "density", "criterion"))
    return out[["model", "dataset", "growth", "density", "criterion", "update_period", "mean", "std", "n"]]


def _metrics_long(runs: Sequence[Run], *, keys: Sequence[str]) -> pd.DataFrame:
    frames = []
    for r in runs:
        m = r.metrics()
        m = m[m["split"].isin(["train", "val", "test"])].copy()
        m["run"] = r.run_id
        m["method"] = r.config.get("method")
        m["criterion"] = _label(r)
        for k in keys:
            m[k] = config_value(r, k)
        frames.append(m)
    if not frames:
        return pd.DataFrame(columns=["step", "epoch", "split", "name", "value", "run", "method", "criterion", *keys])
    return pd.concat(frames, ignore_index=True)


def loss_gap_table(runs: Sequence[Run], *, by_config: Sequence[str] = ()) -> pd.DataFrame:
    """Fig. 4: validation loss − training loss per epoch, per method and criterion (mean, std over runs).

    ``by_config``: config keys to keep apart as extra columns (e.g. ``("model",)``).
    """
    from .stats.tables import loss_gap

    long = _metrics_long(runs, keys=by_config)
    out = loss_gap(long, by=[*by_config, "method", "criterion"])
    out["_o"] = out["criterion"].map({c: i for i, c in enumerate(_criterion_order(out["criterion"]))})
    out = out.sort_values([*by_config, "_o", "method", "epoch"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return out[[*by_config, "epoch", "method", "criterion", "gap_mean", "gap_std", "n"]]


def learning_curves(runs: Sequence[Run], *, split: str = "val", name: str = "acc", by_config: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Fig. 23: a per-epoch metric (default validation accuracy) per criterion, mean and std over runs.

    Returns ``by_config`` + density, criterion, epoch, mean, std, n; dense runs keep density 1.
    """
    long = _metrics_long(runs, keys=(*by_config, "density"))
    sel = long[(long["split"] == split) & (long["name"] == name)]
    from .stats.tables import mean_std

    out = mean_std(sel, by=[*by_config, "density", "criterion", "epoch"], value="value")
    out["_o"] = out["criterion"].map({c: i for i, c in enumerate(_criterion_order(out["criterion"]))})
    return out.sort_values([*by_config, "density", "_o", "epoch"], kind="stable").drop(columns="_o").reset_index(drop=True)


def cd_scores(runs: Sequence[Run], *, metric: str = "test_acc", block: Sequence[str] = ("model", "dataset", "growth", "density")) -> pd.DataFrame:
    """Scores for a critical-difference analysis: one row per (block, criterion), the mean of ``metric`` over seeds.

    Blocks are (model, dataset, growth, density) as CLI.md says; DST runs only.
    """
    dst = [r for r in runs if r.config.get("method") == "dst"]
    df = run_frame(dst, metric=metric)
    if df.empty:
        return pd.DataFrame(columns=["block", "method", "score"])
    g = df.groupby(list(block) + ["criterion"], dropna=False)["value"].mean().reset_index()
    g["block"] = g[list(block)].astype(str).agg("/".join, axis=1)
    return g.rename(columns={"criterion": "method", "value": "score"})[["block", "method", "score"]].sort_values(["block", "method"]).reset_index(drop=True)


# -- structure: Jaccard, never-removed, ITOP ---------------------------------------------------------
def _groups(runs: Sequence[Run]) -> dict[tuple, dict]:
    """``{group key: {seed: [runs]}}`` with groups = configs equal but for criterion and seed."""
    from .artifacts.select import group_key

    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        if r.config.get("method") != "dst":
            continue
        out[group_key(r)][r.config.get("seed")].append(r)
    return out


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


def first_update_sets(runs: Sequence[Run]) -> dict[tuple, dict[str, dict]]:
    """``{(group, seed): {criterion: removed set at the first update}}``.

    A criterion's own run gives its pruned set; criteria without a run come from the shadow sets of
    a run of the same group and seed (same weights, gradient and per-layer counts). Every run's update
    file is read at most once, several at a time.
    """
    plan: list[tuple[tuple, list[tuple[Run, list[str]]]]] = []
    for gi, (g, by_seed) in enumerate(sorted(_groups(runs).items())):
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


def jaccard_first(runs: Sequence[Run], criteria: Sequence[str] | None = None):
    """Fig. 6a/17/20: Jaccard of the sets each criterion removes at the first update; reference J_r.

    ``criteria``: compare only these (shadow sets of the others are not shown); J_r still comes from
    the random criterion's sets when the runs have them."""
    from .stats.jaccard import jaccard_summary

    sets = first_update_sets(runs)
    if not sets:
        raise ValueError("no DST runs with topology updates matched: the first-update Jaccard needs them")
    shown = _present((c for s in sets.values() for c in s), criteria)
    if not shown:
        raise ValueError(f"none of the criteria {', '.join(criteria or [])} has a first-update set in the matched runs")
    return jaccard_summary(sets, criteria=shown, at="first", reference_criterion="random")


def jaccard_end(runs: Sequence[Run]):
    """Fig. 6b/21: Jaccard of the final masks of runs paired by seed, plus ``init``; reference J_init."""
    from .stats.jaccard import jaccard_summary

    plan: list[tuple[tuple, dict[str, Run], Run]] = []
    for gi, (g, by_seed) in enumerate(sorted(_groups(runs).items())):
        for seed, rs in by_seed.items():
            own: dict[str, Run] = {}
            for r in rs:
                own.setdefault(r.criterion, r)
            plan.append(((gi, seed), own, rs[0]))
    reads = [(r, "final") for _, own, _ in plan for r in own.values()] + [(first, "init") for _, _, first in plan]
    loaded = dict(zip(((id(r), what) for r, what in reads),
                      _read_in_threads(lambda t: t[0].final_masks() if t[1] == "final" else t[0].initial_masks(), reads)))
    sets: dict[tuple, dict[str, dict]] = {}
    for key, own, first in plan:
        sets[key] = {**{c: loaded[(id(r), "final")] for c, r in own.items()}, "init": loaded[(id(first), "init")]}
    if not sets:
        raise ValueError("no DST runs matched: the end-of-training Jaccard needs them")
    shown = _present(c for s in sets.values() for c in s) + ["init"]
    return jaccard_summary(sets, criteria=shown, at="end", reference_criterion="init")


def jaccard_time_rows(runs: Sequence[Run]) -> pd.DataFrame:
    """Fig. 18: per run and update, Jaccard of the run's removed set and each other criterion's shadow set."""
    from .stats.jaccard import jaccard, jaccard_over_time

    rows = []
    groups = {g: i for i, g in enumerate(sorted(_groups(runs)))}
    from .artifacts.select import group_key

    for r in runs:
        if r.config.get("method") != "dst" or not r.shadow_criteria:
            continue
        others = [c for c in r.shadow_criteria if c != r.criterion]
        for step in r.update_steps:
            upd = r.update(step, shadow=others, grown=False)
            for b in others:
                rows.append({"group": groups.get(group_key(r), 0), "seed": r.seed, "step": step, "run_criterion": r.criterion,
                             "other": b, "jaccard": jaccard(upd.pruned, upd.shadow[b])})
    if not rows:
        raise ValueError("no DST runs with shadow sets matched: the Jaccard over time needs them (record with --shadow all)")
    out = jaccard_over_time(pd.DataFrame(rows))
    order = {c: i for i, c in enumerate(criterion_order([*out["run_criterion"], *out["other"]]))}
    return out.sort_values(["run_criterion", "other", "step"], key=lambda s: s.map(order) if s.name != "step" else s, kind="stable").reset_index(drop=True)


def never_removed_rows(runs: Sequence[Run], criteria: Sequence[str] | None = None) -> pd.DataFrame:
    """Fig. 19: per model and seed, weights kept by every criterion at the first update / kept weights,
    and removed by every criterion / removed weights (see ``stats.never_removed``); over ``criteria``
    only when given."""
    from .stats.never_removed import kept_weights, never_removed

    sets = first_update_sets(runs)
    by_key = {}
    for (gi, seed), per in sets.items():
        by_key[(gi, seed)] = {c: per[c] for c in _present(per, criteria)}
    rows = []
    groups = sorted(_groups(runs).items())
    for (gi, seed), removed in sorted(by_key.items(), key=lambda kv: (kv[0][0], repr(kv[0][1]))):
        if len(removed) < 2:
            continue
        rep = groups[gi][1][seed][0]
        active = rep.initial_masks()
        kept = {c: kept_weights(active, s) for c, s in removed.items()}
        res = never_removed(kept, removed)
        rows.append({"model": rep.config.get("model"), "dataset": rep.config.get("dataset"), "seed": seed,
                     "density": rep.config.get("density"), "criteria": len(removed),
                     "retained_by_all": res["retained_by_all"], "removed_by_all": res["removed_by_all"]})
    if not rows:
        raise ValueError("no DST runs with at least two criteria (runs or shadow sets) at the first update matched")
    return pd.DataFrame(rows)


def itop_rows(runs: Sequence[Run]) -> pd.DataFrame:
    """ITOP ratio per DST run, rebuilt from the initial mask and every update file (Liu et al. 2021)."""
    from .stats.itop import itop_ratio

    rows = []
    for r in runs:
        if r.config.get("method") != "dst":
            continue
        updates = (r.update(s, shadow=[]) for s in r.update_steps)
        rows.append({"run_id": r.run_id, "criterion": r.criterion, "growth": r.config.get("growth"),
                     "update_period": r.config.get("update_period"), "density": r.config.get("density"), "seed": r.seed,
                     "model": r.config.get("model"), "dataset": r.config.get("dataset"),
                     "itop": itop_ratio(r.initial_masks(), updates, numel=r.numel), "itop_logged": r.summary.get("itop")})
    if not rows:
        raise ValueError("no DST runs matched: ITOP needs runs with topology updates")
    return pd.DataFrame(rows)


def itop_vs_update_period(rows: pd.DataFrame) -> pd.DataFrame:
    """Fig. 11: ITOP ratio vs Δt per criterion and growth, mean and std over seeds."""
    from .stats.tables import mean_std

    out = mean_std(rows, by=["model", "dataset", "growth", "density", "criterion", "update_period"], value="itop")
    out = out.rename(columns={"mean": "itop", "std": "itop_std"})
    out["_o"] = out["criterion"].map({c: i for i, c in enumerate(criterion_order(out["criterion"]))})
    return out.sort_values(["model", "dataset", "growth", "density", "_o", "update_period"], kind="stable").drop(columns="_o").reset_index(drop=True)


def cd_result(scores: pd.DataFrame, *, alpha: float = 0.05, lower_is_better: bool = False, test: str = "nemenyi"):
    """Fig. 3: Friedman + post-hoc over blocks of a (block, method, score) table (``stats.cd``)."""
    from .stats.cd import cd_analysis

    return cd_analysis(scores, alpha=alpha, lower_is_better=lower_is_better, test=test)
