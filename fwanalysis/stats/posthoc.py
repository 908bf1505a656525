"""The post-hoc side of a critical-difference analysis (Demšar 2006, §3.2.2): the Nemenyi critical difference
and its cliques, Wilcoxon signed-rank tests with Holm's correction, the pairwise p-values of each, the
Bonferroni-Dunn comparison with a control, and the warnings a reader should see before trusting the result.

Pure functions of their arguments; :mod:`fwanalysis.stats.cd` puts them together (and re-exports them).
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats as _st

from .ranking import _check_int, average_ranks

__all__ = [
    "bonferroni_dunn",
    "bonferroni_dunn_cd",
    "cd_warnings",
    "cliques",
    "critical_difference",
    "nemenyi_pvalues",
    "wilcoxon_holm",
    "wilcoxon_holm_pvalues",
]

# ----------------------------------------------------------------------------- post-hoc


def _check_alpha(alpha) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}") from None
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    return a


def critical_difference(k: int, n_blocks: int, *, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks (Demšar 2006, §3.2.2, Eq. CD).

    CD = q_alpha sqrt(k(k+1) / (6N)), with q_alpha the studentized range quantile for
    k means and infinite degrees of freedom divided by sqrt(2) (Demšar's Table 5a:
    q_0.05 = 2.569, q_0.10 = 2.291 for k = 4). Two methods whose average ranks differ
    by at least CD are significantly different.

    Parameters
    ----------
    k : number of methods, >= 2.
    n_blocks : number of blocks N, >= 1.
    alpha : significance level in (0, 1).
    """
    _check_int("k", k, 2)
    _check_int("n_blocks", n_blocks, 1)
    a = _check_alpha(alpha)
    q = float(_st.studentized_range.ppf(1.0 - a, k, np.inf)) / math.sqrt(2.0)
    if not math.isfinite(q) or q <= 0:
        raise ValueError(f"scipy's studentized range has no finite quantile for alpha={alpha!r}, k={k}")
    return q * math.sqrt(k * (k + 1) / (6.0 * n_blocks))


def _ordered(avg_ranks) -> list[tuple[str, float]]:
    items = [(str(m), float(r)) for m, r in dict(avg_ranks).items()]
    return sorted(items, key=lambda mr: (mr[1], mr[0]))


def _contiguous_cliques(order: list[str], same) -> list[list[str]]:
    """Maximal runs of ``order`` whose members are pairwise ``same``; no subsets, no singletons."""
    runs: list[list[str]] = []
    for i in range(len(order)):
        j = i + 1
        while j < len(order) and all(same(order[m], order[j]) for m in range(i, j)):
            j += 1
        runs.append(order[i:j])
    out: list[list[str]] = []
    for run in runs:
        if len(run) < 2 or any(set(run) < set(other) for other in runs):
            continue
        if run not in out:
            out.append(run)
    return out


def cliques(avg_ranks, cd: float) -> list[list[str]]:
    """Groups of methods the Nemenyi test cannot tell apart (Demšar 2006, Fig. 1).

    Methods are ordered by average rank (best first, ties by name); a clique is a
    maximal contiguous run of that order whose average ranks span no more than ``cd``.
    Runs contained in another run and single methods are left out.

    Parameters
    ----------
    avg_ranks : mapping (or Series) method -> average rank.
    cd : critical difference, >= 0.

    Returns
    -------
    list of cliques, each a list of method names best first; cliques in order of their
    first method.
    """
    cd = float(cd)
    if not cd >= 0:
        raise ValueError(f"cd must be a non-negative number, got {cd!r}")
    items = _ordered(avg_ranks)
    rank = dict(items)
    tol = 1e-12 * max(1.0, cd)
    return _contiguous_cliques([m for m, _ in items], lambda a, b: abs(rank[a] - rank[b]) <= cd + tol)


