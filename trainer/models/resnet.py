"""ResNets (He et al. 2016) as used by Nowak et al. (2023): the CIFAR ResNet-56 (§4.2) and the
ImageNet ResNet-50 (bottleneck blocks, at the end of this module).

The CIFAR nets follow the paper's ``models/cifar_resnet.py`` (itself from OpenLTH): 3×3 stem conv + BN,
three stages of basic blocks with 16/32/64 channels, the first block of stages 2 and 3
downsampling by stride 2 with a 1×1 conv + BN projection shortcut, then global average
pooling and one linear layer. Convolutions carry no bias (BN follows each).
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from .layout import (
    downsample_stride,
    dropout_or_identity,
    image_shape,
    init_conv_weights,
    strided_output,
)


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
    model = CifarResNet(in_channels=channels, num_outputs=num_outputs, blocks_per_stage=9, dropout=dropout)
    return init_conv_weights(model)


# ---------------------------------------------------------------- ImageNet ResNet-50


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (carries the stride) → 1×1 expand ×4, each followed by BN, around a
    residual connection; a 1×1 conv + BN projection when the shape changes (torchvision's
    "ResNet v1.5", which is also the authors' ``models/imagenet_resnet.py``)."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, *, stride: int = 1) -> None:
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.downsample = nn.Sequential()

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.downsample(x))


class ImageNetResNet(nn.Module):
    """ResNet with a 7×7/2 stem, 3×3/2 max-pool, four bottleneck stages (64/128/256/512 widths,
    stages 2-4 start with stride 2), global average pooling and one linear layer.

    Strides are planned from the input size (:func:`.layout.downsample_stride`): on 224×224 and
    64×64 inputs the net is the standard one; on smaller inputs the stem, the max-pool or a stage
    keeps stride 1 once a halving would leave less than 2×2 (8×8 digits: 8 → 4 → 2, then 2×2
    throughout; 32×32: 16 → 8 → 8 → 4 → 2 → 2).
    """

    def __init__(
        self,
        *,
        in_channels: int,
        size: tuple[int, int],
        num_outputs: int,
        blocks: tuple[int, ...] = (3, 4, 6, 3),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        stride = downsample_stride(size)
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=stride, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        size = strided_output(size, stride=stride)
        stride = downsample_stride(size)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if stride == 2 else nn.Identity()
        size = strided_output(size, stride=stride)
        current = 64
        for stage, (count, width) in enumerate(zip(blocks, (64, 128, 256, 512)), start=1):
            stride = downsample_stride(size) if stage > 1 else 1
            layers = []
            for index in range(count):
                layers.append(Bottleneck(current, width, stride=stride if index == 0 else 1))
                current = width * Bottleneck.expansion
            size = strided_output(size, stride=stride)
            setattr(self, f"layer{stage}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.drop = dropout_or_identity(dropout)
        self.fc = nn.Linear(current, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        out = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.fc(self.drop(self.avgpool(out).flatten(1)))


def resnet50(*, in_shape: tuple[int, ...], num_outputs: int, dropout: float = 0.0) -> nn.Module:
    """ImageNet ResNet-50 (He et al. 2016, Table 1): bottleneck stages of 3, 4, 6, 3 blocks.

    25,557,032 parameters on 3×224×224 → 1000, as torchvision's ``resnet50``; 25,502,912 of them
    (every conv weight and the linear weight, i.e. the masked ones) are the count in Table 2 of the
    paper. Convolutions use Kaiming-normal fan-out init (torchvision and the authors' code).
    """
    channels, size = image_shape(in_shape, model="resnet50")
    model = ImageNetResNet(in_channels=channels, size=size, num_outputs=num_outputs, dropout=dropout)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    return model
