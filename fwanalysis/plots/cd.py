"""Critical-difference diagram in the style of Demšar (2006), Figure 1.

Draws a ``CDResult`` (``fwanalysis.stats.cd``); computes nothing, reads and writes no files.
"""

from __future__ import annotations

import math
from functools import lru_cache

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath

from fwanalysis.stats.cd import CDResult

__all__ = ["cd_title", "plot_cd_diagram"]

_NAME_SIZE = 9.0  # pt, method names
_SMALL_SIZE = 7.5  # pt, tick labels, average ranks, "CD"
_ROW_IN = 0.24  # inches between two label rows when the figure is ours


def _text_width_in(text: str, size: float) -> float:
    """Width of ``text`` at ``size`` points in inches (no renderer needed)."""
    if not text:
        return 0.0
    rc = plt.rcParams
    return _path_width_in(text, FontProperties(size=size), rc["text.usetex"], rc["mathtext.fontset"])


@lru_cache(maxsize=4096)
def _path_width_in(text: str, prop: FontProperties, usetex: bool, mathtext: str) -> float:
    """:func:`_text_width_in`, kept per text, font (its family from the settings when it was made) and the settings
    of the text's path that are not the font's: a legend measures the same criteria names figure after figure."""
    return TextPath((0, 0), text, size=prop.get_size_in_points(), prop=prop).get_extents().width / 72.0


def cd_title(result: CDResult) -> str:
    """The diagram's one-line title: the omnibus test's decision, N and the CD."""
    name = "Friedman" if result.omnibus == "friedman" else "Iman-Davenport"
    p = result.omnibus_pvalue
    p_text = "p = n/a" if not math.isfinite(p) else f"p = {p:.2g}"
    cd = f", CD = {result.cd:.2f}" if math.isfinite(result.cd) and result.show_cliques else ""
    post = "Nemenyi" if result.test == "nemenyi" else "Wilcoxon-Holm"
    if result.significant:
        return f"{name} {p_text} < α = {result.alpha:g}; N = {result.n_blocks}{cd} ({post})"
    tail = "cliques drawn anyway" if result.allow_insignificant else "no significant differences, ranks only"
    return f"{name} {p_text} ≥ α = {result.alpha:g}: {tail}; N = {result.n_blocks}{cd}"


def _fit_title(ax: Axes, title: str, width_in: float) -> None:
    """Set ``title`` on one line, shrinking the font (down to 6 pt) to fit ``width_in``."""
    size = _NAME_SIZE + 1
    while size > 6.0 and _text_width_in(title, size) > width_in:
        size -= 0.5
    ax.set_title(title, fontsize=size, loc="center")


def _auto_width(result: CDResult) -> float:
    """A figure width that gives every rank unit at least 0.32 in and both label columns their room."""
    k = len(result.methods)
    names = max(_text_width_in(m, _NAME_SIZE) for m in result.methods)
    return max(6.0, 2 * (names + 0.55) + 0.32 * (k - 1) + 0.3)


