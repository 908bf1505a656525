"""``fwa report --jobs N``: figures drawn in N processes give the bytes, items, progress and errors of one; and
the saving shortcut (``figures.layout.figure_bytes``) gives the bytes of matplotlib's own tight savefig."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from clilib import fwa
from figstudy import figures_report, figures_study, runs_made_here
from synthetic import write_study

from fwanalysis import report_figures
from fwanalysis.artifacts import find_runs
from fwanalysis.figures import FIGURES, STYLE, build
from fwanalysis.figures.layout import _META, figure_bytes
from fwanalysis.report import write_report


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def starts(monkeypatch) -> list[str]:
    """The start methods of the processes the report asks for."""
    real, asked = report_figures.multiprocessing.get_context, []

    def get_context(method=None):
        asked.append(method)
        return real(method)

    monkeypatch.setattr(report_figures.multiprocessing, "get_context", get_context)
    return asked


@pytest.mark.slow  # every figure built and written once more, in two processes
def test_two_jobs_write_the_bytes_of_one(tmp_path_factory, tmp_path, starts):
    root, one, items = figures_report(tmp_path_factory)  # written with jobs=1
    runs = runs_made_here(find_runs(root))
    told: list[str] = []
    alone = threading.active_count() == 1  # not under pytest-xdist, whose workers run a thread for their messages
    done = write_report(runs, tmp_path / "two", studies=[str(root)], jobs=2, progress=told.append)
    assert starts == ["fork" if alone else "forkserver"]
    assert _digest(tmp_path / "two") == _digest(one)  # every figure, index.md (its notes), .fwa-written.json's order
    assert {i.id: {"status": i.status, "run_ids": [r.run_id for r in i.runs]} for i in done} == items
    assert told == list(FIGURES)  # the progress of one job: each figure in the registry's order


def test_jobs_beside_a_thread_start_from_a_fork_server(tmp_path_factory, tmp_path, starts):
    """A process running another thread (the progress bar's) is never forked: a lock that thread holds would be
    copied held. The figures drawn by processes of a fork server are the same bytes."""
    root, one, _ = figures_report(tmp_path_factory)
    runs = runs_made_here(find_runs(root))
    stop = threading.Event()
    beside = threading.Thread(target=stop.wait)
    beside.start()
    try:
        only = ("fig03b", "fig06a", "fig19")
        done = write_report(runs, tmp_path / "two", studies=[str(root)], only=only, jobs=2)
    finally:
        stop.set()
        beside.join()
    assert starts == ["forkserver"]
    files = [f for i in done for f in i.files]
    assert len(files) == 9
    for f in files:
        assert (tmp_path / "two" / f).read_bytes() == (one / f).read_bytes(), f


def _savefig(fig, fmt: str) -> bytes:
    buf = io.BytesIO()
    with plt.rc_context(STYLE):
        fig.savefig(buf, format=fmt, metadata=_META[fmt], bbox_inches="tight")
    return buf.getvalue()


def _one_figure_per_draw_function() -> list[str]:
    kinds: dict = {}
    for fid, e in FIGURES.items():
        kinds.setdefault(getattr(e.draw, "func", e.draw), fid)
    return sorted(kinds.values())


ONE_PER_DRAW = _one_figure_per_draw_function()


def test_every_draw_function_is_compared():
    assert len(ONE_PER_DRAW) >= 8


@pytest.mark.slow  # the figures dealt to the workers one by one: together they are the longest test
@pytest.mark.parametrize("fid", ONE_PER_DRAW)
def test_figure_bytes_are_the_bytes_of_a_tight_savefig(tmp_path_factory, fid):
    """One figure of each draw function, saved as the report saves it (PNG, then PDF; SVG for the first) and,
    from a second build of it, by ``savefig(bbox_inches="tight")``: the same bytes (the shortcut skips only a draw
    that renders nothing). Each format is laid out with its own renderer, as savefig does."""
    _, runs = figures_study(tmp_path_factory)
    formats = ("png", "pdf", "svg") if fid == ONE_PER_DRAW[0] else ("png", "pdf")
    ours, theirs = build(FIGURES[fid], runs), build(FIGURES[fid], runs)
    try:
        for fmt in formats:
            assert figure_bytes(ours.figure, fmt) == _savefig(theirs.figure, fmt), (fid, fmt)
    finally:
        plt.close(ours.figure)
        plt.close(theirs.figure)


def test_figure_bytes_follow_a_users_savefig_settings(tmp_path_factory):
    """A setting of a user's matplotlibrc that only savefig applies (transparent patches) gives savefig's bytes:
    figure_bytes hands it to savefig."""
    _, runs = figures_study(tmp_path_factory)
    for rc in ({"savefig.transparent": True}, {"savefig.pad_inches": 0.3}):
        with plt.rc_context(rc):
            ours, theirs = (build(FIGURES["fig03b-cd-low-density"], runs) for _ in range(2))
            try:
                assert figure_bytes(ours.figure, "png") == _savefig(theirs.figure, "png"), rc
            finally:
                plt.close(ours.figure)
                plt.close(theirs.figure)
    plain = build(FIGURES["fig03b-cd-low-density"], runs)
    try:
        assert figure_bytes(plain.figure, "png") != _savefig_transparent(plain.figure)
    finally:
        plt.close(plain.figure)


def _savefig_transparent(fig) -> bytes:
    with plt.rc_context({"savefig.transparent": True}):
        return _savefig(fig, "png")


def test_a_figure_failing_in_a_process_fails_as_in_one(tmp_path):
    """A figure that cannot be drawn (runs of two profiles) is the same item with the same note whatever the
    jobs; a run whose metrics cannot be read stops the report with the same one ``error:`` line, no traceback
    (an exception that cannot be pickled as it is), having written the same files."""
    for profile in ("quick", "paper"):
        write_study(
            tmp_path / "mixed" / profile,
            sweep="jaccard",
            seeds=(0, 1),
            n_updates=4,
            baselines=False,
            extra={"profile": profile},
        )
    runs = find_runs(tmp_path / "mixed")
    items = {}
    for jobs in (1, 2):
        done = write_report(runs, tmp_path / f"m{jobs}", only=("fig06b", "fig18", "fig21"), jobs=jobs)
        items[jobs] = [(i.id, i.status, i.note, [r.run_id for r in i.runs]) for i in done]
    assert items[1] == items[2]
    assert [i[1] for i in items[2]] == ["error"] * 3 and "profiles paper, quick would be mixed" in items[2][0][2]
    assert _digest(tmp_path / "m1") == _digest(tmp_path / "m2")

    study = tmp_path / "study"
    write_study(study, sweep="loss-gap", model="mlp-large", dataset="digits", seeds=(0, 1), n_updates=1)
    sorted(study.rglob("metrics.parquet"))[0].write_bytes(b"not a parquet file")
    said = {}
    for jobs in (1, 2):
        r = fwa("report", study, "--out", tmp_path / f"r{jobs}", "--only", "fig04", "--jobs", jobs)
        said[jobs] = (r.exit_code, r.output)
    assert said[1] == said[2]
    code, output = said[2]
    assert code == 1 and output.startswith("error: run ") and "metrics.parquet" in output, output
    assert len(output.strip().splitlines()) == 1, output
    assert _digest(tmp_path / "r1") == _digest(tmp_path / "r2")


def test_a_report_syncs_each_file_once_at_its_end(tmp_path_factory, tmp_path, monkeypatch):
    """Every file the report writes, its record and its folder reach the disk (fsync), each once, after the last
    file was written (OutputFolder.deferred_sync): not four syncs per file as they are written."""
    import os

    root, _, _ = figures_report(tmp_path_factory)
    runs = runs_made_here(find_runs(root))
    out = tmp_path / "rep"
    synced: list[str] = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_report(runs, out, only=("fig03b", "fig19"), jobs=1)
    written = sorted(p.name for p in out.iterdir())
    assert ".fwa-written.json" in written and "fig19-never-removed.pdf" in written and "index.md" in written
    assert sorted(synced) == sorted({str(out), *(str(out / n) for n in written)})
    assert synced[-1] == str(out)  # the folder last, after the files
