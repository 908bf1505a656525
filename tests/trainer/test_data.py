"""Tests for trainer.data: the embedded digits split, and every file-backed loader on tiny
files fabricated in each dataset's real on-disk format (pickled CIFAR batches, IDX raw and
gzip, Higgs CSV and parquet, a tiny-imagenet-200 tree of JPEGs)."""

from __future__ import annotations

import gzip
import os
import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from trainer.data import (
    DATASETS,
    DatasetError,
    DatasetNotFound,
    DataSplits,
    LazyImages,
    dataset_status,
    load_dataset,
    locate,
)
from trainer.data.imagenet import IMAGENET_MEAN, IMAGENET_STD
from trainer.data.sources import higgs_split, holdout

FILE_BACKED = [name for name, spec in DATASETS.items() if not spec.embedded]


@pytest.fixture(autouse=True)
def _no_dataset_env(monkeypatch):
    """Tests never see the machine's real dataset locations."""
    for spec in DATASETS.values():
        if spec.env_var:
            monkeypatch.delenv(spec.env_var, raising=False)


# ---------------------------------------------------------------- fabricated files


def write_cifar_batch(path: Path, *, data: np.ndarray, labels: list[int], label_key: bytes) -> None:
    """A batch as the official python-version pickles hold it (bytes keys, flat uint8 rows)."""
    batch = {
        b"batch_label": b"fabricated",
        label_key: labels,
        b"data": data.reshape(len(data), -1),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(data))],
    }
    if label_key == b"fine_labels":
        batch[b"coarse_labels"] = [label // 5 for label in labels]
    path.write_bytes(pickle.dumps(batch, protocol=2))


def constant_channel_images(n: int, *, size: int = 32) -> np.ndarray:
    """uint8 (n, 3, size, size) whose channel c of image i is the constant 60*c + i."""
    values = 60 * np.arange(3)[None, :] + np.arange(n)[:, None]
    return np.broadcast_to(values[:, :, None, None], (n, 3, size, size)).astype(np.uint8)


def make_cifar10(parent: Path, *, per_batch: int = 20, n_test: int = 10) -> dict:
    root = parent / "cifar-10-batches-py"
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train_labels = []
    for i in range(1, 6):
        labels = rng.integers(0, 10, per_batch).tolist()
        train_labels += labels
        data = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        write_cifar_batch(root / f"data_batch_{i}", data=data, labels=labels, label_key=b"labels")
    test_labels = rng.integers(0, 10, n_test).tolist()
    write_cifar_batch(
        root / "test_batch", data=constant_channel_images(n_test), labels=test_labels, label_key=b"labels"
    )
    (root / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"x"] * 10}, protocol=2))
    return {"root": root, "train_labels": train_labels, "test_labels": test_labels}


def make_cifar100(parent: Path, *, n_train: int = 50, n_test: int = 10) -> dict:
    root = parent / "cifar-100-python"
    root.mkdir(parents=True)
    rng = np.random.default_rng(1)
    train_labels = rng.integers(0, 100, n_train).tolist()
    test_labels = rng.integers(0, 100, n_test).tolist()
    train = rng.integers(0, 256, (n_train, 3, 32, 32), dtype=np.uint8)
    write_cifar_batch(root / "train", data=train, labels=train_labels, label_key=b"fine_labels")
    write_cifar_batch(root / "test", data=constant_channel_images(n_test), labels=test_labels, label_key=b"fine_labels")
    return {"root": root, "train_labels": train_labels, "test_labels": test_labels}


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: magic 0x0000 08 <ndim>, big-endian dims, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def make_fashionmnist(root: Path, *, gz: bool, n_train: int = 40, n_test: int = 10) -> dict:
    root.mkdir(parents=True)
    rng = np.random.default_rng(2)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for name, array in arrays.items():
        if gz:
            (root / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(array)))
        else:
            (root / name).write_bytes(idx_bytes(array))
    return {"root": root, **arrays}


def higgs_frame(n: int = 100, *, target: str = "target", labels=(0, 1)) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(n, 24)) * 3 + 5, columns=[f"f{i}" for i in range(24)])
    frame[target] = [labels[i % 2] for i in range(n)]
    return frame


WNIDS = ["n02", "n01", "n03"]  # deliberately unsorted: classes follow sorted order


