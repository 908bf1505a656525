"""`fwa claims`: every claim of docs/claims.md holds on a synthetic study built for it, fails on a variant
built against it, and has no data when its study is absent; values checked against computations made here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import rankdata, studentized_range
from synthetic import LAYERS, write_study

from fwanalysis.artifacts import find_runs
from fwanalysis.claims import CLAIMS, evaluate

FIVE = ("magnitude", "set", "mest", "rsensitivity", "snip")
MODELS = ("m1", "m2")
DENS = (0.1, 0.2, 0.5, 0.8)
LOW_ACC = {"magnitude": 0.80, "set": 0.79, "mest": 0.78, "snip": 0.77, "rsensitivity": 0.70}
HIGH_ACC = {"rsensitivity": 0.95, "magnitude": 0.94, "set": 0.93, "mest": 0.92, "snip": 0.91}
# the variant against the accuracy claims: SNIP best and magnitude worst at low density, RSensitivity worst at high
LOW_BAD = {"snip": 0.80, "rsensitivity": 0.79, "mest": 0.78, "set": 0.77, "magnitude": 0.76}
HIGH_BAD = {"magnitude": 0.95, "set": 0.94, "mest": 0.93, "snip": 0.92, "rsensitivity": 0.85}
IDS = [c.id for c in CLAIMS]


def _acc_table(flip):
    lo, hi = (LOW_BAD, HIGH_BAD) if "accuracy" in flip else (LOW_ACC, HIGH_ACC)
    return lambda crit, d: (lo if d <= 0.2 else hi)[crit] + (0.001 * d if d in (0.2, 0.8) else 0)


def _first_sets(flip):
    """First-update sets on index ranges: magnitude = set = MEST = [0, k), RSensitivity k/4 further,
    SNIP k/4 before (so SNIP–RSensitivity is the least similar pair), random disjoint across seeds (J_r = 0)."""

    def sets(seed, crit, layer, init, k):
        n, s = init.size, max(1, k // 4)
        start = {
            "magnitude": 0,
            "set": s if "first-family" in flip else 0,
            "mest": 0,
            "rsensitivity": s,
            "snip": 2 * s if "first-least" in flip else -s,
            "random": seed * k,
        }[crit]
        out = np.zeros(n, bool)
        out[np.arange(start, start + k) % n] = True
        return out.reshape(init.shape)

    return sets


def jaccard_study(root: Path, model: str, n_updates: int, seeds, **kw):
    """The jaccard sweep's runs of ``model``: the five criteria at density 0.5, ``n_updates`` updates each."""
    return write_study(
        root,
        sweep="jaccard",
        seeds=seeds,
        densities=(0.5,),
        n_updates=n_updates,
        crits=FIVE,
        model=model,
        dataset="digits",
        baselines=False,
        **kw,
    )


