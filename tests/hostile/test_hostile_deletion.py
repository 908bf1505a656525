"""Issue 18, group 1: nothing a user owns is ever deleted. ``--run-id NAME`` (and the Recorder, and any
``RunWriter``) replaces only a run directory fwa wrote; a foreign folder, the sources being imported, a
symbolic link and the study's lock folder are refused with one line and left as they were."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from clilib import fwa
from hostilelib import one_error

from fwanalysis.artifacts import RunWriter, claim_run, load_run

GOOD_CSV = "_step,train/loss\n0,1.0\n1,0.5\n"


def tree(d: Path) -> dict[str, bytes]:
    """Every file below ``d`` with its bytes."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def import_good_csv(tmp_path: Path, study: Path, run_id: str, *more):
    """`fwa import wandb-csv good.csv --out STUDY --set model=m --run-id RUN_ID MORE...`, good.csv (GOOD_CSV) in
    ``tmp_path``."""
    (tmp_path / "good.csv").write_text(GOOD_CSV)
    return fwa(
        "import", "wandb-csv", tmp_path / "good.csv", "--out", study, "--set", "model=m", "--run-id", run_id, *more
    )


def test_run_id_of_a_users_folder_keeps_the_folder(tmp_path):
    """The issue's example: `fwa import wandb-csv good.csv --out study --set model=m --run-id notes`."""
    (tmp_path / "study" / "notes").mkdir(parents=True)
    (tmp_path / "study" / "notes" / "thesis.tex").write_text("precious\n")
    r = import_good_csv(tmp_path, tmp_path / "study", "notes")
    one_error(r, "notes", "thesis.tex", "fwa did not write")
    assert (tmp_path / "study" / "notes" / "thesis.tex").read_text() == "precious\n"
    assert tree(tmp_path / "study" / "notes") == {"thesis.tex": b"precious\n"}
    r = import_good_csv(tmp_path, tmp_path / "study", "notes", "--overwrite")
    one_error(r, "thesis.tex")
    assert (tmp_path / "study" / "notes" / "thesis.tex").read_text() == "precious\n"


def test_tensorboard_import_onto_its_own_logdir_keeps_the_events(tmp_path):
    """`fwa import tensorboard logs/exp1 --out logs --run-id exp1` deleted the event files it was importing."""
    pytest.importorskip("tensorboard")
    tb = pytest.importorskip("torch.utils.tensorboard")
    logdir = tmp_path / "logs" / "exp1"
    w = tb.SummaryWriter(str(logdir))
    for step in (1, 2, 3):
        w.add_scalar("train/loss", 1.0 / step, step)
    w.close()
    before = tree(logdir)
    r = fwa("import", "tensorboard", logdir, "--out", tmp_path / "logs", "--set", "model=m", "--run-id", "exp1")
    one_error(r, "exp1", "tfevents")
    assert tree(logdir) == before


def test_paper_code_import_onto_its_own_save_dir_keeps_the_recordings(tmp_path):
    """`fwa import paper-code save/run1 --out save --run-id run1` deleted the recordings, then failed."""
    torch = pytest.importorskip("torch")
    src = tmp_path / "save" / "run1"
    src.mkdir(parents=True)
    before_mask = torch.ones(4, 4)
    after = before_mask.clone()
    after[0] = 0
    for step in (100, 200):
        torch.save(
            {"other_masks": {"magnitude": {"w": after}}, "origs": {"w": before_mask}},
            src / f"jaccard-in-time-{step}.th",
        )
    before = tree(src)
    r = fwa("import", "paper-code", src, "--out", tmp_path / "save", "--set", "criterion=magnitude", "--run-id", "run1")
    one_error(r, "run1", "jaccard-in-time")
    assert tree(src) == before


def test_run_id_dot_locks_is_reserved_and_the_lock_folder_survives(tmp_path):
    """`--run-id .locks` deleted the study's lock folder while another process held a lock in it."""
    study = tmp_path / "study"
    held = claim_run(study, "other-run")  # another writer's lock, in study/.locks
    try:
        lock_file = study / ".locks" / "other-run.lock"
        record = lock_file.read_bytes()
        r = import_good_csv(tmp_path, study, ".locks", "--overwrite")
        one_error(r, ".locks", "reserved")
        assert lock_file.read_bytes() == record and held.still_held()
    finally:
        held.release()


