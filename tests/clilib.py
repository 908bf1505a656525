"""Calling ``fwa`` in-process from the tests: the exit code and output, the JSON document, the message
of a usage error without rich's box."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from fwanalysis.cli import app

runner = CliRunner()

#: The keys every critical-difference result's JSON holds (``CDResult.to_json``, ``fwa cd-diagram --format json``).
CD_JSON_KEYS = frozenset(
    {"methods", "avg_ranks", "n_blocks", "alpha", "cd", "friedman", "iman_davenport", "cliques", "dropped_blocks"}
)


def fwa(*args):
    """``fwa ARGS`` (paths and numbers are turned into text); typer's Result."""
    return runner.invoke(app, [str(a) for a in args])


def jdoc(*args) -> dict:
    """The JSON document of ``fwa ARGS --format json``, which must succeed."""
    r = fwa(*args, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def said(r) -> str:
    """The output with rich's error box and line folds taken out."""
    return re.sub(r"[│╭╮╰╯─\s]+", " ", r.output)
