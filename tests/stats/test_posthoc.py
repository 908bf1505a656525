"""Pairwise post-hoc p-values, Bonferroni-Dunn, the omnibus gate on cliques and the warnings of
fwanalysis.stats.cd, each checked against an independent computation: scikit-posthocs (whose Holm
step comes from statsmodels), scipy's distributions used directly, and Demšar's (2006) Table 5b."""

import math

import numpy as np
import pandas as pd
import pytest
import scikit_posthocs as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from fwanalysis.stats.cd import (
    bonferroni_dunn,
    bonferroni_dunn_cd,
    cd_analysis,
    nemenyi_pvalues,
    wilcoxon_holm_pvalues,
)


def random_matrix(seed: int, n: int, k: int, *, ties: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, k)) + rng.uniform(0, 1, size=k)  # methods differ a little
    if ties:
        values = np.round(values, 0)  # coarse scores: many tied ranks within blocks
    return pd.DataFrame(values, index=[f"b{i}" for i in range(n)], columns=[f"m{j}" for j in range(k)])


def long(matrix: pd.DataFrame) -> pd.DataFrame:
    return matrix.rename_axis(index="block", columns="method").stack().rename("score").reset_index()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 30), k=st.integers(2, 12), ties=st.booleans())
def test_nemenyi_pvalues_equal_scikit_posthocs(seed, n, k, ties):
    m = random_matrix(seed, n, k, ties=ties)
    ref = sp.posthoc_nemenyi_friedman(m.to_numpy())
    np.testing.assert_allclose(nemenyi_pvalues(m).to_numpy(), ref.to_numpy(), atol=1e-9)


@pytest.mark.parametrize("seed,n,k", [(0, 12, 5), (1, 30, 4), (2, 8, 6), (3, 20, 3)])
@pytest.mark.parametrize("ties", [False, True])
def test_wilcoxon_holm_pvalues_equal_scikit_posthocs(seed, n, k, ties):
    m = random_matrix(seed, n, k, ties=ties)
    if ties and (m.diff(axis=1).iloc[:, 1:] == 0).all(axis=0).any():
        pytest.skip("a pair identical in every block: scipy refuses it, fwa gives p = 1")
    ref = sp.posthoc_wilcoxon([m[c].to_numpy() for c in m], zero_method="zsplit", p_adjust="holm")
    np.testing.assert_allclose(wilcoxon_holm_pvalues(m).to_numpy(), ref.to_numpy(), atol=1e-9)


def test_nemenyi_p_below_alpha_exactly_when_ranks_differ_by_more_than_cd():
    for seed in range(20):
        m = random_matrix(seed, 15, 6)
        res = cd_analysis(long(m), alpha=0.05)
        p = pd.DataFrame(res.pairwise["p"], index=res.methods, columns=res.methods)
        for a in res.methods:
            for b in res.methods:
                if a != b:
                    apart = abs(res.avg_ranks[a] - res.avg_ranks[b]) > res.cd
                    assert (p.loc[a, b] < 0.05) == apart


# Demšar (2006), Table 5b: Bonferroni-Dunn critical values q_alpha for k = 2..10. At alpha = 0.05
# and k = 9 the table as we have it reads 2.724 while the normal quantile at 1 - 0.05/16 is 2.734;
# that one cell is left out rather than guessed.
TABLE_5B = {
    0.05: [1.960, 2.241, 2.394, 2.498, 2.576, 2.638, 2.690, None, 2.773],
    0.10: [1.645, 1.960, 2.128, 2.241, 2.326, 2.394, 2.450, 2.498, 2.539],
}


@pytest.mark.parametrize("alpha", [0.05, 0.10])
def test_bonferroni_dunn_cd_uses_demsar_table_5b(alpha):
    for k, q in zip(range(2, 11), TABLE_5B[alpha]):
        if q is None:
            continue
        se = math.sqrt(k * (k + 1) / (6 * 14))
        assert bonferroni_dunn_cd(k, 14, alpha=alpha) / se == pytest.approx(q, abs=2e-3)


def test_bonferroni_dunn_pvalues_from_scipy_normal():
    m = random_matrix(7, 18, 5)
    res = cd_analysis(long(m), control="m2")
    k, n = 5, 18
    ranks = stats.rankdata(-m.to_numpy(), axis=1).mean(axis=0)
    r = dict(zip(m.columns, ranks))
    se = math.sqrt(k * (k + 1) / (6 * n))
    assert set(res.control["p"]) == {"m0", "m1", "m3", "m4"}
    for name, p in res.control["p"].items():
        z = (r[name] - r["m2"]) / se
        assert p == pytest.approx(min(1.0, (k - 1) * 2 * stats.norm.sf(abs(z))), rel=1e-12)
        assert res.control["significant"][name] == (abs(r[name] - r["m2"]) > res.control["cd"])
    doc = res.to_json()["control"]
    assert doc["method"] == "m2" and doc["test"] == "bonferroni-dunn"


