"""One exclusive lock per run: ``<study>/.locks/<run_id>.lock`` (docs/artifacts.md, "Locks").

A run is claimed by creating its lock file atomically before anything of the run is written or
removed, and released by removing it. The lock lives outside the run directory, so it survives the
run directory being removed and made again by its holder.

Creating the lock: the holder's record (JSON: host, pid, time, a random token, and on Linux the boot
id, the pid namespace and the process start time) is written to a temporary file beside the lock,
then hard-linked to the lock's name. ``link`` fails if the name exists, on local disks and on NFS
(where a lost reply is recognised by the temporary file's link count), so exactly one process wins.
Where hard links are not supported, ``open(O_CREAT | O_EXCL)`` is used instead. ``flock`` is not used:
it is not shared between the hosts of an NFS-mounted study.

A lock is stale when its holder is known to be gone: same host (and same pid namespace), and the pid
does not exist, is a zombie, or is another process now (other start time), or the machine rebooted
since (other boot id). A stale lock is taken over; a lock of a live process, of another host (whose
processes cannot be checked from here) or one that cannot be read is respected, unless the caller
passes ``gone``: a judge of such records (the sweep asks Slurm whether the job named in a record,
``slurm_job``, has ended; a record made inside a Slurm job carries its ``SLURM_JOB_ID`` and
``SLURM_CLUSTER_NAME``).

Taking over is atomic: the taker first creates a marker ``<run_id>.lock.takeover-<token>`` named
after the stale lock's token, exclusively, so of several processes that saw the same stale lock only
one goes on; it re-reads the lock under the marker and replaces it only if it still holds that token.
A fresh lock has another token, so a slow taker can never replace a live lock.

Within one process: :func:`claim_run` takes a lock that the next :class:`RunLock` of the same run in
the same thread joins (the sweep claims a run, re-checks its status under the lock, then the
trainer's ``RunWriter`` takes part in the claim); the file is removed when the last of them releases
it. Another lock of a run held by the same thread replaces the old one (a notebook cell run again
while its first writer is still open: the old writer fails at its next write); one held by another
thread is respected.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from .io import NotRegularFile, read_regular, utc_now
from .io import fsync_dir as _fsync_dir
from .schema import run_id_problem

__all__ = ["RunLock", "RunLocked", "claim_run", "lock_path", "read_lock", "lock_holder", "LOCK_DIR"]

LOCK_DIR = ".locks"
_MAX_LOCK_BYTES = 4096
_NO_LINK = {
    errno.EPERM,
    errno.ENOSYS,
    errno.EXDEV,
    errno.EMLINK,
    getattr(errno, "ENOTSUP", -1),
    getattr(errno, "EOPNOTSUPP", -1),
}


def lock_path(study_dir, run_id: str) -> Path:
    """Where the lock of run ``run_id`` of study ``study_dir`` is: ``<study>/.locks/<run_id>.lock``.
    ``ValueError`` for a run id that cannot name a file there (``/``, ``..``, a leading ``.``, too long)."""
    problem = run_id_problem(run_id)
    if problem:
        raise ValueError(problem)
    return Path(study_dir) / LOCK_DIR / f"{run_id}.lock"


# -- who we are ------------------------------------------------------------------------------------


def _read_small(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read(4096)
    except OSError:
        return None


def _boot_id() -> str | None:
    text = _read_small("/proc/sys/kernel/random/boot_id")
    return text.strip() or None if text else None


def _pid_ns() -> int | None:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of ``pid`` from ``/proc/<pid>/stat``; None if unknown."""
    text = _read_small(f"/proc/{pid}/stat")
    if not text or ")" not in text:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


_HOST = socket.gethostname()
_BOOT = _boot_id()
_PIDNS = _pid_ns()


def _me() -> dict:
    pid = os.getpid()
    st = _proc_stat(pid)
    me = {"host": _HOST, "pid": pid, "boot_id": _BOOT, "pid_ns": _PIDNS, "pid_start": st[1] if st else None}
    if os.environ.get("SLURM_JOB_ID"):  # inside a Slurm job: who can tell, from any host, when it has ended
        me["slurm_job"] = os.environ["SLURM_JOB_ID"]
        me["slurm_cluster"] = os.environ.get("SLURM_CLUSTER_NAME")
    return me


# -- reading a lock --------------------------------------------------------------------------------


def read_lock(path) -> dict | None:
    """The record in lock file ``path``; None if there is no such file.

    A file that is not a lock record (empty, garbled, too large, a FIFO or anything but a regular file)
    gives ``{"unreadable": True}``:
    its holder is unknown and the lock is respected.
    """
    try:
        data = read_regular(path, max_bytes=_MAX_LOCK_BYTES)  # a FIFO in its place is refused, never waited on
    except FileNotFoundError:
        return None
    except (OSError, NotRegularFile):
        return {"unreadable": True}
    try:
        info = json.loads(data.decode("utf-8")) if len(data) <= _MAX_LOCK_BYTES else None
    except (UnicodeDecodeError, ValueError):
        info = None
    if (
        not isinstance(info, dict)
        or not isinstance(info.get("pid"), int)
        or not isinstance(info.get("host"), str)
        or not isinstance(info.get("token"), str)
    ):
        return {"unreadable": True, "raw": data[:200].decode("utf-8", "replace")}
    return info


