"""Finding and loading every run below some paths: :func:`find_runs` (the walk: :mod:`.walk`; the study index
that spares re-reading unchanged run.json files: :mod:`.index`)."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable
from pathlib import Path

from .index import StudyIndex, cached_text, stat_key
from .io import ArtifactError
from .reader import Run, load_run, read_manifest, run_from_text
from .walk import Found, walk_runs

__all__ = ["find_runs"]

#: from this many runs on, what is alive after loading them is moved out of the cyclic garbage collector's view
#: (``gc.freeze()``; ``gc.unfreeze()`` undoes it): its full passes over tens of thousands of manifests are what
#: slowed every analysis afterwards (measured: 2.6x on the keys that pool runs, 70,000 runs).
FREEZE_AT = 5000
#: whether :func:`find_runs` freezes what it loaded (from ``FREEZE_AT`` runs on): the command line sets it
#: (``fwanalysis.cli.main``), a process that lives on (a notebook, a library caller) keeps its collector as it was.
FREEZE_LOADED = False


def _found(paths: Iterable) -> tuple[list[Found], list[Path]]:
    """The run folders at or below ``paths`` (in no order, a folder reached twice listed twice) and the run.json
    files given directly."""
    folders: list[Found] = []
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise FileNotFoundError(f"no such file or directory: {p}")
        if p.is_file():
            if p.name != "run.json":
                raise FileNotFoundError(f"{p} is not a run directory or run.json")
            files.append(p)
        else:
            folders.extend(walk_runs(p))
    return folders, files


def _ordered(folders: list[Found], files: list[Path]) -> list[Found | Path]:
    """Folders and files sorted by the path of their run.json, a path given twice once (as the glob's
    ``sorted(set(manifests))`` had them); a folder reached by two paths is left to :func:`_load_all`."""
    items: dict[tuple, Found | Path] = {}
    for f in folders:
        items.setdefault((*f.path.parts, "run.json"), f)
    for p in files:
        items.setdefault(p.parts, p)
    return [items[k] for k in sorted(items)]


def _dir_id(d: Path) -> tuple[int, int]:
    st = d.stat()
    return (st.st_dev, st.st_ino)


class _IndexedText:
    """The run.json text of a run loaded from the index, fetched from it when a command first needs more than
    the run's config and summary (layers, steps); if the index no longer holds that row, the file itself, checked
    as ``load_run`` checks it. Picklable: ``fwa validate`` sends runs to other processes."""

    def __init__(self, index_path: str, rel: str, key: tuple[int, int, int, int], path: Path):
        self.index_path, self.rel, self.key, self.path = index_path, rel, key, path

    def __call__(self) -> str:
        text = cached_text(self.index_path, self.rel, self.key)
        if text is None:
            text = read_manifest(self.path)
            run_from_text(self.path, text)  # ArtifactError if it is not a good manifest (any more)
        return text


def _load(item: Found | Path, indexes: dict[str, StudyIndex]) -> Run:
    if isinstance(item, Path):  # a run.json given directly: it sits in no index
        return load_run(item.parent)
    index = indexes.get(item.study) if item.study is not None else None
    if index is not None:
        head = index.lookup(item.rel, item.st)
        if head is not None:
            text = _IndexedText(index.path, item.rel, stat_key(item.st), item.path)
            try:  # checked when it was kept, and the file has not changed since: not checked again
                return Run.from_head(item.path, json.loads(head), text)
            except (LookupError, TypeError, ValueError, AttributeError, RecursionError):
                pass  # not what fwa wrote there (an index edited by hand): read the file
    text = read_manifest(item.path)
    run = run_from_text(item.path, text)
    if index is not None:
        index.keep(item.rel, item.st, run.head(), text)
    return run


def find_runs(
    paths: Iterable | str | Path,
    *,
    include_incomplete: bool = False,
    on_bad: Callable[[ArtifactError], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    progress: Callable[[Iterable, int], Iterable] | None = None,
    use_index: bool = True,
) -> list[Run]:
    """Every run below ``paths`` (directories holding a ``run.json``; the walk stops at each), sorted by path.
    ``progress(items, total)`` may wrap the loop that loads each run (a progress bar).

    A malformed ``run.json`` raises :class:`ArtifactError`, unless ``on_bad`` is given: then it is
    called with the error and the run skipped. Runs not ``complete`` are left out unless
    ``include_incomplete``. A path that does not exist raises ``FileNotFoundError``.

    A ``run_id`` found in two directories is one run counted twice (a copied study, overlapping paths):
    it is counted once (a complete copy first, then the first by path) and ``on_warning`` (default:
    :func:`warnings.warn`) is called with a line naming both directories.

    The run.json of a run below a study folder fwa wrote is taken from the study index (``.fwa-index.sqlite``,
    :mod:`.index`) while that file is unchanged, and the index is brought up to date; ``use_index=False`` reads
    every run.json and leaves the index alone.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    folders, files = _found(paths)
    indexes: dict[str, StudyIndex] = {}
    seen: dict[str, set[str]] = {}
    if use_index:
        for f in folders:
            if f.study is not None:
                if f.study not in indexes:
                    indexes[f.study], seen[f.study] = StudyIndex(f.study), set()
                seen[f.study].add(f.rel)
    ordered = _ordered(folders, files)
    collecting = gc.isenabled()
    gc.disable()  # tens of thousands of manifests hold no cycles: the collector's passes over them are wasted
    try:
        loaded = _load_all(ordered, indexes, on_bad, on_warning, progress)
        if FREEZE_LOADED and len(loaded) >= FREEZE_AT:
            gc.freeze()  # and so are its passes over them while the command works on them
    finally:
        if collecting:
            gc.enable()
    for study, index in indexes.items():
        index.save(seen[study])
    runs = sorted(loaded.values(), key=lambda r: str(r.path))
    return [r for r in runs if r.status == "complete" or include_incomplete]


def _load_all(ordered, indexes, on_bad, on_warning, progress) -> dict[str, Run]:
    """The runs of ``ordered`` by run id: each folder once, a run id in two folders counted once (and warned of)."""
    loaded: dict[str, Run] = {}
    ids: set[tuple[int, int]] = set()
    for item in progress(ordered, len(ordered)) if progress else ordered:
        dir_id = item.dir_id if isinstance(item, Found) else _dir_id(item.parent)
        if dir_id in ids:
            continue
        ids.add(dir_id)
        try:
            run = _load(item, indexes)
        except ArtifactError as e:
            if on_bad is None:
                raise
            on_bad(e)
            continue
        other = loaded.get(run.run_id)
        if other is not None:
            keep = run if run.status == "complete" and other.status != "complete" else other
            msg = f"run {run.run_id} is in two directories, {other.path} and {run.path}; counted once ({keep.path})"
            if on_warning is None:
                import warnings

                warnings.warn(msg, stacklevel=4)
            else:
                on_warning(msg)
            run = keep
        loaded[run.run_id] = run
    return loaded
