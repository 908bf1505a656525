"""``fwa report``: every registered figure as PNG + PDF + CSV; ``index.md``, a front page (the claims at a glance,
then each figure with its caption and the regime measured from its runs), the same as a web page ``index.html``
(:mod:`.report_html`), ``provenance.md`` (each figure's run ids and run.json sha256) and ``claims.md`` (the paper's
findings as tested claims, ``fwa claims``).

Deterministic: inputs sorted, fixed figure metadata, no timestamps, so a rebuild from the same
artifacts (and the same code) writes the same bytes.

The report replaces only files fwa wrote in its folder (:mod:`.artifacts.owned`, ``.fwa-written.json``):
a user's own ``index.md``, an edited figure or a symbolic link there is refused before anything is written,
unless forced. Tables 1-4 are inlined only when ``fw-train tables`` wrote them there, unchanged. Run ids,
config values, paths and error texts are escaped in the Markdown (:func:`.markdown.md_text`), text cells of
the CSV tables quoted where a spreadsheet would run them (:func:`.console.csv_cell`).
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from . import __version__
from .artifacts import Run
from .artifacts.owned import OutputFolder, claim
from .console import csv_cell
from .figures import FIGURES, FigureEntry, build, save_figure, select_for
from .figures.entry import measured
from .markdown import md_text
from .report_pages import Claims, write_pages

__all__ = ["write_report", "report_targets", "check_out", "ReportItem", "git_commit", "provenance"]

FIGURE_FILES = ("png", "pdf", "csv")


@dataclass
class ReportItem:
    id: str
    caption: str
    status: str  # "ok" | "absent" | "missing" | "error"
    runs: list[Run] = field(default_factory=list)
    note: str = ""
    files: list[str] = field(default_factory=list)
    summary: str = ""  # measured numbers the caption quotes (FigureEntry.summary)
    measured: str = ""  # the regime counted from its runs' configs (figures.measured)
    warnings: list[str] = field(default_factory=list)  # what the libraries warned while drawing it


DIST = "fwa"  # the distribution (pyproject.toml's name) that installs fwanalysis


def git_commit(root: Path | None = None) -> str:
    """The commit of the fwa source tree (``root``: the folder above this package), or ``unknown`` outside a git
    checkout of it (an installed copy, even one inside another project's checkout, is not one)."""
    root = (root or Path(__file__).parent.parent).resolve()
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    lines = out.stdout.split("\n")
    if out.returncode != 0 or len(lines) < 2 or Path(lines[0]).resolve() != root:
        return "unknown"
    return lines[1].strip() or "unknown"


def provenance() -> str:
    """The code that wrote a report: fwanalysis's version and the git commit of its checkout, or, installed
    without git, the version of the installed distribution (importlib.metadata)."""
    commit = git_commit()
    if commit != "unknown":
        return f"fwanalysis {__version__}, git commit `{commit}`"
    try:
        dist = f"installed from the distribution {DIST} {importlib.metadata.version(DIST)}"
    except importlib.metadata.PackageNotFoundError:
        dist = f"no installed distribution {DIST} found"
    return f"fwanalysis {__version__}, no git checkout ({dist})"


def _csv_bytes(df: pd.DataFrame) -> bytes:
    """A figure's data table as CSV, fixed float format; a text cell or column name that a spreadsheet would
    run as a formula is quoted (:func:`.console.csv_cell`), numbers and every other column as they are."""
    df = df.copy()
    columns = [csv_cell(c) for c in df.columns]
    if columns != list(df.columns):
        df.columns = columns
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            continue
        quoted = col.astype(object).map(csv_cell)
        if not quoted.equals(col.astype(object)):
            df.isetitem(i, quoted)
    return df.to_csv(index=False, lineterminator="\n", float_format="%.6g").encode()


def report_targets(only: Sequence[str] = ()) -> list[str]:
    """The names of the files a report of the figures ``only`` (id prefixes; all when empty) may write."""
    return [
        *(f"{e.id}.{ext}" for e in _entries(only) for ext in FIGURE_FILES),
        "claims.md",
        "index.md",
        "index.html",
        "provenance.md",
    ]


def check_out(out: str | Path, *, only: Sequence[str] = (), force: bool = False) -> None:
    """Refuse, before any run is read, an ``out`` that cannot hold the report or holds files in its way that
    fwa did not write (:func:`.artifacts.owned.claim`, ``ValueError``); creates nothing."""
    claim(out, report_targets(only), force=force, create=False)


def _entries(only: Sequence[str]) -> list[FigureEntry]:
    return [e for e in FIGURES.values() if not only or any(e.id.startswith(o) for o in only)]


def write_report(
    runs: Sequence[Run],
    out: str | Path,
    *,
    studies: Sequence[str] = (),
    only: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
    force: bool = False,
    replacing: Callable[[list[str]], None] | None = None,
) -> list[ReportItem]:
    """Build every registered figure whose runs exist among ``runs`` into ``out``; return what happened.

    ``only`` restricts to these figure ids (prefix match). A figure whose runs are absent is listed in
    the index with the command that would make them; one that fails to build is listed with the error.
    Files in ``out`` that fwa did not write (or that changed since) and that the report would replace
    refuse it before anything is written (``NotFwaFiles``, a ``ValueError``); ``force`` replaces them,
    after telling ``replacing`` their names.
    """
    folder = claim(out, report_targets(only), force=force)
    if folder.replaced and replacing:
        replacing(folder.replaced)
    runs = sorted(runs, key=lambda r: r.run_id)
    items: list[ReportItem] = []
    with warnings.catch_warnings(record=True) as caught:  # a library's warning is a note in index.md, never printed
        warnings.simplefilter("always")
        for entry in _entries(only):
            if progress:
                progress(entry.id)
            items.append(_one(entry, runs, folder))
        claims = _write_claims(runs, items, folder)
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    write_pages(items, folder, claims, studies=studies, provenance=provenance(), notes=notes)
    return items


def _write_claims(runs: Sequence[Run], items: list[ReportItem], out: OutputFolder) -> Claims:
    """``claims.md``: the markdown of ``fwa claims`` on these runs, each verdict linking to the figure it rests
    on when that figure was built. Claims that cannot be evaluated (e.g. runs of several profiles) leave a
    claims.md that says why; the report goes on. Returns the results (or why there are none) for the index."""
    from .claims import FIGURE_OF, evaluate, to_markdown

    built = {i.id for i in items if i.status == "ok"}
    try:
        results = evaluate(runs)
    except ValueError as e:
        text = (
            "# The paper's findings as tested claims\n\n"
            f"The claims could not be evaluated on these runs: {md_text(e)}\n"
        )
        claims = Claims([], str(e))
    else:
        links = {cid: f"{fid}.png" for cid, fid in FIGURE_OF.items() if fid in built}
        text = to_markdown(results, links=links) + "\n"
        claims = Claims(list(results), None)
    out.write("claims.md", text.encode())
    return claims


def _missing(entry: FigureEntry, why: str) -> ReportItem:
    """A figure without runs to draw, listed with the command that makes them (or why they cannot be made)."""
    if entry.absent:
        return ReportItem(entry.id, entry.caption, "absent", note=entry.absent)
    cmd = f"fw-train sweep specs/{entry.sweep}.toml" if entry.sweep else "fw-train sweep SPEC"
    return ReportItem(entry.id, entry.caption, "missing", note=f"{why}; make them with `{cmd}`")


def _one(entry: FigureEntry, runs: Sequence[Run], out: OutputFolder) -> ReportItem:
    sel = select_for(entry, runs)
    if not sel:
        return _missing(entry, "no runs in this study")
    try:
        b = build(entry, sel, select=False)
    except (ValueError, KeyError) as e:
        return ReportItem(entry.id, entry.caption, "error", runs=sel, note=str(e))
    if b.empty:  # e.g. Fig. 7 from runs without MEST's λ: never drawn as empty axes
        plt.close(b.figure)
        n = len(b.runs)
        return _missing(entry, f"none of the {n} run{'s' * (n != 1)} selected for it holds data it draws")
    files = []
    summary = entry.summary(b.result) if entry.summary is not None else ""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for ext in ("png", "pdf"):
                save_figure(b.figure, out.path / f"{entry.id}.{ext}")
                out.wrote(f"{entry.id}.{ext}")
                files.append(f"{entry.id}.{ext}")
    finally:
        plt.close(b.figure)
    said = sorted({*b.warnings, *(f"{w.category.__name__}: {w.message}" for w in caught)})
    out.write(f"{entry.id}.csv", _csv_bytes(b.table))
    files.append(f"{entry.id}.csv")
    return ReportItem(
        entry.id,
        entry.caption,
        "ok",
        runs=b.runs,
        files=files,
        summary=summary,
        measured=measured(b.runs, entry.measure),
        warnings=said,
    )
