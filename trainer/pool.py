"""A process pool that outlives its workers, for local sweeps (docs/sweeps.md, "Faults").

    with WorkerPool(fn, jobs=2, init=setup, initargs=(2,), describe=str) as pool:
        for item, kind, value in pool.map(items):
            ...   # kind "ok": value = fn(item); "error": value = describe(the exception)
                  # "died": value = how its worker ended ("killed by SIGKILL", "exit status 1")

Each worker takes one item at a time over its own pipe. A worker that dies while it holds an item (the
out-of-memory killer, a ``kill -9``) fails that item only: a new worker takes its place and the other
workers go on. Python's ``ProcessPoolExecutor`` cannot do this: one dead worker breaks the pool, which
then terminates every other worker and fails everything they held or had not started.

Leaving the ``with`` block on an exception (a stop signal in the parent) SIGTERMs the workers, waits
``grace`` seconds for them to stop what they hold cleanly, and SIGKILLs any left.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import wait
from typing import Any

__all__ = ["WorkerPool"]


def _serve(
    conn, fn: Callable, init: Callable | None, initargs: tuple, describe: Callable[[BaseException], str]
) -> None:
    """A worker: ``init(*initargs)``, then answer every item received with ``("ok", fn(item))`` or
    ``("error", describe(e))`` until ``None`` (or the parent's end of the pipe closes)."""
    if init is not None:
        init(*initargs)
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        try:
            answer = ("ok", fn(item))
        except Exception as e:  # a failed item is an answer; the worker goes on with the next one
            answer = ("error", describe(e))
        conn.send(answer)


def _ended(process) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class WorkerPool:
    """``jobs`` worker processes (``spawn``) running ``fn`` on items; see the module docstring."""

    def __init__(
        self,
        fn: Callable,
        *,
        jobs: int,
        init: Callable | None = None,
        initargs: tuple = (),
        describe: Callable[[BaseException], str] = str,
        grace: float = 10.0,
    ):
        if jobs < 1:
            raise ValueError(f"jobs={jobs!r}: expected at least 1")
        self.fn, self.jobs, self.init, self.initargs, self.describe, self.grace = (
            fn,
            jobs,
            init,
            initargs,
            describe,
            grace,
        )
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: dict = {}  # parent's end of the pipe -> [process, the item it holds or None]

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._close()
        else:
            self.stop()

    def _start(self):
        ours, theirs = self._ctx.Pipe()
        p = self._ctx.Process(
            target=_serve, args=(theirs, self.fn, self.init, self.initargs, self.describe), name="fw-worker"
        )
        p.start()
        theirs.close()
        self._workers[ours] = [p, None]
        return ours

    def _give(self, conn, item) -> None:
        """Hand ``item`` (``None``: stop) to the worker of ``conn``; a worker already dead is found by its
        sentinel, still holding the item."""
        self._workers[conn][1] = item
        try:
            conn.send(item)
        except (BrokenPipeError, OSError):
            pass

    def map(self, items: Iterable) -> Iterator[tuple[Any, str, Any]]:
        """``(item, kind, value)`` for every item, in the order they finish."""
        queue = deque(items)
        while queue and len(self._workers) < self.jobs:
            self._give(self._start(), queue.popleft())
        while self._workers:
            sentinels = {w[0].sentinel: conn for conn, w in self._workers.items()}
            for ready in wait([*self._workers, *sentinels]):
                conn = sentinels.get(ready, ready)
                if conn not in self._workers:  # both its pipe and its sentinel were ready: done already
                    continue
                process, item = self._workers[conn]
                answer = None
                try:
                    if conn.poll():
                        answer = conn.recv()
                except (EOFError, OSError):
                    pass
                if answer is not None:
                    yield item, answer[0], answer[1]
                    if queue:
                        self._give(conn, queue.popleft())
                        continue
                    self._give(conn, None)  # nothing left for it: it ends, and its sentinel removes it
                    continue
                if process.is_alive():  # the pipe was ready but held no whole answer yet
                    continue
                process.join()
                del self._workers[conn]
                conn.close()
                if item is not None:  # died holding an item: that item fails, a new worker takes the next
                    yield item, "died", _ended(process)
                    if queue:
                        self._give(self._start(), queue.popleft())

    def _close(self) -> None:
        """Leaving the block normally: the workers still there (none once :meth:`map` has ended; a
        ``break`` out of it leaves some) are told to end after what they hold, waited for up to ``grace``
        seconds in all, then stopped."""
        for conn in list(self._workers):
            self._give(conn, None)
        deadline = time.monotonic() + self.grace
        for process, _ in list(self._workers.values()):
            process.join(max(0.0, deadline - time.monotonic()))
        self.stop()

    def stop(self) -> None:
        """SIGTERM every worker still alive (each stops what it holds cleanly), SIGKILL those alive after
        ``grace`` seconds."""
        procs = [w[0] for w in self._workers.values()]
        for p in procs:
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + self.grace
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(2.0)
        for conn in self._workers:
            conn.close()
        self._workers.clear()
