"""Tests of trainer.sparsity against hand arithmetic and direct numpy computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.sparsity import (
    CRITERIA,
    EPS,
    GROWTH,
    SCHEDULES,
    initial_masks,
    layer_densities,
    prune_counts,
    prune_fraction,
    prune_scores,
    select_grow,
    select_prune,
    select_prune_global,
)

EXACT = tuple(c for c in CRITERIA if c != "set-legacy")  # criteria that remove exactly the count asked for


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def flat_set(t: torch.Tensor) -> set[int]:
    return set(np.flatnonzero(t.cpu().numpy().reshape(-1)).tolist())


# ---------------------------------------------------------------------------------------------
# init


def test_er_densities_by_hand_with_dense_cap():
    shapes = {"a": (4, 2), "b": (10, 10), "c": (20, 10)}
    # raw ER scores: a (4+2)/(4*2) = 0.75, b 20/100 = 0.2, c 30/200 = 0.15; 308 weights, target 154
    # first pass: eps = 154 / (0.75*8 + 0.2*100 + 0.15*200) = 154 / 56 = 2.75 -> a: 2.0625 > 1, dense
    # second pass: eps = (154 - 8) / (20 + 30) = 2.92 -> b 0.584, c 0.438
    d = layer_densities(shapes, 0.5, method="er")
    assert d["a"] == 1.0
    assert d["b"] == pytest.approx(0.584)
    assert d["c"] == pytest.approx(0.438)
    assert 8 * d["a"] + 100 * d["b"] + 200 * d["c"] == pytest.approx(154)
    # for 2-D weights ERK is ER
    assert layer_densities(shapes, 0.5, method="erk") == pytest.approx(d)


def test_erk_and_er_densities_by_hand_for_conv():
    shapes = {"conv": (8, 4, 3, 3), "fc": (10, 8)}  # 288 + 80 = 368 weights; target at 0.25 = 92
    # ERK: conv (8+4+3+3)/288 = 0.0625, fc 18/80 = 0.225; divisor 0.0625*288 + 0.225*80 = 36
    # eps = 92/36 -> conv 0.0625*92/36 = 46/288, fc 0.225*92/36 = 46/80
    erk = layer_densities(shapes, 0.25, method="erk")
    assert erk["conv"] == pytest.approx(46 / 288)
    assert erk["fc"] == pytest.approx(46 / 80)
    # ER ignores the kernel: conv (8+4)/(8*4) = 0.375; divisor 0.375*288 + 0.225*80 = 126
    er = layer_densities(shapes, 0.25, method="er")
    assert er["conv"] == pytest.approx(0.375 * 92 / 126)
    assert er["fc"] == pytest.approx(0.225 * 92 / 126)
    for d in (erk, er):
        assert 288 * d["conv"] + 80 * d["fc"] == pytest.approx(92)
    # erk_power_scale 0.5: raw conv sqrt(0.0625) = 0.25, fc sqrt(0.225)
    soft = layer_densities(shapes, 0.25, method="erk", erk_power_scale=0.5)
    eps = 92 / (0.25 * 288 + math.sqrt(0.225) * 80)
    assert soft["conv"] == pytest.approx(0.25 * eps)
    assert soft["fc"] == pytest.approx(math.sqrt(0.225) * eps)


@given(
    shapes=st.lists(st.tuples(st.integers(1, 12), st.integers(1, 12)), min_size=1, max_size=5),
    density=st.floats(0.01, 1.0),
    method=st.sampled_from(["er", "erk"]),
)
@settings(max_examples=60, deadline=None)
def test_overall_density_is_the_target(shapes, density, method):
    named = {f"l{i}": s for i, s in enumerate(shapes)}
    d = layer_densities(named, density, method=method)
    total = sum(math.prod(s) for s in shapes)
    assert sum(d[n] * math.prod(s) for n, s in named.items()) == pytest.approx(density * total)
    assert all(0.0 < v <= 1.0 for v in d.values())


def test_uniform_dense_and_bad_arguments():
    shapes = {"a": (3, 4), "b": (5, 5)}
    assert layer_densities(shapes, 0.3, method="uniform") == {"a": 0.3, "b": 0.3}
    assert layer_densities(shapes, 0.3, method="dense") == {"a": 1.0, "b": 1.0}
    assert layer_densities(shapes, 1.0, method="erk") == {"a": 1.0, "b": 1.0}
    with pytest.raises(ValueError, match=r"'erx'.*er, erk, uniform, dense"):
        layer_densities(shapes, 0.3, method="erx")
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="density"):
            layer_densities(shapes, bad, method="er")


def test_initial_masks_exact_counts_and_reproducible():
    shapes = {"a": (7, 3), "b": (4, 2, 3, 3)}
    dens = {"a": 0.5, "b": 0.25}
    m1 = initial_masks(shapes, dens, generator=gen(3))
    m2 = initial_masks(shapes, dens, generator=gen(3))
    assert int(m1["a"].sum()) == round(0.5 * 21) and int(m1["b"].sum()) == round(0.25 * 72)
    assert m1["b"].shape == (4, 2, 3, 3) and m1["b"].dtype == torch.bool
    assert all(torch.equal(m1[n], m2[n]) for n in shapes)
    assert not torch.equal(m1["b"], initial_masks(shapes, dens, generator=gen(4))["b"])


# ---------------------------------------------------------------------------------------------
# criteria


def numpy_scores(criterion, w, g, lam=1.0):
    aw, ag = np.abs(w), np.abs(g)
    return {
        "magnitude": aw,
        "mest": aw + lam * ag,
        "sensitivity": ag / (aw + 1e-12),
        "rsensitivity": aw / (ag + 1e-12),
        "snip": aw * ag,
    }[criterion]


def small_layer(seed=0, shape=(5, 6)):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=shape)
    g = rng.normal(size=shape)
    w.reshape(-1)[[2, 11]] = 0.0  # regrown weights are exactly zero
    mask = rng.random(shape) < 0.7
    mask.reshape(-1)[[2, 11]] = True
    return w, g, mask


@pytest.mark.parametrize("criterion", ["magnitude", "mest", "sensitivity", "rsensitivity", "snip"])
def test_score_criteria_match_numpy(criterion):
    w, g, mask = small_layer(1)
    scores = prune_scores(criterion, torch.tensor(w), torch.tensor(g), mest_lambda=0.7)
    np.testing.assert_allclose(scores.numpy(), numpy_scores(criterion, w, g, 0.7), rtol=1e-12)
    assert torch.isfinite(scores).all()
    k = 7
    got = select_prune(
        criterion,
        {"l": torch.tensor(w)},
        {"l": torch.tensor(g)},
        {"l": torch.tensor(mask)},
        {"l": k},
        generator=gen(),
        mest_lambda=0.7,
    )["l"]
    ref = numpy_scores(criterion, w, g, 0.7).reshape(-1)
    active = np.flatnonzero(mask)
    expected = set(active[np.argsort(ref[active])[:k]].tolist())
    assert flat_set(got) == expected


def test_inactive_weights_are_never_pruned_and_ties_by_index():
    w = torch.tensor([0.5, 0.0, 0.1, 0.1, 0.1, 0.0, 2.0])
    mask = torch.tensor([True, False, True, True, True, False, True])
    got = select_prune("magnitude", {"l": w}, None, {"l": mask}, {"l": 2}, generator=gen())["l"]
    assert flat_set(got) == {2, 3}  # the inactive zeros (1, 5) are lower but not eligible
    # counts above the active count are clipped
    got = select_prune("magnitude", {"l": w}, None, {"l": mask}, {"l": 100}, generator=gen())["l"]
    assert flat_set(got) == {0, 2, 3, 4, 6}


def test_float32_scores_on_float32_weights():
    w, g, mask = small_layer(2)
    s = prune_scores("sensitivity", torch.tensor(w, dtype=torch.float32), torch.tensor(g, dtype=torch.float32))
    assert s.dtype == torch.float32 and torch.isfinite(s).all()
    assert EPS == 1e-12


def test_set_sign_balance_smallest_positive_largest_negative():
    w, _, mask = small_layer(3, shape=(6, 7))
    for k in (1, 4, 7):
        got = select_prune("set", {"l": torch.tensor(w)}, None, {"l": torch.tensor(mask)}, {"l": k}, generator=gen())[
            "l"
        ]
        chosen = flat_set(got)
        flat_w = w.reshape(-1)
        active = np.flatnonzero(mask)
        pos = active[flat_w[active] >= 0]
        neg = active[flat_w[active] < 0]
        assert len(pos) >= k and len(neg) >= k
        exp_pos = set(pos[np.argsort(flat_w[pos])[: math.ceil(k / 2)]].tolist())
        exp_neg = set(neg[np.argsort(-flat_w[neg])[: k // 2]].tolist())
        assert chosen == exp_pos | exp_neg
        assert sum(flat_w[i] >= 0 for i in chosen) == math.ceil(k / 2)
        assert sum(flat_w[i] < 0 for i in chosen) == k // 2
    # the zero weights (indices 2, 11) are positive and the smallest, so they go first
    got = select_prune("set", {"l": torch.tensor(w)}, None, {"l": torch.tensor(mask)}, {"l": 3}, generator=gen())["l"]
    assert {2, 11} <= flat_set(got)


def test_set_takes_the_rest_from_the_other_sign():
    w = torch.tensor([0.3, -0.2, 0.1, 0.5, 0.4, -0.9, 0.2])
    mask = torch.tensor([True, True, True, True, True, False, True])  # one active negative
    got = select_prune("set", {"l": w}, None, {"l": mask}, {"l": 4}, generator=gen())["l"]
    assert flat_set(got) == {1, 2, 6, 0}  # -0.2, then 0.1, 0.2, 0.3
    got = select_prune("set", {"l": -w}, None, {"l": mask}, {"l": 4}, generator=gen())["l"]
    # signs flipped: only 1 non-negative (0.2); negatives closest to zero: -0.1, -0.2, -0.3
    assert flat_set(got) == {1, 2, 6, 0}


def test_random_prune_is_reproducible_and_active_only():
    w, _, mask = small_layer(4)
    args = ({"l": torch.tensor(w)}, None, {"l": torch.tensor(mask)}, {"l": 5})
    a = select_prune("random", *args, generator=gen(9))["l"]
    b = select_prune("random", *args, generator=gen(9))["l"]
    assert torch.equal(a, b) and int(a.sum()) == 5
    assert flat_set(a) <= set(np.flatnonzero(mask).tolist())
    # over many draws every active weight is chosen sometimes and no inactive one ever
    g = gen(1)
    hits = sum(select_prune("random", *args, generator=g)["l"].int() for _ in range(200))
    assert bool((hits[torch.tensor(mask)] > 0).all()) and int(hits[~torch.tensor(mask)].sum()) == 0


layers = st.lists(
    st.tuples(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.integers(0, 2**31 - 1), st.integers(0, 40)),
    min_size=1,
    max_size=3,
)


def make_layers(spec):
    weights, grads, masks, counts = {}, {}, {}, {}
    for i, (shape, seed, k) in enumerate(spec):
        rng = np.random.default_rng(seed)
        n = f"l{i}"
        weights[n] = torch.tensor(np.round(rng.normal(size=shape), 1))  # rounding makes ties
        grads[n] = torch.tensor(np.round(rng.normal(size=shape), 1))
        masks[n] = torch.tensor(rng.random(shape) < rng.random())
        counts[n] = k
    return weights, grads, masks, counts


@given(spec=layers, criterion=st.sampled_from(EXACT))
@settings(max_examples=80, deadline=None)
def test_local_prune_subset_of_active_with_exact_counts(spec, criterion):
    weights, grads, masks, counts = make_layers(spec)
    out = select_prune(criterion, weights, grads, masks, counts, generator=gen())
    for n in masks:
        assert out[n].shape == masks[n].shape and out[n].dtype == torch.bool
        assert not (out[n] & ~masks[n]).any()
        assert int(out[n].sum()) == min(counts[n], int(masks[n].sum()))


@given(spec=layers, criterion=st.sampled_from(EXACT), total=st.integers(0, 60))
@settings(max_examples=80, deadline=None)
def test_global_prune_subset_of_active_with_exact_total(spec, criterion, total):
    weights, grads, masks, _ = make_layers(spec)
    out = select_prune_global(criterion, weights, grads, masks, total, generator=gen())
    assert all(not (out[n] & ~masks[n]).any() for n in masks)
    n_active = sum(int(m.sum()) for m in masks.values())
    assert sum(int(o.sum()) for o in out.values()) == min(total, n_active)


def test_global_prune_ranks_across_layers():
    layers_np = [small_layer(5, (4, 5)), small_layer(6, (3, 4))]
    names = ["a", "b"]
    weights = {n: torch.tensor(w) for n, (w, _, _) in zip(names, layers_np)}
    grads = {n: torch.tensor(g) for n, (_, g, _) in zip(names, layers_np)}
    masks = {n: torch.tensor(m) for n, (_, _, m) in zip(names, layers_np)}
    total = 9
    for criterion in ("magnitude", "snip", "rsensitivity"):
        out = select_prune_global(criterion, weights, grads, masks, total, generator=gen())
        ref = np.concatenate([numpy_scores(criterion, w, g).reshape(-1) for w, g, _ in layers_np])
        active = np.flatnonzero(np.concatenate([m.reshape(-1) for _, _, m in layers_np]))
        expected = set(active[np.argsort(ref[active])[:total]].tolist())
        got = set(flat_set(out["a"])) | {i + 20 for i in flat_set(out["b"])}
        assert got == expected
    # set: ceil(9/2) = 5 smallest non-negative, 4 largest negative over both layers
    out = select_prune_global("set", weights, grads, masks, total, generator=gen())
    chosen = np.concatenate([weights[n].numpy().reshape(-1)[out[n].numpy().reshape(-1)] for n in names])
    assert (chosen >= 0).sum() == 5 and (chosen < 0).sum() == 4
    all_w = np.concatenate([w.reshape(-1) for w, _, _ in layers_np])[active]
    assert np.array_equal(np.sort(chosen[chosen >= 0]), np.sort(all_w[all_w >= 0])[:5])
    assert np.array_equal(np.sort(chosen[chosen < 0]), np.sort(all_w[all_w < 0])[-4:])


def test_prune_counts_rounds_per_layer():
    masks = {"a": torch.ones(10, dtype=torch.bool), "b": torch.tensor([True, True, True, False])}
    assert prune_counts(masks, 0.3) == {"a": 3, "b": 1}  # 0.3*3 = 0.9 -> 1
    assert prune_counts(masks, 0.0) == {"a": 0, "b": 0}
    with pytest.raises(ValueError, match="fraction"):
        prune_counts(masks, 1.5)


def test_bad_names_and_arguments():
    w = {"l": torch.ones(3)}
    m = {"l": torch.ones(3, dtype=torch.bool)}
    with pytest.raises(ValueError) as err:
        select_prune("magnitud", w, None, m, {"l": 1}, generator=gen())
    assert "'magnitud'" in str(err.value) and all(c in str(err.value) for c in CRITERIA)
    with pytest.raises(ValueError, match="'foo'"):
        select_prune_global("foo", w, None, m, 1, generator=gen())
    with pytest.raises(ValueError, match=r"'set'.*magnitude, mest"):
        prune_scores("set", torch.ones(3), None)
    with pytest.raises(ValueError, match="grad"):
        select_prune("snip", w, None, m, {"l": 1}, generator=gen())
    with pytest.raises(ValueError, match="not in masks"):
        select_prune("magnitude", w, None, m, {"x": 1}, generator=gen())
    with pytest.raises(ValueError, match=">= 0"):
        select_prune("magnitude", w, None, m, {"l": -1}, generator=gen())
    with pytest.raises(ValueError, match=r"'grow'.*random, gradient"):
        select_grow("grow", None, m, {"l": 1}, generator=gen())
    with pytest.raises(ValueError, match=r"'cos'.*cosine, linear, constant"):
        prune_fraction("cos", 0, rho=0.5, update_end=10)


# ---------------------------------------------------------------------------------------------
# growth


def test_gradient_growth_picks_largest_inactive_gradient():
    g = torch.tensor([[9.0, -0.5, 3.0], [-4.0, 0.1, 1.0], [0.0, -3.0, 7.0]])
    mask = torch.tensor([[True, False, False], [False, False, True], [False, False, True]])
    got = select_grow("gradient", {"l": g}, {"l": mask}, {"l": 3}, generator=gen())["l"]
    # inactive |g|: 0.5 (1), 3.0 (2), 4.0 (3), 0.1 (4), 0.0 (6), 3.0 (7); the actives 9 and 7 are not eligible
    assert flat_set(got) == {3, 2, 7}
    got = select_grow("gradient", {"l": g}, {"l": mask}, {"l": 2}, generator=gen())["l"]
    assert flat_set(got) == {3, 2}  # tie between 2 and 7 goes to the lower index


@given(spec=layers, growth=st.sampled_from(GROWTH))
@settings(max_examples=60, deadline=None)
def test_growth_only_inactive_with_exact_counts(spec, growth):
    _, grads, masks, counts = make_layers(spec)
    out = select_grow(growth, grads, masks, counts, generator=gen())
    for n in masks:
        assert not (out[n] & masks[n]).any()
        assert int(out[n].sum()) == min(counts[n], int((~masks[n]).sum()))
        if growth == "gradient" and out[n].any() and (~masks[n] & ~out[n]).any():
            a = grads[n].abs()
            assert a[out[n]].min() >= a[~masks[n] & ~out[n]].max()


# ---------------------------------------------------------------------------------------------
# schedules


def test_schedule_values():
    assert prune_fraction("cosine", 0, rho=0.5, update_end=1000) == pytest.approx(0.5)
    assert prune_fraction("cosine", 500, rho=0.5, update_end=1000) == pytest.approx(0.25)
    assert prune_fraction("cosine", 250, rho=0.5, update_end=1000) == pytest.approx(0.25 * (1 + math.sqrt(0.5)))
    assert prune_fraction("cosine", 1000, rho=0.5, update_end=1000) == pytest.approx(0.0)
    assert prune_fraction("linear", 599, rho=0.5, update_end=10_000) == pytest.approx(0.5)
    assert prune_fraction("linear", 600, rho=0.5, update_end=10_000) == pytest.approx(0.495)
    assert prune_fraction("linear", 1800, rho=0.5, update_end=10_000) == pytest.approx(0.5 * 0.99**3)
    assert prune_fraction("constant", 123, rho=0.3, update_end=1000) == 0.3
    for s in SCHEDULES:
        assert prune_fraction(s, 1001, rho=0.3, update_end=1000) == 0.0
    with pytest.raises(ValueError, match="rho"):
        prune_fraction("constant", 0, rho=1.5, update_end=10)
    with pytest.raises(ValueError, match="update_end"):
        prune_fraction("constant", 0, rho=0.5, update_end=0)


# ---------------------------------------------------------------------------------------------
# devices


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("criterion", CRITERIA)
def test_cuda_matches_cpu(criterion):
    w, g, mask = small_layer(7, (16, 20))
    cpu = ({"l": torch.tensor(w)}, {"l": torch.tensor(g)}, {"l": torch.tensor(mask)})
    gpu = tuple({k: v.cuda() for k, v in d.items()} for d in cpu)
    a = select_prune(criterion, *cpu, {"l": 30}, generator=gen(5))["l"]
    b = select_prune(criterion, *gpu, {"l": 30}, generator=gen(5))["l"]
    assert b.device.type == "cuda" and torch.equal(a, b.cpu())
    a = select_prune_global(criterion, *cpu, 30, generator=gen(5))["l"]
    b = select_prune_global(criterion, *gpu, 30, generator=gen(5))["l"]
    assert torch.equal(a, b.cpu())
    for growth in GROWTH:
        a = select_grow(growth, cpu[1], cpu[2], {"l": 25}, generator=gen(5))["l"]
        b = select_grow(growth, gpu[1], gpu[2], {"l": 25}, generator=gen(5))["l"]
        assert torch.equal(a, b.cpu())
    m = initial_masks({"l": (16, 20)}, {"l": 0.3}, generator=gen(2), device="cuda")["l"]
    assert m.device.type == "cuda"
    assert torch.equal(m.cpu(), initial_masks({"l": (16, 20)}, {"l": 0.3}, generator=gen(2))["l"])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400), st.integers(0, 400), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_lowest_equals_stable_argsort_with_ties(n, k, levels, seed):
    """The linear-time selection picks exactly the set a stable sort would, ties broken by index."""
    from trainer.sparsity.criteria import _lowest

    g = torch.Generator().manual_seed(seed)
    scores = torch.randint(0, levels, (n * 2,), generator=g).float()  # few distinct values: many ties
    candidates = torch.sort(torch.randperm(n * 2, generator=g)[:n]).values
    k = min(k, n)
    want = set(candidates[torch.argsort(scores[candidates], stable=True)[:k]].tolist())
    assert set(_lowest(scores, candidates, k).tolist()) == want


def test_sensitivity_and_rsensitivity_remove_disjoint_sets_up_to_half():
    # exact reciprocals: the lowest half of |g|/|w| and the lowest half of |w|/|g| never share a weight
    torch.manual_seed(3)
    w, g = torch.randn(40, 25), torch.randn(40, 25) * 1e-3
    mask = torch.rand(40, 25) < 0.6
    active = int(mask.sum())
    for k in (1, active // 3, active // 2):
        sets = {
            c: select_prune(c, {"l": w}, {"l": g}, {"l": mask}, {"l": k}, generator=gen())["l"]
            for c in ("sensitivity", "rsensitivity")
        }
        assert int(sets["sensitivity"].sum()) == int(sets["rsensitivity"].sum()) == k
        assert not (sets["sensitivity"] & sets["rsensitivity"]).any()


# ---------------------------------------------------------------------------------------------
# set-legacy: the SET option of the authors' code (pruners.magnitude_and_negativity_prune, SETGlobalPruner)


def _legacy_reference(w: np.ndarray, k: int, *, global_scope: bool) -> np.ndarray:
    """The authors' thresholds written out with numpy, for a fully active flat layer."""
    h = math.ceil(k / 2)
    pos, neg = np.sort(w[w > 0]), np.sort(w[w < 0])
    if global_scope:
        neg = neg[::-1]
    t_pos = pos[min(h, len(pos)) - 1]
    t_neg = neg[min(h, len(neg)) - 1]
    keep = ((w > t_pos) & (w > 0)) | ((w < t_neg) & (w < 0))
    return ~keep


