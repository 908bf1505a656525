"""Run ids and the config as run.json holds it (docs/artifacts.md, "Writing"): what names a run before it is written.

``run_id_for`` and ``canonical_config`` are re-exported by :mod:`.writer` and the package.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping

import numpy as np

from fwanalysis.vocab import PRUNING_LOOPS, kind_of

from . import schema

__all__ = ["run_id_for", "canonical_config", "RUN_ID_DIGITS"]


def _jsonable(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (np.floating,)):
        return _jsonable(float(v))
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


def canonical_config(config: Mapping) -> dict:
    """The config with every config key of the run format (docs/format.md) present (missing ones null), JSON-ready."""
    out = {k: None for k in schema.CONFIG_KEYS}
    for k, v in dict(config).items():
        if isinstance(v, (float, np.floating)) and not math.isfinite(v):
            raise ValueError(f"config.{k} is {v!r}: a run's config must hold finite numbers")
    out.update(_jsonable(dict(config)))
    return out


RUN_ID_DIGITS = 16  # hex digits of the hash: 64 bits, so a grid of 10^6 runs of one prefix collides with odds ~3e-8


def _id_part(value) -> str:
    """One part of a run id's prefix: characters other than letters, digits, ``.``, ``+``, ``=``, ``_`` and
    ``-`` become ``_``, and at most 40 of them are kept (the hash tells long names apart)."""
    text = re.sub(r"[^A-Za-z0-9.+=_-]", "_", str(value))
    return text[:40]


def run_id_for(config: Mapping, *, digits: int = RUN_ID_DIGITS) -> str:
    """``<prefix>-<hash>``, the same for the same mapping (docs/artifacts.md, "Run ids").

    ``prefix``: ``dataset-model-method``, then ``-criterion-growth`` for a dst, imp or pai run (``method`` is the
    pruning loop where ``pruning_loop`` is set), ``-d<density>`` and
    ``-s<seed>``, each part left out where it is null, each cut to 40 characters with any character
    but letters, digits, ``.+=_-`` written ``_`` (and a leading ``.`` too). ``hash``: the first
    ``digits`` (16) hex digits of the SHA-1 of the mapping as JSON with sorted keys, after every config
    key of the format was added as null where missing; every key of the mapping counts, also keys that
    are not config keys. A ``RunWriter`` without ``run_id`` hashes its run's config; ``fw-train sweep``
    hashes the planned, unresolved config plus the spec's name and what is recorded
    (``trainer.sweep.expand``). ``digits=8`` gives the ids of earlier fwa versions (the same prefix, the
    first 8 digits of the same hash).
    """
    cfg = canonical_config(config)
    digest = hashlib.sha1(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:digits]
    kind = kind_of(cfg)  # imp and pai ids name the loop, as Run.kind does
    parts = [cfg.get("dataset"), cfg.get("model"), kind]
    if kind in ("dst", *PRUNING_LOOPS):  # the kinds with a pruning criterion
        parts += [cfg.get("criterion"), cfg.get("growth")]
    if cfg.get("density") is not None:
        parts.append(f"d{float(cfg['density']):g}")
    if cfg.get("seed") is not None:
        parts.append(f"s{cfg['seed']}")
    prefix = "-".join(_id_part(p) for p in parts if p is not None) or "run"
    if prefix.startswith("."):
        prefix = "_" + prefix[1:]
    return f"{prefix}-{digest}"