def make_study(root: Path, flip=frozenset(), skip=frozenset()):
    """Every study the claims read, in miniature; ``flip``: the variants built to make claims fail;
    ``skip``: sweeps left out."""
    acc = _acc_table(flip)

    def one_seed(sweep, model, densities, **kw):  # a study of seed 0 on the embedded data
        write_study(root, sweep=sweep, seeds=(0,), densities=densities, model=model, dataset="digits", **kw)

    def design(sweep, crits, model, densities, **kw):  # one update, no baselines: a study beside Fig. 3's
        one_seed(sweep, model, densities, n_updates=1, crits=crits, baselines=False, **kw)

    def static_runs(value):  # write_study's arguments for static baselines of accuracy ``value``
        return {"baseline_methods": ("static",), "baseline_acc": lambda meth, d, s: value}

    if "accuracy" not in skip:
        static = 0.9 if "static" in flip else 0.6
        for m in MODELS:
            one_seed("accuracy", m, DENS, n_updates=1, crits=FIVE, acc=lambda c, d, s: acc(c, d), **static_runs(static))
            for d in DENS[1:]:  # a static run of every density (write_study makes one of the first)
                one_seed("accuracy", m, (d,), crits=(), **static_runs(static))
    if "set-defect" not in skip:
        legacy = (lambda c, d, s: 0.99) if "set-defect" in flip else (lambda c, d, s: acc("set", d) - 0.001)
        for m in MODELS:
            design("set-defect", ("set-legacy",), m, DENS, acc=legacy)
    if "update-period" not in skip:

        def up(dt):
            if "update-period" in flip:
                return lambda c, d, s: {5: 0.80, 20: 0.79, 80: 0.78}[dt]
            base = {5: 0.78, 20: 0.80, 80: 0.79}[dt]
            return lambda c, d, s: base - (0.08 if dt == 5 and c in ("snip", "rsensitivity") else 0)

        for dt in (5, 20, 80):
            design("update-period", FIVE, "m1", (0.1,), extra={"update_period": dt}, acc=up(dt))
        one_seed("update-period", "m1", (0.1,), crits=(), **static_runs(0.9 if "update-period" in flip else 0.6))
    if "mest-lambda" not in skip:
        off = {0.001: 0.001, 1.0: 0.02, 1000.0: 0.0005 if "mest" in flip else 0.2}
        for lam, o in off.items():
            extra = {"criterion_params": {"mest_lambda": lam}}
            design(
                "mest-lambda",
                ("mest",),
                "m1",
                (0.1, 0.5),
                extra=extra,
                acc=lambda c, d, s, o=o: acc("magnitude", d) - o,
            )
    if "sensitivity" not in skip:
        sign = 1 if "sensitivity" in flip else -1
        design(
            "sensitivity", ("sensitivity",), "m1", (0.1, 0.5), acc=lambda c, d, s: acc("rsensitivity", d) + sign * 0.1
        )
    if "jaccard-first" not in skip:
        for m in ("mlp-large", "cnn-small"):
            write_study(
                root,
                sweep="jaccard-first",
                seeds=(0, 1, 2),
                densities=(1.0,),
                n_updates=1,
                crits=(*FIVE, "random"),
                model=m,
                dataset="digits",
                baselines=False,
                extra={"prune_fraction": 0.5},
                first_sets=_first_sets(flip),
            )
    if "jaccard" not in skip:
        same_init = (
            (lambda seed, d: {n: np.random.default_rng(7).random(s) < d for n, s in LAYERS.items()})
            if "end" in flip
            else None
        )
        ups = {"mlp-large": 6 if "shares" in flip else 1, "cnn-small": 1, "resnet56": 1 if "shares" in flip else 6}
        for m, nu in ups.items():
            jaccard_study(root, m, nu, (0, 1, 2), extra={"growth": "gradient"}, init_of=same_init)
    return root


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = make_study(tmp_path_factory.mktemp("holds"))
    return root, find_runs(root)


@pytest.fixture(scope="module")
def verdicts(base):
    return {r.id: r for r in evaluate(base[1])}


def _cd(k: int, n: int, alpha=0.05) -> float:
    return studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2) * np.sqrt(k * (k + 1) / (6 * n))


def _ranks(table: dict[str, float] | list, crits) -> dict[str, float]:
    """Average ranks (1 = best) over blocks, each block a {criterion: accuracy} dict."""
    m = np.array([[b[c] for c in crits] for b in table])
    r = rankdata(-m, axis=1).mean(axis=0)
    return dict(zip(crits, r))


def test_claims_are_the_rows_of_docs_claims_md():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "claims.md").read_text()
    definitions, verdicts = doc.split("## Verdicts on the quick study")
    assert IDS == re.findall(r"^\| `([a-z0-9-]+)` \|", definitions, flags=re.M)
    current, *earlier = verdicts.split("\n### ")[1:]  # the quick study's current design first, then earlier designs
    assert IDS == re.findall(r"^\| `([a-z0-9-]+)` \|", current, flags=re.M)  # its verdict of every claim
    for design in earlier:  # every design tried keeps its verdicts (docs/claims.md lists them all)
        assert IDS == re.findall(r"^\| `([a-z0-9-]+)` \|", design, flags=re.M)
    assert {c.id: c.paper_value for c in CLAIMS if c.paper_value is not None} == {
        "resnet-shares-least": {"mlp": 0.23, "cnn": 0.37, "resnet56": 0.11}
    }


