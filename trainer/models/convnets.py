"""Small convolutional nets of Nowak et al. (2023): the small CNN and Caffe's LeNet-5.

Both follow the paper's code (github.com/alooow/fantastic_weights_paper, ``models/``) layer
for layer; :mod:`trainer.models.layout` only adapts padding and pooling to small inputs.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from .layout import (
    conv_output,
    dropout_or_identity,
    image_shape,
    init_conv_weights,
    max_pool_or_identity,
    pool_output,
    scaled,
    stack_padding,
)


def cnn_small(*, in_shape: tuple[int, ...], num_outputs: int, dropout: float = 0.0, width: float = 1.0) -> nn.Module:
    """The paper's small CNN (``SmallConvNet_CIFAR10``, "conv_cifar10" in its runs).

    conv 3×3 → 32, ReLU, max-pool 2 → conv 3×3 → 64, ReLU, max-pool 2 → conv 3×3 → 128, ReLU
    → global average pool → [dropout] → linear 128 → ``num_outputs``. Convolutions are unpadded
    (on 32×32: 30 → 15 → 13 → 6 → 4 → 1); on 8×8 digits every convolution pads by 1 instead
    (8 → 4 → 4 → 2 → 2 → 1), see :mod:`.layout`. Based on Chollet's "Deep Learning with Python" §8.2.3
    net with the last conv/pool stages replaced by average pooling.

    Parameters: 94,538 on 3×32×32 → 10 (CIFAR-10, as in the paper); 93,962 on 1×28×28 → 10.
    """
    channels, size = image_shape(in_shape, model="cnn-small")
    layers: list[tuple[str, nn.Module]] = []
    pad = stack_padding(size, kernel=3, pools=(True, True, False))
    padding = (pad, pad)
    for index, out in enumerate(scaled((32, 64, 128), width), start=1):
        layers.append((f"conv{index}", nn.Conv2d(channels, out, kernel_size=3, padding=padding)))
        layers.append((f"relu{index}", nn.ReLU()))
        size = conv_output(size, kernel=3, padding=padding)
        if index < 3:
            layers.append((f"pool{index}", max_pool_or_identity(size)))
            size = pool_output(size)
        channels = out
    layers += [
        ("avgpool", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("drop", dropout_or_identity(dropout)),
        ("fc1", nn.Linear(channels, num_outputs)),
    ]
    return init_conv_weights(nn.Sequential(OrderedDict(layers)))


def lenet5_caffe(*, in_shape: tuple[int, ...], num_outputs: int, dropout: float = 0.0, width: float = 1.0) -> nn.Module:
    """Caffe's LeNet-5 (the paper's FashionMNIST net, via Lee et al.'s SNIP code).

    conv 5×5 → 20, ReLU, max-pool 2 → conv 5×5 → 50, ReLU, max-pool 2 → flatten → [dropout]
    → linear → 500, ReLU → [dropout] → linear 500 → ``num_outputs``. No padding, so on
    1×28×28 the maps are 24 → 12 → 8 → 4 and ``fc3`` sees 50·4·4 = 800 features
    (431,080 parameters). On 8×8 digits every convolution pads by 2 instead (8 → 4 → 4 → 2),
    see :mod:`.layout`. On other sizes ``fc3``'s fan-in follows the final map.
    """
    channels, size = image_shape(in_shape, model="lenet5-caffe")
    layers: list[tuple[str, nn.Module]] = []
    pad = stack_padding(size, kernel=5, pools=(True, True))
    padding = (pad, pad)
    hidden = scaled((500,), width)[0]
    for index, out in enumerate(scaled((20, 50), width), start=1):
        layers.append((f"conv{index}", nn.Conv2d(channels, out, kernel_size=5, padding=padding)))
        layers.append((f"relu{index}", nn.ReLU()))
        size = conv_output(size, kernel=5, padding=padding)
        layers.append((f"pool{index}", max_pool_or_identity(size)))
        size = pool_output(size)
        channels = out
    layers += [
        ("flatten", nn.Flatten()),
        ("drop3", dropout_or_identity(dropout)),
        ("fc3", nn.Linear(channels * size[0] * size[1], hidden)),
        ("relu3", nn.ReLU()),
        ("drop4", dropout_or_identity(dropout)),
        ("fc4", nn.Linear(hidden, num_outputs)),
    ]
    return init_conv_weights(nn.Sequential(OrderedDict(layers)))
