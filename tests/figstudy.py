"""The shared figures study: every study of the quick profile in miniature, written with RunWriter (no trainer),
so that every figure of the registry finds its runs. Made once per test session (sharedlib.build_once) and
shared read-only by the tests of the figures (tests/plots), the report and its web page (tests/browser)."""

from __future__ import annotations

from pathlib import Path

from sharedlib import build_once
from synthetic import write_study

from fwanalysis.artifacts import Run, find_runs

FIVE = ("magnitude", "set", "mest", "rsensitivity", "snip")
DIG = "digits"
NOT_HERE = ("imagenet", "roberta", "efficientnet")  # the sweeps of the figures whose data cannot be made here


def figures_study(tmp_path_factory) -> tuple[Path, list[Run]]:
    """(its folder, its runs): the models of the paper's roles on the embedded data set, so every setup filter
    of the registry finds its runs, and the generators of the absent figures on synthetic runs."""
    root = build_once(tmp_path_factory, "figures-study", _write_figures_study)
    return root, find_runs(root)


def runs_made_here(runs: list[Run]) -> list[Run]:
    """The runs of the figures that can be made here (a report of them lists the others as absent)."""
    return [r for r in runs if r.config.get("sweep") not in NOT_HERE and r.config["dataset"] != "tinyimagenet"]


def _write_figures_study(root: Path) -> None:
    s2 = (0, 1)

    def add(sweep, crits, model, dataset=DIG, **kw):  # one study of two seeds: its criteria, model and design
        write_study(root, sweep=sweep, seeds=s2, crits=crits, model=model, dataset=dataset, **kw)

    two = {"densities": (0.1, 0.5), "n_updates": 1}  # two densities, one update
    for model in ("mlp-small", "mlp-large", "cnn-small", "lenet5-caffe", "resnet56", "vgg16"):
        for growth in ("random", "gradient"):
            local = {"growth": growth, "pruning_scope": "local"}
            add("accuracy", FIVE, model, **two, extra=local, baselines=growth == "random")
    for growth in ("random", "gradient"):
        local = {"growth": growth, "pruning_scope": "local"}
        add("set-defect", ("set-legacy",), "mlp-large", **two, extra=local, baselines=False)
    add("sensitivity", ("sensitivity",), "mlp-large", **two, baselines=False)
    add("loss-gap", FIVE, "mlp-large", densities=(0.5,), n_updates=1)
    add("loss-gap", (), "mlp-large", densities=(0.5,), baseline_methods=("dense",), baseline_extra={"dropout": 0.05})
    for model in ("mlp-large", "cnn-small"):
        add("jaccard", (*FIVE, "random"), model, n_updates=4, baselines=False, extra={"growth": "gradient"})
        for rho in (0.25, 0.5):
            first = {"densities": (1.0,), "n_updates": 1, "baselines": False, "extra": {"prune_fraction": rho}}
            add("jaccard-first", ("magnitude",), model, **first)
        add("update-period", (), model, densities=(0.1,), baseline_methods=("static",))
        for dt in (5, 20):
            for growth in ("random", "gradient"):
                extra = {"update_period": dt, "growth": growth}
                add("update-period", FIVE, model, densities=(0.1,), n_updates=2, baselines=False, extra=extra)
    for dt in (5, 20):
        for sch, bs in (("linear", 128), ("cosine", 256)):
            extra = {"update_period": dt, "prune_schedule": sch, "batch_size": bs}
            add("schedule", FIVE, "mlp-large", densities=(0.1,), n_updates=1, baselines=False, extra=extra)
    for lam in (0.1, 1.0):
        extra = {"criterion_params": {"mest_lambda": lam}}
        add("mest-lambda", ("mest",), "mlp-large", n_updates=1, baselines=False, extra=extra)
    add("batch-size", FIVE, "lenet5-caffe", **two, extra={"batch_size": 512}, baseline_extra={"batch_size": 512})
    for model in ("mlp-large", "lenet5-caffe"):
        add("update-batch", FIVE, model, **two, baselines=False, extra={"update_batch_size": 512})
    scope = {"densities": (0.05, 0.1), "n_updates": 1, "baselines": False, "extra": {"pruning_scope": "global"}}
    add("scope", ("magnitude", "snip"), "resnet56", **scope)
    # the figures whose data cannot be made here: their generators on synthetic runs
    write_study(root, sweep="imagenet", seeds=s2, n_updates=1, dataset="imagenet", model="resnet50")
    write_study(root, sweep="roberta", seeds=s2, n_updates=1, model="roberta", baselines=False)
    write_study(root, sweep="efficientnet", seeds=s2, n_updates=1, model="efficientnet-b0", baselines=False)
    add("accuracy", FIVE, "efficientnet-b0", "tinyimagenet", **two)


def figures_report(tmp_path_factory) -> tuple[Path, Path, dict[str, dict]]:
    """(the study's folder, the report's folder, what the report did): ``fwa report``'s ``write_report`` of the
    figures study's runs that can be made here, written once per test session and shared read-only (the
    report's byte-identity test and the web page's browser test both read it). What it did is
    ``{figure id: {"status", "run_ids"}}``, the items ``write_report`` returned, kept beside the report."""
    import json

    from fwanalysis.report import write_report

    root, runs = figures_study(tmp_path_factory)

    def write(folder: Path) -> None:
        items = write_report(runs_made_here(runs), folder / "report", studies=[str(root)])
        done = {i.id: {"status": i.status, "run_ids": [r.run_id for r in i.runs]} for i in items}
        (folder / "items.json").write_text(json.dumps(done))

    folder = build_once(tmp_path_factory, "figures-report", write)
    return root, folder / "report", json.loads((folder / "items.json").read_text())
