"""Multi-layer perceptrons of Nowak et al. (2023), Appendix: Higgs MLP and CIFAR-10 MLP.

Both flatten whatever they are given, so they run on any input shape.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from torch import nn

from .layout import dropout_or_identity, scaled


def build_mlp(
    *, in_shape: tuple[int, ...], num_outputs: int, hidden: tuple[int, ...], dropout: float = 0.0
) -> nn.Sequential:
    """A ReLU MLP ``prod(in_shape) → hidden... → num_outputs``.

    Parameters
    ----------
    in_shape : input shape without the batch dimension; it is flattened.
    num_outputs : logits out (1 for a binary task).
    hidden : widths of the hidden layers.
    dropout : when > 0, ``Dropout(dropout)`` is applied to the input of every fully connected
        layer, as in the paper's dense dropout baseline (``MLP_CIFAR10_DROPOUT``).

    Returns
    -------
    ``nn.Sequential`` whose Linear layers are named ``fc1``, ``fc2``, ...
    """
    widths = (math.prod(in_shape), *hidden, num_outputs)
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        layers.append((f"drop{index}", dropout_or_identity(dropout)))
        layers.append((f"fc{index}", nn.Linear(fan_in, fan_out)))
        if index < len(widths) - 1:
            layers.append((f"relu{index}", nn.ReLU()))
    return nn.Sequential(OrderedDict(layers))


def mlp_small(*, in_shape: tuple[int, ...], num_outputs: int, dropout: float = 0.0, width: float = 1.0) -> nn.Module:
    """Higgs MLP: 24 → 256 → 256 → 1 with ReLU (72,449 parameters on the paper's data); ``width`` scales the
    hidden layers."""
    return build_mlp(in_shape=in_shape, num_outputs=num_outputs, hidden=scaled((256, 256), width), dropout=dropout)


def mlp_large(*, in_shape: tuple[int, ...], num_outputs: int, dropout: float = 0.0, width: float = 1.0) -> nn.Module:
    """CIFAR-10 MLP: 3072 → 1024 → 512 → 10 with ReLU (3,676,682 parameters); ``width`` scales the hidden
    layers (0.25: 256 → 128)."""
    return build_mlp(in_shape=in_shape, num_outputs=num_outputs, hidden=scaled((1024, 512), width), dropout=dropout)
