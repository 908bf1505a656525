"""The runs an analysis command works on: the matching runs of the paths given (docs/cli.md, "Which runs"),
malformed ones stopping the command or, with ``skip_bad``, left out and named."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..artifacts import ArtifactError
from ..artifacts.select import NoRunsError, RunFilter, drop_repeats, select_runs
from ..errors import UserError

__all__ = ["Selection"]


def _ignore(_) -> None:
    pass


def _no_bar(items, total, description, **_):
    return items


#: reading fewer runs than this is quick enough to need no progress bar
LOADING_BAR_AT = 200


@dataclass
class Selection:
    """``paths`` and ``flt`` of a command; ``on_bad`` hears of each run skipped as malformed (with ``skip_bad``),
    ``on_warning`` and ``on_note`` of what a reader should know (both lines of text); ``progress(items, total,
    description, at_least=...)`` may show work on many items (:func:`fwanalysis.console.progress_bar`): loading
    runs, from ``LOADING_BAR_AT`` runs on."""

    paths: list[Path]
    flt: RunFilter
    include_incomplete: bool = False
    skip_bad: bool = False
    on_bad: Callable[[ArtifactError], None] = _ignore
    on_warning: Callable[[str], None] = _ignore
    on_note: Callable[[str], None] = field(default=_ignore)
    progress: Callable = field(default=_no_bar)

    def find(self, *, include_incomplete: bool, on_bad=None, baselines: bool = False) -> list:
        """:func:`~fwanalysis.artifacts.select.select_runs` of the paths; a path that does not exist is a user
        error."""
        try:
            return select_runs(
                self.paths,
                self.flt,
                include_incomplete=include_incomplete,
                on_bad=on_bad,
                on_warning=self.on_warning,
                baselines=baselines,
                progress=lambda items, total: self.progress(items, total, "loading runs", at_least=LOADING_BAR_AT),
            )
        except FileNotFoundError as e:
            raise UserError(str(e)) from None

    def runs(self, *, baselines: bool = False, repeats: bool = False, keep: Callable[[list], list] | None = None):
        """The runs matching the filters; malformed ones stop the command unless ``skip_bad``.

        A run_id found in two directories is counted once (a warning names both). ``keep`` narrows the
        runs further (before repeats are looked for). Unless ``repeats``, runs that repeat another run's
        config and seed under another sweep name are counted once too (a note says how many): an
        analysis averages over seeds only."""
        runs = self.find(
            include_incomplete=self.include_incomplete,
            on_bad=self.on_bad if self.skip_bad else None,
            baselines=baselines,
        )
        if not runs:
            where = ", ".join(map(str, self.paths))
            state = "" if self.include_incomplete else " complete"
            raise NoRunsError(f"no{state} runs matched under {where} ({self.flt.describe()})")
        if keep is not None:
            runs = keep(runs)
        if not repeats:
            runs, dropped = drop_repeats(runs)
            if dropped:
                r, first = dropped[0]
                self.on_note(
                    f"note: {len(dropped)} run(s) repeat the config and seed of another run "
                    f"(under another sweep name or run id) (e.g. {r.run_id} repeats {first.run_id}); "
                    "each experiment is counted once"
                )
        return runs

    def compute(self, fn: Callable, runs: list):
        """``fn(runs)``; with ``skip_bad``, a run whose files turn out damaged is dropped (said to ``on_bad``) and
        ``fn`` is tried again without it, until it succeeds or no run is left."""
        runs = list(runs)
        while True:
            try:
                return fn(runs)
            except ArtifactError as e:
                if not self.skip_bad:
                    raise
                kept = [r for r in runs if r.run_id != e.run and str(r.path) != e.run]
                if len(kept) == len(runs):
                    raise
                self.on_bad(e)
                runs = kept
                if not runs:
                    raise NoRunsError("every matching run was skipped as malformed") from None
