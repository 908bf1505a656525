"""Analysis results as the command lines show them: each analysis returns an object that knows its JSON, its
table rows, its LaTeX and its figure (:class:`~fwanalysis.results.base.Result`), the way autorank's
``RankResult`` feeds ``plot_stats`` and ``latex_table``; ``fwa`` parses options, calls one function here and
prints what it returns. The runs come from a :class:`~fwanalysis.results.select.Selection`.

Above :mod:`fwanalysis.analyses` (which computes) and :mod:`fwanalysis.figures` (which draws); a user's mistake
is a :class:`~fwanalysis.errors.UserError`.
"""

from __future__ import annotations

from .base import Figure, FrameResult, Result, Table
from .cd import CDTable, cd_diagram, read_scores
from .claims import ClaimResults, claims
from .jaccard import JaccardGroups, JaccardMatrix, jaccard
from .runs import RunListing, Validation, list_runs, report_runs, validate
from .select import Selection
from .tables import accuracy, itop, loss_gap, never_removed, update_period

__all__ = [
    "CDTable",
    "ClaimResults",
    "Figure",
    "FrameResult",
    "JaccardGroups",
    "JaccardMatrix",
    "Result",
    "RunListing",
    "Selection",
    "Table",
    "Validation",
    "accuracy",
    "cd_diagram",
    "claims",
    "itop",
    "jaccard",
    "list_runs",
    "loss_gap",
    "never_removed",
    "read_scores",
    "report_runs",
    "update_period",
    "validate",
]
