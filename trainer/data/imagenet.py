"""ILSVRC-2012 (ImageNet-1k) from a local folder, decoded lazily, one batch at a time.

Expected layout (torchvision's ``ImageFolder``, after the usual ``valprep.sh`` has sorted the
validation images into class folders)::

    <root>/train/<wnid>/*.JPEG   1,281,167 images in 1,000 folders
    <root>/val/<wnid>/*.JPEG     50,000 images, the same wnids

Class ``k`` is the k-th wnid of ``train/`` in sorted order. The 1.28M JPEGs (~140 GB) cannot
be held in memory, so :class:`LazyImages` keeps only the file paths and decodes the rows asked
for on each indexing (``X[idx]`` with a tensor of indices, or ``X[i:j]``), in a thread pool.
Each image is resized so its shorter side is ``round(size / 0.875)`` (256 for 224), bilinear,
then centre-cropped to ``size × size`` and normalised with the fixed ImageNet channel statistics
(mean 0.485/0.456/0.406, std 0.229/0.224/0.225 of [0, 1] pixels, as the authors' code does);
computing statistics over 1.28M images at load time would cost a full pass. There is no data
augmentation (no other data set here has any either), so training sees the centre crop every
epoch where the authors used RandomResizedCrop + flips.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import DatasetError
from .readers import open_data_file

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")  # case-insensitive
CROP_FRACTION = 0.875  # 224 / 256
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_SIZE = 224
SIZE_ENV = "FWA_IMAGENET_SIZE"


def image_size_from_env() -> int:
    """``$FWA_IMAGENET_SIZE`` as a positive int, else :data:`DEFAULT_SIZE`; ``ValueError`` if malformed."""
    value = os.environ.get(SIZE_ENV, "").strip()
    if not value:
        return DEFAULT_SIZE
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"${SIZE_ENV}={value!r} must be a positive whole number of pixels (e.g. 224)")
    return int(value)


def load_resized_crop(path: str | Path, *, size: int) -> np.ndarray:
    """One image as uint8 ``(3, size, size)``: shorter side to ``round(size / 0.875)``, centre crop.

    JPEGs are decoded at the smallest DCT scale that is still at least that large (PIL's
    ``draft``), which makes decoding several times faster and changes pixels only marginally.
    """
    from PIL import Image, UnidentifiedImageError

    short = max(size, round(size / CROP_FRACTION))
    try:
        with open_data_file(Path(path)) as handle, Image.open(handle) as image:
            width, height = image.size
            scale = short / min(width, height)
            target = (max(short, round(width * scale)), max(short, round(height * scale)))
            image.draft("RGB", target)
            rgb = image.convert("RGB").resize(target, Image.BILINEAR)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise DatasetError(path, f"unreadable image ({error})") from error
    left, top = (target[0] - size) // 2, (target[1] - size) // 2
    crop = rgb.crop((left, top, left + size, top + size))
    return np.array(crop, dtype=np.uint8).transpose(2, 0, 1)  # a writable copy


class LazyImages:
    """A read-only, tensor-like ``(N, 3, size, size)`` float32 array backed by image files.

    Supports what the trainer does with an input tensor: ``len``, ``.shape``, ``.dtype`` and
    indexing by an int, a slice, or a 1-D tensor/array/list of indices, each of which returns a
    real ``torch.Tensor`` (decoded, cropped and normalised now, in ``workers`` threads).
    ``flatten=True`` returns rows of ``3 * size * size`` values instead.
    """

    def __init__(self, paths: list[str], *, size: int, flatten: bool = False, workers: int | None = None) -> None:
        self.paths = paths
        self.size = int(size)
        self.flatten = flatten
        self.workers = workers or min(8, os.cpu_count() or 1)
        import torch

        self._mean = torch.tensor(IMAGENET_MEAN).mul(255).reshape(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD).mul(255).reshape(1, 3, 1, 1)

    @property
    def shape(self) -> torch.Size:
        import torch

        one = (3 * self.size * self.size,) if self.flatten else (3, self.size, self.size)
        return torch.Size((len(self.paths), *one))

    @property
    def dtype(self) -> torch.dtype:
        import torch

        return torch.float32

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"LazyImages({len(self)} files, size={self.size}, flatten={self.flatten})"

    def __getitem__(self, index) -> torch.Tensor:
        import torch

        if isinstance(index, (int, np.integer)):
            return self[[int(index)]][0]
        if isinstance(index, slice):
            rows = range(len(self))[index]
        else:
            rows = torch.as_tensor(index, dtype=torch.int64).reshape(-1).tolist()
            if rows and not -len(self) <= min(rows) <= max(rows) < len(self):
                raise IndexError(f"index out of range for {len(self)} images")
        return self.decode([self.paths[row] for row in rows])

    def decode(self, paths: list[str]) -> torch.Tensor:
        """Decode, crop and normalise ``paths`` into one float32 batch."""
        import torch

        out = torch.empty((len(paths), 3, self.size, self.size), dtype=torch.uint8)

        def fill(item: tuple[int, str]) -> None:
            out[item[0]] = torch.from_numpy(load_resized_crop(item[1], size=self.size))

        if len(paths) > 1 and self.workers > 1:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(paths))) as pool:
                list(pool.map(fill, enumerate(paths)))
        else:
            for item in enumerate(paths):
                fill(item)
        x = (out.float() - self._mean) / self._std
        return x.reshape(len(paths), -1) if self.flatten else x


def list_images(folder: Path) -> list[str]:
    """Sorted paths of the image files directly in ``folder`` (see :data:`IMAGE_SUFFIXES`)."""
    with os.scandir(folder) as entries:
        return sorted(
            entry.path for entry in entries if entry.name.lower().endswith(IMAGE_SUFFIXES) and entry.is_file()
        )


def class_folders(folder: Path) -> list[str]:
    """Sorted names of the sub-folders of ``folder``, or ``DatasetError`` when it is missing."""
    if not folder.is_dir():
        raise DatasetError(folder, "missing (expected one sub-folder per class, named by wnid)")
    with os.scandir(folder) as entries:
        return sorted(entry.name for entry in entries if entry.is_dir())


def read_image_folder(
    folder: Path, *, classes: dict[str, int] | None = None
) -> tuple[list[str], np.ndarray, dict[str, int]]:
    """``folder/<class>/<image>`` as (paths, int64 labels, class -> index).

    With ``classes`` given (the training split's), every sub-folder must be one of them;
    otherwise the classes are the sorted sub-folders of ``folder``.
    """
    names = class_folders(folder)
    if not names:
        loose = list_images(folder)
        hint = "; sort them into val/<wnid>/ folders (e.g. with valprep.sh)" if loose else ""
        raise DatasetError(folder, f"holds no class sub-folders ({len(loose)} loose images){hint}")
    if classes is None:
        classes = {name: index for index, name in enumerate(names)}
    else:
        unknown = [name for name in names if name not in classes]
        if unknown:
            raise DatasetError(folder / unknown[0], f"class folder not among the {len(classes)} train/ classes")
    paths: list[str] = []
    labels: list[int] = []
    for name in names:
        found = list_images(folder / name)
        if not found:
            raise DatasetError(folder / name, f"holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        paths += found
        labels += [classes[name]] * len(found)
    return paths, np.asarray(labels, dtype=np.int64), classes


def read_imagenet(root: Path, *, num_classes: int) -> tuple[tuple[list[str], np.ndarray], tuple[list[str], np.ndarray]]:
    """(train paths, labels), (val paths, labels) of an ILSVRC-2012 folder (module docstring)."""
    train_paths, train_labels, classes = read_image_folder(root / "train")
    if len(classes) > num_classes:
        raise DatasetError(root / "train", f"holds {len(classes)} class folders; expected at most {num_classes}")
    val_paths, val_labels, _ = read_image_folder(root / "val", classes=classes)
    return (train_paths, train_labels), (val_paths, val_labels)
