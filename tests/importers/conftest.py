"""Shared by the importer tests: the layer-averaged Jaccard computed by hand, the config of a run that metrics are
added to."""

from __future__ import annotations

import numpy as np
import pytest


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


@pytest.fixture
def dst_config() -> dict:
    """The config of an existing DST run (snip, density 0.5) that ``--run`` adds metrics to."""
    return {
        "model": "m",
        "dataset": "d",
        "method": "dst",
        "criterion": "snip",
        "growth": "random",
        "density": 0.5,
        "seed": 0,
    }
