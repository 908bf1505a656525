"""The claims on accuracy (Figs. 1, 3, 10 and figx1): the criteria's average ranks and critical differences, and
DST against static sparse training at low density."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from .. import analyses as A
from .base import (
    DST_OR_STATIC,
    FIVE,
    LOW,
    NoData,
    Outcome,
    Selected,
    _block_name,
    _mean,
    _plain,
    _round,
    _used,
    only,
)


def _cd(rs: Selected, what="the accuracy study"):
    """The critical-difference result of a figure's runs; NoData names the figure's filters when it cannot be had."""
    flt = rs.entry.flt
    if not any(r.kind == "dst" for r in rs):
        raise NoData(f"no DST runs of {what} ({flt.describe()})")
    scores = A.cd_scores(rs)
    if scores.empty:
        raise NoData(f"no test accuracies in {what} ({flt.describe()})")
    res = A.cd_result(scores)
    if res.n_blocks < 2:
        raise NoData(
            f"{res.n_blocks} complete block(s) in {what} ({flt.describe()}; {res.dropped_blocks} dropped as "
            "incomplete): a critical difference needs at least 2"
        )
    return res


def _cd_detail(res) -> dict:
    return {
        "avg_ranks": {m: float(res.avg_ranks[m]) for m in res.methods},
        "CD": float(res.cd),
        "n_blocks": int(res.n_blocks),
        "dropped_blocks": int(res.dropped_blocks),
        "alpha": float(res.alpha),
        "friedman_p": float(res.friedman["pvalue"]),
    }


def _rank(res, crit: str) -> float:
    if crit not in res.avg_ranks:
        raise NoData(f"{crit} has no complete block among {', '.join(res.methods)}")
    return float(res.avg_ranks[crit])


def _magnitude_best_low(low: Selected):
    res = _cd(low)
    value = _rank(res, "magnitude") - min(res.avg_ranks.values())
    return Outcome(value, lambda v: v <= _round(res.cd), _used(low), _cd_detail(res))


def _rsens_high(high: Selected, low: Selected):
    lo, hi = _cd(low), _cd(high)
    value = _rank(lo, "rsensitivity") - _rank(hi, "rsensitivity")
    return Outcome(
        value, lambda v: v > 0, _used(low, high), {"low_density": _cd_detail(lo), "high_density": _cd_detail(hi)}
    )


def _snip_not_better(low: Selected):
    res = _cd(low)
    value = _rank(res, "magnitude") - _rank(res, "snip")
    return Outcome(value, lambda v: v < _round(res.cd), _used(low), _cd_detail(res))


def _set_defect(three: Selected):
    """Magnitude, SET and set-legacy (figx1's filter) over the set-defect and accuracy studies."""
    res = _cd(three, what="the set-defect and accuracy studies")
    value = abs(_rank(res, "set") - _rank(res, "set-legacy"))
    _rank(res, "magnitude")
    return Outcome(value, lambda v: v < _round(res.cd), _used(three), _cd_detail(res))


def _split_rows(df, keys: Sequence[str]):
    """``{block: {label: mean}}`` of a metric_vs frame, the block being ``keys`` plus the fields it kept apart."""
    sep = [s for s in df.attrs.get("separated_by", []) if s not in keys]
    blocks: dict[tuple, dict[str, float]] = {}
    for _, row in df.iterrows():
        key = tuple((k, _plain(row[k])) for k in [*keys, *sep])
        blocks.setdefault(key, {})[row["criterion"]] = float(row["mean"])
    return blocks


def _accuracy(fig01: Selected):
    """Fig. 1's runs of every setup (as Fig. 22) without the dense runs: ``{block: {label: mean}}``."""
    rs = only(fig01, DST_OR_STATIC)
    if not any(r.kind == "dst" for r in rs):
        raise NoData(
            "no DST runs of the five criteria in the accuracy study "
            "(make them with `fw-train sweep specs/accuracy.toml`)"
        )
    df = A.accuracy_table(rs)
    return rs, _split_rows(df, ["model", "dataset", "growth", "density"])


def _dst_beats_static(fig01: Selected):
    rs, blocks = _accuracy(fig01)
    per = {}
    for key, vals in blocks.items():
        d = dict(key)["density"]
        crit = [vals[c] for c in FIVE if c in vals]
        if d is None or d > LOW + 1e-12 or "static" not in vals or not crit:
            continue
        med = statistics.median(crit)
        per[_block_name(key)] = {
            "median_of_criteria": med,
            "static": vals["static"],
            "criteria": len(crit),
            "beats": med > vals["static"],
        }
    if not per:
        raise NoData(
            "no accuracy-study block with density <= 0.2 has both DST runs of the five criteria and a static run"
        )
    value = sum(p["beats"] for p in per.values()) / len(per)
    return Outcome(value, lambda v: v >= 0.75, _used(rs), {"blocks": per, "n_blocks": len(per)})


def _differences(fig01: Selected):
    rs, blocks = _accuracy(fig01)
    low, high = {}, {}
    for key, vals in blocks.items():
        d = dict(key)["density"]
        crit = [vals[c] for c in FIVE if c in vals]
        if d is None or len(crit) < 2:
            continue
        (low if d <= LOW + 1e-12 else high)[_block_name(key)] = max(crit) - min(crit)
    if not low or not high:
        raise NoData(
            f"the accuracy study needs blocks with two or more criteria at low and at high density "
            f"(have {len(low)} low, {len(high)} high)"
        )
    ml, mh = _mean(low.values()), _mean(high.values())
    return Outcome(
        ml - mh, lambda v: v > 0, _used(rs), {"spread_low": low, "spread_high": high, "mean_low": ml, "mean_high": mh}
    )
