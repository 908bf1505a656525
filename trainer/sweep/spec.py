"""Reading a sweep spec: the TOML file, its tables and the type of every value (docs/sweeps.md).

A spec is ``[base]`` keys, any number of ``[[grid]]`` blocks merged over base, and ``[profiles.<name>]``
whose keys override both; a list value is a grid axis (cartesian product), except a flat list for a
list-valued key. ``setups`` (a list of tables) are keys that go together. :func:`load_spec` checks every
key and value and raises :class:`SpecError` naming the file and the key; nothing is expanded here
(:mod:`trainer.sweep.plan`).
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field

import tomllib

from fwanalysis.artifacts.io import NotRegularFile, read_regular

from ..config import TrainConfig, parse_period

MAX_SPEC_BYTES = 2**20  # a spec file larger than this is refused unread

_CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name != "extra")
_RECORD_KEYS = ("shadow", "state", "mask_every")  # what is recorded: part of the run id
RUN_KEYS = _CONFIG_KEYS + _RECORD_KEYS + ("device",)  # device: where it trains, not part of the run id
_TOP_KEYS = ("name", "description", "base", "grid", "profiles", "slurm")
_SLURM_KEYS = (
    "partition",
    "account",
    "qos",
    "constraint",
    "time",
    "gpus",
    "cpus_per_task",
    "mem_gb",
    "array_parallelism",
    "folder",
)
_HINTS = typing.get_type_hints(TrainConfig)


class SpecError(ValueError):
    """A sweep spec or option that cannot be used; the one-line message names the file and the key.

    Messages name tables in words ("table base", "grid block 2", "profile quick"), not as
    ``[base]``: the CLI prints them through rich, which would read ``[base]`` as markup.
    """


@dataclass(frozen=True)
class Spec:
    """A parsed sweep spec: ``base`` and each ``grids`` entry map run keys to a value or a list (an axis)."""

    path: str
    name: str
    description: str = ""
    base: dict = field(default_factory=dict)
    grids: list = field(default_factory=list)  # list of dicts; [] means one grid equal to base
    profiles: dict = field(default_factory=dict)  # name -> dict of run keys
    slurm: dict = field(default_factory=dict)  # defaults for --executor slurm (_SLURM_KEYS)


def _unknown(path, what: str, key: str, allowed) -> SpecError:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return SpecError(f"{path}: unknown key {key!r} in {what}{hint}; allowed: {', '.join(allowed)}")


def _type_name(hint) -> str:
    """``int | str | None`` -> "an integer or a string" (TOML has no null)."""
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    args = typing.get_args(hint) if typing.get_origin(hint) is not list else (hint,)
    return " or ".join(names.get(a, "a list of integers") for a in (args or (hint,)) if a is not type(None))


def _coerce(path, where: str, key: str, value):
    """One value of ``key`` checked against its type (an int where a float is asked becomes a float)."""
    if key in ("shadow", "state", "device"):
        ok, v = isinstance(value, str) and bool(value.strip()), value
        hint_name = "a string"
    elif key == "mask_every":
        ok, v = isinstance(value, int) and not isinstance(value, bool) and value >= 0, value
        hint_name = "a non-negative integer (0: no snapshots between the first and the last)"
    else:
        hint = _HINTS[key]
        allowed = set(typing.get_args(hint) or (hint,))
        v, ok = value, False
        if isinstance(value, bool):
            ok = bool in allowed
        elif isinstance(value, int):
            ok = int in allowed or float in allowed
            v = value if int in allowed else float(value)
        elif isinstance(value, float):
            ok = float in allowed
        elif isinstance(value, str):
            ok = str in allowed
            period = parse_period(value) if ok and int in allowed else None  # int | str: a period
            if period is not None and period.steps is not None:
                v = period.steps  # "800" and 800 are the same update period
        elif isinstance(value, list):
            ok = any(typing.get_origin(a) is list for a in allowed) and all(
                isinstance(x, int) and not isinstance(x, bool) for x in value
            )
        hint_name = _type_name(hint)
    if not ok:
        raise SpecError(f"{path}: {key} = {value!r} in {where}: expected {hint_name}")
    return v


def _is_axis(key: str, value) -> bool:
    """A list is a grid axis, except a flat list for a list-valued key (``lr_milestones = [10, 20]``)."""
    if not isinstance(value, list):
        return False
    if key in _HINTS and any(typing.get_origin(a) is list for a in typing.get_args(_HINTS[key])):
        return any(isinstance(x, list) for x in value)
    return True


def _read_block(path, where: str, block, *, nested: bool = False) -> dict:
    """A table of run keys: each value checked; a list value becomes a list of checked values.

    ``setups`` (not inside a setup) is a list of such tables: keys that go together, such as a model, its
    data set and its number of epochs; each setup is merged over the rest of the block in turn."""
    if not isinstance(block, dict):
        raise SpecError(f"{path}: {where} must be a table of run keys")
    out = {}
    for key, value in block.items():
        if key == "setups" and not nested:
            if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
                raise SpecError(
                    f"{path}: setups in {where} must be a non-empty list of tables, e.g. "
                    f'setups = [{{ model = "mlp-large", dataset = "cifar10" }}]'
                )
            out[key] = [_read_block(path, f"{where}, setup {i + 1}", v, nested=True) for i, v in enumerate(value)]
            continue
        if key not in RUN_KEYS:
            raise _unknown(path, where, key, RUN_KEYS + (() if nested else ("setups",)))
        if key == "device" and isinstance(value, list):  # not part of a run's id: an axis would only repeat runs
            raise SpecError(
                f"{path}: device = {value!r} in {where}: expected a string (where every run trains; not an axis)"
            )
        if _is_axis(key, value):
            if not value:
                raise SpecError(f"{path}: {key} in {where} is an empty list (an axis with no values)")
            out[key] = [_coerce(path, where, key, v) for v in value]
        else:
            out[key] = _coerce(path, where, key, value)
    return out


def _read_toml(path) -> dict:
    """The TOML document of the spec file ``path``: a regular file of at most :data:`MAX_SPEC_BYTES`
    bytes in UTF-8 (read without waiting: a FIFO is refused, never opened for reading), else
    :class:`SpecError` naming the file and what it is."""
    try:
        text = read_regular(path, max_bytes=MAX_SPEC_BYTES).decode("utf-8")
        return tomllib.loads(text)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except NotRegularFile as e:
        raise SpecError(f"{e}; a spec is a TOML file of at most {MAX_SPEC_BYTES // 2**20} MiB") from None
    except UnicodeDecodeError as e:
        raise SpecError(
            f"{path}: not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start}); a spec is a TOML file"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: not valid TOML ({e})") from None
    except RecursionError:
        raise SpecError(f"{path}: not a usable TOML spec (values nested too deeply)") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read ({e.strerror or e})") from None


def load_spec(path) -> Spec:
    """Read and check a sweep spec (TOML); raise :class:`SpecError` naming the file and the key."""
    raw = _read_toml(path)
    for key in raw:
        if key not in _TOP_KEYS:
            raise _unknown(path, "the spec's top level", key, _TOP_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f'{path}: `name = "..."` is required (a string)')
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{path}: description must be a string")
    base = _read_block(path, "table base", raw.get("base", {}))
    grid_raw = raw.get("grid", [])
    if not isinstance(grid_raw, list):
        raise SpecError(f"{path}: grid must be an array of tables, one per grid block")
    grids = [_read_block(path, f"grid block {i + 1}", g) for i, g in enumerate(grid_raw)]
    prof_raw = raw.get("profiles", {})
    if not isinstance(prof_raw, dict):
        raise SpecError(f"{path}: profiles must hold one table per profile (profiles.<name>)")
    profiles = {k: _read_block(path, f"profile {k}", v) for k, v in prof_raw.items()}
    slurm = raw.get("slurm", {})
    if not isinstance(slurm, dict):
        raise SpecError(f"{path}: slurm must be a table")
    for key in slurm:
        if key not in _SLURM_KEYS:
            raise _unknown(path, "table slurm", key, _SLURM_KEYS)
    return Spec(
        path=str(path), name=name, description=description, base=base, grids=grids, profiles=profiles, slurm=dict(slurm)
    )
