"""The figures of ``fwa report`` rendered to bytes, one figure after another or in ``jobs`` processes at once.

A figure is computed, drawn and saved in memory (PNG, PDF, CSV) by :func:`render`, which writes nothing: the
report (:mod:`.report`) writes the bytes, in the registry's order, into the folder it claimed, so that what it
records as written and what it tells (progress, warnings, errors) come in the same order however many processes
drew them. A figure's bytes depend only on its runs and the code, never on the process that drew it, so
``--jobs 4`` writes the bytes ``--jobs 1`` writes.

The processes are forked from this one when it runs no other thread (no lock another thread holds is copied
into them), else started by a fork server, a fresh interpreter that imports this module once. Each gets the
report's runs once, when it starts, and a figure as its id in the registry and its runs' indices.
"""

from __future__ import annotations

import functools
import multiprocessing
import pickle
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import pandas as pd

from .artifacts import Run
from .console import csv_cell, user_errors
from .errors import UserError, error_text
from .figures import FIGURES, FigureEntry, build
from .figures.entry import measured
from .figures.layout import figure_bytes

__all__ = ["Drawing", "Rendered", "claims_of", "csv_bytes", "render"]


@dataclass
class Rendered:
    """What drawing one figure gave: ``status`` "ok" (``files``: name -> bytes, in the order they are written),
    "error" (``note``: why) or "empty" (nothing it draws is in its runs); ``runs``: the indices, among the runs it
    was given, of those it shows; ``warnings``: what the libraries warned while it was drawn and saved; ``notes``:
    what they warned around it (the report's notes)."""

    status: str
    runs: list[int] = field(default_factory=list)
    note: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    summary: str = ""
    measured: str = ""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _said(caught) -> list[str]:
    return sorted({f"{w.category.__name__}: {w.message}" for w in caught})


def csv_bytes(df: pd.DataFrame) -> bytes:
    """A figure's data table as CSV, fixed float format; a text cell or column name that a spreadsheet would
    run as a formula is quoted (:func:`.console.csv_cell`), numbers and every other column as they are."""
    df = df.copy()
    columns = [csv_cell(c) for c in df.columns]
    if columns != list(df.columns):
        df.columns = columns
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            continue
        quoted = col.astype(object).map(csv_cell)
        if not quoted.equals(col.astype(object)):
            df.isetitem(i, quoted)
    return df.to_csv(index=False, lineterminator="\n", float_format="%.6g").encode()


def render(entry: FigureEntry, runs: Sequence[Run]) -> Rendered:
    """Compute, draw and save ``entry`` from ``runs`` (those selected for it), in memory."""
    with warnings.catch_warnings(record=True) as around:  # the report's notes, never printed
        warnings.simplefilter("always")
        done = _render(entry, runs)
    done.notes = _said(around)
    return done


def _render(entry: FigureEntry, runs: Sequence[Run]) -> Rendered:
    try:
        b = build(entry, runs, select=False)
    except (ValueError, KeyError) as e:
        return Rendered("error", runs=list(range(len(runs))), note=str(e))
    at = {id(r): i for i, r in enumerate(runs)}
    shown = [at[id(r)] for r in b.runs]
    if b.empty:  # e.g. Fig. 7 from runs without MEST's λ: never drawn as empty axes
        plt.close(b.figure)
        return Rendered("empty", runs=shown)
    summary = entry.summary(b.result) if entry.summary is not None else ""
    files = {}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for ext in ("png", "pdf"):
                files[f"{entry.id}.{ext}"] = figure_bytes(b.figure, ext)
    finally:
        plt.close(b.figure)
    said = sorted({*b.warnings, *_said(caught)})
    files[f"{entry.id}.csv"] = csv_bytes(b.table)
    return Rendered(
        "ok", runs=shown, files=files, summary=summary, measured=measured(b.runs, entry.measure), warnings=said
    )


def claims_of(runs: Sequence[Run]) -> tuple[list | None, str, list[str]]:
    """``fwa claims`` of ``runs`` for the report: (the results, or None and why they cannot be evaluated (e.g. runs
    of several profiles), what the libraries warned meanwhile)."""
    from .claims import evaluate

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            results, why = evaluate(runs), ""
        except ValueError as e:
            results, why = None, str(e)
    return results, why, _said(caught)


_RUNS: list[Run] = []  # a worker's runs, given once when it starts


def _start(runs: list[Run]) -> None:
    global _RUNS
    _RUNS = runs


@dataclass
class _Raised:
    """An exception of a worker, carried to the report's process (:func:`_carried`)."""

    error: BaseException


def _carried(e: Exception) -> BaseException:
    """``e`` as it can travel between processes: itself when a pickled copy of it can be made; else, for a user's
    mistake or bad input (:func:`.console.user_errors`), a :class:`UserError` of its one line, which the command
    line prints as it would print ``e``; else (a bug) a RuntimeError holding its traceback."""
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:  # noqa: BLE001 - an exception whose class pickles it but cannot be remade from it
        pass
    if isinstance(e, user_errors()):
        return UserError(error_text(e))
    return RuntimeError("in a report process: " + "".join(traceback.format_exception(e)))


def _in_worker(fn: Callable, *args):
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - raised again by the report's process (Drawing._result)
        return _Raised(_carried(e))


def _figure(fid: str, indices: list[int]) -> Rendered | _Raised:
    return _in_worker(render, FIGURES[fid], [_RUNS[i] for i in indices])


def _claims() -> tuple[list | None, str, list[str]] | _Raised:
    return _in_worker(claims_of, _RUNS)


def _result(future):
    """What a worker returned, or the exception it raised, raised here."""
    done = future.result()
    if isinstance(done, _Raised):
        raise done.error
    return done


class Drawing:
    """The figures and claims of one report, drawn in this process (``jobs`` 1) or in ``jobs`` processes at once
    (a context manager: the processes end with it)."""

    def __init__(self, runs: list[Run], *, jobs: int = 1):
        self.runs, self.jobs, self._pool = runs, jobs, None

    def __enter__(self) -> Drawing:
        if self.jobs > 1:
            if threading.active_count() == 1:
                context = multiprocessing.get_context("fork")
            else:  # a thread (a progress bar) may hold a lock that a forked copy would wait on for ever
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_start, initargs=(self.runs,))
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def claims(self) -> Callable[[], tuple[list | None, str, list[str]]]:
        """:func:`claims_of` the runs: started now beside the figures when in processes; call what it returns for
        the result."""
        if self._pool is None:
            return lambda: claims_of(self.runs)
        return functools.partial(_result, self._pool.submit(_claims))

    def figures(self, todo: Sequence[tuple[FigureEntry, list[int]]]) -> Iterator[Rendered]:
        """:func:`render` of each ``(entry, indices of its runs)``, yielded in ``todo``'s order; in processes, the
        figures with the most runs start first, so that none is left alone at the end."""
        if self._pool is None or any(FIGURES.get(e.id) is not e for e, _ in todo):
            for entry, indices in todo:
                yield render(entry, [self.runs[i] for i in indices])
            return
        order = sorted(range(len(todo)), key=lambda k: -len(todo[k][1]))
        futures = {k: self._pool.submit(_figure, todo[k][0].id, todo[k][1]) for k in order}
        try:
            for k in range(len(todo)):
                yield _result(futures[k])
        finally:
            for f in futures.values():
                f.cancel()