def wilcoxon_holm(
    matrix: pd.DataFrame, *, alpha: float = 0.05, lower_is_better: bool = False
) -> tuple[pd.DataFrame, list[list[str]]]:
    """Pairwise Wilcoxon signed-rank tests with Holm's correction, and their cliques.

    Every pair of methods is compared with a two-sided Wilcoxon signed-rank test over
    blocks, zero differences split between the two rank sums (Demšar 2006, §3.1.3);
    Holm's step-down procedure controls the family-wise error (Demšar 2006, §3.2.2).
    Methods ordered by average rank form a clique when no pair inside a maximal
    contiguous run differs significantly (Ismail Fawaz et al. 2019).

    Returns
    -------
    pairs : DataFrame with columns ``method_a, method_b, pvalue, pvalue_holm,
        significant``, one row per unordered pair, sorted by raw p-value.
    cliques : as in ``cliques``.
    """
    a = _check_alpha(alpha)
    names = [str(c) for c in matrix.columns]
    values = matrix.to_numpy(dtype=float)
    rows = []
    for i, j in combinations(range(len(names)), 2):
        d = values[:, i] - values[:, j]
        if np.all(d == 0):
            p = 1.0
        else:
            p = float(_st.wilcoxon(values[:, i], values[:, j], zero_method="zsplit").pvalue)
        rows.append((names[i], names[j], p))
    pairs = pd.DataFrame(rows, columns=["method_a", "method_b", "pvalue"])
    pairs = pairs.sort_values(["pvalue", "method_a", "method_b"], kind="mergesort").reset_index(drop=True)
    m = len(pairs)
    # Holm: the i-th smallest p (0-based) is multiplied by m - i; keep it monotone.
    adjusted = np.minimum(1.0, np.maximum.accumulate(pairs["pvalue"].to_numpy() * (m - np.arange(m))))
    pairs["pvalue_holm"] = adjusted
    pairs["significant"] = adjusted < a
    different = {frozenset((r.method_a, r.method_b)) for r in pairs.itertuples() if r.significant}
    order = [m for m, _ in _ordered(average_ranks(matrix.set_axis(names, axis=1), lower_is_better=lower_is_better))]
    groups = _contiguous_cliques(order, lambda x, y: frozenset((x, y)) not in different)
    return pairs, groups


def _rank_se(k: int, n_blocks: int) -> float:
    """Standard error of a difference of two average ranks, sqrt(k(k+1)/(6N)) (Demšar §3.2.2)."""
    return math.sqrt(k * (k + 1) / (6.0 * n_blocks))


def nemenyi_pvalues(matrix: pd.DataFrame, *, lower_is_better: bool = False) -> pd.DataFrame:
    """Nemenyi p-value of every pair of methods (Demšar 2006, §3.2.2).

    The difference of two average ranks over its standard error sqrt(k(k+1)/(6N)), times
    sqrt(2), follows the studentized range distribution of k means with infinite degrees
    of freedom; p is its survival function. A pair differs at alpha exactly when its
    average ranks differ by more than ``critical_difference(k, N, alpha=alpha)``. The
    same statistic as scikit-posthocs' ``posthoc_nemenyi_friedman``.

    Returns
    -------
    Symmetric methods x methods DataFrame of p-values, 1 on the diagonal.
    """
    n, k = matrix.shape
    _check_int("k", k, 2)
    _check_int("n_blocks", n, 1)
    r = average_ranks(matrix, lower_is_better=lower_is_better).to_numpy()
    q = np.abs(r[:, None] - r[None, :]) * math.sqrt(2.0) / _rank_se(k, n)
    p = np.clip(_st.studentized_range.sf(q, k, np.inf), 0.0, 1.0)
    np.fill_diagonal(p, 1.0)
    names = [str(c) for c in matrix.columns]
    return pd.DataFrame(p, index=names, columns=names)