def _state(info: dict) -> str:
    """``alive``, ``dead`` or ``unknown`` (another host or pid namespace, or an unreadable lock)."""
    if info.get("unreadable"):
        return "unknown"
    if info.get("host") != _HOST:
        return "unknown"
    if info.get("boot_id") and _BOOT and info["boot_id"] != _BOOT:
        return "dead"  # this machine rebooted since the lock was taken
    if info.get("pid_ns") is not None and _PIDNS is not None and info["pid_ns"] != _PIDNS:
        return "unknown"  # another container with the same host name: its pids are not ours
    pid = info["pid"]
    if pid <= 0:
        return "dead"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:
        pass  # exists, another user's
    except OSError:
        return "unknown"
    st = _proc_stat(pid)
    if st is not None:
        state, start = st
        if state in ("Z", "X", "x"):
            return "dead"  # exited, not yet reaped
        if info.get("pid_start") is not None and start != info["pid_start"]:
            return "dead"  # the pid belongs to another process now
    return "alive"


def describe(info: dict | None) -> str:
    """``pid 123 on host node7 since 2026-01-02T03:04:05Z`` (or what is known of an unreadable lock)."""
    if not info:
        return "nobody"
    if info.get("unreadable"):
        return "an unknown holder (the lock file cannot be read as a lock record)"
    since = f" since {info['time']}" if isinstance(info.get("time"), str) else ""
    return f"pid {info['pid']} on host {info['host']}{since}"


def _judged(info: dict, gone: Callable[[dict], bool] | None) -> str:
    """:func:`_state`, where ``gone`` may call a holder this host cannot check (``unknown``) dead."""
    state = _state(info)
    if state == "unknown" and gone is not None and not info.get("unreadable") and gone(info):
        return "dead"
    return state


def lock_holder(study_dir, run_id: str, *, gone: Callable[[dict], bool] | None = None) -> dict | None:
    """The record of whoever holds the lock of the run, if it is held by a live process, another host
    (which cannot be checked from here, unless ``gone`` says it has ended) or is unreadable; None if the
    run is not locked or its lock is stale."""
    info = read_lock(lock_path(study_dir, run_id))
    if info is None or _judged(info, gone) == "dead":
        return None
    return info


# -- the exception -----------------------------------------------------------------------------------


class RunLocked(BlockingIOError):
    """The run is locked by someone else (a ``BlockingIOError``, as a non-blocking ``flock`` raises).

    Attributes: ``run_id``, ``lock_path``, ``holder`` (the lock record: ``host``, ``pid``, ``time``...;
    ``{"unreadable": True}`` when it cannot be read). ``str(e)`` is one line naming all three.
    """

    def __init__(self, run_id: str, lock_path, holder: dict | None, message: str | None = None):
        self.run_id = str(run_id)
        self.lock_path = str(lock_path)
        self.holder = dict(holder or {})
        self.message = message
        text = message or f"run {self.run_id} is locked: it is being written by {describe(self.holder)}"
        super().__init__(errno.EAGAIN, text, self.lock_path)

    @property
    def host(self) -> str | None:
        return self.holder.get("host")

    @property
    def pid(self) -> int | None:
        return self.holder.get("pid")

    def __str__(self) -> str:
        return f"{self.strerror} (lock {self.lock_path})"

    def __reduce__(self):
        return (RunLocked, (self.run_id, self.lock_path, self.holder, self.message))


# -- creating and removing lock files ------------------------------------------------------------------


