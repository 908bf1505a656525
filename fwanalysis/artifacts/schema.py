"""Names and constants of run artifacts, format version 1 (docs/format.md).

The choices themselves (criteria, growth, methods, ...) are defined once in :mod:`fwanalysis.vocab`.
"""

from __future__ import annotations

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


def step_file(step: int) -> str:
    """File name of a step: ``step-00000800.npz``."""
    return f"step-{int(step):08d}.npz"
