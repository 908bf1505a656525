"""Weights kept / removed by every criterion (Fig. 19) on a hand example with 3 criteria."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fwanalysis.stats.never_removed import kept_weights, never_removed, never_removed_summary


def bits(numel: int, idx) -> np.ndarray:
    flat = np.zeros(numel, dtype=bool)
    flat[list(idx)] = True
    return np.packbits(flat)


NUMEL = {"x": 12, "y": 9}
# Shared initial mask M: x: {0..7} (8 active), y: {0, 2, 4, 6} (4 active)
ACTIVE = {"x": bits(12, range(8)), "y": bits(9, {0, 2, 4, 6})}
# Each criterion removes 3 of x and 2 of y
REMOVED_IDX = {
    "magnitude": {"x": {0, 1, 2}, "y": {0, 2}},
    "snip": {"x": {1, 2, 3}, "y": {0, 4}},
    "random": {"x": {2, 5, 7}, "y": {0, 6}},
}


def test_hand_example_three_criteria():
    removed = {c: {n: bits(NUMEL[n], i) for n, i in per.items()} for c, per in REMOVED_IDX.items()}
    kept = {c: kept_weights(ACTIVE, r) for c, r in removed.items()}
    # kept by hand: magnitude x {3,4,5,6,7} y {4,6}; snip x {0,4,5,6,7} y {2,6}; random x {0,1,3,4,6} y {2,4}
    unpacked = {
        c: {n: set(np.flatnonzero(np.unpackbits(a, count=NUMEL[n])).tolist()) for n, a in k.items()}
        for c, k in kept.items()
    }
    assert unpacked["magnitude"] == {"x": {3, 4, 5, 6, 7}, "y": {4, 6}}
    assert unpacked["random"] == {"x": {0, 1, 3, 4, 6}, "y": {2, 4}}
    out = never_removed(kept, removed)
    # ⋂ kept: x {4, 6} (2), y {} (0); mean |K| = 5 + 2 = 7
    # ⋂ removed: x {2} (1), y {0} (1); mean |R| = 3 + 2 = 5
    assert out["retained_by_all"] == pytest.approx(2 / 7)
    assert out["removed_by_all"] == pytest.approx(2 / 5)
    assert out["criteria"] == ["magnitude", "snip", "random"]
    assert out["counts"] == {"kept_by_all": 2, "kept_mean": 7.0, "removed_by_all": 2, "removed_mean": 5.0}
    assert out["layers"]["x"] == {"retained_by_all": pytest.approx(2 / 5), "removed_by_all": pytest.approx(1 / 3)}
    assert out["layers"]["y"] == {"retained_by_all": 0.0, "removed_by_all": pytest.approx(1 / 2)}


def test_empty_denominator_is_nan_and_mismatch_rejected():
    z = {"x": bits(12, set())}
    out = never_removed({"a": z, "b": z}, {"a": z, "b": z})
    assert math.isnan(out["retained_by_all"]) and math.isnan(out["removed_by_all"])
    with pytest.raises(ValueError, match="different criteria"):
        never_removed({"a": z}, {"b": z})


def test_summary_mean_and_population_std():
    rows = pd.DataFrame(
        {
            "model": ["m1", "m1", "m2"],
            "dataset": ["c10", "c10", "c10"],
            "seed": [0, 1, 0],
            "retained_by_all": [0.5, 0.7, 0.9],
            "removed_by_all": [0.1, 0.3, 0.2],
        }
    )
    s = never_removed_summary(rows)
    assert s["model"].tolist() == ["m1", "m2"]
    r = s.iloc[0]
    assert r["retained_by_all"] == pytest.approx(0.6) and r["retained_by_all_std"] == pytest.approx(0.1)
    assert r["removed_by_all"] == pytest.approx(0.2) and r["removed_by_all_std"] == pytest.approx(0.1)
    assert r["n"] == 2 and s.iloc[1]["retained_by_all_std"] == 0.0
