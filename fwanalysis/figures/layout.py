"""How fwa's figures are laid out and saved: the style, panel grids and facets, shared titles, and saving with
fixed metadata. Every draw function (:mod:`.drawing`) arranges its panels with these helpers."""

from __future__ import annotations

import functools
import inspect
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..artifacts.io import atomic_path
from ..plots.cd import _text_width_in
from ..vocab import CRITERIA, GROWTH

__all__ = ["STYLE", "draw_styled", "figure_bytes", "save_figure"]

# fwa's figure style, applied only while a figure is drawn and saved (draw_styled, figure_bytes): importing
# fwa never changes a user's matplotlib settings. The SVG hash salt makes SVG output reproducible.
STYLE = {"svg.hashsalt": "fwa", "figure.dpi": 100, "savefig.dpi": 150, "font.size": 9}


def draw_styled(draw: Callable, result):
    """``draw(result)`` under fwa's style."""
    with plt.rc_context(STYLE):
        return draw(result)


_META = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Date": None, "Creator": None},
}


def figure_bytes(fig, fmt: str) -> bytes:
    """The figure as ``fmt`` (png, pdf, svg, ...) with fixed metadata (no dates, no versions), cropped to its
    tight bounding box: the bytes ``fig.savefig(..., bbox_inches="tight")`` writes, with less work.

    matplotlib's savefig lays the figure out (constrained layout) in a draw that renders nothing, then
    measures the tight box and draws it for real. The draw that renders nothing is skipped here: the layout
    engine runs on its own, as that draw would run it, and the box is measured right after it. Each format
    is still laid out with its own renderer, as savefig does: a PDF's text metrics (72 dpi, unhinted) are not
    a PNG's (150 dpi, hinted), and the layout of one moves the panels of the other by up to a few pixels
    (which changes its bytes). Without the private matplotlib API this needs, it is ``savefig``."""
    buf = io.BytesIO()
    with plt.rc_context(STYLE):
        meta = _META.get(fmt, {})
        try:
            _save_laid_out_once(fig, buf, fmt, meta)
        except _NoShortcut:
            fig.savefig(buf, format=fmt, metadata=meta, bbox_inches="tight")
    return buf.getvalue()


class _NoShortcut(Exception):
    """This matplotlib lacks a private function :func:`_save_laid_out_once` uses, or a setting asks for what only
    savefig does (raised before anything is written)."""


def _save_laid_out_once(fig, buf, fmt: str, meta: dict) -> None:
    """``print_figure`` of matplotlib 3.8-3.11 with ``bbox_inches="tight"``, less its renderless draw (3.10's and
    3.11's differ only in how ``adjust_bbox`` is called)."""
    try:
        from matplotlib import _tight_bbox, cbook
        from matplotlib.backend_bases import _get_renderer

        switch = fig.canvas._switch_canvas_and_return_print_method
        cm_set, _, _ = fig._cm_set, fig._render_lock, fig._get_draw_artists
    except (ImportError, AttributeError) as e:
        raise _NoShortcut from e
    if plt.rcParams["savefig.transparent"]:  # a user's matplotlibrc: the patches made transparent by savefig
        raise _NoShortcut
    dpi = plt.rcParams["savefig.dpi"]
    colors = {k: plt.rcParams[f"savefig.{k}"] for k in ("facecolor", "edgecolor")}
    colors = {k: c for k, c in colors.items() if not cbook._str_equal(c, "auto")}
    with (
        switch(fmt) as print_method,
        cbook._setattr_cm(fig, dpi=dpi),
        cbook._setattr_cm(fig.canvas, _device_pixel_ratio=1),
        cbook._setattr_cm(fig.canvas, _is_saving=True),
        cm_set(**colors),
    ):
        renderer = _get_renderer(fig, functools.partial(print_method, orientation="portrait"))
        with fig._render_lock:  # what Figure.draw runs before it draws anything
            fig._get_draw_artists(renderer)  # the axes' aspect and locators applied
            engine = fig.get_layout_engine()
            if engine is not None and fig.axes:
                try:
                    engine.execute(fig)
                except ValueError:  # as Figure.draw: a layout that cannot be made keeps the positions as they are
                    pass
        box = fig.get_tightbbox(renderer).padded(plt.rcParams["savefig.pad_inches"])
        if "renderer" in inspect.signature(_tight_bbox.adjust_bbox).parameters:  # matplotlib 3.11
            restore = _tight_bbox.adjust_bbox(fig, box, renderer, fig.canvas.fixed_dpi)
        else:  # 3.8-3.10
            restore = _tight_bbox.adjust_bbox(fig, box, fig.canvas.fixed_dpi)
        try:
            with cm_set(layout_engine="none"), cbook._setattr_cm(fig, dpi=dpi):
                print_method(
                    buf,
                    facecolor=None,
                    edgecolor=None,
                    orientation="portrait",
                    bbox_inches_restore=(box, restore),
                    metadata=meta,
                )
        finally:
            restore()


