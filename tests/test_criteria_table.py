"""The criterion table (fwanalysis.criteria): well-formed rows, and the lists derived from it (issue 21)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from fwanalysis import criteria as table
from fwanalysis import vocab
from fwanalysis.plots.metrics import CRITERION_COLOURS


def test_rows_are_well_formed():
    names = [c.name for c in table.TABLE]
    assert len(set(names)) == len(names) and all(vocab.is_criterion_name(n) for n in names)
    for c in table.TABLE:
        assert (c.score is None) != (c.choose is None), c.name
        assert c.side in table.SIDES and c.formula, c.name
        assert c.colour is None or re.fullmatch(r"#[0-9a-f]{6}", c.colour), c.name
    assert sum(c.paper for c in table.TABLE) == 5  # the paper compares five, stated row by row


def test_vocab_is_the_table():
    assert vocab.CRITERIA == table.names()
    assert vocab.PAPER_CRITERIA == tuple(c.name for c in table.TABLE if c.paper)
    assert vocab.SCORED_CRITERIA == tuple(c.name for c in table.TABLE if c.score is not None)
    assert vocab.STRUCTURAL_CRITERIA == (*vocab.PAPER_CRITERIA, "random")
    assert table.row("snip").needs_grad and not table.row("magnitude").needs_grad and table.row("rigl") is None


def test_scores_are_the_papers():
    w, g = np.array([0.0, 0.5, 2.0]), np.array([1.0, 0.25, 0.0])
    eps = table.SCORE_EPS
    want = {
        "magnitude": w,
        "mest": w + 0.5 * g,
        "sensitivity": g / (w + eps),
        "rsensitivity": w / (g + eps),
        "snip": w * g,
    }
    for name, expected in want.items():
        np.testing.assert_array_equal(vocab.criterion_score(name, w, g, mest_lambda=0.5), expected, err_msg=name)
    with pytest.raises(ValueError, match="not one of the scored criteria: magnitude, mest, sensitivity"):
        vocab.criterion_score("set", w, g)


def test_the_side_of_the_step_is_the_rows():
    from trainer.config import SCORE_FIRST_CRITERIA

    assert SCORE_FIRST_CRITERIA == ("mest", "sensitivity", "rsensitivity", "snip")
    assert SCORE_FIRST_CRITERIA == table.names(lambda c: c.side == "before")


def test_colours_are_the_rows():
    assert all(CRITERION_COLOURS[c.name] == c.colour for c in table.TABLE if c.colour)
    assert list(CRITERION_COLOURS) == [*table.names(), "static", "dense"]


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(score=None), "exactly one of score and choose"),
        (dict(choose=lambda *a, **k: None), "exactly one of score and choose"),
        (dict(side="during"), "side 'during' is not one of: before, after"),
    ],
)
def test_a_malformed_row_is_refused(kw, match):
    row = dict(score=lambda w, g, lam: w, needs_grad=False, side="after", paper=False, formula="|θ|") | kw
    with pytest.raises(ValueError, match=match):
        table.Criterion("bad", **row)