@pytest.mark.parametrize("rho", [0.01, 0.1, 0.25, 0.5, 0.9])
def test_set_legacy_removes_negatives_plus_one_of_10000_at_any_rho(rho):
    w = torch.randn(100, 100, generator=gen(3))
    masks = {"l": torch.ones(100, 100, dtype=torch.bool)}
    counts = prune_counts(masks, rho)
    out = select_prune("set-legacy", {"l": w}, None, masks, counts, generator=gen())["l"]
    n_neg = int((w < 0).sum())
    assert int(out.sum()) == n_neg + 1  # whatever rho is: about 5,000 of 10,000
    assert 4800 < n_neg + 1 < 5200
    np.testing.assert_array_equal(
        out.numpy().reshape(-1), _legacy_reference(w.numpy().reshape(-1), counts["l"], global_scope=False)
    )
    # what stays: the ceil(k/2) - 1 most negative weights and the positives above the ceil(k/2)-th smallest
    h = math.ceil(counts["l"] / 2)
    kept = w[~out]
    assert int((kept < 0).sum()) == h - 1 and int((kept > 0).sum()) == int((w > 0).sum()) - h
    assert set(kept[kept < 0].tolist()) == set(torch.sort(w[w < 0]).values[: h - 1].tolist())
    # the paper's set removes exactly k with balanced signs
    assert int(select_prune("set", {"l": w}, None, masks, counts, generator=gen())["l"].sum()) == counts["l"]