def save_figure(fig, path: str | Path) -> None:
    """Save with fixed metadata (no dates, no versions) so a rebuild writes the same bytes (:func:`figure_bytes`);
    atomically."""
    path = Path(path)
    data = figure_bytes(fig, path.suffix.lower().lstrip("."))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _grid(n: int, *, w: float = 4.2, h: float = 3.2, ncols: int = 3, nrows: int | None = None):
    """``n`` panels in rows of ``ncols`` (``nrows`` rows when given), laid out by the constrained layout engine
    (which makes room for the panels' titles, a figure title and a figure legend, and no more)."""
    ncols = max(1, min(ncols, n)) if nrows is None else ncols
    nrows = max(1, math.ceil(n / ncols)) if nrows is None else nrows
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False, layout="constrained")
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _ordered(key: str, values, order: dict | None = None) -> list:
    """The values of a facet key in panel order: as ``order[key]`` lists them (growth: the paper's random, then
    gradient), the others after them, sorted (missing values last)."""
    known = list((order or {}).get(key, GROWTH if key == "growth" else ()))
    rank = {v: i for i, v in enumerate(known)}

    def sort_key(v):
        missing = v is None or v != v  # None and NaN last, as pandas sorts them
        return rank.get(v, len(known)), missing, "" if missing else type(v).__name__, 0 if missing else v

    return sorted(values, key=sort_key)


def _show(k, v) -> str:
    return f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"


def _facet_split(df: pd.DataFrame, keys: Sequence[str], order: dict | None = None):
    """``(common title, varying keys, [(values by key, frame)])``: :func:`_facets`' panels with their key values."""
    keys = [k for k in dict.fromkeys([*keys, *df.attrs.get("separated_by", [])]) if k in df.columns]
    fixed = [k for k in keys if df[k].nunique(dropna=False) <= 1]
    varying = [k for k in keys if k not in fixed]
    common = ", ".join(
        _show(k, df[k].iloc[0])
        for k in fixed
        if len(df) and df[k].iloc[0] is not None and df[k].iloc[0] == df[k].iloc[0]
    )
    if not varying:
        return common, varying, [({}, df)]
    groups = {}
    for vals, g in df.groupby(varying, dropna=False, sort=False):
        groups[vals if isinstance(vals, tuple) else (vals,)] = g
    ranks = [{v: i for i, v in enumerate(_ordered(k, {t[n] for t in groups}, order))} for n, k in enumerate(varying)]
    keyed = sorted(groups, key=lambda t: [ranks[n][v] for n, v in enumerate(t)])
    return common, varying, [(dict(zip(varying, t)), groups[t]) for t in keyed]


def _name(vals: dict) -> str:
    return ", ".join(_show(k, v) for k, v in vals.items() if v is not None and v == v)


def _facets(
    df: pd.DataFrame, keys: Sequence[str], order: dict | None = None
) -> tuple[str, list[tuple[str, pd.DataFrame]]]:
    """Split ``df`` into panels by ``keys``: ``(title for what all panels share, [(panel title, frame)])``.

    The fields an analysis kept apart (``df.attrs["separated_by"]``) are keys too, so no panel mixes
    runs of different designs. Keys with one value go into the shared title; only the keys that vary
    name the panels. Panels follow the values' order (:func:`_ordered`; ``order``: ``{key: values in order}``).
    """
    common, varying, panels = _facet_split(df, keys, order)
    return common, [(_name(vals) if varying else "", g) for vals, g in panels]


def _setup(g: pd.DataFrame) -> tuple:
    """The (model, dataset) setup a panel's frame shows (None for a field it lacks or mixes)."""
    return tuple(g[k].iloc[0] if k in g.columns and g[k].nunique() == 1 else None for k in ("model", "dataset"))


