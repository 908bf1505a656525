"""Tests of trainer.sweep: spec reading, expansion, run ids, status, and execution (local and submitit)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from fwanalysis.artifacts import load_run
from trainer import sweep
from trainer.sweep import PlannedRun, SpecError, SweepFailed, execute, expand, load_spec

SPEC = """
name = "accuracy"
description = "Accuracy vs density (Fig. 1)"
[base]
seed = [0, 1, 2]
shadow = "none"
[[grid]]
method = "dst"
criterion = ["magnitude", "snip"]
density = [0.05, 0.1]
[[grid]]
method = "dense"
[profiles.quick]
model = "mlp-small"
dataset = "digits"
epochs = 10
update_period = "2ep"
[profiles.paper]
model = ["resnet56", "vgg16"]
dataset = "cifar10"
epochs = 250
update_period = 800
[slurm]
partition = "gpu"
time = 720
gpus = 1
array_parallelism = 32
"""

TINY = """
name = "tiny"
[base]
model = "mlp-small"
dataset = "digits"
epochs = 1
method = "dst"
criterion = "magnitude"
density = 0.2
shadow = "none"
seed = [0, 1]
[profiles.quick]
"""


def write_spec(tmp_path, text: str, name: str = "spec.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def plan(tmp_path, text: str, profile: str = "quick", name: str = "spec.toml"):
    spec = load_spec(write_spec(tmp_path, text, name))
    return spec, expand(spec, profile=profile, out=str(tmp_path / "study"))


# -- expansion -----------------------------------------------------------------------------------


def test_grid_product_over_base_and_blocks(tmp_path):
    _, quick = plan(tmp_path, SPEC)
    # 3 seeds x (2 criteria x 2 densities) + 3 seeds x dense
    assert len(quick) == 3 * 4 + 3
    assert sum(r.cfg.method == "dense" for r in quick) == 3
    assert {(r.cfg.criterion, r.cfg.density) for r in quick if r.cfg.method == "dst"} == {
        ("magnitude", 0.05),
        ("magnitude", 0.1),
        ("snip", 0.05),
        ("snip", 0.1),
    }
    assert all(r.cfg.epochs == 10 and r.shadow == "none" for r in quick)
    assert all(r.cfg.update_period == "2ep" for r in quick if r.cfg.method == "dst")
    _, paper = plan(tmp_path, SPEC, profile="paper")
    assert len(paper) == 2 * 15  # the profile's model list is one more axis
    assert {r.cfg.model for r in paper} == {"resnet56", "vgg16"}
    assert all(r.cfg.update_period == 800 for r in paper if r.cfg.method == "dst")


def test_profile_overrides_a_grid_key(tmp_path):
    text = SPEC.replace('update_period = "2ep"', 'update_period = "2ep"\ndensity = 0.2')
    _, runs = plan(tmp_path, text)
    assert {r.cfg.density for r in runs if r.cfg.method == "dst"} == {0.2}
    assert len(runs) == 3 * 2 + 3


def test_no_grid_is_one_grid_equal_to_base(tmp_path):
    _, runs = plan(tmp_path, TINY)
    assert [r.cfg.seed for r in runs] == [0, 1]
    assert all(r.cfg.density == 0.2 and r.cfg.criterion == "magnitude" for r in runs)


def test_dense_and_static_runs_are_normalised_and_deduplicated(tmp_path):
    text = """
    name = "dedup"
    [base]
    seed = [0, 1]
    density = [0.05, 0.1]
    criterion = ["magnitude", "snip"]
    update_period = [10, 20]
    [[grid]]
    method = "dense"
    [[grid]]
    method = "dense"
    init = "erk"
    [[grid]]
    method = "static"
    [profiles.quick]
    """
    _, runs = plan(tmp_path, text)
    dense = [r for r in runs if r.cfg.method == "dense"]
    static = [r for r in runs if r.cfg.method == "static"]
    assert len(dense) == 2  # one per seed, whatever density, criterion, init or update period
    assert all(
        r.cfg.density == 1.0 and r.cfg.init == "dense" and r.cfg.criterion is None and r.cfg.growth is None
        for r in dense
    )
    assert len(static) == 2 * 2  # seed x density; criterion and update period are dropped
    assert all(r.cfg.criterion is None and r.cfg.growth is None and r.cfg.update_period == 25 for r in static)
    assert len(runs) == 6


def test_types_are_normalised_before_deduplication(tmp_path):
    text = """
    name = "types"
    [base]
    density = [0.5]
    [[grid]]
    update_period = "800"
    method = "dense"
    density = 1
    [[grid]]
    update_period = 800
    [[grid]]
    update_period = "800"
    [profiles.quick]
    """
    _, runs = plan(tmp_path, text)
    assert len(runs) == 2
    assert isinstance(runs[0].cfg.density, float)
    assert runs[1].cfg.update_period == 800


def test_lr_milestones_flat_list_is_a_value_nested_list_an_axis(tmp_path):
    _, runs = plan(tmp_path, 'name = "m"\n[base]\nlr_milestones = [5, 8]\n[profiles.quick]\n')
    assert len(runs) == 1 and runs[0].cfg.lr_milestones == [5, 8]
    _, runs = plan(tmp_path, 'name = "m"\n[base]\nlr_milestones = [[5, 8], [3]]\n[profiles.quick]\n')
    assert [r.cfg.lr_milestones for r in runs] == [[5, 8], [3]]


def test_out_device_and_data_dir(tmp_path):
    spec = load_spec(write_spec(tmp_path, TINY.replace("[profiles.quick]", '[profiles.quick]\ndevice = "cuda"')))
    runs = expand(spec, profile="quick", out=None, device=None, data_dir=None)
    assert all(r.out == "artifacts" and r.device == "cuda" and r.data_dir is None for r in runs)
    assert all(r.study == "artifacts/mlp-small" and r.path == Path("artifacts/mlp-small") / r.run_id for r in runs)
    again = expand(spec, profile="quick", out="x", device="cpu", data_dir="/data")
    assert all(r.out == "x" and r.device == "cpu" and r.data_dir == "/data" for r in again)
    assert all(r.path == Path("x/mlp-small") / r.run_id for r in again)
    assert [r.run_id for r in runs] == [r.run_id for r in again]  # where it trains is not what it is


# -- run ids -------------------------------------------------------------------------------------


def test_run_ids_are_stable_unique_and_tagged_per_spec(tmp_path):
    _, a = plan(tmp_path, SPEC)
    _, b = plan(tmp_path, SPEC)
    assert [r.run_id for r in a] == [r.run_id for r in b]
    assert len({r.run_id for r in a}) == len(a)
    # another spec with another name and one otherwise identical run: a different run, tagged with its
    # spec's name (figures select their runs by config["sweep"])
    other = (
        TINY.replace('name = "tiny"', 'name = "other"')
        .replace("seed = [0, 1]", "seed = 1")
        .replace("epochs = 1", 'epochs = 10\nupdate_period = "2ep"')
    )
    other = other.replace("density = 0.2", "density = 0.05")
    _, c = plan(tmp_path, other, name="other.toml")
    same = [r for r in a if r.cfg == dataclasses.replace(c[0].cfg, extra=r.cfg.extra)]
    assert len(same) == 1 and same[0].run_id != c[0].run_id
    assert c[0].cfg.extra == {"sweep": "other", "profile": "quick"} and same[0].cfg.extra["sweep"] != "other"


def test_run_id_depends_on_what_is_recorded_but_not_for_dense(tmp_path):
    _, a = plan(tmp_path, TINY)
    _, b = plan(tmp_path, TINY.replace('shadow = "none"', 'shadow = "snip,magnitude"'))
    _, c = plan(tmp_path, TINY.replace('shadow = "none"', 'shadow = "magnitude,snip"'))
    assert {r.run_id for r in a}.isdisjoint(r.run_id for r in b)
    assert [r.run_id for r in b] == [r.run_id for r in c] and b[0].shadow == "magnitude,snip"
    dense = TINY.replace('method = "dst"', 'method = "dense"')
    _, d1 = plan(tmp_path, dense)
    _, d2 = plan(tmp_path, dense.replace('shadow = "none"', 'shadow = "all"\nmask_every = 3'))
    assert [r.run_id for r in d1] == [r.run_id for r in d2]


# -- errors --------------------------------------------------------------------------------------


def test_unknown_key_names_file_key_and_allowed_values(tmp_path):
    with pytest.raises(SpecError) as e:
        plan(tmp_path, TINY.replace("density = 0.2", "denisty = 0.2"))
    msg = str(e.value)
    assert "spec.toml" in msg and "'denisty'" in msg and "did you mean 'density'" in msg
    assert "allowed:" in msg and "update_period" in msg and "mask_every" in msg and "extra" not in msg
    assert "\n" not in msg


def test_unknown_profile_lists_available_profiles(tmp_path):
    with pytest.raises(SpecError, match=r"spec.toml: unknown profile 'huge'; available profiles: quick, paper"):
        plan(tmp_path, SPEC, profile="huge")
    with pytest.raises(SpecError, match="available profiles: none"):
        plan(tmp_path, TINY.replace("[profiles.quick]", ""))
    with pytest.raises(
        SpecError,
        match=r"spec.toml: unknown profile 'papr'; available profiles: quick, paper \(did you mean 'paper'\?\)$",
    ):
        plan(tmp_path, SPEC, profile="papr")


@pytest.mark.parametrize(
    "old, new, match",
    [
        ('name = "tiny"', "", "`name"),
        ("[profiles.quick]", "[profiles.quick]\n[slurm]\nnodes = 2", "unknown key 'nodes' in table slurm.*partition"),
        ("[profiles.quick]", "[profiles.quick]\n[extra]\nx = 1", "unknown key 'extra' in the spec's top level"),
        ("epochs = 1", 'epochs = "one"', "epochs = 'one' in table base: expected an integer"),
        ("epochs = 1", "epochs = []", "empty list"),
        ('criterion = "magnitude"', 'criterion = "l1"', "criterion 'l1' is not one of: magnitude"),
        ('shadow = "none"', 'shadow = "snip,l1"', "shadow 'snip,l1'"),
        ('shadow = "none"', 'state = "some"', "state 'some' is not one of"),
        ("density = 0.2", "density = 1.5", r"density 1.5 must be in \(0, 1\]"),
        (
            "[profiles.quick]",
            "[profiles.quick]\nmask_every = -1",
            "mask_every = -1 in profile quick: expected a non-negative integer",
        ),
        (
            "[profiles.quick]",
            "[profiles.quick]\nmask_every = 2.5",
            "mask_every = 2.5 in profile quick: expected a non-negative integer",
        ),
        (
            "[profiles.quick]",
            "[profiles.quick]\nmask_every = true",
            "mask_every = True in profile quick: expected a non-negative integer",
        ),
        (
            "[profiles.quick]",
            '[profiles.quick]\nmask_every = "4"',
            "mask_every = '4' in profile quick: expected a non-negative integer",
        ),
        (
            "[profiles.quick]",
            "[profiles.quick]\nmask_every = [0, -2]",
            "mask_every = -2 in profile quick: expected a non-negative integer",
        ),
        ("[profiles.quick]", "[profiles.quick]\ndevice = 0", "device = 0 in profile quick: expected a string"),
        ("[profiles.quick]", '[profiles.quick]\ndevice = ""', "device = '' in profile quick: expected a string"),
        (
            "[profiles.quick]",
            '[profiles.quick]\ndevice = ["cpu", "cuda"]',
            r"device = \['cpu', 'cuda'\] in profile quick: expected a string .*not an axis",
        ),
        (
            "[profiles.quick]",
            "[profiles.quick]\nmask_evry = 2",
            "unknown key 'mask_evry' in profile quick \\(did you mean 'mask_every'\\?\\)",
        ),
        (
            "seed = [0, 1]",
            "seed = [0, 1]\ndevise = 'cuda'",
            "unknown key 'devise' in table base \\(did you mean 'device'\\?\\)",
        ),
        ("[profiles.quick]", "[[grid]]\nprofile = 'x'\n[profiles.quick]", "unknown key 'profile' in grid block 1"),
        ("epochs = 1", 'epochs = 1\nupdate_period = "2 weeks"', "update-period '2 weeks'"),
        ('model = "mlp-small"', 'model = "mlp-huge"', "model 'mlp-huge' is not one of: .*mlp-small"),
        ('dataset = "digits"', 'dataset = "mnist"', "dataset 'mnist' is not one of: digits"),
        ("[base]", "[base\n", "not valid TOML"),
    ],
)
def test_bad_specs_are_one_line_errors(tmp_path, old, new, match):
    with pytest.raises(SpecError, match=match) as e:
        plan(tmp_path, TINY.replace(old, new))
    assert "spec.toml" in str(e.value) and "\n" not in str(e.value)


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "nope.toml")


def test_unknown_executor_lists_allowed(tmp_path):
    spec, runs = plan(tmp_path, TINY)
    with pytest.raises(SpecError, match="'ssh' is not one of: local, slurm, submitit-local"):
        execute(runs, executor="ssh", jobs=1, dry_run=True, spec=spec, slurm={})
    with pytest.raises(SpecError, match="--jobs 0"):
        execute(runs, executor="local", jobs=0, dry_run=True, spec=spec, slurm={})


# -- status and dry run --------------------------------------------------------------------------


def _set_status(run: PlannedRun, status: str) -> None:
    p = run.path / "run.json"
    m = json.loads(p.read_text())
    m["status"] = status
    p.write_text(json.dumps(m))


def _fake_run(run: PlannedRun, status: str) -> None:
    """A minimal run directory with a valid run.json, through the one writer."""
    from fwanalysis.artifacts import RunWriter

    w = RunWriter(
        run.study, {"model": run.cfg.model, "seed": run.cfg.seed}, {"w": (2, 2)}, run_id=run.run_id, exist="overwrite"
    )
    w.write_masks(0, {"w": [[True, False], [True, True]]})
    if status != "running":
        w.close(status)


def test_status_missing_complete_running_failed(tmp_path):
    _, runs = plan(tmp_path, TINY)
    run = runs[0]
    assert run.status() == "missing"
    _fake_run(run, "running")
    assert run.status() == "running"
    _fake_run(run, "complete")
    assert run.status() == "complete"
    _fake_run(run, "failed")
    assert run.status() == "failed"
    (run.path / "run.json").write_text("{not json")
    assert run.status() == "failed"
    assert runs[1].status() == "missing"


def test_time_limit_warning_is_reported_with_the_status_left(tmp_path):
    """A Slurm task stopped by submitit's warning before its time limit: the summary line says what its
    run.json says now, "marked failed" only when it is."""
    _, runs = plan(tmp_path, TINY)
    run = runs[0]
    warned = RuntimeError("Job not requeued because: timed-out and not checkpointable.")
    _fake_run(run, "failed")
    assert sweep._job_error(warned, "--time 3 min", run) == (
        "timed out: Slurm's signal before its time limit (--time 3 min) stopped it and it was marked failed"
    )
    _fake_run(run, "running")  # killed before its writer could mark it
    assert sweep._job_error(warned, "--time 3 min", run).endswith("stopped it and its run.json was left 'running'")
    assert sweep._job_error(ValueError("bad lr"), "--time 3 min", run) == "ValueError: bad lr"


def test_pool_answers_a_dead_worker_fails_its_run_unless_it_was_complete(tmp_path):
    """What the local sweep makes of the pool's answers: a worker that died holding a run fails that run
    (with how it died), except a run it had already marked complete, whose stale lock goes at once."""
    import socket
    import subprocess
    import sys

    _, runs = plan(tmp_path, TINY.replace("seed = [0, 1]", "seed = [0, 1, 2, 3]"))
    outcomes, failures = {}, []
    sweep._pool_answer(runs[0], "ok", ("trained", "somewhere"), outcomes, failures)
    sweep._pool_answer(runs[1], "error", "ValueError: bad lr", outcomes, failures)
    _fake_run(runs[2], "running")
    sweep._pool_answer(runs[2], "died", "killed by SIGKILL", outcomes, failures)
    assert outcomes == {runs[0].run_id: ("trained", "somewhere")}
    assert failures == [
        (runs[1].run_id, "ValueError: bad lr"),
        (
            runs[2].run_id,
            "not done: its worker process died, killed by SIGKILL (the out-of-memory killer, or kill -9); "
            "the other runs went on",
        ),
    ]
    # killed between marking its run complete and removing its lock
    _fake_run(runs[3], "complete")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = Path(runs[3].study) / ".locks" / f"{runs[3].run_id}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(
        json.dumps(
            {
                "run_id": runs[3].run_id,
                "host": socket.gethostname(),
                "pid": dead.pid,
                "time": "2026-01-01T00:00:00Z",
                "token": "t" * 32,
            }
        )
    )
    sweep._pool_answer(runs[3], "died", "killed by SIGKILL", outcomes, failures)
    assert outcomes[runs[3].run_id] == ("trained", str(runs[3].path)) and len(failures) == 2
    assert not lock.exists()


def _fake_scontrol(tmp_path, monkeypatch, *, cluster="c1", jobs=None):
    """A ``scontrol`` on PATH answering ``show config`` with ClusterName and ``show job -o ID`` from ``jobs``
    (id -> state; an id not there: "Invalid job id specified", exit 1)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    lines = [
        "#!/bin/sh",
        f'if [ "$1 $2" = "show config" ]; then echo "ClusterName             = {cluster}"; exit 0; fi',
        'case "$4" in',
        *(
            f'{job}) echo "JobId={job} JobName=fw ArrayJobId=340 ArrayTaskId=0 JobState={state} Reason=None";;'
            for job, state in (jobs or {}).items()
        ),
        '*) echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1;;',
        "esac",
    ]
    script = bin_dir / "scontrol"
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    sweep._cluster_name.cache_clear()  # asked again: of the fake scontrol


