"""Structure analyses: the Jaccard index of what the criteria remove (first update, end, over time), the
weights kept or removed by every criterion, and the ITOP ratio (Figs. 6, 11, 17-21)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..artifacts import Run
from ..artifacts.select import (
    PoolingError,
    describe_fields,
    design,
    filter_hint,
    group_key,
    varying_fields,
)
from ..errors import UserError
from ..vocab import criterion_order
from .pooling import _cell_value, _order, _separate, _tag, _unique, pd


# -- structure: Jaccard, never-removed, ITOP ---------------------------------------------------------
def _dst_groups(runs: Sequence[Run], *, check: bool = True) -> dict[tuple, dict]:
    """``{group key: {seed: [runs]}}`` of the DST runs, groups = designs equal but for criterion and seed
    (criterion parameters are compared among runs of one criterion). With ``check``, raises
    :class:`PoolingError` when two runs of one group, seed and criterion differ (e.g. MEST at two λ)."""
    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(list))
    for r in _unique([r for r in runs if r.kind == "dst"]):
        out[group_key(r)][r.config.get("seed")].append(r)
    if check:
        _one_run_per_criterion(out)
    return out


def _one_run_per_criterion(groups: dict[tuple, dict]) -> None:
    """:class:`PoolingError` if a group and seed hold two runs of one criterion (runs are unique, so they differ)."""
    for by_seed in groups.values():
        for rs in by_seed.values():
            by_crit: dict[str, list[Run]] = defaultdict(list)
            for r in rs:
                by_crit[r.criterion].append(r)
            cell = next((c for c in by_crit.values() if len(c) > 1), None)
            if cell is not None:
                clash = varying_fields(cell, lambda r: 0)
                first = cell[0]
                raise PoolingError(
                    f"runs of {first.criterion} with seed {first.seed} differ in {describe_fields(cell, clash)}; "
                    f"pick one with {' '.join(filter_hint(f, design(first).get(f)) for f in clash)}"
                )


def group_fields(runs: Sequence[Run]) -> list[str]:
    """The design fields that tell the groups of the DST runs apart (criterion and seed aside), in config
    order; a field implied by the ones before it (a model's own learning rate or init) is left out."""
    keys = [dict(g) for g in {group_key(r) for r in runs if r.kind == "dst"}]
    if len(keys) < 2:
        return []
    differing = {k for g in keys for k in g if any(h.get(k) != g.get(k) for h in keys)}
    kept: list[str] = []
    for f in [f for f in varying_fields(runs, lambda r: 0) if f in differing]:
        values: dict[tuple, set] = defaultdict(set)
        for g in keys:
            values[tuple(g.get(k) for k in kept)].add(g.get(f))
        if any(len(v) > 1 for v in values.values()):
            kept.append(f)
    return kept


def split_groups(runs: Sequence[Run], *, always: Sequence[str] = ("model",)) -> dict[tuple, list[Run]]:
    """The DST runs split into groups, keyed by the values of ``always`` plus every field in which
    the groups differ (:func:`group_fields`), in sorted order: ``{((field, value), ...): runs}``."""
    dst = [r for r in runs if r.kind == "dst"]
    fields = list(dict.fromkeys([*always, *group_fields(dst)]))
    out: dict[tuple, list[Run]] = defaultdict(list)
    for r in dst:
        out[tuple((f, _cell_value(r, f)) for f in fields)].append(r)

    def order(v):  # numbers by value (Δt 3 before 10), then everything else by its text
        return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, repr(v))

    return dict(sorted(out.items(), key=lambda kv: [order(v) for _, v in kv[0]]))


