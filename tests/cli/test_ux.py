"""What `fwa` shows a person at a terminal: progress bars on stderr (and never when piped), the volume rule
(a screenful of tables, then a line naming the filters; `--all` prints everything), errors that name the valid
values, and notes that explain a missing reference or a single seed."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest
from clilib import fwa
from synthetic import write_study

from fwanalysis.artifacts import find_runs
from fwanalysis.claims import CLAIMS

DENSITIES = (0.5, 0.2, 0.1)
BAR = b"\x1b[?25l"  # rich hides the cursor while it draws a progress bar


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """An accuracy study (3 densities, 3 seeds, baselines) and a one-seed first-update study beside it."""
    root = tmp_path_factory.mktemp("uxstudy")
    write_study(root / "acc", seeds=(0, 1, 2), densities=DENSITIES, sweep="accuracy")
    write_study(root / "one", seeds=(0,), densities=(0.3,), sweep="jaccard-first", baselines=False)
    return root


def on_terminal(*args: str, lines: int = 40) -> tuple[int, bytes, bytes]:
    """``fwa ARGS`` in a process whose stderr is a pseudo-terminal (``lines`` high) and whose stdout is a pipe:
    (exit code, stdout, what the terminal received)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "LINES")}
    code = "import sys; from fwanalysis.cli import main; sys.argv[0] = 'fwa'; main()"
    p = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal (EIO)
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    out = p.stdout.read()
    return p.wait(), out, seen


# -- progress -------------------------------------------------------------------------------------------


def test_validate_draws_a_bar_on_a_terminal_only_and_quiet_silences_it(study):
    """Fails before: --quiet was an unknown option (exit 2). (The bar on a terminal and none when piped held
    before too: validate had its own.)"""
    piped = fwa("validate", study, "--jobs", "1")
    assert piped.exit_code == 0 and piped.stderr == ""  # piped: nothing on stderr
    rc, out, term = on_terminal("validate", str(study), "--jobs", "1")
    assert rc == 0 and b"validating" in term and BAR in term  # a bar, drawn with terminal controls
    assert out.decode() == piped.stdout  # stdout exactly as when piped
    rc, out, term = on_terminal("validate", str(study), "--jobs", "1", "--quiet")
    assert rc == 0 and term == b"" and out.decode() == piped.stdout


def test_claims_draw_a_bar_on_a_terminal(study):
    """Fails before: claims drew no bar."""
    rc, out, term = on_terminal("claims", str(study), "--format", "json")
    assert rc == 0 and b"claims" in term and BAR in term
    assert [c["id"] for c in json.loads(out)["claims"]] == [c.id for c in CLAIMS]  # stdout: the one document


def test_report_draws_a_bar_unless_quiet(study, tmp_path):
    """Fails before: fwa report had no --quiet (exit 2)."""
    rc, _, term = on_terminal("report", str(study), "--out", str(tmp_path / "a"), "--only", "fig06a")
    assert rc == 0 and BAR in term
    rc, _, term = on_terminal("report", str(study), "--out", str(tmp_path / "b"), "--only", "fig06a", "--quiet")
    assert rc == 0 and BAR not in term and b"figures written to" in term


def test_loading_runs_reports_progress_from_a_few_hundred_runs(study, monkeypatch):
    """find_runs hands its manifests to ``progress``; a command asks for a bar from LOADING_BAR_AT runs on.
    Fails before: find_runs took no progress argument."""
    calls = []
    runs = find_runs(study, progress=lambda items, total: calls.append(total) or items)
    assert calls == [len(runs)] and len(runs) > 0

    from fwanalysis.results import select

    asked = []

    def bar(items, total, description, at_least=3):
        asked.append((total, description, at_least))
        return items

    sel = select.Selection([study], select.RunFilter(), progress=bar)
    assert len(sel.runs()) == len(runs)
    assert asked == [(len(runs), "loading runs", select.LOADING_BAR_AT)] and 100 <= select.LOADING_BAR_AT <= 500


# -- the volume rule ------------------------------------------------------------------------------------


@pytest.fixture
def terminal_stdout(monkeypatch):
    """stdout taken for a terminal of 12 lines (the volume rule applies only there)."""
    from fwanalysis.commands import output

    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("LINES", "12")


def _body_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("│")]


def test_a_long_table_on_a_terminal_stops_at_a_screenful_and_names_the_filters(study, terminal_stdout):
    """Fails before: the whole table was printed, and --all was an unknown option."""
    whole = fwa("accuracy", study, "--sweep", "accuracy", "--all")
    assert whole.exit_code == 0
    n = len(_body_rows(whole.stdout))
    r = fwa("accuracy", study, "--sweep", "accuracy")
    assert r.exit_code == 0
    shown = _body_rows(r.stdout)
    assert 0 < len(shown) < n and len(r.stdout.splitlines()) <= 12
    last = r.stdout.splitlines()[-1]
    assert f"{len(shown)} of {n} rows shown" in last and "--all" in last
    assert "--criterion magnitude (1 of 3)" in last and "--density " in last  # the filters that split the rows


def test_many_matrices_on_a_terminal_say_how_many_and_the_filter(study, terminal_stdout):
    r = fwa("jaccard", study, "--sweep", "accuracy")
    assert r.exit_code == 0
    titles = [line for line in r.stdout.splitlines() if "Jaccard at first" in line]
    last = r.stdout.splitlines()[-1]
    assert len(titles) < len(DENSITIES) and f"in {len(titles)} of {len(DENSITIES)} tables" in last
    assert f"(1 of {len(DENSITIES)})" in last and "--density " in last


