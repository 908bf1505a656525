"""A small synthetic study written through RunWriter with known contents (bool arrays kept for reference).

Every run is DST on a two-layer "model"; per seed the criteria share the initial mask (as the trainer
guarantees), and each criterion's first update removes a random subset of the active weights.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from fwanalysis.artifacts import RunWriter

LAYERS = {"l1.weight": (6, 7), "l2.weight": (3, 5)}
CRITS = ("magnitude", "snip", "random")


@dataclass
class Truth:
    """What was written, as bool arrays, for independent computations in the tests."""

    init: dict = field(default_factory=dict)  # seed -> layer -> bool
    first: dict = field(default_factory=dict)  # (seed, crit) -> layer -> bool (pruned at first update)
    shadow: dict = field(default_factory=dict)  # (seed, crit) -> other -> layer -> bool
    updates: dict = field(default_factory=dict)  # (seed, crit) -> list of (step, pruned, grown)
    final: dict = field(default_factory=dict)  # (seed, crit) -> layer -> bool
    acc: dict = field(default_factory=dict)  # (seed, crit, density) -> test acc
    run_ids: dict = field(default_factory=dict)  # (seed, crit, density) -> run id of a DST run
    baseline_ids: dict = field(default_factory=dict)  # (seed, method, density) -> run id of a dense or static run
    losses: dict = field(default_factory=dict)  # (seed, crit or method, density) -> epoch -> (train loss, val loss)


def _init(seed, density):
    rng0 = np.random.default_rng(1000 + seed)
    return {n: rng0.random(s) < density for n, s in LAYERS.items()}


def _subset(rng, mask, k):
    idx = np.flatnonzero(mask.ravel())
    pick = rng.choice(idx, size=min(k, idx.size), replace=False)
    out = np.zeros(mask.size, bool)
    out[pick] = True
    return out.reshape(mask.shape)


def write_study(
    root,
    *,
    seeds=(0, 1, 2),
    densities=(0.5,),
    n_updates=3,
    baselines=True,
    sweep=None,
    extra=None,
    crits=CRITS,
    model="toy",
    dataset="synthetic",
    baseline_methods=("dense", "static"),
    baseline_extra=None,
    acc=None,
    baseline_acc=None,
    first_sets=None,
    init_of=None,
) -> Truth:
    """Optional hooks (None: the default contents): ``acc(crit, density, seed)`` the test accuracy of a DST
    run, ``baseline_acc(method, density, seed)`` that of a baseline, ``first_sets(seed, crit, layer, init, k)``
    the bool array a criterion removes at the first update (``k`` weights by default), ``init_of(seed, density)``
    the initial masks ``{layer: bool array}`` of a seed."""
    t = Truth()
    acc_fn = acc
    for density in densities:
        for seed in seeds:
            init = _init(seed, density) if init_of is None else init_of(seed, density)
            t.init[seed] = init
            # the first update's candidate sets per criterion, shared by every run of this seed (same state)
            k = {n: max(1, int(0.3 * init[n].sum())) for n in LAYERS}
            every = list(dict.fromkeys([*CRITS, *crits]))
            first = {
                c: {
                    n: (
                        _subset(np.random.default_rng(zlib.crc32(f"{seed}/{c}/{n}".encode())), init[n], k[n])
                        if first_sets is None
                        else np.asarray(first_sets(seed, c, n, init[n], k[n]), bool)
                    )
                    for n in LAYERS
                }
                for c in every
            }
            for ci, crit in enumerate(crits):
                cfg = {
                    "model": model,
                    "dataset": dataset,
                    "method": "dst",
                    "criterion": crit,
                    "growth": "random",
                    "density": density,
                    "update_period": 10,
                    "seed": seed,
                    "epochs": 4,
                    **(extra or {}),
                }
                if sweep:
                    cfg["sweep"] = sweep
                w = RunWriter(root, cfg, LAYERS, total_steps=10 * (n_updates + 1))
                t.run_ids[(seed, crit, density)] = w.run_id
                w.write_masks(0, init)
                mask = {n: m.copy() for n, m in init.items()}
                rng = np.random.default_rng(seed * 100 + ci)
                ups = []
                for u in range(n_updates):
                    step = 10 * (u + 1)
                    if u == 0:
                        pruned = first[crit]
                        shadow = {c: first[c] for c in every}
                    else:
                        pruned = {n: _subset(rng, mask[n], k[n]) for n in LAYERS}
                        shadow = {
                            c: (pruned if c == crit else {n: _subset(rng, mask[n], k[n]) for n in LAYERS})
                            for c in every
                        }
                    kept = {n: mask[n] & ~pruned[n] for n in LAYERS}
                    grown = {n: _subset(rng, ~kept[n], int(pruned[n].sum())) for n in LAYERS}
                    w.write_update(step, pruned, grown, shadow)
                    if u == 0:
                        t.shadow[(seed, crit)] = shadow
                    ups.append((step, pruned, grown))
                    mask = {n: kept[n] | grown[n] for n in LAYERS}
                t.updates[(seed, crit)] = ups
                t.first[(seed, crit)] = first[crit]
                t.final[(seed, crit)] = mask
                w.write_masks(10 * (n_updates + 1), mask)
                acc = (
                    0.5 + 0.1 * ci + 0.01 * seed + 0.2 * density
                    if acc_fn is None
                    else float(acc_fn(crit, density, seed))
                )
                t.acc[(seed, crit, density)] = acc
                for ep in range(1, 5):
                    w.log(10 * ep, ep, "train", "loss", 1.0 / ep)
                    w.log(10 * ep, ep, "val", "loss", 1.2 / ep + 0.01 * ci)
                    w.log(10 * ep, ep, "val", "acc", acc - 0.1 / ep)
                    t.losses.setdefault((seed, crit, density), {})[ep] = (1.0 / ep, 1.2 / ep + 0.01 * ci)
                w.log(40, 4, "test", "acc", acc)
                w.log(40, 4, "test", "loss", 1 - acc)
                union = {n: init[n].copy() for n in LAYERS}
                m = {n: init[n].copy() for n in LAYERS}
                for _, p, g in ups:
                    m = {n: (m[n] & ~p[n]) | g[n] for n in LAYERS}
                    union = {n: union[n] | m[n] for n in LAYERS}
                w.log(40, 4, "", "itop", sum(u.sum() for u in union.values()) / sum(u.size for u in union.values()))
                w.close("complete")
    if baselines:
        for seed in seeds:
            for method, dens in (("dense", 1.0), ("static", densities[0])):
                if method not in baseline_methods:
                    continue
                cfg = {
                    "model": model,
                    "dataset": dataset,
                    "method": method,
                    "density": dens,
                    "seed": seed,
                    "epochs": 4,
                    **(baseline_extra or {}),
                }
                if sweep:
                    cfg["sweep"] = sweep
                w = RunWriter(root, cfg, LAYERS, total_steps=40)
                t.baseline_ids[(seed, method, dens)] = w.run_id
                m = {
                    n: np.ones(s, bool)
                    if method == "dense"
                    else t.init.get(seed, _init(seed, dens) if init_of is None else init_of(seed, dens))[n]
                    for n, s in LAYERS.items()
                }
                w.write_masks(0, m)
                w.write_masks(40, m)
                for ep in range(1, 5):
                    w.log(10 * ep, ep, "train", "loss", 1.0 / ep)
                    w.log(10 * ep, ep, "val", "loss", 1.1 / ep)
                    w.log(10 * ep, ep, "val", "acc", 0.9 - 0.1 / ep)
                    t.losses.setdefault((seed, method, dens), {})[ep] = (1.0 / ep, 1.1 / ep)
                acc = (
                    (0.95 if method == "dense" else 0.6) + 0.01 * seed
                    if baseline_acc is None
                    else float(baseline_acc(method, dens, seed))
                )
                t.acc[(seed, method, dens)] = acc
                w.log(40, 4, "test", "acc", acc)
                w.close("complete")
    return t
