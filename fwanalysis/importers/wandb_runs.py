"""``fwa import wandb-csv`` on a W&B runs table: one run per row, its config columns as config, its summary
columns as the run's final metrics (docs/import.md, "A runs table").

A runs table has no ``_step`` (nor a chart's ``Step``) column and a column naming each run (``Name``, ``ID``,
``name``...). Three shapes are read, and may be mixed:

- the runs table's "Export CSV" of W&B's web UI: W&B's run properties (``Name``, ``State``, ``Notes``,
  ``User``, ``Tags``, ``Created``, ``Runtime``, ``Sweep``, ...), then config and summary columns by their
  bare names: a column named as a config key of the run format (``seed``, ``density``, ``lr``, ...) is
  config, any other a summary metric;
- flattened columns (``pandas.json_normalize`` of ``run.config`` and ``run.summary``): ``config.<key>`` (or
  ``config/<key>``) is config, ``summary.<key>`` (``summary/``, ``summary_metrics.``) a summary metric;
- W&B's documented API export (``pd.DataFrame({"summary": ..., "config": ..., "name": ...}).to_csv(...)``):
  ``config`` and ``summary`` columns holding each run's dict as JSON or as Python writes a dict.

The config of each run (with ``--set`` on top) decides its identity: two rows that would be the same run
are refused, naming both, never merged. Each summary metric that ``--map`` or the default names make a
metric becomes one row at the run's summary ``_step`` (0 when not exported).
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fwanalysis.artifacts import CONFIG_KEYS
from fwanalysis.artifacts.writer import run_id_for

from .common import default_metric, metric_rows
from .common import some_names as _some
from .wandb_csv import _short, _step

__all__ = ["is_runs_table", "read_runs", "import_runs_table", "NAME_COLUMNS"]

#: Columns that name a run, in the order one is taken as its name.
NAME_COLUMNS = ("Name", "name", "Display Name", "display_name", "run_name", "ID", "id", "Run ID", "run_id")
#: W&B's run properties in a runs table: never config, never a metric (compared in lower case).
META_COLUMNS = frozenset(
    c.lower()
    for c in (
        *NAME_COLUMNS,
        *("State", "Notes", "User", "Tags", "Created", "Runtime", "Sweep", "Group", "Job Type", "Hostname"),
        *("Description", "Commit", "GitHub", "Updated", "End Time", "Heartbeat", "Project", "Entity", "URL"),
    )
)
_PREFIXES = (
    ("config.", "config"),
    ("config/", "config"),
    ("summary.", "summary"),
    ("summary/", "summary"),
    ("summary_metrics.", "summary"),
)
_MISSING = object()


def is_runs_table(cols: list[str]) -> bool:
    """Whether a CSV with these columns is a runs table: no step column, a column naming each run."""
    return "_step" not in cols and "Step" not in cols and any(c in NAME_COLUMNS for c in cols)


@dataclass
class TableRun:
    """One row of a runs table: its line, its name, its config, its summary (key -> number) and step."""

    line: int
    name: str
    config: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    step: int = 0


def _kind(col: str) -> tuple[str, str]:
    """``(kind, key)`` of a column: ``meta``, ``dict`` (a whole config or summary), ``config`` or ``summary``."""
    if col.lower() in META_COLUMNS or col.startswith("Unnamed: "):
        return "meta", col
    if col in ("config", "summary"):
        return "dict", col
    for prefix, kind in _PREFIXES:
        if col.startswith(prefix) and len(col) > len(prefix):
            return kind, col[len(prefix) :]
    return ("config" if col in CONFIG_KEYS else "summary"), col


def _literal(node):
    """The value of a Python literal node (dicts, lists, numbers, text, True/False/None, nan and inf)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(x) for x in node.elts]
    if isinstance(node, ast.Name) and node.id in ("nan", "NaN", "inf", "Infinity"):
        return float(node.id.lower().replace("infinity", "inf"))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    raise ValueError(ast.dump(node)[:40])


