"""The rules of ``run.json``, format v1 (docs/format.md, "run.json", "config", "Size bounds"): every key, type
and bound, checked on the parsed JSON. The reader refuses a run that breaks one; the writer never writes one.
"""

from __future__ import annotations

import math

from fwanalysis.vocab import LOOP_METHOD, PRUNING_LOOPS, is_criterion_name

from . import schema

__all__ = ["MAX_MANIFEST_BYTES", "MAX_NUMEL", "config_problem", "manifest_problem"]

MAX_MANIFEST_BYTES = 64 * 2**20  # run.json larger than this is refused (a 10^5-update run's is ~2 MB)
MAX_NUMEL = 2**48  # weights per layer and per model; far above any real model, far below int64


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _is_str(v) -> bool:
    return isinstance(v, str) and schema.text_problem(v) is None


def _num_in(lo=None, hi=None, *, lo_open=False):
    def ok(v):
        if not _is_num(v):
            return False
        if lo is not None and (v <= lo if lo_open else v < lo):
            return False
        return hi is None or v <= hi

    return ok


def _int_min(lo):
    return lambda v: _is_int(v) and v >= lo


def _step_min(lo):
    return lambda v: _is_int(v) and lo <= v <= schema.MAX_STEP


def _one_of(choices):
    return lambda v: isinstance(v, str) and v in choices


def _int_list(v) -> bool:
    return (
        isinstance(v, list) and len(v) <= schema.MAX_LIST and all(_is_int(x) and abs(x) <= schema.MAX_STEP for x in v)
    )


def _plain(x) -> bool:
    """A plain config value: null, a number, a boolean, or a string within the text bounds."""
    return x is None or isinstance(x, (int, float, bool)) or _is_str(x)


def _scalar_list(v) -> bool:
    return isinstance(v, list) and len(v) <= schema.MAX_LIST and all(_plain(x) for x in v)


def _scalar_dict(v) -> bool:
    return isinstance(v, dict) and len(v) <= schema.MAX_LIST and all(_is_str(k) and _plain(x) for k, x in v.items())


# config key -> (test of a non-null value, what it should be); every key may be null ("does not apply").
_CONFIG_TYPES = {
    "model": (_is_str, f"a string of at most {schema.MAX_TEXT} characters without control characters"),
    "dataset": (_is_str, f"a string of at most {schema.MAX_TEXT} characters without control characters"),
    "method": (_one_of(schema.METHODS), f"one of {list(schema.METHODS)}"),
    "criterion": (is_criterion_name, "a criterion name (lowercase letters, digits, '-', '_')"),
    "criterion_params": (_scalar_dict, "an object of numbers, strings or booleans"),
    "growth": (_one_of(schema.GROWTH), f"one of {list(schema.GROWTH)}"),
    "density": (_num_in(0, 1, lo_open=True), "a number in (0, 1]"),
    "init": (_one_of(schema.INITS), f"one of {list(schema.INITS)}"),
    "prune_fraction": (_num_in(0, 1), "a number in [0, 1]"),
    "prune_schedule": (_one_of(schema.SCHEDULES), f"one of {list(schema.SCHEDULES)}"),
    "update_period": (_step_min(1), "an integer >= 1 (steps, at most 2^63 - 1)"),
    "update_end": (_step_min(0), "an integer >= 0 (steps, at most 2^63 - 1)"),
    "pruning_scope": (_one_of(schema.SCOPES), f"one of {list(schema.SCOPES)}"),
    "global_regrowth": (_one_of(schema.GLOBAL_REGROWTH), f"one of {list(schema.GLOBAL_REGROWTH)}"),
    "update_order": (_one_of(schema.UPDATE_ORDERS), f"one of {list(schema.UPDATE_ORDERS)}"),
    "update_batch_size": (_int_min(1), "an integer >= 1"),
    "regrown_weights": (_one_of(schema.REGROWN_WEIGHTS), f"one of {list(schema.REGROWN_WEIGHTS)}"),
    "growth_count": (_one_of(schema.GROWTH_COUNTS), f"one of {list(schema.GROWTH_COUNTS)}"),
    "prune_fraction_end": (_num_in(0, 1), "a number in [0, 1]"),
    "prune_rounding": (_one_of(schema.PRUNE_ROUNDINGS), f"one of {list(schema.PRUNE_ROUNDINGS)}"),
    "epochs": (_num_in(0), "a number >= 0"),
    "batch_size": (_int_min(1), "an integer >= 1"),
    "lr": (_num_in(), "a finite number"),
    "momentum": (_num_in(), "a finite number"),
    "weight_decay": (_num_in(), "a finite number"),
    "nesterov": (lambda v: isinstance(v, bool), "true or false"),
    "lr_milestones": (_int_list, "a list of integers"),
    "lr_gamma": (_num_in(), "a finite number"),
    "dropout": (_num_in(0, 1), "a number in [0, 1]"),
    "augment": (lambda v: isinstance(v, bool), "true or false"),
    "seed": (_is_int, "an integer"),
}
assert set(_CONFIG_TYPES) == set(schema.CONFIG_KEYS)