@pytest.mark.parametrize("run_id", ["../outside", "a/b", ".hidden", "x" * 201, "tab\there"])
def test_run_ids_that_cannot_name_a_run_directory_are_refused(tmp_path, run_id):
    r = import_good_csv(tmp_path, tmp_path / "study", run_id)
    one_error(r, "run id")
    assert not (tmp_path / "outside").exists()
    assert [p.name for p in (tmp_path / "study").iterdir()] in ([], [".locks"])


def test_recorder_never_replaces_a_foreign_folder(tmp_path):
    """The Recorder shares the writer: `exist="overwrite"` (its default) replaces only a run of fwa's."""
    torch = pytest.importorskip("torch")
    from fwanalysis.record import Recorder

    model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.tex").write_text("precious\n")
    masks = {"0.weight": torch.ones(3, 4, dtype=torch.bool)}
    with pytest.raises(ValueError, match="thesis.tex"):
        Recorder(model, tmp_path, masks=masks, criterion="magnitude", run_id="notes")
    assert tree(tmp_path / "notes") == {"thesis.tex": b"precious\n"}


CONFIG = {
    "model": "m",
    "dataset": "d",
    "method": "dst",
    "criterion": "magnitude",
    "growth": "random",
    "density": 0.5,
    "seed": 0,
}


def failed_run(study: Path) -> Path:
    """A run of fwa's left failed (a crashed training): the kind of directory a rerun replaces."""
    with pytest.raises(RuntimeError):
        with RunWriter(study, CONFIG, {"w": (4, 4)}) as w:
            w.write_masks(0, {"w": np.ones((4, 4), bool)})
            raise RuntimeError("crash")
    return w.path


@pytest.mark.parametrize("intruder", ["masks/notes.txt", "notes.txt", "state/step-00000001.npz/inner"])
def test_a_failed_run_holding_anything_else_is_not_replaced(tmp_path, intruder):
    run = failed_run(tmp_path)
    target = run / intruder
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("mine\n")
    before = tree(run)
    with pytest.raises(ValueError, match="fwa did not write"):
        RunWriter(tmp_path, CONFIG, {"w": (4, 4)}, exist="overwrite")
    assert tree(run) == before


def test_a_failed_run_of_fwas_is_still_replaced(tmp_path):
    run = failed_run(tmp_path)
    assert load_run(run).status == "failed"
    with RunWriter(tmp_path, CONFIG, {"w": (4, 4)}) as w:
        w.write_masks(0, {"w": np.ones((4, 4), bool)})
    assert w.path == run and load_run(run).status == "complete"


def test_a_symbolic_link_in_the_runs_place_is_left_alone(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "run.json").write_text("{}")
    run_id = RunWriter.__init__.__defaults__ and None  # placeholder removed below
    del run_id
    from fwanalysis.artifacts import run_id_for

    link = tmp_path / "study" / run_id_for(CONFIG)
    link.parent.mkdir()
    os.symlink(target, link)
    with pytest.raises(ValueError, match="symbolic link"):
        RunWriter(tmp_path / "study", CONFIG, {"w": (4, 4)}, exist="overwrite")
    assert link.is_symlink() and (target / "run.json").read_text() == "{}"


def test_a_hand_written_run_is_not_fwas_to_replace(tmp_path):
    """A run written by another tool (no software.fwanalysis in its run.json) is left for its owner."""
    run = failed_run(tmp_path)
    import json

    manifest = json.loads((run / "run.json").read_text())
    manifest["software"] = {"numpy": np.__version__}
    (run / "run.json").write_text(json.dumps(manifest))
    before = tree(run)
    with pytest.raises(ValueError, match="not this run's as fwa writes it"):
        RunWriter(tmp_path, CONFIG, {"w": (4, 4)}, exist="overwrite")
    assert tree(run) == before
