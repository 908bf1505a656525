"""The pages of ``fwa report`` (docs/cli.md, ``fwa report``): ``index.md``, a front page, ``provenance.md`` and,
through :mod:`.report_html`, ``index.html``.

``index.md`` reads top-down: the claims at a glance (each verdict of ``claims.md`` in one row), the figures
(a table of contents, then one section per built figure: the figure, its caption, the regime measured from its
runs, what the embedded data does not share with the paper, its files), then the figures not drawn from these
runs with what would make them, then Tables 1-4. The run ids and run.json sha256 of every figure are in
``provenance.md``, one section per figure, linked from each figure. Every value from the runs or the command
line is escaped (:func:`.markdown.md_text`); fwa's own texts (captions, claim texts) are Markdown as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .artifacts.owned import OutputFolder
from .figures import EMBEDDED, FIGURES
from .markdown import md_text

if TYPE_CHECKING:
    from .report import ReportItem

__all__ = ["Claims", "Table", "write_pages", "STATUS", "NOT_BUILT", "TABLES"]

MAX_TABLE_BYTES = 1 << 20  # a table of fw-train tables that index.md inlines

STATUS = {"ok": "built", "absent": "absent (data not available here)", "missing": "no runs", "error": "failed"}
NOT_BUILT = {"absent": "Absent", "missing": "No runs", "error": "Failed"}

TABLES = {  # written by the trainer (`fw-train tables`): they describe what it trains, from its registries and specs
    "table01-criteria": "Paper Table 1: the pruning criteria, their scores and the DST methods that use them",
    "table02-models": "Paper Table 2: the architectures with dense and masked parameter counts",
    "table03-dst-settings": "Paper Table 3: the DST settings of every spec's paper profile",
    "table04-datasets": "Paper Table 4: the data sets and their splits",
}


@dataclass
class Claims:
    """The claims evaluated on the report's runs (``ClaimResult`` of :func:`.claims.evaluate`), or why none."""

    results: list
    error: str | None


@dataclass
class Table:
    """One of the paper's Tables 1-4 in the report's folder: ``md`` its Markdown when ``fw-train tables`` wrote it
    there unchanged, ``csv`` whether its CSV is there too; ``foreign``: a file there that fwa did not write."""

    id: str
    caption: str
    md: str | None
    csv: bool
    foreign: bool


def tables_of(out: OutputFolder) -> list[Table]:
    """The paper's Tables 1-4 that ``fw-train tables --out`` wrote in ``out``, read when fwa's record lists them
    unchanged (a regular file, never a symbolic link)."""
    found = []
    for tid, caption in TABLES.items():
        md = out.read(f"{tid}.md", max_bytes=MAX_TABLE_BYTES)
        csv = md is not None and out.read(f"{tid}.csv", max_bytes=MAX_TABLE_BYTES) is not None
        path = out.path / f"{tid}.md"
        foreign = md is None and (path.exists() or path.is_symlink())
        found.append(
            Table(tid, caption, md.decode("utf-8", errors="replace") if md is not None else None, csv, foreign)
        )
    return found


def figure_of_claims() -> dict[str, str]:
    from .claims import FIGURE_OF

    return FIGURE_OF


def write_pages(
    items: list[ReportItem],
    out: OutputFolder,
    claims: Claims,
    *,
    studies: Sequence[str],
    provenance: str,
    notes: Sequence[str] = (),
) -> None:
    """Write ``index.md``, ``provenance.md`` and ``index.html`` of a report into ``out``."""
    from .report_html import html_page

    tables = tables_of(out)
    out.write("index.md", _index(items, claims, tables, studies=studies, provenance=provenance, notes=notes).encode())
    out.write("provenance.md", _provenance(items, studies=studies, provenance=provenance).encode())
    page = html_page(items, out, claims, tables, studies=studies, provenance=provenance, notes=notes)
    out.write("index.html", page.encode())


def counts(items: Sequence[ReportItem]) -> str:
    n = {s: sum(i.status == s for i in items) for s in STATUS}
    return f"{n['ok']} figures built, {n['absent']} absent, {n['missing']} without runs, {n['error']} failed."


def on_embedded(item: ReportItem) -> str | None:
    """The figure's note on the embedded data, when every run of it is on the embedded data."""
    embedded = FIGURES[item.id].embedded
    if item.runs and embedded and all(r.config.get("dataset") in EMBEDDED for r in item.runs):
        return embedded
    return None


def _cell(text: str) -> str:
    """fwa's own text in a table cell: ``|`` (as in |θ|) would end the cell."""
    return str(text).replace("|", "\\|")