@pytest.mark.parametrize(
    "state, ended",
    [
        ("TIMEOUT", True),
        ("CANCELLED+", True),
        ("NODE_FAIL", True),
        ("OUT_OF_MEMORY", True),
        ("RUNNING", False),
        ("COMPLETING", False),
        ("PENDING", False),
        ("SUSPENDED", False),
    ],
)
def test_slurm_job_ended_asks_the_controller(tmp_path, monkeypatch, state, ended):
    _fake_scontrol(tmp_path, monkeypatch, jobs={"345": state})
    assert sweep.slurm_job_ended({"host": "node7", "pid": 1, "slurm_job": "345", "slurm_cluster": "c1"}) is ended


def test_slurm_job_ended_only_for_a_job_of_this_cluster_that_it_knows_has_ended(tmp_path, monkeypatch):
    _fake_scontrol(tmp_path, monkeypatch, jobs={"345": "RUNNING"})
    rec = {"host": "node7", "pid": 1, "slurm_job": "345", "slurm_cluster": "c1"}
    assert sweep.slurm_job_ended({**rec, "slurm_job": "999"})  # forgotten by the controller: ended long ago
    assert not sweep.slurm_job_ended({**rec, "slurm_job": "999", "slurm_cluster": "other"})  # another cluster's job
    assert not sweep.slurm_job_ended({"host": "node7", "pid": 1})  # not taken in a Slurm job
    assert not sweep.slurm_job_ended({**rec, "slurm_job": "345; rm -rf /"})
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))  # no Slurm here at all
    sweep._cluster_name.cache_clear()
    assert not sweep.slurm_job_ended({**rec, "slurm_job": "999"})


