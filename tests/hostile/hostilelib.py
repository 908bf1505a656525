"""What the hostile-input tests share: one `error:` line and no traceback, and a call that must end within a
bound even when a FIFO is waiting for a writer."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

#: How long a command may take on input that holds a FIFO before it counts as blocked on one (issue 18: no FIFO
#: makes a command wait). A command that passes ends long before (``join`` returns at once), so the bound costs
#: nothing then; it only has to exceed a command's run time on a loaded CI machine (2.0 s failed there, with
#: load 8-12 and no FIFO waited on).
BOUND = 20.0


def one_error(r, *words: str) -> str:
    """The one ``error:`` line of a failed command (exit 1, no traceback), which holds every word of ``words``."""
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert r.exit_code == 1, r.output
    assert isinstance(r.exception, SystemExit), repr(r.exception)  # not an exception escaping the command
    assert len(errors) == 1, r.output
    assert "Traceback" not in r.output, r.output
    for w in words:
        assert w in errors[0], errors[0]
    return errors[0]


def ends_within(fn: Callable[[], object], seconds: float, fifos: list[Path] = ()):
    """``fn()`` run in a daemon thread: its result if it ends within ``seconds``; else the FIFOs are opened for
    writing (which releases a reader blocked on one) and the test fails saying so."""
    box: dict = {}

    def call():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            box["error"] = e

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        for f in fifos:
            try:
                os.close(os.open(f, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        t.join(5)
        raise AssertionError(f"still waiting after {seconds} s (on a FIFO?)")
    if "error" in box:
        raise box["error"]
    return box["value"]
