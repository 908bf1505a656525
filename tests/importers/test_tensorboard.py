"""fwa import tensorboard on event files written by torch.utils.tensorboard.SummaryWriter: tidy rows with the
exact metrics.parquet schema, into a new run or added to an existing one."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clilib import fwa

from fwanalysis.artifacts import RunWriter, load_run

SERIES = {  # tag -> {step: value}
    "train/loss": {10: 2.0, 20: 1.5, 30: 1.25},
    "val/acc": {10: 0.5, 20: 0.625, 30: 0.7},
    "Accuracy/test": {30: 0.69},
    "my/metric": {20: 7.0},
    "weird_tag": {10: 1.0},
}


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """Events written by PyTorch's SummaryWriter (the tests that read events need tensorboard: pip install
    '.[tensorboard]')."""
    pytest.importorskip("tensorboard")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    d = tmp_path_factory.mktemp("tb") / "run"
    w = torch_tb.SummaryWriter(str(d))
    for tag, points in SERIES.items():
        for step, v in points.items():
            w.add_scalar(tag, v, step, new_style=(tag == "val/acc"))  # new_style: a TF2 scalar tensor
    for step in (10, 20, 30):
        w.add_scalar("epoch", step / 10, step)
    w.close()
    return d


def expected(tag, split, name):
    return [(s, s / 10, split, name, float(np.float32(v))) for s, v in SERIES[tag].items()]


def test_new_run_exact_schema(logdir, tmp_path):
    r = fwa(
        "import",
        "tensorboard",
        logdir,
        "--out",
        tmp_path / "s",
        "--set",
        "model=tb-net",
        "seed=0",
        "--map",
        "my/metric=:custom",
    )
    assert r.exit_code == 0, r.output
    assert "weird_tag" in r.stderr and "epoch" not in r.stderr
    run_dir = next((tmp_path / "s").rglob("run.json")).parent
    table = pq.read_table(run_dir / "metrics.parquet")
    assert table.schema.names == ["step", "epoch", "split", "name", "value"]
    assert [f.type for f in table.schema] == [pa.int64(), pa.float64(), pa.string(), pa.string(), pa.float64()]
    rows = set(zip(*(table.column(c).to_pylist() for c in table.schema.names)))
    want = set(
        expected("train/loss", "train", "loss")
        + expected("val/acc", "val", "acc")
        + expected("Accuracy/test", "test", "acc")
        + expected("my/metric", "", "custom")
    )
    assert rows == want
    run = load_run(run_dir)
    assert run.config["model"] == "tb-net" and run.summary["test_acc"] == pytest.approx(0.69)
    assert fwa("validate", tmp_path / "s").exit_code == 0


def test_added_to_existing_run(logdir, tmp_path, dst_config):
    with RunWriter(tmp_path / "s", dst_config, {"w": (2, 4)}) as w:
        w.write_masks(0, {"w": np.array([[1, 0, 1, 0], [1, 1, 0, 0]], bool)})
        w.log(10, 1.0, "train", "loss", 9.0)
        w.log(30, 3.0, "train", "acc", 0.3)
    r = fwa("import", "tensorboard", logdir, "--run", w.path, "--steps-per-epoch", 20)
    assert r.exit_code == 0, r.output
    m = load_run(w.path).metrics()
    loss = m[(m.split == "train") & (m.name == "loss")]
    assert list(zip(loss.step, loss.epoch, loss.value)) == [
        (s, s / 20, float(np.float32(v))) for s, v in SERIES["train/loss"].items()
    ]
    assert list(m[(m.split == "train") & (m.name == "acc")].value) == [0.3]  # other metrics kept
    run = load_run(w.path)
    assert run.summary["train_loss"] == pytest.approx(1.25) and run.summary["val_acc"] == pytest.approx(0.7)
    assert fwa("validate", tmp_path / "s").exit_code == 0


def test_bad_input_one_line(logdir, tmp_path):
    r = fwa("import", "tensorboard", logdir)
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "--out" in r.stderr
    r = fwa("import", "tensorboard", tmp_path, "--out", tmp_path / "s")
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "tfevents" in r.stderr


def test_without_tensorboard_one_line(tmp_path, monkeypatch):
    """Runs without tensorboard installed too: the command says in one line how to get it."""
    for mod in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:  # as if not installed
        monkeypatch.setitem(sys.modules, mod, None)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    r = fwa("import", "tensorboard", tmp_path, "--out", tmp_path / "s")
    assert r.exit_code == 1 and "pip install 'fwa[tensorboard]'" in r.stderr and len(r.stderr.strip().splitlines()) == 1


KERAS = {  # folder -> tag -> {step: value}: what Keras' TensorBoard callback writes
    "train": {"epoch_loss": {0: 1.5, 1: 1.0}, "epoch_accuracy": {0: 0.5, 1: 0.75}},
    "validation": {"epoch_loss": {0: 1.75, 1: 1.25}, "epoch_accuracy": {0: 0.25, 1: 0.5}},
}


@pytest.fixture(scope="module")
def keras_logdir(tmp_path_factory):
    pytest.importorskip("tensorboard")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    d = tmp_path_factory.mktemp("keras") / "logs"
    for folder, tags in KERAS.items():
        w = torch_tb.SummaryWriter(str(d / folder))
        for tag, points in tags.items():
            for step, v in points.items():
                w.add_scalar(tag, v, step)
        w.close()
    return d


def _rows(study):
    run_dir = next(Path(study).rglob("run.json")).parent
    m = load_run(run_dir).metrics()
    return sorted(zip(m.step, m.split, m.name, m.value))


KERAS_ROWS = sorted(
    (step, {"train": "train", "validation": "val"}[folder], {"epoch_loss": "loss", "epoch_accuracy": "acc"}[tag], v)
    for folder, tags in KERAS.items()
    for tag, points in tags.items()
    for step, v in points.items()
)


def test_folders_below_the_logdir_are_read_with_their_names(keras_logdir, tmp_path):
    """Keras' layout: logs/train and logs/validation, each with epoch_loss and epoch_accuracy."""
    r = fwa("import", "tensorboard", keras_logdir, "--out", tmp_path / "s", "--set", "model=k", "seed=0")
    assert r.exit_code == 0, r.output
    assert _rows(tmp_path / "s") == KERAS_ROWS


