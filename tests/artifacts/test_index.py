"""The study index (fwanalysis.artifacts.index) and the walk (fwanalysis.artifacts.walk): the index is never
stale, survives concurrent updates and corruption, is only a cache; the walk finds what the recursive glob did."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fwanalysis.artifacts import RunWriter, find_runs
from fwanalysis.artifacts import find as find_mod
from fwanalysis.artifacts import index as index_mod
from fwanalysis.artifacts.index import INDEX_NAME

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {"fc.weight": (2, 3)}


def write(study, seed, *, acc=0.5, close=True, **cfg):
    config = {
        "model": "toy",
        "dataset": "synthetic",
        "method": "dst",
        "criterion": "magnitude",
        "growth": "random",
        "density": 0.5,
        "seed": seed,
        **cfg,
    }
    w = RunWriter(study, config, LAYERS, total_steps=1, exist="overwrite")
    w.write_masks(0, {"fc.weight": np.ones((2, 3), bool)})
    w.log(1, 1.0, "test", "acc", acc)
    if close:
        w.close("complete")
    return w


def state(runs):
    return {r.run_id: (r.status, r.summary["test_acc"], str(r.path)) for r in runs}


def rows(study):
    with sqlite3.connect(study / INDEX_NAME) as con:
        return dict(con.execute("SELECT rel, head FROM runs").fetchall())


@pytest.fixture
def settled(monkeypatch):
    """Runs written a moment ago are cached too (by default a run.json under 2 s old is read again next time)."""
    monkeypatch.setattr(index_mod, "SETTLE_NS", 0)


@pytest.fixture
def no_reads(monkeypatch):
    """Fail any read of a run.json from disk: what is found then came from the index."""

    def refuse(path):
        raise AssertionError(f"read {path}/run.json, expected it from the index")

    return lambda: monkeypatch.setattr(find_mod, "read_manifest", refuse)


def test_runs_come_from_the_index_and_equal_those_read_from_disk(tmp_path, settled, no_reads):
    study = tmp_path / "s"
    for seed in range(4):
        write(study, seed, acc=0.1 * seed)
    first = find_runs(study)
    assert (study / INDEX_NAME).is_file() and len(rows(study)) == 4
    plain = find_runs(study, use_index=False)
    no_reads()
    cached = find_runs(study)
    assert [r.manifest for r in cached] == [r.manifest for r in plain] == [r.manifest for r in first]
    assert [r.path for r in cached] == [r.path for r in plain]


def test_rewritten_deleted_added_runs_show_their_new_state(tmp_path, settled):
    study = tmp_path / "s"
    for seed in range(3):
        write(study, seed, acc=0.5)
    before = state(find_runs(study))
    assert {v[1] for v in before.values()} == {0.5}
    w = write(study, 0, acc=0.9)  # rewritten (a new run.json)
    import shutil

    gone = write(study, 1).path
    shutil.rmtree(gone)  # deleted
    write(study, 7, acc=0.3)  # added
    after = state(find_runs(study))
    assert after[w.run_id][1] == 0.9
    assert gone.name not in after and len(after) == 3
    assert any(v[1] == 0.3 for v in after.values())
    assert gone.name not in rows(study)  # forgotten by the index too
    assert state(find_runs(study, use_index=False)) == after


def test_a_run_rewritten_in_place_with_its_old_size_and_mtime_is_read_again(tmp_path, settled):
    """Same inode, same size, mtime set back: the ctime still tells the change."""
    study = tmp_path / "s"
    w = write(study, 0, acc=0.25)
    assert state(find_runs(study))[w.run_id][1] == 0.25
    mp = w.path / "run.json"
    st = mp.stat()
    text = mp.read_text()
    assert "0.25" in text
    with open(mp, "r+") as f:
        f.write(text.replace("0.25", "0.75"))
    os.utime(mp, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (mp.stat().st_ino, mp.stat().st_size, mp.stat().st_mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)
    assert state(find_runs(study))[w.run_id][1] == 0.75


def test_a_run_json_changed_a_moment_ago_is_not_cached(tmp_path):
    """Within the file system's timestamp granularity a rewrite could keep every stat field: such a file is read
    again next time."""
    study = tmp_path / "s"
    write(study, 0)
    find_runs(study)
    assert not (study / INDEX_NAME).exists() or rows(study) == {}


def test_a_running_run_locked_then_completed_shows_its_new_status(tmp_path, settled):
    study = tmp_path / "s"
    write(study, 0)
    w = write(study, 1, close=False)
    w.flush()
    assert (study / ".locks" / f"{w.run_id}.lock").exists()
    assert state(find_runs(study, include_incomplete=True))[w.run_id][0] == "running"
    assert w.run_id not in state(find_runs(study))
    w.close("complete")
    assert state(find_runs(study))[w.run_id][0] == "complete"


def test_a_corrupt_index_is_ignored_and_rebuilt(tmp_path, settled, no_reads):
    study = tmp_path / "s"
    for seed in range(3):
        write(study, seed)
    expected = state(find_runs(study, use_index=False))
    for junk in (b"not a database at all" * 100, b"SQLite format 3\x00" + os.urandom(3000)):
        (study / INDEX_NAME).write_bytes(junk)
        assert state(find_runs(study)) == expected
        assert len(rows(study)) == 3
    with sqlite3.connect(study / INDEX_NAME) as con:  # a row that is not what fwa wrote
        con.execute("UPDATE runs SET head = '[1, 2]'")
    assert state(find_runs(study)) == expected


def test_deleting_the_index_changes_nothing_but_speed(tmp_path, settled):
    study = tmp_path / "s"
    for seed in range(3):
        write(study, seed)
    a = state(find_runs(study))
    (study / INDEX_NAME).unlink()
    assert state(find_runs(study)) == a == state(find_runs(study))


def test_what_fwa_did_not_write_is_never_touched(tmp_path, settled):
    """A link or a directory at the index's name is left alone; a folder that is no study of fwa's (no .locks)
    gets no index."""
    study = tmp_path / "s"
    write(study, 0)
    secret = tmp_path / "secret"
    secret.write_bytes(b"mine")
    (study / INDEX_NAME).symlink_to(secret)
    assert len(find_runs(study)) == 1
    assert secret.read_bytes() == b"mine" and (study / INDEX_NAME).is_symlink()
    (study / INDEX_NAME).unlink()
    (study / INDEX_NAME).mkdir()
    assert len(find_runs(study)) == 1 and (study / INDEX_NAME).is_dir()
    plain = tmp_path / "copy"
    plain.mkdir()
    os.rename(study / next(p.name for p in study.iterdir() if not p.name.startswith(".")), plain / "r")
    assert len(find_runs(plain)) == 1 and not (plain / INDEX_NAME).exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_study_works_without_an_index(tmp_path, settled):
    study = tmp_path / "s"
    write(study, 0)
    study.chmod(0o555)
    try:
        assert len(find_runs(study)) == 1 and not (study / INDEX_NAME).exists()
    finally:
        study.chmod(0o755)


def test_a_busy_or_unopenable_index_is_skipped(tmp_path, settled, monkeypatch):
    study = tmp_path / "s"
    write(study, 0)
    find_runs(study)

    def busy(*a, **k):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(index_mod, "_connect", busy)
    write(study, 1)
    assert len(find_runs(study)) == 2


_WORKER = textwrap.dedent("""
    import sys
    from fwanalysis.artifacts import find_runs, index
    index.SETTLE_NS = 0
    for _ in range(int(sys.argv[2])):
        find_runs(sys.argv[1])
