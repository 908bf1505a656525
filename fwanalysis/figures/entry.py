"""A figure entry (which runs -> which analysis -> which plot), how it selects its runs from a study, and how
it is built. The entries themselves are :data:`.registry.FIGURES`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib
import pandas as pd

from ..artifacts import Run
from ..artifacts.select import RunFilter, in_sweeps, profiles_of
from ..vocab import PRUNING_METHODS
from .layout import draw_styled

__all__ = [
    "Built",
    "EMBEDDED",
    "FigureEntry",
    "SETUPS",
    "build",
    "check_one_profile",
    "one_profile",
    "select_for",
]

EMBEDDED = ("mnist1d", "digits")  # the quick study's data: a model on them stands for every paper setup of that model

# The paper's eight (model, dataset) setups and where each is drawn.
SETUPS = {
    "mlp-higgs": ("mlp-small", "higgs"),
    "mlp-cifar10": ("mlp-large", "cifar10"),
    "cnn-cifar10": ("cnn-small", "cifar10"),
    "lenet5-fashionmnist": ("lenet5-caffe", "fashionmnist"),
    "resnet56-cifar10": ("resnet56", "cifar10"),
    "resnet56-cifar100": ("resnet56", "cifar100"),
    "vgg16-cifar100": ("vgg16", "cifar100"),
    "efficientnet-tinyimagenet": ("efficientnet-b0", "tinyimagenet"),
}


@dataclass
class Built:
    """A computed figure: the drawn matplotlib figure, its data table and the runs behind it."""

    figure: matplotlib.figure.Figure
    table: pd.DataFrame
    runs: list[Run]
    result: object = None


@dataclass(frozen=True)
class FigureEntry:
    id: str
    caption: str
    sweeps: tuple[str, ...]  # which specs' runs (config["sweep"]); (): any
    compute: Callable[[list[Run]], object]  # runs -> result (analyses)
    table: Callable[[object], pd.DataFrame]
    draw: Callable[[object], matplotlib.figure.Figure]
    flt: RunFilter = field(default_factory=RunFilter)
    baselines: bool = False  # keep dense/static runs whatever the criterion filters say
    absent: str | None = None  # why its data cannot be made here, and the command that would make it
    setups: Callable[[Run], bool] | None = None  # which (model, dataset) setups; None: any
    summary: Callable[[object], str] | None = None  # result -> one line of measured numbers for the caption
    # What a figure drawn from the quick study (the embedded data) does not share with the paper's; the report
    # prints it under the caption when every run of the figure is on the embedded data. None: nothing to say.
    embedded: str | None = None

    @property
    def sweep(self) -> str | None:
        """The spec that makes this figure's own runs (the first of ``sweeps``)."""
        return self.sweeps[0] if self.sweeps else None


def _setup_filter(names: Sequence[str]) -> Callable[[Run], bool]:
    """Runs of these paper setups; on the embedded data, runs of the setups' models."""
    pairs = {SETUPS[n] for n in names}
    models = {m for m, _ in pairs}

    def accepts(r: Run) -> bool:
        m, d = r.config.get("model"), r.config.get("dataset")
        return (m, d) in pairs or (d in EMBEDDED and m in models)

    return accepts


def select_for(entry: FigureEntry, runs: Sequence[Run]) -> list[Run]:
    """The runs of a study an entry uses: those of its sweeps (or untagged runs) of its setups that pass
    its filters; never an imp or pai run (the paper's figures are of DST and its baselines)."""
    out = []
    for r in runs:
        if r.config.get("method") in PRUNING_METHODS:
            continue
        if entry.sweeps and not in_sweeps(r, entry.sweeps):
            continue
        if entry.setups is not None and not entry.setups(r):
            continue
        if entry.flt.accepts(r, baselines=entry.baselines):
            out.append(r)
    return out


def one_profile(runs: Sequence[Run], mixed: Callable[[list[str]], str]) -> None:
    """Runs of different sweep profiles (``config["profile"]``: quick, paper, ...) never meet in one result:
    a ValueError saying ``mixed(profiles)`` when ``runs`` hold several (untagged runs mix with any one)."""
    profiles = profiles_of(runs)
    if len(profiles) > 1:
        raise ValueError(mixed(profiles))


def check_one_profile(entry_id: str, runs: Sequence[Run]) -> None:
    """The runs of one figure hold one profile (:func:`one_profile`)."""
    one_profile(
        runs,
        lambda profiles: (
            f"{entry_id}: runs of profiles {', '.join(profiles)} would be mixed; "
            f"choose one with --profile {profiles[0]} (or report each study directory on its own)"
        ),
    )


def build(entry: FigureEntry, runs: Sequence[Run], *, select: bool = True) -> Built:
    """Compute and draw one entry from ``runs`` (selected for it unless ``select=False``)."""
    rs = select_for(entry, runs) if select else list(runs)
    if not rs:
        raise ValueError(
            f"{entry.id}: no runs for it (sweeps {', '.join(entry.sweeps) or 'any'}, {entry.flt.describe()})"
        )
    check_one_profile(entry.id, rs)
    result = entry.compute(rs)
    table = entry.table(result)
    fig = draw_styled(entry.draw, result)
    return Built(figure=fig, table=table, runs=rs, result=result)
