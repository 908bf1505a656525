"""Readers for the on-disk formats the datasets come in; each returns numpy arrays and raises
:class:`~trainer.data.errors.DatasetError` naming the file when it cannot.

* CIFAR python pickle batches (``cifar-10-batches-py``, ``cifar-100-python``);
* IDX files (MNIST/FashionMNIST), raw or gzip-compressed;
* tables (CSV, gzip CSV, parquet) for Higgs;
* the ``tiny-imagenet-200`` folder of JPEGs.

Every file is opened through :func:`open_data_file` (``fwanalysis.artifacts.io.open_regular``): a FIFO,
socket, device or directory where a data file should be is refused at once, never waited on.

CIFAR batches are pickles: only read them from a source you trust.
"""

from __future__ import annotations

import gzip
import pickle
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fwanalysis.artifacts.io import NotRegularFile, open_regular

from .errors import DatasetError

if TYPE_CHECKING:  # pandas is imported when a table is read
    import pandas as pd

# IDX type codes (LeCun's MNIST page) -> big-endian numpy dtypes.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
TARGET_COLUMNS = ("target", "class", "label", "Label")  # tried in order; else the last column
TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def open_data_file(path: Path):
    """``path`` opened for binary reading if it is a regular file (symbolic links followed), without
    waiting on a FIFO; else :class:`DatasetError` naming it: ``missing``, ``not a regular file (a FIFO)``
    and the like, or why it cannot be opened."""
    try:
        return open_regular(path)
    except FileNotFoundError:
        raise DatasetError(path, "missing") from None
    except NotRegularFile as error:
        raise DatasetError(path, str(error).removeprefix(f"{path}: ")) from None
    except OSError as error:
        raise DatasetError(path, f"cannot be opened ({error.strerror or error})") from None


