"""fwanalysis.stats.tables: mean, std (ddof 0) and count over seeds, and the loss gap, against numpy by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from fwanalysis.stats.tables import DDOF, loss_gap, mean_std


def test_mean_std_against_numpy_per_group():
    rng = np.random.default_rng(0)
    rows = [
        {"crit": c, "density": d, "seed": s, "value": rng.random()}
        for c in ("b", "a")
        for d in (0.5, 0.1)
        for s in range(3)
    ]
    rows.append({"crit": "a", "density": 0.9, "seed": 0, "value": 0.25})  # one seed: std 0, n 1
    df = pd.DataFrame(rows)
    out = mean_std(df, by=["crit", "density"])
    assert list(out.columns) == ["crit", "density", "mean", "std", "n"]
    assert list(zip(out["crit"], out["density"])) == sorted(set(zip(df["crit"], df["density"])))  # sorted by the keys
    for _, row in out.iterrows():
        vals = df[(df["crit"] == row["crit"]) & (df["density"] == row["density"])]["value"].to_numpy()
        assert row["mean"] == pytest.approx(vals.mean())
        assert row["std"] == pytest.approx(np.std(vals, ddof=DDOF), abs=1e-15)  # population std, numpy's default
        assert row["n"] == len(vals) and isinstance(row["n"], (int, np.integer))
    assert DDOF == 0
    single = out[out["density"] == 0.9].iloc[0]
    assert single["std"] == 0 and single["n"] == 1


def test_mean_std_keeps_missing_keys_as_a_group_and_other_value_columns():
    df = pd.DataFrame({"crit": ["a", None, None], "acc": [1.0, 2.0, 4.0]})
    out = mean_std(df, by=["crit"], value="acc")
    assert len(out) == 2
    none_row = out[out["crit"].isna()].iloc[0]
    assert none_row["mean"] == 3.0 and none_row["std"] == 1.0 and none_row["n"] == 2


def test_mean_std_of_nothing_is_an_empty_table_with_the_columns():
    out = mean_std(pd.DataFrame(columns=["crit", "value"]), by=["crit"])
    assert out.empty and list(out.columns) == ["crit", "mean", "std", "n"]


def _tidy(curves: dict) -> pd.DataFrame:
    """``{(run, crit): {epoch: (train, val)}}`` as tidy metric rows, with distractor rows (acc, test loss)."""
    rows = []
    for (run, crit), by_epoch in curves.items():
        for ep, (tr, va) in by_epoch.items():
            rows += [
                {"run": run, "crit": crit, "epoch": ep, "split": "train", "name": "loss", "value": tr},
                {"run": run, "crit": crit, "epoch": ep, "split": "val", "name": "loss", "value": va},
                {"run": run, "crit": crit, "epoch": ep, "split": "val", "name": "acc", "value": 0.9},
                {"run": run, "crit": crit, "epoch": ep, "split": "test", "name": "loss", "value": 99.0},
            ]
    return pd.DataFrame(rows)


def test_loss_gap_is_val_minus_train_per_epoch_over_runs():
    rng = np.random.default_rng(1)
    curves = {
        (f"r{i}", crit): {ep: (rng.random(), rng.random() + 1) for ep in (1, 2, 3)}
        for i, crit in enumerate(itertools.chain.from_iterable(itertools.repeat(("a", "b"), 3)))
    }
    out = loss_gap(_tidy(curves), by=["crit"])
    assert list(out.columns) == ["epoch", "crit", "gap_mean", "gap_std", "n"]
    assert len(out) == 3 * 2
    for _, row in out.iterrows():
        gaps = [c[row["epoch"]][1] - c[row["epoch"]][0] for (_, crit), c in curves.items() if crit == row["crit"]]
        assert row["gap_mean"] == pytest.approx(np.mean(gaps))
        assert row["gap_std"] == pytest.approx(np.std(gaps))
        assert row["n"] == len(gaps) == 3


def test_loss_gap_skips_epochs_missing_a_split_and_needs_both_splits():
    curves = {("r0", "a"): {1: (1.0, 1.5), 2: (0.5, 1.25)}}
    df = _tidy(curves)
    df = df[~((df["epoch"] == 2) & (df["split"] == "val"))]  # epoch 2 has no validation loss
    out = loss_gap(df, by=["crit"])
    assert out["epoch"].tolist() == [1] and out["gap_mean"].tolist() == [0.5]
    only_train = df[df["split"] == "train"]
    empty = loss_gap(only_train, by=["crit"])
    assert empty.empty and list(empty.columns) == ["epoch", "crit", "gap_mean", "gap_std", "n"]


def test_loss_gap_takes_the_last_value_logged_for_an_epoch():
    df = _tidy({("r0", "a"): {1: (1.0, 2.0)}})
    late = pd.DataFrame([{"run": "r0", "crit": "a", "epoch": 1, "split": "train", "name": "loss", "value": 0.5}])
    out = loss_gap(pd.concat([df, late], ignore_index=True), by=["crit"])
    assert out["gap_mean"].tolist() == [1.5]
