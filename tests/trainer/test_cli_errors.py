"""`fw-train` refuses bad input with one `error:` line on stderr and exit code 1: no traceback, and
nothing written that claims to be complete. User text is printed literally; piped tables are never cut."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trainer.cli import app
from trainer.config import ConfigError, TrainConfig, check

runner = CliRunner()
QUICK = ["--epochs", "1", "--no-progress", "--shadow", "none"]  # a run that trains takes about a second


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def run(*args):
    """``fw-train run`` of a quick run; ``args`` come last, so they override QUICK."""
    return invoke("run", *QUICK, *args)


def assert_one_error(res, *needles: str, code: int = 1) -> str:
    """Exit ``code``, stdout empty, stderr exactly one line ``error: ...`` holding every needle."""
    assert res.exit_code == code, (res.exit_code, res.output, res.exception)
    assert "Traceback" not in res.output
    assert res.stdout == "", res.stdout
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def assert_never_complete(out: Path) -> None:
    for manifest in out.rglob("run.json"):
        assert json.loads(manifest.read_text())["status"] != "complete", manifest


# -- 1. registry and choice options ------------------------------------------------------------------


def test_every_unknown_choice_is_one_error_line(tmp_path):
    out = tmp_path / "study"
    for option in (
        "--dataset",
        "--model",
        "--method",
        "--criterion",
        "--growth",
        "--init",
        "--prune-schedule",
        "--pruning-scope",
        "--state",
        "--shadow",
        "--device",
    ):
        res = run("--out", out, option, "nope")
        assert_one_error(res, "'nope'")
        assert not out.exists(), f"{option}: something was written"
    for command in ("models", "datasets"):
        assert_one_error(invoke(command, "--format", "nope"), "--format", "'nope'", "table, csv, json")


def test_unusable_device_is_one_error_line(tmp_path, monkeypatch):
    import torch

    cases = (
        ["meta", "cuda:x"]
        + ([] if torch.cuda.is_available() else ["cuda"])
        + ([] if torch.backends.mps.is_available() else ["mps"])
    )
    for device in cases:
        assert_one_error(run("--device", device, "--out", tmp_path / "s"), "--device", device)
    # a CUDA index past the GPUs there are (one GPU, simulated)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert_one_error(
        run("--device", "cuda:3", "--out", tmp_path / "s"), "--device cuda:3", "1 CUDA device(s), cuda:0 to cuda:0"
    )
    assert not (tmp_path / "s").exists()


# -- 2. seeds ----------------------------------------------------------------------------------------


def test_seed_must_be_in_range(tmp_path):
    for seed in ("-1", "4294967296"):
        assert_one_error(run("--seed", seed, "--out", tmp_path / "s"), f"--seed {seed}", "[0, 4294967295]")
    assert not (tmp_path / "s").exists()
    check(TrainConfig(seed=0))
    check(TrainConfig(seed=2**32 - 1))  # the largest seed every source of randomness takes
    from trainer.data import load_dataset

    assert len(load_dataset("digits", seed=2**32 - 1).train[0]) > 1000


# -- 3. where the run is written ---------------------------------------------------------------------


def test_out_below_or_at_a_regular_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("somefile").write_text("not a directory\n")
    assert_one_error(run("--out", "somefile/study"), "--out somefile/study", "somefile is not a directory")
    assert_one_error(run("--out", "somefile"), "--out somefile", "not a directory")
    assert Path("somefile").read_text() == "not a directory\n"


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="root ignores permission bits; the simulated case below covers it"
)
def test_out_read_only_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert_one_error(run("--out", ro), str(ro), "permission denied")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_out_not_writable_simulated(tmp_path, monkeypatch):
    """A directory the writer may not write into (simulated, as the tests may run as root)."""
    import trainer.loop

    out = tmp_path / "ro"

    def refuse(study_dir, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(Path(study_dir) / "some-run"))

    monkeypatch.setattr(trainer.loop, "RunWriter", refuse)
    assert_one_error(run("--out", out), f"--out {out}", str(out / "some-run"), "permission denied")
    # and the check before any data is loaded, for a directory os.access says is not writable
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if Path(p) == out else real_access(p, mode, **k))
    assert_one_error(run("--out", out), f"--out {out}", "not writable")


@pytest.mark.parametrize("failing", [("write_masks",), ("write_update",), ("write_update", "flush")])
def test_full_disk(tmp_path, monkeypatch, failing):
    """A write that finds the disk full, at the start or mid-run, and even when the failed run's own
    clean-up writes fail too: one line, exit 1, and no run.json that says complete."""
    from fwanalysis.artifacts import RunWriter

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    for name in failing:
        monkeypatch.setattr(RunWriter, name, full)
    out = tmp_path / "study"
    res = run("--out", out, "--update-period", "2")
    assert_one_error(res, "no space left on device", f"--out {out}")
    assert_never_complete(out)


def test_run_locked_by_another_writer(tmp_path):
    """A run another writer holds is refused in one line naming the lock, not as a failed write."""
    import subprocess
    import sys

    out = tmp_path / "study"
    res = run("--out", out)
    assert res.exit_code == 0, (res.output, res.exception)
    run_id = Path(res.stdout.strip()).name
    hold = (
        "import sys, time; from fwanalysis.artifacts.lock import RunLock; "
        "RunLock(sys.argv[1], sys.argv[2]).acquire(); print('held', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold, str(out), run_id], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        line = assert_one_error(run("--out", out, "--overwrite"), f"run {run_id} is locked", "another --out")
        assert "cannot write" not in line
    finally:
        holder.kill()
        holder.wait()
    assert json.loads((out / run_id / "run.json").read_text())["status"] == "complete"  # untouched


def test_unreadable_data_is_a_data_error(tmp_path, monkeypatch):
    """An OS error while the data is read names the data, not the run directory."""
    import trainer.cli
    import trainer.data
    import trainer.loop

    def unreadable(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", "/data/cifar-10-batches-py")

    monkeypatch.setattr(trainer.loop, "load_dataset", unreadable)
    line = assert_one_error(run("--out", tmp_path / "s"), "/data/cifar-10-batches-py", "ermission denied")
    assert "cannot write" not in line
    monkeypatch.setattr(trainer.data, "dataset_status", unreadable)
    assert_one_error(invoke("datasets", "--data-dir", "/data"), "/data/cifar-10-batches-py", "permission denied")


# -- 4. non-finite and out-of-range numbers ----------------------------------------------------------


def test_non_finite_numbers_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "study"
    for option in (
        "--lr",
        "--momentum",
        "--weight-decay",
        "--mest-lambda",
        "--density",
        "--prune-fraction",
        "--dropout",
    ):
        for value in ("nan", "inf", "-inf"):
            assert_one_error(run("--out", out, option, value), f"{option} {value}", "not a finite number")
            assert not out.exists(), f"{option} {value}: something was written"


def test_out_of_range_numbers_refused(tmp_path):
    out = tmp_path / "study"
    for option, value in [
        ("--lr", "0"),
        ("--lr", "-0.1"),
        ("--momentum", "1"),
        ("--momentum", "-0.1"),
        ("--weight-decay", "-1e-4"),
        ("--mest-lambda", "-1"),
        ("--density", "0"),
        ("--density", "1.5"),
        ("--prune-fraction", "1.01"),
        ("--dropout", "1"),
    ]:
        assert_one_error(run("--out", out, option, value), option)
        assert not out.exists(), f"{option} {value}: something was written"


def test_check_refuses_non_finite_and_bad_config_keys():
    for kw in (
        dict(lr=float("nan")),
        dict(lr_gamma=float("nan")),
        dict(lr_gamma=float("inf")),
        dict(lr_gamma=0.0),
        dict(weight_decay=float("-inf")),
        dict(momentum=float("nan")),
        dict(mest_lambda=float("inf")),
        dict(lr_milestones=[0, 5]),
        dict(lr_milestones=[2.5]),
        dict(epochs=True),
        dict(seed=1.0),
        dict(lr="0.1"),
        dict(nesterov="yes"),
        dict(update_period=0),
        dict(update_end="-2"),
    ):
        with pytest.raises(ConfigError) as e:
            check(TrainConfig(**kw))
        assert "\n" not in str(e.value)
    # the edges that are allowed
    check(TrainConfig(momentum=0.0, weight_decay=0.0, mest_lambda=0.0, prune_fraction=0.0, dropout=0.0, lr=1e-9))
    check(TrainConfig(lr_gamma=2.0, lr_milestones=[1, 100], update_period="0.5ep", update_end=1))


# -- 5. integer options ------------------------------------------------------------------------------


def test_integer_options_in_range(tmp_path):
    out = tmp_path / "study"
    for option, value, needle in [
        ("--mask-every", "-1", ">= 0"),
        ("--epochs", "0", ">= 1"),
        ("--epochs", "-3", ">= 1"),
        ("--batch-size", "0", ">= 1"),
        ("--update-period", "0", "at least one step"),
        ("--update-period", "-5", "at least one step"),
        ("--update-end", "0", "at least one step"),
        ("--update-period", "0ep", "more than 0 epochs"),
        ("--update-period", "²", "give steps"),
    ]:
        assert_one_error(run("--out", out, option, value), option, needle)
        assert not out.exists(), f"{option} {value}: something was written"


# -- 6. user text is never markup --------------------------------------------------------------------


def test_paths_print_literally(tmp_path):
    out = tmp_path / "[/bold]:thumbs_up:[red]"
    res = run("--out", out)
    assert res.exit_code == 0, (res.output, res.exception)
    run_dir = res.stdout.strip()
    assert run_dir.startswith(str(out)) and Path(run_dir).is_dir()
    assert res.stderr.startswith("complete ") and f"-> {run_dir}" in res.stderr
    # the same run again: refused (it is complete), the path quoted as it is
    assert_one_error(run("--out", out), run_dir, "already exists (status complete)", "pass --overwrite")
    # an error quoting user text
    assert_one_error(run("--model", "[/bold]:x:", "--out", out), "--model '[/bold]:x:'")
    # a table cell holding a user path (the located Higgs table)
    data = tmp_path / "[/bold]data:x:"
    data.mkdir()
    (data / "higgs.csv").write_text("a,target\n1,0\n")
    res = invoke("datasets", "--data-dir", data)
    assert res.exit_code == 0, (res.output, res.exception)
    assert str(data / "higgs.csv") in res.stdout


# -- 7. piped tables -----------------------------------------------------------------------------------


def test_tables_never_cut_when_piped():
    from trainer.data import DATASETS
    from trainer.models import MODELS

    res = invoke("datasets")
    assert res.exit_code == 0, res.output
    assert "…" not in res.stdout
    lines = res.stdout.splitlines()
    for spec in DATASETS.values():  # each row on one line, its longest cell whole
        assert any(spec.name in line and spec.expected in line for line in lines), spec.name
    res = invoke("models")
    assert res.exit_code == 0, res.output
    assert "…" not in res.stdout
    for name in MODELS:
        assert any(line.startswith(f"│ {name} ") for line in res.stdout.splitlines()), name


def test_reproduction_options_refused_in_one_line(tmp_path):
    out = tmp_path / "study"
    cases = [
        (("--update-order", "after"), ("--update-order", "'after'", "sparselearning, step-first")),
        (("--global-regrowth", "per-layer"), ("--global-regrowth", "--pruning-scope global")),
        (
            ("--pruning-scope", "global", "--global-regrowth", "x"),
            ("--global-regrowth", "'x'", "across-layers, per-layer"),
        ),
        (("--update-batch-size", "0"), ("--update-batch-size 0", ">= 1")),
        (("--augment", "--dataset", "mnist1d"), ("--augment", "'mnist1d'")),
        (("--regrown-weights", "reset"), ("--regrown-weights", "'reset'", "keep, zero")),
        (("--growth-count", "poisson"), ("--growth-count", "'poisson'", "exact, binomial")),
        (("--growth", "gradient", "--growth-count", "binomial"), ("--growth-count binomial", "--growth random")),
        (("--prune-rounding", "floor"), ("--prune-rounding", "'floor'", "ceil, nearest")),
        (("--prune-fraction-end", "0.6"), ("--prune-fraction-end 0.6", "[0, --prune-fraction]")),
        (
            ("--prune-schedule", "linear", "--prune-fraction-end", "0.01"),
            ("--prune-fraction-end", "--prune-schedule cosine"),
        ),
    ]
    for args, needles in cases:
        assert_one_error(run("--out", out, *args), *needles)
        assert not out.exists(), f"{args}: something was written"
    # known only once the data is read: still one line, and no run claims to be complete
    assert_one_error(run("--out", out, "--update-batch-size", "99999"), "--update-batch-size 99999", "training split")
    if importlib.util.find_spec("mnist1d") is not None:  # a conv net on 1-D signals
        assert_one_error(
            run("--out", out, "--model", "cnn-small", "--dataset", "mnist1d"),
            "--model cnn-small",
            "(1, 40)",
            "mlp-small",
        )
    assert_never_complete(out)


def test_dst_at_density_one_runs(tmp_path):
    res = run("--out", tmp_path, "--density", "1", "--criterion", "snip", "--update-period", "3")
    assert res.exit_code == 0, res.output
    m = json.loads((Path(res.stdout.strip()) / "run.json").read_text())
    assert m["config"]["method"] == "dst" and m["update_steps"] == [3] and m["config"]["update_end"] == 3
