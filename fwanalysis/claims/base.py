"""The claim machinery: a claim, what it computes (Outcome), its result, and the helpers every claim's
computation shares. A claim's runs are the runs its figures select (:func:`fwanalysis.figures.select_for`);
:func:`only` applies what the claim itself adds to them."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from .. import analyses as A
from ..artifacts import Run
from ..artifacts.io import json_ready
from ..artifacts.select import RunFilter
from ..figures import FIGURES, FigureEntry, one_profile, select_for
from ..vocab import PAPER_CRITERIA

VERDICTS = ("holds", "fails", "no data")
FIVE = tuple(PAPER_CRITERIA)  # magnitude, set, mest, rsensitivity, snip
LOW = 0.2  # low density: <= 0.2; high density: > 0.2 (Fig. 3b/3c)


class NoData(ValueError):
    """The runs a claim needs are absent or too few; the message says what is missing."""


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    source: str
    quantity: str
    threshold: str
    # The report figures (FIGURES ids) whose runs it uses; the first is the figure its verdict rests on.
    figures: tuple[str, ...]
    # One list of runs per figure, each as that figure selects it (select_for), in ``figures`` order.
    compute: Callable[..., Outcome] = field(repr=False, compare=False)
    paper_value: object = None
    # The statement counts every (model, dataset) setup of its figures' studies, not only the setups a figure
    # draws (Fig. 1 draws six of the eight, Fig. 8 the large MLP): their sweeps and filters, over every setup.
    all_setups: bool = False

    @property
    def figure(self) -> str:
        """The report figure the verdict rests on."""
        return self.figures[0]

    @property
    def sweeps(self) -> tuple[str, ...]:
        """The specs whose runs it uses (untagged runs count too): those of its figures."""
        return tuple(dict.fromkeys(s for f in self.figures for s in FIGURES[f].sweeps))


@dataclass
class Outcome:
    value: float | int | None
    holds: bool | Callable[[float], bool]  # or the test, applied to the value rounded to 12 decimals
    runs: int
    detail: dict


def _round(v: float) -> float:
    """Values are tested rounded to 12 decimals, so that float noise (0.9 − 0.5 against 0.98 − 0.58) never
    decides a verdict."""
    return round(float(v), 12)


@dataclass
class ClaimResult:
    id: str
    text: str
    source: str
    quantity: str
    value: float | int | None
    paper_value: object
    threshold: str
    verdict: str
    runs: int
    detail: dict

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "source": self.source,
            "quantity": self.quantity,
            "value": _num(self.value),
            "paper_value": self.paper_value,
            "threshold": self.threshold,
            "verdict": self.verdict,
            "runs": self.runs,
            "detail": json_ready(self.detail),
        }


def _num(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    v = float(v)
    return v if math.isfinite(v) else None


def check_profiles(runs: Sequence[Run]) -> None:
    """A ValueError when the runs hold several sweep profiles: claims are computed on one profile at a time."""
    one_profile(
        runs,
        lambda profiles: (
            f"the runs hold profiles {', '.join(profiles)}: claims are computed on one profile at a time; "
            f"pass --config profile={profiles[0]} (or filter the runs to one profile first)"
        ),
    )


# -- the runs of a claim -------------------------------------------------------------------------------
class Selected(list):
    """The runs one figure selects from a study (:func:`fwanalysis.figures.select_for`), in the study's order;
    ``entry`` is the figure (its filters name what a claim found missing). ``all_setups``: its sweeps and filters
    over every setup of the study (:attr:`Claim.all_setups`)."""

    def __init__(self, entry: FigureEntry, runs: Sequence[Run], *, all_setups: bool = False):
        self.entry = replace(entry, setups=None) if all_setups else entry
        super().__init__(select_for(self.entry, runs))


def only(runs: Sequence[Run], flt: RunFilter) -> list[Run]:
    """What a claim adds to its figure's selection: the runs that also pass ``flt`` (e.g. DST runs only)."""
    return [r for r in runs if flt.accepts(r)]


DST_OR_STATIC = RunFilter(method=("dst", "static"))  # the runs a figure with baselines holds, without the dense runs


def _used(*groups: Sequence[Run]) -> int:
    """How many distinct runs (repeats under another sweep name counted once) a claim used."""
    return len(A._unique([r for g in groups for r in g]))


def _model_of(key: tuple) -> str:
    return ", ".join(str(v) if f == "model" else f"{f}={v}" for f, v in key)


def _pair(a: str, b: str) -> str:
    return f"{a}–{b}"


def _j(res, a: str, b: str) -> float:
    i, j = res.criteria.index(a), res.criteria.index(b)
    return float(res.mean[i, j])


def _plain(v):
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _block_name(key: tuple) -> str:
    return "/".join(str(v) for _, v in key)


def _mean(xs):
    xs = list(xs)
    return math.fsum(xs) / len(xs)
