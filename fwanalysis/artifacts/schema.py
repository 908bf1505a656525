"""Names and constants of run artifacts, format version 1 (docs/format.md).

The choices themselves (criteria, growth, methods, ...) are defined once in :mod:`fwanalysis.vocab`.
"""

from __future__ import annotations

import re

from fwanalysis.vocab import CRITERIA, GROWTH, INITS, METHODS, METRICS, SCHEDULES, SCOPES, SPLITS, STATUSES  # noqa: F401

FORMAT = "fwa-run"
FORMAT_VERSION = 1

CONFIG_KEYS = (
    "model",
    "dataset",
    "method",
    "criterion",
    "criterion_params",
    "growth",
    "density",
    "init",
    "prune_fraction",
    "prune_schedule",
    "update_period",
    "update_end",
    "pruning_scope",
    "global_regrowth",
    "update_order",
    "update_batch_size",
    "regrown_weights",
    "growth_count",
    "prune_fraction_end",
    "prune_rounding",
    "epochs",
    "batch_size",
    "lr",
    "momentum",
    "weight_decay",
    "nesterov",
    "lr_milestones",
    "lr_gamma",
    "dropout",
    "augment",
    "seed",
)

#: ``update_order``: the authors' sparselearning order (score before the optimizer step for gradient-based
#: criteria, after it for the others; dense gradients into the optimizer, momentum never reset), or always
#: after the step with masked gradients and reset momentum (fwa's earlier behaviour).
UPDATE_ORDERS = ("sparselearning", "step-first")
#: ``global_regrowth`` (global pruning scope only): one ranking across layers, or each layer regrows what it lost.
GLOBAL_REGROWTH = ("across-layers", "per-layer")
#: ``regrown_weights``: the value of a weight regrown at the update that pruned it: the value it had (the authors'
#: code: growth runs before the mask is applied to the weights) or zero (RigL's rule). Newly grown weights,
#: inactive before the update, start at zero either way.
REGROWN_WEIGHTS = ("keep", "zero")
#: ``growth_count``: how many weights an update regrows per layer: exactly as many as it pruned (the density
#: held at d, as the paper's text says), or each inactive weight with probability k/n (the authors' random
#: growth: a Binomial count, the density drifts).
GROWTH_COUNTS = ("exact", "binomial")
#: ``prune_rounding``: the per-layer count of an update from ρ_t times the active weights: rounded up (the
#: authors' ``math.ceil``) or to the nearest (half to even).
PRUNE_ROUNDINGS = ("ceil", "nearest")

# Closed choices checked by reader and writer where a config key is not null. ``criterion`` is open:
# any valid name (fwanalysis.vocab.is_criterion_name).
CONFIG_CHOICES = {
    "method": METHODS,
    "growth": GROWTH,
    "init": INITS,
    "prune_schedule": SCHEDULES,
    "pruning_scope": SCOPES,
    "update_order": UPDATE_ORDERS,
    "global_regrowth": GLOBAL_REGROWTH,
    "regrown_weights": REGROWN_WEIGHTS,
    "growth_count": GROWTH_COUNTS,
    "prune_rounding": PRUNE_ROUNDINGS,
}

MANIFEST_KEYS = (
    "format",
    "format_version",
    "run_id",
    "status",
    "created",
    "finished",
    "config",
    "layers",
    "mask_steps",
    "update_steps",
    "state_steps",
    "shadow_criteria",
    "total_steps",
    "summary",
    "software",
)

SUMMARY_KEYS = METRICS  # the summary object of run.json: one final figure per metric

METRICS_COLUMNS = {"step": "int64", "epoch": "float64", "split": "string", "name": "string", "value": "float64"}


#: Bounds that keep a hostile run.json from costing more than a real one (docs/format.md, "Size bounds").
MAX_STEP = 2**63 - 1  # steps are int64 everywhere they are stored (metrics.parquet's step column)
MAX_TEXT = 256  # characters of a config string (a model or data set name, a label)
MAX_LIST = 4096  # entries of a config list (lr_milestones)
MAX_RUN_ID_BYTES = 200  # a run id names a directory and its lock file (.locks/<run_id>.lock, 255 bytes at most)
#: Names below a study that are never a run: the lock folder. Run ids may not start with ``.`` at all
#: (temporary files and fwa's own folders do).
RESERVED_NAMES = (".locks",)
#: What a run directory written by fwa holds (docs/format.md, "What fwa removes"): these files, these
#: folders of ``step-N.npz`` files, and temporary files ``.<name>.<random>.tmp`` of either.
RUN_FILES = ("run.json", "metrics.parquet")
RUN_FOLDERS = ("masks", "updates", "state")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0 and C1 controls, DEL, line and paragraph separators


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def run_id_problem(run_id) -> str | None:
    """Why ``run_id`` cannot name a run directory, or None: it must be a non-empty string of at most
    MAX_RUN_ID_BYTES bytes (UTF-8) without ``/``, ``\\``, control characters or a leading ``.``."""
    if not isinstance(run_id, str) or not run_id:
        return "a run id must be a non-empty string"
    if run_id in (".", "..") or any(ch in run_id for ch in "/\\") or _has_control(run_id):
        return f"run id {run_id[:60]!r} cannot name a directory (no '/', '\\', control characters, '.' or '..')"
    if run_id.startswith("."):
        what = (
            "is reserved: the study's lock folder"
            if run_id in RESERVED_NAMES
            else "starts with '.', as fwa's temporary files do"
        )
        return f"run id {run_id[:60]!r} {what}"
    if len(run_id.encode("utf-8")) > MAX_RUN_ID_BYTES:
        return f"run id {run_id[:40]!r}... is {len(run_id.encode('utf-8'))} bytes long, more than {MAX_RUN_ID_BYTES}"
    return None


def text_problem(value: str) -> str | None:
    """Why a config string is refused (too long, or holding control characters), or None."""
    if len(value) > MAX_TEXT:
        return f"is {len(value)} characters long, more than {MAX_TEXT}"
    if _has_control(value):
        return "holds a control character"
    return None


def step_file(step: int) -> str:
    """File name of a step: ``step-00000800.npz``."""
    return f"step-{int(step):08d}.npz"
