"""The rank side of a critical-difference analysis (Demšar 2006, §3.2.2): a long table of scores as a blocks x
methods matrix, average ranks, and the omnibus tests (Friedman's chi-square, the Iman-Davenport F).

Pure functions of their arguments; :mod:`fwanalysis.stats.cd` puts them together (and re-exports them).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as _st

__all__ = ["average_ranks", "friedman_test", "iman_davenport", "score_matrix"]

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


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


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