def _claims_glance(items: Sequence[ReportItem], claims: Claims) -> list[str]:
    from .claims.output import fmt_value

    lines = ["## Claims at a glance", ""]
    if claims.error is not None:
        return [*lines, f"The claims could not be evaluated on these runs: {md_text(claims.error)}", ""]
    built = {i.id for i in items if i.status == "ok"}
    figure_of = figure_of_claims()
    lines += ["| verdict | claim | value | runs | figure |", "|---|---|---|---|---|"]
    for r in claims.results:
        fid = figure_of.get(r.id, "")
        fig = f"[{fid}](#{fid})" if fid in built else (fid or "–")
        lines.append(
            f"| **{r.verdict}** | [{_cell(r.text)}](claims.md#{r.id}) | {md_text(fmt_value(r.value))} | {r.runs} "
            f"| {fig} |"
        )
    held = sum(r.verdict == "holds" for r in claims.results)
    lines += [
        "",
        f"{held} of {len(claims.results)} claims hold on these runs. Each claim's quantity, threshold and detail: "
        "[claims.md](claims.md)",
        "",
    ]
    return lines


def _figure_section(i: ReportItem) -> list[str]:
    lines = [f"## {i.id}", "", f"![{i.id}]({i.id}.png)", "", i.caption, ""]
    if i.summary:
        lines += [md_text(i.summary), ""]  # measured numbers, and criterion names from the runs
    if i.measured:
        lines += [md_text(i.measured), ""]
    embedded = on_embedded(i)
    if embedded:
        lines += [f"*On the embedded data:* {embedded}", ""]
    for w in i.warnings:
        lines += [f"*Note:* drawing it, a library warned: {md_text(w)}", ""]
    sweeps = sorted({str(r.config.get("sweep")) for r in i.runs})
    lines += [
        f"Data: [{i.id}.csv]({i.id}.csv) · vector: [{i.id}.pdf]({i.id}.pdf) · "
        f"provenance: [{len(i.runs)} runs of sweep {', '.join(map(md_text, sweeps))}](provenance.md#{i.id})",
        "",
    ]
    return lines


def _not_built_section(i: ReportItem) -> list[str]:
    note = md_text(i.note) if i.status == "error" else i.note  # an error quotes values; the others are fwa's hints
    return [f"### {i.id}", "", i.caption, "", f"**{NOT_BUILT[i.status]}:** {note}", ""]


def _tables_section(tables: Sequence[Table]) -> list[str]:
    """The paper's Tables 1-4 inlined; a note for missing or foreign ones. Tables 5-6 (RoBERTa) are absent with
    Fig. 9."""
    lines = ["## Tables", ""]
    for t in tables:
        lines += [f"### {t.id}", "", t.caption + ".", ""]
        if t.md is not None:
            lines += [t.md, f"Data: [{t.id}.csv]({t.id}.csv)", ""] if t.csv else [t.md, ""]
        elif t.foreign:
            lines += [
                f"**Not fwa's:** {t.id}.md in this folder was not written by `fw-train tables` (or was changed "
                "since); it is not inlined.",
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


def _index(
    items: list[ReportItem],
    claims: Claims,
    tables: Sequence[Table],
    *,
    studies: Sequence[str],
    provenance: str,
    notes: Sequence[str],
) -> str:
    built = [i for i in items if i.status == "ok"]
    other = [i for i in items if i.status != "ok"]
    lines = [
        "# fwa report",
        "",
        f"Studies: {', '.join(md_text(s) for s in studies) or '-'}  ",
        f"{provenance}  ",
        counts(items),
        "",
        "As a web page: [index.html](index.html) · the paper's findings as tested claims: [claims.md](claims.md) · "
        "each figure's run ids and run.json sha256: [provenance.md](provenance.md)",
        "",
    ]
    lines += [f"*Note:* a library warned: {md_text(n)}  " for n in notes]
    lines += [""] if notes else []
    lines += _claims_glance(items, claims)
    lines += ["## Figures", "", "| figure | runs | status |", "|---|---|---|"]
    lines += [f"| [{i.id}](#{i.id}) | {len(i.runs)} | {STATUS[i.status]} |" for i in items]
    lines.append("")
    for i in built:
        lines += _figure_section(i)
    if other:
        lines += ["## Not drawn from these runs", ""]
        for i in other:
            lines += _not_built_section(i)
    lines += _tables_section(tables)
    return "\n".join(lines)


def _provenance(items: list[ReportItem], *, studies: Sequence[str], provenance: str) -> str:
    lines = [
        "# Provenance of the fwa report",
        "",
        f"Studies: {', '.join(md_text(s) for s in studies) or '-'}  ",
        f"{provenance}",
        "",
        "For each figure built: the sweeps that made its runs, and the run id and the sha256 of the run.json of "
        "each run (its first 16 hex digits). [Back to the report](index.md)",
        "",
    ]
    for i in items:
        if i.status != "ok":
            continue
        sweeps = sorted({str(r.config.get("sweep")) for r in i.runs})
        lines += [
            f"## {i.id}",
            "",
            f"Sweep: {', '.join(map(md_text, sweeps))} · {len(i.runs)} runs · [the figure](index.md#{i.id})",
            "",
            "| run_id | run.json sha256 |",
            "|---|---|",
        ]
        lines += [f"| {md_text(r.run_id)} | `{r.manifest_hash[:16]}` |" for r in i.runs]
        lines.append("")
    return "\n".join(lines)
