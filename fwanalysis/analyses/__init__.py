"""From runs to results: gathers what each analysis needs from the artifacts and calls ``stats``.

This layer sits between ``artifacts`` + ``stats`` (below) and ``figures``/``results``/``cli`` (above): it is
the only place that turns :class:`~fwanalysis.artifacts.Run` objects into arrays and frames. Every
function takes a list of runs (already filtered) and keyword-only options, and returns a result
object or a tidy frame; it draws nothing and prints nothing.

Split along its seams: :mod:`.pooling` (the pooling rule every table follows), :mod:`.tables` (metric
tables and the critical-difference scores) and :mod:`.structure` (Jaccard, never-removed, ITOP); every
name is importable from here, as ``from fwanalysis import analyses as A; A.accuracy_table(...)``.
"""

from __future__ import annotations

from ..vocab import METRICS
from .pooling import _unique as _unique  # claims.base counts unique runs with A._unique
from .pooling import config_value
from .structure import (
    ITOP_CELL,
    first_update_sets,
    group_fields,
    itop_rows,
    itop_vs_update_period,
    jaccard_end,
    jaccard_first,
    jaccard_time_rows,
    never_removed_rows,
    split_groups,
)
from .tables import (
    CD_BLOCK,
    accuracy_by_label,
    accuracy_table,
    cd_result,
    cd_scores,
    closest_density,
    learning_curves,
    loss_gap_baselines,
    loss_gap_table,
    metric_vs,
    paired_difference,
    per_arm,
    run_frame,
    scope_pairs,
    update_period_table,
)

__all__ = [
    "METRICS",
    "config_value",
    # tables
    "run_frame",
    "metric_vs",
    "accuracy_table",
    "update_period_table",
    "loss_gap_table",
    "loss_gap_baselines",
    "learning_curves",
    "accuracy_by_label",
    "paired_difference",
    "per_arm",
    "closest_density",
    "scope_pairs",
    "CD_BLOCK",
    "cd_scores",
    "cd_result",
    # structure
    "group_fields",
    "split_groups",
    "first_update_sets",
    "jaccard_first",
    "jaccard_end",
    "jaccard_time_rows",
    "never_removed_rows",
    "ITOP_CELL",
    "itop_rows",
    "itop_vs_update_period",
]
