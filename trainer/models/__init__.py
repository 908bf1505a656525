"""Registry of the networks studied by Nowak et al. (2023), "Fantastic Weights and How to Find
Them: Where to Prune in Dynamic Sparse Training" (NeurIPS).

Architectures follow the paper's code, github.com/alooow/fantastic_weights_paper (``models/``);
default learning rates and weight decays are the ones in its dense run specs (``specs/``).

>>> model = build_model("mlp-small", in_shape=(24,), num_outputs=1)
>>> param_count("mlp-small")
72449
>>> masked_parameter_names(model)
['fc1.weight', 'fc2.weight', 'fc3.weight']

``fw-train models`` lists them; docs/models.md gives each one's parameter counts and regime.

The table (:data:`MODELS`, :class:`ModelSpec`) lives in :mod:`trainer.models.registry`, which imports no
torch: importing this package does not either (a sweep plans with the table alone); torch and an
architecture's module are imported when a model is built or inspected.

Every model adapts to its input shape: MLPs flatten anything; conv nets take (C, H, W) and
keep their parameter counts on the paper's inputs exactly while still running on 1×8×8
digits (see :mod:`trainer.models.layout`). ``dropout > 0`` adds ``Dropout`` in front of every
fully connected layer (the paper's dense dropout baseline) and never changes parameter counts;
EfficientNet-B0 always has its own classifier dropout (0.2, replaced by ``dropout`` when > 0).
Masks cover exactly the ``weight`` of every ``nn.Linear`` and ``nn.Conv2d``; biases and
normalisation layers stay dense.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .registry import MODELS, ModelSpec, model_spec

if TYPE_CHECKING:
    from torch import nn

__all__ = ["MODELS", "ModelSpec", "build_model", "channels_last", "masked_parameter_names", "param_count"]


def build_model(
    name: str, *, in_shape: tuple[int, ...], num_outputs: int, dropout: float = 0.0, width: float = 1.0
) -> nn.Module:
    """Build a freshly initialised registered network.

    Parameters
    ----------
    name : a key of :data:`MODELS`.
    in_shape : one input's shape without the batch dimension; conv nets need (C, H, W).
    num_outputs : number of logits (1 for a binary task).
    dropout : probability in [0, 1) for the dense dropout baseline; 0 adds no dropout.
    width : multiplier of every hidden width (units of hidden layers, channels), rounded, at least 1 each;
        1 is the paper's network. Models whose ``scalable`` is False take only 1.

    Returns
    -------
    ``nn.Module`` mapping ``(batch, *in_shape)`` to ``(batch, num_outputs)`` logits.
    """
    spec = model_spec(name)
    in_shape = tuple(int(side) for side in in_shape)
    if not in_shape or min(in_shape) < 1:
        raise ValueError(f"in_shape must be non-empty positive sizes; got {in_shape!r}")
    if num_outputs < 1:
        raise ValueError(f"num_outputs must be >= 1; got {num_outputs!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
    if not (isinstance(width, (int, float)) and 0 < width <= 4):
        raise ValueError(f"width must be a number in (0, 4]; got {width!r}")
    if width == 1:
        return spec.builder(in_shape=in_shape, num_outputs=num_outputs, dropout=dropout)
    if not spec.scalable:
        scalable = ", ".join(n for n, s in MODELS.items() if s.scalable)
        raise ValueError(f"{name} has no width multiplier (width {width!r}); models that have one: {scalable}")
    return spec.builder(in_shape=in_shape, num_outputs=num_outputs, dropout=dropout, width=float(width))


def channels_last(model: nn.Module) -> nn.Module:
    """Lay out a conv net channels-last (NHWC): its 4-D weights now, every input it is given from now on.

    oneDNN's convolutions and max-pooling are faster on this layout: a training step on CPU (one thread)
    takes 14-30 % less time for the small CNN, LeNet-5 and ResNet-56 on 8×8 and 32×32 inputs
    (benchmarks/bench_layout.py). Only the memory layout changes: parameter names, shapes
    and the C-order flat index of every weight are the same, and values agree with the NCHW layout up to
    float rounding (a different summation order inside the convolutions). Models without ``nn.Conv2d`` are
    returned unchanged. Returns ``model`` (changed in place).
    """
    import torch
    from torch import nn

    if not any(isinstance(module, nn.Conv2d) for module in model.modules()):
        return model
    model.to(memory_format=torch.channels_last)
    model.register_forward_pre_hook(_inputs_channels_last)
    return model


def _inputs_channels_last(module: nn.Module, args: tuple):
    import torch

    x, *rest = args
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        return (x.contiguous(memory_format=torch.channels_last), *rest)
    return None


def param_count(name: str) -> int:
    """Number of dense parameters of ``name`` on its reference input and outputs."""
    spec = model_spec(name)
    model = build_model(name, in_shape=spec.reference_input, num_outputs=spec.reference_outputs)
    return sum(parameter.numel() for parameter in model.parameters())


def masked_parameter_names(model: nn.Module) -> list[str]:
    """Names of the parameters DST masks: the ``weight`` of every ``nn.Linear`` and
    ``nn.Conv2d``, in ``model.named_parameters()`` order. Biases and norm layers are excluded."""
    from torch import nn

    masked = {
        f"{module_name}.weight" if module_name else "weight"
        for module_name, module in model.named_modules()
        if isinstance(module, (nn.Linear, nn.Conv2d))
    }
    return [name for name, _ in model.named_parameters() if name in masked]
