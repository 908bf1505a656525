"""Shape bookkeeping that lets the paper's conv nets run on any image size.

The paper's nets were written for one input size each (28×28 or 32×32). To run the same
stacks on 8×8 digits or 64×64 Tiny-ImageNet without changing a single parameter we plan
the spatial sizes at build time:

* a convolution keeps the paper's padding while its input is at least as large as the
  kernel, and otherwise pads by ``kernel // 2`` ("same"), so a 5×5 kernel on a 2×2 map
  still yields a 2×2 map;
* a 2×2 max-pool is skipped when either side is already below 2.

Neither rule touches a weight shape, so parameter counts of the convolutions never depend on
the input size; only layers whose fan-in is a flattened feature map (LeNet-5's ``fc3``) do.
"""

from __future__ import annotations

from torch import nn

Size = tuple[int, int]


def conv_padding(size: Size, *, kernel: int, padding: int = 0) -> tuple[int, int]:
    """Padding (per side, per dimension) for a stride-1 convolution on a ``size`` map.

    Parameters
    ----------
    size : (height, width) of the input map.
    kernel : square kernel side.
    padding : the architecture's own padding, kept whenever the map is large enough.

    Returns
    -------
    (pad_h, pad_w), each ``padding`` or ``kernel // 2`` when that side is smaller than the kernel.
    """
    return tuple(padding if side + 2 * padding >= kernel else kernel // 2 for side in size)


def conv_output(size: Size, *, kernel: int, padding: tuple[int, int], stride: int = 1) -> Size:
    """Spatial size after a convolution (PyTorch's floor formula)."""
    return tuple((side + 2 * pad - kernel) // stride + 1 for side, pad in zip(size, padding))


def can_pool(size: Size) -> bool:
    """Whether a 2×2, stride-2 pool fits: both sides must be at least 2."""
    return min(size) >= 2


def pool_output(size: Size) -> Size:
    """Spatial size after a 2×2, stride-2 pool, or unchanged when the pool is skipped."""
    return tuple(side // 2 for side in size) if can_pool(size) else size


def max_pool_or_identity(size: Size) -> nn.Module:
    """``MaxPool2d(2)`` when it fits the map, else ``Identity`` (see module docstring)."""
    return nn.MaxPool2d(kernel_size=2, stride=2) if can_pool(size) else nn.Identity()


def image_shape(in_shape: tuple[int, ...], *, model: str) -> tuple[int, Size]:
    """Split a (C, H, W) input shape into channels and spatial size, or raise ``ValueError``."""
    if len(in_shape) != 3:
        raise ValueError(
            f"model {model!r} takes images shaped (C, H, W); got in_shape={tuple(in_shape)!r} "
            "(load the data without flatten=True)"
        )
    channels, height, width = in_shape
    return channels, (height, width)


def dropout_or_identity(p: float) -> nn.Module:
    """``Dropout(p)`` for ``p > 0``, else ``Identity`` (no parameters either way)."""
    return nn.Dropout(p) if p > 0 else nn.Identity()


def init_conv_weights(model: nn.Module) -> nn.Module:
    """Kaiming-normal (fan-in, ReLU gain) for every ``Conv2d`` weight; other layers keep
    PyTorch's defaults (Linear: Kaiming-uniform; BatchNorm: weight 1, bias 0). Returns ``model``."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return model
