"""EfficientNet-B0 (Tan & Le 2019) as in torchvision's ``efficientnet_b0``, which the paper's code
instantiates (``models.efficientnet_b0(num_classes=200)``) and trains from scratch on 64×64
Tiny-ImageNet.

Stem 3×3/2 conv → 32, BN, SiLU; seven stages of MBConv blocks (below); 1×1 conv 320 → 1280, BN,
SiLU; global average pool; dropout 0.2; linear 1280 → ``num_outputs``. An MBConv block is an
optional 1×1 expansion (×``expand``, BN, SiLU), a depthwise k×k conv (BN, SiLU), squeeze-and-
excitation (average pool, 1×1 conv to ``max(1, in_channels // 4)`` with bias, SiLU, 1×1 conv
back with bias, sigmoid gate) and a 1×1 projection with BN and no activation; blocks with
stride 1 and equal widths add their input back after stochastic depth ("row" mode: the whole
residual branch of a sample is dropped with probability ``0.2 * block_index / 16`` in training).
BatchNorm uses PyTorch's defaults (eps 1e-5, momentum 0.1) as torchvision's B0 does.

5,288,548 parameters with 1000 outputs (torchvision's published count), 4,263,748 with 200.

Strides follow :func:`.layout.downsample_stride`, so 224×224 and 64×64 inputs get the standard
net. On 64×64 (the paper's setting) stage 6 runs on 2×2 maps: the outer ring of its three
stride-1 5×5 depthwise kernels (16 of 25 taps) only ever multiplies padding, exactly as in the
authors' model; on 8×8 and 32×32 inputs more 5×5 kernels sit on 2×2 maps the same way.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor, nn

from .layout import downsample_stride, image_shape, strided_output

# expand ratio, kernel, stride, input channels, output channels, blocks (torchvision's B0 table)
B0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)
STOCHASTIC_DEPTH = 0.2  # largest drop probability, reached by the last block
CLASSIFIER_DROPOUT = 0.2  # torchvision's B0 default


def conv_bn_act(
    in_channels: int, out_channels: int, kernel: int, *, stride: int = 1, groups: int = 1, act: bool = True
) -> nn.Sequential:
    """k×k conv (padding ``kernel // 2``, no bias) → BN → SiLU (when ``act``)."""
    layers: list[tuple[str, nn.Module]] = [
        (
            "conv",
            nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        ),
        ("bn", nn.BatchNorm2d(out_channels)),
    ]
    if act:
        layers.append(("act", nn.SiLU(inplace=True)))
    return nn.Sequential(OrderedDict(layers))


class SqueezeExcitation(nn.Module):
    """Channel gate: sigmoid(fc2(SiLU(fc1(mean over H, W)))) times the input; fc1/fc2 are 1×1 convs."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        scale = x.mean(dim=(2, 3), keepdim=True)
        scale = self.fc2(nn.functional.silu(self.fc1(scale)))
        return x * torch.sigmoid(scale)


def stochastic_depth(x: Tensor, p: float, training: bool) -> Tensor:
    """Drop each sample's residual branch with probability ``p`` (scaled by ``1 / (1 - p)``)."""
    if not training or p == 0.0:
        return x
    survival = 1.0 - p
    keep = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
    keep.bernoulli_(survival)
    return x * keep / survival


class MBConv(nn.Module):
    """Mobile inverted bottleneck with squeeze-and-excitation (see the module docstring)."""

    def __init__(
        self, in_channels: int, out_channels: int, *, expand: int, kernel: int, stride: int, drop_prob: float
    ) -> None:
        super().__init__()
        hidden = in_channels * expand
        layers: list[tuple[str, nn.Module]] = []
        if expand != 1:
            layers.append(("expand", conv_bn_act(in_channels, hidden, 1)))
        layers += [
            ("depthwise", conv_bn_act(hidden, hidden, kernel, stride=stride, groups=hidden)),
            ("se", SqueezeExcitation(hidden, max(1, in_channels // 4))),
            ("project", conv_bn_act(hidden, out_channels, 1, act=False)),
        ]
        self.block = nn.Sequential(OrderedDict(layers))
        self.residual = stride == 1 and in_channels == out_channels
        self.drop_prob = drop_prob

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if self.residual:
            out = stochastic_depth(out, self.drop_prob, self.training) + x
        return out


def efficientnet_b0(*, in_shape: tuple[int, ...], num_outputs: int, dropout: float = 0.0) -> nn.Module:
    """EfficientNet-B0 for any (C, H, W) input.

    ``dropout`` replaces the classifier's built-in dropout probability of 0.2 when it is > 0
    (B0 has a single linear layer, so the dense-dropout baseline and the architecture's own
    dropout are the same module). Init as torchvision: convs Kaiming-normal fan-out with zero
    bias, BN weight 1 and bias 0, linear uniform(±1/sqrt(num_outputs)) with zero bias.
    """
    channels, size = image_shape(in_shape, model="efficientnet-b0")
    stride = downsample_stride(size)
    features: list[tuple[str, nn.Module]] = [("stem", conv_bn_act(channels, 32, 3, stride=stride))]
    size = strided_output(size, stride=stride)
    total = sum(stage[-1] for stage in B0_STAGES)
    index = 0
    for number, (expand, kernel, stage_stride, c_in, c_out, count) in enumerate(B0_STAGES, start=1):
        stride = downsample_stride(size) if stage_stride == 2 else 1
        blocks = []
        for position in range(count):
            blocks.append(
                MBConv(
                    c_in if position == 0 else c_out,
                    c_out,
                    expand=expand,
                    kernel=kernel,
                    stride=stride if position == 0 else 1,
                    drop_prob=STOCHASTIC_DEPTH * index / total,
                )
            )
            index += 1
        size = strided_output(size, stride=stride)
        features.append((f"stage{number}", nn.Sequential(*blocks)))
    features.append(("head", conv_bn_act(B0_STAGES[-1][4], 1280, 1)))
    model = nn.Sequential(
        OrderedDict(
            features=nn.Sequential(OrderedDict(features)),
            avgpool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
            drop=nn.Dropout(dropout if dropout > 0 else CLASSIFIER_DROPOUT),
            classifier=nn.Linear(1280, num_outputs),
        )
    )
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            bound = 1.0 / module.out_features**0.5
            nn.init.uniform_(module.weight, -bound, bound)
            nn.init.zeros_(module.bias)
    return model