def wilcoxon_holm_pvalues(matrix: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Holm-adjusted Wilcoxon signed-rank p-value of every pair of methods (see ``wilcoxon_holm``).

    Returns
    -------
    Symmetric methods x methods DataFrame, 1 on the diagonal.
    """
    pairs, _ = wilcoxon_holm(matrix, alpha=alpha)
    names = [str(c) for c in matrix.columns]
    out = pd.DataFrame(np.ones((len(names), len(names))), index=names, columns=names)
    for r in pairs.itertuples():
        out.loc[r.method_a, r.method_b] = out.loc[r.method_b, r.method_a] = r.pvalue_holm
    return out


def bonferroni_dunn_cd(k: int, n_blocks: int, *, alpha: float = 0.05) -> float:
    """Bonferroni-Dunn critical difference for comparing k-1 methods with a control (Demšar §3.2.2).

    CD = q_alpha sqrt(k(k+1)/(6N)) with q_alpha the two-sided normal quantile at
    alpha/(k-1) (Demšar's Table 5b: 2.394 at alpha = 0.05 and 2.128 at 0.10 for k = 4).
    """
    _check_int("k", k, 2)
    _check_int("n_blocks", n_blocks, 1)
    a = _check_alpha(alpha)
    return float(_st.norm.isf(a / (2.0 * (k - 1)))) * _rank_se(k, n_blocks)


def bonferroni_dunn(avg_ranks, n_blocks: int, *, control: str, alpha: float = 0.05) -> dict:
    """Every method against ``control`` (Demšar 2006, §3.2.2): z = (R_i - R_c) / sqrt(k(k+1)/(6N)).

    Returns
    -------
    ``{"method": control, "cd": CD, "z": {m: z}, "p": {m: p}, "significant": {m: bool}}``
    over the other methods; p is the two-sided normal p-value times k-1 (Bonferroni),
    capped at 1, so that p < alpha exactly when |R_i - R_c| exceeds the CD.
    """
    ranks = {str(m): float(r) for m, r in dict(avg_ranks).items()}
    if control not in ranks:
        raise ValueError(f"control {control!r} is not one of the methods: {', '.join(sorted(ranks))}")
    k = len(ranks)
    a = _check_alpha(alpha)
    cd = bonferroni_dunn_cd(k, n_blocks, alpha=a)
    se = _rank_se(k, n_blocks)
    others = [m for m, _ in _ordered(ranks) if m != control]
    z = {m: (ranks[m] - ranks[control]) / se for m in others}
    p = {m: float(min(1.0, (k - 1) * 2.0 * _st.norm.sf(abs(z[m])))) for m in others}
    return {"method": control, "cd": cd, "z": z, "p": p, "significant": {m: p[m] < a for m in others}}


def cd_warnings(
    matrix: pd.DataFrame, *, dropped_blocks: int, test: str, alpha: float, cd: float, control: str | None = None
) -> list[str]:
    """What a reader of a CD analysis should know before trusting it: small N, dropped blocks, ties.

    The rules, each stated in its message: the chi-square approximation of Friedman's
    statistic wants N > 10 (Demšar 2006, §3.2.2: "N > 10 and k > 5" as a rule of thumb);
    a Nemenyi CD at least k - 1 separates no pair; the exact two-sided Wilcoxon test
    cannot give p below 2^(1-N), so Holm over m pairs cannot reject when m 2^(1-N) >= alpha;
    ties dominate when more than half of the blocks hold tied scores.
    """
    n, k = matrix.shape
    out: list[str] = []
    if n <= 10:
        out.append(
            f"only N = {n} blocks: the Friedman p-value uses the chi-square approximation, which wants "
            f"N > 10 (and k > 5; Demšar 2006, Sec. 3.2.2); treat p as rough"
        )
    if test == "nemenyi" and math.isfinite(cd) and cd >= k - 1:
        out.append(
            f"CD = {cd:.3f} is at least the whole rank range k - 1 = {k - 1}: with N = {n} blocks the "
            f"Nemenyi test can tell no two of the {k} methods apart"
        )
    if test == "wilcoxon-holm":
        m = k * (k - 1) // 2
        if m * 2.0 ** (1 - n) >= alpha:
            out.append(
                f"with N = {n} blocks the exact two-sided Wilcoxon p is at least 2^(1-N) = {2.0 ** (1 - n):.3g}, "
                f"and Holm over {m} pairs multiplies it by up to {m}: no pair can be significant at α = {alpha}"
            )
    if control is not None and n <= 10:
        out.append(
            f"Bonferroni-Dunn uses the normal approximation of rank differences; with N = {n} blocks it is rough"
        )
    if dropped_blocks:
        total = n + dropped_blocks
        out.append(f"{dropped_blocks} of {total} blocks dropped: they lack a finite score for at least one method")
    values = matrix.to_numpy(dtype=float)
    tied = int(sum(len(np.unique(row)) < k for row in values))
    if tied * 2 > n:
        out.append(
            f"ties dominate: {tied} of {n} blocks hold tied scores (average ranks are used, which flattens differences)"
        )
    return out
