"""The figure registry: one entry per paper figure = which runs -> which analysis -> which plot.

The captions, the filters that select each figure's runs, what each one computes and draws, and what a figure
drawn from the quick study does not share with the paper's (``embedded``). docs/figures.md says which study
each entry draws.
"""

from __future__ import annotations

from functools import partial

from .. import analyses as A
from ..artifacts.select import RunFilter
from ..vocab import PAPER_CRITERIA, STRUCTURAL_CRITERIA
from .compute import (
    _SET_DEFECT,
    _cd,
    _curves,
    _first,
    _group_table,
    _ident,
    _itop,
    _loss_gap,
    _loss_gap_table,
    _metric_x,
    _per_group,
    _scope,
    _sensitivity_pair,
    _sensitivity_table,
    _set_defect,
    _set_defect_summary,
    _set_defect_table,
    _time_rows_per_group,
    cd_table,
    jaccard_table,
)
from .drawing import (
    _draw_groups,
    draw_cd,
    draw_itop,
    draw_jaccard_time,
    draw_learning_curves,
    draw_loss_gap_and_accuracy,
    draw_mest_lambda,
    draw_metric_vs,
    draw_never_removed,
    draw_scope_scatter,
    draw_sensitivity,
    draw_set_defect,
)
from .entry import SETUPS, FigureEntry, _setup_filter

__all__ = ["FIGURES"]


_ACC_FACETS = ["model", "dataset", "growth"]


_FIG10 = ("cnn-cifar10", "resnet56-cifar100")
# Fig. 16's panels: (a) linear and (b) constant at batch 128, (c) cosine at batch 128 and (d) at 256 (batch ascending)
_FIG16_SCHEDULES = ("linear", "constant", "cosine")
_FIG1 = tuple(k for k in SETUPS if k not in _FIG10)


_ABSENT_IMAGENET = (
    "needs ImageNet and a GPU cluster: `fw-train sweep specs/imagenet.toml --profile paper --executor slurm` "
    "with FWA_IMAGENET pointing at an ILSVRC-2012 folder, then `fwa report` on that study"
)
_ABSENT_ROBERTA = (
    "needs RoBERTa-Large fine-tuning on CommonsenseQA (the SMC benchmark), which fwa's trainer does not do; "
    "record such runs with any loop (fwanalysis.artifacts.RunWriter, model 'roberta') and run `fwa report` on them"
)
_ABSENT_EFFNET = (
    "needs EfficientNet-B0 weights pretrained on ImageNet, which cannot be downloaded here; the from-scratch half is "
    "`fw-train sweep specs/accuracy.toml --profile paper` (efficientnet-b0 on tinyimagenet)"
)
_ABSENT_EFFNET_CURVES = (
    "EfficientNet-B0 on Tiny-ImageNet is in the accuracy study's paper profile only (too slow for the quick "
    "study on a CPU): `fw-train sweep specs/accuracy.toml --profile paper` with FWA_TINYIMAGENET set"
)


def _absent_big(model: str, spec: str) -> str:
    return (
        f"{model} is out of the quick study (the scaling rule of docs/figures.md: an 880-step run costs minutes of "
        "CPU); "
        f"`fw-train sweep {spec} --profile paper` trains it"
    )


# What a figure drawn from the quick study (the embedded MNIST-1D and digits data) does not share with the paper's
# (FigureEntry.embedded): only what is true of any runs on that data. The numbers of the regime (epochs, steps,
# widths, Δt, densities, seeds) are measured from the figure's runs (entry.measured), so that they are true of the
# quick study (the scaling rule of docs/figures.md: 880 steps, Δt 20, the paper's ÷ 40) and of a user's runs alike.
_SHORT = (
    "MNIST-1D (the MLPs, 3,600 signals) and shifted digits (the conv nets, 1,077 images) instead of the paper's "
    "data, on which the paper trains 35,200 steps with Δt 800 (44 updates)"
)
_NO_BIG = "ResNet-56, VGG-16 and EfficientNet-B0 are out of the quick study (CPU time)"


def _made_apart(model: str) -> str:
    """The embedded-data note of a figure of a model too big for the quick study, whose runs were made anyway."""
    return f"digits; {model} is outside the quick study (CPU time): these runs were made apart from it."


_FACETS_DT = ["model", "dataset", "growth", "density"]
_QUICK_ROLES = (
    "On the embedded data (MNIST-1D for the MLPs, digits for the conv nets) every model stands for its paper setups."
)


