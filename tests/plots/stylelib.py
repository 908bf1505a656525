"""Checks of fwa's one visual language on a drawn figure: no legend box over plotted data, every criterion in the
criterion table's colour and marker, no blank band under a figure's title."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import Collection, PathCollection
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

from fwanalysis.criteria import TABLE
from fwanalysis.plots.metrics import criterion_colour

CRITERIA = {c.name for c in TABLE}


def _laid_out(fig):
    """The figure's renderer, with the figure laid out (drawn once, again only after a change)."""
    if fig.stale:
        fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def _legends(fig) -> list:
    return [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]


def _shrunk(box: Bbox, px: float = 1.0) -> Bbox:
    return Bbox.from_extents(box.x0 + px, box.y0 + px, box.x1 - px, box.y1 - px)


def _hits(artist, box: Bbox, ax, renderer) -> bool:
    """Whether ``artist`` (a data artist of ``ax``) draws anything inside ``box`` (display coordinates)."""
    if not artist.get_visible():
        return False
    if artist.get_clip_on():  # what a clipped artist draws outside its axes is not drawn
        box = Bbox.intersection(box, ax.bbox)
        if box is None:
            return False
    if isinstance(artist, Line2D):
        xy = np.asarray(artist.get_xydata(), float)
        xy = xy[np.isfinite(xy).all(axis=1)]
        if not len(xy):
            return False
        shown = artist.get_transform().transform(xy)
        if artist.get_linestyle() not in ("None", "", " ") and len(shown) > 1:
            from matplotlib.path import Path

            if Path(shown).intersects_bbox(box, filled=False):
                return True
        if artist.get_marker() not in (None, "", "None", " "):
            r = artist.get_markersize() * renderer.points_to_pixels(1.0) / 2
            return any(box.x0 - r <= x <= box.x1 + r and box.y0 - r <= y <= box.y1 + r for x, y in shown)
        return False
    if isinstance(artist, PathCollection) and len(artist.get_offsets()):
        pts = artist.get_offset_transform().transform(np.asarray(artist.get_offsets(), float))
        return any(box.contains(x, y) for x, y in pts if np.isfinite(x) and np.isfinite(y))
    if isinstance(artist, Collection):
        t = artist.get_transform()
        filled = len(artist.get_facecolor()) > 0 and artist.get_facecolor()[0][3] > 0
        return any(t.transform_path(p).intersects_bbox(box, filled=filled) for p in artist.get_paths())
    extent = artist.get_window_extent(renderer)
    return extent.width > 0 and extent.height > 0 and extent.overlaps(box)


def legend_overlaps(fig) -> list[str]:
    """What each legend box of ``fig`` covers: ``"<axes title>: <artist>"`` for every data artist (line, marker,
    band, bar, scatter point, image, text in the axes) drawn inside a legend's window extent."""
    renderer = _laid_out(fig)
    out = []
    for legend in _legends(fig):
        box = _shrunk(legend.get_window_extent(renderer))
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            artists = [*ax.lines, *ax.collections, *ax.patches, *ax.images, *ax.texts]
            for a in artists:
                if _hits(a, box, ax, renderer):
                    out.append(f"{ax.get_title() or 'axes'}: {type(a).__name__} {a.get_label()!r}")
    return out


def _labelled(fig):
    """``(criterion, colour, marker or None)`` of every artist labelled by a criterion, and every legend entry."""
    for ax in fig.axes:
        for line in ax.lines:
            yield line.get_label(), line.get_color(), line.get_marker()
        for c in ax.collections:
            if isinstance(c, PathCollection) and len(c.get_facecolor()):
                yield c.get_label(), c.get_facecolor()[0], None
        for cont in ax.containers:
            if isinstance(cont, BarContainer) and cont.patches:
                yield cont.get_label(), cont.patches[0].get_facecolor(), None
            elif isinstance(cont, ErrorbarContainer) and cont.lines[0] is not None:
                yield cont.get_label(), cont.lines[0].get_color(), cont.lines[0].get_marker()
    for legend in _legends(fig):
        for text, handle in zip(legend.texts, legend.legend_handles):
            colour = handle.get_color() if isinstance(handle, Line2D) else handle.get_facecolor()
            colour = colour[0] if np.ndim(colour) == 2 else colour
            marker = handle.get_marker() if isinstance(handle, Line2D) else None
            yield text.get_text(), colour, marker


def criterion_style_errors(fig) -> list[str]:
    """Every criterion drawn in ``fig`` in another colour than the criterion table's, or with a marker other
    than its own (a line without markers is fine)."""
    markers = {c.name: c.marker or "o" for c in TABLE}
    out = []
    for label, colour, marker in _labelled(fig):
        if label not in CRITERIA:
            continue
        want = criterion_colour(label)
        if to_hex(colour) != to_hex(want):
            out.append(f"{label}: colour {to_hex(colour)}, the table's is {to_hex(want)}")
        if marker not in (None, "", "None", " ") and marker != markers[label]:
            out.append(f"{label}: marker {marker!r}, the table's is {markers[label]!r}")
    return sorted(set(out))


def title_gap_in(fig) -> float:
    """Inches between the bottom of the figure's title and the top of the highest panel (its title included); 0
    without a title."""
    if fig._suptitle is None or not fig._suptitle.get_text():
        return 0.0
    renderer = _laid_out(fig)
    bottom = fig._suptitle.get_window_extent(renderer).y0
    top = max(ax.get_tightbbox(renderer).y1 for ax in fig.axes if ax.get_visible())
    return (bottom - top) / fig.dpi