def test_the_volume_rule_leaves_piped_and_other_formats_whole(study, terminal_stdout, monkeypatch):
    """csv, json and latex are complete on a terminal too; piped table output is complete (a guard: this held
    before the change as well)."""
    from fwanalysis.commands import output

    on_term = {fmt: fwa("accuracy", study, "--format", fmt).stdout for fmt in ("csv", "json", "latex")}
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: False)
    for fmt, text in on_term.items():
        assert fwa("accuracy", study, "--format", fmt).stdout == text
    piped = fwa("accuracy", study)
    assert "rows shown" not in piped.stdout
    assert piped.stdout == fwa("accuracy", study, "--all").stdout


def test_piped_tables_are_plain_aligned_text_and_rich_only_on_a_terminal(study, monkeypatch):
    """Fails before: piped table output was a rich table (box rules) as wide as its longest row."""
    from fwanalysis.commands import output
    from fwanalysis.results.base import fmt_cell

    monkeypatch.setattr(output, "stdout_is_terminal", lambda: False)
    piped = fwa("ls", study / "acc")
    assert piped.exit_code == 0
    assert not any(ch in piped.stdout for ch in "│┃━─┏┗╭╰"), piped.stdout
    rows = json.loads(fwa("ls", study / "acc", "--format", "json").stdout)["runs"]
    title, header, *body = piped.stdout.rstrip("\n").split("\n")
    assert title == f"{len(rows)} runs" and header.split() == list(rows[0])
    assert len(body) == len(rows) and all(line == line.rstrip() for line in body)
    starts = [header.index(col) for col in rows[0]]  # each column starts where its header does
    for line, row in zip(body, rows):
        cells = [fmt_cell(v) for v in row.values()]
        assert line.split() == cells
        assert [line[s:].split()[0] for s in starts] == cells
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    on_term = fwa("ls", study / "acc", "--all")
    assert "│" in on_term.stdout and "━" in on_term.stdout


# -- errors that teach ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, typo, meant",
    [
        ("--criterion", "magnitue", "magnitude"),
        ("--model", "toyy", "toy"),
        ("--dataset", "synthetc", "synthetic"),
        ("--growth", "randm", "random"),
        ("--sweep", "acuracy", "accuracy"),
    ],
)
def test_an_unknown_filter_value_names_the_valid_ones_closest_first(study, option, typo, meant):
    """Fails before: accuracy printed the baselines alone (--criterion), or 'no complete runs matched'."""
    r = fwa("accuracy", study, option, typo)
    assert r.exit_code == 1 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {option} {typo}:")
    assert f"did you mean {meant}?" in lines[0]
    assert lines[0].split(" there: ")[1].split(", ")[0] == meant  # the closest match leads the list


def test_a_typo_among_criteria_lists_every_criterion_the_runs_hold(study):
    r = fwa("jaccard", study, "--criterion", "snpi")
    listed = r.stderr.strip().split(" there: ")[1].split(", ")
    assert r.exit_code == 1 and listed[0] == "snip" and sorted(listed) == sorted(["magnitude", "snip", "random"])


def test_a_typo_beside_a_held_value_is_a_warning_and_the_held_one_is_used(study):
    """The contract's exit 1 is for an analysis that cannot be done: with --criterion snip it can."""
    both = fwa("jaccard", study, "--criterion", "snip", "--criterion", "snpi", "--format", "json")
    alone = fwa("jaccard", study, "--criterion", "snip", "--format", "json")
    assert both.exit_code == 0 and both.stdout == alone.stdout
    assert "warning: --criterion snpi: no complete run under" in both.stderr and "did you mean snip?" in both.stderr


# -- notes ----------------------------------------------------------------------------------------------


def test_one_seed_explains_the_missing_reference_and_shows_no_spread(study):
    """Fails before: the title said 'J_r = nan', no note explained it, and every cell read '±0.000'."""
    r = fwa("jaccard", study, "--sweep", "jaccard-first")
    assert r.exit_code == 0
    assert "nan" not in r.stdout and "±" not in r.stdout and "J_r = –" in r.stdout
    assert "note: J_r = –: J_r needs ≥ 2 seeds" in r.stderr and "have 1 seed" in r.stderr
    latex = fwa("jaccard", study, "--sweep", "jaccard-first", "--format", "latex")
    assert latex.exit_code == 0 and r"\pm" not in latex.stdout
    wide = fwa("accuracy", study, "--sweep", "jaccard-first", "--format", "latex")  # the paper's shape, n = 1
    assert wide.exit_code == 0 and r"\pm" not in wide.stdout and "$0." in wide.stdout
    three = fwa("jaccard", study, "--sweep", "accuracy", "--density", "0.5")  # 3 seeds: the spread stays
    assert "±" in three.stdout and "J_r needs" not in three.stderr


def test_the_cd_diagram_note_is_a_whole_sentence(study):
    """Fails before: the note ended '--sweep NAME ranks another study's'."""
    r = fwa("cd-diagram", study)
    note = next(line for line in r.stderr.splitlines() if line.startswith("note: ranking"))
    assert note.endswith("--sweep NAME ranks another sweep's runs instead")
