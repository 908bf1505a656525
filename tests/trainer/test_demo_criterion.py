"""A new criterion is one row of the criterion table (issue 21, "Done when").

A fresh Python process adds the row ``demo`` (score |θ|²) to ``fwanalysis.criteria.TABLE`` before anything else
of fwa is imported, which is what editing the table's source does, and nothing else. Then ``demo`` must be
trainable by ``fw-train run --criterion demo``, recorded as a shadow set by the trainer and by
``fwanalysis.record.Recorder``, listed by ``fw-train run --help`` and Table 1 (``fw-train tables``), drawn in a
colour of its own, scored on the side of the optimizer step its row says, and not one of the paper's five. Any
list, choice set or colour still written by hand somewhere else makes this test fail.

Cheap: two 1-epoch runs of mlp-small on digits, a Recorder on a 6x5 layer; one subprocess (about 15 s).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys

assert not [m for m in sys.modules if m.startswith(("fwanalysis.", "trainer"))], "the table must be edited first"
import fwanalysis.criteria as table

DEMO = table.Criterion(
    "demo",
    score=lambda w, g, lam: w * w,
    needs_grad=False,
    side="before",  # not magnitude's side: a side written by hand anywhere else shows
    paper=False,
    formula="|θ|²",
)
BEFORE = {c.name for c in table.TABLE}
table.TABLE = (*table.TABLE, DEMO)  # the one row

import json
from pathlib import Path

import numpy as np
import torch
from typer.testing import CliRunner

from fwanalysis import vocab
from fwanalysis.artifacts import load_run
from fwanalysis.artifacts.bitset import unpack
from fwanalysis.plots.metrics import CRITERION_COLOURS, criterion_colour, criterion_style
from fwanalysis.record import Recorder
from trainer.cli import app
from trainer.config import TrainConfig, scores_before_step
from trainer.tables import criteria_table

FIVE = ("magnitude", "set", "mest", "rsensitivity", "snip")
out = Path(sys.argv[1])
runner = CliRunner()


def sets(run, packed):
    return {layer.name: unpack(packed[layer.name], layer.numel, layer.shape) for layer in run.layers}


# -- the vocabulary: a built-in criterion, after the others, not one of the paper's five -----------------------
assert vocab.CRITERIA[-1] == "demo" and set(vocab.CRITERIA) == BEFORE | {"demo"}, vocab.CRITERIA
assert vocab.PAPER_CRITERIA == FIVE, vocab.PAPER_CRITERIA
assert vocab.STRUCTURAL_CRITERIA == (*FIVE, "random"), vocab.STRUCTURAL_CRITERIA
assert "demo" in vocab.SCORED_CRITERIA
assert vocab.criterion_order(["demo", "zeta", "random", "magnitude"]) == ["magnitude", "random", "demo", "zeta"]
np.testing.assert_array_equal(vocab.criterion_score("demo", np.array([0.5, 2.0]), None), [0.25, 4.0])
assert scores_before_step(TrainConfig(criterion="demo")) and not scores_before_step(TrainConfig())

# -- listed: fw-train run --help and Table 1 ----------------------------------------------------------------
r = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "400"})
assert r.exit_code == 0 and "snip, random, demo" in r.output, r.output
t1 = criteria_table().set_index("criterion")
assert list(t1.index)[-1] == "demo" and t1.loc["demo", "score (lowest removed)"] == "|θ|²"
assert not t1.loc["demo", "compared in the paper"] and t1["compared in the paper"].sum() == 5

# -- its own colour ---------------------------------------------------------------------------------------------
others = {c: CRITERION_COLOURS[c] for c in vocab.CRITERIA if c != "demo"}
assert "demo" in CRITERION_COLOURS and criterion_colour("demo") == CRITERION_COLOURS["demo"]
assert CRITERION_COLOURS["demo"] not in others.values(), (CRITERION_COLOURS["demo"], others)
assert criterion_colour("some-other-rule") not in {**others, "demo": CRITERION_COLOURS["demo"]}.values()
assert criterion_style("demo")["color"] == CRITERION_COLOURS["demo"]

# -- trainable, and recorded as a shadow set by the trainer -----------------------------------------------------
common = ["--epochs", "1", "--update-period", "3", "--no-progress", "--out", str(out / "trained")]
r = runner.invoke(app, ["run", "--criterion", "demo", "--shadow", "all", "--state", "first", *common])
assert r.exit_code == 0, r.output
r = runner.invoke(app, ["run", "--criterion", "magnitude", "--shadow", "magnitude,demo", *common])
assert r.exit_code == 0, r.output
runs = {load_run(p.parent).config["criterion"]: load_run(p.parent) for p in (out / "trained").glob("*/run.json")}
demo, mag = runs["demo"], runs["magnitude"]
assert demo.status == "complete" and demo.validate() == [] and demo.shadow_criteria == list(vocab.CRITERIA)
step = demo.state_steps[0]
state, upd = demo.state(step), demo.update(step)
pruned = sets(demo, upd.pruned)
for name in demo.layer_names:  # the lowest |θ|² among the active weights, ties by index, as many as asked
    active = np.flatnonzero(unpack(state.mask[name], demo.layers[demo.layer_names.index(name)].numel))
    score = state.weight[name].reshape(-1).astype(np.float32) ** 2
    k = int(pruned[name].sum())
    want = np.zeros(score.size, bool)
    want[active[np.argsort(score[active], kind="stable")[:k]]] = True
    np.testing.assert_array_equal(pruned[name].reshape(-1), want, err_msg=name)
assert mag.shadow_criteria == ["magnitude", "demo"]
for step in mag.update_steps:  # |θ|² orders the weights as |θ| does: demo's shadow set is what magnitude pruned
    u = mag.update(step)
    for name, s in sets(mag, u.shadow["demo"]).items():
        np.testing.assert_array_equal(s, sets(mag, u.pruned)[name], err_msg=f"{step} {name}")

# -- recorded by the Recorder -----------------------------------------------------------------------------------
model = torch.nn.Linear(5, 6, bias=False)
with torch.no_grad():
    model.weight.copy_(torch.arange(30.0).reshape(6, 5) - 14.5)
masks = {"weight": torch.ones(6, 5, dtype=torch.bool)}
with Recorder(model, out / "recorded", masks=masks, criterion="magnitude", shadow="all", run_id="rec") as rec:
    model(torch.ones(2, 5)).sum().backward()
    with rec.update(1):
        masks["weight"].view(-1)[[14, 15, 13]] = False  # magnitude's choice: the three smallest |θ|
    rec.step(1)
run = load_run(out / "recorded" / "rec")
assert run.shadow_criteria == list(vocab.CRITERIA), run.shadow_criteria
np.testing.assert_array_equal(sets(run, run.update(1).shadow["demo"])["weight"], ~masks["weight"].numpy())
print(json.dumps({"ok": True}))
"""


def test_one_row_makes_a_criterion(tmp_path):
    r = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0 and '"ok": true' in r.stdout, (r.stdout + r.stderr)[-4000:]
