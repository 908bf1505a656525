"""CIFAR ResNets (He et al. 2016, §4.2) as used by Nowak et al. (2023).

Follows the paper's ``models/cifar_resnet.py`` (itself from OpenLTH): 3×3 stem conv + BN,
three stages of basic blocks with 16/32/64 channels, the first block of stages 2 and 3
downsampling by stride 2 with a 1×1 conv + BN projection shortcut, then global average
pooling and one linear layer. Convolutions carry no bias (BN follows each).
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from .layout import dropout_or_identity, image_shape, init_conv_weights


class BasicBlock(nn.Module):
    """Two 3×3 conv + BN layers around a residual connection.

    The shortcut is the identity when shapes match and a 1×1 conv (stride ``stride``) + BN
    projection otherwise.
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for small images: stem, three stages of ``n`` blocks, GAP, linear."""

    def __init__(
        self,
        *,
        in_channels: int,
        num_outputs: int,
        blocks_per_stage: int,
        widths: tuple[int, int, int] = (16, 32, 64),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(widths[0])
        blocks, current = [], widths[0]
        for stage, width in enumerate(widths):
            for index in range(blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(BasicBlock(current, width, stride=stride))
                current = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = dropout_or_identity(dropout)
        self.fc = nn.Linear(current, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn(self.conv(x)))
        out = self.pool(self.blocks(out)).flatten(1)
        return self.fc(self.drop(out))


def resnet56(*, in_shape: tuple[int, ...], num_outputs: int, dropout: float = 0.0) -> nn.Module:
    """ResNet-56: 9 basic blocks per stage; 855,770 parameters on 3×32×32 → 10.

    Stride-2 convs with padding 1 and adaptive average pooling make it run on any (C, H, W).
    """
    channels, _ = image_shape(in_shape, model="resnet56")
    model = CifarResNet(
        in_channels=channels, num_outputs=num_outputs, blocks_per_stage=9, dropout=dropout
    )
    return init_conv_weights(model)
