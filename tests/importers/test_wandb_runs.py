"""fwa import wandb-csv on W&B runs tables (one row per run): the web UI's "Export CSV" of the runs table, W&B's
documented API export (config and summary dicts, pandas' to_csv) and its flattened form (json_normalize). Issue 22."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from clilib import fwa

from fwanalysis.artifacts import find_runs

# The runs table's "Export CSV" of W&B's web UI: W&B's run properties, then config, then summary columns. Two
# seeds of one config, their accuracy logged in percent; Runtime in seconds.
UI_EXPORT = """Name,State,Notes,User,Tags,Created,Runtime,Sweep,density,lr,model,seed,test_acc,train/loss
snip-s0,finished,-,me,"dst, snip",2026-11-30T10:00:00.000Z,3612,,0.1,0.1,resnet20,0,93.5,0.31
snip-s1,finished,-,me,"dst, snip",2026-11-30T11:00:00.000Z,3589,,0.1,0.1,resnet20,1,92.75,0.33
"""


def _import(tmp_path, text: str, *args, name: str = "runs.csv"):
    f = tmp_path / name
    f.write_text(text)
    return f, fwa("import", "wandb-csv", f, "--out", tmp_path / "s", *args)


def _runs(study: Path) -> dict:
    """{seed: run} of the study."""
    return {r.config["seed"]: r for r in find_runs(study)}


def test_the_ui_export_is_one_run_per_row(tmp_path):
    f, r = _import(tmp_path, UI_EXPORT, "--set", "dataset=cifar10")
    assert r.exit_code == 0, r.output
    assert r.stdout.count(f"imported {f} line ") == 2 and "(snip-s0)" in r.stdout and "(snip-s1)" in r.stdout
    assert "'test_acc' read as percent" in r.stderr
    runs = _runs(tmp_path / "s")
    assert sorted(runs) == [0, 1]
    for seed, acc, loss in ((0, 0.935, 0.31), (1, 0.9275, 0.33)):
        run = runs[seed]
        assert {k: run.config[k] for k in ("model", "dataset", "density", "lr", "seed")} == {
            "model": "resnet20",
            "dataset": "cifar10",
            "density": 0.1,
            "lr": 0.1,
            "seed": seed,
        }
        assert run.summary["test_acc"] == pytest.approx(acc) and run.summary["train_loss"] == pytest.approx(loss)
        assert run.manifest["imported_from"]["name"] == f"snip-s{seed}"
        assert "Runtime" not in run.config and "State" not in run.config
    assert fwa("validate", tmp_path / "s").exit_code == 0


def test_a_step_column_on_a_runs_table_is_refused(tmp_path):
    """--step-column Runtime made the runtimes steps and merged the two seeds into one run."""
    f, r = _import(tmp_path, UI_EXPORT, "--step-column", "Runtime")
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert f"{f}: a W&B runs table" in r.stderr and "without --step-column" in r.stderr
    assert not (tmp_path / "s").exists()


def test_two_rows_of_one_identity_are_refused_naming_both(tmp_path):
    text = """Name,State,Runtime,density,model,test_acc
snip-s0,finished,3612,0.1,resnet20,0.935
snip-s1,finished,3589,0.1,resnet20,0.9275
"""  # no seed column: the two rows have the same config
    f, r = _import(tmp_path, text)
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert f"{f}: line 2 (snip-s0) and line 3 (snip-s1) would be one run" in r.stderr and "never merged" in r.stderr
    assert not (tmp_path / "s").exists()
    arch = (
        text.replace("model,", "model,arch,")
        .replace("resnet20,", "resnet20,v1,", 1)
        .replace("resnet20,0", "resnet20,v2,0")
    )
    f, r = _import(tmp_path, arch)
    assert r.exit_code == 1 and "(they differ in arch, not read as config" in r.stderr  # a config fwa does not know
    assert not (tmp_path / "s").exists()


def _api_runs() -> list[dict]:
    """What W&B's API gives for two runs: run.name, run.summary._json_dict, the config without _ keys."""
    return [
        {
            "name": f"rigl-s{seed}",
            "summary": {
                "_step": 719,
                "_runtime": 3600.5,
                "_timestamp": 1.7e9,
                "_wandb": {"runtime": 3600},
                "test_acc": 0.91 + seed / 100,
                "val": {"acc": 0.9},
                "epoch": 20,
                "samples": {"_type": "table-file", "path": "x.json"},
            },
            "config": {"model": "vgg", "density": 0.05, "seed": seed, "optimizer": "sgd", "lr_milestones": [10, 15]},
        }
        for seed in (0, 1)
    ]


