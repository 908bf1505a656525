"""Names and constants of run artifacts, format version 1 (ARTIFACTS.md)."""

from __future__ import annotations

FORMAT = "fwa-run"
FORMAT_VERSION = 1

CRITERIA = ("magnitude", "set", "mest", "sensitivity", "rsensitivity", "snip", "random")
GROWTH = ("random", "gradient")
METHODS = ("dense", "static", "dst")
INITS = ("er", "erk", "uniform", "dense")
SCHEDULES = ("cosine", "linear", "constant")
SCOPES = ("local", "global")
STATUSES = ("running", "complete", "failed")
SPLITS = ("train", "val", "test", "")

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
    "epochs",
    "batch_size",
    "lr",
    "momentum",
    "weight_decay",
    "nesterov",
    "lr_milestones",
    "lr_gamma",
    "dropout",
    "seed",
)

# Choices checked by the reader where a config key is not null.
CONFIG_CHOICES = {
    "method": METHODS,
    "criterion": CRITERIA,
    "growth": GROWTH,
    "init": INITS,
    "prune_schedule": SCHEDULES,
    "pruning_scope": SCOPES,
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

SUMMARY_KEYS = ("test_acc", "test_loss", "val_acc", "val_loss", "train_loss", "itop")

METRICS_COLUMNS = {"step": "int64", "epoch": "float64", "split": "string", "name": "string", "value": "float64"}


def step_file(step: int) -> str:
    """File name of a step: ``step-00000800.npz``."""
    return f"step-{int(step):08d}.npz"
