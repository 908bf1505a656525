"""Choosing runs by their config, and telling which runs may be pooled.

:class:`RunFilter` holds the common filters of every ``fwa`` command. The rest of this module is the
pooling rule of every analysis and figure: runs are averaged over seeds only. :func:`design` is what
a run *is* (its config without labels such as ``sweep``, ``criterion_params`` flattened);
:func:`varying_fields` finds the fields in which runs that an analysis would put in one cell differ,
so that the analysis keeps them apart; :func:`drop_repeats` removes runs that repeat another run's
design and seed (one experiment recorded twice, e.g. by two sweeps).
"""

from __future__ import annotations

import json
import math
import operator
import weakref
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from fwanalysis.vocab import LABEL_KEYS

from . import schema
from .find import find_runs
from .io import ArtifactError
from .reader import Run

__all__ = [
    "RunFilter",
    "select_runs",
    "group_key",
    "NoRunsError",
    "PoolingError",
    "design",
    "config_get",
    "varying_fields",
    "drop_repeats",
    "describe_fields",
    "filter_hint",
    "in_sweeps",
    "profiles_of",
    "check_filter_values",
    "UnknownValueError",
]


class NoRunsError(Exception):
    """No run matched; the message says where we looked and which filters applied."""


class PoolingError(ValueError):
    """Runs that an analysis would average differ in more than the seed; the one-line message names the
    fields, their values and the filter that separates them."""


def _hashable(v) -> Hashable:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((str(k), _hashable(x)) for k, x in v.items()))
    return v


_DESIGNS: weakref.WeakKeyDictionary[Run, dict] = weakref.WeakKeyDictionary()  # objects that take no attribute


_NOT_DESIGN = (*LABEL_KEYS, "criterion_params")
_SCALARS = frozenset((type(None), str, int, float, bool))


def design(run: Run) -> dict[str, Hashable]:
    """What ``run`` is, as flat ``{field: hashable value}``: its config without the label keys
    (``sweep``), with each ``criterion_params`` entry a field of its own (``mest_lambda``; named
    ``criterion_params.<key>`` if a config key of that name exists). A field missing from a run
    compares as None. Computed once per run (kept on the run)."""
    d = getattr(run, "_fwa_design", None)
    if d is None:
        d = _DESIGNS.get(run)
    if d is None:
        cfg = run.config
        if not cfg.get("criterion_params"):  # most runs: the config without labels, lists and objects as tuples
            d = dict(cfg)
            for k in _NOT_DESIGN:
                d.pop(k, None)
            if not _SCALARS.issuperset(map(type, d.values())):
                d = {k: _hashable(v) for k, v in d.items()}
        else:
            d = {}
            for k, v in cfg.items():
                if k in LABEL_KEYS:
                    continue
                if k == "criterion_params":
                    for pk, pv in (v or {}).items():
                        d[pk if pk not in cfg else f"criterion_params.{pk}"] = _hashable(pv)
                else:
                    d[k] = _hashable(v)
        try:
            run._fwa_design = d
        except AttributeError:
            _DESIGNS[run] = d
    return d


_ORDERS: dict[tuple, tuple[tuple, Callable]] = {}  # a design's fields in dict order -> (sorted, picker of values)


def _sorted_design(run: Run) -> tuple[tuple, tuple]:
    """``design(run)``'s fields sorted, and their values in that order: equal pairs for equal designs (what
    comparing the sorted items tells), the sort done once per order of fields rather than per run."""
    key = getattr(run, "_fwa_sorted_design", None)
    if key is None:
        d = design(run)
        fields = tuple(d)
        order = _ORDERS.get(fields)
        if order is None:
            names = tuple(sorted(fields))
            at = [fields.index(k) for k in names]
            pick = operator.itemgetter(*at) if len(at) > 1 else (lambda v, at=at: tuple(v[i] for i in at))
            order = _ORDERS[fields] = (names, pick)
        key = (order[0], order[1](tuple(d.values())))
        try:
            run._fwa_sorted_design = key
        except AttributeError:
            pass
    return key