def make_tinyimagenet(parent: Path, *, per_class: int = 10, n_val: int = 6) -> dict:
    root = parent / "tiny-imagenet-200"
    rng = np.random.default_rng(4)
    (root / "val" / "images").mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
    for wnid in WNIDS:
        images = root / "train" / wnid / "images"
        images.mkdir(parents=True)
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
        for i in range(per_class):
            mode_shape = ("L", (64, 64)) if i == 0 else ("RGB", (64, 64, 3))  # one greyscale
            pixels = rng.integers(0, 256, mode_shape[1], dtype=np.uint8)
            Image.fromarray(pixels, mode=mode_shape[0]).save(images / f"{wnid}_{i}.JPEG")
    annotations, val_wnids = [], []
    for i in range(n_val):
        wnid = WNIDS[i % len(WNIDS)]
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
            root / "val" / "images" / f"val_{i}.JPEG"
        )
        annotations.append(f"val_{i}.JPEG\t{wnid}\t0\t0\t63\t63")
        val_wnids.append(wnid)
    (root / "val" / "val_annotations.txt").write_text("\n".join(annotations) + "\n")
    return {"root": root, "val_wnids": val_wnids}


# ---------------------------------------------------------------- shared checks


def check_splits(splits: DataSplits, *, sizes: tuple[int, int, int], in_shape: tuple[int, ...]) -> None:
    for (x, y), size in zip((splits.train, splits.val, splits.test), sizes):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.shape == (size, *in_shape) and y.shape == (size,)
        assert torch.isfinite(x).all()
        assert y.min() >= 0 and y.max() < splits.num_classes
    assert splits.in_shape == in_shape


def check_train_normalised(x: torch.Tensor) -> None:
    """Per-channel mean 0 and std 1 on the training split (axis 1 is the channel)."""
    axes = [0] + list(range(2, x.dim()))
    assert torch.allclose(x.mean(dim=axes), torch.zeros(x.shape[1]), atol=1e-4)
    assert torch.allclose(x.std(dim=axes, unbiased=False), torch.ones(x.shape[1]), atol=1e-3)


# ---------------------------------------------------------------- digits


def test_digits_sizes_shapes_and_normalisation():
    splits = load_dataset("digits")
    check_splits(splits, sizes=(1077, 360, 360), in_shape=(1, 8, 8))
    assert (splits.name, splits.num_classes, splits.task, splits.num_outputs) == ("digits", 10, "multiclass", 10)
    check_train_normalised(splits.train[0])
    assert Counter(splits.test[1].tolist()) == pytest.approx({k: 36 for k in range(10)}, abs=1)  # stratified


def test_digits_splits_partition_the_dataset():
    from sklearn.datasets import load_digits

    splits = load_dataset("digits", seed=5)
    x_train = splits.train[0]
    scale = 16 / (x_train.max() - x_train.min())  # raw digits span 0..16 on the training split
    offset = -x_train.min() * scale

    def raw_rows(x, y):
        raw = torch.round(x * scale + offset).to(torch.int64).reshape(len(x), -1)
        return [tuple(row) + (label,) for row, label in zip(raw.tolist(), y.tolist())]

    loaded = Counter(r for split in (splits.train, splits.val, splits.test) for r in raw_rows(*split))
    digits = load_digits()
    reference = Counter(tuple(row) + (int(t),) for row, t in zip(digits.data.astype(int).tolist(), digits.target))
    assert loaded == reference  # every image exactly once: disjoint and complete


def test_digits_deterministic_per_seed_and_different_across_seeds():
    a, b, c = load_dataset("digits", seed=0), load_dataset("digits", seed=0), load_dataset("digits", seed=1)
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(a, split)[0], getattr(b, split)[0])
        assert torch.equal(getattr(a, split)[1], getattr(b, split)[1])
    assert not torch.equal(a.train[1], c.train[1])
    assert not torch.equal(a.test[0], c.test[0])


