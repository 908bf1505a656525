"""The model registry's table: each network's name, reference setting and paper defaults, without PyTorch.

:data:`MODELS` and :class:`ModelSpec` are what a sweep plans with (:mod:`trainer.sweep.plan` reads the
names and the defaults only), so importing this module imports neither torch nor an architecture: a
builder imports its module (:mod:`trainer.models.mlp`, ...) when it is called. :mod:`trainer.models`
re-exports both with :func:`~trainer.models.build_model` and the other functions that need torch.

>>> MODELS["resnet56"].default_lr, MODELS["mlp-small"].default_init
(0.1, 'er')
>>> MODELS["vgg16"].builder
_Builder('trainer.models.vgg', 'vgg16')
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

__all__ = ["MODELS", "ModelSpec", "model_spec"]


@dataclass(frozen=True)
class _Builder:
    """A network's builder, named by module and function: the module (and torch) is imported when it is called."""

    module: str  # a module of trainer.models, e.g. "mlp"
    function: str  # e.g. "mlp_small"

    def __call__(self, **kwargs) -> nn.Module:
        return getattr(importlib.import_module(f"{__package__}.{self.module}"), self.function)(**kwargs)

    def __repr__(self) -> str:
        return f"_Builder({__package__ + '.' + self.module!r}, {self.function!r})"


@dataclass(frozen=True)
class ModelSpec:
    """One registered network and the setting the paper trained it in."""

    name: str  # registry key, e.g. "resnet56"
    description: str  # one line for `fw-train models`
    reference_input: tuple[int, ...]  # input shape without batch dim on the paper's data
    reference_outputs: int  # logits on the paper's data (1 for binary Higgs)
    reference_dataset: str  # key in trainer.data.DATASETS
    default_lr: float  # SGD learning rate of the paper's dense runs
    default_weight_decay: float  # L2 coefficient of the paper's dense runs
    default_init: str  # sparse initialisation: "er" (MLPs) or "erk" (conv nets)
    builder: Callable[..., nn.Module]  # builder(*, in_shape, num_outputs, dropout) -> Module, imported when called
    # The rest of the paper's regime (App. A.2), for reference: trainer.config does not read these.
    paper_batch_size: int = 128
    paper_epochs: int = 100
    paper_lr_gamma: float = 0.1  # lr multiplier at 50% and 75% of the epochs
    scalable: bool = False  # the builder takes ``width``, a multiplier of every hidden width (units, channels)


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="mlp-small",
            description="MLP 24-256-256-1, ReLU (Higgs, binary)",
            reference_input=(24,),
            reference_outputs=1,
            reference_dataset="higgs",
            default_lr=0.01,
            default_weight_decay=5e-4,
            default_init="er",
            builder=_Builder("mlp", "mlp_small"),
            scalable=True,
        ),
        ModelSpec(
            name="mlp-large",
            description="MLP 3072-1024-512-10, ReLU (CIFAR-10 flattened)",
            reference_input=(3072,),
            reference_outputs=10,
            reference_dataset="cifar10",
            default_lr=0.01,
            default_weight_decay=5e-4,
            default_init="er",
            builder=_Builder("mlp", "mlp_large"),
            scalable=True,
        ),
        ModelSpec(
            name="cnn-small",
            description="small CNN: 3 convs 32-64-128 (3x3), 2 max-pools, GAP, linear (CIFAR-10)",
            reference_input=(3, 32, 32),
            reference_outputs=10,
            reference_dataset="cifar10",
            default_lr=0.01,
            default_weight_decay=5e-4,
            default_init="erk",
            builder=_Builder("convnets", "cnn_small"),
            scalable=True,
        ),
        ModelSpec(
            name="lenet5-caffe",
            description="Caffe LeNet-5: conv20-pool-conv50-pool-fc500-fc (FashionMNIST)",
            reference_input=(1, 28, 28),
            reference_outputs=10,
            reference_dataset="fashionmnist",
            default_lr=0.01,
            default_weight_decay=5e-4,
            default_init="erk",
            builder=_Builder("convnets", "lenet5_caffe"),
            scalable=True,
        ),
        ModelSpec(
            name="resnet56",
            description="CIFAR ResNet-56, 16/32/64 channels, BN, 1x1 projection shortcuts",
            reference_input=(3, 32, 32),
            reference_outputs=10,
            reference_dataset="cifar10",
            default_lr=0.1,
            default_weight_decay=1e-4,
            default_init="erk",
            builder=_Builder("resnet", "resnet56"),
            paper_epochs=200,
        ),
        ModelSpec(
            name="vgg16",
            description="CIFAR VGG-16 with BN, GAP and one linear classifier",
            reference_input=(3, 32, 32),
            reference_outputs=100,
            reference_dataset="cifar100",
            default_lr=0.01,
            default_weight_decay=1e-4,
            default_init="erk",
            builder=_Builder("vgg", "vgg16"),
            paper_epochs=200,
        ),
        ModelSpec(
            name="resnet50",
            description="ImageNet ResNet-50, bottleneck stages [3,4,6,3], BN, 7x7 stem + max-pool",
            reference_input=(3, 224, 224),
            reference_outputs=1000,
            reference_dataset="imagenet",
            default_lr=0.1,
            default_weight_decay=1e-4,
            default_init="erk",
            builder=_Builder("resnet", "resnet50"),
            paper_batch_size=256,
            paper_epochs=90,
        ),
        ModelSpec(
            name="efficientnet-b0",
            description="EfficientNet-B0 (torchvision): MBConv + squeeze-excitation, SiLU (Tiny-ImageNet)",
            reference_input=(3, 64, 64),
            reference_outputs=200,
            reference_dataset="tinyimagenet",
            default_lr=0.01,
            default_weight_decay=1e-4,
            default_init="erk",
            builder=_Builder("efficientnet", "efficientnet_b0"),
            # A.2 says "decay of 0.001" (followed); the authors' code decays by MultiStepLR's default 0.1
            # (docs/figures.md, docs/models.md).
            paper_lr_gamma=0.001,
        ),
    )
}


def model_spec(name: str) -> ModelSpec:
    """The registry entry for ``name``, or ``ValueError`` quoting it and listing the choices."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return MODELS[name]