""")


def test_two_processes_updating_the_index_at_once_leave_it_correct(tmp_path, settled, no_reads):
    study = tmp_path / "s"
    for seed in range(40):
        write(study, seed, acc=0.5)
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(study), "6"], cwd=ROOT) for _ in range(2)]
    for seed in range(0, 40, 3):  # runs rewritten while both update the index
        write(study, seed, acc=0.8)
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    truth = state(find_runs(study, use_index=False))
    assert sum(v[1] == 0.8 for v in truth.values()) == 14
    assert state(find_runs(study)) == truth
    assert len(rows(study)) == 40
    no_reads()  # every row of the index is that of the run.json now there
    assert state(find_runs(study)) == truth


# -- the walk ----------------------------------------------------------------------------------------


def test_the_walk_counts_a_folder_reached_twice_once(tmp_path, recwarn):
    study = tmp_path / "s"
    runs = [write(study, seed).path for seed in range(2)]
    link = tmp_path / "link"
    link.symlink_to(study)
    found = find_runs([study, link, runs[0], runs[0] / "run.json"])
    assert sorted(r.run_id for r in found) == sorted(p.name for p in runs)
    assert not [w for w in recwarn if "two directories" in str(w.message)]
    # each as reached by the first path in sorted order ("link" before "s"), as before the walk
    assert [str(r.path) for r in found] == sorted(str(link / p.name) for p in runs)


def test_the_walk_does_not_follow_links_below_a_path_and_stops_at_run_folders(tmp_path):
    study = tmp_path / "s"
    run = write(study, 0).path
    other = tmp_path / "elsewhere"
    write(other, 1)
    (study / "sub").mkdir()
    (study / "sub" / "link").symlink_to(other)  # not followed (as Path.rglob does not)
    nested = write(run / "inner", 2).path  # a run inside a run folder: the walk stops at the outer one
    assert [r.run_id for r in find_runs(study)] == [run.name]
    assert [r.run_id for r in find_runs(nested)] == [nested.name]


def test_a_copied_run_under_another_folder_warns_as_before(tmp_path):
    import shutil

    study = tmp_path / "s"
    run = write(study, 0).path
    shutil.copytree(run, tmp_path / "s" / "copy" / run.name)
    seen = []
    found = find_runs(study, on_warning=seen.append)
    assert len(found) == 1 and len(seen) == 1 and "two directories" in seen[0]


def test_missing_paths_and_other_files_are_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        find_runs(tmp_path / "nope")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        find_runs(tmp_path / "x.txt")


def test_a_bad_run_json_is_reported_every_time(tmp_path, settled):
    study = tmp_path / "s"
    run = write(study, 0).path
    write(study, 1)
    (run / "run.json").write_text(json.dumps({"format": "fwa-run"}))
    for _ in range(2):
        bad = []
        assert len(find_runs(study, on_bad=bad.append)) == 1
        assert len(bad) == 1 and bad[0].file == "run.json"


def test_a_run_from_the_index_reads_its_whole_manifest_when_asked(tmp_path, settled, no_reads, monkeypatch):
    """The index parses run_id, status, config and summary ahead; layers and steps come from the row's text,
    or from the file when the index no longer holds that row; a run so loaded can be sent to another process."""
    import pickle

    study = tmp_path / "s"
    for seed in range(2):
        write(study, seed)
    truth = {r.run_id: r.manifest for r in find_runs(study, use_index=False)}
    find_runs(study)
    no_reads()
    runs = find_runs(study)
    assert all(r._manifest is None for r in runs)  # nothing but the head parsed yet
    assert runs[0].layer_names == ["fc.weight"] and runs[0].manifest == truth[runs[0].run_id]
    copy = pickle.loads(pickle.dumps(runs[1]))
    (study / INDEX_NAME).unlink()  # the row is gone: the file is read (and checked)
    for con in index_mod._READERS.values():
        con.close()
    monkeypatch.setattr(index_mod, "_READERS", {})
    read = []
    monkeypatch.setattr(find_mod, "read_manifest", lambda path: read.append(path) or (path / "run.json").read_text())
    assert copy.mask_steps == [0] and copy.manifest == truth[runs[1].run_id]
    assert read == [runs[1].path]
