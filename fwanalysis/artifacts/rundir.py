"""What a run directory of fwa's holds, and removing one (docs/format.md, "What fwa removes, and what it never
touches"): a writer replaces a run directory only when fwa wrote it, and removes it entry by entry.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from . import schema
from .io import read_regular
from .manifest import MAX_MANIFEST_BYTES

__all__ = ["old_run_status", "remove_run_dir"]


def _fwa_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file of fwa's atomic writes (``.<name>.<random>.tmp``)."""
    return name.startswith(".") and name.endswith(".tmp")


def _run_entries(path: Path) -> tuple[list[str], list[str]]:
    """The entries of directory ``path`` (relative names) a run directory of fwa's may hold, and those it may
    not (docs/format.md, "What fwa removes"). The first list is in the order they can be removed: files,
    then the folders that held them, ``run.json`` last, so a removal stopped half way leaves a directory
    that is still recognisably fwa's (or an empty one)."""
    owned, folders, foreign = [], [], []
    for name in sorted(os.listdir(path)):
        if name in schema.RUN_FOLDERS and stat.S_ISDIR(os.lstat(path / name).st_mode):
            for n in sorted(os.listdir(path / name)):
                ok = (re.fullmatch(r"step-\d{8,}\.npz", n) or _fwa_temporary(n)) and stat.S_ISREG(
                    os.lstat(path / name / n).st_mode
                )
                (owned if ok else foreign).append(f"{name}/{n}")
            folders.append(name)
        elif (name in schema.RUN_FILES or _fwa_temporary(name)) and stat.S_ISREG(os.lstat(path / name).st_mode):
            owned.append(name)
        else:
            foreign.append(name)
    last = ["run.json"] if "run.json" in owned else []
    return [n for n in owned if n != "run.json"] + folders + last, foreign


def old_run_status(path: Path, run_id: str) -> str | None:
    """The status of the run directory ``path`` that a writer of ``run_id`` is about to replace, if fwa wrote
    it; else ``ValueError`` naming what is in the way (docs/format.md, "What fwa removes").

    fwa wrote a directory when it is a real directory (not a symbolic link) whose ``run.json`` is a regular
    file naming the format, this run id and fwanalysis as its writer, and which holds nothing but the
    files and folders of a run (:func:`_run_entries`). An empty directory, or one holding only temporary
    files, is what a writer killed before its first ``run.json`` leaves: status None."""

    def refuse(why: str):
        return ValueError(
            f"run {run_id}: {path} {why}, which fwa did not write: it is left as it is "
            "(choose another run id, or move it away yourself)"
        )

    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise refuse("is a symbolic link" if stat.S_ISLNK(st.st_mode) else "is a file, not a run directory")
    owned, foreign = _run_entries(path)
    if foreign:
        raise refuse(f"holds {foreign[0]!r}" + (f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""))
    if "run.json" not in owned:
        if any(not _fwa_temporary(n) for n in owned):
            raise refuse("holds run files but no run.json")
        return None
    try:
        manifest = json.loads(read_regular(path / "run.json", max_bytes=MAX_MANIFEST_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise refuse(f"has a run.json that cannot be read ({e})") from None
    software = manifest.get("software") if isinstance(manifest, dict) else None
    if not (
        isinstance(manifest, dict)
        and manifest.get("format") == schema.FORMAT
        and manifest.get("run_id") == run_id
        and isinstance(software, dict)
        and isinstance(software.get("fwanalysis"), str)
    ):
        raise refuse("has a run.json that is not this run's as fwa writes it")
    status = manifest.get("status")
    return status if isinstance(status, str) else None


def remove_run_dir(path: Path) -> None:
    """Remove a run directory that :func:`old_run_status` found to be fwa's: the entries it may hold, each
    by name, then the directory. Never a tree walk: anything else put there meanwhile stays, and the
    directory's removal then fails (``OSError``: directory not empty)."""
    owned, _ = _run_entries(path)
    for rel in owned:
        (os.rmdir if rel in schema.RUN_FOLDERS else os.unlink)(path / rel)
    os.rmdir(path)
