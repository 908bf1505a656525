"""The paper's findings as tested claims (``fwa claims``, docs/claims.md).

Each entry of :data:`CLAIMS` states one finding of Nowak et al. (2023) as a quantity computed from runs
and a test fixed in advance; :func:`evaluate` computes every claim on the runs given and says whether it
**holds**, **fails** or has **no data**. A claim names the report figures it rests on and takes their runs
as they select them (:func:`fwanalysis.figures.select_for`: by the spec that made them, ``config["sweep"]``,
untagged runs counting for every claim, and by the figure's setups and filters); it adds only what its own
statement defines (DST runs only, low density ≤ 0.2). Every statistic comes from :mod:`fwanalysis.analyses`
(average ranks and CD from ``cd_scores`` + ``cd_result``, Jaccard from ``jaccard_first``/``jaccard_end`` per
model group, shares from ``never_removed_rows``, accuracies from ``metric_vs``); these modules only read the
numbers those functions return and apply the tests. They draw nothing and print nothing.

The package: :mod:`.base` (Claim, Outcome, ClaimResult and the shared helpers), the claims' computations by
subject (:mod:`.structure`, :mod:`.accuracy`, :mod:`.settings`), :mod:`.registry` (CLAIMS, evaluate) and
:mod:`.output` (rows and Markdown).
"""

from __future__ import annotations

from .base import VERDICTS, Claim, ClaimResult, check_profiles
from .output import fmt_value, rows, to_markdown
from .registry import CLAIMS, FIGURE_OF, evaluate

__all__ = [
    "Claim",
    "ClaimResult",
    "CLAIMS",
    "FIGURE_OF",
    "VERDICTS",
    "evaluate",
    "check_profiles",
    "fmt_value",
    "to_markdown",
    "rows",
]
