"""The paper's findings as tested claims (``fwa claims``, docs/claims.md).

Each entry of :data:`CLAIMS` states one finding of Nowak et al. (2023) as a quantity computed from runs
and a test fixed in advance; :func:`evaluate` computes every claim on the runs given and says whether it
**holds**, **fails** or has **no data**. Runs are selected as the report's figures select them: by the
spec that made them (``config["sweep"]``; untagged runs count for every claim) and by the five criteria.
Every statistic comes from :mod:`fwanalysis.analyses` (average ranks and CD from ``cd_scores`` +
``cd_result``, Jaccard from ``jaccard_first``/``jaccard_end`` per model group, shares from
``never_removed_rows``, accuracies from ``metric_vs``); this module only picks runs, reads the numbers
those functions return and applies the tests. It draws nothing and prints nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from . import analyses as A
from .artifacts import Run
from .artifacts.io import json_ready
from .artifacts.select import RunFilter, in_sweeps, profiles_of
from .markdown import md_text
from .vocab import PAPER_CRITERIA, STRUCTURAL_CRITERIA

__all__ = [
    "Claim",
    "ClaimResult",
    "CLAIMS",
    "FIGURE_OF",
    "VERDICTS",
    "evaluate",
    "check_profiles",
    "to_markdown",
    "rows",
]

VERDICTS = ("holds", "fails", "no data")
FIVE = tuple(PAPER_CRITERIA)  # magnitude, set, mest, rsensitivity, snip
LOW = 0.2  # low density: <= 0.2; high density: > 0.2 (Fig. 3b/3c)
#: The shares of the weights kept by all criteria the paper reports (App. K, Fig. 19).
PAPER_SHARES = {"mlp": 0.23, "cnn": 0.37, "resnet56": 0.11}


class NoData(ValueError):
    """The runs a claim needs are absent or too few; the message says what is missing."""


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    source: str
    quantity: str
    threshold: str
    sweeps: tuple[str, ...]  # the specs whose runs it uses (untagged runs count too)
    figure: str | None  # the report figure it rests on
    compute: Callable[[Sequence[Run]], Outcome] = field(repr=False, compare=False)
    paper_value: object = None


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


# -- run selection ------------------------------------------------------------------------------------
def _of(
    runs: Sequence[Run], sweeps: Sequence[str], flt: RunFilter | None = None, *, baselines: bool = False
) -> list[Run]:
    """The runs of these specs (or untagged) that pass ``flt`` (as figures.select_for)."""
    out = []
    for r in runs:
        if not in_sweeps(r, sweeps):
            continue
        if flt is None or flt.accepts(r, baselines=baselines):
            out.append(r)
    return out


def _used(*groups: Sequence[Run]) -> int:
    """How many distinct runs (repeats under another sweep name counted once) a claim used."""
    return len(A._unique([r for g in groups for r in g]))


def _model_of(key: tuple) -> str:
    return ", ".join(str(v) if f == "model" else f"{f}={v}" for f, v in key)


def check_profiles(runs: Sequence[Run]) -> None:
    """A ValueError when the runs hold several sweep profiles: claims are computed on one profile at a time."""
    profiles = profiles_of(runs)
    if len(profiles) > 1:
        raise ValueError(
            f"the runs hold profiles {', '.join(profiles)}: claims are computed on one profile at a time; "
            f"pass --config profile={profiles[0]} (or filter the runs to one profile first)"
        )


# -- Jaccard at the first update (Fig. 6a) -----------------------------------------------------------
_FIRST = RunFilter(density=(1.0,), extra={"prune_fraction": 0.5})


def _first_update(runs: Sequence[Run]) -> tuple[list[Run], dict]:
    """``{group: JaccardResult}`` per model of the jaccard-first study at density 1.0 and ρ = 0.5."""
    rs = _of(runs, ("jaccard-first",), _FIRST)
    if not any(r.config.get("method") == "dst" for r in rs):
        raise NoData(
            "no DST runs of the jaccard-first study at density 1.0 and prune_fraction 0.5 "
            "(make them with `fw-train sweep specs/jaccard-first.toml`)"
        )
    out = {}
    for key, g in A.split_groups(rs).items():
        out[key] = A.jaccard_first(g, criteria=list(STRUCTURAL_CRITERIA))
    return rs, out


def _j(res, a: str, b: str) -> float:
    i, j = res.criteria.index(a), res.criteria.index(b)
    return float(res.mean[i, j])


def _first_magnitude_family(runs):
    rs, results = _first_update(runs)
    panels, values = {}, []
    for key, res in results.items():
        missing = [c for c in ["magnitude", "set", "mest"] if c not in res.criteria]
        if missing:
            panels[_model_of(key)] = {"missing": missing}
            continue
        p = {"J(set, magnitude)": _j(res, "set", "magnitude"), "J(mest, magnitude)": _j(res, "mest", "magnitude")}
        panels[_model_of(key)] = p
        values += list(p.values())
    if not values:
        raise NoData(f"no model has first-update sets of magnitude, SET and MEST: {panels}")
    value = min(values)
    return Outcome(value, lambda v: v >= 0.9, _used(rs), {"per_model": panels})


def _pair(a: str, b: str) -> str:
    return f"{a}–{b}"


def _snip_rsens_least(runs):
    rs, results = _first_update(runs)
    panels, counted, ok = {}, 0, True
    for key, res in results.items():
        crits = [c for c in FIVE if c in res.criteria]
        name = _model_of(key)
        if "snip" not in crits or "rsensitivity" not in crits or len(crits) < 3:
            panels[name] = {"missing": [c for c in FIVE if c not in crits]}
            continue
        jr = float(res.reference_value)
        if not math.isfinite(jr):
            panels[name] = {"missing": ["J_r (the random criterion's first-update sets)"]}
            continue
        pairs = {_pair(a, b): _j(res, a, b) for a, b in combinations(crits, 2)}
        least = min(pairs.values())
        at_least = sorted(p for p, v in pairs.items() if v == least)
        is_least = at_least == [_pair("rsensitivity", "snip")]
        others = [v for p, v in pairs.items() if p != _pair("rsensitivity", "snip")]  # "every OTHER pair" (Sec. 5.4)
        margin = min(others) - jr
        panels[name] = {"pairs": pairs, "J_r": jr, "least_similar": at_least, "min_other_J_minus_J_r": margin}
        counted += int(is_least)
        ok = ok and is_least and margin > 0
    measured = [p for p in panels.values() if "pairs" in p]
    if not measured:
        raise NoData(f"no model has first-update sets of SNIP, RSensitivity and another criterion with J_r: {panels}")
    return Outcome(counted, ok, _used(rs), {"per_model": panels, "models": len(measured)})


# -- critical differences of the accuracy study (Fig. 3) ---------------------------------------------
def _cd(
    runs: Sequence[Run], flt: RunFilter, sweeps=("accuracy",), what="the accuracy study"
) -> tuple[list[Run], object]:
    rs = _of(runs, sweeps, flt)
    if not any(r.config.get("method") == "dst" for r in rs):
        raise NoData(f"no DST runs of {what} ({flt.describe()})")
    scores = A.cd_scores(rs)
    if scores.empty:
        raise NoData(f"no test accuracies in {what} ({flt.describe()})")
    res = A.cd_result(scores)
    if res.n_blocks < 2:
        raise NoData(
            f"{res.n_blocks} complete block(s) in {what} ({flt.describe()}; {res.dropped_blocks} dropped as incomplete): "
            "a critical difference needs at least 2"
        )
    return rs, res


def _cd_detail(res) -> dict:
    return {
        "avg_ranks": {m: float(res.avg_ranks[m]) for m in res.methods},
        "CD": float(res.cd),
        "n_blocks": int(res.n_blocks),
        "dropped_blocks": int(res.dropped_blocks),
        "alpha": float(res.alpha),
        "friedman_p": float(res.friedman["pvalue"]),
    }


def _rank(res, crit: str) -> float:
    if crit not in res.avg_ranks:
        raise NoData(f"{crit} has no complete block among {', '.join(res.methods)}")
    return float(res.avg_ranks[crit])


_LOW = RunFilter(criterion=FIVE, density_max=LOW)
_HIGH = RunFilter(criterion=FIVE, density_gt=LOW)


def _magnitude_best_low(runs):
    rs, res = _cd(runs, _LOW)
    value = _rank(res, "magnitude") - min(res.avg_ranks.values())
    return Outcome(value, lambda v: v <= _round(res.cd), _used(rs), _cd_detail(res))


def _rsens_high(runs):
    lo_rs, lo = _cd(runs, _LOW)
    hi_rs, hi = _cd(runs, _HIGH)
    value = _rank(lo, "rsensitivity") - _rank(hi, "rsensitivity")
    return Outcome(
        value, lambda v: v > 0, _used(lo_rs, hi_rs), {"low_density": _cd_detail(lo), "high_density": _cd_detail(hi)}
    )


def _snip_not_better(runs):
    rs, res = _cd(runs, _LOW)
    value = _rank(res, "magnitude") - _rank(res, "snip")
    return Outcome(value, lambda v: v < _round(res.cd), _used(rs), _cd_detail(res))


def _set_defect(runs):
    three = ("magnitude", "set", "set-legacy")
    rs, res = _cd(
        runs, RunFilter(criterion=three), sweeps=("set-defect", "accuracy"), what="the set-defect and accuracy studies"
    )
    value = abs(_rank(res, "set") - _rank(res, "set-legacy"))
    _rank(res, "magnitude")
    return Outcome(value, lambda v: v < _round(res.cd), _used(rs), _cd_detail(res))


# -- accuracy tables (Fig. 1) ------------------------------------------------------------------------
def _split_rows(df, keys: Sequence[str]):
    """``{block: {label: mean}}`` of a metric_vs frame, the block being ``keys`` plus the fields it kept apart."""
    sep = [s for s in df.attrs.get("separated_by", []) if s not in keys]
    blocks: dict[tuple, dict[str, float]] = {}
    for _, row in df.iterrows():
        key = tuple((k, _plain(row[k])) for k in [*keys, *sep])
        blocks.setdefault(key, {})[row["criterion"]] = float(row["mean"])
    return blocks


def _plain(v):
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _block_name(key: tuple) -> str:
    return "/".join(str(v) for _, v in key)


def _accuracy(runs):
    rs = _of(runs, ("accuracy",), RunFilter(criterion=FIVE, method=("dst", "static")), baselines=True)
    if not any(r.config.get("method") == "dst" for r in rs):
        raise NoData(
            "no DST runs of the five criteria in the accuracy study (make them with `fw-train sweep specs/accuracy.toml`)"
        )
    df = A.accuracy_table(rs)
    return rs, _split_rows(df, ["model", "dataset", "growth", "density"])


def _dst_beats_static(runs):
    import statistics

    rs, blocks = _accuracy(runs)
    per = {}
    for key, vals in blocks.items():
        d = dict(key)["density"]
        crit = [vals[c] for c in FIVE if c in vals]
        if d is None or d > LOW + 1e-12 or "static" not in vals or not crit:
            continue
        med = statistics.median(crit)
        per[_block_name(key)] = {
            "median_of_criteria": med,
            "static": vals["static"],
            "criteria": len(crit),
            "beats": med > vals["static"],
        }
    if not per:
        raise NoData(
            "no accuracy-study block with density <= 0.2 has both DST runs of the five criteria and a static run"
        )
    value = sum(p["beats"] for p in per.values()) / len(per)
    return Outcome(value, lambda v: v >= 0.75, _used(rs), {"blocks": per, "n_blocks": len(per)})


def _differences(runs):
    rs, blocks = _accuracy(runs)
    low, high = {}, {}
    for key, vals in blocks.items():
        d = dict(key)["density"]
        crit = [vals[c] for c in FIVE if c in vals]
        if d is None or len(crit) < 2:
            continue
        (low if d <= LOW + 1e-12 else high)[_block_name(key)] = max(crit) - min(crit)
    if not low or not high:
        raise NoData(
            f"the accuracy study needs blocks with two or more criteria at low and at high density "
            f"(have {len(low)} low, {len(high)} high)"
        )
    ml, mh = _mean(low.values()), _mean(high.values())
    return Outcome(
        ml - mh, lambda v: v > 0, _used(rs), {"spread_low": low, "spread_high": high, "mean_low": ml, "mean_high": mh}
    )


# -- update period (Fig. 5) --------------------------------------------------------------------------
def _update_period(runs):
    """Per panel (model, dataset, growth, density, kept-apart fields): ``{Δt: {criterion: mean}}`` and the static mean."""
    rs = _of(runs, ("update-period",), RunFilter(criterion=FIVE, method=("dst", "static")), baselines=True)
    dst = [r for r in rs if r.config.get("method") == "dst"]
    if not dst:
        raise NoData(
            "no DST runs of the five criteria in the update-period study (make them with `fw-train sweep specs/update-period.toml`)"
        )
    df = A.metric_vs(rs, x="update_period", by=("model", "dataset", "growth", "density", "criterion"))
    sep = [s for s in df.attrs.get("separated_by", []) if s != "update_period"]
    keys = ["model", "dataset", "growth", "density", *sep]
    panels: dict[tuple, dict] = {}
    for _, row in df.iterrows():
        key = tuple((k, _plain(row[k])) for k in keys)
        p = panels.setdefault(key, {"acc": {}, "static": []})
        if row["criterion"] == "static":
            p["static"].append(float(row["mean"]))
        elif row["criterion"] in FIVE and _plain(row["update_period"]) is not None:
            p["acc"].setdefault(_plain(row["update_period"]), {})[row["criterion"]] = float(row["mean"])
    return rs, {k: p for k, p in panels.items() if len(p["acc"]) >= 1}


def _mean(xs):
    xs = list(xs)
    return math.fsum(xs) / len(xs)


def _best_dt_not_smallest(runs):
    rs, panels = _update_period(runs)
    per = {}
    for key, p in panels.items():
        if len(p["acc"]) < 2:
            continue
        means = {dt: _mean(v.values()) for dt, v in sorted(p["acc"].items())}
        best = max(means, key=lambda dt: (means[dt], -dt))  # ties: the smaller Δt
        per[_block_name(key)] = {
            "mean_by_dt": {str(dt): m for dt, m in means.items()},
            "best_dt": best,
            "smallest_dt": min(means),
            "not_smallest": best != min(means),
        }
    if not per:
        raise NoData("no update-period panel has two or more Δt")
    value = sum(p["not_smallest"] for p in per.values()) / len(per)
    return Outcome(value, lambda v: v == 1, _used(rs), {"panels": per})


def _few_updates(runs):
    rs, panels = _update_period(runs)
    per = {}
    for key, p in panels.items():
        if not p["static"]:
            continue
        largest = max(p["acc"])
        m, s = _mean(p["acc"][largest].values()), _mean(p["static"])
        per[_block_name(key)] = {"largest_dt": largest, "mean_of_criteria": m, "static": s, "beats": m > s}
    if not per:
        raise NoData("no update-period panel has a static run of its density")
    value = sum(p["beats"] for p in per.values()) / len(per)
    return Outcome(value, lambda v: v >= 0.75, _used(rs), {"panels": per})


def _gradient_lose_more(runs):
    rs, panels = _update_period(runs)
    per = {}
    for key, p in panels.items():
        if len(p["acc"]) < 2:
            continue
        smallest = min(p["acc"])
        loss = {}
        for c in ("magnitude", "snip", "rsensitivity"):
            vals = {dt: v[c] for dt, v in p["acc"].items() if c in v}
            if smallest in vals:
                loss[c] = max(vals.values()) - vals[smallest]
        grad = [loss[c] for c in ("snip", "rsensitivity") if c in loss]
        if "magnitude" not in loss or not grad:
            continue
        per[_block_name(key)] = {
            "loss": loss,
            "smallest_dt": smallest,
            "gradient_minus_magnitude": _mean(grad) - loss["magnitude"],
        }
    if not per:
        raise NoData("no update-period panel has magnitude and SNIP or RSensitivity at two or more Δt")
    value = _mean(p["gradient_minus_magnitude"] for p in per.values())
    return Outcome(value, lambda v: v > 0, _used(rs), {"panels": per})


# -- MEST λ (Fig. 7) and sensitivity (Fig. 8) --------------------------------------------------------
_SETUP = ("model", "dataset", "growth", "density")


def _cells(df, what: str) -> dict[tuple, dict]:
    """``{(model, dataset, growth, density): row}`` of a metric_vs frame; several rows of one cell (runs that
    differ in a field kept apart) are an error naming the fields."""
    sep = df.attrs.get("separated_by", [])
    out: dict[tuple, dict] = {}
    for _, row in df.iterrows():
        key = tuple(_plain(row[k]) for k in _SETUP)
        if key in out:
            raise ValueError(
                f"{what}: runs of one setup and density differ in {', '.join(sep) or 'a field'}; narrow with --config"
            )
        out[key] = {k: _plain(v) for k, v in row.items()}
    return out


def _mest_lambda(runs):
    mest = _of(runs, ("mest-lambda",), RunFilter(criterion=("mest",), method=("dst",)))
    if not mest:
        raise NoData("no MEST runs of the mest-lambda study (make them with `fw-train sweep specs/mest-lambda.toml`)")
    mag = _of(runs, ("accuracy",), RunFilter(criterion=("magnitude",), method=("dst",)))
    if not mag:
        raise NoData("no magnitude runs of the accuracy study to compare MEST with")
    df = A.metric_vs(mest, x="density", by=("model", "dataset", "growth", "mest_lambda", "criterion"))
    by_lam: dict[float, dict] = {}
    for lam, g in df.groupby("mest_lambda", sort=True):
        g = g.copy()
        g.attrs = dict(df.attrs)
        by_lam[float(lam)] = _cells(g.drop(columns=["mest_lambda"]), f"MEST at λ={lam:g}")
    lams = sorted(by_lam)
    if len(lams) < 2 or 1.0 not in by_lam:
        raise NoData(
            f"the mest-lambda study needs two or more λ including λ = 1 (have {', '.join(f'{x:g}' for x in lams) or 'none'})"
        )
    lmin, lmax = lams[0], lams[-1]
    m = _cells(A.metric_vs(mag, x="density", by=("model", "dataset", "growth", "criterion")), "magnitude")
    per = {}
    for key in sorted(set(by_lam[lmin]) & set(by_lam[lmax]) & set(by_lam[1.0]) & set(m), key=repr):
        a_min, a_max, a_one, a_mag = (
            by_lam[lmin][key]["mean"],
            by_lam[lmax][key]["mean"],
            by_lam[1.0][key]["mean"],
            m[key]["mean"],
        )
        per["/".join(map(str, key))] = {
            "mest_lambda_min": a_min,
            "mest_lambda_max": a_max,
            "mest_lambda_1": a_one,
            "magnitude": a_mag,
            "gap_lambda_min": abs(a_min - a_mag),
            "gap_lambda_max": abs(a_max - a_mag),
            "drop": a_one - a_max,
        }
    if not per:
        raise NoData("no setup and density has MEST at λ_min, λ_max and λ = 1 and magnitude runs of the accuracy study")
    gmin, gmax = _mean(p["gap_lambda_min"] for p in per.values()), _mean(p["gap_lambda_max"] for p in per.values())
    drop = _mean(p["drop"] for p in per.values())
    value = min(gmax - gmin, drop)
    detail = {
        "lambda_min": lmin,
        "lambda_max": lmax,
        "mean_gap_lambda_min": gmin,
        "mean_gap_lambda_max": gmax,
        "mean_drop_lambda_1_to_max": drop,
        "per_density": per,
    }
    return Outcome(value, lambda v: v > 0, _used(mest, mag), detail)  # v > 0 iff both parts hold


def _rsens_vs_sens(runs):
    flt = RunFilter(growth=("random",), method=("dst",))
    sens = _of(runs, ("sensitivity",), RunFilter(criterion=("sensitivity",), growth=("random",), method=("dst",)))
    if not sens:
        raise NoData(
            "no sensitivity runs (random growth) of the sensitivity study (make them with `fw-train sweep specs/sensitivity.toml`)"
        )
    rsens = _of(runs, ("accuracy",), RunFilter(criterion=("rsensitivity",), growth=flt.growth, method=flt.method))
    if not rsens:
        raise NoData("no RSensitivity runs (random growth) of the accuracy study to compare sensitivity with")
    by = ("model", "dataset", "growth", "criterion")
    s = _cells(A.metric_vs(sens, x="density", by=by), "sensitivity")
    r = _cells(A.metric_vs(rsens, x="density", by=by), "rsensitivity")
    per = {
        "/".join(map(str, k)): {
            "rsensitivity": r[k]["mean"],
            "sensitivity": s[k]["mean"],
            "difference": r[k]["mean"] - s[k]["mean"],
        }
        for k in sorted(set(s) & set(r), key=repr)
    }
    if not per:
        raise NoData("no setup and density has both sensitivity and RSensitivity runs")
    value = _mean(p["difference"] for p in per.values())
    return Outcome(value, lambda v: v > 0, _used(sens, rsens), {"per_density": per})


# -- end of training (Figs. 6b, 19) ------------------------------------------------------------------
def _end_masks(runs):
    rs = _of(runs, ("jaccard",), RunFilter(criterion=STRUCTURAL_CRITERIA, method=("dst",)))
    if not rs:
        raise NoData("no DST runs of the jaccard study (make them with `fw-train sweep specs/jaccard.toml`)")
    per = {}
    for key, g in A.split_groups(rs).items():
        res = A.jaccard_end(g)
        crits = [c for c in FIVE if c in res.criteria]
        if len(crits) < 2:
            per[_model_of(key)] = {"missing": "fewer than two of the five criteria"}
            continue
        pairs = {_pair(a, b): _j(res, a, b) for a, b in combinations(crits, 2)}
        jinit = float(res.reference_value)
        per[_model_of(key)] = {"pairs": pairs, "J_init": jinit, "min_J_minus_J_init": min(pairs.values()) - jinit}
    vals = [p["min_J_minus_J_init"] for p in per.values() if "pairs" in p and math.isfinite(p["min_J_minus_J_init"])]
    if not vals:
        raise NoData(f"no model of the jaccard study has final masks of two of the five criteria and J_init: {per}")
    value = min(vals)
    return Outcome(value, lambda v: v > 0, _used(rs), {"per_model": per})


def _shares(runs):
    rs = _of(runs, ("jaccard",), RunFilter(criterion=FIVE, method=("dst",)))
    if not rs:
        raise NoData(
            "no DST runs of the five criteria in the jaccard study (make them with `fw-train sweep specs/jaccard.toml`)"
        )
    df = A.never_removed_rows(rs, criteria=FIVE)
    sep = [s for s in df.attrs.get("separated_by", []) if s not in ("model", "seed")]
    per = {}
    for key, g in df.groupby(["model", *sep], sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        name = ", ".join([str(key[0]), *(f"{f}={v}" for f, v in zip(sep, key[1:]))])
        per[name] = {
            "model": str(key[0]),
            "retained_by_all": float(g["retained_by_all"].mean()),
            "seeds": int(len(g)),
            "criteria": int(g["criteria"].max()),
        }
    resnet = [n for n, p in per.items() if p["model"] == "resnet56"]
    if not resnet:
        raise NoData(f"no ResNet-56 runs in the jaccard study (models measured: {', '.join(per) or 'none'})")
    if len({p["model"] for p in per.values()}) < 2:
        raise NoData("only ResNet-56 was measured: the claim compares it with other models")
    value = min(per[n]["retained_by_all"] for n in resnet)
    others = [p["retained_by_all"] for p in per.values() if p["model"] != "resnet56"]
    return Outcome(value, lambda v: v < _round(min(others)), _used(rs), {"per_model": per})


CLAIMS: list[Claim] = [
    Claim(
        "first-update-magnitude-family",
        "Magnitude, SET and MEST choose nearly the same weights at the first update",
        "Sec. 5.4, Fig. 6a",
        "per model of the jaccard-first study at density 1.0 and ρ = 0.5: J(SET, magnitude) and J(MEST, magnitude) at the first update; "
        "the smallest of them",
        ">= 0.9",
        ("jaccard-first",),
        "fig06a-jaccard-first-update",
        _first_magnitude_family,
    ),
    Claim(
        "snip-rsensitivity-least-similar",
        "SNIP and RSensitivity are the least similar pair, and every other pair overlaps more than random sets",
        "Sec. 5.4, Fig. 6a",
        "per model (as above): the least similar pair of the five criteria, and the smallest J of any other pair minus J_r; "
        "the number of models where SNIP–RSensitivity is the least similar pair",
        "in every model SNIP–RSensitivity is the least similar pair and every other pair's J > J_r",
        ("jaccard-first",),
        "fig06a-jaccard-first-update",
        _snip_rsens_least,
    ),
    Claim(
        "magnitude-best-at-low-density",
        "At low density magnitude is at least as good as every gradient-based criterion",
        "Sec. 5.2, Fig. 3b",
        "accuracy study, density <= 0.2: magnitude's average rank minus the best average rank of the five",
        "<= CD",
        ("accuracy",),
        "fig03b-cd-low-density",
        _magnitude_best_low,
    ),
    Claim(
        "rsensitivity-better-at-high-density",
        "RSensitivity ranks better at high density than at low density",
        "Sec. 5.2, Fig. 3c",
        "accuracy study: RSensitivity's average rank at low density minus its average rank at high density (ranks among the five; lower is better)",
        "> 0",
        ("accuracy",),
        "fig03c-cd-high-density",
        _rsens_high,
    ),
    Claim(
        "snip-not-better-than-magnitude",
        "SNIP is never clearly better than magnitude at low density",
        "Sec. 5.2, Fig. 3b",
        "accuracy study, density <= 0.2: magnitude's average rank minus SNIP's",
        "< CD",
        ("accuracy",),
        "fig03b-cd-low-density",
        _snip_not_better,
    ),
    Claim(
        "dst-beats-static-at-low-density",
        "DST beats static sparse training at low density",
        "Sec. 5.2, Fig. 1",
        "accuracy study: over (model, dataset, growth, density <= 0.2) blocks with a static run, the share of blocks where the median of the "
        "five criteria's mean accuracy exceeds the static run's mean accuracy",
        ">= 0.75",
        ("accuracy",),
        "fig01-accuracy-vs-density",
        _dst_beats_static,
    ),
    Claim(
        "differences-larger-at-low-density",
        "Differences between criteria are larger at low than at high density",
        "Sec. 5.2, Figs. 1, 10",
        "accuracy study: mean over blocks of (best − worst of the five criteria's mean accuracy), low-density blocks minus high-density blocks",
        "> 0",
        ("accuracy",),
        "fig01-accuracy-vs-density",
        _differences,
    ),
    Claim(
        "best-update-period-not-smallest",
        "Frequent updates are not needed: the best Δt is not the smallest",
        "Sec. 5.3, Fig. 5",
        "update-period study: per (model, dataset, growth, density) panel, the Δt with the best mean accuracy over the five criteria; "
        "the share of panels where that Δt is not the smallest",
        "= 1",
        ("update-period",),
        "fig05-update-period",
        _best_dt_not_smallest,
    ),
    Claim(
        "few-updates-beat-static",
        "Even a few updates (the largest Δt) beat static sparse training",
        "Sec. 5.3, Fig. 5",
        "update-period study: the share of panels where the five criteria's mean accuracy at the largest Δt exceeds the static run of that density",
        ">= 0.75",
        ("update-period",),
        "fig05-update-period",
        _few_updates,
    ),
    Claim(
        "gradient-criteria-lose-more-at-small-update-period",
        "At the smallest Δt gradient-based criteria lose more than magnitude",
        "Sec. 5.3, Fig. 5",
        "update-period study: per panel and criterion, the loss at the smallest Δt = its best mean accuracy over Δt minus "
        "its mean accuracy at the smallest Δt; the mean loss of SNIP and RSensitivity minus magnitude's, averaged over panels",
        "> 0",
        ("update-period",),
        "fig05-update-period",
        _gradient_lose_more,
    ),
    Claim(
        "mest-between-magnitude-and-gradient",
        "MEST approaches magnitude as λ → 0 and degrades for large λ",
        "App. A.3, Fig. 7",
        "mest-lambda study and the accuracy study's magnitude runs of the same setup: per density |MEST(λ_min) − magnitude|, "
        "|MEST(λ_max) − magnitude| and MEST(λ=1) − MEST(λ_max), averaged over densities; the value is the smaller of "
        "(mean |MEST(λ_max) − magnitude| − mean |MEST(λ_min) − magnitude|) and mean (MEST(λ=1) − MEST(λ_max))",
        "|MEST(λ_min) − magnitude| < |MEST(λ_max) − magnitude| and MEST(λ_max) < MEST(λ = 1) (value > 0)",
        ("mest-lambda", "accuracy"),
        "fig07-mest-lambda",
        _mest_lambda,
    ),
    Claim(
        "rsensitivity-beats-sensitivity",
        "RSensitivity beats sensitivity",
        "App. B, Fig. 8",
        "sensitivity study and the accuracy study's RSensitivity runs of the same setup (random growth): mean over densities of "
        "RSensitivity's minus sensitivity's mean accuracy",
        "> 0",
        ("sensitivity", "accuracy"),
        "fig08-sensitivity-vs-rsensitivity",
        _rsens_vs_sens,
    ),
    Claim(
        "end-masks-closer-than-random",
        "The masks at the end of training overlap more than independent random masks",
        "Sec. 5.4, Fig. 6b",
        "jaccard study: per model, the smallest end-of-training J between two of the five criteria minus J_init; the smallest over models",
        "> 0",
        ("jaccard",),
        "fig06b-jaccard-end",
        _end_masks,
    ),
    Claim(
        "resnet-shares-least",
        "The weights kept by all criteria at the end of training: about 23% (MLP), 37% (CNN), 11% (ResNet-56); "
        "ResNet-56's criteria share the fewest",
        "App. K, Fig. 19",
        "jaccard study, final masks of the five criteria: per model, the share of kept weights kept by all (mean over seeds); "
        "ResNet-56's share",
        "ResNet-56's share is the smallest of the models measured",
        ("jaccard",),
        "fig19-never-removed",
        _shares,
        paper_value=dict(PAPER_SHARES),
    ),
    Claim(
        "set-defect-changes-little",
        "The authors' SET code (set-legacy, which removes about every negative weight at each update) does not "
        "change SET's standing among the criteria",
        "beyond the paper; set-defect study",
        "set-defect and accuracy studies, blocks with magnitude, SET and set-legacy: |average rank of SET − average rank of set-legacy| "
        "among the three",
        "< CD",
        ("set-defect", "accuracy"),
        "figx1-set-defect",
        _set_defect,
    ),
]

#: claim id -> the report figure its verdict rests on
FIGURE_OF = {c.id: c.figure for c in CLAIMS}


def evaluate(runs: Sequence[Run], *, only: Sequence[str] = ()) -> list[ClaimResult]:
    """Every claim (or those whose id is in ``only``) computed on ``runs``, in :data:`CLAIMS` order.

    Raises ValueError when the runs hold several sweep profiles. A claim whose runs are absent, too few or
    cannot be pooled is ``no data`` with the reason in ``detail["reason"]``; it never stops the others."""
    runs = sorted(runs, key=lambda r: r.run_id)
    check_profiles(runs)
    out = []
    for c in CLAIMS:
        if only and c.id not in only:
            continue
        try:
            o = c.compute(runs)
        except ValueError as e:  # NoData, PoolingError, an analysis that cannot be done on these runs
            out.append(
                ClaimResult(
                    c.id,
                    c.text,
                    c.source,
                    c.quantity,
                    None,
                    c.paper_value,
                    c.threshold,
                    "no data",
                    0,
                    {"reason": str(e)},
                )
            )
            continue
        value = _num(o.value)
        if isinstance(value, float):
            value = _round(value)
        holds = o.holds(value) if callable(o.holds) and value is not None else o.holds
        verdict = "no data" if value is None else ("holds" if holds else "fails")
        detail = o.detail if value is not None else {**o.detail, "reason": "the value is not a finite number"}
        out.append(
            ClaimResult(c.id, c.text, c.source, c.quantity, value, c.paper_value, c.threshold, verdict, o.runs, detail)
        )
    return out


# -- output --------------------------------------------------------------------------------------------
def fmt_value(v) -> str:
    """Fixed formatting of a value (the report's bytes must not depend on float repr)."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4f}" if math.isfinite(v) else "–"
    return str(v)


def rows(results: Sequence[ClaimResult]) -> list[dict]:
    """One row per claim: id, verdict, value, threshold, runs (the table and CSV of ``fwa claims``)."""
    return [
        {"id": r.id, "verdict": r.verdict, "value": r.value, "threshold": r.threshold, "runs": r.runs} for r in results
    ]


def _md_cell(text: str) -> str:
    """fwa's own text (a claim's quantity or threshold, Markdown as written) in a table cell: ``|`` escaped."""
    return str(text).replace("|", "\\|")


def _detail_lines(detail, indent: int = 0) -> list[str]:
    """A claim's detail as a nested Markdown list; its keys and values hold names and messages from the runs
    (models, criteria, reasons quoting config values), so every one is escaped (:func:`.markdown.md_text`)."""
    pad = "  " * indent
    lines = []
    for k, v in detail.items():
        if isinstance(v, dict):
            lines.append(f"{pad}- {md_text(k)}:")
            lines += _detail_lines(v, indent + 1)
        elif isinstance(v, (list, tuple)):
            lines.append(f"{pad}- {md_text(k)}: {', '.join(md_text(fmt_value(x)) for x in v) or '–'}")
        else:
            lines.append(f"{pad}- {md_text(k)}: {md_text(fmt_value(_plain(v)))}")
    return lines


def to_markdown(
    results: Sequence[ClaimResult],
    *,
    links: dict[str, str] | None = None,
    title: str = "# The paper's findings as tested claims",
) -> str:
    """The markdown of ``fwa claims --format md``: a table, then one section per claim with its text,
    source, value and detail. ``links``: claim id -> the file its verdict links to (the report's figure)."""
    links = links or {}
    lines = [title, "", "| id | verdict | value | threshold | runs |", "|---|---|---|---|---|"]
    for r in results:
        verdict = f"[{r.verdict}]({links[r.id]})" if r.id in links else r.verdict
        lines.append(f"| [`{r.id}`](#{r.id}) | {verdict} | {fmt_value(r.value)} | {_md_cell(r.threshold)} | {r.runs} |")
    lines.append("")
    for r in results:
        lines += [
            f"## {r.id}",
            "",
            f"{r.text} ({r.source}).",
            "",
            f"- quantity: {_md_cell(r.quantity)}",
            f"- threshold: {_md_cell(r.threshold)}",
            f"- value: {fmt_value(r.value)}",
            f"- verdict: **{r.verdict}**" + (f" (figure: [{FIGURE_OF[r.id]}]({links[r.id]}))" if r.id in links else ""),
            f"- runs: {r.runs}",
        ]
        if r.paper_value is not None:
            lines.append(f"- paper value: {', '.join(f'{k} {fmt_value(v)}' for k, v in r.paper_value.items())}")
        lines += ["", "Detail:", ""]
        lines += _detail_lines(json_ready(r.detail)) or ["- –"]
        lines.append("")
    return "\n".join(lines)