def test_a_tag_of_several_logdirs_is_named_after_its_folder(keras_logdir, tmp_path):
    """The same folders given as two LOGDIRs: epoch_loss of both is kept apart, not overwritten."""
    r = fwa(
        "import",
        "tensorboard",
        keras_logdir / "train",
        keras_logdir / "validation",
        "--out",
        tmp_path / "s",
        "--set",
        "model=k",
        "seed=0",
    )
    assert r.exit_code == 0, r.output
    assert _rows(tmp_path / "s") == KERAS_ROWS


def test_add_scalars_folders(tmp_path):
    """SummaryWriter.add_scalars("Loss", {"train": ..., "val": ...}) writes folders Loss_train and Loss_val
    holding the tag Loss."""
    pytest.importorskip("tensorboard")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    w = torch_tb.SummaryWriter(str(tmp_path / "run"))
    for step in (1, 2):
        w.add_scalars("Loss", {"train": 1.0 / step, "val": 2.0 / step}, step)
    w.close()
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.is_dir()) == ["Loss_train", "Loss_val"]
    r = fwa("import", "tensorboard", tmp_path / "run", "--out", tmp_path / "s", "--set", "model=k", "seed=0")
    assert r.exit_code == 0, r.output
    assert _rows(tmp_path / "s") == [
        (1, "train", "loss", 1.0),
        (1, "val", "loss", 2.0),
        (2, "train", "loss", 0.5),
        (2, "val", "loss", 1.0),
    ]


def test_help_names_the_extra_and_the_folder_rule():
    r = fwa("import", "tensorboard", "--help")
    assert r.exit_code == 0
    text = " ".join(r.stdout.split())
    assert "pip install 'fwa[tensorboard]'" in text and "FOLDER/TAG" in text


# -- fwa's own reader of the TFRecord framing ------------------------------------------------------------------
def _frames(data: bytes) -> list[tuple[int, int]]:
    """``(byte offset, data length)`` of each record of an event file."""
    out, o = [], 0
    while o < len(data):
        (n,) = struct.unpack_from("<Q", data, o)
        out.append((o, n))
        o += n + 16
    return out


def _scalars(folder: Path, n: int) -> Path:
    """An event file of train/loss at steps 0..n-1 (record 1: file_version, record k + 2: step k)."""
    pytest.importorskip("tensorboard")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    w = torch_tb.SummaryWriter(str(folder))
    for step in range(n):
        w.add_scalar("train/loss", float(step), step)
    w.close()
    return next(folder.glob("events.out.tfevents.*"))


def _steps(study: Path) -> list[int]:
    return sorted(load_run(next(Path(study).rglob("run.json")).parent).metrics().step.tolist())


def test_masked_crc32c_is_tensorboards():
    pytest.importorskip("tensorboard")
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as theirs

    from fwanalysis.importers.tensorboard import masked_crc32c

    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 8, 9, 100, 4097):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert masked_crc32c(data) == theirs(data), n