def test_every_claim_holds_on_the_study_built_for_it(verdicts):
    assert {i: v.verdict for i, v in verdicts.items()} == {i: "holds" for i in IDS}


def test_values_match_independent_computation(verdicts):
    acc = _acc_table(frozenset())
    low = [{c: acc(c, d) for c in FIVE} for _ in MODELS for d in (0.1, 0.2)]
    high = [{c: acc(c, d) for c in FIVE} for _ in MODELS for d in (0.5, 0.8)]
    rl, rh = _ranks(low, FIVE), _ranks(high, FIVE)
    v = verdicts["magnitude-best-at-low-density"]
    assert v.value == pytest.approx(rl["magnitude"] - min(rl.values()))
    assert v.detail["CD"] == pytest.approx(_cd(5, len(low)))
    assert v.detail["avg_ranks"] == pytest.approx(rl) and v.runs == 2 * 2 * 5
    assert verdicts["snip-not-better-than-magnitude"].value == pytest.approx(rl["magnitude"] - rl["snip"])
    assert verdicts["rsensitivity-better-at-high-density"].value == pytest.approx(
        rl["rsensitivity"] - rh["rsensitivity"]
    )
    spread = lambda blocks: np.mean([max(b.values()) - min(b.values()) for b in blocks])  # noqa: E731
    assert verdicts["differences-larger-at-low-density"].value == pytest.approx(spread(low) - spread(high))
    assert verdicts["dst-beats-static-at-low-density"].value == 1.0
    three = ("magnitude", "set", "set-legacy")
    blocks = [
        {"magnitude": acc("magnitude", d), "set": acc("set", d), "set-legacy": acc("set", d) - 0.001}
        for _ in MODELS
        for d in DENS
    ]
    r3 = _ranks(blocks, three)
    v = verdicts["set-defect-changes-little"]
    assert v.value == pytest.approx(abs(r3["set"] - r3["set-legacy"])) and v.detail["CD"] == pytest.approx(
        _cd(3, len(blocks))
    )
    assert verdicts["best-update-period-not-smallest"].value == 1.0
    assert verdicts["few-updates-beat-static"].value == 1.0
    assert verdicts["gradient-criteria-lose-more-at-small-update-period"].value == pytest.approx(0.08 - 0.0)
    assert verdicts["mest-between-magnitude-and-gradient"].value == pytest.approx(min(0.2 - 0.001, 0.2 - 0.02))
    assert verdicts["rsensitivity-beats-sensitivity"].value == pytest.approx(0.1)
    assert verdicts["first-update-magnitude-family"].value == pytest.approx(1.0)
    assert verdicts["snip-rsensitivity-least-similar"].value == 2


def test_resnet_share_matches_the_final_masks(tmp_path):
    """App. K's share, |∩ kept| / mean |kept| over all masked layers, recomputed from the masks written."""
    ups = {"mlp-large": 1, "resnet56": 6}
    truth = {m: jaccard_study(tmp_path, m, nu, (0, 1)) for m, nu in ups.items()}
    res = {r.id: r for r in evaluate(find_runs(tmp_path), only=("resnet-shares-least",))}["resnet-shares-least"]

    def share(t):
        per_seed = []
        for seed in (0, 1):
            finals = [t.final[(seed, c)] for c in FIVE]
            both = sum(np.logical_and.reduce([f[n] for f in finals]).sum() for n in LAYERS)
            per_seed.append(both / np.mean([sum(f[n].sum() for n in LAYERS) for f in finals]))
        return float(np.mean(per_seed))

    shares = {m: share(t) for m, t in truth.items()}
    assert res.value == pytest.approx(shares["resnet56"])
    assert res.detail["per_model"]["mlp-large"]["retained_by_all"] == pytest.approx(shares["mlp-large"])
    assert res.verdict == ("holds" if shares["resnet56"] < shares["mlp-large"] else "fails")
    assert res.paper_value == {"mlp": 0.23, "cnn": 0.37, "resnet56": 0.11}


