"""Tests for trainer.models: parameter counts from the paper, shapes on every input size,
the dropout baseline, and which parameters get masked."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from trainer.models import MODELS, ModelSpec, build_model, channels_last, masked_parameter_names, param_count


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# Independent references: the paper's reported sizes, and hand arithmetic for the rest.
PAPER_COUNTS = {
    "mlp-small": 72_449,  # 24*256+256 + 256*256+256 + 256+1
    "mlp-large": 3_676_682,  # 3072*1024+1024 + 1024*512+512 + 512*10+10
    "cnn-small": 94_538,  # (3*32*9+32) + (32*64*9+64) + (64*128*9+128) + (128*10+10)
    "resnet56": 855_770,  # 853,018 (option-A ResNet-56) + 1x1 conv/BN projections 576 + 2,176
    "lenet5-caffe": 431_080,  # (25*20+20) + (20*25*50+50) + (800*500+500) + (500*10+10)
    "resnet50": 25_557_032,  # torchvision's resnet50 (1000 classes)
    "efficientnet-b0": 5_288_548 - 1280 * 800 - 800,  # torchvision's efficientnet_b0, 200 classes
}


@pytest.mark.parametrize(("name", "expected"), sorted(PAPER_COUNTS.items()))
def test_param_count_matches_paper(name, expected):
    assert param_count(name) == expected


@pytest.mark.parametrize(("name", "published"), [("resnet50", 25_557_032), ("efficientnet-b0", 5_288_548)])
def test_imagenet_counts_match_torchvision(name, published):
    model = build_model(name, in_shape=(3, 224, 224), num_outputs=1000)
    assert n_params(model) == published
    assert n_params(build_model(name, in_shape=(3, 64, 64), num_outputs=1000)) == published  # size-free


def bottleneck_stage_params(c_in: int, width: int, blocks: int) -> tuple[int, int]:
    """(conv weights, BN channels) of one ResNet-50 stage, by hand."""
    out = 4 * width
    convs = c_in * width + 9 * width * width + width * out + c_in * out  # first block + projection
    convs += (blocks - 1) * (out * width + 9 * width * width + width * out)
    bn = blocks * (width + width + out) + out
    return convs, bn


def test_resnet50_table2_count_is_the_masked_weights():
    # Table 2 of the paper gives ResNet-50 25,502,912 parameters: every conv weight plus the linear
    # weight, i.e. torchvision's 25,557,032 without the 53,120 BN affine parameters and the 1,000
    # linear biases -- exactly the weights DST masks. (ResNet-56's 855,770 instead counts all.)
    convs, bn = 3 * 64 * 49, 64
    for c_in, width, blocks in ((64, 64, 3), (256, 128, 4), (512, 256, 6), (1024, 512, 3)):
        stage_convs, stage_bn = bottleneck_stage_params(c_in, width, blocks)
        convs, bn = convs + stage_convs, bn + stage_bn
    assert convs + 2048 * 1000 == 25_502_912
    assert convs + 2048 * 1000 + 2 * bn + 1000 == 25_557_032
    model = build_model("resnet50", in_shape=(3, 224, 224), num_outputs=1000)
    masked = sum(model.get_parameter(name).numel() for name in masked_parameter_names(model))
    assert masked == 25_502_912
    assert len(masked_parameter_names(model)) == 1 + 3 * 16 + 4 + 1  # stem, blocks, projections, fc
    resnet56 = build_model("resnet56", in_shape=(3, 32, 32), num_outputs=10)
    assert n_params(resnet56) == 855_770
    assert sum(resnet56.get_parameter(n).numel() for n in masked_parameter_names(resnet56)) < 855_770


def test_efficientnet_b0_structure():
    model = build_model("efficientnet-b0", in_shape=(3, 64, 64), num_outputs=200)
    blocks = [m for m in model.modules() if type(m).__name__ == "MBConv"]
    assert len(blocks) == 16
    assert sum(block.residual for block in blocks) == 16 - 7  # stride 1, equal widths: 9 blocks
    depthwise = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert [m.kernel_size[0] for m in depthwise] == [3, 3, 3, 5, 5, 3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 3]
    assert all(m.groups == m.in_channels == m.out_channels for m in depthwise)
    assert sum(isinstance(m, nn.SiLU) for m in model.modules()) == 2 + 16 * 2 - 1  # stem, head, blocks
    drops = [block.drop_prob for block in blocks]
    assert drops[0] == 0 and drops[-1] == pytest.approx(0.2 * 15 / 16)
    se = blocks[1].block.se  # 16 -> 24 block expanded to 96, squeezed to 16 // 4
    assert (se.fc1.in_channels, se.fc1.out_channels) == (96, 4)
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.2]


def test_efficientnet_stochastic_depth_only_in_training():
    torch.manual_seed(0)
    model = build_model("efficientnet-b0", in_shape=(3, 32, 32), num_outputs=5)
    x = torch.randn(4, 3, 32, 32)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    torch.manual_seed(1)
    first = model(x)
    torch.manual_seed(2)
    assert not torch.equal(first, model(x))  # only stochastic depth is random now


@pytest.mark.parametrize(("side", "final"), [(224, 7), (64, 2), (32, 2), (8, 2)])
def test_imagenet_nets_downsample_to_at_least_2x2(side, final):
    for name, last in (("resnet50", "layer4"), ("efficientnet-b0", "features")):
        model = build_model(name, in_shape=(3, side, side), num_outputs=3).eval()
        seen = []
        model.get_submodule(last).register_forward_hook(lambda m, i, o, seen=seen: seen.append(o.shape[-2:]))
        with torch.no_grad():
            model(torch.randn(1, 3, side, side))
        assert tuple(seen[0]) == (final, final), name


@pytest.mark.parametrize("in_shape", [(1, 8, 8), (3, 32, 32)], ids=["8", "32"])
@pytest.mark.parametrize("name", ["resnet50", "efficientnet-b0"])
def test_imagenet_nets_train_on_small_inputs(name, in_shape):
    torch.manual_seed(0)
    model = build_model(name, in_shape=in_shape, num_outputs=10).train()
    out = model(torch.randn(4, *in_shape))
    nn.functional.cross_entropy(out, torch.arange(4)).backward()
    assert out.shape == (4, 10)
    for name_, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name_


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
    assert set(MODELS) == {
        "mlp-small",
        "mlp-large",
        "cnn-small",
        "lenet5-caffe",
        "resnet56",
        "vgg16",
        "resnet50",
        "efficientnet-b0",
    }
    for name, spec in MODELS.items():
        assert isinstance(spec, ModelSpec) and spec.name == name
        assert "\n" not in spec.description
        assert spec.default_init == ("er" if name.startswith("mlp") else "erk")
        assert spec.default_lr > 0 and spec.default_weight_decay >= 0
    with pytest.raises(AttributeError):
        MODELS["mlp-small"].default_lr = 1.0  # frozen


def test_paper_regime_of_the_imagenet_nets():
    # App. A.2: ResNet-50 batch 256, lr 0.1, wd 1e-4, 90 epochs; EfficientNet lr 0.01, wd 1e-4,
    # 100 epochs (its "decay of 0.001" is not what the authors' code does: docs/models.md).
    r50, b0 = MODELS["resnet50"], MODELS["efficientnet-b0"]
    assert (r50.default_lr, r50.default_weight_decay, r50.paper_batch_size, r50.paper_epochs) == (0.1, 1e-4, 256, 90)
    assert (b0.default_lr, b0.default_weight_decay, b0.paper_batch_size, b0.paper_epochs) == (0.01, 1e-4, 128, 100)
    assert (r50.reference_dataset, b0.reference_dataset) == ("imagenet", "tinyimagenet")
    assert (MODELS["resnet56"].paper_epochs, MODELS["vgg16"].paper_epochs, MODELS["mlp-small"].paper_epochs) == (
        200,
        200,
        100,
    )


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
    assert [m.p for m in dropped.modules() if isinstance(m, nn.Dropout)] == [0.5] * linears
    builtin = [m.p for m in plain.modules() if isinstance(m, nn.Dropout)]
    assert builtin == ([0.2] if name == "efficientnet-b0" else [])  # B0's own classifier dropout
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


@pytest.mark.parametrize("side", [8, 32, 64])
def test_resnet50_kernel_taps_see_real_input(side):
    model = build_model("resnet50", in_shape=(3, side, side), num_outputs=10)
    assert kernel_taps_without_gradient(model, (3, side, side)) == []


def test_efficientnet_b0_dead_taps_only_where_torchvision_has_them():
    # On 224x224 every tap is used. On the paper's 64x64 stage 6 runs on 2x2 maps: the outer ring
    # (16 of 25 taps) of its three stride-1 5x5 depthwise kernels sees only padding, as in the
    # authors' torchvision model (docs/models.md).
    model = build_model("efficientnet-b0", in_shape=(3, 224, 224), num_outputs=10)
    assert kernel_taps_without_gradient(model, (3, 224, 224)) == []
    model = build_model("efficientnet-b0", in_shape=(3, 64, 64), num_outputs=200)
    dead = kernel_taps_without_gradient(model, (3, 64, 64))
    ring = [f"[{i}, {j}]" for i in range(5) for j in range(5) if i in (0, 4) or j in (0, 4)]
    assert dead == [f"features.stage6.{b}.block.depthwise.conv{tap}" for b in (1, 2, 3) for tap in ring]


@pytest.mark.parametrize("side", [32, 64])
def test_vgg16_kernel_taps_see_real_input_from_32(side):
    # Below 32×32 VGG-16's last blocks run on 1×1 maps (documented in docs/trainer.md).
    model = build_model("vgg16", in_shape=(3, side, side), num_outputs=10)
    assert kernel_taps_without_gradient(model, (3, side, side)) == []


@pytest.mark.parametrize(
    ("name", "in_shape", "expected"),
    [
        ("cnn-small", (1, 28, 28), 0),
        ("cnn-small", (3, 32, 32), 0),
        ("cnn-small", (1, 8, 8), 1),
        ("lenet5-caffe", (1, 28, 28), 0),
        ("lenet5-caffe", (1, 8, 8), 2),
    ],
)
def test_paper_padding_kept_where_the_unpadded_stack_fits(name, in_shape, expected):
    model = build_model(name, in_shape=in_shape, num_outputs=10)
    paddings = {m.padding for m in model.modules() if isinstance(m, nn.Conv2d)}
    assert paddings == {(expected, expected)}


@pytest.mark.parametrize(
    ("name", "in_shape"), [("cnn-small", (1, 8, 8)), ("lenet5-caffe", (1, 8, 8)), ("resnet56", (3, 8, 8))]
)
def test_channels_last_changes_layout_only(name, in_shape):
    """Same names, shapes and flat C-order values; outputs equal the NCHW net's up to float rounding."""
    torch.manual_seed(0)
    reference = build_model(name, in_shape=in_shape, num_outputs=10).eval()
    nhwc = build_model(name, in_shape=in_shape, num_outputs=10)
    nhwc.load_state_dict(reference.state_dict())
    assert channels_last(nhwc.eval()) is nhwc
    ref_params, params = dict(reference.named_parameters()), dict(nhwc.named_parameters())
    assert list(ref_params) == list(params)
    conv = next(n for n, m in nhwc.named_modules() if isinstance(m, nn.Conv2d) and m.in_channels > 1) + ".weight"
    assert params[conv].is_contiguous(memory_format=torch.channels_last) and not params[conv].is_contiguous()
    for n in masked_parameter_names(reference):
        assert params[n].shape == ref_params[n].shape
        assert torch.equal(params[n].reshape(-1), ref_params[n].reshape(-1))  # a weight's flat index is unchanged
    x = torch.randn(16, *in_shape)  # NCHW in: the hook lays it out
    torch.testing.assert_close(nhwc(x), reference(x), rtol=1e-4, atol=1e-5)


def test_channels_last_leaves_mlps_alone():
    model = build_model("mlp-small", in_shape=(24,), num_outputs=1)
    assert channels_last(model) is model
    assert not model._forward_pre_hooks
