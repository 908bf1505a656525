"""``fwa claims``: each finding of the paper as a quantity with a stated test (docs/claims.md)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError
from .base import Result, Table
from .select import Selection

__all__ = ["ClaimResults", "claims"]


@dataclass
class ClaimResults(Result):
    results: list

    def to_json(self) -> dict:
        return {"claims": [r.to_json() for r in self.results]}

    def tables(self, fmt: str) -> list[Table]:
        from ..claims import rows

        title = f"{sum(r.verdict == 'holds' for r in self.results)} of {len(self.results)} claims hold"
        return [Table(title, rows(self.results))]

    def markdown(self) -> str:
        """A markdown table and one section per claim with its detail."""
        from ..claims import to_markdown

        return to_markdown(self.results)


def claims(sel: Selection) -> ClaimResults:
    """Every claim on the selected runs, one at a time under ``sel.progress`` (a bar on a terminal)."""
    from ..claims import CLAIMS, evaluate

    def each(runs):
        ids = [c.id for c in CLAIMS]
        return [r for cid in sel.progress(ids, len(ids), "claims") for r in evaluate(runs, only=(cid,))]

    try:
        return ClaimResults(sel.compute(each, sel.runs(baselines=True, repeats=True)))
    except UserError:
        raise
    except ValueError as e:  # the claims cannot be evaluated on these runs (e.g. several profiles)
        raise UserError(str(e)) from e
