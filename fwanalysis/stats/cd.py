"""Critical-difference analysis of methods ranked over blocks (Demšar 2006).

Demšar, J. (2006). Statistical Comparisons of Classifiers over Multiple Data Sets.
Journal of Machine Learning Research 7, 1-30.

Pipeline (``cd_analysis``): a long table of scores -> a blocks x methods matrix
(``score_matrix``) -> average ranks (``average_ranks``, Demšar §3.2.2) -> the Friedman
test (``friedman_test``) and the Iman-Davenport F (``iman_davenport``) -> the Nemenyi
critical difference (``critical_difference``) and the groups of methods it cannot
tell apart (``cliques``). ``wilcoxon_holm`` is an alternative post-hoc: pairwise
Wilcoxon signed-rank tests with Holm's step-down correction (Demšar §3.1.3, §3.2.2),
as used in the CD diagrams of Ismail Fawaz et al. (2019). Every post-hoc also gives a
matrix of pairwise p-values (``nemenyi_pvalues``, ``wilcoxon_holm_pvalues``), and
``bonferroni_dunn`` compares every method with one control (Demšar §3.2.2).

Cliques (and a diagram's CD bar) are shown only when the omnibus test rejects at
alpha, as Demšar's procedure prescribes (post-hoc tests follow a rejected null) and
autorank does; ``cd_analysis(allow_insignificant=True)`` keeps them anyway.

Pure functions of their arguments: no file I/O, no plotting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats as _st

__all__ = [
    "CDResult",
    "OMNIBUS",
    "TESTS",
    "average_ranks",
    "bonferroni_dunn",
    "bonferroni_dunn_cd",
    "cd_analysis",
    "cd_warnings",
    "cliques",
    "critical_difference",
    "friedman_test",
    "iman_davenport",
    "nemenyi_pvalues",
    "score_matrix",
    "wilcoxon_holm",
    "wilcoxon_holm_pvalues",
]

#: Post-hoc tests ``cd_analysis`` accepts.
TESTS = ("nemenyi", "wilcoxon-holm")
#: Omnibus tests whose rejection lets cliques be drawn.
OMNIBUS = ("friedman", "iman-davenport")


# ----------------------------------------------------------------------------- table


def _sorted_labels(labels: pd.Index) -> list:
    try:
        return sorted(labels)
    except TypeError:  # mixed label types: sort by their text, still deterministic
        return sorted(labels, key=lambda x: (type(x).__name__, str(x)))


def score_matrix(
    df: pd.DataFrame, *, block: str = "block", method: str = "method", score: str = "score"
) -> tuple[pd.DataFrame, int]:
    """Pivot a long table of scores into a blocks x methods matrix.

    Duplicate (block, method) rows are averaged (e.g. seeds). A block without a finite
    score for every method is dropped, since the Friedman test needs complete blocks
    (Demšar 2006, §3.2.2). Rows and columns are sorted so the result is deterministic;
    method labels become strings.

    Parameters
    ----------
    df : long table with one row per (block, method[, repeat]).
    block, method, score : column names in ``df``.

    Returns
    -------
    matrix : DataFrame, index = blocks, columns = methods, float scores.
    dropped_blocks : number of blocks left out because a method was missing.
    """
    missing = [c for c in (block, method, score) if c not in df.columns]
    if missing:
        raise ValueError(f"score table lacks column(s) {missing!r}; it has {list(map(str, df.columns))!r}")
    table = df[[block, method, score]].copy()
    table[method] = table[method].astype(str)
    try:
        table[score] = pd.to_numeric(table[score])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {score!r} must hold numbers: {exc}") from None
    table[score] = table[score].astype(float)
    all_blocks = pd.unique(table[block])
    all_methods = _sorted_labels(pd.unique(table[method]))
    table = table[np.isfinite(table[score])]
    matrix = table.pivot_table(index=block, columns=method, values=score, aggfunc="mean")
    # a method with no finite score anywhere still counts: every block then lacks it
    matrix = matrix.reindex(columns=all_methods).dropna(axis=0, how="any")
    matrix = matrix.loc[_sorted_labels(matrix.index), all_methods]
    matrix.columns.name = method
    matrix.index.name = block
    return matrix.astype(float), int(len(all_blocks) - len(matrix))


# ----------------------------------------------------------------------------- ranks


def _rank_array(matrix: pd.DataFrame, lower_is_better: bool) -> np.ndarray:
    values = matrix.to_numpy(dtype=float)
    # rankdata gives rank 1 to the smallest value; negate when higher is better.
    return _st.rankdata(values if lower_is_better else -values, method="average", axis=1)


def average_ranks(matrix: pd.DataFrame, *, lower_is_better: bool = False) -> pd.Series:
    """Average rank of each method over blocks (Demšar 2006, §3.2.2).

    Within each block the best method gets rank 1; tied methods share the average of
    the ranks they span (``scipy.stats.rankdata(method="average")``).

    Parameters
    ----------
    matrix : blocks x methods scores, as from ``score_matrix``.
    lower_is_better : rank the lowest score first (e.g. a loss) instead of the highest.

    Returns
    -------
    Series indexed by method (in column order) of average ranks in [1, k].
    """
    ranks = _rank_array(matrix, lower_is_better)
    return pd.Series(ranks.mean(axis=0), index=matrix.columns, name="avg_rank")


# ----------------------------------------------------------------------------- omnibus


def friedman_test(matrix: pd.DataFrame, *, tie_correction: bool = True) -> tuple[float, float]:
    """Friedman's chi-square test that all methods rank alike (Demšar 2006, §3.2.2).

    chi2_F = 12N/(k(k+1)) [sum_j R_j^2 - k(k+1)^2/4], R_j the average rank of method j
    over N blocks, divided (``tie_correction=True``) by 1 - sum(t^3 - t)/(N(k^3 - k)),
    t the sizes of groups of tied scores within blocks. The corrected statistic equals
    ``scipy.stats.friedmanchisquare``; Demšar's worked example uses the uncorrected one.
    Direction does not matter: reversing every ranking leaves chi2_F unchanged.

    Returns
    -------
    (statistic, pvalue), p from chi-square with k-1 degrees of freedom. NaN when every
    block is entirely tied (the corrected statistic is 0/0).
    """
    values = matrix.to_numpy(dtype=float)
    n, k = values.shape
    if n < 1 or k < 2:
        raise ValueError(f"the Friedman test needs >= 1 block and >= 2 methods, got {n}x{k}")
    ranks = _st.rankdata(values, method="average", axis=1)
    r = ranks.mean(axis=0)
    chi2 = 12.0 * n / (k * (k + 1)) * (np.sum(r**2) - k * (k + 1) ** 2 / 4.0)
    if tie_correction:
        ties = 0.0
        for row in values:
            _, counts = np.unique(row, return_counts=True)
            ties += float(np.sum(counts.astype(float) ** 3 - counts))
        c = 1.0 - ties / (n * (k**3 - k))
        chi2 = chi2 / c if c > 0 else math.nan
    chi2 = float(max(chi2, 0.0)) if math.isfinite(chi2) else math.nan
    p = float(_st.chi2.sf(chi2, k - 1)) if math.isfinite(chi2) else math.nan
    return chi2, p


def iman_davenport(chi2: float, n_blocks: int, k: int) -> tuple[float, float]:
    """Iman-Davenport's F from Friedman's chi-square (Demšar 2006, §3.2.2).

    F_F = (N-1) chi2_F / (N(k-1) - chi2_F), distributed as F with (k-1, (k-1)(N-1))
    degrees of freedom; less conservative than chi2_F itself.

    Returns
    -------
    (F, pvalue). F is +inf with p = 0 when chi2_F reaches its maximum N(k-1) (every
    block ranks the methods the same way); NaN in, NaN out.
    """
    _check_int("n_blocks", n_blocks, 2)
    _check_int("k", k, 2)
    chi2 = float(chi2)
    if not math.isfinite(chi2):
        return math.nan, math.nan
    df1, df2 = k - 1, (k - 1) * (n_blocks - 1)
    denom = n_blocks * (k - 1) - chi2
    if denom <= 1e-12 * n_blocks * (k - 1):
        return math.inf, 0.0
    f = (n_blocks - 1) * chi2 / denom
    return float(f), float(_st.f.sf(f, df1, df2))


# ----------------------------------------------------------------------------- post-hoc


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


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


# ----------------------------------------------------------------------------- result


def _json_float(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class CDResult:
    """Everything a critical-difference diagram shows (Demšar 2006, Fig. 1).

    ``methods`` are ordered best first; ``cd`` is NaN for the Wilcoxon-Holm post-hoc,
    which has no single critical difference. ``significant`` says whether the omnibus
    test (``omnibus``: Friedman's chi-square or the Iman-Davenport F) rejects at
    ``alpha``; ``cliques`` is empty when it does not, unless ``allow_insignificant``.
    ``pairwise`` holds the post-hoc p-value of every pair (``{"test", "methods", "p"}``),
    ``control`` the Bonferroni-Dunn comparison with one method (see ``bonferroni_dunn``),
    ``score_mean`` / ``score_std`` each method's score over the blocks (ddof 0).
    """

    methods: list[str]
    avg_ranks: dict[str, float]
    n_blocks: int
    alpha: float
    cd: float
    friedman: dict[str, float]
    iman_davenport: dict[str, float]
    cliques: list[list[str]]
    dropped_blocks: int
    lower_is_better: bool = False
    test: str = "nemenyi"
    significant: bool = True
    omnibus: str = "friedman"
    allow_insignificant: bool = False
    pairwise: dict | None = None
    control: dict | None = None
    warnings: tuple[str, ...] = ()
    score_mean: dict[str, float] = field(default_factory=dict)
    score_std: dict[str, float] = field(default_factory=dict)

    @property
    def omnibus_pvalue(self) -> float:
        return float((self.friedman if self.omnibus == "friedman" else self.iman_davenport)["pvalue"])

    @property
    def show_cliques(self) -> bool:
        """Whether cliques and the CD bar belong in a diagram: the omnibus test rejects, or the caller insists."""
        return bool(self.significant or self.allow_insignificant)

    def pairwise_rows(self) -> list[dict]:
        """The pairwise p-values as tidy rows ``{method, other, p}``, each unordered pair once, best method first."""
        if not self.pairwise:
            return []
        ms, p = self.pairwise["methods"], self.pairwise["p"]
        order = {m: i for i, m in enumerate(self.methods)}
        pairs = sorted(
            combinations(range(len(ms)), 2), key=lambda ij: (order.get(ms[ij[0]], 0), order.get(ms[ij[1]], 0))
        )
        return [{"method": ms[i], "other": ms[j], "p": float(p[i][j])} for i, j in pairs]

    def to_json(self) -> dict:
        """The ``fwa cd-diagram`` JSON object (docs/cli.md); non-finite numbers -> None."""
        doc = {
            "methods": list(self.methods),
            "avg_ranks": {str(m): _json_float(r) for m, r in self.avg_ranks.items()},
            "n_blocks": int(self.n_blocks),
            "alpha": _json_float(self.alpha),
            "cd": _json_float(self.cd),
            "friedman": {k: _json_float(self.friedman[k]) for k in ("statistic", "pvalue")},
            "iman_davenport": {k: _json_float(self.iman_davenport[k]) for k in ("statistic", "pvalue")},
            "cliques": [list(c) for c in self.cliques],
            "dropped_blocks": int(self.dropped_blocks),
            "test": self.test,
            "lower_is_better": bool(self.lower_is_better),
            "omnibus": {
                "test": self.omnibus,
                "pvalue": _json_float(self.omnibus_pvalue),
                "reject": bool(self.significant),
            },
            "significant": bool(self.significant),
            "allow_insignificant": bool(self.allow_insignificant),
            "pairwise": None
            if self.pairwise is None
            else {
                "test": self.pairwise["test"],
                "methods": list(self.pairwise["methods"]),
                "p": [[_json_float(x) for x in row] for row in self.pairwise["p"]],
            },
            "warnings": list(self.warnings),
            "score": {
                m: {"mean": _json_float(self.score_mean.get(m)), "std": _json_float(self.score_std.get(m))}
                for m in self.methods
            }
            if self.score_mean
            else None,
        }
        if self.control is not None:
            c = self.control
            doc["control"] = {
                "method": c["method"],
                "test": "bonferroni-dunn",
                "cd": _json_float(c["cd"]),
                "p": {m: _json_float(v) for m, v in c["p"].items()},
                "z": {m: _json_float(v) for m, v in c["z"].items()},
                "significant": {m: bool(v) for m, v in c["significant"].items()},
            }
        return doc


def cd_analysis(
    df: pd.DataFrame,
    *,
    alpha: float = 0.05,
    lower_is_better: bool = False,
    test: str = "nemenyi",
    omnibus: str = "friedman",
    control: str | None = None,
    allow_insignificant: bool = False,
    block: str = "block",
    method: str = "method",
    score: str = "score",
) -> CDResult:
    """Rank methods over blocks and find the groups no test can separate (Demšar 2006).

    Parameters
    ----------
    df : long table with columns ``block``, ``method``, ``score`` (names configurable).
    alpha : significance level in (0, 1) for the omnibus and post-hoc tests.
    lower_is_better : the lowest score is best (rank 1).
    test : ``"nemenyi"`` (critical difference, Demšar §3.2.2) or ``"wilcoxon-holm"``.
    omnibus : ``"friedman"`` (chi-square) or ``"iman-davenport"`` (F): the test whose
        rejection at alpha makes the result ``significant``.
    control : a method to compare every other with (Bonferroni-Dunn), or None.
    allow_insignificant : keep the cliques although the omnibus test does not reject.

    Returns
    -------
    CDResult. The Friedman statistic is tie-corrected (as ``scipy.stats.friedmanchisquare``).

    Raises
    ------
    ValueError : bad option, or fewer than 2 methods or 2 complete blocks.
    """
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}")
    if omnibus not in OMNIBUS:
        raise ValueError(f"omnibus must be one of {OMNIBUS}, got {omnibus!r}")
    a = _check_alpha(alpha)
    matrix, dropped = score_matrix(df, block=block, method=method, score=score)
    n, k = matrix.shape
    if k < 2:
        raise ValueError(f"a CD analysis needs at least 2 methods, got {k}: {list(matrix.columns)!r}")
    if n < 2:
        raise ValueError(
            f"a CD analysis needs at least 2 blocks with a score for every one of the "
            f"{k} methods; {n} such block(s) remain after dropping {dropped} incomplete"
        )
    if control is not None and str(control) not in matrix.columns:
        raise ValueError(f"control {control!r} is not one of the methods: {', '.join(map(str, matrix.columns))}")
    ranks = average_ranks(matrix, lower_is_better=lower_is_better)
    order = _ordered(ranks)
    chi2, p = friedman_test(matrix)
    f, pf = iman_davenport(chi2, n, k)
    p_omnibus = p if omnibus == "friedman" else pf
    significant = bool(math.isfinite(p_omnibus) and p_omnibus < a)
    if test == "nemenyi":
        cd = critical_difference(k, n, alpha=a)
        groups = cliques(ranks, cd)
        pmat = nemenyi_pvalues(matrix, lower_is_better=lower_is_better)
    else:
        cd = math.nan
        _, groups = wilcoxon_holm(matrix, alpha=a, lower_is_better=lower_is_better)
        pmat = wilcoxon_holm_pvalues(matrix, alpha=a)
    best_first = [m for m, _ in order]
    pmat = pmat.loc[best_first, best_first]
    warnings = cd_warnings(matrix, dropped_blocks=dropped, test=test, alpha=a, cd=cd, control=control)
    if not significant:
        name = "Friedman" if omnibus == "friedman" else "Iman-Davenport"
        shown = "drawn anyway (--allow-insignificant)" if allow_insignificant else "not shown"
        warnings.append(
            f"{name} p = {p_omnibus:.3g} is not below α = {a}: no significant difference among the "
            f"{k} methods; cliques and the CD bar are {shown}"
        )
        if not allow_insignificant:
            groups = []
    values = matrix.to_numpy(dtype=float)
    return CDResult(
        methods=best_first,
        avg_ranks={m: r for m, r in order},
        n_blocks=int(n),
        alpha=a,
        cd=float(cd),
        friedman={"statistic": chi2, "pvalue": p},
        iman_davenport={"statistic": f, "pvalue": pf},
        cliques=groups,
        dropped_blocks=int(dropped),
        lower_is_better=bool(lower_is_better),
        test=test,
        significant=significant,
        omnibus=omnibus,
        allow_insignificant=bool(allow_insignificant),
        pairwise={"test": test, "methods": best_first, "p": pmat.to_numpy().tolist()},
        control=None if control is None else bonferroni_dunn(ranks, n, control=str(control), alpha=a),
        warnings=tuple(warnings),
        score_mean={str(m): float(v) for m, v in zip(matrix.columns, values.mean(axis=0))},
        score_std={str(m): float(v) for m, v in zip(matrix.columns, values.std(axis=0))},
    )