def test_digits_split_is_cached_per_seed_and_read_back_without_scikit_learn(tmp_path, monkeypatch):
    """The first load of a seed writes digits-<version>-seed<seed>.npz; a load in a fresh process reads it, equal
    to scikit-learn's split array for array, and never imports scikit-learn (over a second per process)."""
    import subprocess
    import sys

    from trainer.data.sources import _split_digits, read_digits

    monkeypatch.setenv("FWA_DATA_CACHE", str(tmp_path))
    first = read_digits(None, seed=7)
    (path,) = tmp_path.glob("digits-*-seed7.npz")
    stamp = path.stat().st_mtime_ns
    code = (
        "import sys, numpy as np; from trainer.data.sources import read_digits; r = read_digits(None, seed=7); "
        "np.savez(sys.argv[1], *[a for part in (r.train, r.val, r.test) for a in part]); "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, tmp_path / "again.npz"], capture_output=True, text=True, env=dict(os.environ)
    )
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr
    assert path.stat().st_mtime_ns == stamp  # read, not written again
    reference = _split_digits(7)  # scikit-learn's train_test_split, as uncached
    with np.load(tmp_path / "again.npz") as again:
        read_back = [again[f"arr_{i}"] for i in range(6)]
    for i, (part, name) in enumerate((p, n) for p in ("train", "val", "test") for n in ("x", "y")):
        expected = reference[f"{part}_{name}"]
        for got in (getattr(first, part)[name == "y"], read_back[i]):
            assert got.dtype == expected.dtype and np.array_equal(got, expected)


@pytest.mark.parametrize("content", [b"not an npz", b""])
def test_a_bad_digits_cache_is_left_alone(tmp_path, monkeypatch, capsys, content):
    from importlib.metadata import version

    from trainer.data.sources import _split_digits, read_digits

    monkeypatch.setenv("FWA_DATA_CACHE", str(tmp_path))
    path = tmp_path / f"digits-{version('scikit-learn')}-seed2.npz"
    path.write_bytes(content)
    assert np.array_equal(read_digits(None, seed=2).train[0], _split_digits(2)["train_x"])
    assert path.read_bytes() == content  # not a file fwa wrote: never replaced
    assert "warning: digits: the cache" in capsys.readouterr().err


def test_digits_flatten():
    splits = load_dataset("digits", flatten=True)
    check_splits(splits, sizes=(1077, 360, 360), in_shape=(64,))
    assert torch.equal(splits.train[0], load_dataset("digits").train[0].reshape(1077, 64))


# ---------------------------------------------------------------- CIFAR


def test_cifar10_from_parent_folder(tmp_path):
    made = make_cifar10(tmp_path)
    splits = load_dataset("cifar10", data_dir=tmp_path)
    check_splits(splits, sizes=(90, 10, 10), in_shape=(3, 32, 32))
    check_train_normalised(splits.train[0])
    assert splits.test[1].tolist() == made["test_labels"]
    assert Counter(splits.train[1].tolist() + splits.val[1].tolist()) == Counter(made["train_labels"])
    # channel-major rows: each fabricated test image has constant channels, so must the tensor
    test_x = splits.test[0]
    assert torch.allclose(test_x.amax(dim=(2, 3)), test_x.amin(dim=(2, 3)))
    assert not torch.allclose(test_x[:, 0], test_x[:, 1])


def test_cifar10_from_folder_itself_env_var_and_flatten(tmp_path, monkeypatch):
    made = make_cifar10(tmp_path)
    direct = load_dataset("cifar10", data_dir=made["root"], seed=3)
    monkeypatch.setenv("FWA_CIFAR10", str(made["root"]))
    via_env = load_dataset("cifar10", seed=3, flatten=True)
    assert torch.equal(direct.val[0].reshape(10, -1), via_env.val[0])
    assert via_env.in_shape == (3072,)


def test_cifar10_val_split_fixed_per_seed(tmp_path):
    make_cifar10(tmp_path)
    a, b, c = (load_dataset("cifar10", data_dir=tmp_path, seed=s) for s in (0, 0, 1))
    assert torch.equal(a.val[0], b.val[0])
    assert not torch.equal(a.val[0], c.val[0])
    assert torch.equal(a.test[1], c.test[1])  # the test batch never moves


def test_cifar100_fine_labels(tmp_path):
    made = make_cifar100(tmp_path)
    splits = load_dataset("cifar100", data_dir=tmp_path)
    check_splits(splits, sizes=(45, 5, 10), in_shape=(3, 32, 32))
    assert splits.num_classes == 100
    assert splits.test[1].tolist() == made["test_labels"]
    assert Counter(splits.train[1].tolist() + splits.val[1].tolist()) == Counter(made["train_labels"])


