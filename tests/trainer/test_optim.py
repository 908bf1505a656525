"""trainer.optim's SGD and MultiStepLR against torch.optim's, bit for bit; and a training run that never imports
torch's compiler stack (which any torch.optim.Optimizer would)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fwanalysis.artifacts import load_run
from trainer import loop
from trainer.config import TrainConfig
from trainer.optim import SGD, MultiStepLR

ROOT = Path(__file__).resolve().parents[2]


def _params(seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(7, 5, generator=g, requires_grad=True), torch.randn(5, generator=g, requires_grad=True)]


@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True),
        dict(lr=0.05, momentum=0.9, weight_decay=0.0, nesterov=False),
        dict(lr=0.2, momentum=0.0, weight_decay=1e-3, nesterov=False),
    ],
)
def test_sgd_and_its_schedule_match_torch_bit_for_bit(kw):
    ours_p, theirs_p = _params(0), _params(0)
    ours, theirs = SGD(ours_p, **kw), torch.optim.SGD(theirs_p, **kw)
    ours_s = MultiStepLR(ours, milestones=[2, 4, 4], gamma=0.3)
    theirs_s = torch.optim.lr_scheduler.MultiStepLR(theirs, milestones=[2, 4, 4], gamma=0.3)
    g = torch.Generator().manual_seed(1)
    for step in range(12):
        grads = [torch.randn(p.shape, generator=g) for p in ours_p]
        for opt, ps in ((ours, ours_p), (theirs, theirs_p)):
            opt.zero_grad(set_to_none=False)
            for p, gr in zip(ps, grads, strict=True):
                p.grad = gr.clone() if p.grad is None else p.grad.add_(gr)
            opt.step()
            if step == 5 and kw["momentum"]:  # the trainer resets the momentum of pruned and regrown weights
                opt.state[ps[0]]["momentum_buffer"].masked_fill_(torch.arange(35).reshape(7, 5) % 3 == 0, 0.0)
        for a, b in zip(ours_p, theirs_p, strict=True):
            assert torch.equal(a, b), f"step {step}"
            if kw["momentum"]:
                assert torch.equal(ours.state[a]["momentum_buffer"], theirs.state[b]["momentum_buffer"])
        if step % 2 == 1:
            ours_s.step()
            theirs_s.step()
        assert ours.param_groups[0]["lr"] == theirs.param_groups[0]["lr"]
    assert ours.param_groups[0]["lr"] != kw["lr"]  # the milestones were reached


def test_a_run_is_identical_with_torch_optim(tmp_path, monkeypatch):
    """A whole DST run (momentum resets at each update, lr milestones) writes the same masks, sets and metrics
    whether it steps with trainer.optim or with torch.optim."""
    cfg = dict(
        model="mlp-small", dataset="digits", epochs=3, update_period=4, batch_size=64, density=0.2, lr_milestones=[1, 2]
    )
    ours = load_run(loop.train(TrainConfig(**cfg), out=tmp_path / "ours", shadow="none", progress=False))
    monkeypatch.setattr(loop, "SGD", torch.optim.SGD)
    monkeypatch.setattr(loop, "MultiStepLR", torch.optim.lr_scheduler.MultiStepLR)
    theirs = load_run(loop.train(TrainConfig(**cfg), out=tmp_path / "theirs", shadow="none", progress=False))
    assert ours.update_steps == theirs.update_steps and len(ours.update_steps) > 3
    for step in ours.update_steps:
        a, b = ours.update(step), theirs.update(step)
        for n in a.pruned:
            assert np.array_equal(a.pruned[n], b.pruned[n]) and np.array_equal(a.grown[n], b.grown[n])
    metrics = ours.metrics()
    assert metrics.equals(theirs.metrics())
    lrs = metrics.loc[metrics["name"] == "lr", "value"]
    assert lrs.nunique() == 2  # after epochs 1, 2, 3: two milestones passed, the rate logged after each


def test_training_never_imports_the_compiler_stack(tmp_path):
    """Neither a run of ``train()`` nor a whole ``fw-train run`` process (its command line too)."""
    code = f"""
import sys
from trainer.config import TrainConfig
from trainer.loop import train
train(TrainConfig(model="mlp-small", dataset="digits", epochs=1, update_period=4, density=0.2),
      out={str(tmp_path)!r}, progress=False)
sys.argv = ["fw-train", "run", "--epochs", "1", "--update-period", "4", "--out", {str(tmp_path / "cli")!r},
            "--no-progress", "--state", "first", "--mask-every", "1"]
from trainer.cli import main
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
loaded = sorted(m for m in sys.modules if m.startswith(("torch._dynamo", "torch._inductor")))
assert not loaded, loaded[:5]
assert "pandas" not in sys.modules  # metrics.parquet is written from arrow buffers: pa.array would import it
"""
    from trainer.data import load_dataset

    load_dataset("digits", seed=0)  # digits' split cached for the session: making it imports scikit-learn and pandas
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
