"""``fwa report`` on a user's own runs (untagged, no MEST, 4 epochs): a figure with nothing to draw is listed with
the command that makes its runs, never drawn empty; each caption states the regime measured from its runs; no
library warning escapes; the pages' links resolve; the provenance names the code that wrote the report."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from synthetic import write_study

from fwanalysis import __version__, report
from fwanalysis.artifacts import find_runs
from fwanalysis.artifacts.owned import NotFwaFiles
from fwanalysis.figures import FIGURES, FigureEntry, build
from fwanalysis.figures.entry import drew_data
from fwanalysis.report import git_commit, provenance, write_report

ROOT = Path(__file__).resolve().parents[2]
ONLY = ("fig01", "fig07")  # one figure these runs draw, and Fig. 7 (MEST's λ), which they cannot


def _user_study(root: Path) -> Path:
    """A user's runs: no sweep tag (so every figure selects them), two criteria, neither MEST."""
    write_study(
        root,
        seeds=(0, 1),
        densities=(0.1, 0.5),
        n_updates=2,
        model="mlp-large",
        dataset="mnist1d",
        crits=("magnitude", "set"),
        extra={"growth": "random"},
    )
    return root


@pytest.fixture(scope="module")
def user_report(tmp_path_factory):
    """The report of the user's runs, with every warning raised inside ``write_report`` recorded."""
    study = _user_study(tmp_path_factory.mktemp("user-study"))
    out = tmp_path_factory.mktemp("user-report")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = write_report(find_runs(study), out, studies=["study"], only=ONLY)
    return study, out, {i.id: i for i in items}, caught


def test_a_figure_with_nothing_to_draw_is_listed_with_its_command_not_drawn(user_report):
    """Fig. 7 on runs without MEST: before, it was "built" with empty axes."""
    _, out, items, _ = user_report
    fig7 = items["fig07-mest-lambda"]
    assert fig7.status == "missing" and not fig7.runs
    assert "`fw-train sweep specs/mest-lambda.toml`" in fig7.note
    assert not any((out / f"fig07-mest-lambda.{ext}").exists() for ext in ("png", "pdf", "csv"))
    index = (out / "index.md").read_text()
    assert "| [fig07-mest-lambda](#fig07-mest-lambda) | 0 | no runs |" in index
    assert items["fig01-accuracy-vs-density"].status == "ok"


def test_any_figure_whose_runs_hold_nothing_it_draws_is_listed_not_drawn(tmp_path, monkeypatch):
    """Runs are selected, but the result has nothing to draw (axes without data): listed with the command that
    makes its runs, no file written. The check is the build's, for any entry."""

    def nothing(_):
        fig, ax = plt.subplots()
        ax.set_title("no data")
        return fig

    entry = FigureEntry(
        "figtest-empty", "A test figure.", ("nothing",), lambda rs: None, lambda _: pd.DataFrame({"x": [1]}), nothing
    )
    monkeypatch.setitem(FIGURES, entry.id, entry)
    study = _user_study(tmp_path / "study")
    (item,) = write_report(find_runs(study), tmp_path / "rep", only=("figtest",))
    assert item.status == "missing" and not item.runs
    assert (
        item.note
        == "none of the 12 runs selected for it holds data it draws; make them with `fw-train sweep specs/nothing.toml`"
    )
    assert not list((tmp_path / "rep").glob("figtest*"))
    assert "**No runs:** none of the 12 runs" in (tmp_path / "rep" / "index.md").read_text()


def test_fig7_draws_only_mest_runs(tmp_path):
    """The trainer records ``criterion_params.mest_lambda`` for every DST run: before, a user's magnitude and SET
    runs were drawn in Fig. 7 as one line "λ = 1"."""
    study = tmp_path / "study"
    write_study(
        study,
        seeds=(0,),
        densities=(0.1, 0.5),
        n_updates=1,
        crits=("magnitude", "set"),
        baselines=False,
        extra={"criterion_params": {"mest_lambda": 1.0}},
    )
    (item,) = write_report(find_runs(study), tmp_path / "rep", only=("fig07",))
    assert item.status == "missing" and "no runs in this study" in item.note
    write_study(
        study,
        seeds=(0,),
        densities=(0.1, 0.5),
        n_updates=1,
        crits=("mest",),
        baselines=False,
        extra={"criterion_params": {"mest_lambda": 0.1}},
    )
    (item,) = write_report(find_runs(study), tmp_path / "rep", only=("fig07",))
    assert item.status == "ok" and {r.config["criterion"] for r in item.runs} == {"mest"}


