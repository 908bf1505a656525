"""LaTeX tables (booktabs) of the analysis commands' results: ``fwa <command> --format latex``.

Pure text formatting of rows that the analyses already computed: no statistics here. Columns that
come as a mean and its std (``mean``/``std``, ``X``/``X_std``, ``X_mean``/``X_std``) are printed as one
cell ``$m \\pm s$`` (the mean alone where the row's count n is 1); ``wide_rows`` turns a long mean/std
table into the paper's shape (one row per criterion, one column per density or Δt) and marks the best
cell of each column, which is set in bold.
The output needs ``\\usepackage{booktabs}`` in the preamble.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["MeanStd", "escape", "latex_table", "merge_mean_std", "wide_rows"]

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


# The non-ASCII characters fwa's own texts use, as commands plain pdflatex knows (it stops at a raw λ or −).
_UNICODE = {
    "Δ": r"\ensuremath{\Delta}",
    "λ": r"\ensuremath{\lambda}",
    "θ": r"\ensuremath{\theta}",
    "ρ": r"\ensuremath{\rho}",
    "α": r"\ensuremath{\alpha}",
    "∇": r"\ensuremath{\nabla}",
    "−": r"\ensuremath{-}",
    "±": r"\ensuremath{\pm}",
    "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}",
    "≤": r"\ensuremath{\le}",
    "≥": r"\ensuremath{\ge}",
    "∪": r"\ensuremath{\cup}",
    "∩": r"\ensuremath{\cap}",
    "⋂": r"\ensuremath{\bigcap}",
    "⊆": r"\ensuremath{\subseteq}",
    "¬": r"\ensuremath{\neg}",
    "→": r"\ensuremath{\to}",
    "≈": r"\ensuremath{\approx}",
    "–": "--",
    "—": "---",
    "§": r"\S{}",
    "š": r"\v{s}",
    "é": r"\'{e}",
    "ő": r"\H{o}",
    "⌈": r"\ensuremath{\lceil}",
    "⌉": r"\ensuremath{\rceil}",
    "⌊": r"\ensuremath{\lfloor}",
    "⌋": r"\ensuremath{\rfloor}",
}


def escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped and fwa's Greek and math symbols as commands, to
    be set as written by plain pdflatex (other non-ASCII characters pass through, for xelatex/lualatex)."""
    return "".join(_SPECIAL.get(ch) or _UNICODE.get(ch, ch) for ch in str(text))


def _number(v: float, digits: int) -> str:
    return f"{v:.{digits}f}" if abs(v) >= 10**-digits or v == 0 else f"{v:.2g}"


class MeanStd(tuple):
    """A (mean, std) cell: printed as ``$m \\pm s$``."""

    def __new__(cls, mean: float, std: float | None):
        return super().__new__(cls, (mean, std))


def _cell(v, *, digits: int, bold: bool) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "--"
    if isinstance(v, MeanStd):
        m, s = v
        if m is None or not math.isfinite(m):
            return "--"
        body = _number(m, digits) + (rf" \pm {_number(s, digits)}" if s is not None and math.isfinite(s) else "")
        return rf"$\mathbf{{{body}}}$" if bold else f"${body}$"
    if isinstance(v, float) and not isinstance(v, bool):
        return rf"$\mathbf{{{_number(v, digits)}}}$" if bold else f"${_number(v, digits)}$"
    text = ("yes" if v else "no") if isinstance(v, bool) else escape(v)
    return rf"\textbf{{{text}}}" if bold else text


def _spread(row: Mapping, std: str):
    """The std of a row's mean, or None where its count ``n`` is 1: one value has no spread to print."""
    n = row.get("n")
    return None if isinstance(n, (int, float)) and not isinstance(n, bool) and n <= 1 else row.get(std)


