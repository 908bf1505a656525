"""Jaccard statistics against independent references: Python sets of indices, numpy booleans, numpy means."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwanalysis.stats.jaccard import (
    JaccardResult,
    aggregate_jaccard,
    jaccard,
    jaccard_layers,
    jaccard_matrix,
    jaccard_over_time,
    jaccard_summary,
    reference_jaccard,
)


def from_indices(numel: int, idx) -> np.ndarray:
    """Packed bitset of ``numel`` bits with the given flat indices set (built without fwanalysis)."""
    flat = np.zeros(numel, dtype=bool)
    flat[list(idx)] = True
    return np.packbits(flat)


def set_jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else math.nan


# Layer sizes: 13 (not a multiple of 8), 70 (> 64, not a multiple of 64), 8, 0 (an empty layer).
SIZES = {"l0": 13, "l1": 70, "l2": 8, "l3": 0}
A_IDX = {"l0": {0, 3, 7, 12}, "l1": {1, 2, 64, 69}, "l2": set(), "l3": set()}
B_IDX = {"l0": {3, 7, 8}, "l1": {2, 5, 64, 65, 69}, "l2": set(), "l3": set()}
C_IDX = {"l0": {12}, "l1": set(range(60, 70)), "l2": {0, 1, 2, 3}, "l3": set()}


def layer_sets(idx: dict) -> dict:
    return {name: from_indices(SIZES[name], idx[name]) for name in SIZES}


def test_layers_match_hand_computation_with_python_sets():
    got = jaccard_layers(layer_sets(A_IDX), layer_sets(B_IDX))
    assert list(got) == list(SIZES)
    # l0: A∩B = {3, 7}, A∪B = {0, 3, 7, 8, 12}; l1: A∩B = {2, 64, 69}, A∪B = {1, 2, 5, 64, 65, 69}
    assert got["l0"] == pytest.approx(2 / 5)
    assert got["l1"] == pytest.approx(3 / 6)
    assert math.isnan(got["l2"]) and math.isnan(got["l3"])
    for name in ("l0", "l1"):
        assert got[name] == pytest.approx(set_jaccard(A_IDX[name], B_IDX[name]))


def test_layer_average_leaves_out_both_empty_layers():
    # l2, l3 empty in both: the mean is over l0 and l1 only (Eq. 1 with NaN layers left out).
    assert jaccard(layer_sets(A_IDX), layer_sets(B_IDX)) == pytest.approx((2 / 5 + 3 / 6) / 2)
    # A vs C: l2 is empty in A only, so it counts as 0.
    want = np.mean([set_jaccard(A_IDX[n], C_IDX[n]) for n in ("l0", "l1", "l2")])
    assert jaccard(layer_sets(A_IDX), layer_sets(C_IDX)) == pytest.approx(want)


def test_all_empty_is_nan_and_identity_is_one():
    empty = layer_sets({n: set() for n in SIZES})
    assert math.isnan(jaccard(empty, empty))
    assert jaccard(layer_sets(A_IDX), layer_sets(A_IDX)) == 1.0
    m = jaccard_matrix([empty, layer_sets(A_IDX)])
    assert math.isnan(m[0, 0]) and m[1, 1] == 1.0
    assert m[0, 1] == m[1, 0] == 0.0  # A∩∅ = ∅ in every layer where A is non-empty


def test_matrix_none_rows_are_nan():
    sets = [layer_sets(A_IDX), None, layer_sets(B_IDX)]
    m = jaccard_matrix(sets)
    assert np.isnan(m[1]).all() and np.isnan(m[:, 1]).all()
    assert m[0, 2] == pytest.approx(jaccard(sets[0], sets[2]))


def test_mismatched_inputs_are_rejected():
    a = layer_sets(A_IDX)
    with pytest.raises(ValueError, match="layers"):
        jaccard(a, {k: v for k, v in a.items() if k != "l0"})
    with pytest.raises(ValueError, match="lengths"):
        jaccard_matrix([a, {**a, "l0": np.zeros(5, np.uint8)}])
    with pytest.raises(TypeError, match="packed bitset"):
        jaccard(a, {**a, "l0": np.zeros(13, bool)})


def naive_layer_average(a_bool: dict, b_bool: dict) -> float:
    vals = []
    for name in a_bool:
        x, y = a_bool[name], b_bool[name]
        union = np.logical_or(x, y).sum()
        if union:
            vals.append(np.logical_and(x, y).sum() / union)
    return float(np.mean(vals)) if vals else math.nan


@st.composite
def model_sets(draw):
    n_layers = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(0, 200), min_size=n_layers, max_size=n_layers))
    k = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dens = draw(st.lists(st.sampled_from([0.0, 0.05, 0.3, 0.9, 1.0]), min_size=k, max_size=k))
    bools = [{f"layer{i}.weight": rng.random(size) < d for i, size in enumerate(sizes)} for d in dens]
    return bools


@settings(max_examples=60, deadline=None)
@given(model_sets())
def test_matrix_equals_pairwise_and_naive_bool(bools):
    packed = [{name: np.packbits(arr) for name, arr in b.items()} for b in bools]
    m = jaccard_matrix(packed)
    k = len(bools)
    assert m.shape == (k, k)
    np.testing.assert_array_equal(m, m.T)
    for i in range(k):
        for j in range(k):
            want = naive_layer_average(bools[i], bools[j])
            np.testing.assert_allclose(m[i, j], want, rtol=1e-12, equal_nan=True)
            np.testing.assert_allclose(m[i, j], jaccard(packed[i], packed[j]), rtol=1e-12, equal_nan=True)


def test_reference_on_three_seeds_by_hand():
    # One layer of 10 weights; seeds' random sets {0,1,2}, {1,2,3}, {5,6}.
    s = [{"w": from_indices(10, idx)} for idx in ({0, 1, 2}, {1, 2, 3}, {5, 6})]
    # pairs: (0,1): 2/4, (0,2): 0/5, (1,2): 0/5
    assert reference_jaccard(s) == pytest.approx((0.5 + 0 + 0) / 3)
    assert math.isnan(reference_jaccard(s[:1]))
    assert reference_jaccard([s[0], None, s[1]]) == pytest.approx(0.5)


def test_aggregate_mean_std_n_against_numpy():
    rng = np.random.default_rng(1)
    mats = [rng.random((3, 3)) for _ in range(5)]
    mats[1][0, 2] = np.nan  # one absent pair
    groups = ["a", "a", "a", "b", "b"]
    agg = aggregate_jaccard(mats, groups=groups)
    ga, gb = np.stack(mats[:3]), np.stack(mats[3:])
    want_mean = (np.nanmean(ga, axis=0) + np.nanmean(gb, axis=0)) / 2
    want_std = (np.nanstd(ga, axis=0, ddof=0) + np.nanstd(gb, axis=0, ddof=0)) / 2
    np.testing.assert_allclose(agg.mean, want_mean)
    np.testing.assert_allclose(agg.std, want_std)
    want_n = np.full((3, 3), 5)
    want_n[0, 2] = 4
    np.testing.assert_array_equal(agg.n, want_n)
    assert agg.groups == 2
    # one group: plain population std over seeds
    one = aggregate_jaccard(mats[3:])
    np.testing.assert_allclose(one.std, np.std(gb, axis=0))
    # a cell absent everywhere is NaN with n 0
    allnan = aggregate_jaccard([np.full((2, 2), np.nan)])
    assert np.isnan(allnan.mean).all() and (allnan.n == 0).all()


def test_summary_and_json_shape():
    sets = {}
    idx = {
        0: {"magnitude": {0, 1, 2}, "set": {0, 1, 3}, "random": {4, 5, 6}},
        1: {"magnitude": {0, 1}, "set": {0, 1}, "random": {5, 6}},
    }
    for seed, per in idx.items():
        sets[("g", seed)] = {c: {"w": from_indices(8, i)} for c, i in per.items()}
    res = jaccard_summary(sets, criteria=["magnitude", "set", "random", "snip"], at="first")
    # magnitude vs set: seed 0: 2/4, seed 1: 2/2
    assert res.mean[0, 1] == pytest.approx(0.75)
    assert res.std[0, 1] == pytest.approx(0.25)
    assert res.n[0, 1] == 2 and res.n[3, 3] == 0
    # J_r: {4,5,6} vs {5,6} = 2/3
    assert res.reference_name == "J_r" and res.reference_value == pytest.approx(2 / 3)
    js = res.to_json()
    assert set(js) == {"at", "criteria", "mean", "std", "n", "reference", "groups"}
    assert js["mean"][3][3] is None and js["n"][3][3] == 0
    assert js["reference"] == {"name": "J_r", "value": pytest.approx(2 / 3)}
    assert js["groups"] == 1
    with pytest.raises(ValueError, match="'first', 'end', 'time'"):
        jaccard_summary(sets, criteria=["set"], at="last")


def test_end_reference_is_j_init():
    init = {0: {0, 1, 2, 3}, 1: {2, 3, 4, 5}}
    sets = {
        ("g", s): {"magnitude": {"w": from_indices(8, i)}, "init": {"w": from_indices(8, i)}} for s, i in init.items()
    }
    res = jaccard_summary(sets, criteria=["magnitude", "init"], at="end")
    assert res.reference_name == "J_init" and res.reference_value == pytest.approx(2 / 6)
    assert res.criteria[-1] == "init"


def test_result_checks_shapes():
    with pytest.raises(ValueError, match="shape"):
        JaccardResult("first", ["a", "b"], np.zeros((3, 3)), np.zeros((2, 2)), np.zeros((2, 2)), "J_r", 0.1)


def test_over_time_means_over_seeds_then_groups():
    rows = pd.DataFrame(
        [
            # group g1: two seeds; group g2: one seed
            (800, "magnitude", "set", 0, "g1", 0.2),
            (800, "magnitude", "set", 1, "g1", 0.4),
            (800, "magnitude", "set", 0, "g2", 0.9),
            (0, "magnitude", "set", 0, "g1", 0.1),
            (800, "magnitude", "random", 0, "g1", np.nan),
            (800, "magnitude", "random", 1, "g1", 0.05),
        ],
        columns=["step", "run_criterion", "other", "seed", "group", "jaccard"],
    )
    out = jaccard_over_time(rows)
    assert list(out.columns) == ["step", "run_criterion", "other", "jaccard", "std", "n"]
    assert list(zip(out["other"], out["step"])) == [("random", 800), ("set", 0), ("set", 800)]
    r = out.iloc[2]
    assert r["jaccard"] == pytest.approx((0.3 + 0.9) / 2)
    assert r["std"] == pytest.approx((0.1 + 0.0) / 2)
    assert r["n"] == 3
    assert out.iloc[0]["jaccard"] == pytest.approx(0.05) and out.iloc[0]["n"] == 1


def test_matrix_on_many_layers_of_odd_sizes_matches_per_pair_sets():
    rng = np.random.default_rng(7)
    sizes = [int(s) for s in rng.integers(1, 300, size=20)]
    idx_sets = [
        {f"l{i}": set(np.flatnonzero(rng.random(n) < 0.3).tolist()) for i, n in enumerate(sizes)} for _ in range(4)
    ]
    packed = [{f"l{i}": from_indices(n, s[f"l{i}"]) for i, n in enumerate(sizes)} for s in idx_sets]
    m = jaccard_matrix(packed)
    for i, j in combinations(range(4), 2):
        vals = [set_jaccard(idx_sets[i][n], idx_sets[j][n]) for n in idx_sets[i]]
        vals = [v for v in vals if not math.isnan(v)]
        assert m[i, j] == pytest.approx(np.mean(vals), rel=1e-12)


def test_matrix_in_several_scratch_blocks_matches_one_block(monkeypatch):
    import fwanalysis.stats.jaccard as J

    rng = np.random.default_rng(3)
    sizes = {"a": 1000, "b": 77, "c": 4096}
    sets = [{n: np.packbits(rng.random(k) < d) for n, k in sizes.items()} for d in (0.1, 0.5, 0.9, 0.3)]
    whole = jaccard_matrix(sets)
    monkeypatch.setattr(J, "_SCRATCH_BYTES", 1)  # one pair per block
    np.testing.assert_array_equal(jaccard_matrix(sets), whole)
