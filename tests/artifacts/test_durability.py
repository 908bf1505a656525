"""When the writer syncs: data files once, before the run.json that says complete; run.json lists a file
only once it is in place (docs/artifacts.md, "Writing")."""

from __future__ import annotations

import json
import os

import numpy as np

from fwanalysis.artifacts import RunWriter, load_run

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


def _sets(rng):
    return {n: rng.random(s) < 0.5 for n, s in LAYERS.items()}


def _manifest(writer):
    return json.loads((writer.path / "run.json").read_text())


def test_run_json_lists_a_file_only_once_it_is_in_place(tmp_path):
    rng = np.random.default_rng(0)
    w = RunWriter(tmp_path, CONFIG, LAYERS, total_steps=20)
    w.write_masks(0, _sets(rng))
    w.write_update(10, _sets(rng), _sets(rng))
    assert (w.path / "updates/step-00000010.npz").is_file() and (w.path / "masks/step-00000000.npz").is_file()
    m = _manifest(w)
    assert m["status"] == "running" and m["update_steps"] == [] and m["mask_steps"] == []  # not listed yet
    w.log(10, 1.0, "train", "loss", 0.5)
    w.flush()
    m = _manifest(w)
    assert m["update_steps"] == [10] and m["mask_steps"] == [0] and (w.path / "metrics.parquet").is_file()
    w.write_masks(20, _sets(rng))
    w.close()
    run = load_run(w.path)
    assert run.status == "complete" and run.mask_steps == [0, 20] and run.update_steps == [10]


def test_every_listed_file_is_synced_before_complete_is_written(tmp_path, monkeypatch):
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("sync", os.path.realpath(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        if os.path.basename(dst) == "run.json":
            events.append(("run.json", json.loads(open(src).read())["status"]))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    rng = np.random.default_rng(1)
    w = RunWriter(tmp_path, CONFIG, LAYERS, total_steps=30)
    w.write_masks(0, _sets(rng))
    for step in (10, 20, 30):
        w.write_update(step, _sets(rng), _sets(rng))
    w.write_masks(30, _sets(rng))
    w.log(30, 3.0, "test", "acc", 0.5)
    data = {str(p) for p in w.path.rglob("*.npz")}
    synced_while_running = {path for kind, path in events if kind == "sync"} & data
    assert not synced_while_running  # no sync per file while the run trains
    w.close()
    complete = events.index(("run.json", "complete"))
    synced = {path for kind, path in events[:complete] if kind == "sync"}
    listed = {
        str(w.path / f)
        for f in ["metrics.parquet", "masks/step-00000000.npz", "masks/step-00000030.npz"]
        + [f"updates/step-{s:08d}.npz" for s in (10, 20, 30)]
    }
    assert listed <= synced, sorted(listed - synced)
    assert {str(w.path), str(w.path / "masks"), str(w.path / "updates")} <= synced  # their directory entries too


def test_a_run_syncs_each_file_once_and_its_directories_only_at_the_end(tmp_path, monkeypatch):
    """What durability needs and no more: while the run trains only run.json's content is synced (so a crash
    never leaves an empty run.json that fwa would refuse to replace); at the end each listed file once, the
    folders holding them, run.json, the run directory again for its entry, and the study for the run's."""
    events: list[str] = []
    real_fsync = os.fsync

    def fsync(fd):
        events.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    rng = np.random.default_rng(2)
    study = tmp_path / "study"
    w = RunWriter(study, CONFIG, LAYERS, total_steps=30)
    run = str(w.path)
    w.write_masks(0, _sets(rng))
    for step in (10, 20, 30):
        w.write_update(step, _sets(rng), _sets(rng))
        w.log(step, step / 10, "train", "loss", 0.5)
        w.flush()
    w.write_masks(30, _sets(rng))
    running = [e for e in events if e.startswith(run)]
    assert running and all(os.path.basename(e).startswith(".run.json.") for e in running), running
    events.clear()
    w.close()
    ours = [e for e in events if e.startswith(str(study)) and "/.locks" not in e]
    rel = [os.path.relpath(e, run) if e.startswith(run) else e for e in ours]
    files = ["metrics.parquet", "masks/step-00000000.npz", "masks/step-00000030.npz"] + [
        f"updates/step-{s:08d}.npz" for s in (10, 20, 30)
    ]
    assert sorted(rel[: len(files)]) == sorted(files)  # each listed file once, before anything else
    assert rel[len(files) :] == ["masks", "updates", ".", rel[len(files) + 3], ".", str(study)]
    assert os.path.basename(rel[len(files) + 3]).startswith(".run.json.")  # the run.json that says complete
