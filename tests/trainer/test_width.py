"""Config keys of the quick study's scaling rule: ``width`` (hidden widths ×) and ``prune_linear_every``
(the linear schedule's decay period), and that both leave run.json and run ids as they were at their defaults."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from trainer.config import ConfigError, TrainConfig, check, fill_model_defaults, to_manifest_config  # noqa: E402
from trainer.models import MODELS, build_model  # noqa: E402


def shapes(model) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for n, p in model.named_parameters() if n.endswith("weight")]


def test_width_scales_every_hidden_layer_and_keeps_inputs_and_outputs():
    assert shapes(build_model("mlp-large", in_shape=(40,), num_outputs=10, width=0.25)) == [
        (256, 40),
        (128, 256),
        (10, 128),
    ]
    assert shapes(build_model("mlp-small", in_shape=(40,), num_outputs=10, width=0.5)) == [
        (128, 40),
        (128, 128),
        (10, 128),
    ]
    cnn = shapes(build_model("cnn-small", in_shape=(1, 8, 8), num_outputs=10, width=0.5))
    assert [s[0] for s in cnn] == [16, 32, 64, 10] and cnn[0][1] == 1 and cnn[-1][1] == 64
    lenet = shapes(build_model("lenet5-caffe", in_shape=(1, 8, 8), num_outputs=10, width=0.5))
    assert [s[0] for s in lenet] == [10, 25, 250, 10] and lenet[-1] == (10, 250)
    # width 1 is the paper's network, parameter for parameter
    full = build_model("lenet5-caffe", in_shape=(1, 28, 28), num_outputs=10)
    assert sum(p.numel() for p in full.parameters()) == 431_080


def test_width_is_refused_where_the_model_has_none_or_out_of_range():
    with pytest.raises(ValueError, match="resnet56 has no width multiplier"):
        build_model("resnet56", in_shape=(1, 8, 8), num_outputs=10, width=0.5)
    with pytest.raises(ConfigError, match="--width 0.5: resnet56 has no width multiplier"):
        fill_model_defaults(TrainConfig(model="resnet56", width=0.5), model_spec=MODELS["resnet56"])
    for bad in (0, -1, 5, float("nan")):
        with pytest.raises(ConfigError, match="--width"):
            check(TrainConfig(width=bad))
    with pytest.raises(ConfigError, match="--prune-linear-every"):
        check(TrainConfig(prune_schedule="linear", prune_linear_every=0))


def test_run_json_holds_the_new_keys_only_when_set():
    plain = to_manifest_config(TrainConfig())
    assert "width" not in plain and "prune_linear_every" not in plain
    set_ = to_manifest_config(TrainConfig(width=0.25, prune_linear_every=15))
    assert set_["width"] == 0.25 and set_["prune_linear_every"] == 15


def test_sweep_ids_change_only_for_runs_that_set_the_new_keys(tmp_path):
    from trainer import sweep

    def ids(extra: str) -> list[str]:
        spec = tmp_path / f"s{len(extra)}.toml"
        spec.write_text(
            f'name = "s"\n[base]\nmodel = "mlp-small"\nepochs = 1\n{extra}\n[profiles.quick]\nseed = [0, 1]\n'
        )
        return [r.run_id for r in sweep.expand(sweep.load_spec(spec), profile="quick")]

    assert ids("") == ids("width = 1.0\nprune_linear_every = 600")
    assert set(ids("")).isdisjoint(ids("width = 0.5")) and set(ids("")).isdisjoint(ids("prune_linear_every = 15"))


def test_linear_schedule_decays_every_prune_linear_every_steps(tmp_path):
    from trainer.loop import train

    cfg = TrainConfig(
        model="mlp-small",
        dataset="digits",
        epochs=3,
        update_period=5,
        prune_schedule="linear",
        prune_linear_every=5,
        width=0.25,
    )
    path = train(cfg, out=str(tmp_path), shadow="none", progress=False)
    df = pd.read_parquet(f"{path}/metrics.parquet")
    rho = df[df.name == "prune_fraction"].dropna(subset=["value"]).sort_values("step")
    assert len(rho) >= 4
    for step, value in zip(rho.step, rho.value):
        assert value == pytest.approx(0.5 * 0.99 ** (step // 5)), step
    assert dataclasses.asdict(cfg)["width"] == 0.25