FLIPS = {
    "accuracy": [
        "magnitude-best-at-low-density",
        "rsensitivity-better-at-high-density",
        "snip-not-better-than-magnitude",
        "differences-larger-at-low-density",
    ],
    "static": ["dst-beats-static-at-low-density"],
    "update-period": [
        "best-update-period-not-smallest",
        "few-updates-beat-static",
        "gradient-criteria-lose-more-at-small-update-period",
    ],
    "mest": ["mest-between-magnitude-and-gradient"],
    "sensitivity": ["rsensitivity-beats-sensitivity"],
    "first-family": ["first-update-magnitude-family"],
    "first-least": ["snip-rsensitivity-least-similar"],
    "end": ["end-masks-closer-than-random"],
    "shares": ["resnet-shares-least"],
    "set-defect": ["set-defect-changes-little"],
}
# a variant writes only the studies its claims read
READS = {
    "accuracy": {"accuracy"},
    "static": {"accuracy"},
    "update-period": {"update-period"},
    "mest": {"accuracy", "mest-lambda"},
    "sensitivity": {"accuracy", "sensitivity"},
    "first-family": {"jaccard-first"},
    "first-least": {"jaccard-first"},
    "end": {"jaccard"},
    "shares": {"jaccard"},
    "set-defect": {"accuracy", "set-defect"},
}
SWEEPS = {"accuracy", "set-defect", "update-period", "mest-lambda", "sensitivity", "jaccard-first", "jaccard"}


@pytest.mark.parametrize("flip", sorted(FLIPS))
def test_each_claim_fails_on_a_variant_built_against_it(tmp_path, flip):
    root = make_study(tmp_path, flip=frozenset({flip}), skip=frozenset(SWEEPS - READS[flip]))
    got = {r.id: r for r in evaluate(find_runs(root), only=FLIPS[flip])}
    assert {i: r.verdict for i, r in got.items()} == {i: "fails" for i in FLIPS[flip]}, {
        i: (r.value, r.detail) for i, r in got.items()
    }
    if flip == "first-family":
        assert got["first-update-magnitude-family"].value == pytest.approx(np.mean([9 / 15, 3 / 5]))
    if flip == "accuracy":
        low = [{c: _acc_table({"accuracy"})(c, d) for c in FIVE} for _ in MODELS for d in (0.1, 0.2)]
        r = _ranks(low, FIVE)
        assert got["magnitude-best-at-low-density"].value == pytest.approx(r["magnitude"] - min(r.values()))


def test_missing_sweep_gives_no_data(tmp_path):
    root = make_study(
        tmp_path,
        skip=frozenset({"update-period", "jaccard-first", "jaccard", "mest-lambda", "sensitivity", "set-defect"}),
    )
    got = {r.id: r for r in evaluate(find_runs(root))}
    absent = (
        FLIPS["update-period"]
        + FLIPS["first-family"]
        + FLIPS["first-least"]
        + FLIPS["end"]
        + FLIPS["shares"]
        + FLIPS["mest"]
        + FLIPS["sensitivity"]
    )
    for i in absent:
        assert got[i].verdict == "no data" and got[i].value is None and got[i].runs == 0 and got[i].detail["reason"], i
    assert "update-period" in got["few-updates-beat-static"].detail["reason"]
    assert (
        got["set-defect-changes-little"].verdict == "no data"
    )  # no set-legacy runs: the three criteria have no complete block
    assert all(got[i].verdict == "holds" for i in FLIPS["accuracy"] + FLIPS["static"])


def test_too_few_blocks_is_no_data(tmp_path):
    acc = _acc_table(frozenset())
    write_study(
        tmp_path,
        sweep="accuracy",
        seeds=(0,),
        densities=(0.1,),
        n_updates=1,
        crits=FIVE,
        model="m1",
        dataset="digits",
        acc=lambda c, d, s: acc(c, d),
    )
    got = {r.id: r for r in evaluate(find_runs(tmp_path), only=("magnitude-best-at-low-density",))}
    r = got["magnitude-best-at-low-density"]
    assert r.verdict == "no data" and "at least 2" in r.detail["reason"]


