"""Atomic writes (file modes, fsync) and the failure path of RunWriter.close (a full disk)."""

from __future__ import annotations

import errno
import json
import os
import stat

import numpy as np
import pytest

from fwanalysis.artifacts import RunWriter, load_run
from fwanalysis.artifacts import writer as writer_mod
from fwanalysis.artifacts.io import atomic_path, write_json

CONFIG = dict(model="mlp-small", dataset="digits", method="dst", criterion="snip", growth="random", density=0.5, seed=0)
LAYERS = {"fc1.weight": (4, 6), "fc2.weight": (3, 4)}
MASKS = {"fc1.weight": np.ones((4, 6), bool), "fc2.weight": np.ones((3, 4), bool)}
PRUNED = {k: np.zeros_like(v) for k, v in MASKS.items()}


def _full_run(study, run_id="r1"):
    with RunWriter(study, CONFIG, LAYERS, run_id=run_id) as w:
        w.write_masks(0, MASKS)
        w.write_update(4, PRUNED, PRUNED, shadow={"magnitude": PRUNED})
        w.write_state(
            4,
            {k: np.zeros(s, np.float32) for k, s in LAYERS.items()},
            {k: np.zeros(s, np.float32) for k, s in LAYERS.items()},
            MASKS,
        )
        w.log(4, 1.0, "test", "acc", 0.5)
        w.write_masks(8, MASKS)
        lock = study / ".locks" / f"{run_id}.lock"
        lock_mode = stat.S_IMODE(lock.stat().st_mode) if lock.exists() else None
    return w.path, lock_mode


# -- modes ---------------------------------------------------------------------------------------