def test_set_legacy_only_active_weights_zeros_removed_and_k0_removes_nothing():
    w = torch.tensor([0.5, -0.2, 0.0, 0.1, -0.9, 0.3, -0.4, 0.0])
    mask = torch.tensor([True, True, True, True, True, True, False, False])
    out = select_prune("set-legacy", {"l": w}, None, {"l": mask}, {"l": 2}, generator=gen())["l"]
    # h = 1: positives <= 0.1 go (0.1); negatives >= the most negative active (-0.9) go (-0.2, -0.9); the active 0 goes
    assert out.tolist() == [False, True, True, True, True, False, False, False]
    assert not select_prune("set-legacy", {"l": w}, None, {"l": mask}, {"l": 0}, generator=gen())["l"].any()


def test_set_legacy_global_is_the_authors_balanced_rule():
    w = torch.randn(2, 500, generator=gen(4))
    weights = {"a": w[0], "b": w[1]}
    masks = {"a": torch.ones(500, dtype=torch.bool), "b": torch.ones(500, dtype=torch.bool)}
    out = select_prune_global("set-legacy", weights, None, masks, 301, generator=gen())
    flat = torch.cat([out["a"], out["b"]]).numpy()
    np.testing.assert_array_equal(flat, _legacy_reference(w.reshape(-1).numpy(), 301, global_scope=True))
    assert flat.sum() == 2 * 151  # ceil(k/2) of each sign
