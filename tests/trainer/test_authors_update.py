"""The DST update as the authors' code runs it, pinned by facts worked out by hand (issue 19): a weight regrown
at the update that pruned it keeps its value; random growth can draw a Binomial count; the cosine the code ran
ends at 0.005; counts are rounded up. Each has its switch (docs/trainer.md), and the other side is tested too."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainer.config import ConfigError, TrainConfig, check
from trainer.sparsity import prune_fraction
from trainer.sparsity.criteria import count_of, prune_counts
from trainer.sparsity.growth import select_grow
from trainer.topology import update_topology


def _layer_update(regrown_weights: str) -> torch.Tensor:
    """One magnitude update (ρ 0.5, gradient growth) of a 6-weight layer, worked out by hand:

    weights [0.1, -2.0, 0.05, 3.0, 0, 0], the last two inactive; magnitude removes ceil(0.5 * 4) = 2, the
    smallest |θ|: 0.05 (index 2) and 0.1 (index 0). Gradient growth regrows the 2 inactive weights with
    the largest |∇θ| among indices 0, 2, 4, 5 (|∇θ| 9, 1, 5, 0.5): index 0, pruned a moment ago, and
    index 4, inactive before."""
    c = TrainConfig(
        criterion="magnitude", growth="gradient", regrown_weights=regrown_weights, update_order="sparselearning"
    )
    w = torch.nn.Parameter(torch.tensor([0.1, -2.0, 0.05, 3.0, 0.0, 0.0]))
    masks = {"w": torch.tensor([True, True, True, True, False, False])}
    grads = {"w": torch.tensor([9.0, 0.0, 1.0, 0.0, 5.0, 0.5])}
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    new = update_topology(c, 10, 0.5, {"w": w}, ["w"], masks, grads, opt, None, [], dump_state=False)
    assert new["w"].tolist() == [True, True, False, True, True, False]
    return w.detach()


def test_a_weight_regrown_where_it_was_pruned_keeps_its_value():
    assert _layer_update("keep").tolist() == pytest.approx([0.1, -2.0, 0.0, 3.0, 0.0, 0.0])


def test_with_zero_every_regrown_weight_starts_at_zero():
    assert _layer_update("zero").tolist() == pytest.approx([0.0, -2.0, 0.0, 3.0, 0.0, 0.0])


def test_binomial_random_growth_count_has_the_binomial_mean_and_spread():
    """n = 1000 inactive weights, k = 100: each grown with p = 0.1, so the count is Binomial(1000, 0.1):
    mean 100, variance 90 (sd 9.49). Over 2000 draws the mean is 100 within 4 standard errors (0.21 each)
    and the variance 90 within 15 % (its relative standard error is about 3.4 %)."""
    mask = torch.zeros(2000, dtype=torch.bool)
    mask[:1000] = True  # 1000 active, 1000 inactive
    counts = []
    for seed in range(2000):
        grown = select_grow(
            "random", None, {"l": mask}, {"l": 100}, generator=torch.Generator().manual_seed(seed), count="binomial"
        )["l"]
        assert not (grown & mask).any()  # only inactive weights grow
        counts.append(int(grown.sum()))
    counts = np.array(counts)
    assert abs(counts.mean() - 100) < 4 * math.sqrt(90 / len(counts))
    assert counts.var(ddof=1) == pytest.approx(90, rel=0.15)
    assert len(set(counts.tolist())) > 20  # a spread, not k every time


def test_exact_growth_grows_k_every_time():
    mask = torch.zeros(200, dtype=torch.bool)
    mask[:100] = True
    for seed in range(20):
        grown = select_grow("random", None, {"l": mask}, {"l": 37}, generator=torch.Generator().manual_seed(seed))["l"]
        assert int(grown.sum()) == 37 and not (grown & mask).any()


def test_binomial_count_is_random_growth_only():
    with pytest.raises(ValueError, match="random"):
        select_grow(
            "gradient",
            {"l": torch.ones(4)},
            {"l": torch.zeros(4, dtype=torch.bool)},
            {"l": 2},
            generator=torch.Generator(),
            count="binomial",
        )
    with pytest.raises(ConfigError, match="--growth-count binomial applies only with --growth random"):
        check(TrainConfig(growth="gradient", growth_count="binomial"))


@pytest.mark.parametrize("t, want", [(0, 0.5), (500, 0.2525), (1000, 0.005)])
def test_shifted_cosine_at_the_start_middle_and_end(t, want):
    """ρ 0.5, end 0.005, T 1000: ρ_t = 0.005 + 0.495/2 (1 + cos(πt/T)) is 0.5, 0.2525 and 0.005."""
    assert prune_fraction("cosine", t, rho=0.5, update_end=1000, end=0.005) == pytest.approx(want, abs=1e-12)


def test_shifted_cosine_is_what_pytorchs_cosine_annealing_gives():
    """The authors' CosineDecay is PyTorch's CosineAnnealingLR (eta_min 0.005) on a dummy optimizer, stepped
    once per optimizer step: after t steps it gives fwa's shifted cosine at t (to float rounding)."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=1000, eta_min=0.005)
    for t in range(1, 1001):
        opt.step()
        sched.step()
        if t % 50 == 0:
            assert opt.param_groups[0]["lr"] == pytest.approx(
                prune_fraction("cosine", t, rho=0.5, update_end=1000, end=0.005), abs=1e-9
            )


def test_the_papers_cosine_is_the_default():
    assert TrainConfig().prune_fraction_end == 0.0
    assert prune_fraction("cosine", 500, rho=0.5, update_end=1000) == pytest.approx(0.25)


def test_counts_are_rounded_up_as_the_authors_math_ceil():
    """ρ_t × active rounded up: 0.5 × 5 = 2.5 -> 3 (nearest: 2, half to even); 0.28 × 25 is 7.000000000000001 in
    floating point, which math.ceil (and so the authors' code, on the same product) takes to 8."""
    assert count_of(0.5, 5, "ceil") == 3 and count_of(0.5, 5, "nearest") == 2
    assert 0.28 * 25 > 7 and count_of(0.28, 25, "ceil") == 8 and count_of(0.28, 25, "nearest") == 7
    assert count_of(1.0, 7, "ceil") == 7 and count_of(0.0, 7, "ceil") == 0
    masks = {"a": torch.ones(5, dtype=torch.bool), "b": torch.tensor([True, False, True])}
    assert prune_counts(masks, 0.5, rounding="ceil") == {"a": 3, "b": 1}
    assert prune_counts(masks, 0.5) == {"a": 2, "b": 1}  # nearest, half to even: 2.5 -> 2, 1.0 -> 1
    assert TrainConfig().prune_rounding == "ceil"
