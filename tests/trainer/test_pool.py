"""trainer.pool.WorkerPool: every item answered once, a dead worker fails only the item it held, and a
stopped pool leaves no worker alive. The items are small jobs run in spawned processes."""

from __future__ import annotations

import os
import signal
import time

import pytest

from trainer.pool import WorkerPool


def _work(item):
    """``("die", n)``: the worker kills itself; ``("exit", n)``: it exits 3; ``("fail", n)``: raises;
    ``("sleep", n)``: sleeps n seconds; anything else: answers (its pid, the item)."""
    kind, n = item
    if kind == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "exit":
        os._exit(3)
    if kind == "fail":
        raise ValueError(f"bad item {n}")
    if kind == "sleep":
        time.sleep(n)
    return os.getpid(), item


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _results(items, jobs=2):
    with WorkerPool(_work, jobs=jobs, describe=_describe) as pool:
        out = list(pool.map(items))
        assert pool._workers == {}  # every worker was told to end and has ended
    return out


def test_every_item_is_answered_once_by_at_most_jobs_workers():
    items = [("ok", i) for i in range(7)]
    out = _results(items, jobs=2)
    assert sorted(item for item, _, _ in out) == items
    assert all(kind == "ok" and value[1] == item for item, kind, value in out)
    assert len({value[0] for _, _, value in out}) <= 2  # two workers took turns, none was started per item


def test_a_failing_item_is_an_answer_and_its_worker_goes_on():
    out = _results([("ok", 0), ("fail", 1), ("ok", 2), ("ok", 3)], jobs=1)
    assert [(item, kind) for item, kind, _ in out] == [
        (("ok", 0), "ok"),
        (("fail", 1), "error"),
        (("ok", 2), "ok"),
        (("ok", 3), "ok"),
    ]
    assert out[1][2] == "ValueError: bad item 1"
    assert len({value[0] for _, kind, value in out if kind == "ok"}) == 1  # one worker throughout


def test_a_dead_worker_fails_only_its_item_and_is_replaced():
    items = [("ok", 0), ("die", 1), ("ok", 2), ("exit", 3), ("ok", 4), ("ok", 5)]
    out = _results(items, jobs=2)
    by_item = {item: (kind, value) for item, kind, value in out}
    assert len(out) == len(items) and set(by_item) == set(items)
    assert by_item[("die", 1)] == ("died", "killed by SIGKILL")
    assert by_item[("exit", 3)] == ("died", "exit status 3")
    assert all(by_item[i][0] == "ok" for i in items if i[0] == "ok")


def test_items_that_all_kill_their_workers_end():
    """Each death uses up the item it held, so a pool whose every item kills its worker still ends."""
    items = [("die", i) for i in range(4)]
    out = _results(items, jobs=2)
    assert sorted(item for item, _, _ in out) == items and {kind for _, kind, _ in out} == {"died"}


def test_leaving_on_an_exception_stops_every_worker():
    pool = WorkerPool(_work, jobs=2, describe=_describe, grace=5.0)
    with pytest.raises(KeyboardInterrupt):
        with pool:
            for item, _kind, _value in pool.map([("ok", 0), ("sleep", 60), ("sleep", 60), ("ok", 3)]):
                if item == ("ok", 0):
                    procs = [w[0] for w in pool._workers.values()]
                    raise KeyboardInterrupt
    assert procs and all(not p.is_alive() for p in procs)
    assert {p.exitcode for p in procs} <= {-signal.SIGTERM}  # stopped by SIGTERM, in well under the grace period
    assert pool._workers == {}


def test_jobs_must_be_positive():
    with pytest.raises(ValueError, match="jobs=0"):
        WorkerPool(_work, jobs=0)
