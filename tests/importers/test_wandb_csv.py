"""fwa import wandb-csv on CSV files shaped like W&B's exports (a run's history with sparse rows, a chart export)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fwanalysis.artifacts import load_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clilib import fwa  # noqa: E402

HISTORY = """_step,_runtime,_timestamp,train/loss,val/acc,epoch,test_acc,lr,media,_wandb.runtime
0,1.5,1796160000.1,2.3,,0,,0.1,,
1,3.0,1796160001.2,1.9,,0,,0.1,,
2,4.4,1796160002.3,1.4,0.61,1,,0.05,img.png,
3,6.1,1796160003.9,1.1,0.72,2,0.7,0.01,,
"""

CHART = """Step,my-run - val/acc,my-run - val/acc__MIN,my-run - val/acc__MAX
100,0.5,0.5,0.5
200,0.625,0.625,0.625
"""


def test_history_new_run(tmp_path):
    f = tmp_path / "history.csv"
    f.write_text(HISTORY)
    r = fwa("import", "wandb-csv", f, "--out", tmp_path / "s", "--set", "model=wb", "seed=3", "--map", "test_acc=test:acc")
    assert r.exit_code == 0, r.output
    assert "media" not in r.stdout + r.stderr  # a text column is not a metric, and is not listed as one
    run = load_run(next((tmp_path / "s").rglob("run.json")).parent)
    m = run.metrics()
    rows = set(zip(m.step, m.split, m.name, m.value))
    want = {(s, "train", "loss", v) for s, v in ((0, 2.3), (1, 1.9), (2, 1.4), (3, 1.1))}
    want |= {(2, "val", "acc", 0.61), (3, "val", "acc", 0.72), (3, "test", "acc", 0.7)}
    want |= {(s, "", "lr", v) for s, v in ((0, 0.1), (1, 0.1), (2, 0.05), (3, 0.01))}
    assert rows == want
    assert dict(zip(m.step, m.epoch)) == {0: 0.0, 1: 0.0, 2: 1.0, 3: 2.0}  # from the epoch column
    assert run.config["seed"] == 3 and run.summary["test_acc"] == pytest.approx(0.7)
    assert fwa("validate", tmp_path / "s").exit_code == 0


def test_chart_export_and_steps_per_epoch(tmp_path):
    f = tmp_path / "chart.csv"
    f.write_text(CHART)
    r = fwa("import", "wandb-csv", f, "--out", tmp_path / "s", "--set", "model=wb", "denisty=0.1", "--steps-per-epoch", 100)
    assert r.exit_code == 0, r.output
    assert "denisty" in r.stderr and "model" not in r.stderr  # a key that is no config key is named
    m = load_run(next((tmp_path / "s").rglob("run.json")).parent).metrics()
    assert list(zip(m.step, m.epoch, m.split, m.name, m.value)) == [(100, 1.0, "val", "acc", 0.5), (200, 2.0, "val", "acc", 0.625)]


def test_bad_input_one_line(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("a,b\n1,2\n")
    r = fwa("import", "wandb-csv", f, "--out", tmp_path / "s")
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "--step-column" in r.stderr
    f.write_text(CHART.replace("my-run - val/acc__MAX", "other - val/acc"))
    r = fwa("import", "wandb-csv", f, "--out", tmp_path / "s")
    assert r.exit_code == 1 and "2 runs" in r.stderr
    f.write_text(CHART)
    r = fwa("import", "wandb-csv", f, "--out", tmp_path / "s", "--map", "x=bogus:loss")
    assert r.exit_code == 1 and "bogus" in r.stderr and len(r.stderr.strip().splitlines()) == 1
