"""Tests for trainer.models: parameter counts from the paper, shapes on every input size,
the dropout baseline, and which parameters get masked."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from trainer.models import MODELS, ModelSpec, build_model, masked_parameter_names, param_count


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# Independent references: the paper's reported sizes, and hand arithmetic for the rest.
PAPER_COUNTS = {
    "mlp-small": 72_449,  # 24*256+256 + 256*256+256 + 256+1
    "mlp-large": 3_676_682,  # 3072*1024+1024 + 1024*512+512 + 512*10+10
    "cnn-small": 94_538,  # (3*32*9+32) + (32*64*9+64) + (64*128*9+128) + (128*10+10)
    "resnet56": 855_770,  # 853,018 (option-A ResNet-56) + 1x1 conv/BN projections 576 + 2,176
    "lenet5-caffe": 431_080,  # (25*20+20) + (20*25*50+50) + (800*500+500) + (500*10+10)
}


@pytest.mark.parametrize(("name", "expected"), sorted(PAPER_COUNTS.items()))
def test_param_count_matches_paper(name, expected):
    assert param_count(name) == expected


def test_vgg16_count_is_conv_bn_and_one_linear():
    cfg = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    convs = sum(c_in * c_out * 9 for c_in, c_out in zip([3] + cfg[:-1], cfg))
    expected = convs + 2 * sum(cfg) + 512 * 100 + 100  # bias-free convs, BN affine, classifier
    assert param_count("vgg16") == expected


def test_param_count_builds_on_the_reference_setting():
    for spec in MODELS.values():
        model = build_model(spec.name, in_shape=spec.reference_input, num_outputs=spec.reference_outputs)
        assert n_params(model) == param_count(spec.name)


def test_cnn_small_on_greyscale_only_loses_first_layer_channels():
    model = build_model("cnn-small", in_shape=(1, 28, 28), num_outputs=10)
    assert n_params(model) == PAPER_COUNTS["cnn-small"] - 2 * 32 * 9


def test_registry_entries_are_well_formed():
    assert set(MODELS) == {"mlp-small", "mlp-large", "cnn-small", "lenet5-caffe", "resnet56", "vgg16"}
    for name, spec in MODELS.items():
        assert isinstance(spec, ModelSpec) and spec.name == name
        assert "\n" not in spec.description
        assert spec.default_init == ("er" if name.startswith("mlp") else "erk")
        assert spec.default_lr > 0 and spec.default_weight_decay >= 0
    with pytest.raises(AttributeError):
        MODELS["mlp-small"].default_lr = 1.0  # frozen


SHAPES = [(1, 8, 8), (3, 32, 32)]


@pytest.mark.parametrize("in_shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_shape(name, in_shape):
    torch.manual_seed(0)
    model = build_model(name, in_shape=in_shape, num_outputs=7).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *in_shape))
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("in_shape", [(1, 28, 28), (3, 64, 64)], ids=["28", "64"])
@pytest.mark.parametrize("name", ["cnn-small", "lenet5-caffe", "mlp-small"])
def test_forward_shape_other_sizes(name, in_shape):
    model = build_model(name, in_shape=in_shape, num_outputs=3).eval()
    with torch.no_grad():
        assert model(torch.randn(1, *in_shape)).shape == (1, 3)


def test_mlp_takes_flat_inputs():
    model = build_model("mlp-large", in_shape=(64,), num_outputs=10)
    assert model(torch.randn(4, 64)).shape == (4, 10)
    assert n_params(model) == 64 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 10 + 10


def test_conv_net_rejects_flat_input_with_hint():
    with pytest.raises(ValueError, match=r"\(C, H, W\).*flatten"):
        build_model("resnet56", in_shape=(64,), num_outputs=10)


def test_unknown_model_lists_allowed_names():
    with pytest.raises(ValueError) as info:
        build_model("resnet9000", in_shape=(3, 32, 32), num_outputs=10)
    message = str(info.value)
    assert "'resnet9000'" in message
    for name in MODELS:
        assert name in message
    with pytest.raises(ValueError, match="'nope'"):
        param_count("nope")


@pytest.mark.parametrize("bad", [-0.1, 1.0])
def test_dropout_out_of_range(bad):
    with pytest.raises(ValueError, match="dropout"):
        build_model("mlp-small", in_shape=(24,), num_outputs=1, dropout=bad)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_dropout_adds_layers_not_parameters(name):
    spec = MODELS[name]
    kwargs = dict(in_shape=spec.reference_input, num_outputs=spec.reference_outputs)
    plain, dropped = build_model(name, **kwargs), build_model(name, **kwargs, dropout=0.5)
    linears = sum(isinstance(m, nn.Linear) for m in dropped.modules())
    assert sum(isinstance(m, nn.Dropout) for m in dropped.modules()) == linears
    assert not any(isinstance(m, nn.Dropout) for m in plain.modules())
    assert n_params(dropped) == n_params(plain)
    assert [n for n, _ in dropped.named_parameters()] == [n for n, _ in plain.named_parameters()]


def test_dropout_is_active_in_train_mode_only():
    model = build_model("mlp-small", in_shape=(24,), num_outputs=1, dropout=0.5)
    x = torch.randn(8, 24)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    torch.manual_seed(0)
    first = model(x)
    torch.manual_seed(1)
    assert not torch.equal(first, model(x))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_masked_names_are_linear_and_conv_weights(name):
    spec = MODELS[name]
    model = build_model(name, in_shape=spec.reference_input, num_outputs=spec.reference_outputs)
    names = masked_parameter_names(model)
    params = dict(model.named_parameters())
    expected = [
        f"{module_name}.weight"
        for module_name, module in model.named_modules()
        if type(module) in (nn.Linear, nn.Conv2d)
    ]
    assert sorted(names) == sorted(expected)
    order = list(params)
    assert names == sorted(names, key=order.index)  # named_parameters() order
    assert all(name.endswith(".weight") for name in names)
    assert all(params[name].dim() in (2, 4) for name in names)  # no biases, no BN vectors


def test_masked_names_exclude_bias_and_batchnorm():
    model = build_model("resnet56", in_shape=(3, 32, 32), num_outputs=10)
    names = masked_parameter_names(model)
    assert "conv.weight" in names and "fc.weight" in names
    assert "fc.bias" not in names and "bn.weight" not in names
    assert "blocks.9.shortcut.0.weight" in names  # the 1x1 projection conv is masked
    assert "blocks.9.shortcut.1.weight" not in names  # its BN is not
    assert len(names) == 1 + 2 * 27 + 2 + 1  # stem, block convs, projections, fc
    masked = sum(model.get_parameter(n).numel() for n in names)
    assert masked == 855_770 - 10 - sum(
        m.weight.numel() + m.bias.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d)
    )


def test_initialisation_is_seeded_and_kaiming_for_convs():
    torch.manual_seed(3)
    a = build_model("cnn-small", in_shape=(3, 32, 32), num_outputs=10)
    torch.manual_seed(3)
    b = build_model("cnn-small", in_shape=(3, 32, 32), num_outputs=10)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    model = build_model("vgg16", in_shape=(3, 32, 32), num_outputs=10)
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d) and m.in_channels == 256)
    expected_std = math.sqrt(2.0 / (256 * 9))
    assert conv.weight.std().item() == pytest.approx(expected_std, rel=0.05)


def kernel_taps_without_gradient(model: nn.Module, in_shape: tuple[int, ...]) -> list[str]:
    """``layer[kh, kw]`` for every kernel position of every convolution whose gradient is zero
    across all input and output channels: a tap that only ever multiplies padding."""
    torch.manual_seed(0)
    model.train()
    model(torch.randn(16, *in_shape)).square().sum().backward()
    dead = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            per_tap = module.weight.grad.abs().sum(dim=(0, 1))
            dead += [f"{name}[{i}, {j}]" for i, j in (per_tap == 0).nonzero().tolist()]
    return dead


@pytest.mark.parametrize("side", [8, 28, 32, 64])
@pytest.mark.parametrize("name", ["cnn-small", "lenet5-caffe", "resnet56"])
def test_every_kernel_tap_sees_real_input(name, side):
    # Before the whole-stack "same" padding, cnn-small on 8×8 ran conv3 on a 1×1 map padded by 1:
    # 8 of its 9 taps (89% of the layer) had a gradient of exactly zero forever.
    model = build_model(name, in_shape=(1, side, side), num_outputs=10)
    assert kernel_taps_without_gradient(model, (1, side, side)) == []


@pytest.mark.parametrize("side", [32, 64])
def test_vgg16_kernel_taps_see_real_input_from_32(side):
    # Below 32×32 VGG-16's last blocks run on 1×1 maps (documented in docs/trainer.md).
    model = build_model("vgg16", in_shape=(3, side, side), num_outputs=10)
    assert kernel_taps_without_gradient(model, (3, side, side)) == []


@pytest.mark.parametrize(("name", "in_shape", "expected"), [
    ("cnn-small", (1, 28, 28), 0), ("cnn-small", (3, 32, 32), 0), ("cnn-small", (1, 8, 8), 1),
    ("lenet5-caffe", (1, 28, 28), 0), ("lenet5-caffe", (1, 8, 8), 2),
])
def test_paper_padding_kept_where_the_unpadded_stack_fits(name, in_shape, expected):
    model = build_model(name, in_shape=in_shape, num_outputs=10)
    paddings = {m.padding for m in model.modules() if isinstance(m, nn.Conv2d)}
    assert paddings == {(expected, expected)}