def test_written_files_get_the_mode_the_umask_gives(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    for umask in (0o022, 0o027, 0o077):
        old = os.umask(umask)
        try:
            study = tmp_path / f"u{umask:o}"
            run, lock_mode = _full_run(study)
            with atomic_path(study / "figures" / "fig.png") as tmp:
                fig.savefig(tmp, format="png")
        finally:
            os.umask(old)
        files = sorted(p for p in study.rglob("*") if p.is_file())
        names = {p.relative_to(run).as_posix() for p in files if run in p.parents}
        assert {
            "run.json",
            "metrics.parquet",
            "masks/step-00000000.npz",
            "updates/step-00000004.npz",
            "state/step-00000004.npz",
        } <= names
        assert study / "figures" / "fig.png" in files
        want = 0o666 & ~umask
        assert {p.relative_to(study).as_posix(): oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {
            p.relative_to(study).as_posix(): oct(want) for p in files
        }
        assert lock_mode == want  # others can see who holds a run
        for d in [p for p in study.rglob("*") if p.is_dir()]:
            assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~umask, d
    plt.close(fig)


def test_atomic_write_syncs_the_file_before_the_rename_and_the_directory_after(tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    write_json(target, {"old": True})
    calls = []
    real_fsync = os.fsync

    def fsync(fd):
        st = os.fstat(fd)
        try:
            now = os.stat(target).st_ino
        except FileNotFoundError:
            now = None
        calls.append((st.st_ino, stat.S_ISDIR(st.st_mode), now))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_json(target, {"new": True})
    new_ino = os.stat(target).st_ino
    dir_ino = os.stat(tmp_path).st_ino
    file_syncs = [c for c in calls if c[0] == new_ino and not c[1]]
    dir_syncs = [c for c in calls if c[0] == dir_ino and c[1]]
    assert file_syncs and all(now != new_ino for _, _, now in file_syncs)  # synced while still the temporary file
    assert dir_syncs and all(now == new_ino for _, _, now in dir_syncs)  # the directory synced after the rename
    assert calls.index(file_syncs[0]) < calls.index(dir_syncs[-1])
    assert json.loads(target.read_text()) == {"new": True}


def test_a_temporary_name_taken_meanwhile_is_passed_over(tmp_path, monkeypatch):
    from fwanalysis.artifacts import io

    names = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(io.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".x.json.aaaa.tmp").write_text("someone else's")
    write_json(tmp_path / "x.json", {"a": 1})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1}
    assert (tmp_path / ".x.json.aaaa.tmp").read_text() == "someone else's"  # never opened or replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x.json.aaaa.tmp", "x.json"]


# -- metrics.parquet -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [
            (0, 0.0, "", "density", 0.25),
            (3, 0.5, "train", "loss", float("nan")),
            (2**40, 1.5, "test", "acc", -0.0),
            (7, 2.0, "val", "gewinn-ä€😀", -1e300),
        ],
    ],
)
def test_metrics_parquet_is_the_file_pa_array_writes(tmp_path, rows):
    """The writer builds its arrow columns from buffers (no pandas import); the file is byte for byte the one
    that the table of ``pa.array`` columns gives."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1") as w:
        w.write_masks(0, MASKS)
        for row in rows:
            w.log(*row)
    schema = pa.schema(
        [
            ("step", pa.int64()),
            ("epoch", pa.float64()),
            ("split", pa.string()),
            ("name", pa.string()),
            ("value", pa.float64()),
        ]
    )
    cols = list(zip(*rows)) if rows else [[]] * 5
    pq.write_table(
        pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, schema)], schema=schema),
        tmp_path / "want.parquet",
    )
    assert (w.path / "metrics.parquet").read_bytes() == (tmp_path / "want.parquet").read_bytes()
    assert pq.read_table(w.path / "metrics.parquet").num_rows == len(rows)


# -- RunWriter.close on a full disk --------------------------------------------------------------


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _status(path) -> str:
    return json.loads((path / "run.json").read_text())["status"]


def test_failed_training_on_a_full_disk_is_marked_failed_and_its_error_kept(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    first = RuntimeError("training blew up")
    with pytest.raises(RuntimeError) as e:
        with RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1") as w:
            w.write_masks(0, MASKS)
            w.log(1, 0.1, "train", "loss", 1.0)
            monkeypatch.setattr(pq, "write_table", _enospc)  # the metrics flush of close() fails
            raise first
    assert e.value is first
    assert _status(w.path) == "failed" and json.loads((w.path / "run.json").read_text())["finished"]
    assert not (tmp_path / ".locks" / "r1.lock").exists()
    assert any("No space left" in n for n in getattr(e.value, "__notes__", [""]))


def test_enospc_from_every_data_file_leaves_the_run_failed_never_complete(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    monkeypatch.setattr(writer_mod, "write_npz", _enospc)
    monkeypatch.setattr(pq, "write_table", _enospc)
    with pytest.raises(OSError) as e:
        with RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1") as w:
            w.write_masks(0, MASKS)
    assert e.value.errno == errno.ENOSPC and "No space" in str(e.value)
    assert e.value.__context__ is None  # not a second error raised while handling the first
    assert _status(w.path) == "failed"
    assert not (tmp_path / ".locks" / "r1.lock").exists()
    assert load_run(w.path).status == "failed"


def test_a_disk_too_full_even_for_run_json_leaves_it_running(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    w = RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1")
    w.write_masks(0, MASKS)
    monkeypatch.setattr(writer_mod, "write_npz", _enospc)
    monkeypatch.setattr(writer_mod, "write_json", _enospc)
    monkeypatch.setattr(pq, "write_table", _enospc)
    first = OSError(errno.ENOSPC, "No space left on device (the update)")
    with pytest.raises(OSError) as e:
        with w:
            try:
                w.write_update(4, PRUNED, PRUNED)
            except OSError:
                raise first from None
    assert e.value is first
    assert _status(w.path) == "running"  # as last written: readers skip it as they skip failed runs
    assert not (tmp_path / ".locks" / "r1.lock").exists()
    assert len(w.close_problems) == 2  # metrics and run.json both failed; neither hid the error


def test_close_complete_on_a_full_disk_marks_the_run_failed(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    w = RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1")
    w.write_masks(0, MASKS)
    monkeypatch.setattr(pq, "write_table", _enospc)
    with pytest.raises(OSError) as e:
        w.close("complete")
    assert e.value.errno == errno.ENOSPC
    assert _status(w.path) == "failed"
    assert not (tmp_path / ".locks" / "r1.lock").exists()
    w.close("failed")  # closed already: nothing more happens
    assert _status(w.path) == "failed"


def test_close_failed_does_not_raise_for_what_it_cannot_write(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    w = RunWriter(tmp_path, CONFIG, LAYERS, run_id="r1")
    monkeypatch.setattr(pq, "write_table", _enospc)
    w.close("failed")
    assert _status(w.path) == "failed"
    assert [p.errno for p in w.close_problems] == [errno.ENOSPC]
    assert not (tmp_path / ".locks" / "r1.lock").exists()