def test_a_sweep_takes_over_the_lock_a_killed_slurm_task_left_on_another_host(tmp_path, monkeypatch):
    """Multi-node: a task killed at its time limit on node7 left its lock; Slurm says TIMEOUT, so the
    next sweep (here, on another host) trains the run; a lock of a job still running is respected."""
    _fake_scontrol(tmp_path, monkeypatch, jobs={"345": "TIMEOUT", "346": "RUNNING"})
    spec, runs = plan(tmp_path, TINY)
    for run, job in zip(runs, ("345", "346")):
        lock = Path(run.study) / ".locks" / f"{run.run_id}.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text(
            json.dumps(
                {
                    "run_id": run.run_id,
                    "host": "node7",
                    "pid": 4242,
                    "time": "2026-01-01T00:00:00Z",
                    "token": "t" * 32,
                    "slurm_job": job,
                    "slurm_cluster": "c1",
                }
            )
        )
    assert runs[0].holder() is None and runs[1].holder()["slurm_job"] == "346"
    trained = []
    monkeypatch.setattr(sweep, "_train_one", lambda r: trained.append(r.run_id) or str(r.path))
    execute(runs, jobs=1, spec=spec)
    assert trained == [runs[0].run_id]
    assert not (Path(runs[0].study) / ".locks" / f"{runs[0].run_id}.lock").exists()


