"""The one exception type of a user's mistake (docs/cli.md, "Exit codes").

:class:`UserError` is raised where input is checked: a command line's options, a file it names, runs that
cannot answer the question asked (none matched, no topology updates, a criterion with no data). The command
lines print it as one ``error: ...`` line and exit 1; any other exception is a bug in fwa and prints its
traceback. It is a :class:`ValueError`, so a library caller that catches ``ValueError`` keeps working.
A leaf: it imports nothing.
"""

from __future__ import annotations

import errno

__all__ = ["UserError", "error_text"]


class UserError(ValueError):
    """A mistake in the command line or its input: one line on stderr, exit 1."""


def error_text(e: BaseException) -> str:
    """One line saying what went wrong, for any error a command can meet: an ``OSError`` as ``<file>: <what
    the system said>`` (e.g. ``reports/fig01.png: No space left on device``), a number too large as such,
    anything else by its message."""
    if isinstance(e, OSError) and type(e).__str__ is OSError.__str__ and e.strerror:
        where = ": ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
        what = e.strerror
        if e.errno == errno.EROFS:
            what += " (a read-only file system)"
        return f"{where}: {what}" if where else what
    if isinstance(e, OverflowError):
        return f"a number is too large ({e})"
    if isinstance(e, RecursionError):
        return "the input is nested too deeply"
    if isinstance(e, MemoryError):
        return "out of memory (the input is larger than this machine can hold)"
    return str(e) or type(e).__name__
