"""``fwa report``: every registered figure as PNG + PDF + CSV, an ``index.md`` with captions and provenance, and
``claims.md`` (the paper's findings as tested claims, ``fwa claims``).

Deterministic: inputs sorted, fixed figure metadata, no timestamps, so a rebuild from the same
artifacts (and the same code) writes the same bytes.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import matplotlib.pyplot as plt

from . import __version__
from .artifacts import Run
from .artifacts.io import write_bytes
from .figures import EMBEDDED, EMBEDDED_DIFFERS, FIGURES, FigureEntry, build, save_figure, select_for

__all__ = ["write_report", "ReportItem", "git_commit"]


@dataclass
class ReportItem:
    id: str
    caption: str
    status: str                      # "ok" | "absent" | "missing" | "error"
    runs: list[Run] = field(default_factory=list)
    note: str = ""
    files: list[str] = field(default_factory=list)
    summary: str = ""                # measured numbers the caption quotes (FigureEntry.summary)


def git_commit() -> str:
    """The commit of the fwa source tree, or ``unknown`` outside a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _csv_bytes(df) -> bytes:
    return df.to_csv(index=False, lineterminator="\n", float_format="%.6g").encode()


def write_report(
    runs: Sequence[Run],
    out: str | Path,
    *,
    studies: Sequence[str] = (),
    only: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> list[ReportItem]:
    """Build every registered figure whose runs exist among ``runs`` into ``out``; return what happened.

    ``only`` restricts to these figure ids (prefix match). A figure whose runs are absent is listed in
    the index with the command that would make them; one that fails to build is listed with the error.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = sorted(runs, key=lambda r: r.run_id)
    items: list[ReportItem] = []
    entries = [e for e in FIGURES.values() if not only or any(e.id.startswith(o) for o in only)]
    for entry in entries:
        if progress:
            progress(entry.id)
        items.append(_one(entry, runs, out))
    _write_claims(runs, items, out)
    _write_index(items, out, studies=studies)
    return items


def _write_claims(runs: Sequence[Run], items: list[ReportItem], out: Path) -> None:
    """``claims.md``: the markdown of ``fwa claims`` on these runs, each verdict linking to the figure it rests
    on when that figure was built. Claims that cannot be evaluated (e.g. runs of several profiles) leave a
    claims.md that says why; the report goes on."""
    from .claims import FIGURE_OF, evaluate, to_markdown

    built = {i.id for i in items if i.status == "ok"}
    try:
        results = evaluate(runs)
    except ValueError as e:
        text = f"# The paper's findings as tested claims\n\nThe claims could not be evaluated on these runs: {e}\n"
    else:
        links = {cid: f"{fid}.png" for cid, fid in FIGURE_OF.items() if fid in built}
        text = to_markdown(results, links=links) + "\n"
    write_bytes(out / "claims.md", text.encode())


def _one(entry: FigureEntry, runs: Sequence[Run], out: Path) -> ReportItem:
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
            save_figure(b.figure, out / f"{entry.id}.{ext}")
            files.append(f"{entry.id}.{ext}")
    finally:
        plt.close(b.figure)
    write_bytes(out / f"{entry.id}.csv", _csv_bytes(b.table))
    files.append(f"{entry.id}.csv")
    return ReportItem(entry.id, entry.caption, "ok", runs=b.runs, files=files, summary=summary)


TABLES = {  # written by the trainer (`fw-train tables`): they describe what it trains, from its registries and specs
    "table01-criteria": "Paper Table 1: the pruning criteria, their scores and the DST methods that use them",
    "table02-models": "Paper Table 2: the architectures with dense and masked parameter counts",
    "table03-dst-settings": "Paper Table 3: the DST settings of every spec's paper profile",
    "table04-datasets": "Paper Table 4: the data sets and their splits",
}


def _tables_section(out: Path) -> list[str]:
    """The paper's Tables 1-4 found in ``out`` (``fw-train tables --out``), inlined; a hint for missing ones.
    Tables 5-6 (RoBERTa) are absent with Fig. 9."""
    lines = ["## Tables", ""]
    for tid, caption in TABLES.items():
        md = out / f"{tid}.md"
        lines += [f"### {tid}", "", caption + ".", ""]
        if md.is_file():
            lines += [md.read_text(encoding="utf-8"), f"Data: [{tid}.csv]({tid}.csv)", ""]
        else:
            lines += ["**Not written:** run `fw-train tables --out` with this report's folder (the trainer's registries and specs make it).", ""]
    lines += ["### table05-06-roberta", "", f"Paper Tables 5-6 (RoBERTa on CommonsenseQA): **Absent:** {FIGURES['fig09-roberta'].absent}", ""]
    return lines


def _write_index(items: list[ReportItem], out: Path, *, studies: Sequence[str]) -> None:
    commit = git_commit()
    lines = [
        "# fwa report",
        "",
        f"Studies: {', '.join(f'`{s}`' for s in studies) or '-'}  ",
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
        status = {"ok": "built", "absent": "absent (data not available here)", "missing": "no runs", "error": "failed"}[i.status]
        link = f"[{i.id}](#{i.id})"
        caption = i.caption.replace("|", "\\|")  # |θ| would end the table cell
        lines.append(f"| {link} | {caption} | {len(i.runs)} | {status} |")
    lines.append("")
    lines += _tables_section(out)
    for i in items:
        lines += [f"## {i.id}", "", i.caption, ""]
        if i.summary:
            lines += [i.summary, ""]
        if i.runs and i.id in EMBEDDED_DIFFERS and all(r.config.get("dataset") == EMBEDDED for r in i.runs):
            lines += [f"*On the embedded data:* {EMBEDDED_DIFFERS[i.id]}", ""]
        if i.status == "ok":
            lines += [f"![{i.id}]({i.id}.png)", "", f"Data: [{i.id}.csv]({i.id}.csv) · vector: [{i.id}.pdf]({i.id}.pdf)  "]
            sweeps = sorted({str(r.config.get('sweep')) for r in i.runs})
            lines += [f"Sweep: {', '.join(sweeps)} · {len(i.runs)} runs · fwanalysis {__version__} · commit `{commit[:12]}`", ""]
            lines += ["<details><summary>Provenance: run ids and sha256 of each run.json</summary>", "", "| run_id | run.json sha256 |", "|---|---|"]
            lines += [f"| {r.run_id} | `{r.manifest_hash[:16]}` |" for r in i.runs]
            lines += ["", "</details>", ""]
        else:
            lines += [f"**{ {'absent': 'Absent', 'missing': 'No runs', 'error': 'Failed'}[i.status] }:** {i.note}", ""]
    write_bytes(out / "index.md", "\n".join(lines).encode())
