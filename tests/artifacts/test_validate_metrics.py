"""``Run.validate`` checks metrics.parquet on the Arrow table, without pandas, when its columns have the writer's
types; every other table is refused, or accepted, exactly as ``Run.metrics`` refuses or accepts it, with the same
message."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fwanalysis.artifacts import ArtifactError, RunWriter, load_run


@pytest.fixture
def run_dir(tmp_path):
    shapes = {"fc.weight": (4, 6)}
    cfg = {"model": "mlp", "dataset": "synthetic", "method": "dst", "criterion": "magnitude", "growth": "random"}
    with RunWriter(tmp_path, cfg | {"density": 0.5, "seed": 0}, shapes, total_steps=10) as w:
        w.write_masks(0, {"fc.weight": np.arange(24).reshape(4, 6) % 2 == 0})
        w.log(10, 1.0, "test", "acc", 0.5)
        w.write_masks(10, {"fc.weight": np.arange(24).reshape(4, 6) % 3 == 0})
    return w.path


def outcome(fn):
    try:
        fn()
    except ArtifactError as e:
        return str(e)
    return "ok"


STEP, EPOCH, VALUE = pa.array([10, 20], pa.int64()), pa.array([1.0, 2.0]), pa.array([0.5, 0.25])
SPLIT, NAME = pa.array(["test", "train"]), pa.array(["acc", "loss"])
TABLES = {
    "the writer's types": {},
    "nulls in epoch and value": {"epoch": pa.array([None, 2.0]), "value": pa.array([0.5, None])},
    "a null split": {"split": pa.array(["test", None])},
    "a null name": {"name": pa.array([None, "loss"])},
    "a null step": {"step": pa.array([None, 20], pa.int64())},
    "int32 steps": {"step": pa.array([10, 20], pa.int32())},
    "float steps": {"step": pa.array([10.0, 20.5])},
    "string steps": {"step": pa.array(["10", "x"])},
    "string epochs": {"epoch": pa.array(["one", "two"])},
    "integer values": {"value": pa.array([1, 2], pa.int64())},
    "large strings": {"split": pa.array(["test", "train"], pa.large_string())},
    "dictionary names": {"name": pa.array(["acc", "loss"]).dictionary_encode()},
    "binary names": {"name": pa.array([b"acc", b"\xff"])},
    "a list column": {"value": pa.array([[1.0], [2.0]])},
    "a column missing": {"value": None},
    "an extra column": {"note": pa.array(["a", "b"])},
}


@pytest.mark.parametrize("name", list(TABLES))
def test_metrics_are_checked_as_the_tidy_table_checks_them(run_dir, name):
    cols = {"step": STEP, "epoch": EPOCH, "split": SPLIT, "name": NAME, "value": VALUE} | TABLES[name]
    pq.write_table(pa.table({k: v for k, v in cols.items() if v is not None}), run_dir / "metrics.parquet")
    run = load_run(run_dir)
    want = outcome(run.metrics)
    assert outcome(run._check_metrics) == want
    assert [str(e) for e in run.validate()] == ([] if want == "ok" else [want])


def test_a_sound_run_is_validated_without_pandas(run_dir):
    code = (
        "import sys; from fwanalysis.artifacts import load_run; "
        f"assert load_run({str(run_dir)!r}).validate() == []; print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert out.stdout.strip() == "False"
