"""Choosing runs by their config: the common filters of every ``fwa`` command (CLI.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from .io import ArtifactError
from .reader import Run, find_runs

__all__ = ["RunFilter", "select_runs", "group_key", "NoRunsError"]


class NoRunsError(Exception):
    """No run matched; the message says where we looked and which filters applied."""


@dataclass(frozen=True)
class RunFilter:
    """Config filters; empty fields do not filter. Densities compare with a 1e-9 tolerance."""

    model: Sequence[str] = ()
    dataset: Sequence[str] = ()
    growth: Sequence[str] = ()
    criterion: Sequence[str] = ()
    method: Sequence[str] = ()
    density: Sequence[float] = ()
    density_min: float | None = None
    density_max: float | None = None
    update_period: Sequence[int] = ()
    sweep: Sequence[str] = ()
    extra: dict = field(default_factory=dict)

    def describe(self) -> str:
        parts = []
        for k in ("model", "dataset", "growth", "criterion", "method", "density", "update_period", "sweep"):
            v = getattr(self, k)
            if v:
                parts.append(f"--{k.replace('_', '-')} {','.join(map(str, v))}")
        if self.density_min is not None:
            parts.append(f"--density-min {self.density_min}")
        if self.density_max is not None:
            parts.append(f"--density-max {self.density_max}")
        for k, v in self.extra.items():
            parts.append(f"{k}={v}")
        return " ".join(parts) or "no filters"

    def accepts(self, run: Run, *, baselines: bool = False) -> bool:
        """Whether ``run`` passes. With ``baselines``, dense and static runs ignore the
        criterion, growth and update-period filters (they have none) and dense runs ignore density."""
        c = run.config
        method = c.get("method")
        is_base = baselines and method in ("dense", "static")
        for key in ("model", "dataset", "method", "sweep"):
            want = getattr(self, key)
            if want and c.get(key) not in want:
                return False
        for key in ("growth", "criterion"):
            want = getattr(self, key)
            if want and not is_base and c.get(key) not in want:
                return False
        if self.update_period and not is_base and c.get("update_period") not in self.update_period:
            return False
        d = c.get("density")
        if not (baselines and method == "dense"):
            if self.density and (d is None or not any(math.isclose(d, x, rel_tol=0, abs_tol=1e-9) for x in self.density)):
                return False
            if self.density_min is not None and (d is None or d < self.density_min - 1e-12):
                return False
            if self.density_max is not None and (d is None or d > self.density_max + 1e-12):
                return False
        for key, want in self.extra.items():
            if c.get(key) != want:
                return False
        return True


def select_runs(
    paths: Iterable,
    flt: RunFilter | None = None,
    *,
    include_incomplete: bool = False,
    on_bad: Callable[[ArtifactError], None] | None = None,
    baselines: bool = False,
) -> list[Run]:
    """Every run below ``paths`` that passes ``flt``, sorted by path (see :func:`find_runs`)."""
    runs = find_runs(paths, include_incomplete=include_incomplete, on_bad=on_bad)
    flt = flt or RunFilter()
    return [r for r in runs if flt.accepts(r, baselines=baselines)]


def group_key(run: Run, *, ignore: Sequence[str] = ("criterion", "seed")) -> tuple:
    """Runs with equal keys differ only in ``ignore`` (ARTIFACTS.md: runs paired for comparison)."""
    c = run.config
    return tuple(sorted((k, repr(v)) for k, v in c.items() if k not in ignore and not (k == "criterion_params")))
