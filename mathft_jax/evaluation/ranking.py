"""How well evaluator scores rank correct above incorrect candidates: ROC AUC with a
problem-level bootstrap interval, pooled over all candidates and within problems.

AUC = P(score of a random correct candidate > score of a random incorrect one), ties counting
one half (the Mann-Whitney U statistic over all correct x incorrect pairs). Candidates of one
problem are correlated, so the interval resamples PROBLEMS with replacement (a cluster
bootstrap), not candidates.

The pooled AUC also rewards telling easy problems from hard ones (every candidate of a hard
problem scored low), which re-ranking cannot use: it only compares candidates of one
problem. The within-problem AUC is the mean, over problems with both correct and incorrect
candidates, of each problem's own AUC; 0.5 means no help to re-ranking, whatever the pooled
figure. Example: problem a (easy) has correct candidates scored 0.9 and 0.7 and an incorrect
one at 0.8; problem b (hard) a correct one at 0.2 and incorrect ones at 0.3 and 0.1. Pooled
AUC 6/9 = 0.67; within problems (0.5 + 0.5) / 2 = 0.5.

Example:
    auc([0.9, 0.2, 0.6, 0.6], [True, False, True, False])   # pairs: (.9,.2) (.9,.6) (.6,.2)
    -> 0.875                                                 # (.6,.6) tie: (1+1+1+.5)/4
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import scipy.stats


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """ROC AUC of `scores` for binary `labels`; NaN without both classes."""
    y = np.asarray(labels, bool)
    num_pos = int(y.sum())
    num_neg = len(y) - num_pos
    if num_pos == 0 or num_neg == 0:
        return math.nan
    # Mann-Whitney U from average ranks, so that a tie counts one half.
    ranks = scipy.stats.rankdata(scores)
    u = ranks[y].sum() - num_pos * (num_pos + 1) / 2.0
    return float(u / (num_pos * num_neg))


def auc_with_ci(scores: Sequence[float], labels: Sequence[bool], groups: Sequence[str],
                num_bootstrap: int = 1000, seed: int = 0) -> dict:
    """{"auc", "ci95": [lo, hi], "candidates", "correct", "problems", "within_problem"}; the
    interval resamples the `groups` (problem ids) with replacement; draws without both
    classes are skipped. "within_problem" is `within_problem_auc` with the same settings."""
    s, y, g = _arrays(scores, labels, groups)
    ids = sorted(set(g.tolist()))
    members = [np.flatnonzero(g == i) for i in ids]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(num_bootstrap):
        pick = np.concatenate([members[i] for i in rng.integers(0, len(ids), len(ids))])
        value = auc(s[pick], y[pick])
        if not np.isnan(value):
            draws.append(value)
    return {"auc": auc(s, y), "ci95": _percentile_interval(draws), "candidates": int(len(s)),
            "correct": int(y.sum()), "problems": len(ids),
            "within_problem": within_problem_auc(s, y, g, num_bootstrap, seed)}


def within_problem_auc(scores: Sequence[float], labels: Sequence[bool], groups: Sequence[str],
                       num_bootstrap: int = 1000, seed: int = 0) -> dict:
    """{"auc", "ci95", "problems"}: the mean per-problem AUC over the problems with both
    classes, and a bootstrap interval resampling those problems (NaN without any)."""
    s, y, g = _arrays(scores, labels, groups)
    per_problem = [auc(s[g == i], y[g == i]) for i in sorted(set(g.tolist()))]
    values = np.asarray([a for a in per_problem if not np.isnan(a)])
    if len(values) == 0:
        return {"auc": math.nan, "ci95": _percentile_interval([]), "problems": 0}
    rng = np.random.default_rng(seed)
    draws = [float(values[rng.integers(0, len(values), len(values))].mean())
             for _ in range(num_bootstrap)]
    return {"auc": float(values.mean()), "ci95": _percentile_interval(draws),
            "problems": int(len(values))}


def _arrays(scores, labels, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.asarray(scores, np.float64), np.asarray(labels, bool), np.asarray(groups)


def _percentile_interval(draws: Sequence[float]) -> list[float]:
    if not len(draws):
        return [math.nan, math.nan]
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return [float(lo), float(hi)]
