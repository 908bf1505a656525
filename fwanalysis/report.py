"""``fwa report``: every registered figure as PNG + PDF + CSV, an ``index.md`` with captions and provenance, and
``claims.md`` (the paper's findings as tested claims, ``fwa claims``).

Deterministic: inputs sorted, fixed figure metadata, no timestamps, so a rebuild from the same
artifacts (and the same code) writes the same bytes.

The report replaces only files fwa wrote in its folder (:mod:`.artifacts.owned`, ``.fwa-written.json``):
a user's own ``index.md``, an edited figure or a symbolic link there is refused before anything is written,
unless forced. Tables 1-4 are inlined only when ``fw-train tables`` wrote them there, unchanged. Run ids,
config values, paths and error texts are escaped in the Markdown (:func:`.markdown.md_text`), text cells of
the CSV tables quoted where a spreadsheet would run them (:func:`.console.csv_cell`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from . import __version__
from .artifacts import Run
from .artifacts.owned import OutputFolder, claim
from .console import csv_cell
from .figures import EMBEDDED, FIGURES, FigureEntry, build, save_figure, select_for
from .markdown import md_text

__all__ = ["write_report", "report_targets", "check_out", "ReportItem", "git_commit"]

FIGURE_FILES = ("png", "pdf", "csv")
MAX_TABLE_BYTES = 1 << 20  # a table of fw-train tables that index.md inlines


@dataclass
class ReportItem:
    id: str
    caption: str
    status: str  # "ok" | "absent" | "missing" | "error"
    runs: list[Run] = field(default_factory=list)
    note: str = ""
    files: list[str] = field(default_factory=list)
    summary: str = ""  # measured numbers the caption quotes (FigureEntry.summary)


def git_commit() -> str:
    """The commit of the fwa source tree, or ``unknown`` outside a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


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
    return [*(f"{e.id}.{ext}" for e in _entries(only) for ext in FIGURE_FILES), "claims.md", "index.md"]


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
    for entry in _entries(only):
        if progress:
            progress(entry.id)
        items.append(_one(entry, runs, folder))
    _write_claims(runs, items, folder)
    _write_index(items, folder, studies=studies)
    return items


def _write_claims(runs: Sequence[Run], items: list[ReportItem], out: OutputFolder) -> None:
    """``claims.md``: the markdown of ``fwa claims`` on these runs, each verdict linking to the figure it rests
    on when that figure was built. Claims that cannot be evaluated (e.g. runs of several profiles) leave a
    claims.md that says why; the report goes on."""
    from .claims import FIGURE_OF, evaluate, to_markdown

    built = {i.id for i in items if i.status == "ok"}
    try:
        results = evaluate(runs)
    except ValueError as e:
        text = (
            "# The paper's findings as tested claims\n\n"
            f"The claims could not be evaluated on these runs: {md_text(e)}\n"
        )
    else:
        links = {cid: f"{fid}.png" for cid, fid in FIGURE_OF.items() if fid in built}
        text = to_markdown(results, links=links) + "\n"
    out.write("claims.md", text.encode())


def _one(entry: FigureEntry, runs: Sequence[Run], out: OutputFolder) -> ReportItem:
    sel = select_for(entry, runs)
    if not sel:
        if entry.absent:
            return ReportItem(entry.id, entry.caption, "absent", note=entry.absent)
        cmd = f"fw-train sweep specs/{entry.sweep}.toml" if entry.sweep else "fw-train sweep SPEC"
        return ReportItem(entry.id, entry.caption, "missing", note=f"no runs in this study; make them with `{cmd}`")
    try:
        b = build(entry, sel, select=False)
    except (ValueError, KeyError) as e:
        return ReportItem(entry.id, entry.caption, "error", runs=sel, note=str(e))
    files = []
    summary = entry.summary(b.result) if entry.summary is not None else ""
    try:
        for ext in ("png", "pdf"):
            save_figure(b.figure, out.path / f"{entry.id}.{ext}")
            out.wrote(f"{entry.id}.{ext}")
            files.append(f"{entry.id}.{ext}")
    finally:
        plt.close(b.figure)
    out.write(f"{entry.id}.csv", _csv_bytes(b.table))
    files.append(f"{entry.id}.csv")
    return ReportItem(entry.id, entry.caption, "ok", runs=b.runs, files=files, summary=summary)


TABLES = {  # written by the trainer (`fw-train tables`): they describe what it trains, from its registries and specs
    "table01-criteria": "Paper Table 1: the pruning criteria, their scores and the DST methods that use them",
    "table02-models": "Paper Table 2: the architectures with dense and masked parameter counts",
    "table03-dst-settings": "Paper Table 3: the DST settings of every spec's paper profile",
    "table04-datasets": "Paper Table 4: the data sets and their splits",
}


