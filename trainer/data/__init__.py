"""Datasets of Nowak et al. (2023), loaded whole into memory as normalised tensors.

>>> splits = load_dataset("digits", seed=0)
>>> splits.train[0].shape, splits.num_classes, splits.task
(torch.Size([1077, 1, 8, 8]), 10, 'multiclass')

``digits`` ships with scikit-learn; every other dataset is read from disk, from the folder
given as ``data_dir`` (``--data-dir``) or else the one in its environment variable
(``FWA_CIFAR10``, ...). Either may point at the dataset's folder itself or at its parent.
Nothing is downloaded. ``fw-train datasets`` prints :func:`dataset_status`.

Inputs are normalised per channel (per feature for Higgs) with the mean and standard
deviation of the training split; labels are int64 class indices (0/1 for binary Higgs,
whose models have a single logit, see :attr:`DataSplits.num_outputs`).

``imagenet`` is the exception: its inputs are :class:`~trainer.data.imagenet.LazyImages`,
tensor-like objects that decode JPEGs only when indexed (``X[idx]``, ``X[i:j]``), normalised
with the fixed ImageNet statistics; see :mod:`trainer.data.imagenet` and docs/models.md.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import DatasetError, DatasetNotFound
from .sources import (
    RawSplits,
    find_cifar10,
    find_cifar100,
    find_fashionmnist,
    find_imagenet,
    find_table,
    find_tinyimagenet,
    read_cifar10,
    read_cifar100,
    read_digits,
    read_fashionmnist,
    read_higgs,
    read_tinyimagenet_splits,
)
from .imagenet import SIZE_ENV, LazyImages, image_size_from_env, read_imagenet
from .splits import channel_stats, normalise

__all__ = [
    "DATASETS",
    "DataSplits",
    "DatasetError",
    "DatasetNotFound",
    "DatasetSpec",
    "LazyImages",
    "dataset_status",
    "load_dataset",
    "locate",
]


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: what it is and where its files are looked for."""

    name: str  # registry key, e.g. "cifar10"
    description: str  # one line, including the split used
    env_var: str | None  # environment variable naming its folder/file; None when embedded
    embedded: bool  # ships with a dependency (no files needed)
    expected: str  # one line: the files expected on disk
    in_shape: tuple[int, ...]  # one input's shape, without batch dimension
    num_classes: int  # classes (2 for a binary task)
    task: str  # "multiclass" or "binary"


