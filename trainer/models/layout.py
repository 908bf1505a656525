"""Shape bookkeeping that lets the paper's conv nets run on any image size.

The paper's nets were written for one input size each (28×28 or 32×32). To run the same
stacks on 8×8 digits or 64×64 Tiny-ImageNet without changing a single parameter we plan
the spatial sizes at build time:

* a stack of unpadded convolutions (the small CNN, LeNet-5) keeps the paper's zero padding
  whenever every convolution still gets a map at least as large as its kernel, and otherwise
  pads **every** convolution by ``kernel // 2`` ("same") — see :func:`stack_padding`. Padding
  only the layer whose map got too small would leave kernel taps that only ever see padding
  (a 3×3 kernel on a 1×1 map uses its centre tap alone): weights that never receive a gradient
  and never change the output, which would distort every gradient-based criterion;
* a 2×2 max-pool is skipped when either side is already below 2.

Neither rule touches a weight shape, so parameter counts of the convolutions never depend on
the input size; only layers whose fan-in is a flattened feature map (LeNet-5's ``fc3``) do.
"""

from __future__ import annotations

from torch import nn

Size = tuple[int, int]


def stack_padding(size: Size, *, kernel: int, pools: tuple[bool, ...]) -> int:
    """Padding (per side) for every stride-1 convolution of an unpadded stack.

    Parameters
    ----------
    size : (height, width) of the input image.
    kernel : square kernel side, the same for every convolution of the stack.
    pools : one entry per convolution: whether a 2×2 max-pool (skipped when it does not fit)
        follows it.

    Returns
    -------
    0, the paper's padding, when every convolution of the unpadded stack gets a map at least
    ``kernel`` wide; else ``kernel // 2`` for all of them, which keeps each map's size up to the
    pools and so every kernel tap on real input.
    """
    for pool in pools:
        if min(size) < kernel:
            return kernel // 2
        size = conv_output(size, kernel=kernel, padding=(0, 0))
        if pool:
            size = pool_output(size)
    return 0


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


def scaled(widths: tuple[int, ...], factor: float) -> tuple[int, ...]:
    """``widths`` (units or channels) times ``factor``, each rounded half to even and at least 1."""
    return tuple(max(1, round(w * factor)) for w in widths)


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


def can_downsample(size: Size) -> bool:
    """Whether a stride-2 stage of an ImageNet net keeps its stride on a ``size`` map.

    The ImageNet nets (ResNet-50, EfficientNet-B0) halve their maps five times. On small inputs
    that would end on 1×1 maps, where a 3×3 kernel only ever uses its centre tap. A stride-2
    layer therefore keeps stride 2 only while its input is at least 4 per side (its output at
    least 2) and otherwise runs with stride 1. On 64×64 and 224×224 inputs every stride is kept,
    so the nets are exactly the standard ones; weight shapes never change.
    """
    return min(size) >= 4


def downsample_stride(size: Size) -> int:
    """2 when :func:`can_downsample` allows it, else 1."""
    return 2 if can_downsample(size) else 1


def strided_output(size: Size, *, stride: int) -> Size:
    """Spatial size after a "same"-padded layer (padding ``kernel // 2``, odd kernel) of ``stride``."""
    return tuple((side - 1) // stride + 1 for side in size)