def config_get(run: Run, key: str):
    """A config value by field name: a config key, a label key, or a ``criterion_params`` entry
    (``mest_lambda`` or ``criterion_params.mest_lambda``); None where the run has none."""
    if key in run.config and key != "criterion_params":
        return run.config[key]
    params = run.config.get("criterion_params") or {}
    return params.get(key.removeprefix("criterion_params."))


def _field_order(fields: Iterable[str]) -> list[str]:
    known = {k: i for i, k in enumerate(schema.CONFIG_KEYS)}
    return sorted(set(fields), key=lambda f: (known.get(f, len(known)), f))


def varying_fields(
    runs: Sequence[Run], cell: Callable[[Run], Hashable], *, ignore: Sequence[str] = ("seed",)
) -> list[str]:
    """Design fields (:func:`design`) in which two runs of one cell differ, ``ignore``d fields aside.

    ``cell(run)`` is the key under which an analysis would average runs (e.g. model, dataset, growth,
    criterion and density for accuracy vs density). The fields returned must become keys of the
    analysis too (rows, blocks, panels) so that every cell averages over seeds only. In config order.
    """
    by_cell: dict[Hashable, list[dict]] = defaultdict(list)
    for r in runs:
        by_cell[cell(r)].append(design(r))
    out: set[str] = set()
    ignored = set(ignore)
    for designs in by_cell.values():
        if len(designs) < 2:
            continue
        first = designs[0]
        # the fields whose (field, value) pair is not in both designs (one set operation per run) may differ;
        # each is then compared as before (a field missing from a run compares as None)
        maybe = {k for d in designs[1:] for k, _ in first.items() ^ d.items()}
        for k in maybe - ignored - out:
            value = first.get(k)
            if any(d.get(k) != value for d in designs[1:]):
                out.add(k)
    return _field_order(out)


def in_sweeps(run: Run, sweeps: Sequence[str]) -> bool:
    """Whether ``run`` belongs to the study of these specs: made by one of them (``config.sweep``), or by
    none (an untagged run, written by any loop, counts for every study)."""
    tag = run.config.get("sweep")
    return tag is None or tag in sweeps


def profiles_of(runs: Sequence[Run]) -> list[str]:
    """The sweep profiles (``config.profile``: quick, paper, ...) the runs hold, sorted."""
    return sorted({str(r.config["profile"]) for r in runs if r.config.get("profile") is not None})


def drop_repeats(runs: Sequence[Run]) -> tuple[list[Run], list[tuple[Run, Run]]]:
    """Runs whose design and seed equal an earlier run's (they differ only in labels such as ``sweep``)
    are one experiment recorded twice: ``(kept, [(repeat, the run it repeats)])``, order kept."""
    seen: dict[tuple, Run] = {}
    kept, repeats = [], []
    for r in runs:
        key = _sorted_design(r)
        if key in seen:
            repeats.append((r, seen[key]))
        else:
            seen[key] = r
            kept.append(r)
    return kept, repeats


