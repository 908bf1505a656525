"""fwa import wandb-csv on CSV files shaped like W&B's exports (a run's history with sparse rows, a chart export)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clilib import fwa

from fwanalysis.artifacts import RunWriter, load_run

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
    r = fwa(
        "import", "wandb-csv", f, "--out", tmp_path / "s", "--set", "model=wb", "seed=3", "--map", "test_acc=test:acc"
    )
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
    r = fwa(
        "import", "wandb-csv", f, "--out", tmp_path / "s", "--set", "model=wb", "denisty=0.1", "--steps-per-epoch", 100
    )
    assert r.exit_code == 0, r.output
    assert "denisty" in r.stderr and "model" not in r.stderr  # a key that is no config key is named
    m = load_run(next((tmp_path / "s").rglob("run.json")).parent).metrics()
    assert list(zip(m.step, m.epoch, m.split, m.name, m.value)) == [
        (100, 1.0, "val", "acc", 0.5),
        (200, 2.0, "val", "acc", 0.625),
    ]


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


# -- every line checked before anything is written --------------------------------------------------------------
def _import(tmp_path, text: str, *args):
    f = tmp_path / "h.csv"
    f.write_bytes(text.encode() if isinstance(text, str) else text)
    return f, fwa("import", "wandb-csv", f, "--out", tmp_path / "s", "--set", "model=wb", *args)


def _rows(study):
    m = load_run(next(Path(study).rglob("run.json")).parent).metrics()
    return sorted(zip(m.step.tolist(), m.split, m.name, m.value.tolist()))


def test_a_long_line_in_the_middle_names_it(tmp_path):
    f, r = _import(tmp_path, "_step,train/loss\n0,1.0\n1,0.5\n2,0.4,9\n3,0.3\n")
    assert r.exit_code == 1 and f"{f}: line 4: 3 fields, the header has 2" in r.stderr
    assert not (tmp_path / "s").exists()


def test_line_numbers_count_the_lines_of_a_quoted_cell(tmp_path):
    _, r = _import(tmp_path, '_step,train/loss,note\n0,1.0,"two\nlines"\n1,0.5,x,extra\n')
    assert r.exit_code == 1 and "line 4: 4 fields" in r.stderr


@pytest.mark.parametrize("step", ["-1", "2.5", "nan", "abc", "9223372036854775808"])
def test_a_bad_step_names_file_column_and_line(step, tmp_path):
    f, r = _import(tmp_path, f"_step,train/loss\n0,1.0\n{step},0.5\n")
    assert r.exit_code == 1 and f"{f}: line 3: column '_step' holds {step!r}, not a step" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "s").exists()


def test_step_forms_and_empty_steps(tmp_path):
    """Whole numbers written as floats (pandas writes a column with gaps so) are steps; the largest int64 is
    one; a line with an empty step cell is left out and said so."""
    _, r = _import(tmp_path, "_step,train/loss\n12.0,1.0\n 1.3e3 ,0.5\n,0.25\n9223372036854775807,0.125\n")
    assert r.exit_code == 0, r.output
    assert "1 lines have no value in the step column" in r.stderr
    assert _rows(tmp_path / "s") == [
        (12, "train", "loss", 1.0),
        (1300, "train", "loss", 0.5),
        (2**63 - 1, "train", "loss", 0.125),
    ]


def test_skip_bad_into_an_existing_run_is_recorded(tmp_path, dst_config):
    with RunWriter(tmp_path / "study", dst_config, {}) as w:
        w.write_masks(0, {})
    f = tmp_path / "h.csv"
    f.write_text("_step,train/loss\n0,1.0\n1,0.5,7\ninf,0.4\n3,0.25\n")
    r = fwa("import", "wandb-csv", f, "--run", w.path, "--skip-bad")
    assert r.exit_code == 0, r.output
    assert "note: --skip-bad skipped 1 lines with more or fewer fields than the header, 1 lines whose step" in r.stderr
    (entry,) = json.loads((w.path / "run.json").read_text())["imported_metrics"]
    assert entry["kind"] == "wandb-csv" and entry["source"] == str(f) and entry["rows"] == 2
    assert entry["skipped"] == {"ragged_lines": 1, "bad_step_lines": 1} and entry["at"].endswith("Z")
    assert [(s, v) for s, v in zip(load_run(w.path).metrics().step, load_run(w.path).metrics().value)] == [
        (0, 1.0),
        (3, 0.25),
    ]


def test_the_index_column_of_to_csv_is_not_a_metric(tmp_path):
    """DataFrame.to_csv writes its index as a first column without a name: named 'Unnamed: 0', as pandas names it."""
    _, r = _import(tmp_path, ",_step,train/loss\n0,0,1.0\n1,1,0.5\n")
    assert r.exit_code == 0, r.output
    assert "Unnamed: 0" in r.stderr and _rows(tmp_path / "s") == [(0, "train", "loss", 1.0), (1, "train", "loss", 0.5)]


def test_files_that_are_no_history(tmp_path, monkeypatch):
    from fwanalysis.importers import wandb_csv

    _, r = _import(tmp_path, b"_step,train/loss\n0,1.0\n1,\xff\n")
    assert r.exit_code == 1 and "line 3: not UTF-8" in r.stderr
    _, r = _import(tmp_path, "_step,loss,loss\n0,1,2\n")
    assert r.exit_code == 1 and "column 'loss' appears twice" in r.stderr
    _, r = _import(tmp_path, "")
    assert r.exit_code == 1 and "empty" in r.stderr
    monkeypatch.setattr(wandb_csv, "MAX_CSV_BYTES", 10)
    f, r = _import(tmp_path, HISTORY)
    assert r.exit_code == 1 and str(f) in r.stderr and "more than the 10 bytes" in r.stderr
    r = fwa("import", "wandb-csv", tmp_path, "--out", tmp_path / "s")
    assert r.exit_code == 1 and "a directory" in r.stderr
    assert not (tmp_path / "s").exists()


# -- a history added to a recorded run: its steps checked against the run's (issue 22) --------------------------
@pytest.fixture
def run_of_720_steps(tmp_path, dst_config):
    with RunWriter(tmp_path / "study", dst_config, {}) as w:
        w.write_masks(0, {})
        w.write_masks(720, {})
        w.log(720, 1.0, "test", "acc", 0.5)
    assert json.loads((w.path / "run.json").read_text())["total_steps"] == 720
    return w.path


def _history(tmp_path, last: int) -> Path:
    f = tmp_path / "history.csv"
    f.write_text(
        "_step,_runtime,_timestamp,train/loss\n" + "".join(f"{s},{s / 10},{1.7e9 + s},1.5\n" for s in range(last + 1))
    )
    return f


def test_a_history_past_the_run_is_refused_with_the_numbers(tmp_path, run_of_720_steps):
    """W&B's _step counts wandb.log calls: 750 of them on a run of 720 optimizer steps used to raise its
    total_steps to 749 without a word."""
    before = {p.name: p.read_bytes() for p in run_of_720_steps.iterdir() if p.is_file()}
    f = _history(tmp_path, 749)
    r = fwa("import", "wandb-csv", f, "--run", run_of_720_steps)
    assert r.exit_code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert f"{f}: steps 0–749 run past the 720 steps of the run" in r.stderr
    assert "--step-column" in r.stderr and "--extend-steps" in r.stderr
    assert {p.name: p.read_bytes() for p in run_of_720_steps.iterdir() if p.is_file()} == before
    r = fwa("import", "wandb-csv", f, "--run", run_of_720_steps, "--extend-steps")
    assert r.exit_code == 0, r.output
    assert "total_steps of" in r.stderr and "raised from 720 to 749" in r.stderr
    assert load_run(run_of_720_steps).total_steps == 749
    assert fwa("validate", tmp_path / "study").exit_code == 0
    r = fwa("import", "wandb-csv", f, "--out", tmp_path / "new", "--set", "model=m", "--extend-steps")
    assert r.exit_code == 1 and "use it with --run" in r.stderr and not (tmp_path / "new").exists()


def test_a_history_that_ends_early_is_imported_with_a_note(tmp_path, run_of_720_steps):
    r = fwa("import", "wandb-csv", _history(tmp_path, 99), "--run", run_of_720_steps)
    assert r.exit_code == 0, r.output
    assert "steps 0–99 end before half of the 720 steps" in r.stderr and "--step-column" in r.stderr
    assert load_run(run_of_720_steps).total_steps == 720