def _dict_cell(path: Path, line: int, col: str, cell: str) -> dict:
    """A ``config`` or ``summary`` cell: a dict written as JSON or as Python writes one (``str(dict)``)."""
    if not cell.strip():
        return {}
    try:
        value = json.loads(cell)
    except ValueError:
        try:
            value = _literal(ast.parse(cell.strip(), mode="eval").body)
        except (ValueError, SyntaxError, RecursionError):
            value = None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: line {line}: column {col!r} holds {_short(cell)}, not a dict")
    return value


def _flat(d: Mapping, prefix: str = "") -> dict:
    """A nested summary flattened with ``.`` (W&B shows ``{"val": {"acc": ...}}`` as ``val.acc``)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _config_value(cell):
    """A config cell as a value: JSON where it parses (``0.1``, ``true``, ``[30, 60]``), else text; empty is
    missing; a non-finite number is null."""
    if not isinstance(cell, str):
        value = cell
    elif not cell.strip():
        return _MISSING
    else:
        try:
            value = json.loads(cell)
        except ValueError:
            value = cell.strip()
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _number(cell) -> float | None:
    """A summary cell as a finite number, else None (text, media, empty, inf, nan)."""
    if isinstance(cell, bool) or not isinstance(cell, (str, int, float)):
        return None
    try:
        value = float(cell)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def read_runs(path: Path, text: str, *, skip_bad: bool = False) -> tuple[list[TableRun], dict[str, int]]:
    """The rows of the runs table ``text`` (of ``path``), all checked first; ``skipped`` as for a history:
    ragged lines and lines whose summary ``_step`` is no step, left out with ``skip_bad``, else errors."""
    from .wandb_csv import _header

    rows = csv.reader(io.StringIO(text, newline=""))
    cols = _header(path, rows)
    kinds = [_kind(c) for c in cols]
    name_col = next(cols.index(c) for c in NAME_COLUMNS if c in cols)
    runs: list[TableRun] = []
    skipped = {"ragged_lines": 0, "bad_step_lines": 0}
    line = rows.line_num
    try:
        for row in rows:
            start, line = line + 1, rows.line_num
            if not row:
                continue
            if len(row) != len(cols):
                if not skip_bad:
                    raise ValueError(f"{path}: line {start}: {len(row)} fields, the header has {len(cols)}")
                skipped["ragged_lines"] += 1
                continue
            run = TableRun(start, row[name_col].strip() or f"line {start}")
            for (kind, key), cell in zip(kinds, row):
                if kind == "dict":
                    value = _dict_cell(path, start, key, cell)
                    items = _flat(value).items() if key == "summary" else value.items()
                    keep = ("_step",) if key == "summary" else ()
                    target = run.summary if key == "summary" else run.config
                    target.update((str(k), v) for k, v in items if not str(k).startswith("_") or k in keep)
                elif kind == "config" and not key.startswith("_"):
                    run.config[key] = cell
                elif kind == "summary" and (not key.startswith("_") or key == "_step"):
                    run.summary[key] = cell
            run.config = {k: v for k, v in ((k, _config_value(c)) for k, c in run.config.items()) if v is not _MISSING}
            step = run.summary.pop("_step", None)
            try:
                run.step = (_step(str(step)) or 0) if step is not None else 0
            except ValueError:
                if not skip_bad:
                    raise ValueError(
                        f"{path}: line {start}: the summary's _step holds {_short(str(step))}, not a step"
                    ) from None
                skipped["bad_step_lines"] += 1
                continue
            runs.append(run)
    except csv.Error as e:
        raise ValueError(f"{path}: line {rows.line_num}: cannot be read as CSV ({e})") from None
    if not runs:
        raise ValueError(f"{path}: a runs table without a run")
    return runs, skipped


def import_runs_table(
    path: Path,
    text: str,
    out: Path,
    *,
    settings: Mapping,
    mapping: Mapping[str, tuple[str, str]],
    accuracy_scale: str,
    run_id: str | None,
    overwrite: bool,
    skip_bad: bool,
    provenance: Callable[[dict], dict],
    note: Callable[[str], None],
) -> list[tuple[TableRun, Path]]:
    """Every row of the runs table at ``path`` as a run of the study ``out``, all rows checked before the first
    is written: two rows that would be one run are refused (naming both), as is a complete run already
    there without ``overwrite``. ``provenance(skipped)`` gives each run's ``imported_from``."""
    from .common import write_metrics_run

    runs, skipped = read_runs(path, text, skip_bad=skip_bad)
    if run_id is not None and len(runs) > 1:
        raise ValueError(f"{path}: --run-id names one run, and this runs table holds {len(runs)}")
    plans, ids = [], {}
    for run in runs:
        config = {**run.config, **settings}
        rid = run_id or run_id_for(config)
        if rid in ids:
            first = ids[rid]
            raise ValueError(
                f"{path}: line {first.line} ({first.name}) and line {run.line} ({run.name}) would be one run, {rid}: "
                "their config columns (and --set) agree; runs are never merged: give each its seed or other config "
                f"in a column{_differing(first, run, mapping)}"
            )
        ids[rid] = run
        _check_free(Path(out) / rid, run, overwrite)
        plans.append((run, config, rid))
    series: dict[str, list[tuple[int, float]]] = {}
    texts: set[str] = set()
    for i, run in enumerate(runs):
        for key, cell in run.summary.items():
            value = _number(cell)
            if value is None:
                texts.add(key)
            else:
                series.setdefault(key, []).append((i, value))
    rows, left_out = metric_rows(series, mapping=mapping, accuracy_scale=accuracy_scale, note=note)
    left_out += sorted(texts - set(series))
    if left_out:
        note(f"note: not imported (no config key of the run format, no --map and no default name): {_some(left_out)}")
    extra = sorted({k for run in runs for k in run.config if k not in CONFIG_KEYS and k not in settings})
    if extra:
        note(
            "note: not config keys of the run format, kept as extra config (runs pair only when they agree on "
            f"them): {_some(extra)}"
        )
    by_run: dict[int, list[tuple]] = {}
    for i, epoch, split, name, value in rows:
        by_run.setdefault(i, []).append((runs[i].step, epoch, split, name, value))
    imported_from = provenance(skipped)
    return [
        (
            run,
            write_metrics_run(
                out,
                config,
                by_run.get(i, []),
                run_id=rid,
                overwrite=overwrite,
                imported_from={**imported_from, "line": run.line, "name": run.name},
            ),
        )
        for i, (run, config, rid) in enumerate(plans)
    ]


def _differing(a: TableRun, b: TableRun, mapping: Mapping) -> str:
    """The columns read as summary that are no metric and differ between two rows, in words: config that fwa
    did not recognise as such (e.g. a bare ``arch`` column), which would have told them apart."""
    keys = sorted(
        k
        for k in set(a.summary) | set(b.summary)
        if not (mapping.get(k) or default_metric(k)) and a.summary.get(k) != b.summary.get(k)
    )
    return f" (they differ in {_some(keys, 5)}, not read as config: name such a column config.<key>)" if keys else ""


def _check_free(run_dir: Path, run: TableRun, overwrite: bool) -> None:
    """Refuse, before any run is written, a complete run at ``run_dir`` that ``overwrite`` does not replace."""
    manifest = run_dir / "run.json"
    if overwrite or not manifest.is_file():
        return
    try:
        complete = json.loads(manifest.read_text(encoding="utf-8")).get("status") == "complete"
    except (OSError, ValueError, AttributeError):
        return  # not readable as a run: RunWriter says what is in the way
    if complete:
        raise ValueError(f"line {run.line} ({run.name}): a complete run is at {run_dir}; --overwrite replaces it")
