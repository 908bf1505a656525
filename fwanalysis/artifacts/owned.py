"""The files fwa wrote in an output folder, so that ``fwa report`` and ``fw-train tables`` replace only those
(docs/cli.md, ``fwa report``): never a user's own file, one of fwa's that was edited since, or what a symbolic
link points to.

``<folder>/.fwa-written.json`` records the name of every file fwa wrote there and the sha256 of the bytes
it wrote. Before a command writes anything it claims its targets (:func:`claim`): a target that does not
exist, or that is a regular file whose bytes still hash as recorded, is fwa's to replace; any other (a
file fwa did not write, one changed since, a symbolic link, a FIFO) is refused, naming the first and how
many more, unless the command is forced, which then replaces them (a directory is never replaced). The
record is rewritten atomically after each file, merged with what it holds on disk (both commands share
it), its names sorted: the same files give the same bytes. A crash or a full disk between a file's
rename and the record's leaves that file unlisted: the next run refuses it, and ``--force`` takes it back.
Inside :meth:`OutputFolder.deferred_sync` (a report's many files) the files and the record are synced once, at
its end, instead of after each file.

    folder = claim("reports", ["index.md"], force=False)    # NotFwaFiles: one line, nothing written
    folder.write("index.md", b"# fwa report\\n")
    folder.read("table01-criteria.md", max_bytes=1 << 20)    # bytes fwa wrote there, unchanged; else None
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from .io import NotRegularFile, atomic_path, open_regular, read_regular, sync_paths, write_bytes

__all__ = ["RECORD", "NotFwaFiles", "OutputFolder", "claim", "output_folder"]

RECORD = ".fwa-written.json"
FORMAT = "fwa-written/1"
_ABOUT = (
    "The files fwa wrote in this folder (fwa report, fw-train tables) and the sha256 of each: fwa replaces "
    "a file here only while it is listed with the hash of its bytes."
)
_MAX_RECORD_BYTES = 4 << 20
_SHA256 = re.compile("[0-9a-f]{64}")


class NotFwaFiles(ValueError):
    """Files a command would replace that fwa did not write (or that changed since): one ``error:`` line."""


def output_folder(out: str | os.PathLike, *, create: bool = True) -> Path:
    """``out`` as a folder for fwa's files, created with its parents when missing (``create``); an ``out`` that
    is a file, a symbolic link to nothing or anything but a directory raises ``ValueError``."""
    p = Path(out)
    if p.is_symlink() and not p.exists():
        raise ValueError(f"output folder {p} is a symbolic link to {os.readlink(p)}, which does not exist")
    if p.exists() and not p.is_dir():
        raise ValueError(f"output folder {p} exists and is not a directory")
    if create:
        p.mkdir(parents=True, exist_ok=True)
    return p


def _plain_name(name: object) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and not any(c in name for c in "/\\\x00")


def _kind(path: Path) -> str | None:
    """Why ``path`` cannot be a file fwa wrote (a symbolic link, a directory, a FIFO, ...); None when it is a
    regular file or does not exist."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if stat.S_ISDIR(st.st_mode):
        return "is a directory"
    return None if stat.S_ISREG(st.st_mode) else "is not a regular file"


def _load(folder: Path) -> tuple[dict[str, str], str | None]:
    """The record's ``{name: sha256}`` and None; or ``{}`` and why the file at ``RECORD`` is not fwa's record."""
    path = folder / RECORD
    if why := _kind(path):
        return {}, why
    try:
        data = read_regular(path, max_bytes=_MAX_RECORD_BYTES, follow_symlinks=False)
    except FileNotFoundError:
        return {}, None
    except (OSError, NotRegularFile) as e:
        return {}, f"cannot be read ({getattr(e, 'strerror', None) or e})"
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}, "is not fwa's record of the files it wrote (not JSON)"
    files = doc.get("files") if isinstance(doc, dict) and doc.get("format") == FORMAT else None
    if not (
        isinstance(files, dict)
        and all(_plain_name(n) and isinstance(h, str) and _SHA256.fullmatch(h) for n, h in files.items())
    ):
        return {}, "is not fwa's record of the files it wrote"
    return dict(files), None


def _digest(path: Path) -> str:
    """The sha256 of the regular file ``path``, read without following a symbolic link."""
    h = hashlib.sha256()
    with open_regular(path, follow_symlinks=False) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _not_ours(path: Path, recorded: str | None) -> str | None:
    """Why the existing ``path`` is not fwa's to replace, or None (missing, or unchanged since fwa wrote it)."""
    if why := _kind(path):
        return why
    if not path.exists():
        return None
    if recorded is None:
        return "exists and was not written by fwa"
    try:
        same = _digest(path) == recorded
    except (OSError, NotRegularFile) as e:
        return f"cannot be read ({getattr(e, 'strerror', None) or e})"
    return None if same else "was changed since fwa wrote it"