def _show(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def describe_fields(runs: Sequence[Run], fields: Sequence[str], *, limit: int = 4) -> str:
    """``update_period (3, 25), batch_size (64, 128)``: each field with the values the runs have."""
    parts = []
    for f in fields:
        vals = sorted(
            {design(r).get(f) for r in runs},
            key=lambda v: (v is None, str(type(v)), v if isinstance(v, (int, float)) else str(v)),
        )
        shown = ", ".join(_show(v) for v in vals[:limit]) + (", ..." if len(vals) > limit else "")
        parts.append(f"{f} ({shown})")
    return ", ".join(parts)


_FLAGS = {
    "model": "--model",
    "dataset": "--dataset",
    "growth": "--growth",
    "criterion": "--criterion",
    "density": "--density",
    "update_period": "--update-period",
    "sweep": "--sweep",
}


def filter_hint(field: str, value) -> str:
    """The command-line filter that keeps runs with ``field == value`` (``--update-period 25``,
    ``--config batch_size=128``)."""
    if field in _FLAGS and value is not None:
        return f"{_FLAGS[field]} {_show(value)}"
    return f"--config {field}={value if isinstance(value, str) else json.dumps(value)}"


def key_values(items: Iterable[str] | None, *, option: str = "--config", example: str = "batch_size=128") -> dict:
    """``KEY=VALUE`` command-line items (``--config`` filters, ``fwa import --set``) as a dict; VALUE is read
    as JSON where it parses (numbers, true, null, lists), else as text. ValueError names the bad item."""
    out = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{option} {item!r}: expected KEY=VALUE, e.g. {option} {example}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        except RecursionError:
            raise ValueError(f"{option} {item[:40]!r}...: VALUE is nested too deeply") from None
        out[key.strip()] = value
    return out


@dataclass(frozen=True)
class RunFilter:
    """Config filters; empty fields do not filter. Densities compare with a 1e-9 tolerance."""

    model: Sequence[str] = ()
    dataset: Sequence[str] = ()
    growth: Sequence[str] = ()
    criterion: Sequence[str] = ()
    method: Sequence[str] = ()
    density: Sequence[float] = ()
    density_min: float | None = None  # density >= this (inclusive)
    density_max: float | None = None  # density <= this (inclusive)
    density_gt: float | None = None  # density > this (strict)
    density_lt: float | None = None  # density < this (strict)
    update_period: Sequence[int] = ()
    sweep: Sequence[str] = ()
    extra: dict = field(default_factory=dict)  # field -> value (--config KEY=VALUE), see config_get

    def describe(self) -> str:
        parts = []
        for k in ("model", "dataset", "growth", "criterion", "method", "density", "update_period", "sweep"):
            v = getattr(self, k)
            if v:
                parts.append(f"--{k.replace('_', '-')} {','.join(map(str, v))}")
        for k in ("density_min", "density_max", "density_gt", "density_lt"):
            if getattr(self, k) is not None:
                parts.append(f"--{k.replace('_', '-')} {getattr(self, k)}")
        for k, v in self.extra.items():
            parts.append(f"--config {k}={v}")
        return " ".join(parts) or "no filters"

    def accepts(self, run: Run, *, baselines: bool = False) -> bool:
        """Whether ``run`` passes. With ``baselines``, dense and static runs ignore the
        criterion, growth and update-period filters (they have none) and dense runs ignore density."""
        c = run.config
        method = run.kind  # --method matches the pruning loop where a run has one (docs/format.md)
        is_base = baselines and method in ("dense", "static")
        if self.method and method not in self.method:
            return False
        for key in ("model", "dataset", "sweep"):
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
            if self.density and (
                d is None or not any(math.isclose(d, x, rel_tol=0, abs_tol=1e-9) for x in self.density)
            ):
                return False
            if not self.density_ok(d):
                return False
        for key, want in self.extra.items():
            have = config_get(run, key)
            if isinstance(want, float) and isinstance(have, (int, float)) and not isinstance(have, bool):
                if not math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-12):
                    return False
            elif have != want:
                return False
        return True

    def density_ok(self, d) -> bool:
        """Whether density ``d`` is within the bounds: min/max inclusive, gt/lt strict (1e-12 tolerance,
        so 0.2 read back from JSON is 0.2)."""
        bounds = (self.density_min, self.density_max, self.density_gt, self.density_lt)
        if all(b is None for b in bounds):
            return True
        if d is None:
            return False
        eps = 1e-12
        return (
            (self.density_min is None or d >= self.density_min - eps)
            and (self.density_max is None or d <= self.density_max + eps)
            and (self.density_gt is None or d > self.density_gt + eps)
            and (self.density_lt is None or d < self.density_lt - eps)
        )


