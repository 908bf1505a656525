"""Hostile input to `fw-train sweep` and the trainer's data readers (issue 18): a spec that expands to more
runs than can ever be trained, a spec that is no text or nests too deeply, and a FIFO where a spec or a
data file should be. Each is refused with one `error:` line, at once: no traceback, no run built, no wait.

Each test here fails on fwa before this fix (75e02a7): the sweep built every run of a 10^6-run spec
(11 min and 9.5 GB under --dry-run) and stopped a 10^9-run spec only at a 32-bit run-id collision;
non-UTF-8 and deeply nested specs were tracebacks; a FIFO as the spec or as a CIFAR batch blocked forever.
"""

from __future__ import annotations

import os
import textwrap
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import trainer.loop  # noqa: F401  imported now: a command timed below never waits for torch to load
import trainer.sweep
from trainer.cli import app
from trainer.data import readers

runner = CliRunner()
WAIT_S = 2.0  # no FIFO makes a command wait longer than this


class Built(Exception):
    """A run was built (its id computed): raised by the guard where no run may be built."""


@pytest.fixture
def no_run_built(monkeypatch):
    """Any run the sweep builds raises :class:`Built`: a test of a refused spec ends at once, also on a
    sweep that would otherwise build 10^6 runs before it looked at their number."""

    def guard(*args, **kwargs):
        raise Built("a run was built")

    monkeypatch.setattr(trainer.sweep, "run_id_for", guard)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_error(res, *needles: str) -> str:
    """Exit 1, nothing on stdout, stderr exactly one line ``error: ...`` holding every needle."""
    assert res.exit_code == 1, (res.exit_code, res.output, res.exception)
    assert "Traceback" not in res.output and res.stdout == "", res.output
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def big_spec(path: Path, axes: dict[str, list[str]]) -> Path:
    """A spec of one DST run per combination of ``axes`` (values written as TOML), profile quick."""
    body = "\n".join(f"{k} = [{', '.join(v)}]" for k, v in axes.items())
    path.write_text(
        textwrap.dedent("""\
        name = "big"
        [base]
        model = "mlp-small"
        dataset = "digits"
        method = "dst"
        criterion = "mest"
        epochs = 1
        shadow = "none"
        """)
        + body
        + "\n[profiles.quick]\n"
    )
    return path


def decimals(n: int, start: float, step: float) -> list[str]:
    return [f"{start + i * step:.30f}" for i in range(n)]


def million_run_spec(path: Path) -> Path:
    """About 8 KB of TOML that expands to 10^6 runs: 10 seeds x 10 densities x 100 lrs x 100 mest_lambdas."""
    return big_spec(
        path,
        {
            "seed": [str(i) for i in range(10)],
            "density": decimals(10, 0.01, 0.01),
            "lr": decimals(100, 0.0001, 0.0001),
            "mest_lambda": decimals(100, 0.5, 0.01),
        },
    )


def test_a_million_run_spec_is_refused_by_its_count_before_any_run_is_built(tmp_path, no_run_built):
    spec = million_run_spec(tmp_path / "big.toml")
    assert 7_000 < spec.stat().st_size < 10_000
    line = assert_one_error(
        invoke("sweep", spec, "--profile", "quick", "--dry-run"), str(spec), "1,000,000 runs", "100,000", "--max-runs"
    )
    assert "mest_lambda (100 values)" in line and "lr (100 values)" in line
    # --max-runs raises the limit: the sweep goes on to build its runs (stopped here by the guard)
    res = invoke("sweep", spec, "--profile", "quick", "--dry-run", "--max-runs", 2_000_000)
    assert isinstance(res.exception, Built), (res.exit_code, res.output)


