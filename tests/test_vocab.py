"""One vocabulary: criteria fwa has never heard of are valid everywhere, in a fixed display order."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic import LAYERS, write_study
from typer.testing import CliRunner

from fwanalysis.artifacts import RunWriter, find_runs, load_run
from fwanalysis.cli import app
from fwanalysis.plots.metrics import CRITERION_COLOURS, criterion_colour
from fwanalysis.vocab import CRITERIA, criterion_order, is_criterion_name

runner = CliRunner()


@pytest.mark.parametrize("name", ["rigl", "my_crit-2", "a", "set-legacy", "0"])
def test_valid_names(name):
    assert is_criterion_name(name)


@pytest.mark.parametrize("name", ["", "RigL", "l1 norm", "snip/2", "é", None, 3, "a.b"])
def test_invalid_names(name):
    assert not is_criterion_name(name)


def test_order_builtins_then_others_sorted_then_baselines():
    got = criterion_order(["zeta", "dense", "snip", "rigl", "magnitude", "static", "alpha", "snip"])
    assert got == ["magnitude", "snip", "alpha", "rigl", "zeta", "static", "dense"]


def test_unknown_criterion_colours_are_stable_and_builtins_fixed():
    assert criterion_colour("rigl") == criterion_colour("rigl")
    assert criterion_colour("magnitude") == CRITERION_COLOURS["magnitude"]
    assert criterion_colour("rigl") not in [CRITERION_COLOURS[c] for c in CRITERIA]


def test_a_new_criterion_is_written_read_listed_and_analysed(tmp_path):
    """RunWriter accepted criterion="rigl" and the reader refused it, failing `fwa ls` for the whole study."""
    write_study(tmp_path, seeds=(0, 1), crits=("magnitude", "rigl", "my_crit-2"), baselines=False)
    runs = find_runs(tmp_path)
    assert sorted({r.criterion for r in runs}) == ["magnitude", "my_crit-2", "rigl"]
    assert all("rigl" in r.shadow_criteria for r in runs)
    doc = json.loads(runner.invoke(app, ["ls", str(tmp_path), "--format", "json"]).stdout)
    assert len(doc["runs"]) == 6
    r = runner.invoke(app, ["jaccard", "--at", "first", str(tmp_path), "--format", "json"])
    assert r.exit_code == 0, r.output
    crits = json.loads(r.stdout)["criteria"]
    # the built-ins first in their order, then the new names sorted (synthetic studies record these shadows)
    assert crits == ["magnitude", "snip", "random", "my_crit-2", "rigl"]
    r = runner.invoke(app, ["accuracy", str(tmp_path), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert [row["criterion"] for row in json.loads(r.stdout)["rows"]] == ["magnitude", "my_crit-2", "rigl"]


def test_writer_refuses_what_the_reader_refuses(tmp_path):
    with pytest.raises(ValueError, match="criterion"):
        RunWriter(tmp_path, {"method": "dst", "criterion": "RigL"}, LAYERS)
    with pytest.raises(ValueError, match="lr"):
        RunWriter(tmp_path, {"method": "dst", "criterion": "snip", "lr": float("nan")}, LAYERS)
    w = RunWriter(tmp_path, {"method": "dst", "criterion": "snip"}, LAYERS)
    m = {n: np.ones(s, bool) for n, s in LAYERS.items()}
    with pytest.raises(ValueError, match="shadow criterion"):
        w.write_update(1, m, m, shadow={"Not Valid": m})
    w.write_update(1, m, m, shadow={"rigl": m, "magnitude": m, "abc": m})
    with pytest.raises(ValueError, match="cannot be marked complete: a complete run needs at least one mask"):
        w.close()  # no mask snapshot: the reader would refuse it as complete
    run = load_run(w.path)
    assert run.status == "failed" and run.shadow_criteria == ["magnitude", "abc", "rigl"]
