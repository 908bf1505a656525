"""How fwa's figures are laid out and saved: the style, panel grids and facets, shared titles, and saving with
fixed metadata. Every draw function (:mod:`.drawing`) arranges its panels with these helpers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..artifacts.io import atomic_path

__all__ = ["STYLE", "draw_styled", "save_figure"]

# fwa's figure style, applied only while a figure is drawn and saved (draw_styled, save_figure): importing
# fwa never changes a user's matplotlib settings. The SVG hash salt makes SVG output reproducible.
STYLE = {"svg.hashsalt": "fwa", "figure.dpi": 100, "savefig.dpi": 150, "font.size": 9}


def draw_styled(draw: Callable, result):
    """``draw(result)`` under fwa's style."""
    with plt.rc_context(STYLE):
        return draw(result)


def save_figure(fig, path: str | Path) -> None:
    """Save with fixed metadata (no dates, no versions) so a rebuild writes the same bytes; atomically."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    meta = {
        "png": {"Software": None},
        "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
        "svg": {"Date": None, "Creator": None},
    }.get(fmt, {})
    with atomic_path(path) as tmp, plt.rc_context(STYLE):
        fig.savefig(tmp, format=fmt, metadata=meta, bbox_inches="tight")


def _grid(n: int, *, w: float = 4.2, h: float = 3.2, ncols: int = 3):
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _facets(df: pd.DataFrame, keys: Sequence[str]) -> tuple[str, list[tuple[str, pd.DataFrame]]]:
    """Split ``df`` into panels by ``keys``: ``(title for what all panels share, [(panel title, frame)])``.

    The fields an analysis kept apart (``df.attrs["separated_by"]``) are keys too, so no panel mixes
    runs of different designs. Keys with one value go into the shared title; only the keys that vary
    name the panels.
    """
    keys = [k for k in dict.fromkeys([*keys, *df.attrs.get("separated_by", [])]) if k in df.columns]
    fixed = [k for k in keys if df[k].nunique(dropna=False) <= 1]
    varying = [k for k in keys if k not in fixed]

    def show(k, v):
        return f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"

    common = ", ".join(
        show(k, df[k].iloc[0])
        for k in fixed
        if len(df) and df[k].iloc[0] is not None and df[k].iloc[0] == df[k].iloc[0]
    )
    if not varying:
        return common, [("", df)]
    panels = []
    for vals, g in df.groupby(varying, dropna=False, sort=True):
        vals = vals if isinstance(vals, tuple) else (vals,)
        panels.append((", ".join(show(k, v) for k, v in zip(varying, vals) if v is not None and v == v), g))
    return common, panels


def _panel_title(key: tuple) -> str:
    """``(("model", "cnn-small"), ("prune_fraction", 0.1))`` -> ``cnn-small, prune_fraction=0.1``."""
    return ", ".join(str(v) if f == "model" else (f"{f}={v:g}" if isinstance(v, float) else f"{f}={v}") for f, v in key)


def _suptitle(fig, text: str) -> None:
    """The title all panels share; none for an empty text (so :func:`_tight` leaves no room for it)."""
    if text:
        fig.suptitle(text, fontsize=10)


def _tight(fig) -> None:
    """``tight_layout`` that leaves room for the figure's title (it does not count it)."""
    top = 1 - 0.4 / fig.get_figheight() if fig.get_suptitle() else 1
    fig.tight_layout(rect=(0, 0, 1, top))
