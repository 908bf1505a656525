"""What the figures compute and tabulate: runs -> result (through :mod:`fwanalysis.analyses`) and result -> the
data table a figure's CSV holds."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pandas as pd

from .. import analyses as A
from ..artifacts import Run
from ..vocab import STRUCTURAL_CRITERIA


def jaccard_table(res) -> pd.DataFrame:
    return res.to_frame()


def cd_table(res) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "method": res.methods,
            "avg_rank": [res.avg_ranks[m] for m in res.methods],
            "cd": res.cd,
            "alpha": res.alpha,
            "n_blocks": res.n_blocks,
            "friedman_p": res.friedman["pvalue"],
            "iman_davenport_p": res.iman_davenport["pvalue"],
            "significant": res.significant,
        }
    )


def _ident(df):
    return df


def _dst(runs):
    return [r for r in runs if r.kind == "dst"]


def _cd(runs):
    """Fig. 3: the density bounds are the entry's filter (RunFilter), the same code as
    `fwa cd-diagram --density-max/--density-gt`."""
    return A.cd_result(A.cd_scores(runs))


def _random_growth_or_baseline(runs: list[Run]) -> list[Run]:
    """DST runs with random growth (the paper's default) and the dense/static baselines."""
    return [r for r in runs if r.kind != "dst" or r.config.get("growth") == "random"]


def _loss_gap(runs):
    return {"gap": A.loss_gap_baselines(runs), "acc": A.accuracy_by_label(runs)}


def _loss_gap_table(res):
    gap = res["gap"].assign(panel="loss gap")
    acc = res["acc"].assign(panel="test accuracy")
    return pd.concat([gap, acc], ignore_index=True)


def _itop(runs):
    return A.itop_vs_update_period(A.itop_rows(runs))


def _metric_x(x: str, *, dst_only: bool = True, by=("model", "dataset", "growth", "density", "criterion")):
    def compute(runs):
        return A.metric_vs(_dst(runs) if dst_only else runs, x=x, by=by)

    return compute


def _scope(runs):
    return A.scope_pairs(_dst(runs))


def _curves(runs):
    """Figs. 8 (right), 23-30: validation accuracy per epoch per criterion and density (random growth), dense beside."""
    return A.learning_curves(_random_growth_or_baseline(runs))


def _first(criteria=STRUCTURAL_CRITERIA, std="seeds"):
    return _per_group(partial(A.jaccard_first, criteria=list(criteria), std=std))


def _sensitivity_pair(runs):
    """Fig. 8: accuracy vs density of sensitivity, RSensitivity (and magnitude) with random growth, and
    the learning curves at density 0.2."""
    rs = _random_growth_or_baseline(runs)
    near = A.closest_density(rs, 0.2)
    return {"acc": A.accuracy_table(rs), "curves": A.learning_curves(near)}


def _sensitivity_table(res):
    return pd.concat(
        [res["acc"].assign(panel="accuracy vs density"), res["curves"].assign(panel="learning curves")],
        ignore_index=True,
    )


def _per_group(compute: Callable) -> Callable:
    """``runs -> {panel title: compute(that group's runs)}``: one panel per model and per value of any
    other field in which the groups of DST runs differ (e.g. ρ), never averaging across them. Without
    DST runs ``compute`` sees all runs, so that its own error says what is missing."""

    def per(runs: list[Run]) -> dict:
        groups = A.split_groups(runs)
        out = {}
        for key, rs in groups.items():
            out[key] = compute(rs)
        return out or {(): compute(runs)}

    return per


def _group_table(table: Callable) -> Callable:
    """Tables of a ``{group key: result}`` dict stacked, led by the group's fields (``model`` first)."""

    def stacked(results: dict) -> pd.DataFrame:
        frames = []
        for key, res in results.items():
            df = table(res)
            for f, v in reversed(key):
                df.insert(0, f, [v] * len(df))
            frames.append(df)
        return pd.concat(frames, ignore_index=True)

    return stacked


def _time_rows_per_group(runs: list[Run]) -> pd.DataFrame:
    every = 4  # every 3,200 iterations at Δt = 800 (paper Fig. 18): every 4th update
    return _group_table(_ident)(
        _per_group(partial(A.jaccard_time_rows, criteria=STRUCTURAL_CRITERIA, every=every))(runs)
    )


_SET_DEFECT = ("magnitude", "set", "set-legacy")


def _set_defect(runs):
    """figx1: accuracy vs density and CD ranks of set, set-legacy and magnitude on the setups that have
    set-legacy runs (the set and magnitude runs come from the accuracy study)."""
    legacy = {
        (r.config.get("model"), r.config.get("dataset")) for r in runs if r.config.get("criterion") == "set-legacy"
    }
    rs = [r for r in _dst(runs) if (r.config.get("model"), r.config.get("dataset")) in legacy]
    if not rs:
        raise ValueError("no set-legacy runs matched: make them with `fw-train sweep specs/set-defect.toml`")
    return {
        "acc": A.accuracy_table(rs),
        "cd": A.cd_result(A.cd_scores(rs)),
        "gap": A.paired_difference(rs, "set", "set-legacy"),
    }


def _set_defect_table(res):
    ranks = pd.DataFrame({"criterion": res["cd"].methods, "mean": [res["cd"].avg_ranks[m] for m in res["cd"].methods]})
    return pd.concat(
        [res["acc"].assign(panel="test accuracy"), ranks.assign(panel="average rank (CD diagram)")], ignore_index=True
    )


def _set_defect_summary(res) -> str:
    gap, cd = res["gap"], res["cd"]
    ranks = ", ".join(f"{m} {cd.avg_ranks[m]:.2f}" for m in cd.methods)
    return (
        f"Measured: SET minus set-legacy test accuracy {gap['mean']:+.4f} on average over {gap['n']} "
        f"(model, dataset, growth, density, seed) pairs (range {gap['min']:+.3f} to {gap['max']:+.3f}); "
        f"average ranks {ranks}; CD = {cd.cd:.3f} over {cd.n_blocks} blocks."
    )
