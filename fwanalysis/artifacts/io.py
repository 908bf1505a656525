"""Atomic file writes: a temporary name in the same directory, then ``os.replace`` (docs/artifacts.md, "Writing").

A file is written to ``.<name>.<random>.tmp`` beside its target, created readable as any new file is
(mode ``0o666`` less the umask, which the kernel applies; not ``mkstemp``'s 0600), synced to disk, renamed
onto its target, and the directory is synced, so a crash or power cut leaves either the old file or the
whole new one.

``durable=False`` leaves out the two syncs: a killed process still leaves the old file or the whole new
one (the rename is atomic), and only a power cut or kernel crash can lose the file's content. The run
writer writes a run's data files so and syncs them all, with :func:`sync_paths`, before it marks the run
complete (docs/artifacts.md, "Writing").
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def utc_now() -> str:
    """The time now as the run format writes it: ISO 8601 UTC to the second, e.g. ``2026-12-01T21:45:17Z``."""
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def json_ready(v):
    """JSON-ready values: numpy arrays and scalars -> python, NaN/inf -> None, tuples -> lists, keys -> str."""
    import math

    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        v = v.tolist()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): json_ready(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_ready(x) for x in v]
    return v


class ArtifactError(Exception):
    """A run artifact that cannot be read: carries the run, the file and the problem."""

    def __init__(self, run: str, file: str, problem: str):
        self.run = str(run)
        self.file = str(file)
        self.problem = str(problem)
        super().__init__(f"run {self.run}: {self.file}: {self.problem}")


# -- reading what a user can name ---------------------------------------------------------------------------
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
)


class NotRegularFile(ValueError):
    """A path that is to be read is not a regular file (a FIFO, socket, device or directory), or is larger
    than the bound its reader sets. A ``ValueError``: the commands print it as one ``error:`` line."""


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path, *, max_bytes: int | None = None, follow_symlinks: bool = True):
    """``path`` opened for binary reading, if it is a regular file of at most ``max_bytes`` bytes.

    The one way fwa opens a file a user can name (docs/artifacts.md, "Reading"). It is opened with
    ``O_NONBLOCK``, so a FIFO never makes the caller wait for a writer; its type is checked on the open
    handle (no race with a rename), and a FIFO, socket, device or directory raises :class:`NotRegularFile`
    naming what it is, as does a file larger than ``max_bytes``. ``follow_symlinks=False`` refuses a
    symbolic link itself (``O_NOFOLLOW``). ``FileNotFoundError`` and other ``OSError`` pass through.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if not follow_symlinks and os.path.islink(path):
            raise NotRegularFile(f"{path}: a symbolic link, not followed") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{path}: not a regular file ({_kind(st.st_mode)})")
        if max_bytes is not None and st.st_size > max_bytes:
            raise NotRegularFile(
                f"{path}: {st.st_size} bytes, more than the {max_bytes} bytes such a file may have here"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path, *, max_bytes: int, follow_symlinks: bool = True) -> bytes:
    """The bytes of the regular file ``path`` (:func:`open_regular`), at most ``max_bytes`` of them: a file
    that grows past the bound while it is read is refused too."""
    with open_regular(path, max_bytes=max_bytes, follow_symlinks=follow_symlinks) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise NotRegularFile(f"{path}: more than the {max_bytes} bytes such a file may have here")
    return data


def is_regular(path) -> bool:
    """Whether ``path`` is a regular file (symlinks followed), without opening it: never blocks."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def fsync_dir(directory) -> None:
    """Sync a directory's entries (after a rename into it); a no-op where directories cannot be synced."""
    if sys.platform.startswith("win"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # e.g. EINVAL: this file system does not sync directories
    finally:
        os.close(fd)


def _new_temporary(path: Path) -> Path:
    """A new, empty file ``.<name>.<random>.tmp`` beside ``path``, created with mode ``0o666``: the kernel takes
    away what the umask (or a default ACL of the directory) says, as for any new file, so the umask is never
    read here (reading it from ``/proc`` before every file cost up to 7.5 % of a light run)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, flags, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, f"{path}: no free temporary name beside it", str(path))


def _fsync_file(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_paths(files, directories=()) -> None:
    """Sync ``files`` (their content) and then ``directories`` (their entries) to disk: what
    ``durable=False`` writes left out, done once for many files."""
    for path in files:
        _fsync_file(path)
    for directory in directories:
        fsync_dir(directory)


@contextmanager
def atomic_path(path: str | os.PathLike, *, mkdir: bool = True, durable: bool = True, sync_dir: bool | None = None):
    """Yield a temporary path beside ``path``; on success it is synced and renamed onto ``path``, on error removed.

    The file is created with the mode any new file gets (``0o666`` less the umask, :func:`_new_temporary`);
    a writer that opens the path to write keeps it. ``mkdir=False``: the directory must exist already (a run
    writer never makes its run directory again once it was removed). ``durable=False``: neither the file
    nor its directory is synced (the caller does it later, :func:`sync_paths`); the rename is as atomic.
    ``sync_dir`` (default: ``durable``): whether the directory is synced after the rename; a file synced
    without it is, after a crash, the whole old file or the whole new one (never an empty or half one).
    """
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temporary(path)
    try:
        yield tmp
        if durable:
            _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable if sync_dir is None else sync_dir:
        fsync_dir(path.parent)


def write_json(path, obj, *, mkdir: bool = True, durable: bool = True, sync_dir: bool | None = None) -> None:
    """Write ``obj`` as UTF-8 JSON (indented, keys in insertion order) atomically (:func:`atomic_path`)."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"  # a bad value fails before any file
    with atomic_path(path, mkdir=mkdir, durable=durable, sync_dir=sync_dir) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


NPZ_LEVEL = 1  # zlib level: ~7x faster than savez_compressed's default 6 on mask bitsets, 4-10 % larger


def write_npz(
    path, arrays: dict[str, np.ndarray], *, level: int = NPZ_LEVEL, mkdir: bool = True, durable: bool = True
) -> None:
    """Write arrays as ``numpy.savez_compressed`` does (a ZIP of ``<key>.npy`` members, DEFLATE), atomically.

    The only difference is the zlib level (default 1 instead of 6): near-random bitsets compress
    ~7x faster for 4-10 % more bytes, which keeps recording at every update cheap. ``numpy.load``
    reads the files exactly as it reads savez_compressed's.
    """
    with atomic_path(path, mkdir=mkdir, durable=durable) as tmp:
        with zipfile.ZipFile(
            tmp, mode="w", compression=zipfile.ZIP_DEFLATED, compresslevel=level, allowZip64=True
        ) as zf:
            for key, value in arrays.items():
                with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


def write_bytes(path, data: bytes, *, mkdir: bool = True) -> None:
    """Write bytes atomically."""
    with atomic_path(path, mkdir=mkdir) as tmp:
        Path(tmp).write_bytes(data)