def test_an_undecodable_event_is_skipped_alone(tmp_path):
    """A record whose checksums hold but whose data is no Event: an error; --skip-bad loses that record only."""
    from fwanalysis.importers.tensorboard import masked_crc32c

    f = _scalars(tmp_path / "run", 6)
    data = f.read_bytes()
    offset, _ = _frames(data)[4]  # record 5 (step 3) replaced by a framed record of garbage
    garbage = b"\xff\xff\xff\xff"
    record = struct.pack("<Q", len(garbage)) + struct.pack("<I", masked_crc32c(struct.pack("<Q", len(garbage))))
    record += garbage + struct.pack("<I", masked_crc32c(garbage))
    end = offset + _frames(data)[4][1] + 16
    f.write_bytes(data[:offset] + record + data[end:])
    r = fwa("import", "tensorboard", f.parent, "--out", tmp_path / "s", "--set", "model=m")
    assert r.exit_code == 1 and "record 5" in r.stderr and "not a TensorBoard Event" in r.stderr
    assert not (tmp_path / "s").exists()
    r = fwa("import", "tensorboard", f.parent, "--out", tmp_path / "s", "--set", "model=m", "--skip-bad")
    assert r.exit_code == 0, r.output
    assert _steps(tmp_path / "s") == [0, 1, 2, 4, 5]


def test_a_bad_length_checksum_loses_the_rest_of_the_file(tmp_path):
    f = _scalars(tmp_path / "run", 6)
    data = bytearray(f.read_bytes())
    offset, _ = _frames(bytes(data))[4]
    data[offset] ^= 0x01  # the length of record 5: where the next record starts is unknown now
    f.write_bytes(bytes(data))
    r = fwa("import", "tensorboard", f.parent, "--out", tmp_path / "s", "--set", "model=m")
    assert r.exit_code == 1 and f"record 5 (byte offset {offset})" in r.stderr and "length" in r.stderr
    r = fwa("import", "tensorboard", f.parent, "--out", tmp_path / "s", "--set", "model=m", "--skip-bad")
    assert r.exit_code == 0, r.output
    assert _steps(tmp_path / "s") == [0, 1, 2]
    skipped = json.loads(next((tmp_path / "s").rglob("run.json")).read_text())["imported_from"]["skipped"]
    assert skipped == {"bad_records": 1, "bytes": len(data) - offset, "files": 0}


def test_a_negative_step_names_the_record(tmp_path):
    pytest.importorskip("tensorboard")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    w = torch_tb.SummaryWriter(str(tmp_path / "run"))
    w.add_scalar("train/loss", 1.0, 0)
    w.add_scalar("train/loss", 2.0, -3)
    w.close()
    r = fwa("import", "tensorboard", tmp_path / "run", "--out", tmp_path / "s", "--set", "model=m")
    assert r.exit_code == 1 and "record 3" in r.stderr and "step -3" in r.stderr


def test_an_event_file_above_the_bound_is_refused(tmp_path, monkeypatch):
    from fwanalysis.importers import tensorboard as tb

    f = _scalars(tmp_path / "run", 3)
    monkeypatch.setattr(tb, "MAX_EVENT_FILE_BYTES", 50)
    r = fwa("import", "tensorboard", f, "--out", tmp_path / "s", "--set", "model=m")
    assert r.exit_code == 1 and f.name in r.stderr and "more than the 50 bytes" in r.stderr


def test_provenance_of_a_new_run_and_of_an_added_import(logdir, tmp_path):
    """imported_from of a new run: kind and LOGDIRs (no skipped without --skip-bad); --run appends to the
    run's imported_metrics, with --skip-bad's counts."""
    r = fwa("import", "tensorboard", logdir, "--out", tmp_path / "s", "--set", "model=m")
    assert r.exit_code == 0, r.output
    run_json = next((tmp_path / "s").rglob("run.json"))
    assert json.loads(run_json.read_text())["imported_from"] == {"kind": "tensorboard", "source": [str(logdir)]}
    for _ in range(2):
        r = fwa("import", "tensorboard", logdir, "--run", run_json.parent, "--skip-bad")
        assert r.exit_code == 0, r.output
    history = json.loads(run_json.read_text())["imported_metrics"]
    assert len(history) == 2 and {k: v for k, v in history[1].items() if k != "at"} == {
        "kind": "tensorboard",
        "source": [str(logdir)],
        "skipped": {"bad_records": 0, "bytes": 0, "files": 0},
        "rows": 7,
    }
    assert fwa("validate", tmp_path / "s").exit_code == 0


# -- tags that would become one metric; accuracy in percent (issue 22) ------------------------------------------
def _writer(folder: Path):
    pytest.importorskip("tensorboard")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    return torch_tb.SummaryWriter(str(folder))