def test_cifar_corrupt_batch_names_the_file(tmp_path):
    made = make_cifar10(tmp_path)
    (made["root"] / "data_batch_3").write_bytes(b"\x80\x02 definitely not a pickle")
    with pytest.raises(DatasetError) as info:
        load_dataset("cifar10", data_dir=tmp_path)
    assert "data_batch_3" in str(info.value) and "\n" not in str(info.value)
    assert info.value.path == made["root"] / "data_batch_3"


def test_cifar_wrong_keys_and_missing_batch(tmp_path):
    made = make_cifar100(tmp_path)
    write_cifar_batch(made["root"] / "test", data=constant_channel_images(4), labels=[0] * 4, label_key=b"labels")
    with pytest.raises(DatasetError, match="fine_labels"):
        load_dataset("cifar100", data_dir=tmp_path)
    made10 = make_cifar10(tmp_path / "other")
    (made10["root"] / "data_batch_5").unlink()
    with pytest.raises(DatasetError, match="data_batch_5: missing"):
        load_dataset("cifar10", data_dir=made10["root"])


# ---------------------------------------------------------------- FashionMNIST


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_fashionmnist_idx(tmp_path, gz):
    made = make_fashionmnist(tmp_path / "fmnist", gz=gz)
    splits = load_dataset("fashionmnist", data_dir=made["root"])
    check_splits(splits, sizes=(36, 4, 10), in_shape=(1, 28, 28))
    check_train_normalised(splits.train[0])
    assert splits.test[1].tolist() == made["t10k-labels-idx1-ubyte"].tolist()
    raw = made["t10k-images-idx3-ubyte"].astype(np.float64).ravel()
    assert np.corrcoef(splits.test[0].numpy().ravel(), raw)[0, 1] == pytest.approx(1.0)  # affine in pixels


def test_fashionmnist_torchvision_layout_from_parent(tmp_path):
    make_fashionmnist(tmp_path / "FashionMNIST" / "raw", gz=True)
    assert locate("fashionmnist", tmp_path) == tmp_path / "FashionMNIST" / "raw"
    assert load_dataset("fashionmnist", data_dir=tmp_path).test[0].shape == (10, 1, 28, 28)


def test_fashionmnist_bad_magic_and_truncation(tmp_path):
    made = make_fashionmnist(tmp_path / "a", gz=False)
    path = made["root"] / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x99\x01" + path.read_bytes()[4:])
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte: bad IDX magic"):
        load_dataset("fashionmnist", data_dir=made["root"])
    made = make_fashionmnist(tmp_path / "b", gz=True)
    path = made["root"] / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: IDX header says"):
        load_dataset("fashionmnist", data_dir=made["root"])


# ---------------------------------------------------------------- Higgs


def test_higgs_csv_file(tmp_path):
    frame = higgs_frame()
    frame.to_csv(tmp_path / "higgs.csv", index=False)
    splits = load_dataset("higgs", data_dir=tmp_path / "higgs.csv")
    check_splits(splits, sizes=(70, 15, 15), in_shape=(24,))
    assert (splits.task, splits.num_classes, splits.num_outputs) == ("binary", 2, 1)
    check_train_normalised(splits.train[0])
    all_y = torch.cat([splits.train[1], splits.val[1], splits.test[1]])
    assert sorted(all_y.tolist()) == sorted(frame["target"].tolist())


def test_higgs_parquet_in_folder_with_class_column(tmp_path, monkeypatch):
    higgs_frame(target="class").to_parquet(tmp_path / "higgs.parquet")
    monkeypatch.setenv("FWA_HIGGS", str(tmp_path))
    splits = load_dataset("higgs", seed=2)
    check_splits(splits, sizes=(70, 15, 15), in_shape=(24,))
    assert load_dataset("higgs", seed=2).val[0].equal(splits.val[0])
    assert not load_dataset("higgs", seed=3).val[0].equal(splits.val[0])


def test_higgs_last_column_string_target(tmp_path):
    higgs_frame(target="y", labels=("s", "b")).to_csv(tmp_path / "Higgs_44129.csv.gz", index=False)
    splits = load_dataset("higgs", data_dir=tmp_path)
    counts = Counter(torch.cat([splits.train[1], splits.val[1], splits.test[1]]).tolist())
    assert counts == {0: 50, 1: 50}  # "b" -> 0, "s" -> 1


