"""The reader/writer of the run format v1 (docs/format.md): round trips, and rejection of every kind of damage."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fwanalysis.artifacts import (
    ArtifactError,
    RunWriter,
    and_count,
    check_packed,
    find_runs,
    load_run,
    or_count,
    pack,
    popcount,
    run_id_for,
    unpack,
    validate_run,
)

CONFIG = {
    "model": "mlp-small",
    "dataset": "digits",
    "method": "dst",
    "criterion": "snip",
    "growth": "random",
    "density": 0.5,
    "seed": 0,
}
LAYERS = {"fc1.weight": (4, 6), "fc2.weight": (3, 5)}


# -- bitsets ------------------------------------------------------------------------------------
@given(arrays(np.bool_, st.integers(0, 300)))
def test_bitset_round_trip_and_counts(flat):
    p = pack(flat)
    assert p.dtype == np.uint8 and p.shape == ((flat.size + 7) // 8,)
    assert check_packed(p, flat.size) is None
    np.testing.assert_array_equal(unpack(p, flat.size), flat)
    assert popcount(p) == int(flat.sum())
    # independent reference: numpy's packbits, big bit order, C order
    np.testing.assert_array_equal(p, np.packbits(flat.astype(np.uint8)))


@given(arrays(np.bool_, st.integers(1, 200)), st.data())
def test_and_or_count(a, data):
    b = data.draw(arrays(np.bool_, a.size))
    assert and_count(pack(a), pack(b)) == int((a & b).sum())
    assert or_count(pack(a), pack(b)) == int((a | b).sum())


def test_pack_is_c_order_flat_index():
    m = np.zeros((2, 3), bool)
    m[1, 0] = True  # flat C index 3 -> bit 3 of byte 0 in big bit order: 0b00010000
    assert pack(m).tolist() == [0b00010000]


def test_check_packed_rejects_wrong_length_pad_and_dtype():
    assert "bytes" in check_packed(np.zeros(3, np.uint8), 9)
    assert "pad bits" in check_packed(np.array([0, 0b00000001], np.uint8), 9)
    assert check_packed(np.array([0, 0b10000000], np.uint8), 9) is None
    assert "dtype" in check_packed(np.zeros(2, np.int64), 9)


# -- writer + reader ----------------------------------------------------------------------------
def _masks(rng, p=0.5):
    return {n: rng.random(s) < p for n, s in LAYERS.items()}


def write_run(study, *, status="complete", seed=0, rng=None):
    rng = rng or np.random.default_rng(seed)
    cfg = dict(CONFIG, seed=seed)
    w = RunWriter(study, cfg, LAYERS, total_steps=20)
    m0 = _masks(rng)
    w.write_masks(0, m0)
    pruned = {n: m0[n] & (rng.random(m0[n].shape) < 0.3) for n in LAYERS}
    grown = {n: ~m0[n] & (rng.random(m0[n].shape) < 0.3) for n in LAYERS}
    w.write_update(10, pruned, grown, shadow={"snip": pruned, "magnitude": grown})
    m1 = {n: (m0[n] & ~pruned[n]) | grown[n] for n in LAYERS}
    w.write_state(
        10,
        {n: rng.standard_normal(s) for n, s in LAYERS.items()},
        {n: rng.standard_normal(s) for n, s in LAYERS.items()},
        m0,
    )
    w.write_masks(20, m1)
    for step in (10, 20):
        w.log(step, step / 10, "train", "loss", 1.0 / step)
    w.log(20, 2.0, "test", "acc", 0.75)
    w.log(10, 1.0, "", "itop", 0.6)
    if status != "running":
        w.close(status)
    return w, m0, pruned, grown, m1


def test_round_trip(tmp_path):
    w, m0, pruned, grown, m1 = write_run(tmp_path)
    run = load_run(w.path)
    assert run.status == "complete" and run.run_id == w.run_id
    assert run.mask_steps == [0, 20] and run.update_steps == [10] and run.state_steps == [10]
    assert run.shadow_criteria == ["magnitude", "snip"]  # kept in the canonical criteria order
    assert run.summary["test_acc"] == 0.75 and run.summary["itop"] == 0.6 and run.summary["train_loss"] == 0.05
    assert run.layers[0].density == pytest.approx(m0["fc1.weight"].mean())
    for n in LAYERS:
        np.testing.assert_array_equal(unpack(run.masks(0)[n], m0[n].size, m0[n].shape), m0[n])
        np.testing.assert_array_equal(unpack(run.masks(20)[n], m1[n].size, m1[n].shape), m1[n])
    upd = run.update(10)
    for n in LAYERS:
        np.testing.assert_array_equal(upd.pruned[n], pack(pruned[n]))
        np.testing.assert_array_equal(upd.shadow["snip"][n], pack(pruned[n]))
    assert run.update(10, shadow=["snip"]).shadow.keys() == {"snip"}
    st_ = run.state(10)
    assert st_.weight["fc1.weight"].dtype == np.float32 and st_.weight["fc1.weight"].shape == (4, 6)
    df = run.metrics()
    assert list(df.columns) == ["step", "epoch", "split", "name", "value"]
    assert str(df["step"].dtype) == "int64" and len(df) == 4
    assert run.validate() == []
    # the manifest is plain JSON with every documented key
    m = json.loads((w.path / "run.json").read_text())
    assert m["format"] == "fwa-run" and m["format_version"] == 1 and m["finished"]
    assert set(m["config"]) >= {"model", "update_period", "nesterov", "lr_milestones"}


def test_run_id_stable_and_seed_dependent():
    assert run_id_for(CONFIG) == run_id_for(dict(CONFIG))
    assert run_id_for(CONFIG) != run_id_for(dict(CONFIG, seed=1))


def test_writer_context_marks_failed(tmp_path):
    with pytest.raises(RuntimeError):
        with RunWriter(tmp_path, CONFIG, LAYERS) as w:
            w.write_masks(0, _masks(np.random.default_rng(0)))
            raise RuntimeError("boom")
    assert load_run(w.path).status == "failed"
    assert find_runs(tmp_path) == [] and len(find_runs(tmp_path, include_incomplete=True)) == 1
    assert json.loads((w.path / "run.json").read_text())["error"] == "RuntimeError: boom"  # why, in one line


class _Stopped(BaseException):
    """A stop that is not an error (as a sweep's SIGTERM handler raises)."""


@pytest.mark.parametrize(
    "exc, why",
    [
        (_Stopped("interrupted by SIGTERM"), "interrupted by SIGTERM"),
        (KeyboardInterrupt(), "KeyboardInterrupt"),
        (ValueError("bad\nsecond line"), "ValueError: bad"),
    ],
)
def test_a_stopped_run_says_why(tmp_path, exc, why):
    with pytest.raises(type(exc)):
        with RunWriter(tmp_path, CONFIG, LAYERS) as w:
            raise exc
    m = json.loads((w.path / "run.json").read_text())
    assert m["status"] == "failed" and m["error"] == why and m["finished"]
    assert load_run(w.path).status == "failed"  # the reader keeps the key and ignores it
    assert list((tmp_path / ".locks").glob("*.lock")) == []


def _files(run_dir) -> dict:
    return {
        str(p.relative_to(run_dir)): (p.stat().st_ino, p.read_bytes())
        for p in sorted(run_dir.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("left", ["running", "failed"])
def test_writer_redoes_an_incomplete_run(tmp_path, left):
    old, *_ = write_run(tmp_path, status=left)
    before = _files(old.path)
    assert {"masks/step-00000000.npz", "updates/step-00000010.npz", "state/step-00000010.npz"} <= set(before)
    new = RunWriter(tmp_path, dict(CONFIG), LAYERS)  # a run left running (or failed) is started again
    assert new.path == old.path and new.run_id == old.run_id
    assert sorted(_files(new.path)) == ["run.json"]  # the old run's files are gone, not mixed into the new one
    run = load_run(new.path)
    assert run.status == "running" and run.mask_steps == [] and run.update_steps == [] and run.state_steps == []
    if left == "running":  # the old writer (same thread) lost the run: it can neither write nor complete it
        with pytest.raises(OSError):
            old.write_masks(30, _masks(np.random.default_rng(1)))
    m = _masks(np.random.default_rng(2))
    new.write_masks(0, m)
    new.log(0, 0.0, "test", "acc", 0.5)
    new.close("complete")
    run = load_run(new.path)
    assert run.status == "complete" and run.mask_steps == [0] and run.summary["test_acc"] == 0.5
    assert np.array_equal(
        unpack(run.masks(0)["fc1.weight"], m["fc1.weight"].size, m["fc1.weight"].shape), m["fc1.weight"]
    )
    if left == "running":
        with pytest.raises(OSError, match="removed or replaced"):
            old.close("complete")  # too late: the run is the new writer's; nothing of it changes
        assert load_run(new.path).status == "complete" and load_run(new.path).mask_steps == [0]


def test_writer_refuses_a_complete_run_and_leaves_it_untouched(tmp_path):
    w, *_ = write_run(tmp_path)
    before = _files(w.path)
    with pytest.raises(FileExistsError, match="status complete"):
        RunWriter(tmp_path, dict(CONFIG), LAYERS)
    assert _files(w.path) == before
    assert list((tmp_path / ".locks").glob("*.lock")) == []  # the refused writer released its lock


def test_writer_checks_layer_sizes(tmp_path):
    w = RunWriter(tmp_path, CONFIG, LAYERS)
    with pytest.raises(ValueError, match="fc1.weight"):
        w.write_masks(0, {"fc1.weight": np.ones(5, bool), "fc2.weight": np.ones((3, 5), bool)})
    with pytest.raises(KeyError, match="miss"):
        w.write_masks(0, {"fc1.weight": np.ones((4, 6), bool)})


def test_no_temporary_files_left(tmp_path):
    w, *_ = write_run(tmp_path)
    leftovers = [p for p in w.path.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_find_runs_recursive_and_sorted(tmp_path):
    for s in range(3):
        write_run(tmp_path / "deep" / f"x{s}", seed=s)
    runs = find_runs([tmp_path])
    assert len(runs) == 3 and [r.path for r in runs] == sorted(r.path for r in runs)
    with pytest.raises(FileNotFoundError):
        find_runs(tmp_path / "nope")


# -- damage: each kind rejected with run, file and problem --------------------------------------
def _damage_manifest(path, fn):
    m = json.loads((path / "run.json").read_text())
    fn(m)
    (path / "run.json").write_text(json.dumps(m))


MANIFEST_DAMAGE = {
    "newer version": (lambda m: m.update(format_version=2), "newer"),
    "wrong format": (lambda m: m.update(format="other"), "format"),
    "missing key": (lambda m: m.pop("layers"), "missing keys"),
    "bad status": (lambda m: m.update(status="done"), "status"),
    "bad criterion": (lambda m: m["config"].update(criterion="L1 norm"), "criterion"),
    "bad shadow criterion": (lambda m: m.update(shadow_criteria=["Magnitude"]), "shadow_criteria"),
    "summary string": (lambda m: m["summary"].update(test_acc="high"), "summary.test_acc"),
    "update period string": (lambda m: m["config"].update(update_period="x"), "config.update_period"),
    "seed object": (lambda m: m["config"].update(seed={}), "config.seed"),
    "lr nan": (lambda m: m["config"].update(lr=float("nan")), "config.lr"),
    "bool batch size": (lambda m: m["config"].update(batch_size=True), "config.batch_size"),
    "nested extra key": (lambda m: m["config"].update(sweep={"a": {"b": 1}}), "config.sweep"),
    "huge shape": (lambda m: m["layers"][0].update(shape=[2**70], numel=2**70), "larger than"),
    "wrapping shape": (lambda m: m["layers"][0].update(shape=[2**32, 2**32], numel=0), "larger than"),
    "numel mismatch no wrap": (lambda m: m["layers"][0].update(shape=[2**20, 2**20], numel=0), "numel"),
    "bad numel": (lambda m: m["layers"][0].update(numel=7), "numel"),
    "unsorted steps": (lambda m: m.update(mask_steps=[20, 0]), "sorted"),
    "bad density": (lambda m: m["config"].update(density=1.5), "density"),
}


@pytest.mark.parametrize("kind", sorted(MANIFEST_DAMAGE))
def test_reader_rejects_manifest_damage(tmp_path, kind):
    fn, words = MANIFEST_DAMAGE[kind]
    w, *_ = write_run(tmp_path)
    _damage_manifest(w.path, fn)
    with pytest.raises(ArtifactError) as e:
        load_run(w.path)
    assert e.value.file == "run.json" and words in e.value.problem
    assert "run.json" in str(e.value)


def test_newer_version_names_both_versions(tmp_path):
    w, *_ = write_run(tmp_path)
    _damage_manifest(w.path, lambda m: m.update(format_version=7))
    with pytest.raises(ArtifactError, match="7.*version 1"):
        load_run(w.path)


def test_reader_rejects_unparsable_json(tmp_path):
    w, *_ = write_run(tmp_path)
    (w.path / "run.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_run(w.path)
    bad = []
    assert find_runs(tmp_path, on_bad=bad.append) == [] and len(bad) == 1


def _rewrite_npz(path, fn):
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    fn(d)
    with open(path, "wb") as f:
        np.savez_compressed(f, **d)


NPZ_DAMAGE = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "garbage": lambda p: p.write_bytes(b"garbage" * 10),
    "missing": lambda p: p.unlink(),
    "wrong length": lambda p: _rewrite_npz(p, lambda d: d.update({"pruned/fc1.weight": np.zeros(9, np.uint8)})),
    "pad bits": lambda p: _rewrite_npz(
        p, lambda d: d.update({"grown/fc2.weight": np.array([0, 0b01111111], np.uint8)})
    ),
    "missing key": lambda p: _rewrite_npz(p, lambda d: d.pop("shadow/snip/fc2.weight")),
}


@pytest.mark.parametrize("kind", sorted(NPZ_DAMAGE))
def test_reader_rejects_update_damage(tmp_path, kind):
    w, *_ = write_run(tmp_path)
    NPZ_DAMAGE[kind](w.path / "updates" / "step-00000010.npz")
    run = load_run(w.path)  # the manifest alone is fine: reading is lazy
    with pytest.raises(ArtifactError) as e:
        run.update(10)
    assert e.value.file == "updates/step-00000010.npz" and e.value.run == w.run_id
    problems = validate_run(w.path)
    assert len(problems) == 1 and problems[0].file == "updates/step-00000010.npz"


def test_reader_rejects_garbage_parquet(tmp_path):
    w, *_ = write_run(tmp_path)
    (w.path / "metrics.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ArtifactError, match="metrics.parquet"):
        load_run(w.path).metrics()


def test_reader_rejects_metrics_without_columns(tmp_path):
    w, *_ = write_run(tmp_path)
    pd.DataFrame({"step": [1], "value": [1.0]}).to_parquet(w.path / "metrics.parquet")
    with pytest.raises(ArtifactError, match="missing columns"):
        load_run(w.path).metrics()


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=0, max_size=400), st.integers(0, 10_000))
def test_reader_never_crashes_on_random_bytes(tmp_path_factory, blob, cut):
    """Whatever bytes replace a file, the reader raises ArtifactError and nothing else."""
    study = tmp_path_factory.mktemp("fuzz")
    w, *_ = write_run(study)
    for rel in ("masks/step-00000000.npz", "updates/step-00000010.npz", "state/step-00000010.npz", "metrics.parquet"):
        p = w.path / rel
        p.write_bytes(blob)
    problems = validate_run(w.path)
    assert problems and all(isinstance(p, ArtifactError) for p in problems)
    (w.path / "run.json").write_bytes(blob[: cut % (len(blob) + 1)])
    assert all(isinstance(p, ArtifactError) for p in validate_run(w.path))


def test_hand_written_run_without_writer(tmp_path):
    """A run written by hand that follows docs/format.md reads the same."""
    d = tmp_path / "anything"
    (d / "masks").mkdir(parents=True)
    mask = np.array([[1, 0, 1], [0, 0, 1]], bool)
    np.savez_compressed(d / "masks" / "step-00000000.npz", **{"w": np.packbits(mask.ravel())})
    manifest = {
        "format": "fwa-run",
        "format_version": 1,
        "run_id": "by-hand",
        "status": "complete",
        "created": "2026-01-01T00:00:00Z",
        "finished": "2026-01-01T00:01:00Z",
        "config": {"model": "m", "dataset": "d", "method": "static", "density": 0.5, "seed": 1},
        "layers": [{"name": "w", "shape": [2, 3], "numel": 6, "density": 0.5}],
        "mask_steps": [0],
        "update_steps": [],
        "state_steps": [],
        "shadow_criteria": [],
        "total_steps": 0,
        "summary": {"test_acc": 0.5},
        "software": {},
    }
    (d / "run.json").write_text(json.dumps(manifest))
    pd.DataFrame({"step": [0], "epoch": [0.0], "split": ["test"], "name": ["acc"], "value": [0.5]}).to_parquet(
        d / "metrics.parquet"
    )
    run = load_run(d)
    assert run.validate() == []
    assert run.config["criterion"] is None and run.summary["itop"] is None
    assert popcount(run.masks(0)["w"]) == 3
    assert math.isclose(run.metrics()["value"].iloc[0], 0.5)


def test_npz_written_like_savez_compressed(tmp_path):
    """Our level-1 npz is read by numpy.load exactly like one written by numpy.savez_compressed."""
    import zipfile

    from fwanalysis.artifacts import write_npz

    arrays = {
        "pruned/a.weight": pack(np.random.default_rng(0).random(1000) < 0.1),
        "w": np.arange(6, dtype=np.float32).reshape(2, 3),
    }
    write_npz(tmp_path / "ours.npz", arrays)
    np.savez_compressed(tmp_path / "numpy.npz", **arrays)
    with np.load(tmp_path / "ours.npz") as ours, np.load(tmp_path / "numpy.npz") as ref:
        assert sorted(ours.files) == sorted(ref.files)
        for k in ref.files:
            np.testing.assert_array_equal(ours[k], ref[k])
            assert ours[k].dtype == ref[k].dtype and ours[k].shape == ref[k].shape
    with zipfile.ZipFile(tmp_path / "ours.npz") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
