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

from . import __version__
from .artifacts import Run
from .artifacts.owned import OutputFolder, claim
from .figures import FIGURES, FigureEntry, select_for
from .markdown import md_text
from .report_figures import Drawing, Rendered
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
    jobs: int = 1,
) -> list[ReportItem]:
    """Build every registered figure whose runs exist among ``runs`` into ``out``; return what happened.

    ``only`` restricts to these figure ids (prefix match). A figure whose runs are absent is listed in
    the index with the command that would make them; one that fails to build is listed with the error.
    Files in ``out`` that fwa did not write (or that changed since) and that the report would replace
    refuse it before anything is written (``NotFwaFiles``, a ``ValueError``); ``force`` replaces them,
    after telling ``replacing`` their names. ``jobs``: figures drawn in that many processes at once
    (:mod:`.report_figures`); the same bytes, items, progress and notes as one.
    """
    folder = claim(out, report_targets(only), force=force)
    if folder.replaced and replacing:
        replacing(folder.replaced)
    runs = sorted(runs, key=lambda r: r.run_id)
    with folder.deferred_sync():  # the files synced to disk once, at the end, not one by one
        items, claims, notes = _draw(runs, _entries(only), folder, progress=progress, jobs=jobs)
        write_pages(items, folder, claims, studies=studies, provenance=provenance(), notes=notes)
    return items


def _draw(
    runs: list[Run],
    entries: list[FigureEntry],
    folder: OutputFolder,
    *,
    progress: Callable[[str], None] | None,
    jobs: int,
) -> tuple[list[ReportItem], Claims, list[str]]:
    """Each entry's figure drawn and written, then ``claims.md``: (the items, the claims, the notes)."""
    at = {id(r): i for i, r in enumerate(runs)}
    items: list[ReportItem] = []
    notes: set[str] = set()
    with warnings.catch_warnings(record=True) as caught:  # a library's warning is a note in index.md, never printed
        warnings.simplefilter("always")
        chosen = {e.id: [at[id(r)] for r in select_for(e, runs)] for e in entries}
        todo = [(e, chosen[e.id]) for e in entries if chosen[e.id]]
        with Drawing(runs, jobs=min(jobs, len(todo) + 1)) as drawing:  # the figures and the claims
            claimed = drawing.claims()
            drawn = drawing.figures(todo)
            for entry in entries:
                if progress:
                    progress(entry.id)
                if not chosen[entry.id]:
                    items.append(_missing(entry, "no runs in this study"))
                    continue
                done = next(drawn)
                notes.update(done.notes)
                items.append(_item(entry, done, runs, chosen[entry.id], folder))
            results, why, said = claimed()
        notes.update(said)
        claims = _write_claims(results, why, items, folder)
    notes.update(f"{w.category.__name__}: {w.message}" for w in caught)
    return items, claims, sorted(notes)


def _write_claims(results: list | None, why: str, items: list[ReportItem], out: OutputFolder) -> Claims:
    """``claims.md``: the markdown of ``fwa claims`` on the report's runs (``results``), each verdict linking to
    the figure it rests on when that figure was built. Claims that cannot be evaluated (e.g. runs of several
    profiles; ``why``) leave a claims.md that says why; the report goes on. Returns the results (or why there are
    none) for the index."""
    from .claims import FIGURE_OF, to_markdown

    built = {i.id for i in items if i.status == "ok"}
    if results is None:
        text = (
            "# The paper's findings as tested claims\n\n"
            f"The claims could not be evaluated on these runs: {md_text(why)}\n"
        )
        claims = Claims([], why)
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


def _item(entry: FigureEntry, done: Rendered, runs: list[Run], chosen: list[int], out: OutputFolder) -> ReportItem:
    """The report's item of a drawn figure (:func:`.report_figures.render`), its files written in ``out``."""
    shown = [runs[chosen[i]] for i in done.runs]
    if done.status == "error":
        return ReportItem(entry.id, entry.caption, "error", runs=shown, note=done.note)
    if done.status == "empty":
        n = len(shown)
        return _missing(entry, f"none of the {n} run{'s' * (n != 1)} selected for it holds data it draws")
    for name, data in done.files.items():
        out.write(name, data)
    return ReportItem(
        entry.id,
        entry.caption,
        "ok",
        runs=shown,
        files=list(done.files),
        summary=done.summary,
        measured=done.measured,
        warnings=done.warnings,
    )