def _accuracy_entry(fid: str, caption: str, sweeps: tuple[str, ...], rows: tuple[str, ...] = (), **kw) -> FigureEntry:
    """A figure of test accuracy vs density per criterion, with the static sparse and dense baselines (``rows``: the
    facet keys whose values make the rows of panels, as the caption lays them out)."""
    return FigureEntry(
        fid,
        caption,
        sweeps,
        A.accuracy_table,
        _ident,
        draw_metric_vs("density", facet=_ACC_FACETS, logx=True, rows=rows),
        baselines=True,
        **kw,
    )


def _learning_curve_entry(num: int, setup: str, what: str, embedded: str | None = None) -> FigureEntry:
    absent = {
        "efficientnet-tinyimagenet": _ABSENT_EFFNET_CURVES,
        "resnet56-cifar10": _absent_big("ResNet-56", "specs/accuracy.toml"),
        "resnet56-cifar100": _absent_big("ResNet-56", "specs/accuracy.toml"),
        "vgg16-cifar100": _absent_big("VGG-16", "specs/accuracy.toml"),
    }.get(setup)
    return FigureEntry(
        f"fig{num}-learning-curves-{setup}",
        f"Paper Fig. {num}: validation accuracy per epoch of {what} for each density, per criterion (random growth), "
        f"with the dense run (mean ± std over seeds). {_QUICK_ROLES}",
        ("accuracy",),
        _curves,
        _ident,
        draw_learning_curves,
        flt=RunFilter(criterion=PAPER_CRITERIA),
        baselines=True,
        setups=_setup_filter([setup]),
        absent=absent,
        embedded=embedded,
    )


