"""``index.html`` of ``fwa report``: the report as one web page that needs no network (docs/cli.md, ``fwa report``).

The claims table first, then a grid of thumbnails each linking to its figure's section, the sections (figure,
caption, measured regime, files; the data table and the provenance folded in ``<details>``), the figures not
drawn from these runs, and links to Tables 1-4. Everything is local: the style is inline, the images and files
are the report's own, relative to the page; no script. Every value from the runs, the command line or a file is
escaped (:func:`html.escape`, control characters as visible escapes).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from .artifacts.owned import OutputFolder
from .console import printable
from .report_pages import NOT_BUILT, Claims, Table, counts, figure_of_claims, on_embedded

if TYPE_CHECKING:
    from .report import ReportItem

__all__ = ["html_page", "MAX_ROWS"]

MAX_ROWS = 200  # rows of a figure's data table shown on the page (all of them are in its CSV)
MAX_CSV_BYTES = 16 << 20

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:0 1.2em 3em;color:#1d2125;background:#fff}
h1{margin:.8em 0 .1em}h2{margin-top:1.8em;border-bottom:1px solid #dde;padding-bottom:.2em}
.meta{color:#555;margin:.2em 0}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #dde;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f4f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-weight:600;padding:1px 6px;border-radius:3px;white-space:nowrap}
.holds{background:#d8f3dc;color:#14532d}.fails{background:#fde2e1;color:#7f1d1d}
.no-data,.other{background:#eceff3;color:#374151}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px;margin:.8em 0}
.thumb{display:block;border:1px solid #dde;border-radius:4px;padding:4px;text-decoration:none;color:#1d2125;
background:#fafbfc}
.thumb:hover{border-color:#6b8fd6}
.thumb img{width:100%;height:120px;object-fit:contain;display:block;background:#fff}
.thumb span{display:block;font-size:12px;margin-top:3px;overflow-wrap:anywhere}
section.figure img.full{max-width:100%;height:auto;border:1px solid #eee}
.caption{font-size:15px}.measured{color:#364152;font-size:14px}.note{color:#7a4b00;font-size:14px}
details{margin:.4em 0}summary{cursor:pointer;color:#2b4c9a}
code{background:#f3f4f7;padding:0 3px;border-radius:3px;font-size:90%}
.missing li{margin:.3em 0}
"""

_CODE = re.compile(r"`([^`]+)`")


def _h(value) -> str:
    """A value from the runs, the command line or a file as HTML text: escaped, control characters visible."""
    return escape(printable(value), quote=True)


def _own(text: str) -> str:
    """fwa's own text (a caption, a claim, a hint) as HTML: escaped, its `code spans` as <code>."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escape(str(text), quote=True))


def _verdict(v: str) -> str:
    cls = {"holds": "holds", "fails": "fails", "no data": "no-data"}.get(v, "other")
    return f'<span class="verdict {cls}">{_h(v)}</span>'


def _claims(items: Sequence[ReportItem], claims: Claims) -> list[str]:
    from .claims.output import fmt_value

    out = ['<section id="claims">', "<h2>Claims at a glance</h2>"]
    if claims.error is not None:
        out += [f"<p>The claims could not be evaluated on these runs: {_h(claims.error)}</p>", "</section>"]
        return out
    built = {i.id for i in items if i.status == "ok"}
    figure_of = figure_of_claims()
    held = {v: sum(r.verdict == v for r in claims.results) for v in ("holds", "fails")}
    out += [
        f"<p>Of {len(claims.results)} claims, {held['holds']} hold and {held['fails']} fail on these runs; the others "
        'have no data here. Each claim\'s quantity and detail: <a href="claims.md">claims.md</a></p>',
        '<table class="claims">',
        "<thead><tr><th>verdict</th><th>claim</th><th>value</th><th>threshold</th><th>runs</th><th>figure</th>"
        "</tr></thead>",
        "<tbody>",
    ]
    for r in claims.results:
        fid = figure_of.get(r.id, "")
        fig = f'<a href="#{_h(fid)}">{_h(fid)}</a>' if fid in built else _h(fid or "–")
        out.append(
            f"<tr><td>{_verdict(r.verdict)}</td><td>{_own(r.text)} <small>({_own(r.source)})</small></td>"
            f'<td class="num">{_h(fmt_value(r.value))}</td><td>{_own(r.threshold)}</td>'
            f'<td class="num">{r.runs}</td><td>{fig}</td></tr>'
        )
    out += ["</tbody></table>", "</section>"]
    return out


def _grid(items: Sequence[ReportItem]) -> list[str]:
    out = ['<section id="figures">', "<h2>Figures</h2>", '<div class="grid">']
    for i in items:
        if i.status == "ok":
            out.append(f'<a class="thumb" href="#{i.id}"><img src="{i.id}.png" alt="{i.id}"><span>{i.id}</span></a>')
    out.append("</div>")
    other = [i for i in items if i.status != "ok"]
    if other:
        short = {"absent": "absent here", "missing": "no runs", "error": "failed"}
        links = ", ".join(f'<a href="#{i.id}">{i.id}</a> ({short[i.status]})' for i in other)
        out.append(f"<p>Not drawn from these runs: {links}.</p>")
    out.append("</section>")
    return out


def _data_table(out: OutputFolder, fid: str) -> list[str]:
    """The figure's CSV, as written, in a folded table (its first :data:`MAX_ROWS` rows)."""
    data = out.read(f"{fid}.csv", max_bytes=MAX_CSV_BYTES)
    if data is None:
        return []
    rows = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))))
    if not rows:
        return []
    head, body = rows[0], rows[1:]
    shown = f"the first {MAX_ROWS} of {len(body)} rows" if len(body) > MAX_ROWS else f"{len(body)} rows"
    lines = [
        f"<details><summary>Data table: {shown} (all in {fid}.csv)</summary>",
        "<table><thead><tr>" + "".join(f"<th>{_h(c)}</th>" for c in head) + "</tr></thead><tbody>",
    ]
    lines += ["<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>" for row in body[:MAX_ROWS]]
    lines.append("</tbody></table></details>")
    return lines