def merge_mean_std(rows: Sequence[Mapping]) -> list[dict]:
    """Rows with each mean/std column pair folded into one ``MeanStd`` cell under the mean's name
    (``mean``+``std``; ``X``+``X_std``; ``X_mean``+``X_std`` becomes ``X``)."""
    if not rows:
        return []
    cols = list(rows[0])
    pairs: dict[str, tuple[str, str]] = {}  # mean column -> (its std column, the merged name)
    for c in cols:
        if c == "mean" and "std" in cols:
            pairs[c] = ("std", "mean")
        elif c.endswith("_mean") and f"{c[:-5]}_std" in cols:
            pairs[c] = (f"{c[:-5]}_std", c[:-5])
        elif f"{c}_std" in cols:
            pairs[c] = (f"{c}_std", c)
    stds = {s for s, _ in pairs.values()}
    out = []
    for r in rows:
        row = {}
        for c in cols:
            if c in stds:
                continue
            if c in pairs:
                std, name = pairs[c]
                row[name] = MeanStd(r.get(c), _spread(r, std))
            else:
                row[c] = r.get(c)
        out.append(row)
    return out


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def wide_rows(
    rows: Sequence[Mapping],
    *,
    index: Sequence[str],
    columns: str,
    group: Sequence[str] = (),
    higher_is_better: bool = True,
    not_best: Iterable[str] = ("dense",),
    by: str = "criterion",
    mean: str = "mean",
    std: str = "std",
) -> tuple[list[dict], set[tuple[int, str]]]:
    """Pivot long mean/std rows to one row per ``index`` and one column per value of ``columns``.

    Returns the rows and the (row number, column) cells to bold: in each group (rows equal on
    ``group``) and column, the best mean among rows whose ``by`` is not in ``not_best`` (a dense
    baseline is no competitor), all of them when tied.
    """
    values = sorted({r[columns] for r in rows}, key=lambda v: (isinstance(v, str), v))
    keyed: dict[tuple, dict] = {}
    for r in rows:
        key = tuple(_hashable(r.get(c)) for c in index)  # a list-valued setting (lr_milestones) keys as a tuple
        row = keyed.setdefault(key, {c: r.get(c) for c in index})
        row[f"{columns}={r[columns]:g}" if isinstance(r[columns], (int, float)) else str(r[columns])] = MeanStd(
            r.get(mean), _spread(r, std)
        )
    names = [f"{columns}={v:g}" if isinstance(v, (int, float)) else str(v) for v in values]
    out = [{**{c: row.get(c) for c in index}, **{n: row.get(n) for n in names}} for row in keyed.values()]
    best: set[tuple[int, str]] = set()
    skip = set(not_best)
    for n in names:
        groups: dict[tuple, list[tuple[int, float]]] = {}
        for i, row in enumerate(out):
            cell = row.get(n)
            if row.get(by) in skip or not isinstance(cell, MeanStd) or cell[0] is None or not math.isfinite(cell[0]):
                continue
            groups.setdefault(tuple(_hashable(row.get(g)) for g in group), []).append((i, cell[0]))
        for members in groups.values():
            if len(members) < 2:
                continue
            target = (max if higher_is_better else min)(v for _, v in members)
            best |= {(i, n) for i, v in members if v == target}
    return out, best


def latex_table(
    rows: Sequence[Mapping],
    *,
    caption: str = "",
    bold: set[tuple[int, str]] = frozenset(),
    digits: int = 3,
    label: str = "",
) -> str:
    """A booktabs ``table`` of ``rows`` (one dict per row, equal keys): text columns left-aligned,
    numbers right-aligned, mean/std pairs merged, cells in ``bold`` (row number, column) bold."""
    rows = merge_mean_std(rows)
    cols = list(rows[0]) if rows else []
    numeric = {
        c: all(isinstance(r.get(c), (int, float, MeanStd)) or r.get(c) is None for r in rows)
        and not all(isinstance(r.get(c), bool) for r in rows)
        for c in cols
    }
    spec = "".join("r" if numeric[c] else "l" for c in cols) or "l"
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(escape(c) for c in cols) + r" \\", r"\midrule"]
    for i, r in enumerate(rows):
        lines.append(" & ".join(_cell(r.get(c), digits=digits, bold=(i, c) in bold) for c in cols) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
