"""What fwa's command lines (``fwa`` and ``fwa import``) share: the stderr console, text made safe to print,
and the one way a command's failure becomes one ``error:`` line (docs/cli.md, "Errors").

Text from runs and files (run ids, config values, file names, messages quoting them) is shown with its
control characters escaped (:func:`printable`), so no value can start a line of its own, forge an
``error:`` line or move the terminal's cursor; CSV cells that a spreadsheet would run as a formula are
quoted (:func:`csv_cell`).
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Annotated

import typer
from rich.console import Console
from typer.exceptions import TyperException

from .errors import UserError, error_text

__all__ = [
    "err",
    "UserError",
    "printable",
    "csv_cell",
    "error_text",
    "fail",
    "handles_errors",
    "run_command",
    "one_line_paragraphs",
    "command_app",
    "repeatable_option",
    "progress_bar",
    "stderr_is_terminal",
]


class _Stderr(Console):
    """The stderr console: every line printed with :func:`printable` text (a run id holding a newline cannot
    start a line of its own there)."""

    def print(self, *objects, **kwargs) -> None:
        super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)


# C0 and C1 control characters, the Unicode line and paragraph separators, and the bidirectional overrides
# and isolates (which reorder what a terminal shows)
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text) -> str:
    """``text`` with every control character written as its escape (``\\n``, ``\\x1b``, ``\\u202e``): one line
    that shows exactly what the value holds."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def csv_cell(value):
    """A value as a CSV cell: text that a spreadsheet would read as a formula (starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) gets a leading ``'``, as OWASP's CSV-injection advice has it;
    numbers and other text are unchanged."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


err = _Stderr(stderr=True, highlight=False, soft_wrap=True, markup=False)


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal (not a pipe or file): the one test of whether a progress bar is drawn.
    ``FORCE_COLOR`` and the like do not count, so redirected stderr never holds a bar."""
    try:
        return sys.stderr.isatty() and err.is_terminal
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


def progress_bar(*, quiet: bool = False) -> Callable[..., Iterable]:
    """``track(items, total, description, at_least=3)``: ``items``, shown as a transient progress bar on stderr
    while they are used, when stderr is a terminal, ``quiet`` is not set and ``total`` is at least ``at_least``;
    else ``items`` unchanged (nothing printed). The bar is erased when done, so a terminal keeps only the
    output."""

    def track(items: Iterable, total: int, description: str, *, at_least: int = 3) -> Iterable:
        if quiet or total < at_least or not stderr_is_terminal():
            return items
        from rich.progress import track as rich_track

        return rich_track(items, total=total, description=description, console=err, transient=True)

    return track


def fail(e: BaseException | str, *, hint: str = "") -> None:
    """Print ``error: <one line>`` on stderr and exit 1."""
    text = e if isinstance(e, str) else error_text(e)
    err.print("error: " + text + hint)
    raise typer.Exit(1)


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean a user's mistake, bad input or a file system that said no: one ``error:`` line.
    Everything else is a bug in fwa."""
    from .artifacts import ArtifactError
    from .artifacts.io import NotRegularFile
    from .artifacts.owned import NotFwaFiles
    from .artifacts.select import NoRunsError, PoolingError

    return (
        UserError,
        NoRunsError,
        PoolingError,
        ArtifactError,
        NotRegularFile,
        NotFwaFiles,
        OSError,
        OverflowError,
        RecursionError,
        MemoryError,
    )


REPORT_BUG = "internal error: this is a bug in fwa, not a mistake of yours; please report it with the traceback above"


def run_command(fn: Callable[[], None], *, expected: tuple[type[BaseException], ...] = ()) -> None:
    """Run a command body: a user mistake (:class:`UserError`), bad input or artifacts, runs that cannot be pooled,
    any file system error (a full disk, a read-only folder, a path under a file) and a number too large become
    one ``error:`` line and exit 1; any other exception is a bug: its traceback, a line asking to report it, exit 1.
    Typer's own exits and usage errors pass through.

    ``expected``: further exception types that mean bad input (the importers add ``ValueError``: every parse
    error of a foreign file)."""
    try:
        fn()
    except (typer.Exit, typer.Abort, TyperException):  # the command line's own exits and usage errors
        raise
    except (*user_errors(), *expected) as e:
        fail(e)
    except Exception:  # noqa: BLE001 - a bug: shown in full, and asked to be reported
        traceback.print_exc()
        err.print(REPORT_BUG)
        raise typer.Exit(1) from None


def handles_errors(fn: Callable) -> Callable:
    """``fn`` (a command) run through :func:`run_command`: the one place where a command's failure becomes its
    output."""

    @functools.wraps(fn)
    def command(*args, **kwargs):
        run_command(lambda: fn(*args, **kwargs))

    return command


def one_line_paragraphs(fn: Callable) -> Callable:
    """``fn`` with each paragraph of its docstring joined onto one line, for Typer to show as the command's help.
    Typer's rich help prints a single line break as it stands, so a paragraph wrapped to fit the source would
    print broken at the source's margin; joined, it is wrapped to the terminal's width only."""
    if fn.__doc__:
        paragraphs = inspect.cleandoc(fn.__doc__).split("\n\n")
        fn.__doc__ = "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
    return fn


def command_app(help: str) -> typer.Typer:
    """A Typer app of fwa's (``fwa``, ``fwa import``): ``help`` its text, its help shown when it is given no
    arguments, no shell-completion options, and no rich traceback (a failure is :func:`run_command`'s)."""
    return typer.Typer(help=help, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def repeatable_option(flag: str, metavar: str, help: str):
    """The parameter type of a repeatable option ``flag`` whose values are text of the form ``metavar``
    (``--set KEY=VALUE``, ``--map TAG=SPLIT:NAME``): the list given, None where it is not."""
    return Annotated[list[str] | None, typer.Option(flag, metavar=metavar, help=help)]