def _figure(i: ReportItem, out: OutputFolder) -> list[str]:
    lines = [
        f'<section class="figure" id="{i.id}">',
        f"<h2>{i.id}</h2>",
        f'<img class="full" src="{i.id}.png" alt="{_own(i.caption)}">',
        f'<p class="caption">{_own(i.caption)}</p>',
    ]
    if i.summary:
        lines.append(f'<p class="measured">{_h(i.summary)}</p>')
    if i.measured:
        lines.append(f'<p class="measured">{_h(i.measured)}</p>')
    embedded = on_embedded(i)
    if embedded:
        lines.append(f"<p><em>On the embedded data:</em> {_own(embedded)}</p>")
    lines += [f'<p class="note">Note: drawing it, a library warned: {_h(w)}</p>' for w in i.warnings]
    lines.append(
        f'<p>Data: <a href="{i.id}.csv">{i.id}.csv</a> · vector: <a href="{i.id}.pdf">{i.id}.pdf</a> · '
        f'<a href="#figures">back to the figures</a></p>'
    )
    lines += _data_table(out, i.id)
    sweeps = sorted({str(r.config.get("sweep")) for r in i.runs})
    lines += [
        f"<details><summary>Provenance: {len(i.runs)} runs of sweep {_h(', '.join(sweeps))}</summary>",
        "<table><thead><tr><th>run_id</th><th>run.json sha256</th></tr></thead><tbody>",
        *(f"<tr><td>{_h(r.run_id)}</td><td><code>{r.manifest_hash[:16]}</code></td></tr>" for r in i.runs),
        "</tbody></table></details>",
        "</section>",
    ]
    return lines


def _not_built(items: Sequence[ReportItem]) -> list[str]:
    other = [i for i in items if i.status != "ok"]
    if not other:
        return []
    lines = ['<section id="not-drawn" class="missing">', "<h2>Not drawn from these runs</h2>", "<ul>"]
    for i in other:
        note = _h(i.note) if i.status == "error" else _own(i.note)  # an error quotes values; the others are fwa's
        lines.append(
            f'<li id="{i.id}"><strong>{i.id}</strong>: {_own(i.caption)}<br>'
            f"<strong>{NOT_BUILT[i.status]}:</strong> {note}</li>"
        )
    return [*lines, "</ul>", "</section>"]


def _tables(tables: Sequence[Table]) -> list[str]:
    lines = ['<section id="tables">', "<h2>Tables</h2>", "<ul>"]
    for t in tables:
        if t.md is not None:
            files = f'<a href="{t.id}.md">{t.id}.md</a>' + (f' · <a href="{t.id}.csv">{t.id}.csv</a>' if t.csv else "")
        elif t.foreign:
            files = f"{t.id}.md here was not written by <code>fw-train tables</code> (or was changed since)"
        else:
            files = "not written: run <code>fw-train tables --out</code> with this report's folder"
        lines.append(f"<li>{_own(t.caption)}: {files}</li>")
    return [*lines, "</ul>", "</section>"]


def html_page(
    items: list[ReportItem],
    out: OutputFolder,
    claims: Claims,
    tables: Sequence[Table],
    *,
    studies: Sequence[str],
    provenance: str,
    notes: Sequence[str] = (),
) -> str:
    """The report as one self-contained HTML page (deterministic: the same items give the same text)."""
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>fwa report</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>fwa report</h1>",
        f'<p class="meta">Studies: {_h(", ".join(studies) or "-")} · {_own(provenance)}</p>',
        f'<p class="meta">{counts(items)} Also as <a href="index.md">index.md</a>; each figure\'s run ids and '
        'run.json sha256: <a href="provenance.md">provenance.md</a></p>',
        *(f'<p class="note">Note: a library warned: {_h(n)}</p>' for n in notes),
        "</header>",
        "<main>",
        *_claims(items, claims),
        *_grid(items),
        *(line for i in items if i.status == "ok" for line in _figure(i, out)),
        *_not_built(items),
        *_tables(tables),
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)
