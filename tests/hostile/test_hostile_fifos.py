"""Issue 18, group 2: no FIFO anywhere under a study, or given as an input, makes a command wait: a FIFO where a
run's lock goes (validate, sweep --dry-run, import --run-id), as `cd-diagram --input`, and in every place of a
study that any analysis command opens. Each command must end within 2 s (the report within 30 s: it draws)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clilib import fwa
from hostilelib import BOUND, ends_within, one_error
from synthetic import write_study
from typer.testing import CliRunner

from fwanalysis.artifacts import find_runs, lock_path

if not hasattr(os, "mkfifo"):
    pytest.skip("no FIFOs on this system", allow_module_level=True)


def interrupted(run_dir: Path) -> None:
    """Mark a complete run as a run whose writer was killed (status running), so that commands ask its lock."""
    manifest = json.loads((run_dir / "run.json").read_text())
    manifest["status"] = "running"
    (run_dir / "run.json").write_text(json.dumps(manifest))


@pytest.fixture
def fifo_study(tmp_path):
    """A small study with a FIFO in every place fwa opens: a run's lock, run.json, metrics.parquet, a mask and
    an update file, a run.json below a stray folder, and a stray FIFO."""
    study = tmp_path / "study"
    write_study(study, seeds=(0, 1), crits=("magnitude", "snip"), baselines=True)
    runs = sorted(find_runs(study), key=lambda r: r.run_id)
    fifos = []

    def fifo(p: Path) -> None:
        if p.exists():
            p.unlink()
        p.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(p)
        fifos.append(p)

    interrupted(runs[0].path)
    fifo(lock_path(study, runs[0].path.name))
    fifo(runs[1].path / "metrics.parquet")
    fifo(runs[2].path / "masks" / "step-00000000.npz")
    fifo(runs[3].path / "updates" / "step-00000010.npz")
    fifo(runs[4].path / "run.json")
    fifo(study / "stray" / "run.json")
    fifo(study / "notes.fifo")
    return study, fifos


COMMANDS = [
    ("ls",),
    ("validate",),
    ("validate", "--include-incomplete"),
    ("jaccard", "--at", "first"),
    ("jaccard", "--at", "end"),
    ("jaccard", "--at", "time"),
    ("itop",),
    ("never-removed",),
    ("loss-gap",),
    ("accuracy",),
    ("update-period",),
    ("cd-diagram",),
    ("claims",),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
@pytest.mark.parametrize("skip_bad", [False, True], ids=["strict", "skip-bad"])
def test_every_command_ends_on_a_study_of_fifos(fifo_study, args, skip_bad):
    study, fifos = fifo_study
    extra = ["--skip-bad", "--include-incomplete"] if skip_bad else []
    r = ends_within(lambda: fwa(*args, study, *extra), BOUND, fifos)
    assert r.exit_code in (0, 1) and "Traceback" not in r.output, r.output
    if r.exit_code == 1 and not r.stderr.startswith("invalid"):
        assert any(line.startswith("error: ") for line in r.stderr.splitlines()), r.output


def test_report_ends_on_a_study_of_fifos(fifo_study, tmp_path):
    study, fifos = fifo_study
    r = ends_within(lambda: fwa("report", study, "--out", tmp_path / "rep", "--only", "fig06", "--skip-bad"), 30, fifos)
    assert r.exit_code in (0, 1) and "Traceback" not in r.output, r.output


def test_validate_shows_a_fifo_lock_as_unreadable(fifo_study):
    """`fwa validate` asks the lock of an interrupted run who holds it: a FIFO there is an unknown holder."""
    study, fifos = fifo_study
    r = ends_within(lambda: fwa("validate", study, "--format", "json"), BOUND, fifos)
    doc = json.loads(r.stdout)
    problems = [i["problem"] for i in doc["invalid"] if i["problem"].startswith("status running")]
    assert problems and "unknown holder" in problems[0], problems


def test_import_into_a_run_whose_lock_is_a_fifo(tmp_path):
    """`fwa import ... --run-id X` with a FIFO at .locks/X.lock: refused as locked by an unknown holder."""
    (tmp_path / "good.csv").write_text("_step,train/loss\n0,1.0\n1,0.5\n")
    study = tmp_path / "study"
    fifo = lock_path(study, "x")
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    r = ends_within(
        lambda: fwa("import", "wandb-csv", tmp_path / "good.csv", "--out", study, "--set", "model=m", "--run-id", "x"),
        BOUND,
        [fifo],
    )
    one_error(r, "locked", "unknown holder")
    assert not (study / "x").exists()


def test_sweep_dry_run_with_a_fifo_lock(tmp_path):
    """`fw-train sweep --dry-run` reads the lock of every run not complete: a FIFO there is shown as unreadable."""
    from sweeplib import spec_file

    from trainer.cli import app as fw_train

    spec = spec_file(tmp_path, [0])
    runner = CliRunner()
    doc = json.loads(
        runner.invoke(
            fw_train, ["sweep", str(spec), "--out", str(tmp_path / "a"), "--dry-run", "--format", "json"]
        ).stdout
    )
    run = doc["runs"][0]
    fifo = lock_path(tmp_path / "a" / run["config"]["model"], run["run_id"])
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    r = ends_within(
        lambda: runner.invoke(fw_train, ["sweep", str(spec), "--out", str(tmp_path / "a"), "--dry-run"]), BOUND, [fifo]
    )
    assert r.exit_code == 0 and "unreadable lock" in r.output, r.output


def test_cd_diagram_input_fifo(tmp_path):
    fifo = tmp_path / "scores.csv"
    os.mkfifo(fifo)
    r = ends_within(lambda: fwa("cd-diagram", "--input", fifo), BOUND, [fifo])
    one_error(r, "--input", "FIFO")
