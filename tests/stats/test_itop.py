"""ITOP replay and ratio against hand-written masks and unions (Liu et al. 2021)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fwanalysis.artifacts.reader import UpdateSets
from fwanalysis.stats.itop import itop_curve, itop_ratio, replay_masks


def bits(numel: int, idx) -> np.ndarray:
    flat = np.zeros(numel, dtype=bool)
    flat[list(idx)] = True
    return np.packbits(flat)


def indices(packed: np.ndarray, numel: int) -> set:
    return set(np.flatnonzero(np.unpackbits(packed, count=numel)).tolist())


# Two layers: "a" with 10 weights (not a multiple of 8), "b" with 16.
NUMEL = {"a": 10, "b": 16}
INITIAL = {"a": bits(10, {0, 1, 2}), "b": bits(16, {3, 4, 15})}
UPDATES = [
    # step 100: a: drop 0, grow 9; b: drop 15, grow 7
    (100, {"a": bits(10, {0}), "b": bits(16, {15})}, {"a": bits(10, {9}), "b": bits(16, {7})}),
    # step 200: a: drop 9, grow 0 (back); b: nothing pruned or grown (b missing from both)
    (200, {"a": bits(10, {9})}, {"a": bits(10, {0})}),
    # step 300: a: drop 1, grow 5; b: drop 3, grow 8
    (300, {"a": bits(10, {1}), "b": bits(16, {3})}, {"a": bits(10, {5}), "b": bits(16, {8})}),
]
# Masks by hand
HAND = {
    100: {"a": {1, 2, 9}, "b": {3, 4, 7}},
    200: {"a": {0, 1, 2}, "b": {3, 4, 7}},
    300: {"a": {0, 2, 5}, "b": {4, 7, 8}},
}
# Union of all masks so far, by hand
UNION = {
    0: {"a": {0, 1, 2}, "b": {3, 4, 15}},
    100: {"a": {0, 1, 2, 9}, "b": {3, 4, 7, 15}},
    200: {"a": {0, 1, 2, 9}, "b": {3, 4, 7, 15}},
    300: {"a": {0, 1, 2, 5, 9}, "b": {3, 4, 7, 8, 15}},
}


def test_replay_on_hand_example():
    initial_copy = {k: v.copy() for k, v in INITIAL.items()}
    got = list(replay_masks(INITIAL, UPDATES))
    assert [s for s, _ in got] == [100, 200, 300]
    for step, mask in got:
        assert {n: indices(m, NUMEL[n]) for n, m in mask.items()} == HAND[step]
    for k in INITIAL:  # inputs untouched
        np.testing.assert_array_equal(INITIAL[k], initial_copy[k])


def test_replay_accepts_update_objects():
    objs = [UpdateSets(step=s, pruned=p, grown=g, shadow={}) for s, p, g in UPDATES]
    last = list(replay_masks(INITIAL, objs))[-1][1]
    assert {n: indices(m, NUMEL[n]) for n, m in last.items()} == HAND[300]


def test_itop_curve_on_hand_example():
    curve = itop_curve(INITIAL, UPDATES, initial_step=0, numel=NUMEL)
    assert list(curve.columns) == ["step", "itop"]
    assert curve["step"].tolist() == [0, 100, 200, 300]
    total = 10 + 16
    want = [sum(len(v) for v in UNION[s].values()) / total for s in (0, 100, 200, 300)]
    assert want == [6 / 26, 8 / 26, 8 / 26, 10 / 26]
    np.testing.assert_allclose(curve["itop"], want)
    assert itop_ratio(INITIAL, UPDATES, numel=NUMEL) == pytest.approx(10 / 26)


def test_itop_without_numel_counts_whole_bytes():
    # without numel, layer "a" counts 16 weights (2 bytes): total 32
    assert itop_ratio(INITIAL, UPDATES) == pytest.approx(10 / 32)


def test_itop_no_updates_and_initial_step():
    curve = itop_curve(INITIAL, [], initial_step=5, numel=NUMEL)
    pd.testing.assert_frame_equal(curve, pd.DataFrame({"step": np.array([5], np.int64), "itop": [6 / 26]}))


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="not in the initial mask"):
        list(replay_masks(INITIAL, [(1, {"zz": bits(8, {0})}, {})]))
    with pytest.raises(ValueError, match="2 bytes"):
        list(replay_masks(INITIAL, [(1, {"a": bits(24, {0})}, {})]))
    with pytest.raises(ValueError, match="numel"):
        itop_curve(INITIAL, UPDATES, numel={"a": 10, "b": 17})


def test_itop_checks_grown_sets():
    with pytest.raises(ValueError, match="2 bytes"):
        itop_curve(INITIAL, [(1, {}, {"a": bits(24, {0})})])
    with pytest.raises(ValueError, match="not in the initial mask"):
        itop_curve(INITIAL, [(1, {}, {"zz": bits(8, {0})})])