def test_empty_results_are_detected_for_any_figure(tmp_path):
    """The check is the build's, not Fig. 7's: an empty table, or a drawing with no data on any axes."""
    fig, ax = plt.subplots()
    ax.set_title("axes, a title and a legend are not data")
    assert not drew_data(fig)
    ax.plot([1, 2], [3, 4])
    assert drew_data(fig)
    plt.close(fig)

    def nothing(_):
        return plt.subplots()[0]

    def a_line(_):
        f, a = plt.subplots()
        a.plot([0, 1], [0, 1])
        return f

    runs = find_runs(_user_study(tmp_path))
    for table, draw, empty in (
        (pd.DataFrame({"x": [1]}), nothing, True),
        (pd.DataFrame(), a_line, True),
        (pd.DataFrame({"x": [1]}), a_line, False),
    ):
        entry = FigureEntry("figtest", "test", (), lambda rs: None, lambda _, t=table: t, draw)
        b = build(entry, runs)
        assert b.empty is empty
        plt.close(b.figure)


def test_no_library_warning_escapes_the_report(user_report):
    """Before, matplotlib's "No artists with labels found to put in legend" (Fig. 7's empty axes) reached the
    terminal."""
    _, _, _, caught = user_report
    assert [str(w.message) for w in caught] == []


def test_captions_state_the_regime_measured_from_the_runs(user_report):
    study, out, items, _ = user_report
    runs = find_runs(study)
    fig1 = items["fig01-accuracy-vs-density"]
    densities = ", ".join(f"{d:g}" for d in sorted({r.config["density"] for r in fig1.runs}))
    epochs = ", ".join(str(e) for e in sorted({r.config["epochs"] for r in runs}))
    assert fig1.measured.startswith(f"Measured from these {len(fig1.runs)} runs: mlp-large on mnist1d ({epochs} epochs")
    assert f"densities {densities};" in fig1.measured and "; 2 seeds." in fig1.measured
    assert "Δt 10;" in fig1.measured  # the DST runs' update period
    index = (out / "index.md").read_text()
    assert fig1.measured in index and "*On the embedded data:*" in index
    # no fixed text states the quick study's regime: before, fig01's said "30 epochs", "Δt 20" and "3 seeds"
    fixed = re.compile(r"\b\d+ (epochs|seeds?)\b|Δt 20\b|\b880 steps|densities 0\.1")
    assert [f for f, e in FIGURES.items() if e.embedded and fixed.search(e.embedded)] == []


def _links(page: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", page.read_text())


def _md_anchors(page: Path) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^#+ (\S+)$", page.read_text(), re.M)}


def test_every_link_of_the_markdown_pages_resolves(user_report):
    """index.md and provenance.md: each relative file exists in the folder, each #anchor is a heading there."""
    _, out, items, _ = user_report
    checked = 0
    for name in ("index.md", "provenance.md"):
        for link in _links(out / name):
            target, _, anchor = link.partition("#")
            page = out / (target or name)
            assert page.is_file() and page.parent == out, (name, link)
            if anchor and page.suffix == ".md":
                assert anchor in _md_anchors(page), (name, link)
            checked += 1
    assert checked > len(items)


def test_a_users_index_html_is_refused(tmp_path):
    """index.html and provenance.md are the report's files: a user's own there refuses it, nothing written."""
    study = _user_study(tmp_path / "study")
    out = tmp_path / "rep"
    out.mkdir()
    (out / "index.html").write_text("<p>mine</p>")
    with pytest.raises(NotFwaFiles, match="index.html"):
        write_report(find_runs(study), out, only=("fig01",))
    assert [p.name for p in out.iterdir()] == ["index.html"]


def test_provenance_in_this_checkout_is_its_commit():
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    assert git_commit() == head.stdout.strip()
    assert f"git commit `{head.stdout.strip()}`" in provenance()


def test_provenance_of_an_install_without_its_checkout_names_the_distribution(tmp_path, monkeypatch):
    """fwa installed into another project's git checkout (a venv there): that project's commit is not fwa's
    (before, it was recorded as fwa's); the report says there is no git checkout and names the installed
    distribution's version."""
    other = tmp_path / "other-project"
    site = other / ".venv" / "site-packages"
    shutil.copytree(ROOT / "fwanalysis", site / "fwanalysis", ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-C", str(other), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "other"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    assert git_commit(site) == "unknown"
    assert git_commit(tmp_path) == "unknown"  # no git at all
    monkeypatch.setattr(report, "git_commit", lambda: "unknown")
    said = report.provenance()
    version = importlib.metadata.version("fwa")
    assert said == f"fwanalysis {__version__}, no git checkout (installed from the distribution fwa {version})"


def test_the_measured_line_takes_any_config_value(tmp_path):
    """A hand-written run.json may hold a list or nothing where the trainer writes a number: the line says what
    is there, never fails."""
    from fwanalysis.figures.entry import measured

    runs = find_runs(_user_study(tmp_path / "study"))
    for r in runs:
        r.config["epochs"], r.config["width"] = None, [1, 2]
    line = measured(runs, ("lr_milestones",))
    assert line.startswith("Measured from these 12 runs: mlp-large on mnist1d (") and "width [1, 2]" in line
    assert " epochs" not in line and "lr_milestones" not in line