def test_higgs_split_is_stratified_like_the_authors(tmp_path):
    frame = higgs_frame(200)
    frame["target"] = [int(i % 5 == 0) for i in range(200)]  # 20% positives
    frame.to_csv(tmp_path / "higgs.csv", index=False)
    splits = load_dataset("higgs", data_dir=tmp_path, seed=4)
    assert [int(split[1].sum()) for split in (splits.train, splits.val, splits.test)] == [28, 6, 6]
    assert [len(split[1]) for split in (splits.train, splits.val, splits.test)] == [140, 30, 30]


def test_higgs_bad_tables(tmp_path):
    higgs_frame().drop(columns=["f3"]).to_csv(tmp_path / "higgs.csv", index=False)
    with pytest.raises(DatasetError, match="expected 24 feature columns"):
        load_dataset("higgs", data_dir=tmp_path)
    (tmp_path / "higgs.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(DatasetError, match="higgs.parquet: unreadable table"):
        load_dataset("higgs", data_dir=tmp_path / "higgs.parquet")


# ---------------------------------------------------------------- Tiny-ImageNet


def test_tinyimagenet_tree(tmp_path):
    made = make_tinyimagenet(tmp_path)
    splits = load_dataset("tinyimagenet", data_dir=tmp_path)
    check_splits(splits, sizes=(27, 3, 6), in_shape=(3, 64, 64))
    assert splits.num_classes == 200
    check_train_normalised(splits.train[0])
    order = sorted(WNIDS)
    assert splits.test[1].tolist() == [order.index(w) for w in made["val_wnids"]]
    assert Counter(splits.train[1].tolist() + splits.val[1].tolist()) == {0: 10, 1: 10, 2: 10}


def test_tinyimagenet_corrupt_jpeg(tmp_path):
    made = make_tinyimagenet(tmp_path, per_class=2, n_val=3)
    (made["root"] / "val" / "images" / "val_1.JPEG").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match="val_1.JPEG: unreadable image"):
        load_dataset("tinyimagenet", data_dir=made["root"])


# ---------------------------------------------------------------- ImageNet (lazy)

IMAGENET_CLASSES = ["n03", "n01", "n02"]  # classes follow sorted order


def save_image(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, mode="L" if pixels.ndim == 2 else "RGB").save(path)


def make_imagenet(parent: Path, *, per_class: int = 3, val_per_class: int = 2) -> dict:
    """train/<wnid>/*.JPEG and val/<wnid>/*.JPEG with images of assorted sizes and modes."""
    root = parent / "imagenet"
    rng = np.random.default_rng(5)
    shapes = [(30, 40, 3), (50, 25, 3), (20, 20)]  # landscape, portrait, greyscale square
    for split, count in (("train", per_class), ("val", val_per_class)):
        for wnid in IMAGENET_CLASSES:
            for i in range(count):
                pixels = rng.integers(0, 256, shapes[i % len(shapes)], dtype=np.uint8)
                save_image(root / split / wnid / f"{wnid}_{split}_{i}.JPEG", pixels)
    return {"root": root}


def test_imagenet_splits_are_lazy_and_decode_on_indexing(tmp_path):
    made = make_imagenet(tmp_path)
    splits = load_dataset("imagenet", data_dir=tmp_path, image_size=16)
    x_train, y_train = splits.train
    assert isinstance(x_train, LazyImages) and len(x_train) == 9 and x_train.shape == (9, 3, 16, 16)
    assert splits.val is splits.test and len(splits.val[0]) == 6  # official val is val and test
    assert y_train.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # n01, n02, n03
    assert splits.val[1].tolist() == [0, 0, 1, 1, 2, 2]
    assert (splits.num_classes, splits.num_outputs, splits.in_shape) == (1000, 1000, (3, 16, 16))
    batch = x_train[torch.tensor([8, 0, 4])]  # what the training loop does
    assert batch.dtype == torch.float32 and batch.shape == (3, 3, 16, 16) and torch.isfinite(batch).all()
    assert torch.equal(batch[1], x_train[0]) and torch.equal(x_train[2:5][2], batch[2])
    pixels = batch[0] * torch.tensor(IMAGENET_STD)[:, None, None] + torch.tensor(IMAGENET_MEAN)[:, None, None]
    assert torch.allclose(pixels[0], pixels[1], atol=1e-5) and torch.allclose(pixels[0], pixels[2], atol=1e-5)  # grey
    assert x_train[np.array([1])].shape == (1, 3, 16, 16) and x_train[-1].shape == (3, 16, 16)
    with pytest.raises(IndexError):
        x_train[torch.tensor([9])]
    assert made["root"] == locate("imagenet", tmp_path)