def _fwa(*args):
    exe = Path(sys.executable).with_name("fwa")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def test_cli_json_is_one_document_per_the_contract(base):
    root, _ = base
    p = _fwa("claims", str(root), "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert list(doc) == ["claims"] and [c["id"] for c in doc["claims"]] == IDS
    keys = ["id", "text", "source", "quantity", "value", "paper_value", "threshold", "verdict", "runs", "detail"]
    for c in doc["claims"]:
        assert list(c) == keys
        assert (
            c["verdict"] in ("holds", "fails", "no data")
            and isinstance(c["detail"], dict)
            and isinstance(c["runs"], int)
        )
        assert c["value"] is None or isinstance(c["value"], (int, float))
        assert c["paper_value"] is None or c["id"] == "resnet-shares-least"
    p = _fwa("claims", str(root), "--format", "csv")
    assert (
        p.returncode == 0
        and p.stdout.splitlines()[0] == "id,verdict,value,threshold,runs"
        and len(p.stdout.splitlines()) == len(IDS) + 1
    )
    p = _fwa("claims", str(root), "--format", "md", "--sweep", "accuracy")
    assert p.returncode == 0 and p.stdout.startswith("# ") and "## magnitude-best-at-low-density" in p.stdout
    assert "| `update-period`" not in p.stdout and "no data" in p.stdout  # --sweep accuracy: the Δt study filtered away


def test_cli_user_errors_are_one_line(tmp_path):
    for profile in ("quick", "paper"):
        write_study(
            tmp_path / profile,
            sweep="accuracy",
            seeds=(0,),
            n_updates=1,
            crits=FIVE,
            baselines=False,
            extra={"profile": profile},
        )
    p = _fwa("claims", str(tmp_path), "--format", "json")
    assert p.returncode == 1 and p.stdout == "" and p.stderr.startswith("error:") and "--config profile=" in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = _fwa("claims", str(tmp_path), "--format", "json", "--config", "profile=quick")
    assert p.returncode == 0, p.stderr
    json.loads(p.stdout)
    p = _fwa("claims", str(tmp_path / "nowhere"))
    assert p.returncode == 1 and p.stderr.startswith("error:")


def test_report_writes_claims_md_byte_identically(base, tmp_path):
    from fwanalysis.report import write_report

    root, runs = base
    write_report(runs, tmp_path / "a", studies=[str(root)], only=("fig03b",))
    write_report(list(reversed(runs)), tmp_path / "b", studies=[str(root)], only=("fig03b",))
    a, b = (tmp_path / "a" / "claims.md").read_bytes(), (tmp_path / "b" / "claims.md").read_bytes()
    assert a == b
    text = a.decode()
    assert "[holds](fig03b-cd-low-density.png)" in text
    assert (
        "[holds](fig05-update-period.png)" not in text
    )  # Fig. 5 was not built (--only fig03b): no link to a missing file
    index = (tmp_path / "a" / "index.md").read_text()
    assert "(claims.md)" in index.split("## ")[0]
    p = _fwa("claims", str(root), "--format", "md")
    assert p.stdout.split("\n## ")[1:] and text.count("\n## ") == p.stdout.count("\n## ")


def test_report_says_why_claims_cannot_be_evaluated(tmp_path):
    from fwanalysis.report import write_report

    for profile in ("quick", "paper"):
        write_study(
            tmp_path / profile,
            sweep="jaccard",
            seeds=(0, 1),
            n_updates=1,
            crits=FIVE,
            baselines=False,
            extra={"profile": profile},
        )
    items = write_report(find_runs(tmp_path), tmp_path / "rep", only=("fig06b",))
    assert items
    text = (tmp_path / "rep" / "claims.md").read_text()
    assert "could not be evaluated" in text and "profile" in text