@dataclass(frozen=True)
class DataSplits:
    """A loaded dataset: ``(inputs float32, labels int64)`` tensors per split.

    For ``imagenet`` the inputs are :class:`LazyImages` (indexing returns float32 tensors).
    """

    train: tuple[torch.Tensor | LazyImages, torch.Tensor]
    val: tuple[torch.Tensor | LazyImages, torch.Tensor]
    test: tuple[torch.Tensor | LazyImages, torch.Tensor]
    in_shape: tuple[int, ...]  # one input's shape (after flattening, if asked)
    num_classes: int
    task: str  # "multiclass" or "binary"
    name: str

    @property
    def num_outputs(self) -> int:
        """Logits a model needs: 1 for a binary task, else ``num_classes``."""
        return 1 if self.task == "binary" else self.num_classes


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="digits",
            description="scikit-learn 8x8 digits, 1,797 images; stratified 60/20/20 train/val/test",
            env_var=None,
            embedded=True,
            expected="nothing (bundled with scikit-learn)",
            in_shape=(1, 8, 8),
            num_classes=10,
            task="multiclass",
        ),
        DatasetSpec(
            name="cifar10",
            description="CIFAR-10 32x32 RGB; 45k/5k train/val (seeded) from the train batches, 10k test",
            env_var="FWA_CIFAR10",
            embedded=False,
            expected="the python pickle batches folder 'cifar-10-batches-py' (data_batch_1..5, test_batch)",
            in_shape=(3, 32, 32),
            num_classes=10,
            task="multiclass",
        ),
        DatasetSpec(
            name="cifar100",
            description="CIFAR-100 32x32 RGB, fine labels; 45k/5k train/val (seeded), 10k test",
            env_var="FWA_CIFAR100",
            embedded=False,
            expected="the python pickle folder 'cifar-100-python' (train, test)",
            in_shape=(3, 32, 32),
            num_classes=100,
            task="multiclass",
        ),
        DatasetSpec(
            name="fashionmnist",
            description="FashionMNIST 28x28 grey; 54k/6k train/val from train, 10k test",
            env_var="FWA_FASHIONMNIST",
            embedded=False,
            expected=(
                "a folder with the IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (raw or .gz)"
            ),
            in_shape=(1, 28, 28),
            num_classes=10,
            task="multiclass",
        ),
        DatasetSpec(
            name="higgs",
            description="Higgs (OpenML 44129), 24 features, binary; stratified 70/15/15 train/val/test",
            env_var="FWA_HIGGS",
            embedded=False,
            expected=(
                "a CSV or parquet table (a file, or a folder holding higgs*.csv|.csv.gz|.parquet) "
                "with 24 numeric feature columns and a target column (target/class/label/Label, else the last)"
            ),
            in_shape=(24,),
            num_classes=2,
            task="binary",
        ),
        DatasetSpec(
            name="tinyimagenet",
            description="Tiny-ImageNet 64x64 RGB, 200 classes; 90k/10k train/val, official val as test",
            env_var="FWA_TINYIMAGENET",
            embedded=False,
            expected=(
                "the folder 'tiny-imagenet-200' (wnids.txt, train/<wnid>/images/*.JPEG, "
                "val/images/*.JPEG, val/val_annotations.txt)"
            ),
            in_shape=(3, 64, 64),
            num_classes=200,
            task="multiclass",
        ),
        DatasetSpec(
            name="imagenet",
            description=(
                "ILSVRC-2012, 1000 classes, centre crop 224 ($FWA_IMAGENET_SIZE), decoded per batch; "
                "1,281,167 train, 50,000 official val as val and as test"
            ),
            env_var="FWA_IMAGENET",
            embedded=False,
            expected=(
                "an ILSVRC-2012 folder with train/<wnid>/*.JPEG and val/<wnid>/*.JPEG "
                "(val sorted into class folders, e.g. by valprep.sh)"
            ),
            in_shape=(3, 224, 224),
            num_classes=1000,
            task="multiclass",
        ),
    )
}

# name -> (recognise a candidate path, read the recognised root). Same keys as DATASETS.
_SOURCES: dict[str, tuple[Callable[[Path], Path | None] | None, Callable[..., RawSplits]]] = {
    "digits": (None, read_digits),
    "cifar10": (find_cifar10, read_cifar10),
    "cifar100": (find_cifar100, read_cifar100),
    "fashionmnist": (find_fashionmnist, read_fashionmnist),
    "higgs": (find_table, read_higgs),
    "tinyimagenet": (find_tinyimagenet, read_tinyimagenet_splits),
    "imagenet": (find_imagenet, None),  # lazy: see load_imagenet
}


def dataset_spec(name: str) -> DatasetSpec:
    """The registry entry for ``name``, or ``ValueError`` quoting it and listing the choices."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name]


def search_paths(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Where ``name`` is looked for, in order: ``data_dir``, then its environment variable."""
    spec = dataset_spec(name)
    env_value = os.environ.get(spec.env_var) if spec.env_var else None
    return [Path(p).expanduser() for p in (data_dir, env_value) if p]


def locate(name: str, data_dir: str | os.PathLike | None = None) -> Path | None:
    """The dataset's root folder (or file, for Higgs) on disk, or ``None``.

    ``data_dir`` wins over the environment variable; each may be the dataset's folder or its
    parent. Embedded datasets have no files and always give ``None``.
    """
    find, _ = _SOURCES[dataset_spec(name).name]
    if find is None:
        return None
    return next((root for path in search_paths(name, data_dir) if (root := find(path))), None)


