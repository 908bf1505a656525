"""Statistics: pure functions on arrays and frames (no plotting, no file I/O)."""

from .cd import (CDResult, average_ranks, cd_analysis, cliques, critical_difference,
                 friedman_test, iman_davenport, score_matrix, wilcoxon_holm)
