"""The claims on which weights the criteria choose (Figs. 6a, 6b, 19): Jaccard indices at the first update and of
the final masks, and the weights every criterion keeps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

from .. import analyses as A
from ..artifacts import Run
from ..artifacts.select import RunFilter
from ..vocab import STRUCTURAL_CRITERIA
from .base import FIVE, NoData, Outcome, _j, _model_of, _pair, _round, _used, only

_DST = RunFilter(method=("dst",))


def _first_update(rs: Sequence[Run]) -> dict:
    """``{group: JaccardResult}`` per model of Fig. 6a's runs: the jaccard-first study at density 1.0 and ρ = 0.5."""
    if not any(r.kind == "dst" for r in rs):
        raise NoData(
            "no DST runs of the jaccard-first study at density 1.0 and prune_fraction 0.5 "
            "(make them with `fw-train sweep specs/jaccard-first.toml`)"
        )
    out = {}
    for key, g in A.split_groups(rs).items():
        out[key] = A.jaccard_first(g, criteria=list(STRUCTURAL_CRITERIA))
    return out


def _first_magnitude_family(rs):
    results = _first_update(rs)
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


def _snip_rsens_least(rs):
    results = _first_update(rs)
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


def _end_masks(fig06b):
    rs = only(fig06b, _DST)
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


#: The shares of the weights kept by all criteria the paper reports (App. K, Fig. 19).
PAPER_SHARES = {"mlp": 0.23, "cnn": 0.37, "resnet56": 0.11}


def _shares(fig19):
    rs = only(fig19, _DST)
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