def _one_group(runs: Sequence[Run], what: str) -> dict[tuple, dict]:
    """The single group of :func:`_dst_groups`; several groups are an error naming what separates them."""
    groups = _dst_groups(runs, check=False)
    if len(groups) > 1:
        dst = [r for by_seed in groups.values() for rs in by_seed.values() for r in rs]
        fields = group_fields(dst)
        first = next(iter(next(iter(groups.values())).values()))[0]
        raise PoolingError(
            f"{what} compares criteria within one group of runs (equal but for criterion and seed), "
            f"but the runs form {len(groups)} groups that differ in {describe_fields(dst, fields)}; "
            f"narrow to one, e.g. {' '.join(filter_hint(f, _cell_value(first, f)) for f in fields)}"
        )
    _one_run_per_criterion(groups)  # one group: each criterion and seed must have one run in it
    return groups


def _present(criteria: Iterable[str], only: Sequence[str] | None = None) -> list[str]:
    """The criteria in ``criteria`` in the paper's order, restricted to ``only`` when given."""
    return criterion_order(c for c in criteria if c != "init" and (only is None or c in only))


def _read_in_threads(fn, items: list) -> list:
    """``[fn(x) for x in items]``, in threads: reading update files is mostly zlib, which releases the GIL."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    workers = min(8, os.cpu_count() or 1, len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def first_update_sets(runs: Sequence[Run], *, what: str = "the first-update Jaccard") -> dict[tuple, dict[str, dict]]:
    """``{(group, seed): {criterion: removed set at the first update}}``.

    A criterion's own run gives its pruned set; criteria without a run come from the shadow sets of
    a run of the same group and seed (same weights, gradient and per-layer counts). Every run's update
    file is read at most once, several at a time.
    """
    plan: list[tuple[tuple, list[tuple[Run, list[str]]]]] = []
    for gi, (_, by_seed) in enumerate(sorted(_one_group(runs, what).items())):
        for seed, rs in sorted(by_seed.items(), key=lambda kv: repr(kv[0])):
            own: dict[str, Run] = {}
            for r in rs:
                if r.update_steps:
                    own.setdefault(r.criterion, r)
            missing = criterion_order(c for r in rs if r.update_steps for c in r.shadow_criteria if c not in own)
            reads = {id(r): (r, []) for r in own.values()}
            for donor in (r for r in rs if r.update_steps):  # shadow sets fill in criteria without a run of their own
                take = [c for c in missing if c in donor.shadow_criteria]
                if take:
                    reads.setdefault(id(donor), (donor, []))[1].extend(take)
                    missing = [c for c in missing if c not in take]
            if reads:
                plan.append(((gi, seed), list(reads.values())))
    flat = [task for _, tasks in plan for task in tasks]
    loaded = iter(_read_in_threads(lambda t: t[0].update(t[0].update_steps[0], shadow=t[1], grown=False), flat))
    out: dict[tuple, dict[str, dict]] = {}
    for key, tasks in plan:
        sets: dict[str, dict] = {}
        shadows: dict[str, dict] = {}
        for (r, _), upd in zip(tasks, loaded):  # own runs come first, so a donor never overrides one
            sets.setdefault(r.criterion, upd.pruned)
            shadows.update(upd.shadow)
        for c, v in shadows.items():
            sets.setdefault(c, v)
        out[key] = sets
    return out


def jaccard_first(runs: Sequence[Run], criteria: Sequence[str] | None = None, *, std: str = "seeds"):
    """Fig. 6a/17/20: Jaccard of the sets each criterion removes at the first update; reference J_r.

    ``criteria``: compare only these (shadow sets of the others are not shown); J_r still comes from
    the random criterion's sets when the runs have them. ``std``: ``seeds`` is the standard deviation
    over seeds of the layer-averaged index; ``layers`` the paper's Fig. 20 (per layer over seeds, then
    averaged over layers)."""
    import dataclasses

    from ..stats.jaccard import jaccard_summary, layerwise_std

    sets = first_update_sets(runs, what="the first-update Jaccard")
    if not sets:
        raise UserError("no DST runs with topology updates matched: the first-update Jaccard needs them")
    shown = _present((c for s in sets.values() for c in s), criteria)
    if not shown:
        raise UserError(f"none of the criteria {', '.join(criteria or [])} has a first-update set in the matched runs")
    res = jaccard_summary(sets, criteria=shown, at="first", reference_criterion="random")
    if std == "layers":
        res = dataclasses.replace(res, std=layerwise_std(sets, criteria=shown))
    elif std != "seeds":
        raise ValueError(f"std {std!r} is not one of: seeds, layers")
    return res


def jaccard_end(runs: Sequence[Run]):
    """Fig. 6b/21: Jaccard of the final masks of runs paired by seed, plus ``init``; reference J_init."""
    from ..stats.jaccard import jaccard_summary

    plan: list[tuple[tuple, dict[str, Run], Run]] = []
    for gi, (_, by_seed) in enumerate(sorted(_one_group(runs, "the end-of-training Jaccard").items())):
        for seed, rs in by_seed.items():
            own: dict[str, Run] = {}
            for r in rs:
                own.setdefault(r.criterion, r)
            plan.append(((gi, seed), own, rs[0]))
    reads = [(r, "final") for _, own, _ in plan for r in own.values()] + [(first, "init") for _, _, first in plan]
    loaded = dict(
        zip(
            ((id(r), what) for r, what in reads),
            _read_in_threads(lambda t: t[0].final_masks() if t[1] == "final" else t[0].initial_masks(), reads),
        )
    )
    sets: dict[tuple, dict[str, dict]] = {}
    for key, own, first in plan:
        sets[key] = {**{c: loaded[(id(r), "final")] for c, r in own.items()}, "init": loaded[(id(first), "init")]}
    if not sets:
        raise UserError("no DST runs matched: the end-of-training Jaccard needs them")
    shown = _present(c for s in sets.values() for c in s) + ["init"]
    return jaccard_summary(sets, criteria=shown, at="end", reference_criterion="init")


def jaccard_time_rows(runs: Sequence[Run], *, criteria: Sequence[str] | None = None, every: int = 1) -> pd.DataFrame:
    """Fig. 18: per run and update, Jaccard of the run's removed set and each other criterion's shadow set.

    ``criteria``: only runs of, and shadow sets of, these criteria. ``every``: every n-th update only
    (the paper looks every 3,200 iterations, every 4th update at Δt = 800), counted from the first."""
    from ..stats.jaccard import jaccard, jaccard_over_time

    if not (isinstance(every, int) and every >= 1):
        raise ValueError(f"every {every!r} must be a whole number of updates >= 1")
    rows = []
    for by_seed in _one_group(runs, "the Jaccard over time").values():
        for rs in by_seed.values():
            for r in rs:
                if criteria is not None and r.criterion not in criteria:
                    continue
                others = [c for c in r.shadow_criteria if c != r.criterion and (criteria is None or c in criteria)]
                for step in r.update_steps[every - 1 :: every] if others else []:
                    upd = r.update(step, shadow=others, grown=False)
                    for b in others:
                        rows.append(
                            {
                                "seed": r.seed,
                                "step": step,
                                "run_criterion": r.criterion,
                                "other": b,
                                "jaccard": jaccard(upd.pruned, upd.shadow[b]),
                            }
                        )
    if not rows:
        raise UserError(
            "no DST runs with shadow sets matched: the Jaccard over time needs them (record with --shadow all)"
        )
    out = jaccard_over_time(pd.DataFrame(rows))
    order = {c: i for i, c in enumerate(criterion_order([*out["run_criterion"], *out["other"]]))}
    return out.sort_values(
        ["run_criterion", "other", "step"], key=lambda s: s.map(order) if s.name != "step" else s, kind="stable"
    ).reset_index(drop=True)


def never_removed_rows(runs: Sequence[Run], criteria: Sequence[str] | None = None) -> pd.DataFrame:
    """Fig. 19 (paper App. K): per model and seed, on the **final** masks of the runs paired by seed: the
    weights kept by every criterion / mean weights kept per criterion, and the weights outside every final
    mask / mean weights outside per criterion (over all weights of the masked layers). ``criteria``: use
    only the runs of these criteria (default: every criterion with a run). Groups that differ in more than
    criterion and seed get rows of their own, with the fields that separate them as columns."""
    from ..stats.never_removed import never_removed_end

    runs = [r for r in runs if r.kind == "dst" and (criteria is None or r.criterion in criteria)]
    groups = _dst_groups(runs)
    sep = group_fields([r for by_seed in groups.values() for rs in by_seed.values() for r in rs])
    plan = []
    for _, by_seed in sorted(groups.items()):
        for seed, rs in sorted(by_seed.items(), key=lambda kv: repr(kv[0])):
            own: dict[str, Run] = {}
            for r in rs:
                own.setdefault(r.criterion, r)
            if len(own) >= 2:
                plan.append((seed, own))
    finals = _read_in_threads(lambda r: r.final_masks(), [r for _, own in plan for r in own.values()])
    it = iter(finals)
    rows = []
    for seed, own in plan:
        masks = {c: next(it) for c in own}
        rep = next(iter(own.values()))
        res = never_removed_end(masks, numel=rep.numel)
        row = {
            "model": rep.config.get("model"),
            "dataset": rep.config.get("dataset"),
            "seed": seed,
            "density": rep.config.get("density"),
            **{f: _cell_value(rep, f) for f in sep if f not in ("model", "dataset", "density")},
            "criteria": len(masks),
            "retained_by_all": res["retained_by_all"],
            "removed_by_all": res["removed_by_all"],
        }
        rows.append(row)
    if not rows:
        raise UserError(
            "no seed with complete DST runs of at least two criteria matched: "
            "never-removed compares the final masks of runs paired by seed"
        )
    df = pd.DataFrame(rows)
    df = df.sort_values(
        ["model", "dataset", *[f for f in sep if f not in ("model", "dataset")], "seed"],
        key=lambda col: col.map(repr),
        kind="stable",
    ).reset_index(drop=True)
    return _tag(df, runs, sep)


ITOP_CELL = ("model", "dataset", "growth", "density", "criterion", "update_period")


def itop_rows(runs: Sequence[Run]) -> pd.DataFrame:
    """ITOP ratio per DST run, rebuilt from the initial mask and every update file (Liu et al. 2021).

    Fields that separate runs of one (model, dataset, growth, density, criterion, Δt) are columns too
    (``attrs["separated_by"]``), so that :func:`itop_vs_update_period` averages over seeds only."""
    from ..stats.itop import itop_ratio

    dst = _unique([r for r in runs if r.kind == "dst"])
    sep = _separate(dst, ITOP_CELL)
    rows = []
    for r in dst:
        updates = (r.update(s, shadow=[]) for s in r.update_steps)
        rows.append(
            {
                "run_id": r.run_id,
                "criterion": r.criterion,
                "growth": r.config.get("growth"),
                "update_period": r.config.get("update_period"),
                "density": r.config.get("density"),
                "seed": r.seed,
                "model": r.config.get("model"),
                "dataset": r.config.get("dataset"),
                **{f: _cell_value(r, f) for f in sep},
                "itop": itop_ratio(r.initial_masks(), updates, numel=r.numel),
                "itop_logged": r.summary.get("itop"),
            }
        )
    if not rows:
        raise UserError("no DST runs matched: ITOP needs runs with topology updates")
    return _tag(pd.DataFrame(rows), dst, sep)


def itop_vs_update_period(rows: pd.DataFrame) -> pd.DataFrame:
    """Fig. 11: ITOP ratio vs Δt per criterion and growth, mean and std over seeds (and over nothing else:
    the fields in ``rows.attrs["separated_by"]`` are kept apart)."""
    from ..stats.tables import mean_std

    sep = list(rows.attrs.get("separated_by", []))
    keys = ["model", "dataset", "growth", "density", *sep, "criterion", "update_period"]
    out = mean_std(rows, by=keys, value="itop").rename(columns={"mean": "itop", "std": "itop_std"})
    out = _order(out, keys)
    out.attrs = dict(rows.attrs)
    return out