def test_the_documented_api_export(tmp_path):
    """W&B's docs: runs_df = pd.DataFrame({"summary": summary_list, "config": config_list, "name": name_list});
    runs_df.to_csv("project.csv"): the dicts are written as Python writes them."""
    api = _api_runs()
    df = pd.DataFrame({k: [run[k] for run in api] for k in ("summary", "config", "name")})
    f = tmp_path / "project.csv"
    df.to_csv(f)
    r = fwa("import", "wandb-csv", f, "--out", tmp_path / "s", "--set", "dataset=cifar100")
    assert r.exit_code == 0, r.output
    assert "optimizer" in r.stderr  # kept as extra config, said so
    assert "epoch" in r.stderr and "samples.path" in r.stderr  # summary keys that are no metric: named
    runs = _runs(tmp_path / "s")
    for seed in (0, 1):
        run = runs[seed]
        assert run.total_steps == 719 and run.config["optimizer"] == "sgd" and run.config["lr_milestones"] == [10, 15]
        assert run.summary["test_acc"] == pytest.approx(0.91 + seed / 100) and run.summary["val_acc"] == 0.9
        m = run.metrics()
        assert sorted(zip(m.step, m.split, m.name)) == [(719, "test", "acc"), (719, "val", "acc")]
        assert not any(k.startswith("_") for k in run.config)
    assert fwa("validate", tmp_path / "s").exit_code == 0


def test_the_flattened_export(tmp_path):
    """pd.json_normalize of the same runs: columns name, config.<key>, summary.<key> (nested keys joined by .)."""
    df = pd.json_normalize(_api_runs())
    assert "config.seed" in df.columns and "summary.val.acc" in df.columns
    f = tmp_path / "flat.csv"
    df.to_csv(f, index=False)
    r = fwa("import", "wandb-csv", f, "--out", tmp_path / "s")
    assert r.exit_code == 0, r.output
    runs = _runs(tmp_path / "s")
    assert sorted(runs) == [0, 1] and runs[1].summary["test_acc"] == pytest.approx(0.92)
    assert runs[0].total_steps == 719 and runs[0].config["density"] == 0.05


def test_a_complete_run_in_the_way_stops_the_table_before_any_run_is_written(tmp_path):
    _, r = _import(tmp_path, UI_EXPORT.rsplit("\n", 2)[0] + "\n")  # the first row only
    assert r.exit_code == 0, r.output
    before = json.loads(next((tmp_path / "s").rglob("run.json")).read_text())
    _, r = _import(tmp_path, UI_EXPORT)
    assert r.exit_code == 1 and "line 2 (snip-s0): a complete run is at" in r.stderr and "--overwrite" in r.stderr
    assert [r.config["seed"] for r in find_runs(tmp_path / "s")] == [0]  # seed 1 not written either
    assert json.loads(next((tmp_path / "s").rglob("run.json")).read_text()) == before
    _, r = _import(tmp_path, UI_EXPORT, "--overwrite")
    assert r.exit_code == 0, r.output
    assert sorted(_runs(tmp_path / "s")) == [0, 1]


def test_a_runs_table_goes_into_a_study(tmp_path):
    f = tmp_path / "runs.csv"
    f.write_text(UI_EXPORT)
    run_dir = tmp_path / "somewhere"
    r = fwa("import", "wandb-csv", f, "--run", run_dir)
    assert r.exit_code == 1 and "one run per row" in r.stderr and "--out STUDY" in r.stderr
    _, r = _import(tmp_path, UI_EXPORT, "--run-id", "x")
    assert r.exit_code == 1 and "--run-id names one run" in r.stderr
    assert not (tmp_path / "s").exists() and not run_dir.exists()
