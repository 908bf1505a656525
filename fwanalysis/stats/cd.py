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

import pandas as pd

from .posthoc import (
    _check_alpha,
    _ordered,
    bonferroni_dunn,
    bonferroni_dunn_cd,
    cd_warnings,
    cliques,
    critical_difference,
    nemenyi_pvalues,
    wilcoxon_holm,
    wilcoxon_holm_pvalues,
)
from .ranking import average_ranks, friedman_test, iman_davenport, score_matrix

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