def config_problem(c: dict) -> str | None:
    """The first problem of a run's ``config`` object (every key's type and bound, docs/format.md "config"), or None."""
    for key, (ok, want) in _CONFIG_TYPES.items():
        v = c.get(key)
        if isinstance(v, str) and schema.text_problem(v):
            return f"config.{key} {schema.text_problem(v)}"
        if v is not None and not ok(v):
            if key == "method" and v in PRUNING_LOOPS:
                return (
                    f"config.method is {_show(v)}: expected {want} or null (a pruning loop is written as "
                    f"config.method {LOOP_METHOD[v]!r} with config.pruning_loop {v!r})"
                )
            return f"config.{key} is {_show(v)}: expected {want} or null"
    loop = c.get("pruning_loop")
    if loop is not None:
        if loop not in PRUNING_LOOPS:
            return f"config.pruning_loop is {_show(loop)}: expected one of {list(PRUNING_LOOPS)} or null"
        if c.get("method") != LOOP_METHOD[loop]:
            return (
                f"config.pruning_loop is {loop!r} but config.method is {_show(c.get('method'))}: "
                f"a {loop} run is written with config.method {LOOP_METHOD[loop]!r}"
            )
    for key, v in c.items():  # extra keys (e.g. a sweep's name) are kept; they must be plain JSON values
        if isinstance(v, str) and schema.text_problem(v):
            return f"config.{key[:60]} {schema.text_problem(v)}"
        if key not in _CONFIG_TYPES and not (_is_str(key) and (_plain(v) or _scalar_list(v) or _scalar_dict(v))):
            return (
                f"config.{key[:60]} is {_show(v)}: extra config keys must be numbers, strings (at most "
                f"{schema.MAX_TEXT} characters, no control characters), booleans or flat lists/objects of them"
            )
    return None


def _show(v) -> str:
    """A value quoted back in a message, at most 60 characters."""
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_layers(layers) -> str | None:
    if not isinstance(layers, list):
        return "layers must be a list"
    seen, total = set(), 0
    for i, ly in enumerate(layers):
        if not isinstance(ly, dict) or not all(k in ly for k in ("name", "shape", "numel")):
            return f"layers[{i}] must be an object with name, shape, numel"
        if not isinstance(ly["name"], str) or not ly["name"] or ly["name"] in seen:
            return f"layers[{i}].name is missing, empty or repeated"
        if schema.text_problem(ly["name"]):
            return f"layers[{i}].name {schema.text_problem(ly['name'])}"
        seen.add(ly["name"])
        shape = ly["shape"]
        if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
            return f"layers[{i}].shape must be a list of non-negative integers"
        numel = math.prod(shape)  # python integers: no int64 wrap-around
        if numel > MAX_NUMEL or any(s > MAX_NUMEL for s in shape):
            return f"layers[{i}].shape {_show(shape)} is larger than {MAX_NUMEL} weights"
        if not _is_int(ly["numel"]) or ly["numel"] != numel:
            return f"layers[{i}].numel {_show(ly['numel'])} does not equal the product of shape {_show(shape)}"
        total += numel
        d = ly.get("density")
        if d is not None and not _num_in(0, 1)(d):
            return f"layers[{i}].density is {_show(d)}: expected a number in [0, 1] or null"
    if total > MAX_NUMEL:
        return f"layers hold {total} weights in all, more than {MAX_NUMEL}"
    return None


def manifest_problem(m) -> str | None:
    """The first problem of a parsed ``run.json`` (every key, type and bound of docs/format.md), or None."""
    if not isinstance(m, dict):
        return "run.json is not a JSON object"
    if m.get("format") != schema.FORMAT:
        return f"format is {_show(m.get('format'))}, expected {schema.FORMAT!r}"
    v = m.get("format_version")
    if not _is_int(v):
        return f"format_version is {_show(v)}, expected an integer"
    if v > schema.FORMAT_VERSION:
        return (
            f"format_version {v} is newer than this reader supports (version {schema.FORMAT_VERSION}); "
            "upgrade fwanalysis"
        )
    if v < 1:
        return f"format_version {v} is not a known version"
    missing = [k for k in schema.MANIFEST_KEYS if k not in m]
    if missing:
        return f"missing keys {missing}"
    if not isinstance(m["run_id"], str) or not m["run_id"]:
        return "run_id must be a non-empty string"
    if schema.text_problem(m["run_id"]):
        return f"run_id {_show(m['run_id'])} {schema.text_problem(m['run_id'])}"
    if m["status"] not in schema.STATUSES:
        return f"status {_show(m['status'])}: expected one of {list(schema.STATUSES)}"
    if not isinstance(m["created"], str) or not (m["finished"] is None or isinstance(m["finished"], str)):
        return "created must be a string and finished a string or null (ISO 8601 times)"
    if not isinstance(m["config"], dict):
        return "config must be an object"
    problem = config_problem(m["config"]) or _check_layers(m["layers"])
    if problem:
        return problem
    for key in ("mask_steps", "update_steps", "state_steps"):
        steps = m[key]
        if not isinstance(steps, list) or not all(_is_int(s) and 0 <= s <= schema.MAX_STEP for s in steps):
            return f"{key} must be a list of integers in [0, 2^63 - 1] (steps)"
        if any(a >= b for a, b in zip(steps, steps[1:])):
            return f"{key} must be sorted without repeats"
    if m["status"] == "complete" and not m["mask_steps"]:
        return "a complete run needs at least one mask snapshot"
    shadows = m["shadow_criteria"]
    if (
        not isinstance(shadows, list)
        or not all(is_criterion_name(c) for c in shadows)
        or len(set(shadows)) != len(shadows)
    ):
        return "shadow_criteria must be a list of distinct criterion names (lowercase letters, digits, '-', '_')"
    if not _is_int(m["total_steps"]) or not 0 <= m["total_steps"] <= schema.MAX_STEP:
        return "total_steps must be an integer in [0, 2^63 - 1]"
    summary = m["summary"]
    if summary is not None:
        if not isinstance(summary, dict):
            return "summary must be an object"
        for key in schema.SUMMARY_KEYS:
            val = summary.get(key)
            if val is not None and not _is_num(val):
                return f"summary.{key} is {_show(val)}: expected a finite number or null"
    if m["software"] is not None and not isinstance(m["software"], dict):
        return "software must be an object"
    return None