def test_imagenet_resize_centre_crop_and_normalisation(tmp_path, monkeypatch):
    root = tmp_path / "ILSVRC2012"
    stripes = np.zeros((20, 40, 3), dtype=np.uint8)  # 40 wide: red | green | red
    stripes[:, :, 0] = 255
    stripes[:, 8:32] = (0, 200, 0)
    save_image(root / "train" / "n01" / "a.png", stripes)
    save_image(root / "val" / "n01" / "b.png", np.full((64, 48, 3), 90, dtype=np.uint8))
    monkeypatch.setenv("FWA_IMAGENET", str(tmp_path))
    monkeypatch.setenv("FWA_IMAGENET_SIZE", "16")
    splits = load_dataset("imagenet")
    mean, std = torch.tensor(IMAGENET_MEAN) * 255, torch.tensor(IMAGENET_STD) * 255
    # shorter side 20 -> round(16 / 0.875) = 18, so 40x20 -> 36x18, centre 16x16: only green
    green = (torch.tensor([0.0, 200.0, 0.0]) - mean) / std
    assert torch.allclose(splits.train[0][0], green[:, None, None].expand(3, 16, 16), atol=0.05)
    grey = (torch.full((3,), 90.0) - mean) / std
    assert torch.allclose(splits.test[0][0], grey[:, None, None].expand(3, 16, 16), atol=1e-4)
    flat = load_dataset("imagenet", flatten=True, image_size=8)
    assert flat.in_shape == (192,) and flat.train[0][torch.tensor([0])].shape == (1, 192)
    monkeypatch.setenv("FWA_IMAGENET_SIZE", "big")
    with pytest.raises(ValueError, match="FWA_IMAGENET_SIZE"):
        load_dataset("imagenet")


def test_imagenet_bad_trees_name_the_problem(tmp_path):
    made = make_imagenet(tmp_path / "a", per_class=1, val_per_class=1)
    (made["root"] / "train" / "n02" / "n02_train_0.JPEG").write_bytes(b"not a jpeg")
    splits = load_dataset("imagenet", data_dir=made["root"], image_size=8)  # lazy: no decoding yet
    with pytest.raises(DatasetError, match=r"n02_train_0.JPEG: unreadable image") as info:
        splits.train[0][0:3]
    assert "\n" not in str(info.value)

    made = make_imagenet(tmp_path / "b", per_class=1, val_per_class=1)
    val = made["root"] / "val"
    for image in list(val.rglob("*.JPEG")):
        image.rename(val / image.name)
    for folder in IMAGENET_CLASSES:
        (val / folder).rmdir()
    with pytest.raises(DatasetError, match=r"val: holds no class sub-folders \(3 loose images\).*valprep"):
        load_dataset("imagenet", data_dir=made["root"])

    made = make_imagenet(tmp_path / "c", per_class=1, val_per_class=1)
    (made["root"] / "val" / "n09").mkdir()
    with pytest.raises(DatasetError, match=r"n09: class folder not among the 3 train/ classes"):
        load_dataset("imagenet", data_dir=made["root"])
    (made["root"] / "val" / "n09").rmdir()
    (made["root"] / "train" / "n01" / "n01_train_0.JPEG").unlink()
    with pytest.raises(DatasetError, match=r"train/n01: holds no image files"):
        load_dataset("imagenet", data_dir=made["root"])


def test_tinyimagenet_folder_is_not_imagenet(tmp_path):
    made = make_tinyimagenet(tmp_path, per_class=1, n_val=1)
    assert locate("imagenet", made["root"]) is None and locate("imagenet", tmp_path) is None
    assert locate("tinyimagenet", tmp_path) == made["root"]