def test_bonferroni_dunn_refuses_unknown_control():
    with pytest.raises(ValueError, match="control 'nope' is not one of the methods: a, b"):
        bonferroni_dunn({"a": 1.0, "b": 2.0}, 5, control="nope")
    with pytest.raises(ValueError, match="control"):
        cd_analysis(long(random_matrix(0, 5, 3)), control="nope")


def balanced_latin_square(n_repeats: int, k: int) -> pd.DataFrame:
    """Every method takes every rank equally often: Friedman's statistic is exactly 0, p = 1."""
    rows = [np.roll(np.arange(k, dtype=float), shift) for _ in range(n_repeats) for shift in range(k)]
    return pd.DataFrame(rows, index=[f"b{i}" for i in range(len(rows))], columns=[f"m{j}" for j in range(k)])


def test_cliques_disappear_when_friedman_does_not_reject():
    m = balanced_latin_square(2, 5)
    res = cd_analysis(long(m))
    assert res.friedman["pvalue"] == pytest.approx(1.0)
    assert not res.significant and res.cliques == [] and not res.show_cliques
    assert any("not below α" in w and "not shown" in w for w in res.warnings)
    forced = cd_analysis(long(m), allow_insignificant=True)
    assert forced.cliques == [["m0", "m1", "m2", "m3", "m4"]] and forced.show_cliques
    assert any("drawn anyway" in w for w in forced.warnings)


def test_cliques_stay_when_friedman_rejects():
    rng = np.random.default_rng(3)
    m = pd.DataFrame(rng.normal(size=(30, 4)) * 0.1 + np.array([0, 0.05, 1, 1.05]), columns=list("abcd"))
    res = cd_analysis(long(m))
    assert res.significant and res.friedman["pvalue"] < 0.05
    assert sorted(map(sorted, res.cliques)) == [["a", "b"], ["c", "d"]]


def test_iman_davenport_omnibus_gates_instead():
    m = random_matrix(11, 12, 4)
    res = cd_analysis(long(m), omnibus="iman-davenport")
    assert res.omnibus_pvalue == res.iman_davenport["pvalue"]
    assert res.significant == (res.iman_davenport["pvalue"] < 0.05)
    assert res.to_json()["omnibus"] == {
        "test": "iman-davenport",
        "pvalue": res.iman_davenport["pvalue"],
        "reject": res.significant,
    }


def test_warnings_name_small_n_dropped_blocks_and_ties():
    m = random_matrix(5, 6, 4)
    scores = long(m)
    scores = pd.concat([scores, pd.DataFrame({"block": ["extra"], "method": ["m0"], "score": [1.0]})])
    res = cd_analysis(scores)
    text = " | ".join(res.warnings)
    assert "N = 6 blocks" in text and "N > 10" in text and "Demšar 2006" in text
    assert "1 of 7 blocks dropped" in text
    tied = cd_analysis(long(random_matrix(5, 12, 4, ties=True)))
    assert any(w.startswith("ties dominate") for w in tied.warnings)
    assert not any(w.startswith("ties dominate") for w in cd_analysis(long(random_matrix(5, 12, 4))).warnings)


def test_wilcoxon_warns_when_no_pair_can_be_significant():
    res = cd_analysis(long(random_matrix(1, 5, 3)), test="wilcoxon-holm")
    # with 5 blocks the smallest exact two-sided p is 2/2^5 = 0.0625 > 0.05
    assert any("2^(1-N) = 0.0625" in w for w in res.warnings)
    assert min(min(row) for row in res.pairwise["p"]) >= 0.0625 - 1e-12


def test_nemenyi_warns_when_cd_spans_the_rank_axis():
    res = cd_analysis(long(random_matrix(2, 2, 5)), allow_insignificant=True)
    assert res.cd >= 4 and any("can tell no two" in w for w in res.warnings)


def test_pairwise_is_ordered_like_methods_and_symmetric():
    res = cd_analysis(long(random_matrix(4, 14, 5)))
    assert res.pairwise["methods"] == res.methods
    p = np.array(res.pairwise["p"])
    np.testing.assert_allclose(p, p.T)
    assert np.all(np.diag(p) == 1.0)
    rows = res.pairwise_rows()
    assert len(rows) == 10 and rows[0]["method"] == res.methods[0]
