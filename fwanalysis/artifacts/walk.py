"""Finding run folders: a walk with :func:`os.scandir` that stops at each run folder (one holding ``run.json``).

A directory is a run folder when ``<dir>/run.json`` exists (``os.stat`` follows a symbolic link; a dangling one
does not count, as with ``Path.rglob``). That one ``stat`` per candidate is also what the study index
(:mod:`.index`) compares against, so the walk costs a ``scandir`` per non-run folder and a ``stat`` per run.
Symbolic links to directories below a given path are not followed (as ``Path.rglob`` does not); a given path
may itself be one. The same folder reached twice (overlapping paths, a link given beside its target) is one
folder: folders are told apart by ``(st_dev, st_ino)``, never by ``resolve()``.

A folder holding ``.locks`` (:data:`.lock.LOCK_DIR`, made by every ``RunWriter`` in its study folder) is a study
fwa wrote: the runs below it (down to a nested study) are indexed in it (:mod:`.index`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .lock import LOCK_DIR

__all__ = ["Found", "walk_runs"]


class Found:
    """A run folder: its path (as reached from the given path), its identity, the stat of its run.json, and
    the study folder that indexes it (``None`` outside one) with the folder's path relative to it."""

    __slots__ = ("path", "dir_id", "st", "study", "rel")

    def __init__(self, path: Path, dir_id: tuple[int, int], st: os.stat_result, study: str | None, rel: str):
        self.path, self.dir_id, self.st, self.study, self.rel = path, dir_id, st, study, rel


def _manifest_stat(d: str) -> os.stat_result | None:
    try:
        return os.stat(os.path.join(d, "run.json"))
    except (OSError, ValueError):
        return None


def _walk(top: str, dev: int, study: str | None, rel: str, out: list[Found]) -> None:
    """The run folders below the directory ``top`` (not a run folder itself), depth first."""
    try:
        with os.scandir(top) as it:
            entries = [e for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    if any(e.name == LOCK_DIR for e in entries):
        study, rel = top, ""
    for e in entries:
        sub = f"{rel}/{e.name}" if rel else e.name
        st = _manifest_stat(e.path)
        if st is not None:
            out.append(Found(Path(e.path), (dev, e.inode()), st, study, sub))
        elif e.name != LOCK_DIR:
            _walk(e.path, dev, study, sub, out)


def walk_runs(path: Path) -> list[Found]:
    """Every run folder at or below the existing directory ``path``, in no particular order."""
    top = os.fspath(path)
    st = os.stat(top)
    out: list[Found] = []
    mst = _manifest_stat(top)
    if mst is not None:
        out.append(Found(Path(path), (st.st_dev, st.st_ino), mst, None, ""))
    elif stat.S_ISDIR(st.st_mode):
        _walk(top, st.st_dev, None, "", out)
    return out
