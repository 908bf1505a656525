"""``profile`` (written by ``fw-train sweep`` beside ``sweep``) is a label: ``--config profile=...`` selects
runs by it, and runs that differ only in it are one experiment to every analysis."""

from __future__ import annotations

import json

from synthetic import CRITS, write_study
from typer.testing import CliRunner

from fwanalysis.cli import app
from fwanalysis.vocab import LABEL_KEYS

SEEDS = (0, 1)


def fwa(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_profile_is_a_label_key():
    assert "profile" in LABEL_KEYS and "sweep" in LABEL_KEYS


def test_config_filter_selects_a_profile_and_analyses_pool_across_profiles(tmp_path):
    # the same design and seeds from one spec under two profiles, in the sweep layout <out>/<model>/<run-id>
    write_study(tmp_path / "toy", seeds=SEEDS, sweep="acc", extra={"profile": "quick"}, baselines=False)
    write_study(tmp_path / "toy", seeds=SEEDS, sweep="acc", extra={"profile": "paper"}, baselines=False)
    n = len(SEEDS) * len(CRITS)
    for profile in ("quick", "paper"):
        r = fwa("ls", tmp_path, "--config", f"profile={profile}", "--format", "json")
        assert r.exit_code == 0, r.output
        assert len(json.loads(r.stdout)["runs"]) == n
    assert len(json.loads(fwa("ls", tmp_path, "--format", "json").stdout)["runs"]) == 2 * n
    # pooled: one experiment recorded twice, counted once (not kept apart as a differing field)
    r = fwa("accuracy", tmp_path, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["separated_by"] == [] and all(row["n"] == len(SEEDS) for row in doc["rows"])
    r = fwa("accuracy", tmp_path, "--config", "profile=quick", "--format", "json")
    assert r.exit_code == 0 and all(row["n"] == len(SEEDS) for row in json.loads(r.stdout)["rows"])