class OutputFolder:
    """A folder whose targets were claimed (:func:`claim`): writes them and records what it wrote."""

    def __init__(self, path: Path, record: dict[str, str], replaced: list[str]):
        self.path = path
        self.replaced = replaced  # existing files fwa had not written that this command replaces (forced)
        self._record = record  # the record as claimed: what fwa wrote here before
        self._mine: dict[str, str] = {}  # what this command wrote
        self._unsynced: set[Path] | None = None  # inside deferred_sync: the files written, synced at its end

    @contextmanager
    def deferred_sync(self):
        """Writes inside it are atomic (renamed into place) but not synced one by one: a file and the record
        rewritten after it cost four syncs, most of a report's wall time on a slow disk. At its end, error or
        not, every file written and the record are synced, then the folder. A killed process leaves what a
        synced write leaves; a power cut may lose the content of the last files while the record that lists
        them survives: the next run refuses them as changed since (``--force`` takes them back), never
        replacing a file fwa did not write."""
        self._unsynced = set()
        try:
            yield self
        finally:
            files, self._unsynced = self._unsynced, None
            sync_paths(sorted(p for p in files if p.exists()), [self.path] if files else [])

    def _put(self, path: Path, data: bytes) -> None:
        if self._unsynced is None:
            write_bytes(path, data)
            return
        with atomic_path(path, durable=False) as tmp:
            Path(tmp).write_bytes(data)
        self._unsynced.add(path)

    def write(self, name: str, data: bytes) -> Path:
        """Write ``data`` to ``name`` atomically (a symbolic link there is replaced, not followed) and record it."""
        path = self.path / name
        self._put(path, data)
        self._note(name, hashlib.sha256(data).hexdigest())
        return path

    def wrote(self, name: str) -> Path:
        """Record ``name``, which this command has just written by other means (an atomic write of its own)."""
        path = self.path / name
        self._note(name, _digest(path))
        return path

    def read(self, name: str, *, max_bytes: int) -> bytes | None:
        """The bytes of ``name`` if fwa wrote them there and they are unchanged: a regular file, not a symbolic
        link nor a hard link, of at most ``max_bytes``, hashing as recorded; None for anything else."""
        recorded = self._mine.get(name) or self._record.get(name)
        if recorded is None:
            return None
        try:
            with open_regular(self.path / name, max_bytes=max_bytes, follow_symlinks=False) as f:
                if os.fstat(f.fileno()).st_nlink != 1:
                    return None
                data = f.read(max_bytes + 1)
        except (OSError, NotRegularFile):
            return None
        return data if len(data) <= max_bytes and hashlib.sha256(data).hexdigest() == recorded else None

    def _note(self, name: str, digest: str) -> None:
        self._mine[name] = digest
        on_disk, problem = _load(self.path)
        files = {**(self._record if problem else on_disk), **self._mine}
        doc = {"format": FORMAT, "about": _ABOUT, "files": dict(sorted(files.items()))}
        self._put(self.path / RECORD, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def claim(out: str | os.PathLike, names: Iterable[str], *, force: bool = False, create: bool = True) -> OutputFolder:
    """Claim the files ``names`` in the folder ``out`` (:func:`output_folder`) before anything is written.

    Each existing target must be one fwa wrote there, unchanged since (the record's hash); so must the
    record itself. Otherwise :class:`NotFwaFiles` names the first such file, its problem and how many more,
    unless ``force``: then they are replaced and listed in ``OutputFolder.replaced``. A directory in the
    way is refused even then (fwa replaces files, never a folder). ``create=False`` only checks: a missing
    folder is not made (it would hold no files to refuse)."""
    folder = output_folder(out, create=create)
    record, problem = _load(folder)
    foreign = [(RECORD, problem)] if problem else []
    foreign += [(n, why) for n in dict.fromkeys(names) if (why := _not_ours(folder / n, record.get(n)))]
    dirs = [n for n, why in foreign if why == "is a directory"]
    if dirs:
        raise NotFwaFiles(
            f"{folder / dirs[0]} is a directory where fwa would write a file: nothing was written; move it away"
        )
    if foreign and not force:
        name, why = foreign[0]
        more = (
            f", and {len(foreign) - 1} more file{'s' * (len(foreign) > 2)} this would replace"
            if len(foreign) > 1
            else ""
        )
        them = "them" if more else "it"
        raise NotFwaFiles(
            f"{folder / name} {why}{more}: nothing was written; move {them} away or pass --force to replace {them}"
        )
    return OutputFolder(folder, record, [n for n, _ in foreign])