def plot_cd_diagram(
    result: CDResult,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    width: float | None = None,
    highlight: tuple[str, ...] | list[str] = (),
    colours: bool = True,
) -> Axes:
    """Draw Demšar's critical-difference diagram (Demšar 2006, Fig. 1) of ``result``.

    A rank axis from 1 to k runs left to right with the best rank (1) on the right; the
    critical difference is a bar labelled "CD" above it. Each method hangs from its
    average rank on a line to a label column, the better half on the right, the worse
    half on the left, each with its average rank. Thick bars below the axis join the
    methods of each clique (methods the post-hoc test cannot separate).

    Cliques and the CD bar are drawn only when ``result.show_cliques`` (the omnibus
    test rejects, or the analysis was asked to keep them); the title says which.

    Parameters
    ----------
    result : a ``CDResult`` from ``fwanalysis.stats.cd.cd_analysis``.
    ax : Axes to draw into; a new figure sized to the diagram is made when None.
    title : one-line axes title; ``None`` gives the omnibus decision (``cd_title``), ``""`` none.
    width : figure width in inches when ``ax`` is None; None fits the methods (up to 20 and more).
    highlight : methods drawn bold and thick, the others in grey.
    colours : fwa's criteria in their colours (the colours of every fwa figure), other names black; else all black.

    Returns
    -------
    The Axes drawn into.
    """
    from .metrics import CRITERION_COLOURS

    methods = list(result.methods)
    k = len(methods)
    if k < 2:
        raise ValueError(f"a CD diagram needs at least 2 methods, got {k}")
    unknown = [h for h in highlight if h not in methods]
    if unknown:
        raise ValueError(f"highlight {unknown[0]!r} is not one of the methods: {', '.join(methods)}")
    ranks = {m: float(result.avg_ranks[m]) for m in methods}
    show = result.show_cliques
    cd = float(result.cd) if result.cd is not None and show else math.nan
    groups = [list(g) for g in result.cliques] if show else []
    if title is None:
        title = cd_title(result)

    def colour(m: str) -> str:
        if highlight and m not in highlight:
            return "0.6"
        # fwa's criteria in their colours; other method names stay black (hashed pale colours would not read)
        return CRITERION_COLOURS.get(m, "black") if colours else "black"

    # Better half on the right (rank 1 is on the right), top row nearest the axis end,
    # so no horizontal line crosses another method's vertical line.
    n_right = (k + 1) // 2
    right = methods[:n_right]
    left = methods[n_right:][::-1]
    n_rows = max(len(right), len(left))

    # ---- vertical layout, in row units (1.0 = distance between two label rows)
    y_axis = 0.0
    y_ticklabel = 0.3
    y_cd = 1.15
    y_cd_label = y_cd + 0.12
    clique_step = 0.42
    y_cliques = [-0.5 - j * clique_step for j in range(len(groups))]
    y_first_row = (y_cliques[-1] if groups else -0.2) - 0.75
    y_rows = [y_first_row - i for i in range(n_rows)]
    y_top = y_cd_label + 0.75 if math.isfinite(cd) else y_ticklabel + 0.75
    y_bottom = y_rows[-1] - 0.55

    if ax is None:
        width = width if width is not None else _auto_width(result)
        height = (y_top - y_bottom) * _ROW_IN + (0.35 if title else 0.0)
        fig, ax = plt.subplots(figsize=(width, height))
        top = 1.0 - (0.35 / height if title else 0.0)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.0, top=top)
    fig = ax.figure
    ax_w = max(ax.get_position().width * fig.get_figwidth(), 1e-3)

    # ---- horizontal layout: the rank axis takes what the label columns leave
    rank_texts = {m: f"{ranks[m]:.2f}" for m in methods}
    gap = max(_text_width_in(t, _SMALL_SIZE) for t in rank_texts.values()) + 0.12
    label_w = max(_text_width_in(m, _NAME_SIZE) for m in methods)
    margin = gap + label_w + 0.06
    axis_w = max(ax_w - 2 * margin, 0.3 * ax_w)
    lo, hi = 1.0, float(k)
    per_in = (hi - lo) / axis_w  # rank units per inch
    x_right_end = lo - gap * per_in
    x_left_end = hi + gap * per_in

    line = dict(color="black", linewidth=0.9, solid_capstyle="butt")
    text = dict(color="black")

    # ---- rank axis with integer ticks (every other one labelled when they would crowd) and half ticks
    ax.plot([lo, hi], [y_axis, y_axis], **line)
    every = 1 if _text_width_in(str(k), _SMALL_SIZE) + 0.06 < 1.0 / per_in else 2
    for i in range(1, k + 1):
        ax.plot([i, i], [y_axis, y_axis + 0.18], **line)
        if (i - 1) % every == 0 or i == k:
            ax.text(i, y_ticklabel, str(i), ha="center", va="bottom", fontsize=_SMALL_SIZE, **text)
        if i < k:
            ax.plot([i + 0.5, i + 0.5], [y_axis, y_axis + 0.09], **line)

    # ---- critical difference bar, above the axis at its worst (left) end
    if math.isfinite(cd):
        x0, x1 = hi, hi - cd
        ax.plot([x0, x1], [y_cd, y_cd], color="black", linewidth=1.2, solid_capstyle="butt")
        for x in (x0, x1):
            ax.plot([x, x], [y_cd - 0.1, y_cd + 0.1], **line)
        ax.text((x0 + x1) / 2, y_cd_label, "CD", ha="center", va="bottom", fontsize=_SMALL_SIZE, **text)

    # ---- methods: a line down from the average rank, then out to the label column
    for side, members in (("right", right), ("left", left)):
        x_end = x_right_end if side == "right" else x_left_end
        for y, m in zip(y_rows, members):
            r = ranks[m]
            strong = m in highlight
            ax.plot([r, r, x_end], [y_axis, y, y], **(line | {"color": colour(m), "linewidth": 1.8 if strong else 0.9}))
            name_ha, rank_ha = ("left", "right") if side == "right" else ("right", "left")
            nudge = 0.05 * per_in * (-1 if side == "right" else 1)
            ax.text(
                x_end + nudge,
                y,
                m,
                ha=name_ha,
                va="center",
                fontsize=_NAME_SIZE,
                color=colour(m),
                fontweight="bold" if strong else "normal",
            )
            ax.text(x_end - nudge, y + 0.06, rank_texts[m], ha=rank_ha, va="bottom", fontsize=_SMALL_SIZE, color="0.3")

    # ---- cliques: thick bars a little wider than the ranks they join
    ext = 0.05 * per_in
    for y, g in zip(y_cliques, groups):
        rs = [ranks[m] for m in g if m in ranks]
        if not rs:
            continue
        ax.plot([max(rs) + ext, min(rs) - ext], [y, y], color="black", linewidth=3.0, solid_capstyle="butt")

    # ---- frame, limits (best rank on the right), title
    pad = margin + 0.04
    x_left = hi + pad * per_in
    x_right = lo - pad * per_in
    if math.isfinite(cd):  # a CD longer than the axis still shows whole
        x_right = min(x_right, hi - cd - 0.1 * per_in)
    ax.set_xlim(x_left, x_right)
    ax.set_ylim(y_bottom, y_top)
    ax.set_autoscale_on(False)
    ax.set_axis_off()
    if title:
        _fit_title(ax, title, ax_w)
    return ax