def read_cifar_batch(path: Path, *, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR pickle batch as ``(images uint8 (N, 3, 32, 32), labels int64 (N,))``.

    ``label_key`` is ``b"labels"`` for CIFAR-10 and ``b"fine_labels"`` for CIFAR-100.
    """
    try:
        with open_data_file(path) as handle:
            batch = pickle.load(handle, encoding="bytes")
    except DatasetError:
        raise
    except Exception as error:  # a corrupt pickle can raise almost anything
        raise DatasetError(path, f"not a CIFAR python pickle batch ({type(error).__name__}: {error})") from error
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DatasetError(path, f"expected a dict with keys b'data' and {label_key!r}; got {keys}")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetError(path, f"b'data' must be uint8 (N, 3072); got {data.dtype} {data.shape}")
    if labels.shape != (data.shape[0],):
        raise DatasetError(path, f"{data.shape[0]} images but labels shaped {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip-compressed or not, told apart by its first bytes) as a numpy array."""
    try:
        with open_data_file(path) as handle:
            raw = handle.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(path, f"unreadable gzip data ({error})") from error
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in IDX_DTYPES:
        raise DatasetError(path, f"bad IDX magic number {raw[:4].hex() or '(empty file)'}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(path, "truncated IDX header")
    dims = tuple(int(side) for side in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        held = len(raw) - header
        raise DatasetError(path, f"IDX header says {dims} ({expected} bytes) but holds {held}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (gzipped where its name ends in ``.gz``) or parquet file as a DataFrame."""
    import pandas as pd

    name = path.name.lower()
    try:
        with open_data_file(path) as handle:
            if name.endswith((".parquet", ".pq")):
                return pd.read_parquet(handle)
            return pd.read_csv(handle, compression="gzip" if name.endswith(".gz") else None)
    except DatasetError:
        raise
    except Exception as error:  # pandas/pyarrow raise many types for bad files
        raise DatasetError(path, f"unreadable table ({type(error).__name__}: {error})") from error


def table_to_arrays(frame: pd.DataFrame, *, path: Path, num_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Split a binary-classification table into ``(features float32 (N, F), labels int64 (N,))``.

    The target is the first of :data:`TARGET_COLUMNS` present, else the last column. Labels
    already in {0, 1} are kept; any other two values are mapped to 0 and 1 in sorted order
    (so ``"b"/"s"`` becomes 0/1).
    """
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DatasetError(path, f"empty table ({frame.shape[0]} rows, {frame.shape[1]} columns)")
    target = next((name for name in TARGET_COLUMNS if name in frame.columns), frame.columns[-1])
    features = frame.drop(columns=[target])
    if features.shape[1] != num_features:
        raise DatasetError(
            path, f"expected {num_features} feature columns besides {target!r}; found {features.shape[1]}"
        )
    import pandas as pd

    non_numeric = [name for name in features.columns if not pd.api.types.is_numeric_dtype(features[name])]
    if non_numeric:
        raise DatasetError(path, f"non-numeric feature columns: {non_numeric[:5]}")
    x = features.to_numpy(dtype=np.float32)
    if not np.isfinite(x).all():
        raise DatasetError(path, "features contain missing or infinite values")
    return x, binary_labels(frame[target], path=path)


def binary_labels(column: pd.Series, *, path: Path) -> np.ndarray:
    """A two-valued target column as int64 0/1 (see :func:`table_to_arrays`)."""
    if column.isna().any():
        raise DatasetError(path, f"target column {column.name!r} has missing values")
    values = sorted(column.unique().tolist())
    if len(values) > 2:
        raise DatasetError(path, f"target column {column.name!r} has {len(values)} values; expected 2")
    if set(values) <= {0, 1}:
        return column.to_numpy().astype(np.int64)
    codes = {value: code for code, value in enumerate(values)}
    return column.map(codes).to_numpy().astype(np.int64)


def read_rgb_image(path: Path, *, size: tuple[int, int]) -> np.ndarray:
    """An image file as uint8 ``(3, H, W)``; greyscale is converted to RGB, ``size`` is (H, W)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open_data_file(path) as handle, Image.open(handle) as image:
            rgb = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DatasetError(path, f"unreadable image ({error})") from error
    if rgb.shape[:2] != size:
        raise DatasetError(path, f"image is {rgb.shape[0]}x{rgb.shape[1]}; expected {size[0]}x{size[1]}")
    return rgb.transpose(2, 0, 1)


def read_images(paths: list[Path], *, size: tuple[int, int]) -> np.ndarray:
    """Many images into one preallocated uint8 ``(N, 3, H, W)`` array."""
    out = np.empty((len(paths), 3, *size), dtype=np.uint8)
    for index, path in enumerate(paths):
        out[index] = read_rgb_image(path, size=size)
    return out


def read_tinyimagenet(root: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The ``tiny-imagenet-200`` folder as ((train images, labels), (official val images, labels)).

    Class ``k`` is the k-th wnid of ``wnids.txt`` in sorted order (torchvision's ImageFolder
    order). Train images are ``train/<wnid>/images/*.JPEG``; the official validation images are
    ``val/images/<file>`` labelled by ``val/val_annotations.txt`` (``file<TAB>wnid<TAB>box...``).
    """
    classes = {wnid: index for index, wnid in enumerate(read_wnids(root / "wnids.txt"))}
    train_paths, train_labels = [], []
    for wnid, label in classes.items():
        found = sorted((root / "train" / wnid / "images").glob("*.JPEG"))
        if not found:
            raise DatasetError(root / "train" / wnid / "images", "missing or holds no .JPEG files")
        train_paths += found
        train_labels += [label] * len(found)
    val_paths, val_labels = read_val_annotations(root / "val" / "val_annotations.txt", classes=classes)
    return (
        (read_images(train_paths, size=(64, 64)), np.array(train_labels, dtype=np.int64)),
        (read_images(val_paths, size=(64, 64)), np.array(val_labels, dtype=np.int64)),
    )


def read_text_lines(path: Path) -> list[str]:
    """The lines of the UTF-8 text file ``path`` (:func:`open_data_file`), or :class:`DatasetError`."""
    try:
        with open_data_file(path) as handle:
            return handle.read().decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(path, f"unreadable ({error})") from None


def read_wnids(path: Path) -> list[str]:
    """The sorted, de-duplicated WordNet ids listed one per line in ``wnids.txt``."""
    wnids = sorted({line.strip() for line in read_text_lines(path) if line.strip()})
    if not wnids:
        raise DatasetError(path, "lists no classes")
    return wnids


def read_val_annotations(path: Path, *, classes: dict[str, int]) -> tuple[list[Path], list[int]]:
    """Image paths and labels of the official validation split from ``val_annotations.txt``."""
    lines = [line.split("\t") for line in read_text_lines(path) if line.strip()]
    paths, labels = [], []
    for number, fields in enumerate(lines, start=1):
        if len(fields) < 2 or fields[1] not in classes:
            raise DatasetError(path, f"line {number}: expected '<file>\\t<wnid from wnids.txt>...'")
        paths.append(path.parent / "images" / fields[0])
        labels.append(classes[fields[1]])
    if not paths:
        raise DatasetError(path, "lists no images")
    return paths, labels
