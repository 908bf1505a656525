"""Shared by the importer tests: invoking `fwa`, and the layer-averaged Jaccard computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fwanalysis.cli import app


class Fwa:
    """``fwa(*args)`` -> click Result; ``fwa.json(*args)`` -> the parsed JSON document (exit 0 asserted)."""

    runner = CliRunner()

    def __call__(self, *args):
        return self.runner.invoke(app, [str(a) for a in args])

    def json(self, *args):
        r = self(*args, "--format", "json")
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)


@pytest.fixture(scope="session")
def fwa():
    return Fwa()


def hand_jaccard(a: dict, b: dict) -> float:
    """Paper Eq. 1 with python sets of flat indices: mean over layers of |A ∩ B| / |A ∪ B|, empty layers left out."""
    vals = []
    for n in a:
        A, B = set(np.flatnonzero(np.asarray(a[n]).ravel())), set(np.flatnonzero(np.asarray(b[n]).ravel()))
        if A | B:
            vals.append(len(A & B) / len(A | B))
    return sum(vals) / len(vals) if vals else float("nan")


@pytest.fixture(scope="session")
def jaccard_by_hand():
    return hand_jaccard
