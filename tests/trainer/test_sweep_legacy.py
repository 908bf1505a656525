"""A study trained by an earlier fwa holds complete runs under 8-digit ids: a sweep counts them as done
(docs/sweeps.md, "Runs of older fwa"), never trains them again, and says so once; a legacy run that is not
complete, or not this run, is ignored."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sweeplib import spec_file
from typer.testing import CliRunner

from trainer import sweep
from trainer.cli import app
from trainer.sweep import _KEYS_SINCE_LEGACY_IDS, PlannedRun, execute, expand, load_spec


def edit_manifest(run_dir: Path, **changes) -> None:
    """Change top-level keys of ``run_dir/run.json`` (``config`` is merged key by key)."""
    p = run_dir / "run.json"
    m = json.loads(p.read_text())
    m["config"].update(changes.pop("config", {}))
    m.update(changes)
    p.write_text(json.dumps(m))


def as_legacy(run: PlannedRun, *, older: bool = False) -> Path:
    """Move the run trained at ``run.path`` to its legacy id, its run.json naming that id, as an earlier fwa wrote
    it; ``older``: without the config keys added since (as fwa wrote runs before them)."""
    legacy = Path(run.study) / run.legacy_id
    os.rename(run.path, legacy)
    edit_manifest(legacy, run_id=run.legacy_id)
    if older:
        m = json.loads((legacy / "run.json").read_text())
        for k in _KEYS_SINCE_LEGACY_IDS:  # the config keys an earlier fwa did not write
            m["config"].pop(k)
        (legacy / "run.json").write_text(json.dumps(m))
    return legacy


def test_a_run_complete_under_its_legacy_id_is_done_and_not_trained_again(tmp_path, monkeypatch):
    spec_path = spec_file(tmp_path, [0, 1], name="tiny")
    out = tmp_path / "out"
    spec = load_spec(spec_path)
    first, second = expand(spec, profile="quick", out=str(out))
    # the old id: the same prefix, 8 hex digits of the hash without the config keys added since
    assert (
        first.legacy_id.rsplit("-", 1)[0] == first.run_id.rsplit("-", 1)[0]
        and len(first.run_id.rsplit("-", 1)[1]) == 16
    )
    assert len(first.legacy_id.rsplit("-", 1)[1]) == 8
    assert execute([first], spec=spec) == [first]  # really trained: run.json holds the resolved config
    legacy = as_legacy(first)
    assert first.status() == "complete" and second.status() == "missing"

    cli = CliRunner()
    res = cli.invoke(app, ["sweep", str(spec_path), "--out", str(out), "--dry-run", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [(e["run_id"], e["done"]) for e in doc["runs"]] == [(first.run_id, True), (second.run_id, False)]
    assert res.stderr.count("note: 1 complete run was found under its old id (8 hex digits") == 1, res.stderr
    assert "2 runs: 1 complete, 1 to train" in res.stderr

    trained = []
    monkeypatch.setattr(sweep, "_train_one", lambda run: trained.append(run.run_id) or str(run.path))
    res = cli.invoke(app, ["sweep", str(spec_path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert trained == [second.run_id] and "trained 1 of 2 runs here" in res.stderr
    assert res.stderr.count("found under its old id") == 1
    assert not first.path.exists() and (legacy / "run.json").exists()  # the old run is left where it is

    # not complete there, or another run's config: ignored, the run is trained under its new id
    edit_manifest(legacy, status="failed")
    assert first.status() == "missing"
    edit_manifest(legacy, status="complete", config={"epochs": 2})
    assert first.status() == "missing"
    edit_manifest(legacy, config={"epochs": 1})
    assert first.status() == "complete"
    (legacy / "run.json").write_text("{not json")
    assert first.status() == "missing"
    (legacy / "run.json").unlink()
    os.mkfifo(legacy / "run.json")  # refused by the reader, never waited on
    assert first.status() == "missing"


def test_a_static_run_of_before_the_update_keys_is_done_a_dst_run_is_trained_again(tmp_path):
    """A run an earlier fwa wrote has none of the four update keys (regrown_weights, growth_count,
    prune_fraction_end, prune_rounding): a static run, which they do not change, still counts as done; a dst
    run, trained with regrown weights zeroed and counts rounded to the nearest, is trained again."""
    spec_path = tmp_path / "two.toml"
    spec_path.write_text(spec_file(tmp_path, [0]).read_text().replace('method = "dst"', 'method = ["dst", "static"]'))
    out = tmp_path / "out"
    spec = load_spec(spec_path)
    dst, static = expand(spec, profile="quick", out=str(out))
    assert (dst.cfg.method, static.cfg.method) == ("dst", "static")
    execute([dst, static], spec=spec)
    as_legacy(dst, older=True)
    as_legacy(static, older=True)
    assert static.status() == "complete" and dst.status() == "missing"