def not_found_message(name: str, data_dir: str | os.PathLike | None = None) -> str:
    """One line: where ``name`` was looked for, what is expected there, how to point at it."""
    spec = dataset_spec(name)
    env_value = os.environ.get(spec.env_var or "")
    env_state = f"={env_value}" if env_value else "unset"
    dir_state = str(data_dir) if data_dir else "not given"
    return (
        f"{name}: not found in ${spec.env_var} ({env_state}) or --data-dir ({dir_state}); "
        f"expected {spec.expected}; set {spec.env_var}=/path or pass --data-dir"
    )


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
    flatten: bool = False,
    image_size: int | None = None,
) -> DataSplits:
    """Load a registered dataset, split it per seed and normalise it.

    Parameters
    ----------
    name : a key of :data:`DATASETS`.
    data_dir : folder holding the dataset (or its parent); defaults to the environment variable.
    seed : selects the train/val split (the test split is fixed where the source defines one).
    flatten : return inputs as ``(N, prod(in_shape))`` vectors, for MLPs.
    image_size : ImageNet only: side of the centre crop; default ``$FWA_IMAGENET_SIZE``, else 224.

    Returns
    -------
    :class:`DataSplits` with float32 inputs normalised by training-split channel statistics.

    Raises
    ------
    DatasetNotFound : no files where we looked (one-line message).
    DatasetError : a file is there but corrupt (one-line message naming it).
    """
    spec = dataset_spec(name)
    find, read = _SOURCES[name]
    root = None
    if find is not None:
        root = locate(name, data_dir)
        if root is None:
            raise DatasetNotFound(not_found_message(name, data_dir))
    if name == "imagenet":
        return load_imagenet(root, flatten=flatten, image_size=image_size)
    raw = read(root, seed=seed)
    mean, std = channel_stats(raw.train[0])
    train, val, test = (
        to_tensors(split, mean=mean, std=std, flatten=flatten) for split in (raw.train, raw.val, raw.test)
    )
    return DataSplits(
        train=train,
        val=val,
        test=test,
        in_shape=tuple(train[0].shape[1:]),
        num_classes=spec.num_classes,
        task=spec.task,
        name=name,
    )


def load_imagenet(root, *, flatten: bool, image_size: int | None) -> DataSplits:
    """ILSVRC-2012 as lazily decoded splits: train = the official training images, val = test =
    the official validation images (the paper evaluates on them; the test labels are not public).
    The split does not depend on the seed."""
    spec = DATASETS["imagenet"]
    size = image_size if image_size is not None else image_size_from_env()
    if int(size) < 1:
        raise ValueError(f"image_size must be a positive number of pixels; got {size!r} (${SIZE_ENV})")
    (train_paths, train_labels), (val_paths, val_labels) = read_imagenet(root, num_classes=spec.num_classes)
    train_x = LazyImages(train_paths, size=size, flatten=flatten)
    val_x = LazyImages(val_paths, size=size, flatten=flatten)
    val = (val_x, torch.from_numpy(val_labels))
    return DataSplits(
        train=(train_x, torch.from_numpy(train_labels)),
        val=val,
        test=val,
        in_shape=tuple(train_x.shape[1:]),
        num_classes=spec.num_classes,
        task=spec.task,
        name="imagenet",
    )


def to_tensors(
    split: tuple[np.ndarray, np.ndarray], *, mean: np.ndarray, std: np.ndarray, flatten: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalise one split's inputs and wrap both arrays as (float32, int64) tensors."""
    x = normalise(split[0], mean=mean, std=std)
    if flatten:
        x = x.reshape(len(x), math.prod(x.shape[1:]))
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.asarray(split[1], dtype=np.int64))


def dataset_status(*, data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One row per dataset for ``fw-train datasets``: ``name``, ``embedded``, ``found`` (the
    located path or ``None``), ``env_var``, ``expected`` and ``description``."""
    return [
        {
            "name": spec.name,
            "embedded": spec.embedded,
            "found": locate(spec.name, data_dir),
            "env_var": spec.env_var,
            "expected": spec.expected,
            "description": spec.description,
        }
        for spec in DATASETS.values()
    ]