def select_runs(
    paths: Iterable,
    flt: RunFilter | None = None,
    *,
    include_incomplete: bool = False,
    on_bad: Callable[[ArtifactError], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    baselines: bool = False,
    progress: Callable[[Iterable, int], Iterable] | None = None,
) -> list[Run]:
    """Every run below ``paths`` that passes ``flt``, sorted by path (see :func:`find_runs`, which ``progress``
    goes to). A value of a filter that no run found there holds is named with the values they hold, an error
    when no value of that filter is held (:func:`check_filter_values`)."""
    runs = find_runs(
        paths, include_incomplete=include_incomplete, on_bad=on_bad, on_warning=on_warning, progress=progress
    )
    flt = flt or RunFilter()
    where = ", ".join(map(str, paths))
    what = "run" if include_incomplete else "complete run"
    check_filter_values(flt, runs, where=where, what=what, on_warning=on_warning)
    return [r for r in runs if flt.accepts(r, baselines=baselines)]


#: the filters whose values are names (RunFilter field, what the values are called)
_NAMED = (
    ("model", "models"),
    ("dataset", "data sets"),
    ("growth", "growth criteria"),
    ("criterion", "criteria"),
    ("method", "methods"),
    ("sweep", "sweeps"),
)


class UnknownValueError(NoRunsError):
    """A filter names a value no run has (a typo, most often); the message names the values the runs hold,
    closest match first."""


def check_filter_values(
    flt: RunFilter,
    runs: Sequence[Run],
    *,
    where: str,
    what: str = "run",
    on_warning: Callable[[str], None] | None = None,
) -> None:
    """A value of a name filter (``--criterion magnitue``) that no run of ``runs`` holds is named in one line with
    the values they do hold, the closest match first (:func:`difflib.get_close_matches`): an
    :class:`UnknownValueError` when no value given for that filter is held (nothing could match), else a warning
    (``on_warning``) and the values that are held are used, as the command-line contract's exit codes ask."""
    import difflib

    for key, plural in _NAMED:
        want = getattr(flt, key)
        if not want:
            continue
        held = (r.kind if key == "method" else r.config.get(key) for r in runs)
        have = sorted({str(v) for v in held if v is not None})
        missing = [v for v in want if v not in have]
        if not have or not missing:  # no run at all: the command says no run matched
            continue
        value = missing[0]
        # closest first (difflib's ratio), ties in sorted order
        ordered = sorted(have, key=lambda h: -difflib.SequenceMatcher(None, str(value), h).ratio())
        guess = difflib.get_close_matches(str(value), have, n=1)
        msg = (
            f"--{key} {value}: no {what} under {where} has it; "
            f"{f'did you mean {guess[0]}? ' if guess else ''}{plural} there: {', '.join(ordered)}"
        )
        if len(missing) == len(want):
            raise UnknownValueError(msg)
        if on_warning is not None:
            on_warning(f"{msg} (the other --{key} values are used)")


_KEPT: dict[tuple, tuple[tuple, Callable]] = {}  # (id of fields, ignore, criterion params) -> (kept fields, values)
_NO_PARAMS: frozenset = frozenset()


def group_key(run: Run, *, ignore: Sequence[str] = ("criterion", "seed")) -> tuple:
    """Runs with equal keys are paired for comparison: their designs differ only in ``ignore`` and in
    criterion parameters (``mest_lambda`` belongs to MEST; it is compared among runs of one criterion).
    Labels such as ``sweep`` are not part of a design."""
    cache = getattr(run, "_fwa_group_keys", None)
    ignore = tuple(ignore)
    if cache is not None and ignore in cache:
        return cache[ignore]
    given = run.config.get("criterion_params")
    params = frozenset(given) if given else _NO_PARAMS
    names, values = _sorted_design(run)  # the design's items sorted by field, as sorting them would
    memo = (id(names), ignore, params)  # names: one tuple per order of fields, kept in _ORDERS for good
    kept = _KEPT.get(memo)
    if kept is None:
        at = [
            i
            for i, k in enumerate(names)
            if k not in ignore and k not in params and k.removeprefix("criterion_params.") not in params
        ]
        pick = operator.itemgetter(*at) if len(at) > 1 else (lambda v, at=at: tuple(v[i] for i in at))
        kept = _KEPT[memo] = (tuple(names[i] for i in at), pick)
    key = tuple(zip(kept[0], map(repr, kept[1](values))))
    try:
        if cache is None:
            cache = run._fwa_group_keys = {}
        cache[ignore] = key
    except AttributeError:  # an object that takes no attribute: computed each time
        pass
    return key