FIGURES: dict[str, FigureEntry] = {
    e.id: e
    for e in [
        _accuracy_entry(
            "fig01-accuracy-vs-density",
            "Paper Fig. 1: test accuracy vs density of the five criteria with random (top) and gradient growth, "
            "static sparse and dense baselines, for six of the eight setups (the other two are Fig. 10); mean ± std "
            "over seeds. " + _QUICK_ROLES,
            ("accuracy",),
            rows=("growth",),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            setups=_setup_filter(_FIG1),
            embedded=f"{_SHORT}; {_NO_BIG}.",
        ),
        _accuracy_entry(
            "fig02-imagenet",
            "Paper Fig. 2: ResNet-50 on ImageNet at density 0.2 with gradient growth.",
            ("imagenet",),
            flt=RunFilter(dataset=("imagenet",)),
            absent=_ABSENT_IMAGENET,
        ),
        FigureEntry(
            "fig03a-cd-all",
            "Paper Fig. 3a: critical-difference diagram of the five criteria's ranks over all (model, dataset, "
            "growth, density) blocks of the accuracy study (Friedman + Nemenyi, α = 0.05).",
            ("accuracy",),
            _cd,
            cd_table,
            draw_cd,
            flt=RunFilter(criterion=PAPER_CRITERIA),
            embedded=f"{_SHORT}; the blocks of these runs instead of the paper's 8 setups x 11 densities x 2 growths.",
        ),
        FigureEntry(
            "fig03b-cd-low-density",
            "Paper Fig. 3b: the same over blocks with density ≤ 0.2.",
            ("accuracy",),
            _cd,
            cd_table,
            draw_cd,
            flt=RunFilter(criterion=PAPER_CRITERIA, density_max=0.2),
            embedded=f"{_SHORT}.",
        ),
        FigureEntry(
            "fig03c-cd-high-density",
            "Paper Fig. 3c: the same over blocks with density > 0.2.",
            ("accuracy",),
            _cd,
            cd_table,
            draw_cd,
            flt=RunFilter(criterion=PAPER_CRITERIA, density_gt=0.2),
            embedded=f"{_SHORT}.",
        ),
        FigureEntry(
            "fig04-loss-gap",
            "Paper Fig. 4: validation minus training loss per epoch on the large MLP at density 0.5 for the five "
            "criteria (random growth), static sparse, dense and dense with dropout p = 0.05 (left), and their test "
            "accuracy (right).",
            ("loss-gap",),
            _loss_gap,
            _loss_gap_table,
            draw_loss_gap_and_accuracy,
            baselines=True,
            embedded=f"{_SHORT}.",
            measure=("dropout",),
        ),
        FigureEntry(
            "fig05-update-period",
            "Paper Fig. 5: test accuracy vs update period Δt of the five criteria at densities 0.1 and 0.2, random "
            "and gradient growth, on the MLP, the small CNN and ResNet-56; the static run of each density dashed.",
            ("update-period",),
            _metric_x("update_period", dst_only=False),
            _ident,  # static runs: a flat line
            draw_metric_vs("update_period", facet=_FACETS_DT, logx=True),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            baselines=True,
            embedded=f"{_SHORT}; the paper's Δt 25-6400.",
        ),
        FigureEntry(
            "fig06a-jaccard-first-update",
            "Paper Fig. 6a: Jaccard index of the sets the criteria remove at the first update of a dense network "
            "(density 1.0, ρ = 0.5, measured once), one panel per model; mean over seeds; J_r: random's sets across "
            "seeds.",
            ("jaccard-first",),
            _first(),
            _group_table(jaccard_table),
            _draw_groups,
            flt=RunFilter(density=(1.0,), extra={"prune_fraction": 0.5}),
            embedded=(
                "MNIST-1D and digits; the first update (the paper's at step 800); one run per seed, the other "
                "criteria from its shadow sets."
            ),
        ),
        FigureEntry(
            "fig06b-jaccard-end",
            "Paper Fig. 6b: Jaccard index of the final masks of runs paired by seed (density 0.2, gradient growth), "
            "and of each run's initial mask, one panel per model; J_init: initial masks across seeds.",
            ("jaccard",),
            _per_group(A.jaccard_end),
            _group_table(jaccard_table),
            _draw_groups,
            flt=RunFilter(criterion=STRUCTURAL_CRITERIA),
            embedded=f"{_SHORT}.",
        ),
        FigureEntry(
            "fig07-mest-lambda",
            "Paper Fig. 7: test accuracy vs density of MEST (random growth) on the large MLP, one line per λ in |θ| + "
            "λ|∇θ| from 0.001 to 1000.",
            ("mest-lambda",),
            _metric_x("density", by=("model", "dataset", "growth", "mest_lambda", "criterion")),
            _ident,
            draw_mest_lambda,
            flt=RunFilter(criterion=("mest",)),  # the trainer records a λ for every DST run: only MEST's are Fig. 7's
            embedded=f"{_SHORT}.",
        ),
        FigureEntry(
            "fig08-sensitivity-vs-rsensitivity",
            "Paper Fig. 8: sensitivity |∇θ|/|θ| against RSensitivity |θ|/|∇θ| (and magnitude) on the large MLP with "
            "random growth: accuracy vs density (left) and validation accuracy per epoch at density 0.2 (right).",
            ("accuracy", "sensitivity"),
            _sensitivity_pair,
            _sensitivity_table,
            draw_sensitivity,
            flt=RunFilter(criterion=("sensitivity", "rsensitivity", "magnitude")),
            baselines=True,
            setups=_setup_filter(["mlp-cifar10"]),
            embedded=f"{_SHORT}.",
        ),
        _accuracy_entry(
            "fig09-roberta",
            "Paper Fig. 9 and Tables 5-6: pruning criteria when fine-tuning RoBERTa-Large on CommonsenseQA.",
            ("roberta",),
            flt=RunFilter(model=("roberta",)),
            absent=_ABSENT_ROBERTA,
        ),
        _accuracy_entry(
            "fig10-accuracy-vs-density-more",
            "Paper Fig. 10: test accuracy vs density for the remaining two setups, the small CNN on CIFAR-10 "
            "and ResNet-56 on CIFAR-100. " + _QUICK_ROLES,
            ("accuracy",),
            rows=("growth",),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            setups=_setup_filter(_FIG10),
            embedded=f"{_SHORT}; ResNet-56 on CIFAR-100 is out of the quick study (CPU time).",
        ),
        FigureEntry(
            "fig11-itop",
            "Paper Fig. 11: ITOP ratio (share of weights ever active) at the end of training vs Δt on the large MLP "
            "at density 0.1, random and gradient growth, rebuilt from the update files.",
            ("update-period",),
            _itop,
            _ident,
            draw_itop,
            flt=RunFilter(criterion=PAPER_CRITERIA, density=(0.1,)),
            setups=_setup_filter(["mlp-cifar10"]),
            embedded=f"{_SHORT}.",
        ),
        FigureEntry(
            "fig12-batch-size",
            "Paper Fig. 12: test accuracy vs density on LeNet-5-Caffe at the accuracy study's batch (left) and a "
            "batch eight times larger with the learning rate scaled and Δt shortened to see the same examples between "
            "updates (right); rows: growth.",
            ("accuracy", "batch-size"),
            partial(A.per_arm, field="batch_size", table=A.accuracy_table),
            _ident,
            draw_metric_vs("density", facet=[*_ACC_FACETS, "batch_size"], logx=True, rows=("growth",)),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            baselines=True,
            setups=_setup_filter(["lenet5-fashionmnist"]),
            embedded=(
                f"{_SHORT}; the quick study scales batch, learning rate and Δt two-fold instead of eight-fold: "
                "a batch eight times 128 is one step per epoch on digits."
            ),
            measure=("batch_size", "lr"),
        ),
        FigureEntry(
            "fig13-update-batch",
            "Paper Fig. 13: test accuracy vs density of the MLP and LeNet-5-Caffe as trained (update_batch_size none) "
            "and with a larger batch only for the gradient of the DST update.",
            ("accuracy", "update-batch"),
            _metric_x("density", by=("model", "dataset", "growth", "update_batch_size", "criterion")),
            _ident,
            draw_metric_vs("density", facet=[*_ACC_FACETS, "update_batch_size"], logx=True),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            setups=_setup_filter(["mlp-cifar10", "lenet5-fashionmnist"]),
            embedded=f"{_SHORT}.",
            measure=("update_batch_size",),
        ),
        _accuracy_entry(
            "fig14-efficientnet",
            "Paper Fig. 14: EfficientNet-B0 on Tiny-ImageNet from scratch and fine-tuned from ImageNet weights.",
            ("efficientnet",),
            flt=RunFilter(model=("efficientnet-b0",)),
            absent=_ABSENT_EFFNET,
        ),
        FigureEntry(
            "fig15-global-vs-local",
            "Paper Fig. 15: test accuracy with global pruning (y) against local pruning (x) on ResNet-56 at densities "
            "0.05, 0.1 and 0.15 for magnitude, MEST, RSensitivity and SNIP (random growth); above the diagonal global "
            "is better.",
            ("scope", "accuracy"),
            _scope,
            _ident,
            draw_scope_scatter,
            flt=RunFilter(
                criterion=("magnitude", "mest", "rsensitivity", "snip"), density=(0.05, 0.1, 0.15), growth=("random",)
            ),
            setups=_setup_filter(["resnet56-cifar10"]),
            absent=_absent_big("ResNet-56", "specs/scope.toml"),
            embedded=_made_apart("ResNet-56"),
        ),
        FigureEntry(
            "fig16-prune-schedule",
            "Paper Fig. 16: test accuracy vs Δt on the MLP with random growth under (a) the linear and (b) the "
            "constant pruning-fraction schedule at batch 128, (c) cosine at batch 128 (the update-period study) and "
            "(d) cosine at batch 256.",
            ("schedule", "update-period"),
            _metric_x(
                "update_period",
                by=("model", "dataset", "growth", "density", "prune_schedule", "batch_size", "criterion"),
            ),
            _ident,
            draw_metric_vs(
                "update_period",
                facet=["model", "density", "prune_schedule", "batch_size"],
                logx=True,
                order={"prune_schedule": _FIG16_SCHEDULES},  # (a)-(d) as the caption orders them
                ncols=4,
            ),
            flt=RunFilter(criterion=PAPER_CRITERIA, growth=("random",)),
            setups=_setup_filter(["mlp-cifar10"]),
            embedded=f"{_SHORT}; the paper's linear schedule decays x0.99 every 600 steps.",
            measure=("prune_schedule", "batch_size", "prune_linear_every"),
        ),
        FigureEntry(
            "fig17-jaccard-first-update-rho",
            "Paper Fig. 17: first-update Jaccard of the criteria for initial pruning fractions ρ = 0.5, 0.25, 0.125 "
            "and 0.0625 (constant schedule, measured once on a dense network), one panel per model and ρ; mean over "
            "seeds.",
            ("jaccard-first",),
            _first(),
            _group_table(jaccard_table),
            _draw_groups,
            flt=RunFilter(density=(1.0,)),
            embedded="MNIST-1D and digits; the first update (the paper's at step 800); one run per seed and setting.",
            measure=("prune_fraction",),
        ),
        FigureEntry(
            "fig18-jaccard-over-time",
            "Paper Fig. 18: Jaccard between each run's removed set and what every other criterion would have removed "
            "from the same state, every 4th update (every 3,200 iterations in the paper); rows: the run's criterion.",
            ("jaccard",),
            _time_rows_per_group,
            _ident,
            draw_jaccard_time,
            flt=RunFilter(criterion=STRUCTURAL_CRITERIA),
            embedded=f"{_SHORT}.",
        ),
        FigureEntry(
            "fig19-never-removed",
            "Paper Fig. 19 (App. K): on the final masks of runs paired by seed, the weights kept by all five criteria "
            "relative to the weights each keeps, and the weights outside all final masks relative to the weights "
            "outside each (mean ± std over seeds).",
            ("jaccard",),
            partial(A.never_removed_rows, criteria=PAPER_CRITERIA),
            _ident,
            draw_never_removed,
            flt=RunFilter(criterion=PAPER_CRITERIA),
            embedded=f"{_SHORT}.",
        ),
        FigureEntry(
            "fig20-jaccard-first-update-std",
            "Paper Fig. 20: standard deviation of Fig. 6a's index, taken over seeds per layer and averaged over "
            "layers (as the paper computes it).",
            ("jaccard-first",),
            _first(std="layers"),
            _group_table(jaccard_table),
            partial(_draw_groups, show_std="only"),
            flt=RunFilter(density=(1.0,), extra={"prune_fraction": 0.5}),
            embedded="MNIST-1D and digits.",
        ),
        FigureEntry(
            "fig21-jaccard-end-std",
            "Paper Fig. 21: standard deviation over seeds of Fig. 6b's index.",
            ("jaccard",),
            _per_group(A.jaccard_end),
            _group_table(jaccard_table),
            partial(_draw_groups, show_std="only"),
            flt=RunFilter(criterion=STRUCTURAL_CRITERIA),
            embedded=f"{_SHORT}.",
        ),
        _accuracy_entry(
            "fig22-accuracy-vs-density-all",
            "Paper Fig. 22: test accuracy vs density for every model-dataset setup (rows), random and gradient "
            "growth (columns), with static sparse and dense baselines. " + _QUICK_ROLES,
            ("accuracy",),
            rows=("model", "dataset"),
            flt=RunFilter(criterion=PAPER_CRITERIA),
            embedded=f"{_SHORT}; {_NO_BIG}.",
        ),
        _learning_curve_entry(23, "lenet5-fashionmnist", "LeNet-5-Caffe (FashionMNIST)", f"{_SHORT}."),
        _learning_curve_entry(
            24, "mlp-higgs", "the small MLP (Higgs)", f"{_SHORT}; the small MLP on MNIST-1D instead of Higgs."
        ),
        _learning_curve_entry(25, "cnn-cifar10", "the small CNN (CIFAR-10)", f"{_SHORT}."),
        _learning_curve_entry(
            26,
            "resnet56-cifar10",
            "ResNet-56 (CIFAR-10)",
            _made_apart("ResNet-56"),
        ),
        _learning_curve_entry(
            27,
            "resnet56-cifar100",
            "ResNet-56 (CIFAR-100)",
            "digits; the same runs as Fig. 26 (one ResNet-56 setup on the embedded data).",
        ),
        _learning_curve_entry(28, "mlp-cifar10", "the large MLP (CIFAR-10)", f"{_SHORT}."),
        _learning_curve_entry(29, "efficientnet-tinyimagenet", "EfficientNet-B0 (Tiny-ImageNet)"),
        _learning_curve_entry(
            30,
            "vgg16-cifar100",
            "VGG-16 (CIFAR-100)",
            _made_apart("VGG-16"),
        ),
        FigureEntry(
            "figx1-set-defect",
            "Beyond the paper: SET as the paper defines it (set) against the authors' SET code (set-legacy, which "
            "removes almost every negative weight at each update), beside magnitude: test accuracy vs density per "
            "setup and growth, and their average ranks over the (model, dataset, growth, density) blocks (last panel).",
            ("set-defect", "accuracy"),
            _set_defect,
            _set_defect_table,
            draw_set_defect,
            flt=RunFilter(criterion=_SET_DEFECT),
            summary=_set_defect_summary,
            embedded=f"{_SHORT}.",
        ),
    ]
}