def test_training_loop_runs_on_lazy_imagenet(tmp_path, monkeypatch):
    from trainer.config import TrainConfig
    from trainer.loop import train

    make_imagenet(tmp_path, per_class=2, val_per_class=1)
    monkeypatch.setenv("FWA_IMAGENET_SIZE", "8")
    cfg = TrainConfig(model="cnn-small", dataset="imagenet", epochs=1, batch_size=4, update_period=1)
    assert train(cfg, data_dir=str(tmp_path), progress=False, record=False) is None


# ---------------------------------------------------------------- Table 4 split sizes


@pytest.mark.parametrize(
    ("name", "n_train", "sizes"),
    [
        ("cifar10", 50_000, (45_000, 5_000)),  # + 10,000 test: 75%-8%-17% of 60,000
        ("cifar100", 50_000, (45_000, 5_000)),  # same
        ("fashionmnist", 60_000, (54_000, 6_000)),  # + 10,000 test: 77%-9%-14% of 70,000
        ("tinyimagenet", 100_000, (90_000, 10_000)),  # + official 10,000 val as test
    ],
)
def test_table4_holdout_sizes_at_full_scale(name, n_train, sizes):
    train, val = holdout((np.zeros((n_train, 1), dtype=np.uint8), np.zeros(n_train, dtype=np.int64)), seed=0)
    assert (len(train[1]), len(val[1])) == sizes


def test_table4_higgs_sizes_at_full_scale():
    y = (np.random.default_rng(0).random(940_160) < 0.53).astype(np.int64)
    train, val, test = higgs_split(y, seed=0)
    assert (len(train), len(val), len(test)) == (658_112, 141_024, 141_024)  # 70%-15%-15%
    assert len(np.intersect1d(train, val)) == len(np.intersect1d(val, test)) == 0
    assert abs(y[val].mean() - y.mean()) < 1e-5  # stratified


# ---------------------------------------------------------------- missing data, status


@pytest.mark.parametrize("name", FILE_BACKED)
def test_missing_dataset_one_line_message(name, tmp_path):
    env_var = DATASETS[name].env_var
    with pytest.raises(DatasetNotFound) as info:
        load_dataset(name)
    message = str(info.value)
    assert "\n" not in message
    assert f"${env_var} (unset)" in message and "--data-dir (not given)" in message
    assert f"set {env_var}=/path or pass --data-dir" in message
    with pytest.raises(DatasetNotFound, match=str(tmp_path)):
        load_dataset(name, data_dir=tmp_path)


def test_missing_message_shows_env_value(tmp_path, monkeypatch):
    monkeypatch.setenv("FWA_CIFAR10", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFound, match=r"\$FWA_CIFAR10 \(=.*nowhere\)"):
        load_dataset("cifar10")


def test_data_dir_wins_over_env_var(tmp_path, monkeypatch):
    first, second = make_cifar10(tmp_path / "a"), make_cifar10(tmp_path / "b")
    monkeypatch.setenv("FWA_CIFAR10", str(tmp_path / "a"))
    assert locate("cifar10") == first["root"]
    assert locate("cifar10", tmp_path / "b") == second["root"]
    assert locate("cifar10", tmp_path / "empty") == first["root"]  # falls back to the env var


def test_dataset_status_rows(tmp_path, monkeypatch):
    made = make_cifar10(tmp_path)
    monkeypatch.setenv("FWA_CIFAR10", str(tmp_path))
    rows = {row["name"]: row for row in dataset_status()}
    assert set(rows) == set(DATASETS)
    assert rows["digits"]["embedded"] and rows["digits"]["found"] is None
    assert rows["cifar10"]["found"] == made["root"] and rows["cifar10"]["env_var"] == "FWA_CIFAR10"
    assert rows["cifar100"]["found"] is None and "cifar-100-python" in rows["cifar100"]["expected"]
    assert all({"name", "embedded", "found", "env_var", "expected"} <= set(row) for row in rows.values())


def test_unknown_dataset_lists_names():
    with pytest.raises(ValueError) as info:
        load_dataset("mnist")
    assert "'mnist'" in str(info.value) and all(name in str(info.value) for name in DATASETS)
    with pytest.raises(ValueError, match="'imagenet21k'"):
        locate("imagenet21k")


def test_specs_are_consistent():
    for name, spec in DATASETS.items():
        assert spec.name == name and spec.task in ("multiclass", "binary")
        assert spec.embedded == (spec.env_var is None)
        assert "\n" not in spec.expected and "\n" not in spec.description