def _tables_section(out: OutputFolder) -> list[str]:
    """The paper's Tables 1-4 that ``fw-train tables --out`` wrote in ``out``, inlined when fwa's record lists
    them unchanged (a regular file, never a symbolic link); a note for missing or foreign ones. Tables 5-6
    (RoBERTa) are absent with Fig. 9."""
    lines = ["## Tables", ""]
    for tid, caption in TABLES.items():
        lines += [f"### {tid}", "", caption + ".", ""]
        md = out.read(f"{tid}.md", max_bytes=MAX_TABLE_BYTES)
        if md is not None:
            text = md.decode("utf-8", errors="replace")
            data = (
                f"Data: [{tid}.csv]({tid}.csv)" if out.read(f"{tid}.csv", max_bytes=MAX_TABLE_BYTES) is not None else ""
            )
            lines += [text, data, ""] if data else [text, ""]
        elif (out.path / f"{tid}.md").exists() or (out.path / f"{tid}.md").is_symlink():
            lines += [
                f"**Not fwa's:** {tid}.md in this folder was not written by `fw-train tables` (or was changed since); "
                "it is not inlined.",
                "",
            ]
        else:
            lines += [
                "**Not written:** run `fw-train tables --out` with this report's folder "
                "(the trainer's registries and specs make it).",
                "",
            ]
    lines += [
        "### table05-06-roberta",
        "",
        f"Paper Tables 5-6 (RoBERTa on CommonsenseQA): **Absent:** {FIGURES['fig09-roberta'].absent}",
        "",
    ]
    return lines


def _write_index(items: list[ReportItem], out: OutputFolder, *, studies: Sequence[str]) -> None:
    """``index.md``: the figure table, Tables 1-4, and a section per figure with its caption, files and
    provenance; every value from the runs or the command line escaped (:func:`.markdown.md_text`)."""
    commit = git_commit()
    lines = [
        "# fwa report",
        "",
        f"Studies: {', '.join(md_text(s) for s in studies) or '-'}  ",
        f"fwanalysis {__version__}, git commit `{commit}`  ",
        f"{sum(i.status == 'ok' for i in items)} figures built, {sum(i.status == 'absent' for i in items)} absent, "
        f"{sum(i.status == 'missing' for i in items)} without runs, {sum(i.status == 'error' for i in items)} failed.",
        "",
        "The paper's findings as tested claims, each with its verdict on these runs: [claims.md](claims.md)",
        "",
        "| figure | caption | runs | status |",
        "|---|---|---|---|",
    ]
    for i in items:
        status = {"ok": "built", "absent": "absent (data not available here)", "missing": "no runs", "error": "failed"}[
            i.status
        ]
        link = f"[{i.id}](#{i.id})"
        caption = i.caption.replace("|", "\\|")  # |θ| would end the table cell
        lines.append(f"| {link} | {caption} | {len(i.runs)} | {status} |")
    lines.append("")
    lines += _tables_section(out)
    for i in items:
        lines += [f"## {i.id}", "", i.caption, ""]
        if i.summary:
            lines += [md_text(i.summary), ""]  # measured numbers, and criterion names from the runs
        embedded = FIGURES[i.id].embedded
        if i.runs and embedded and all(r.config.get("dataset") in EMBEDDED for r in i.runs):
            lines += [f"*On the embedded data:* {embedded}", ""]
        if i.status == "ok":
            lines += [
                f"![{i.id}]({i.id}.png)",
                "",
                f"Data: [{i.id}.csv]({i.id}.csv) · vector: [{i.id}.pdf]({i.id}.pdf)  ",
            ]
            sweeps = sorted({str(r.config.get("sweep")) for r in i.runs})
            lines += [
                f"Sweep: {', '.join(map(md_text, sweeps))} · {len(i.runs)} runs · fwanalysis {__version__} · "
                f"commit `{commit[:12]}`",
                "",
            ]
            lines += [
                "<details><summary>Provenance: run ids and sha256 of each run.json</summary>",
                "",
                "| run_id | run.json sha256 |",
                "|---|---|",
            ]
            lines += [f"| {md_text(r.run_id)} | `{r.manifest_hash[:16]}` |" for r in i.runs]
            lines += ["", "</details>", ""]
        else:
            note = (
                md_text(i.note) if i.status == "error" else i.note
            )  # an error quotes values; the others are fwa's hints
            lines += [f"**{ {'absent': 'Absent', 'missing': 'No runs', 'error': 'Failed'}[i.status] }:** {note}", ""]
    out.write("index.md", "\n".join(lines).encode())
