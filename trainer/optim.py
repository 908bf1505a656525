"""SGD and its step schedule without ``torch.optim.Optimizer``, so a run never imports torch's compiler stack.

Constructing any ``torch.optim.Optimizer`` (its ``add_param_group``) and every call of its ``step`` import
``torch._dynamo``: 1.2-2.5 s of CPU in every training process, more than half the start-up of a short run. The
arithmetic is not re-written here: :meth:`SGD.step` hands the same lists to torch's own functional
``torch.optim.sgd.sgd`` that ``torch.optim.SGD.step`` hands it (and that function imports ``torch._dynamo`` only
under ``torch.compile``), so the update is torch's, bit for bit, on every device. ``tests/trainer/test_optim.py``
checks that against ``torch.optim.SGD`` and ``torch.optim.lr_scheduler.MultiStepLR`` step by step.
"""

from __future__ import annotations

from collections import Counter


class SGD:
    """The state and interface of ``torch.optim.SGD`` the trainer uses (one parameter group, no closure).

    ``state[p]["momentum_buffer"]`` and ``param_groups[0]["lr"]`` are named as torch names them, so code that
    resets momentum or reads the learning rate works with either.
    """

    def __init__(self, params, *, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum requires a momentum > 0")
        self.params = list(params)
        self.param_groups = [
            {
                "params": self.params,
                "lr": lr,
                "momentum": momentum,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
                "dampening": 0.0,
            }
        ]
        self.state: dict = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad_(False)
                p.grad.zero_()

    def step(self) -> None:
        import torch
        from torch.optim.sgd import sgd

        group = self.param_groups[0]
        params = [p for p in self.params if p.grad is not None]
        bufs = [self.state.get(p, {}).get("momentum_buffer") for p in params]
        with torch.no_grad():
            sgd(
                params,
                [p.grad for p in params],
                bufs,
                has_sparse_grad=any(p.grad.is_sparse for p in params),
                weight_decay=group["weight_decay"],
                momentum=group["momentum"],
                lr=group["lr"],
                dampening=group["dampening"],
                nesterov=group["nesterov"],
                maximize=False,
            )
        if group["momentum"] != 0:
            for p, buf in zip(params, bufs, strict=True):
                self.state.setdefault(p, {})["momentum_buffer"] = buf


class MultiStepLR:
    """``torch.optim.lr_scheduler.MultiStepLR``: at each milestone epoch the rate is multiplied by ``gamma``.

    The rate is updated by the same chained multiplication torch uses (``lr * gamma ** k`` at a milestone listed
    k times), so the logged rates are torch's to the last bit.
    """

    def __init__(self, optimizer: SGD, milestones, gamma: float = 0.1):
        self.optimizer = optimizer
        self.milestones = Counter(milestones)
        self.gamma = gamma
        self.last_epoch = 0

    def step(self) -> None:
        self.last_epoch += 1
        k = self.milestones.get(self.last_epoch, 0)
        if k:
            for group in self.optimizer.param_groups:
                group["lr"] = group["lr"] * self.gamma**k
