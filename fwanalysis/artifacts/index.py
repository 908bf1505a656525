"""The study index: a cache of every run's ``run.json`` in ``<study>/.fwa-index.sqlite`` (docs/artifacts.md,
"The study index").

One row per run folder, keyed by its path relative to the study folder, holding the text of its ``run.json``
as read (and, parsed ahead, its run_id, status, config and summary: what filtering needs) and the
``(st_ino, st_size, st_mtime_ns, st_ctime_ns)`` of that file when it was read. A command walks
the study (:mod:`.walk`, one ``stat`` of each run.json), uses a row only when that stat is still the same (a
run rewritten, replaced, added or removed since is read again from its run.json) and writes back what it read
anew, in one SQLite transaction. Only manifests that passed the reader's checks are kept, so a bad run.json is
read (and reported) every time. A run.json changed less than :data:`SETTLE_NS` before it was read is not kept
(a rewrite within the file system's timestamp granularity would go unseen).

The index is a cache: deleting it changes nothing but speed. A study that cannot be written, an index that
cannot be read or written, a database that is locked past a short timeout: the command goes on without it, and
prints nothing. An index file that is not a SQLite database of this layout (corrupt, truncated, an older
layout) is replaced by a new one, written beside it and renamed over it; a symbolic link or anything but a
regular file at its name is left alone (and not used).
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
import uuid

__all__ = ["INDEX_NAME", "StudyIndex", "cached_text", "stat_key"]

INDEX_NAME = ".fwa-index.sqlite"
LAYOUT = "fwa-index/2"
SETTLE_NS = 2_000_000_000  # a run.json this recent (mtime or ctime) is read again next time rather than cached
BUSY_MS = 2000  # how long a command waits for another one's write before going on without the index
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    (
        "CREATE TABLE runs (rel TEXT PRIMARY KEY, ino INTEGER NOT NULL, size INTEGER NOT NULL, "
        "mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, head TEXT NOT NULL)"
    ),
    # the whole texts apart, so that reading every run's row does not read them
    "CREATE TABLE texts (rel TEXT PRIMARY KEY, manifest TEXT NOT NULL)",
)


def stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _connect(path: str, *, readonly: bool) -> sqlite3.Connection:
    uri = "file:" + path.replace("?", "%3f").replace("#", "%23") + ("?mode=ro" if readonly else "")
    con = sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
    con.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    return con


_READERS: dict[tuple[int, str], sqlite3.Connection] = {}  # (pid, index file): a connection kept for cached_text


def cached_text(index_path: str, rel: str, key: tuple[int, int, int, int]) -> str | None:
    """The run.json text the index at ``index_path`` holds for ``rel`` read at stat ``key``; None if it holds
    no such row (updated since, removed) or cannot be read."""
    try:
        con = _READERS.get((os.getpid(), index_path))
        if con is None:
            con = _READERS[(os.getpid(), index_path)] = _connect(index_path, readonly=True)
        row = con.execute(
            "SELECT t.manifest FROM runs AS r JOIN texts AS t ON t.rel = r.rel "
            "WHERE r.rel = ? AND r.ino = ? AND r.size = ? AND r.mtime_ns = ? AND r.ctime_ns = ?",
            (rel, *key),
        ).fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row is not None and isinstance(row[0], str) else None


def _layout_ok(con: sqlite3.Connection) -> bool:
    row = con.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone()
    return row is not None and row[0] == LAYOUT


class StudyIndex:
    """The index of the study folder ``study``: :meth:`lookup` cached manifests, :meth:`keep` new ones,
    :meth:`save` them (and forget the runs no longer there)."""

    def __init__(self, study: str):
        self.path = os.path.join(study, INDEX_NAME)
        self.rows: dict[str, tuple[tuple[int, int, int, int], str]] = {}
        self.usable = False  # the file is absent or ours: it may be written
        self.replace = False  # the file is there but not a readable index of this layout: write a new one
        self._new: dict[str, tuple[tuple[int, int, int, int], str, str]] = {}
        self._load()

    def _load(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            self.usable = True
            return
        except OSError:
            return
        if not stat.S_ISREG(st.st_mode):
            return  # a link, a directory, a FIFO: not fwa's index; never touched
        self.usable = True
        try:
            con = _connect(self.path, readonly=True)
            try:
                if not _layout_ok(con):
                    self.replace = True
                    return
                for rel, ino, size, mtime, ctime, head in con.execute(
                    "SELECT rel, ino, size, mtime_ns, ctime_ns, head FROM runs"
                ):
                    if isinstance(head, str):  # else not a row fwa wrote: not used
                        self.rows[rel] = ((ino, size, mtime, ctime), head)
            finally:
                con.close()
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "unable to open" in str(e):
                self.usable = False  # busy past the timeout, or unreadable: go on without it
            else:
                self.replace = True
            self.rows = {}
        except sqlite3.DatabaseError:  # not a database, malformed: rebuilt
            self.replace = True
            self.rows = {}

    def lookup(self, rel: str, st: os.stat_result) -> str | None:
        """The head cached for the run.json of ``rel`` (the JSON of its run_id, status, config and summary) if it
        was read from the file that is there now (``st``); the whole text: :func:`cached_text`."""
        row = self.rows.get(rel)
        return row[1] if row is not None and row[0] == stat_key(st) else None

    def keep(self, rel: str, st: os.stat_result, head: dict, text: str) -> None:
        """Cache ``head`` and ``text``, read from the run.json of ``rel`` whose stat (taken before reading) was
        ``st``."""
        settled = time.time_ns() - SETTLE_NS
        if st.st_mtime_ns < settled and st.st_ctime_ns < settled:
            self._new[rel] = (stat_key(st), json.dumps(head, separators=(",", ":")), text)

    def save(self, seen: set[str]) -> None:
        """Write what was read anew and forget rows of runs not in ``seen`` (the walk saw every run of the study).
        Any failure (read-only study, full disk, a lock held too long) leaves the index as it was."""
        gone = [rel for rel in self.rows if rel not in seen]
        if not self.usable or not (self._new or gone or self.replace):
            return
        try:
            if self.replace:
                self._rewrite(seen)
            else:
                self._update(gone)
        except (sqlite3.Error, OSError):
            pass

    def _update(self, gone: list[str]) -> None:
        if not os.path.exists(self.path) and not os.access(os.path.dirname(self.path) or ".", os.W_OK):
            return
        con = _connect(self.path, readonly=False)
        try:
            con.execute("BEGIN IMMEDIATE")
            if not con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
                for sql in _SCHEMA:
                    con.execute(sql)
                con.execute("INSERT INTO meta VALUES ('layout', ?)", (LAYOUT,))
            elif not _layout_ok(con):
                con.execute("ROLLBACK")
                return
            for table in ("runs", "texts"):
                con.executemany(f"DELETE FROM {table} WHERE rel = ?", ((rel,) for rel in gone))
            self._insert(con, self._new.items(), "INSERT OR REPLACE")
            con.execute("COMMIT")
        finally:
            con.close()

    @staticmethod
    def _insert(con: sqlite3.Connection, rows, verb: str) -> None:
        rows = list(rows)
        con.executemany(
            f"{verb} INTO runs VALUES (?, ?, ?, ?, ?, ?)", ((rel, *key, head) for rel, (key, head, _) in rows)
        )
        con.executemany(f"{verb} INTO texts VALUES (?, ?)", ((rel, text) for rel, (_, _, text) in rows))

    def _rewrite(self, seen: set[str]) -> None:
        """A new index (what was read anew) written beside the unusable one, then renamed over it."""
        tmp = f"{self.path}.tmp-{uuid.uuid4().hex}"
        try:
            con = _connect(tmp, readonly=False)
            try:
                for sql in _SCHEMA:
                    con.execute(sql)
                con.execute("BEGIN")
                con.execute("INSERT INTO meta VALUES ('layout', ?)", (LAYOUT,))
                self._insert(con, [(rel, row) for rel, row in self._new.items() if rel in seen], "INSERT")
                con.execute("COMMIT")
            finally:
                con.close()
            os.replace(tmp, self.path)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
