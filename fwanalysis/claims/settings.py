"""The claims on the DST settings: the update period Δt (Fig. 5), MEST's λ (Fig. 7) and sensitivity against
RSensitivity (Fig. 8)."""

from __future__ import annotations

from .. import analyses as A
from ..artifacts.select import RunFilter
from .base import DST_OR_STATIC, FIVE, NoData, Outcome, Selected, _block_name, _mean, _plain, _used, only


def _update_period(fig05: Selected, *, min_dts: int = 1):
    """Per panel (model, dataset, growth, density, kept-apart fields) of Fig. 5's runs without the dense runs:
    ``{Δt: {criterion: mean}}`` and the static mean; the panels with ``min_dts`` or more Δt."""
    rs = only(fig05, DST_OR_STATIC)
    dst = [r for r in rs if r.kind == "dst"]
    if not dst:
        raise NoData(
            "no DST runs of the five criteria in the update-period study "
            "(make them with `fw-train sweep specs/update-period.toml`)"
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
    return rs, {k: p for k, p in panels.items() if len(p["acc"]) >= min_dts}


def _best_dt_not_smallest(fig05: Selected):
    rs, panels = _update_period(fig05, min_dts=2)
    per = {}
    for key, p in panels.items():
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


def _few_updates(fig05: Selected):
    rs, panels = _update_period(fig05)
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


def _gradient_lose_more(fig05: Selected):
    rs, panels = _update_period(fig05, min_dts=2)
    per = {}
    for key, p in panels.items():
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


def _mest_lambda(fig07: Selected, fig01: Selected):
    """MEST over λ (Fig. 7) against the magnitude runs of the accuracy study (Fig. 1's, of every setup)."""
    mest = only(fig07, RunFilter(criterion=("mest",), method=("dst",)))
    if not mest:
        raise NoData("no MEST runs of the mest-lambda study (make them with `fw-train sweep specs/mest-lambda.toml`)")
    mag = only(fig01, RunFilter(criterion=("magnitude",), method=("dst",)))
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
            "the mest-lambda study needs two or more λ including λ = 1 "
            f"(have {', '.join(f'{x:g}' for x in lams) or 'none'})"
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


def _rsens_vs_sens(fig08: Selected):
    """Fig. 8's sensitivity runs against its RSensitivity runs (those of the accuracy study), random growth."""
    sens = only(fig08, RunFilter(criterion=("sensitivity",), growth=("random",), method=("dst",)))
    if not sens:
        raise NoData(
            "no sensitivity runs (random growth) of the sensitivity study "
            "(make them with `fw-train sweep specs/sensitivity.toml`)"
        )
    rsens = only(fig08, RunFilter(criterion=("rsensitivity",), growth=("random",), method=("dst",)))
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
