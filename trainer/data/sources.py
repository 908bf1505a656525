"""Per-dataset recognition of a folder on disk and its raw train/val/test split.

``find_*`` functions take one candidate path (what ``--data-dir`` or an environment variable
points at) and return the dataset's root when the candidate is that root or its parent.
``read_*`` functions take that root and a seed and return :class:`RawSplits`: numpy arrays
before normalisation, images as ``(N, C, H, W)`` (uint8 where the source is), tables ``(N, F)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from .cache import cached_arrays
from .errors import DatasetError
from .readers import (
    TABLE_SUFFIXES,
    read_cifar_batch,
    read_idx,
    read_table,
    read_tinyimagenet,
    table_to_arrays,
)
from .splits import holdout_split

VAL_FRACTION = 0.1  # of the official training set, for CIFAR, FashionMNIST and Tiny-ImageNet
HIGGS_VAL_FRACTION = HIGGS_TEST_FRACTION = 0.15  # Higgs: 70 / 15 / 15
DIGITS_VAL_FRACTION = DIGITS_TEST_FRACTION = 0.2  # digits: 60 / 20 / 20, stratified

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class RawSplits:
    """Un-normalised ``(inputs, labels)`` arrays of the three splits."""

    train: Split
    val: Split
    test: Split


def find_folder(path: Path, *, names: tuple[str, ...], markers: tuple[tuple[str, ...], ...]) -> Path | None:
    """``path`` or ``path / name`` (first match) holding every marker group.

    A marker group is satisfied when any one of its file names exists in the folder
    (e.g. ``("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz")``).
    """
    for candidate in (path, *(path / name for name in names)):
        if candidate.is_dir() and all(any((candidate / marker).exists() for marker in group) for group in markers):
            return candidate
    return None


def find_table(path: Path) -> Path | None:
    """The Higgs table: ``path`` itself when it is a CSV/parquet file, else the first (sorted)
    file in ``path`` or ``path/higgs`` whose name starts with ``higgs`` or contains ``44129``
    (the OpenML id) and ends in .csv, .csv.gz, .parquet or .pq (case-insensitive)."""
    if path.is_file():
        return path if path.name.lower().endswith(TABLE_SUFFIXES) else None
    for folder in (path, path / "higgs"):
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.iterdir()):
            name = candidate.name.lower()
            if candidate.is_file() and name.endswith(TABLE_SUFFIXES) and (name.startswith("higgs") or "44129" in name):
                return candidate
    return None


def find_cifar10(path: Path) -> Path | None:
    """``cifar-10-batches-py`` (recognised by ``data_batch_1`` and ``test_batch``)."""
    return find_folder(path, names=("cifar-10-batches-py",), markers=(("data_batch_1",), ("test_batch",)))


def find_cifar100(path: Path) -> Path | None:
    """``cifar-100-python`` (recognised by its ``train`` and ``test`` pickles)."""
    return find_folder(path, names=("cifar-100-python",), markers=(("train",), ("test",)))


FASHION_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def find_fashionmnist(path: Path) -> Path | None:
    """The folder holding FashionMNIST's IDX files (raw or .gz); also looks in the usual
    sub-folders ``fashionmnist``, ``fashion-mnist``, ``fashion_mnist``, ``FashionMNIST/raw``."""
    return find_folder(
        path,
        names=("fashionmnist", "fashion-mnist", "fashion_mnist", "FashionMNIST/raw", "FashionMNIST"),
        markers=((FASHION_FILES["train_images"], FASHION_FILES["train_images"] + ".gz"),),
    )


def find_tinyimagenet(path: Path) -> Path | None:
    """``tiny-imagenet-200`` (recognised by ``wnids.txt`` and ``train/``)."""
    return find_folder(path, names=("tiny-imagenet-200",), markers=(("wnids.txt",), ("train",)))


def find_imagenet(path: Path) -> Path | None:
    """An ILSVRC-2012 folder holding ``train/`` and ``val/`` (also looked for in the usual
    sub-folders ``imagenet``, ``ImageNet``, ``ILSVRC2012``, ``ILSVRC/Data/CLS-LOC``). A folder
    with ``wnids.txt`` is Tiny-ImageNet and not recognised."""
    for candidate in (path, *(path / name for name in ("imagenet", "ImageNet", "ILSVRC2012", "ILSVRC/Data/CLS-LOC"))):
        if (candidate / "train").is_dir() and (candidate / "val").is_dir() and not (candidate / "wnids.txt").exists():
            return candidate
    return None


def check_labels(labels: np.ndarray, *, num_classes: int, path: Path) -> np.ndarray:
    """``labels`` unchanged when all lie in ``[0, num_classes)``, else ``DatasetError``."""
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetError(path, f"labels span {labels.min()}..{labels.max()}; expected 0..{num_classes - 1}")
    return labels


def holdout(train: Split, *, seed: int) -> tuple[Split, Split]:
    """Carve :data:`VAL_FRACTION` of a training split off as validation (seeded)."""
    keep, held = holdout_split(len(train[1]), fraction=VAL_FRACTION, seed=seed)
    return (train[0][keep], train[1][keep]), (train[0][held], train[1][held])


def read_digits(root: Path | None, *, seed: int) -> RawSplits:
    """scikit-learn's embedded 8×8 digits (1,797 images, values 0..16) as ``(N, 1, 8, 8)``.

    Stratified 60/20/20 train/val/test split (1,077 / 360 / 360) via ``train_test_split``
    with ``random_state=seed``. ``root`` is ignored: the data ship with scikit-learn. Importing
    scikit-learn takes over a second, so each seed's split is cached (:mod:`.cache`,
    ``digits-<scikit-learn version>-seed<seed>.npz``): a process that finds it never imports scikit-learn.
    """
    from importlib.metadata import version

    a = cached_arrays(
        f"digits-{version('scikit-learn')}-seed{seed}", partial(_split_digits, seed), _valid_digits, what="digits"
    )
    return RawSplits(train=(a["train_x"], a["train_y"]), val=(a["val_x"], a["val_y"]), test=(a["test_x"], a["test_y"]))


def _split_digits(seed: int) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x, y = digits.images.reshape(-1, 1, 8, 8), digits.target.astype(np.int64)
    rest_x, test_x, rest_y, test_y = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, stratify=y, random_state=seed
    )
    val_share = DIGITS_VAL_FRACTION / (1 - DIGITS_TEST_FRACTION)
    train_x, val_x, train_y, val_y = train_test_split(
        rest_x, rest_y, test_size=val_share, stratify=rest_y, random_state=seed
    )
    return {"train_x": train_x, "train_y": train_y, "val_x": val_x, "val_y": val_y, "test_x": test_x, "test_y": test_y}


def _valid_digits(arrays: dict[str, np.ndarray]) -> bool:
    """Three parts of (n, 1, 8, 8) float64 images in 0..16 and n int64 labels in 0..9, 1,797 images in all."""
    total = 0
    for part in ("train", "val", "test"):
        x, y = arrays.get(f"{part}_x"), arrays.get(f"{part}_y")
        if x is None or y is None or x.dtype != np.float64 or y.dtype != np.int64:
            return False
        if x.ndim != 4 or x.shape[1:] != (1, 8, 8) or y.shape != (x.shape[0],) or not len(y):
            return False
        if not (np.isfinite(x).all() and x.min() >= 0 and x.max() <= 16 and y.min() >= 0 and y.max() <= 9):
            return False
        total += len(y)
    return total == 1797


def read_mnist1d(root: Path | None, *, seed: int) -> RawSplits:
    """MNIST-1D as ``(N, 1, 40)`` float32 signals: the benchmark's 4,000 training signals minus a seeded
    10% validation hold-out (3,600 / 400), its 1,000 test signals. ``root`` is ignored: the package
    generates the data (:mod:`.mnist1d`)."""
    from .mnist1d import mnist1d_arrays

    a = mnist1d_arrays()
    train = (a["x"][:, None, :], a["y"])
    train, val = holdout(train, seed=seed)
    return RawSplits(train=train, val=val, test=(a["x_test"][:, None, :], a["y_test"]))


def read_cifar(
    root: Path,
    *,
    seed: int,
    train_files: tuple[str, ...],
    test_file: str,
    label_key: bytes,
    num_classes: int,
) -> RawSplits:
    """CIFAR pickle batches: the training batches minus a seeded 10% validation hold-out
    (45,000 / 5,000 on the real data) as train and val, the test batch as test."""
    batches = [read_cifar_batch(root / name, label_key=label_key) for name in train_files]
    for name, (_, labels) in zip(train_files, batches):
        check_labels(labels, num_classes=num_classes, path=root / name)
    train = (np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]))
    test_x, test_y = read_cifar_batch(root / test_file, label_key=label_key)
    check_labels(test_y, num_classes=num_classes, path=root / test_file)
    train, val = holdout(train, seed=seed)
    return RawSplits(train=train, val=val, test=(test_x, test_y))


def read_cifar10(root: Path, *, seed: int) -> RawSplits:
    """CIFAR-10 from ``data_batch_1..5`` and ``test_batch`` (key ``b"labels"``)."""
    return read_cifar(
        root,
        seed=seed,
        train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test_file="test_batch",
        label_key=b"labels",
        num_classes=10,
    )


def read_cifar100(root: Path, *, seed: int) -> RawSplits:
    """CIFAR-100 from ``train`` and ``test`` with the 100 fine labels (``b"fine_labels"``)."""
    return read_cifar(
        root, seed=seed, train_files=("train",), test_file="test", label_key=b"fine_labels", num_classes=100
    )


def idx_path(root: Path, stem: str) -> Path:
    """``root/stem`` if present, else ``root/stem.gz`` (which may not exist either)."""
    raw = root / stem
    return raw if raw.exists() else root / f"{stem}.gz"


def read_idx_pair(root: Path, *, images: str, labels: str) -> Split:
    """Images ``(N, 1, H, W)`` uint8 and labels int64 from two IDX files, cross-checked."""
    images_path, labels_path = idx_path(root, images), idx_path(root, labels)
    x, y = read_idx(images_path), read_idx(labels_path)
    if x.ndim != 3 or x.dtype != np.uint8:
        raise DatasetError(images_path, f"expected uint8 images (N, H, W); got {x.dtype} {x.shape}")
    if y.shape != (x.shape[0],):
        raise DatasetError(labels_path, f"expected {x.shape[0]} labels; got shape {y.shape}")
    return x[:, None], check_labels(y.astype(np.int64), num_classes=10, path=labels_path)


def read_fashionmnist(root: Path, *, seed: int) -> RawSplits:
    """FashionMNIST from IDX files; seeded 10% of the 60,000 training images as validation
    (54,000 / 6,000), the 10,000 ``t10k`` images as test."""
    train = read_idx_pair(root, images=FASHION_FILES["train_images"], labels=FASHION_FILES["train_labels"])
    test = read_idx_pair(root, images=FASHION_FILES["test_images"], labels=FASHION_FILES["test_labels"])
    train, val = holdout(train, seed=seed)
    return RawSplits(train=train, val=val, test=test)


def read_higgs(path: Path, *, seed: int) -> RawSplits:
    """Higgs (OpenML 44129): 24 numeric features + a binary target, split by :func:`higgs_split`."""
    x, y = table_to_arrays(read_table(path), path=path, num_features=24)
    try:
        train, val, test = higgs_split(y, seed=seed)
    except ValueError as error:  # too few rows of a class for the split
        raise DatasetError(path, f"cannot split {len(y)} rows 70/15/15 ({error})") from error
    return RawSplits(train=(x[train], y[train]), val=(x[val], y[val]), test=(x[test], y[test]))


def higgs_split(y: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted (train, val, test) row indices, 70/15/15 and stratified by label, as the authors'
    code does it: ``train_test_split`` holds out 30% (stratified), which is then halved into
    test and val (stratified), with ``random_state=seed`` where the authors fixed 42. On the
    940,160 rows: 658,112 / 141,024 / 141,024. Tables with fewer than 2 rows of a class are
    split without stratification."""
    from sklearn.model_selection import train_test_split

    stratify = y if np.bincount(y, minlength=2).min() >= 2 else None
    train, rest = train_test_split(
        np.arange(len(y)), test_size=HIGGS_VAL_FRACTION + HIGGS_TEST_FRACTION, random_state=seed, stratify=stratify
    )
    rest_stratify = y[rest] if stratify is not None and np.bincount(y[rest], minlength=2).min() >= 2 else None
    test, val = train_test_split(rest, test_size=0.5, random_state=seed, stratify=rest_stratify)
    return np.sort(train), np.sort(val), np.sort(test)


def read_tinyimagenet_splits(root: Path, *, seed: int) -> RawSplits:
    """Tiny-ImageNet: seeded 10% of the 100,000 training images as validation
    (90,000 / 10,000); the official 10,000 validation images are the test split."""
    train, test = read_tinyimagenet(root)
    train, val = holdout(train, seed=seed)
    return RawSplits(train=train, val=val, test=test)