def test_max_runs_refuses_and_admits_a_smaller_spec(tmp_path):
    spec = big_spec(tmp_path / "s.toml", {"seed": [str(i) for i in range(3)], "density": decimals(40, 0.01, 0.01)})
    assert_one_error(
        invoke("sweep", spec, "--dry-run", "--max-runs", 100), "120 runs", "more than the 100 allowed", "--max-runs N"
    )
    res = invoke("sweep", spec, "--dry-run", "--format", "json", "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert "120 runs: 0 complete, 120 to train" in res.stderr


def test_a_billion_run_spec_is_refused_by_its_count_not_by_a_run_id_collision(tmp_path, no_run_built):
    spec = big_spec(
        tmp_path / "huge.toml",
        {
            "seed": [str(i) for i in range(1000)],
            "density": decimals(1000, 0.0005, 0.0005),
            "lr": decimals(1000, 0.0001, 0.00001),
        },
    )
    line = assert_one_error(invoke("sweep", spec, "--dry-run", "--format", "json"), "1,000,000,000 runs", "--max-runs")
    assert "share run id" not in line


def test_a_spec_that_is_not_utf8_is_one_error_line(tmp_path):
    spec = tmp_path / "latin1.toml"
    spec.write_bytes('name = "caf\xe9"\n[profiles.quick]\n'.encode("latin-1"))
    assert_one_error(invoke("sweep", spec, "--dry-run"), str(spec), "not UTF-8")


def test_a_spec_nested_5000_levels_deep_is_one_error_line(tmp_path):
    spec = tmp_path / "deep.toml"
    spec.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    assert_one_error(invoke("sweep", spec, "--dry-run"), str(spec), "nested too deeply")


def within(seconds: float, call, *, unblock):
    """``call()`` in a daemon thread: its result, and whether it ended within ``seconds``. A call still
    running then is unblocked (``unblock()``: a FIFO opened for writing and closed) and given 10 s more."""
    box = {}
    thread = threading.Thread(target=lambda: box.update(result=call()), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    in_time = not thread.is_alive()
    if not in_time:
        unblock()
        thread.join(10)
    return box.get("result"), in_time, time.monotonic() - started


def open_and_close(fifo: Path):
    """Let a reader blocked on ``fifo`` go on: open it for writing (it has a reader) and close it at once."""

    def unblock():
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # no reader (any more)
            pass

    return unblock


def test_a_fifo_as_the_spec_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    res, in_time, took = within(WAIT_S, lambda: invoke("sweep", fifo, "--dry-run"), unblock=open_and_close(fifo))
    assert in_time, f"fw-train sweep waited on a FIFO as its spec ({took:.1f} s)"
    assert_one_error(res, str(fifo), "FIFO")


def test_a_fifo_named_like_a_cifar10_batch_is_refused_without_waiting(tmp_path):
    data = tmp_path / "data" / "cifar-10-batches-py"
    data.mkdir(parents=True)
    for name in ("data_batch_1", "test_batch"):
        os.mkfifo(data / name)
    args = (
        "run",
        "--dataset",
        "cifar10",
        "--data-dir",
        data.parent,
        "--model",
        "mlp-small",
        "--epochs",
        "1",
        "--no-progress",
        "--shadow",
        "none",
        "--out",
        tmp_path / "study",
    )
    # untimed: the same command where there is no data, so that what a run imports first (torch and the
    # trainer: seconds on a busy machine) is loaded before the timed one
    assert_one_error(invoke(*args[:4], tmp_path / "nothing", *args[5:]), "cifar10: not found")
    res, in_time, took = within(WAIT_S, lambda: invoke(*args), unblock=open_and_close(data / "data_batch_1"))
    assert in_time, f"fw-train run waited on a FIFO named like a CIFAR-10 batch ({took:.1f} s)"
    assert_one_error(res, str(data / "data_batch_1"), "FIFO")


@pytest.mark.parametrize(
    "read, name",
    [
        (lambda p: readers.read_idx(p), "train-images-idx3-ubyte"),
        (lambda p: readers.read_table(p), "higgs.csv"),
        (lambda p: readers.read_wnids(p), "wnids.txt"),
        (lambda p: readers.read_rgb_image(p, size=(64, 64)), "img_0.JPEG"),
    ],
    ids=["idx", "higgs-csv", "tinyimagenet-wnids", "tinyimagenet-jpeg"],
)
def test_every_data_reader_refuses_a_fifo_without_waiting(tmp_path, read, name):
    from trainer.data import DatasetError

    fifo = tmp_path / name
    os.mkfifo(fifo)

    def call():
        try:
            read(fifo)
        except DatasetError as e:
            return e
        return None

    err, in_time, took = within(WAIT_S, call, unblock=open_and_close(fifo))
    assert in_time, f"{name}: the reader waited on a FIFO ({took:.1f} s)"
    assert isinstance(err, DatasetError) and str(err) == f"{fifo}: not a regular file (a FIFO)", err