def _cell(vals: dict, keys: Sequence[str]) -> tuple:
    """The values of ``keys``, a missing one (None or NaN, which equals nothing) as None: a row's or column's key."""
    return tuple(None if vals[k] is None or vals[k] != vals[k] else vals[k] for k in keys)


def _panel_grid(
    df: pd.DataFrame,
    keys: Sequence[str],
    *,
    rows: Sequence[str] = (),
    order: dict | None = None,
    w: float = 4.2,
    h: float = 3.2,
    ncols: int = 3,
    extra: int = 0,
):
    """``(common title, figure, [(axes, panel title, frame)])``: one panel per facet (:func:`_facets`), then
    ``extra`` empty panels (the figure's last visible axes) for the caller to fill.

    With ``rows``, the values of those keys make the rows and the other varying keys the columns (a cell with
    no data stays empty); else the panels fill rows of ``ncols``. Panels of one (model, dataset) setup share
    their y-scale, so that the same metric reads alike across them; different setups keep their own (their
    accuracies lie in different ranges, and one scale would flatten the differences between criteria).
    """
    common, varying, panels = _facet_split(df, keys, order)
    rk = [k for k in rows if k in varying] if not extra else []
    if rk:
        ck = [k for k in varying if k not in rk]
        row_of = list(dict.fromkeys(_cell(v, rk) for v, _ in panels))
        col_of = list(dict.fromkeys(_cell(v, ck) for v, _ in panels))
        fig, cells = _grid(len(row_of) * len(col_of), w=w, h=h, ncols=len(col_of), nrows=len(row_of))
        for ax in cells:
            ax.set_visible(False)
        axes = [cells[row_of.index(_cell(v, rk)) * len(col_of) + col_of.index(_cell(v, ck))] for v, _ in panels]
    else:
        fig, axes = _grid(len(panels) + extra, w=w, h=h, ncols=ncols)
        axes = axes[: len(panels)]
    first: dict = {}
    for ax, (_, g) in zip(axes, panels):
        ax.set_visible(True)
        lead = first.setdefault(_setup(g), ax)
        if lead is not ax:
            ax.sharey(lead)
    return common, fig, [(ax, _name(v) if varying else "", g) for ax, (v, g) in zip(axes, panels)]


def _panel_title(key: tuple) -> str:
    """``(("model", "cnn-small"), ("prune_fraction", 0.1))`` -> ``cnn-small, prune_fraction=0.1``."""
    return ", ".join(str(v) if f == "model" else (f"{f}={v:g}" if isinstance(v, float) else f"{f}={v}") for f, v in key)


def _suptitle(fig, text: str) -> None:
    """The title all panels share; none for an empty text. The constrained layout engine of every fwa figure
    places it right above the panels, with no band of empty space between."""
    if text:
        fig.suptitle(text, fontsize=10)


# Legend entries in this order: the criteria as the criterion table lists them, then the baselines; other labels
# (MEST's λ values, "kept by all") after them in the order they were drawn.
_LEGEND_ORDER = (*CRITERIA, "static", "dense")


def _shared_legend(fig) -> None:
    """One legend for the whole figure, below its panels and outside them (the layout engine makes room, and the
    figure grows by its height so that the panels keep theirs): every entry of the panels' own legends once, which
    are removed. The same criterion has the same entry (colour, marker) in every panel and every figure."""
    entries: dict = {}
    title = ""
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            title = title or legend.get_title().get_text()
            legend.remove()
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if not entries:
        return
    rank = {x: i for i, x in enumerate(_LEGEND_ORDER)}
    labels = sorted(entries, key=lambda x: (rank.get(x, len(rank)), list(entries).index(x)))
    per = 0.55 + max(_text_width_in(x, 8) for x in labels)  # inches an entry takes: its handle, its text at 8 pt
    ncol = max(1, min(len(labels), int((fig.get_figwidth() - 0.2) / per)))
    nrows = math.ceil(len(labels) / ncol) + bool(title)
    fig.set_figheight(fig.get_figheight() + 0.2 * nrows + 0.1)
    fig.legend(
        [entries[x] for x in labels],
        labels,
        loc="outside lower center",
        ncol=ncol,
        frameon=False,
        fontsize=8,
        title=title or None,
        title_fontsize=8,
    )
