"""The claims as ``fwa claims`` prints them: one row per claim (table, CSV) and the Markdown of ``--format md`` and
the report's ``claims.md``."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..artifacts.io import json_ready
from ..markdown import md_text
from .base import ClaimResult, _plain
from .registry import FIGURE_OF


def fmt_value(v) -> str:
    """Fixed formatting of a value (the report's bytes must not depend on float repr)."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4f}" if math.isfinite(v) else "–"
    return str(v)


def rows(results: Sequence[ClaimResult]) -> list[dict]:
    """One row per claim: id, verdict, value, threshold, runs (the table and CSV of ``fwa claims``)."""
    return [
        {"id": r.id, "verdict": r.verdict, "value": r.value, "threshold": r.threshold, "runs": r.runs} for r in results
    ]


def _md_cell(text: str) -> str:
    """fwa's own text (a claim's quantity or threshold, Markdown as written) in a table cell: ``|`` escaped."""
    return str(text).replace("|", "\\|")


def _detail_lines(detail, indent: int = 0) -> list[str]:
    """A claim's detail as a nested Markdown list; its keys and values hold names and messages from the runs
    (models, criteria, reasons quoting config values), so every one is escaped (:func:`.markdown.md_text`)."""
    pad = "  " * indent
    lines = []
    for k, v in detail.items():
        if isinstance(v, dict):
            lines.append(f"{pad}- {md_text(k)}:")
            lines += _detail_lines(v, indent + 1)
        elif isinstance(v, (list, tuple)):
            lines.append(f"{pad}- {md_text(k)}: {', '.join(md_text(fmt_value(x)) for x in v) or '–'}")
        else:
            lines.append(f"{pad}- {md_text(k)}: {md_text(fmt_value(_plain(v)))}")
    return lines


def to_markdown(
    results: Sequence[ClaimResult],
    *,
    links: dict[str, str] | None = None,
    title: str = "# The paper's findings as tested claims",
) -> str:
    """The markdown of ``fwa claims --format md``: a table, then one section per claim with its text,
    source, value and detail. ``links``: claim id -> the file its verdict links to (the report's figure)."""
    links = links or {}
    lines = [title, "", "| id | verdict | value | threshold | runs |", "|---|---|---|---|---|"]
    for r in results:
        verdict = f"[{r.verdict}]({links[r.id]})" if r.id in links else r.verdict
        lines.append(f"| [`{r.id}`](#{r.id}) | {verdict} | {fmt_value(r.value)} | {_md_cell(r.threshold)} | {r.runs} |")
    lines.append("")
    for r in results:
        lines += [
            f"## {r.id}",
            "",
            f"{r.text} ({r.source}).",
            "",
            f"- quantity: {_md_cell(r.quantity)}",
            f"- threshold: {_md_cell(r.threshold)}",
            f"- value: {fmt_value(r.value)}",
            f"- verdict: **{r.verdict}**" + (f" (figure: [{FIGURE_OF[r.id]}]({links[r.id]}))" if r.id in links else ""),
            f"- runs: {r.runs}",
        ]
        if r.paper_value is not None:
            lines.append(f"- paper value: {', '.join(f'{k} {fmt_value(v)}' for k, v in r.paper_value.items())}")
        lines += ["", "Detail:", ""]
        lines += _detail_lines(json_ready(r.detail)) or ["- –"]
        lines.append("")
    return "\n".join(lines)