def _write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` (mode 0o666 less the umask), synced; fails if it exists.
    A write that fails (a full disk) removes the file it made: no empty record is left behind."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        os.write(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    os.close(fd)


def _create_exclusive(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` complete, atomically; False if it exists already."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    _write_new(tmp, data)
    try:
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return _linked(tmp)  # NFS: a retried link after a lost reply says EEXIST although it worked
        except OSError as e:
            if _linked(tmp):
                return True
            if e.errno not in _NO_LINK:
                raise
        try:  # no hard links here: exclusive create (the record is written just after)
            _write_new(path, data)
            return True
        except FileExistsError:
            return False
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _linked(tmp: Path) -> bool:
    try:
        return os.stat(tmp).st_nlink == 2
    except OSError:
        return False


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    _write_new(tmp, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# -- the lock ----------------------------------------------------------------------------------------


class _Held:
    """A lock file this process holds: its token, and how many RunLock objects take part in it."""

    def __init__(self, token: str, thread: int, joinable: bool):
        self.token, self.thread, self.joinable, self.depth = token, thread, joinable, 1
        self.pid = os.getpid()  # a forked child inherits the registry, not the locks


_registry: dict[str, _Held] = {}
_registry_lock = threading.Lock()


class RunLock:
    """The exclusive lock of one run of a study. ``acquire()`` raises :class:`RunLocked` if another
    process (or another object of this process) holds it; ``release()`` removes the lock file.

    ``joinable=True`` (what :func:`claim_run` makes) lets one later ``RunLock`` of the same run, in the
    same thread, take part in this claim instead of being refused. ``gone``: called with the record of
    a holder this host cannot check (another host or pid namespace); True takes that lock over as stale.
    """

    def __init__(self, study_dir, run_id: str, *, joinable: bool = False, gone: Callable[[dict], bool] | None = None):
        self.study_dir = Path(study_dir)
        self.run_id = str(run_id)
        self.path = lock_path(study_dir, run_id)
        self.joinable = joinable
        self.gone = gone
        self._held: _Held | None = None
        self._key = str(self.path.absolute())

    @property
    def held(self) -> bool:
        return self._held is not None

    @property
    def token(self) -> str | None:
        return self._held.token if self._held else None

    def acquire(self, *, attempts: int = 50) -> RunLock:
        if self._held is not None:
            return self
        me = threading.get_ident()
        with _registry_lock:
            h = _registry.get(self._key)
            if h is not None and h.pid != os.getpid():
                del _registry[self._key]
                h = None
            if h is not None and read_token(self.path) != h.token:
                del _registry[self._key]  # lost meanwhile (removed by hand): not ours any more
                h = None
            if h is not None:
                if h.thread != me:
                    raise RunLocked(
                        self.run_id,
                        self.path,
                        read_lock(self.path) or {**_me(), "time": None},
                        f"run {self.run_id} is locked: it is being written by another thread of this process",
                    )
                if h.joinable and h.depth == 1:
                    h.depth += 1
                    self._held = h
                    return self
                # the same thread opens the run again (a notebook cell run twice): the new lock replaces
                # the old one, whose writer fails at its next write and never marks the run complete
                token = uuid.uuid4().hex
                _replace(self.path, self._record(token))
                self._held = _Held(token, me, self.joinable)
                _registry[self._key] = self._held
                return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        data = self._record(token)
        for attempt in range(attempts):
            if _create_exclusive(self.path, data):
                break
            info = read_lock(self.path)
            if info is None:
                continue  # released meanwhile: try again
            if _judged(info, self.gone) != "dead":
                raise RunLocked(self.run_id, self.path, info)
            if self._take_over(info, data):
                break
            time.sleep(0.005 * (1 + attempt % 10))
        else:
            raise RunLocked(
                self.run_id,
                self.path,
                read_lock(self.path) or {},
                f"run {self.run_id}: could not take its lock after {attempts} attempts "
                "(other processes keep taking it)",
            )
        if read_token(self.path) != token:  # never expected; but never go on without the lock
            raise RunLocked(self.run_id, self.path, read_lock(self.path))
        _fsync_dir(self.path.parent)
        with _registry_lock:
            self._held = _Held(token, me, self.joinable)
            _registry[self._key] = self._held
        return self

    def _record(self, token: str) -> bytes:
        record = {"run_id": self.run_id, **_me(), "time": utc_now(), "token": token}
        return (json.dumps(record, indent=1) + "\n").encode("utf-8")

    def _take_over(self, stale: dict, data: bytes) -> bool:
        """Replace the stale lock ``stale`` by ours, if we are the one process to do so."""
        marker = self.path.with_name(f"{self.path.name}.takeover-{_safe(stale['token'])}")
        if not _create_exclusive(marker, data):
            m = read_lock(marker)
            if m is not None and _state(m) == "dead":  # a taker that died half way: clear its marker
                try:
                    os.unlink(marker)
                except OSError:
                    pass
            return False
        try:
            if read_token(self.path) != stale["token"]:
                return False  # someone released, or took over before us
            _replace(self.path, data)
            return True
        finally:
            try:
                os.unlink(marker)
            except OSError:
                pass

    def still_held(self) -> bool:
        """Whether the lock file still holds this process's token (False once taken over or removed)."""
        return self._held is not None and read_token(self.path) == self._held.token

    def release(self) -> None:
        """Leave the lock; the file is removed when the last participant leaves (and only if it is ours)."""
        h, self._held = self._held, None
        if h is None:
            return
        with _registry_lock:
            h.depth -= 1
            if h.depth > 0:
                return
            if _registry.get(self._key) is h:
                del _registry[self._key]
        if read_token(self.path) == h.token:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            _fsync_dir(self.path.parent)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"RunLock({str(self.path)!r}, held={self.held})"


def read_token(path) -> str | None:
    info = read_lock(path)
    return info.get("token") if info and not info.get("unreadable") else None


def _safe(token: str) -> str:
    return "".join(ch for ch in str(token) if ch.isalnum())[:64] or "x"


def claim_run(study_dir, run_id: str, *, gone: Callable[[dict], bool] | None = None) -> RunLock:
    """Take the run's lock (raises :class:`RunLocked`) so that the next ``RunWriter`` of this run in
    this thread joins it: claim, re-check the run's status, then write it, with no gap in between.
    ``gone``: see :class:`RunLock`."""
    return RunLock(study_dir, run_id, joinable=True, gone=gone).acquire()
