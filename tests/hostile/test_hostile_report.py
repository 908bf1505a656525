"""Hostile inputs to ``fwa report`` and ``fw-train tables`` (issue 18, "Injection"): the report never copies a
file it did not write (a symlinked table), never overwrites a user's files without --force, escapes run ids,
config values and paths in its Markdown, quotes CSV cells a spreadsheet would run, and ends every failure
to write its folder with one ``error:`` line."""

from __future__ import annotations

import errno
import itertools
import os
import re
from pathlib import Path

import pytest
import synthetic
from clilib import fwa
from synthetic import write_study

from fwanalysis.artifacts import RunWriter

SECRET = "SECRET-TOKEN-7f3a9c"
FIG = "fig06b"  # one small figure (the jaccard study's final masks): the report stays quick


def _study(root: Path, **kw) -> Path:
    write_study(root, sweep="jaccard", seeds=(0, 1), n_updates=2, baselines=False, **kw)
    return root


def _report(study: Path, out: Path, *args):
    return fwa("report", study, "--out", out, "--only", FIG, *args)


def _one_error_line(r) -> str:
    lines = r.output.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error:"), (r.exit_code, r.output, r.exception)
    return lines[0]


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry of ``folder``: a file's bytes, a symbolic link's target."""
    return {p.name: (f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes()) for p in sorted(folder.iterdir())}


def _cells(line: str) -> int:
    """The cells of a Markdown table row: ``|`` not escaped by a backslash ends one."""
    return len(re.split(r"(?<!\\)\|", line.strip())) - 2


# -- symlinks and foreign tables are never inlined -----------------------------------------------------------
def test_a_symlinked_table_is_never_copied_into_index(tmp_path):
    """The issue's input: ``table01-criteria.md`` a symbolic link to a secret file outside the folder; also a
    table02 that the user wrote (not fw-train tables). Neither reaches index.md; the secret is untouched."""
    study = _study(tmp_path / "study")
    secret = tmp_path / "secret.txt"
    secret.write_text(f"| {SECRET} |\n")
    out = tmp_path / "rep"
    out.mkdir()
    (out / "table01-criteria.md").symlink_to(secret)
    (out / "table02-models.md").write_text("| FOREIGN-TABLE |\n")
    r = _report(study, out)
    assert r.exit_code == 0, r.output
    index = (out / "index.md").read_text()
    assert SECRET not in index and "FOREIGN-TABLE" not in index
    assert index.count("**Not fwa's:**") == 2
    assert secret.read_text() == f"| {SECRET} |\n" and (out / "table01-criteria.md").is_symlink()


# -- a user's files are refused before anything is written -------------------------------------------------
def test_users_index_and_claims_are_refused_then_replaced_with_force(tmp_path):
    """The issue's input: a user's own index.md and claims.md in --out. Without --force one line naming the
    first and how many more, and nothing written (theirs byte for byte); with --force replaced, named on stderr."""
    study = _study(tmp_path / "study")
    out = tmp_path / "rep"
    out.mkdir()
    mine = {"index.md": b"# my notes\n\nkeep me\n", "claims.md": b"my own claims\n"}
    for name, data in mine.items():
        (out / name).write_bytes(data)
    line = _one_error_line(_report(study, out))
    assert "claims.md" in line and "1 more file" in line and "--force" in line
    assert _snapshot(out) == mine  # unchanged, and nothing else written
    r = _report(study, out, "--force")
    assert r.exit_code == 0, r.output
    named = [x for x in r.output.splitlines() if "replacing" in x]
    assert len(named) == 1 and "index.md" in named[0] and "claims.md" in named[0]
    assert (out / "index.md").read_bytes().startswith(b"# fwa report") and (out / "claims.md").read_bytes() != mine[
        "claims.md"
    ]
    r = _report(study, out)  # now fwa's: a rebuild replaces them without --force
    assert r.exit_code == 0 and "replacing" not in r.output, r.output


def test_a_file_fwa_wrote_and_the_user_edited_is_refused(tmp_path):
    study = _study(tmp_path / "study")
    out = tmp_path / "rep"
    assert _report(study, out).exit_code == 0
    csv = out / "fig06b-jaccard-end.csv"
    csv.write_bytes(csv.read_bytes() + b"my annotation\n")
    before = _snapshot(out)
    line = _one_error_line(_report(study, out))
    assert "fig06b-jaccard-end.csv" in line and "changed" in line
    assert _snapshot(out) == before


def test_a_symlink_where_the_report_writes_is_refused_and_never_followed(tmp_path):
    """index.md a symbolic link to a file outside: refused; --force replaces the link, never its target."""
    study = _study(tmp_path / "study")
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    out = tmp_path / "rep"
    out.mkdir()
    (out / "index.md").symlink_to(secret)
    line = _one_error_line(_report(study, out))
    assert "index.md" in line and "symbolic link" in line
    assert _snapshot(out) == {"index.md": f"-> {secret}"}
    assert _report(study, out, "--force").exit_code == 0
    assert secret.read_text() == SECRET and not (out / "index.md").is_symlink()


def test_tables_refuse_a_users_table_unless_forced(tmp_path):
    """fw-train tables shares the folder and its rule: a user's table01-criteria.md is refused, then replaced
    with force, and the report then inlines fwa's table."""
    from trainer.tables import write_tables

    (tmp_path / "table01-criteria.md").write_text("my table\n")
    with pytest.raises(ValueError, match="table01-criteria.md exists and was not written by fwa"):
        write_tables(tmp_path, only=("table01-criteria",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table01-criteria.md"]
    told = []
    write_tables(tmp_path, only=("table01-criteria",), force=True, replacing=told.append)
    assert told == [["table01-criteria.md"]] and "| set-legacy |" in (tmp_path / "table01-criteria.md").read_text()


# -- run ids, config values and paths are escaped ---------------------------------------------------------
def test_run_ids_config_values_and_paths_are_escaped(tmp_path, monkeypatch):
    """The issue's input: run ids holding ``|`` and ``<script>``, a model name holding HTML and ``|``, a
    study path holding a newline, a terminal escape and Markdown syntax. Every table row of index.md keeps
    its cells; no raw tag; no value starts a line of its own; the path is shown escaped, as it is."""
    n = itertools.count()
    monkeypatch.setattr(synthetic, "RunWriter", lambda *a, **kw: RunWriter(*a, run_id=f"a|b<script>x{next(n)}", **kw))
    tail = "st|u<script>dy\nINJECTED-LINE\x1b[2J [l](u) *e* `c` &amp;"
    study = _study(tmp_path / tail, model="toy|<img src=x onerror=alert(1)>")
    out = tmp_path / "rep"
    r = _report(study, out)
    assert r.exit_code == 0, r.output
    index = (out / "index.md").read_text()
    claims = (out / "claims.md").read_text()
    provenance = (out / "provenance.md").read_text()
    for text in (index, claims, provenance):
        assert "<script>" not in text and "<img" not in text and "\x1b" not in text
        assert not any(line.startswith("INJECTED-LINE") for line in text.splitlines())
    page = (out / "index.html").read_text()  # the web page: only fwa's own tags
    assert "<script" not in page and "<img src=x" not in page and "\x1b" not in page
    assert "a|b&lt;script&gt;x0" in page and "toy|&lt;img src=x onerror=alert(1)&gt;" in page
    tags = re.findall(r"<img [^>]*>", page)  # the thumbnail and the figure, nothing else
    assert len(tags) == 2 and all(
        re.fullmatch(r'<img (class="full" )?src="fig06b-jaccard-end.png" alt="[^"<>]*">', t) for t in tags
    ), tags
    shown = (
        str(tmp_path).replace("_", "\\_")
        + "/st\\|u&lt;script&gt;dy\\nINJECTED-LINE\\x1b\\[2J \\[l\\](u) \\*e\\* \\`c\\` &amp;amp;"
    )
    assert f"Studies: {shown}  \n" in index
    rows = [line for line in index.splitlines() if line.startswith("|")]
    runs = [line for line in provenance.splitlines() if line.startswith("|") and "script" in line]
    assert len(runs) == 6 and all(_cells(line) == 2 for line in runs), runs  # the provenance table: run id, hash
    assert all(_cells(line) == 3 for line in rows if line.startswith("| [fig")), rows  # the figure table


# -- CSV cells a spreadsheet would run are quoted -------------------------------------------------------
def test_report_csv_cells_starting_a_formula_are_quoted(tmp_path):
    study = _study(tmp_path / "study", model='=HYPERLINK("evil.example","x")')
    out = tmp_path / "rep"
    assert _report(study, out).exit_code == 0
    csv = (out / "fig06b-jaccard-end.csv").read_text()
    assert '\'=HYPERLINK(""evil.example"",""x"")' in csv
    assert not any(cell.startswith("=") for line in csv.splitlines() for cell in line.split(","))


# -- an --out that cannot hold the report: one line, nothing half-written ------------------------------------
@pytest.mark.parametrize("kind", ["file", "dangling symlink"])
def test_out_that_is_not_a_folder_is_one_line(tmp_path, kind):
    study = _study(tmp_path / "study")
    out = tmp_path / "rep"
    if kind == "file":
        out.write_text("not a folder")
    else:
        out.symlink_to(tmp_path / "nowhere")
    line = _one_error_line(_report(study, out))
    assert str(out) in line
    assert not (tmp_path / "nowhere").exists() and (kind != "file" or out.read_text() == "not a folder")


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC])
def test_read_only_or_full_file_system_is_one_line(tmp_path, monkeypatch, code):
    """A write that the file system refuses (read-only, full): one error line, exit 1, no temporary file left."""
    study = _study(tmp_path / "study")
    out = tmp_path / "rep"
    real = os.replace

    def refusing(src, dst, *a, **kw):
        if Path(dst).parent == out:
            raise OSError(code, os.strerror(code), str(dst))
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", refusing)
    line = _one_error_line(_report(study, out))
    assert os.strerror(code) in line and str(out) in line
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
