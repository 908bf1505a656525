"""CIFAR VGG-16 with batch norm, as used by Nowak et al. (2023).

Follows the paper's ``models/vgg.py``: thirteen 3×3 convs (no bias) each followed by BN and
ReLU, four 2×2 max-pools (cfg below), then an average pool to 1×1 and a single linear
classifier 512 → ``num_outputs``. The paper averages a 2×2 map on CIFAR (``AvgPool2d(2)``) and
a 4×4 map on Tiny-ImageNet (``AvgPool2d(4)``); adaptive average pooling does both and also
copes with 8×8 inputs, where the fourth max-pool is skipped (see :mod:`.layout`).
The conventional fifth max-pool would only replace that average by a max; parameters are the same.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from .layout import (
    dropout_or_identity,
    image_shape,
    init_conv_weights,
    max_pool_or_identity,
    pool_output,
)

VGG16_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
)  # fmt: skip


def vgg16(*, in_shape: tuple[int, ...], num_outputs: int, dropout: float = 0.0) -> nn.Module:
    """VGG-16-BN for small images: 14,770,212 parameters on 3×32×32 → 100 (CIFAR-100, the
    paper's setting), 14,724,042 on 3×32×32 → 10."""
    channels, size = image_shape(in_shape, model="vgg16")
    features: list[tuple[str, nn.Module]] = []
    for index, item in enumerate(VGG16_CFG):
        if item == "M":
            features.append((f"pool{index}", max_pool_or_identity(size)))
            size = pool_output(size)
            continue
        features += [
            (f"conv{index}", nn.Conv2d(channels, item, kernel_size=3, padding=1, bias=False)),
            (f"bn{index}", nn.BatchNorm2d(item)),
            (f"relu{index}", nn.ReLU()),
        ]
        channels = item
    model = nn.Sequential(
        OrderedDict(
            features=nn.Sequential(OrderedDict(features)),
            avgpool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
            drop=dropout_or_identity(dropout),
            classifier=nn.Linear(channels, num_outputs),
        )
    )
    return init_conv_weights(model)
