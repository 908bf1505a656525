"""A figure entry (which runs -> which analysis -> which plot), how it selects its runs from a study, and how
it is built. The entries themselves are :data:`.registry.FIGURES`."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import matplotlib
import pandas as pd

from ..artifacts import Run
from ..artifacts.select import RunFilter, in_sweeps, profiles_of
from ..vocab import PRUNING_LOOPS
from .layout import draw_styled

__all__ = [
    "Built",
    "EMBEDDED",
    "FigureEntry",
    "SETUPS",
    "build",
    "check_one_profile",
    "drew_data",
    "measured",
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
    # what the libraries warned while it was computed and drawn (one line each, sorted, no repeats)
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing to draw: an empty table, or a figure with no data on any of its axes (e.g. Fig. 7 from runs
        without MEST's λ)."""
        return self.table.empty or not drew_data(self.figure)


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
    # Qualitative only: the numbers of the regime (epochs, Δt, densities, seeds) are measured from the runs
    # (:func:`measured`).
    embedded: str | None = None
    measure: tuple[str, ...] = ()  # config keys the figure varies, counted in its measured line beside the usual

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
        if r.kind in PRUNING_LOOPS:
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
    with warnings.catch_warnings(record=True) as caught:  # told in the report, never on the terminal
        warnings.simplefilter("always")
        result = entry.compute(rs)
        table = entry.table(result)
        fig = draw_styled(entry.draw, result)
    said = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return Built(figure=fig, table=table, runs=rs, result=result, warnings=said)


def drew_data(fig: matplotlib.figure.Figure) -> bool:
    """Whether any axes of ``fig`` shows data: a line with points, a collection (scatter, fill, heatmap mesh),
    an image, a patch (bar) or a table. Axes, titles, legends and texts alone are not data."""
    for ax in fig.axes:
        if ax.collections or ax.images or ax.patches or ax.tables:
            return True
        if any(len(line.get_xdata()) for line in ax.lines):
            return True
    return False


def _distinct(vs) -> list:
    """The distinct values, sorted (numbers first); a value that is not a number or a text (a list in a hand-written
    run.json) as its text."""
    vs = {v if isinstance(v, (int, float, str)) else str(v) for v in vs if v is not None}
    return sorted(vs, key=lambda v: (isinstance(v, str), v))


def _values(vs) -> str:
    """Sorted distinct values, numbers as ``%g``; more than six as their range and count."""
    text = [f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v) for v in _distinct(vs)]
    if len(text) > 6:
        return f"{text[0]}-{text[-1]} ({len(text)} values)"
    return ", ".join(text)


def _and(names: list[str]) -> str:
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]


def measured(runs: Sequence[Run], keys: Sequence[str] = ()) -> str:
    """One line of the regime counted from the runs' configs: each (model, dataset) with its epochs, steps and
    width, then growth, densities, Δt and updates of the DST runs, ``keys`` and the number of seeds.

    The caption's numbers for these runs, whatever study they come from (the quick study's or a user's)."""
    setups: dict[tuple, list[Run]] = {}
    for r in runs:
        setups.setdefault((str(r.config.get("model")), str(r.config.get("dataset"))), []).append(r)
    alike: dict[tuple[str, str], list[str]] = {}  # (dataset, its regime) -> the models trained so
    for (model, dataset), rs in sorted(setups.items()):
        epochs, steps = _values(r.config.get("epochs") for r in rs), _values(r.total_steps for r in rs)
        widths = _values(w for w in _distinct(r.config.get("width") for r in rs) if w != 1)
        what = [f"{epochs} epochs"] * bool(epochs) + [f"{steps} steps"] + [f"width {widths}"] * bool(widths)
        alike.setdefault((dataset, ", ".join(what)), []).append(model)
    parts = [f"{_and(models)} on {dataset} ({what})" for (dataset, what), models in sorted(alike.items())]
    dst = [r for r in runs if r.kind == "dst"]
    line = list(parts)
    for name, key, among in (("growth", "growth", dst), ("densities", "density", runs), ("Δt", "update_period", dst)):
        vs = _values(r.config.get(key) for r in among)
        if vs:
            line.append(f"{name} {vs}")
    if dst:
        n = _values(len(r.update_steps) for r in dst)
        line.append(f"{n} update{'s' * (n != '1')} per DST run")
    for key in keys:
        vs = _values(r.config.get(key) for r in runs)
        if vs:
            line.append(f"{key} {vs}")
    seeds = _distinct(r.config.get("seed") for r in runs)
    line.append(f"{len(seeds)} seed{'s' * (len(seeds) != 1)}")
    return f"Measured from these {len(runs)} runs: " + "; ".join(line) + "."
