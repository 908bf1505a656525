"""MNIST-1D, generated offline by the mnist1d package: the split, what the inputs are, and the cache."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

pytest.importorskip("mnist1d")

from trainer.data import DATASETS, load_dataset  # noqa: E402
from trainer.data import mnist1d as m1  # noqa: E402


@pytest.fixture(scope="module")
def generated():
    """One generation for the whole module (several seconds), with the global random draws after it."""
    np.random.seed(3)
    random.seed(3)
    arrays = m1.generate_mnist1d()
    m1.store(arrays)  # into this test session's cache: the loads below read it
    arrays["draws after"] = (np.random.random(), random.random())
    return arrays


@pytest.fixture
def fake_generator(monkeypatch, generated):
    """The cache tests count generations and skip their cost."""
    calls = []

    def generate():
        calls.append(1)
        return {k: generated[k].copy() for k in ("x", "y", "x_test", "y_test")}

    monkeypatch.setattr(m1, "generate_mnist1d", generate)
    return calls


def test_the_benchmark_as_published(generated):
    # the package's defaults: 5,000 signals of 40 samples, 500 per class, 4,000 train / 1,000 test
    assert generated["x"].shape == (4000, 40) and generated["x_test"].shape == (1000, 40)
    counts = np.bincount(np.concatenate([generated["y"], generated["y_test"]]), minlength=10)
    assert counts.tolist() == [500] * 10
    # the generator centres and scales the whole set: mean 0, standard deviation 1 over both parts
    both = np.concatenate([generated["x"], generated["x_test"]]).astype(np.float64)
    assert abs(both.mean()) < 1e-5 and abs(both.std() - 1) < 1e-5


def test_generation_leaves_global_random_state_alone(generated):
    np.random.seed(3)
    random.seed(3)
    assert generated["draws after"] == (np.random.random(), random.random())


def test_split_and_shapes():
    d0, d1 = load_dataset("mnist1d", seed=0), load_dataset("mnist1d", seed=1)
    assert d0.in_shape == (1, 40) == DATASETS["mnist1d"].in_shape
    assert [len(d0.train[1]), len(d0.val[1]), len(d0.test[1])] == [3600, 400, 1000]
    assert torch.equal(d0.test[1], d1.test[1])  # the test part is the benchmark's, whatever the seed
    assert not torch.equal(d0.val[1], d1.val[1])  # the validation hold-out is drawn per seed
    flat = load_dataset("mnist1d", seed=0, flatten=True)
    assert flat.in_shape == (40,)


def test_no_input_feature_is_constant_over_the_training_split():
    x = load_dataset("mnist1d", seed=0, flatten=True).train[0].numpy()
    assert (x.std(axis=0) > 0.1).all()  # every one of the 40 inputs varies (digits: 3 of 64 pixels never do)


def test_cache_is_written_once_and_equals_the_generator(tmp_path, monkeypatch, generated, fake_generator):
    monkeypatch.setenv("FWA_DATA_CACHE", str(tmp_path))
    first = m1.mnist1d_arrays()
    path = m1.cache_path()
    assert path.is_file() and path.parent == tmp_path
    stamp = path.stat().st_mtime_ns
    again = m1.mnist1d_arrays()
    assert path.stat().st_mtime_ns == stamp and len(fake_generator) == 1  # the second load read the cache
    for key in ("x", "y", "x_test", "y_test"):
        assert np.array_equal(first[key], generated[key]) and np.array_equal(again[key], generated[key])


@pytest.mark.parametrize("content", [b"not an npz", b""])
def test_a_bad_cache_file_is_left_alone(tmp_path, monkeypatch, capsys, generated, fake_generator, content):
    monkeypatch.setenv("FWA_DATA_CACHE", str(tmp_path))
    path = m1.cache_path()
    path.write_bytes(content)
    arrays = m1.mnist1d_arrays()
    assert np.array_equal(arrays["x"], generated["x"])
    assert path.read_bytes() == content  # not fwa's file as fwa would write it: never replaced
    assert "mnist1d" in capsys.readouterr().err


def test_a_tampered_cache_is_not_used(tmp_path, monkeypatch, generated, fake_generator):
    monkeypatch.setenv("FWA_DATA_CACHE", str(tmp_path))
    m1.mnist1d_arrays()
    path = m1.cache_path()
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["x"] = arrays["x"] + 1  # same shapes and dtypes, other values: the checksum tells
    np.savez(path, **arrays)
    assert np.array_equal(m1.mnist1d_arrays()["x"], generated["x"]) and len(fake_generator) == 2