def test_two_tags_of_one_metric_are_refused_naming_both(tmp_path):
    """train/loss and add_scalars("Loss", {"train": ...}) (folder Loss_train, tag Loss) both name train/loss: the
    second used to overwrite the first at a shared step (5.0 over 1.0 at step 10)."""
    w = _writer(tmp_path / "run")
    w.add_scalar("train/loss", 1.0, 10)
    w.add_scalars("Loss", {"train": 5.0}, 10)
    w.close()
    r = fwa("import", "tensorboard", tmp_path / "run", "--out", tmp_path / "s", "--set", "model=m")
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    assert "'train/loss'" in r.stderr and "'Loss_train/Loss'" in r.stderr and "train/loss" in r.stderr
    assert not (tmp_path / "s").exists()
    r = fwa(  # --map gives one of them another name: both imported
        "import", "tensorboard", tmp_path / "run", "--out", tmp_path / "s", "--set", "model=m",
        "--map", "Loss_train/Loss=train:loss_b",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert _rows(tmp_path / "s") == [(10, "train", "loss", 1.0), (10, "train", "loss_b", 5.0)]


def test_a_tag_of_the_logdir_and_one_of_a_folder_below_with_one_name_are_refused(tmp_path):
    """train/loss written at the LOGDIR and loss written in LOGDIR/train are both named train/loss."""
    w = _writer(tmp_path / "run")
    w.add_scalar("train/loss", 1.0, 10)
    w.close()
    w = _writer(tmp_path / "run" / "train")
    w.add_scalar("loss", 5.0, 10)
    w.close()
    r = fwa("import", "tensorboard", tmp_path / "run", "--out", tmp_path / "s", "--set", "model=m")
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "the tag 'train/loss' of" in r.stderr and "the tag 'loss' of" in r.stderr
    assert not (tmp_path / "s").exists()


@pytest.fixture(scope="module")
def percent_logdir(tmp_path_factory):
    """Accuracy logged in percent: test_acc 93.5 at the end, val/acc 50 and 90."""
    d = tmp_path_factory.mktemp("pct") / "run"
    w = _writer(d)
    w.add_scalar("val/acc", 50.0, 50)
    w.add_scalar("val/acc", 90.0, 100)
    w.add_scalar("test_acc", 93.5, 100)
    w.add_scalar("train/loss", 2.5, 100)
    w.close()
    return d


def test_accuracy_in_percent_is_read_as_percent(percent_logdir, tmp_path):
    r = fwa("import", "tensorboard", percent_logdir, "--out", tmp_path / "s", "--set", "model=m")
    assert r.exit_code == 0, r.output
    notes = [line for line in r.stderr.splitlines() if "read as percent" in line]
    assert len(notes) == 2 and any("'test_acc'" in n and "93.5" in n for n in notes)
    assert _rows(tmp_path / "s") == [
        (50, "val", "acc", 0.5),
        (100, "test", "acc", 93.5 / 100),
        (100, "train", "loss", 2.5),  # a loss above 1 is no accuracy: as logged
        (100, "val", "acc", 0.9),
    ]
    run = load_run(next((tmp_path / "s").rglob("run.json")).parent)
    assert run.summary["test_acc"] == pytest.approx(0.935) and run.summary["val_acc"] == pytest.approx(0.9)


def test_accuracy_scale_stated(percent_logdir, tmp_path):
    base = ("import", "tensorboard", percent_logdir, "--set", "model=m")
    r = fwa(*base, "--out", tmp_path / "f", "--accuracy-scale", "fraction")
    assert r.exit_code == 0, r.output
    assert "percent" not in r.stderr and (100, "test", "acc", 93.5) in _rows(tmp_path / "f")
    r = fwa(*base, "--out", tmp_path / "x", "--accuracy-scale", "tenths")
    assert r.exit_code == 1 and "--accuracy-scale 'tenths'" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_an_accuracy_neither_fraction_nor_percent_is_refused(tmp_path):
    w = _writer(tmp_path / "run")
    w.add_scalar("val/acc", 150.0, 1)
    w.close()
    r = fwa("import", "tensorboard", tmp_path / "run", "--out", tmp_path / "s", "--set", "model=m")
    assert r.exit_code == 1 and "'val/acc'" in r.stderr and "--accuracy-scale fraction" in r.stderr
    assert not (tmp_path / "s").exists()
    r = fwa(
        "import", "tensorboard", tmp_path / "run", "--out", tmp_path / "s", "--set", "model=m",
        "--accuracy-scale", "percent",
    )  # fmt: skip
    assert r.exit_code == 0 and _rows(tmp_path / "s") == [(1, "val", "acc", 1.5)]
