"""Hostile and damaged input: each is refused with one error naming the run and the file, without
reading more than the run says it holds, without recursion errors and without hanging."""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from synthetic import LAYERS, write_study
from typer.testing import CliRunner

from fwanalysis.artifacts import ArtifactError, find_runs, load_run
from fwanalysis.cli import app

runner = CliRunner()


@pytest.fixture
def run_dir(tmp_path):
    write_study(tmp_path, seeds=(0,), crits=("magnitude",), baselines=False)
    (run,) = find_runs(tmp_path)
    return run.path


def _npy_header(dtype: str, shape: tuple) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _rewrite_member(npz: Path, key: str, payload_writer) -> None:
    """Replace member ``key`` of an npz by whatever ``payload_writer(file)`` writes (other members kept)."""
    with zipfile.ZipFile(npz) as z:
        others = {n: z.read(n) for n in z.namelist() if n != key + ".npy"}
    with zipfile.ZipFile(npz, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for n, data in others.items():
            z.writestr(n, data)
        with z.open(key + ".npy", "w", force_zip64=True) as f:
            payload_writer(f)


def test_member_claiming_a_terabyte_is_refused_by_its_header(run_dir):
    layer = next(iter(LAYERS))
    _rewrite_member(
        run_dir / "masks" / "step-00000000.npz",
        layer,
        lambda f: (f.write(_npy_header("|u1", (10**12,))), f.write(b"\0" * 100)),
    )
    run = load_run(run_dir)
    with pytest.raises(ArtifactError) as e:
        run.masks(0)
    assert e.value.file == "masks/step-00000000.npz"
    assert "expected uint8 of shape [6]" in e.value.problem and "1000000000000" in e.value.problem


def test_member_that_unpacks_to_more_than_it_should_is_not_read_in_full(run_dir):
    """A right header followed by 64 MiB of zeros (a few hundred KiB compressed): stopped after 1 byte too many."""
    layer = next(iter(LAYERS))
    n = (LAYERS[layer][0] * LAYERS[layer][1] + 7) // 8
    zeros = b"\0" * 2**20

    def bomb(f):
        f.write(_npy_header("|u1", (n,)))
        for _ in range(64):
            f.write(zeros)

    _rewrite_member(run_dir / "masks" / "step-00000000.npz", layer, bomb)
    assert (run_dir / "masks" / "step-00000000.npz").stat().st_size < 2**20
    run = load_run(run_dir)
    t0 = time.perf_counter()
    with pytest.raises(ArtifactError, match="more data than its header says"):
        run.masks(0)
    assert time.perf_counter() - t0 < 1.0  # the 64 MiB are never decompressed


def test_pickled_member_is_refused(run_dir):
    layer = next(iter(LAYERS))
    _rewrite_member(
        run_dir / "masks" / "step-00000000.npz",
        layer,
        lambda f: np.lib.format.write_array(f, np.array([{"a": 1}], dtype=object), allow_pickle=True),
    )
    with pytest.raises(ArtifactError, match="pickle"):
        load_run(run_dir).masks(0)


def test_truncated_member_is_named(run_dir):
    layer = next(iter(LAYERS))
    _rewrite_member(
        run_dir / "masks" / "step-00000000.npz", layer, lambda f: (f.write(_npy_header("|u1", (6,))), f.write(b"\0\0"))
    )
    with pytest.raises(ArtifactError, match="truncated"):
        load_run(run_dir).masks(0)


def _deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize("where", ["top", "config"])
def test_deeply_nested_run_json_is_one_error(run_dir, where):
    text = (run_dir / "run.json").read_text()
    if where == "top":
        bad = _deep(100_000)
    else:
        m = json.loads(text)
        m["config"]["sweep"] = "@@"
        bad = json.dumps(m).replace('"@@"', _deep(100_000))
    (run_dir / "run.json").write_text(bad)
    with pytest.raises(ArtifactError, match="nested too deeply|sweep"):
        load_run(run_dir)
    r = runner.invoke(app, ["validate", str(run_dir.parent), "--format", "json"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    r = runner.invoke(app, ["ls", str(run_dir.parent), "--skip-bad"])
    assert "skipped:" in r.stderr and "Traceback" not in r.output


def test_run_json_symlink_to_dev_zero_is_refused(run_dir):
    (run_dir / "run.json").unlink()
    os.symlink("/dev/zero", run_dir / "run.json")
    with pytest.raises(ArtifactError, match="not a regular file"):
        load_run(run_dir)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_run_json_fifo_does_not_hang(run_dir):
    (run_dir / "run.json").unlink()
    os.mkfifo(run_dir / "run.json")
    result = {}

    def attempt():
        try:
            load_run(run_dir)
        except ArtifactError as e:
            result["error"] = e

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(5)
    if t.is_alive():  # unblock the reader so the test process can end, then fail
        with open(run_dir / "run.json", "w"):
            pass
        pytest.fail("reading a FIFO named run.json hung")
    assert "not a regular file" in result["error"].problem


def test_oversized_run_json_is_refused(run_dir, monkeypatch):
    from fwanalysis.artifacts import reader

    monkeypatch.setattr(reader, "MAX_MANIFEST_BYTES", 100)
    with pytest.raises(ArtifactError, match="100 bytes"):
        load_run(run_dir)


def test_metrics_fifo_is_refused(run_dir):
    (run_dir / "metrics.parquet").unlink()
    os.mkfifo(run_dir / "metrics.parquet")
    with pytest.raises(ArtifactError, match="not a regular file"):
        load_run(run_dir).metrics()