def test_dry_run_prints_the_plan_and_trains_nothing(tmp_path, capsys, monkeypatch):
    spec, runs = plan(tmp_path, SPEC)
    _fake_run(runs[2], "complete")
    monkeypatch.setattr(sweep, "_train_one", lambda run: pytest.fail("dry run trained"))
    assert execute(runs, executor="local", jobs=1, dry_run=True, spec=spec, slurm={}) == []
    out = capsys.readouterr().out
    for r in runs:
        assert r.run_id in out
    assert "complete" in out and "missing" in out and "snip" in out
    assert "15 runs: 1 complete, 14 to train" in out
    assert not runs[0].path.exists()


def test_cli_dry_run_and_failure_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from trainer.cli import app

    p = write_spec(tmp_path, TINY)
    res = CliRunner().invoke(app, ["sweep", str(p), "--out", str(tmp_path / "s"), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "2 runs: 0 complete, 2 to train" in res.output

    bad = write_spec(
        tmp_path, TINY.replace("[profiles.quick]", "[[grid]]\ndenisty = 0.1\n[profiles.quick]"), "bad.toml"
    )
    res = CliRunner().invoke(app, ["sweep", str(bad), "--dry-run"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert (
        res.output.startswith("error: ")
        and "bad.toml: unknown key 'denisty' in grid block 1 (did you mean" in res.output
    )

    def boom(run):
        raise RuntimeError("out of memory\nsecond line")

    monkeypatch.setattr(sweep, "_train_one", boom)
    res = CliRunner().invoke(app, ["sweep", str(p), "--out", str(tmp_path / "s")])
    assert res.exit_code == 1
    errs = [line for line in res.output.splitlines() if line.startswith(("error:", "failed:"))]
    assert len([line for line in errs if line.startswith("failed: ")]) == 2
    assert any(line.endswith(": RuntimeError: out of memory") for line in errs)
    assert any(line.startswith("error: 2 of 2 runs failed") for line in errs)
    assert "Traceback" not in res.output


def test_cli_several_specs_are_one_sweep(tmp_path):
    """Two specs, one of them given twice: one plan, each run once, in one pool; the trained runs carry
    their own spec's name."""
    from typer.testing import CliRunner

    from fwanalysis.artifacts import find_runs
    from trainer.cli import app

    a = write_spec(tmp_path, TINY)
    b = write_spec(
        tmp_path, TINY.replace('name = "tiny"', 'name = "other"').replace("seed = [0, 1]", "seed = 5"), "other.toml"
    )
    study = tmp_path / "s"
    res = CliRunner().invoke(app, ["sweep", str(a), str(b), str(a), "--out", str(study), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "3 runs: 0 complete, 3 to train" in res.output and "sweep tiny + other + tiny" in res.output
    res = CliRunner().invoke(app, ["sweep", str(a), str(b), "--out", str(study), "--jobs", "2"])
    assert res.exit_code == 0, res.output
    assert "trained 3 of 3 runs here" in res.output
    runs = find_runs([study])
    assert sorted((r.config["sweep"], r.config["seed"]) for r in runs) == [("other", 5), ("tiny", 0), ("tiny", 1)]
    assert all(r.status == "complete" for r in runs)
    res = CliRunner().invoke(app, ["sweep", str(a), str(b), "--executor", "slurm", "--format", "json"])
    assert res.exit_code == 1 and res.output.startswith("error: --format json prints one document")


# -- execution -----------------------------------------------------------------------------------


def test_local_sweep_trains_resumes_and_reports_failures(tmp_path, monkeypatch, capsys):
    spec, runs = plan(tmp_path, TINY)
    trained = execute(runs, executor="local", jobs=1, dry_run=False, spec=spec, slurm={})
    assert [r.run_id for r in trained] == [r.run_id for r in runs]
    for r in runs:
        run = load_run(r.path)
        assert run.status == "complete" and run.run_id == r.run_id
        assert run.config["seed"] == r.cfg.seed and run.config["density"] == 0.2 and run.shadow_criteria == []
        assert run.summary["test_acc"] is not None

    # nothing left to do
    calls = []
    real = sweep._train_one
    monkeypatch.setattr(sweep, "_train_one", lambda run: calls.append(run.run_id) or real(run))
    assert execute(runs, executor="local", jobs=1, dry_run=False, spec=spec, slurm={}) == []
    assert calls == []

    # a run left "running" by a dead process is trained again; the complete one is not touched
    _set_status(runs[1], "running")
    before = (runs[0].path / "run.json").stat().st_mtime_ns
    execute(runs, executor="local", jobs=1, dry_run=False, spec=spec, slurm={})
    assert calls == [runs[1].run_id]
    assert runs[1].status() == "complete"
    assert (runs[0].path / "run.json").stat().st_mtime_ns == before

    # a failing run does not stop the others; failures are listed and counted
    _set_status(runs[0], "failed")
    _set_status(runs[1], "failed")
    calls.clear()

    def flaky(run):
        calls.append(run.run_id)
        if run.run_id == runs[0].run_id:
            raise ValueError("bad things")
        return real(run)

    monkeypatch.setattr(sweep, "_train_one", flaky)
    capsys.readouterr()
    with pytest.raises(SweepFailed, match="1 of 2 runs failed"):
        execute(runs, executor="local", jobs=1, dry_run=False, spec=spec, slurm={})
    assert calls == [r.run_id for r in runs]
    assert f"failed: {runs[0].run_id}: ValueError: bad things" in capsys.readouterr().err
    assert runs[1].status() == "complete"


@pytest.mark.slow  # a real process pool
def test_local_pool_with_two_jobs(tmp_path):
    spec, runs = plan(tmp_path, TINY.replace("seed = [0, 1]", "seed = [2, 3]"))
    execute(runs, executor="local", jobs=2, dry_run=False, spec=spec, slurm={})
    assert [r.status() for r in runs] == ["complete", "complete"]


@pytest.mark.slow  # every run a submitit subprocess
def test_submitit_local_executor(tmp_path, capsys):
    spec, runs = plan(tmp_path, TINY.replace("seed = [0, 1]", "seed = 4"))
    bad = dataclasses.replace(
        runs[0], run_id="bad-run", cfg=dataclasses.replace(runs[0].cfg, dataset="no-such-data")
    )  # not a registry name: planned by hand
    folder = str(tmp_path / "submitit")
    with pytest.raises(SweepFailed, match="1 of 2 runs failed"):
        execute(
            runs + [bad],
            executor="submitit-local",
            jobs=1,
            dry_run=False,
            spec=spec,
            slurm={"folder": folder, "time": 5},
        )
    assert runs[0].status() == "complete"
    err = capsys.readouterr().err
    assert "failed: bad-run: " in err and "(log: " in err
    assert any((tmp_path / "submitit").iterdir())


# -- the documentation's run-id example --------------------------------------------------------------


def test_docs_run_id_example_is_what_expand_gives(tmp_path):
    """docs/sweeps.md shows a spec and the run id it produces; both must stay true."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "sweeps.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- run-id-example[^>]*-->\s*```toml\n(.*?)```.*?```\n(\S+)\n```", doc, re.S)
    assert m, "docs/sweeps.md lost its run-id example (a toml block, then a block holding the id)"
    spec_text, run_id = m.group(1), m.group(2)
    _, runs = plan(tmp_path, spec_text)
    assert [r.run_id for r in runs] == [run_id]
    # what the docs say is part of the id: the spec's name; and what is not: the device
    _, renamed = plan(tmp_path, spec_text.replace('name = "example"', 'name = "other"'), name="other.toml")
    assert renamed[0].run_id != run_id and renamed[0].run_id.rsplit("-", 1)[0] == run_id.rsplit("-", 1)[0]
    _, on_gpu = plan(
        tmp_path, spec_text.replace("[profiles.quick]", '[profiles.quick]\ndevice = "cuda"'), name="gpu.toml"
    )
    assert on_gpu[0].run_id == run_id


def test_dry_run_prints_a_spec_name_with_markup_as_written(tmp_path, capsys):
    """The plan's title and cells are plain text: a spec named like a rich tag neither vanishes nor crashes."""
    spec, runs = plan(tmp_path, TINY.replace('name = "tiny"', 'name = "[/bold]tiny[red]"'))
    execute(runs, executor="local", jobs=1, dry_run=True, spec=spec, slurm={})
    assert "[/bold]tiny[red]" in capsys.readouterr().out


# -- the profile label, the layout and the JSON listing --------------------------------------------------

TWINS = """
name = "twins"
[base]
model = "mlp-small"
dataset = "digits"
epochs = 1
method = "dst"
criterion = "magnitude"
density = 0.2
shadow = "none"
[profiles.quick]
[profiles.paper]
"""

# three tiny runs: dst in steps, dst in epochs with a mask snapshot every update, and dense
THREE = """
name = "three"
[base]
model = "mlp-small"
dataset = "digits"
epochs = 2
density = 0.2
shadow = "none"
[[grid]]
method = "dst"
criterion = "magnitude"
update_period = 3
[[grid]]
method = "dst"
criterion = "snip"
update_period = "1ep"
shadow = "snip"
mask_every = 1
[[grid]]
method = "dense"
[profiles.quick]
"""

_RECORDING = ("shadow", "state", "mask_every")


def test_profile_is_a_label_in_config_and_part_of_the_run_id(tmp_path):
    """Two profiles that change nothing: the same configs but for the label, so two run ids."""
    from fwanalysis.vocab import LABEL_KEYS

    assert {"sweep", "profile"} <= set(LABEL_KEYS)
    _, quick = plan(tmp_path, TWINS)
    _, paper = plan(tmp_path, TWINS, profile="paper")
    assert quick[0].cfg.extra == {"sweep": "twins", "profile": "quick"} and paper[0].cfg.extra["profile"] == "paper"
    assert dataclasses.replace(quick[0].cfg, extra={}) == dataclasses.replace(paper[0].cfg, extra={})
    assert quick[0].run_id != paper[0].run_id
    assert quick[0].run_id.rsplit("-", 1)[0] == paper[0].run_id.rsplit("-", 1)[0]  # the readable prefix is alike
    assert quick[0].config()["profile"] == "quick" and paper[0].config()["profile"] == "paper"
    # both go to <out>/<model>/ and never collide there
    assert quick[0].study == paper[0].study and quick[0].path != paper[0].path


def test_listing_is_the_manifest_config_in_expansion_order(tmp_path):
    """listing(): one entry per run in expansion order; config holds every TrainConfig field (mest_lambda as
    criterion_params, as run.json), the labels and the recording keys; dense runs drop the DST keys."""
    import fwanalysis.artifacts.schema as schema
    from trainer.config import OMITTED_AT_DEFAULT, TrainConfig

    _, runs = plan(tmp_path, THREE)
    doc = sweep.listing(runs)
    assert list(doc) == ["runs"] and [e["run_id"] for e in doc["runs"]] == [r.run_id for r in runs]
    assert all(list(e) == ["run_id", "config", "done"] and e["done"] is False for e in doc["runs"])
    # keys added after runs had ids are written only when set (these runs leave them at their defaults)
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"extra", "mest_lambda", *OMITTED_AT_DEFAULT}
    for e in doc["runs"]:
        c = e["config"]
        assert set(c) == fields | {"criterion_params", "sweep", "profile", *_RECORDING}
        assert set(schema.CONFIG_KEYS) <= set(c)
        assert c["sweep"] == "three" and c["profile"] == "quick"
        json.dumps(c, allow_nan=False)  # plain JSON
    dst, dst_ep, dense = (e["config"] for e in doc["runs"])
    assert dst["update_period"] == 3 and dst["update_end"] is None and dst["criterion_params"] == {"mest_lambda": 1.0}
    assert (
        dst["lr_milestones"] == [1, 2] and dst["lr"] == 0.1 and dst["init"] == "er"
    )  # filled as the trainer fills them
    assert dst_ep["update_period"] == "1ep" and (dst_ep["shadow"], dst_ep["mask_every"]) == ("snip", 1)
    assert dense["density"] == 1.0 and dense["init"] == "dense" and dense["criterion_params"] is None
    assert dense["update_period"] is None and dense["prune_fraction"] is None and dense["criterion"] is None
    assert (dense["shadow"], dense["state"], dense["mask_every"]) == ("none", "none", 0)


def test_dry_run_json_is_one_document_on_stdout(tmp_path, capsys, monkeypatch):
    spec, runs = plan(tmp_path, SPEC)
    _fake_run(runs[2], "complete")
    monkeypatch.setattr(sweep, "_train_one", lambda run: pytest.fail("dry run trained"))
    assert execute(runs, dry_run=True, spec=spec, fmt="json") == []
    cap = capsys.readouterr()
    doc = json.loads(cap.out)  # the whole of stdout
    assert [e["run_id"] for e in doc["runs"]] == [r.run_id for r in runs]
    assert [e["done"] for e in doc["runs"]] == [i == 2 for i in range(len(runs))]
    assert "15 runs: 1 complete, 14 to train" in cap.err and "15 runs" not in cap.out
    with pytest.raises(SpecError, match="--format 'csv' is not one of: table, json"):
        execute(runs, dry_run=True, spec=spec, fmt="csv")


def _check_written(entry: dict, run_dir: Path) -> None:
    """What a sweep wrote for a run equals what its dry run listed: every config key of run.json, the
    same value; only values that depend on the data set's size (an update period in epochs, the end of
    updates left unset) were listed as planned; the recording keys as recorded."""
    from trainer.config import steps_of

    m = json.loads((run_dir / "run.json").read_text())
    listed, written = dict(entry["config"]), m["config"]
    recording = {k: listed.pop(k) for k in _RECORDING}
    assert set(listed) == set(written), set(listed) ^ set(written)
    for key, v in listed.items():
        if v != written[key]:
            assert key in ("update_period", "update_end"), (key, v, written[key])
            assert v is None or isinstance(v, str) and steps_of(v, steps_per_epoch=10**6, name=key) % 10**6 == 0
    assert m["run_id"] == entry["run_id"] and m["status"] == "complete"
    shadow = {"all": None, "none": []}.get(recording["shadow"], recording["shadow"].split(","))
    if shadow is not None:
        assert m["shadow_criteria"] == shadow
    if written["method"] == "dst" and recording["mask_every"]:  # a snapshot at every update, and the ends
        assert set(m["update_steps"]) <= set(m["mask_steps"])


def test_cli_dry_run_json_matches_what_the_sweep_writes(tmp_path):
    """--dry-run --format json, then the sweep: the run ids and configs listed are what is written, to
    <out>/<model>/<run-id>/; a second sweep trains nothing and the listing says done."""
    from typer.testing import CliRunner

    from trainer.cli import app

    p, out = write_spec(tmp_path, THREE), tmp_path / "out"
    cli = CliRunner()
    res = cli.invoke(app, ["sweep", str(p), "--out", str(out), "--dry-run", "--format", "json"])
    assert res.exit_code == 0, res.output
    planned = json.loads(res.stdout)
    assert len(planned["runs"]) == 3 and not any(e["done"] for e in planned["runs"])
    assert "3 runs: 0 complete, 3 to train" in res.stderr
    assert not out.exists()  # a dry run writes nothing

    res = cli.invoke(app, ["sweep", str(p), "--out", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    after = json.loads(res.stdout)  # the same listing, read again after training: stdout holds nothing else
    assert [e["run_id"] for e in after["runs"]] == [e["run_id"] for e in planned["runs"]]
    assert [e["config"] for e in after["runs"]] == [e["config"] for e in planned["runs"]]
    assert all(e["done"] for e in after["runs"])
    assert "trained 3 of 3 runs here" in res.stderr
    assert sorted(d.name for d in out.iterdir()) == ["mlp-small"]
    assert sorted(d.name for d in (out / "mlp-small").iterdir() if d.name != ".locks") == sorted(
        e["run_id"] for e in planned["runs"]
    )
    assert list((out / "mlp-small" / ".locks").glob("*")) == []
    for e in planned["runs"]:
        _check_written(e, out / "mlp-small" / e["run_id"])

    stamps = {e["run_id"]: (out / "mlp-small" / e["run_id"] / "run.json").stat().st_mtime_ns for e in planned["runs"]}
    res = cli.invoke(app, ["sweep", str(p), "--out", str(out)])  # again: every run is done where it is
    assert res.exit_code == 0, res.output
    assert "3 runs: 3 complete, 0 to train" in res.stderr and "trained 0 of 3 runs here" in res.stderr
    assert {k: (out / "mlp-small" / k / "run.json").stat().st_mtime_ns for k in stamps} == stamps
    res = cli.invoke(app, ["sweep", str(p), "--out", str(out), "--dry-run", "--format", "json"])
    assert all(e["done"] for e in json.loads(res.stdout)["runs"])
    res = cli.invoke(app, ["sweep", str(p), "--out", str(out), "--dry-run"])  # the table says so too
    assert res.exit_code == 0 and "3 runs: 3 complete, 0 to train" in res.stdout


def test_cli_json_after_failed_runs_and_default_out(tmp_path, monkeypatch):
    """A sweep with --format json prints its listing even when runs failed (exit 1, the error on stderr);
    without --out the runs go to artifacts/<model>/."""
    from typer.testing import CliRunner

    from trainer.cli import app

    def boom(run):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(sweep, "_train_one", boom)
    monkeypatch.chdir(tmp_path)
    p = write_spec(tmp_path, TINY)
    res = CliRunner().invoke(app, ["sweep", str(p), "--format", "json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert len(doc["runs"]) == 2 and not any(e["done"] for e in doc["runs"])
    assert "error: 2 of 2 runs failed" in res.stderr and "failed: " in res.stderr
    _, runs = plan(tmp_path, TINY)
    assert [e["run_id"] for e in doc["runs"]] == [r.run_id for r in runs]
    (run,) = expand(load_spec(p), profile="quick")[:1]
    assert run.path == Path("artifacts") / "mlp-small" / run.run_id
    res = CliRunner().invoke(app, ["sweep", str(p), "--dry-run", "--format", "csv"])
    assert res.exit_code == 1 and res.stdout == "" and "--format 'csv' is not one of: table, json" in res.stderr


def test_slurm_tasks_get_absolute_paths(tmp_path, monkeypatch):
    """A Slurm task may start elsewhere: the runs it gets name their --out absolutely, and train into
    <out>/<model>/<run-id> as a local sweep would."""
    import submitit

    monkeypatch.chdir(tmp_path)
    spec = load_spec(write_spec(tmp_path, TINY.replace("seed = [0, 1]", "seed = 5")))
    runs = expand(spec, profile="quick", out="rel")
    sent = []
    real_map = submitit.AutoExecutor.map_array
    monkeypatch.setattr(
        submitit.AutoExecutor, "map_array", lambda self, fn, items: sent.extend(items) or real_map(self, fn, items)
    )
    folder = str(tmp_path / "submitit")
    execute(runs, executor="submitit-local", spec=spec, slurm={"folder": folder, "time": 5})
    assert [r.out for r in sent] == [str(tmp_path / "rel")] and sent[0].path == tmp_path / "rel" / "mlp-small" / runs[
        0
    ].run_id
    assert runs[0].status() == "complete" and (tmp_path / "rel" / "mlp-small" / runs[0].run_id / "run.json").is_file()


def test_docs_dry_run_json_example_is_what_the_listing_gives(tmp_path):
    """docs/sweeps.md shows the --dry-run --format json document of its run-id example; it must stay true."""
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "sweeps.md").read_text(encoding="utf-8")
    spec_text = re.search(r"<!-- run-id-example[^>]*-->\s*```toml\n(.*?)```", doc, re.S).group(1)
    m = re.search(r"<!-- dry-run-json-example[^>]*-->\s*```json\n(.*?)```", doc, re.S)
    assert m, "docs/sweeps.md lost its dry-run JSON example"
    _, runs = plan(tmp_path, spec_text)
    assert json.loads(m.group(1)) == sweep.listing(runs)


def test_setups_pair_keys_instead_of_multiplying_them(tmp_path):
    """``setups``: each table's keys go together (a model with its data set and epochs); its own lists are
    axes, multiplied with the block's other axes."""
    p = write_spec(
        tmp_path,
        """
        name = "pairs"
        [base]
        method = "dst"
        density = [0.1, 0.2]
        [profiles.quick]
        setups = [
          { model = "mlp-small", epochs = 2 },
          { model = "cnn-small", epochs = 3, seed = [0, 1] },
        ]
    """,
    )
    runs = expand(load_spec(p), profile="quick", out=str(tmp_path))
    got = sorted((r.cfg.model, r.cfg.epochs, r.cfg.density, r.cfg.seed) for r in runs)
    assert got == sorted(
        [("mlp-small", 2, d, 0) for d in (0.1, 0.2)] + [("cnn-small", 3, d, s) for d in (0.1, 0.2) for s in (0, 1)]
    )
    for bad, msg in [
        ('setups = "mlp-small"', "setups in profile quick must be a non-empty list of tables"),
        ('setups = [{ modle = "mlp-small" }]', "unknown key 'modle' in profile quick, setup 1 (did you mean 'model'?)"),
        ("setups = [{ setups = [] }]", "unknown key 'setups' in profile quick, setup 1"),
    ]:
        q = write_spec(tmp_path, f'name = "x"\n[profiles.quick]\n{bad}\n', name="bad.toml")
        with pytest.raises(SpecError, match=re.escape(msg)):
            load_spec(q)


def test_slurm_task_states_are_read_per_task_and_bare():
    """sacct/scontrol lines: an array's pending range is one key per task, a plain job its id, and a state
    is bare (``CANCELLED by 0``, ``COMPLETED+``)."""
    out: dict = {}
    put = sweep._SlurmStates._put
    put(out, "123_4", "CANCELLED by 0")
    put(out, "123_[5-7%2]", "PENDING")
    put(out, "124", "COMPLETED+")
    put(out, "125_1", "")  # no state: nothing
    assert out == {"123_4": "CANCELLED", "123_5": "PENDING", "123_6": "PENDING", "123_7": "PENDING", "124": "COMPLETED"}
    fields = sweep._scontrol_fields("JobId=345 ArrayJobId=340 ArrayTaskId=0 JobState=TIMEOUT Reason=TimeLimit")
    assert (fields["JobId"], fields["ArrayTaskId"], sweep._slurm_state(fields["JobState"])) == ("345", "0", "TIMEOUT")
