"""Per-problem metrics over N sampled answers (each 0/1 except the unbiased pass@k).

A problem's samples are described by `labels` (cluster id per sample, None = no answer; from
`clustering.cluster_labels`) and `cluster_correct` (cluster id -> whether its representative
equals the gold answer). Then, with N = len(labels):

* `pass@k` — the unbiased estimator of Chen et al. (2021): 1 - C(N-c, k) / C(N, k), c the
  number of correct samples; e.g. N=5, c=2, k=2 gives 1 - 3/10 = 0.7.
* `Pass@N` — 1 if any sample is correct.
* `Maj1@N` — 1 if the largest cluster is correct; `MajK@N` — 1 if any of the K largest is.
* With evaluator scores: `RR.All`, `RR.TopK`, `W.RR`, `W.RR.MajK` (see `selection.py`).

Example:
    >>> problem_metrics([0, 0, 1, None], {0: False, 1: True}, pass_ks=(1,), maj_ks=(2,))
    {'pass@1': 0.25, 'Pass@N': 1.0, 'Maj1@N': 0.0, 'Maj2@N': 1.0}
"""

from __future__ import annotations

from typing import Mapping, Sequence

from mathft_jax.evaluation import selection


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct (requires 1 <= k <= n)."""
    if not 1 <= k <= n or not 0 <= c <= n:
        raise ValueError(f"pass_at_k needs 1 <= k <= n and 0 <= c <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    # 1 - prod_{i=n-c+1}^{n} (1 - k/i): numerically stable form of 1 - C(n-c,k)/C(n,k).
    prob_all_wrong = 1.0
    for i in range(n - c + 1, n + 1):
        prob_all_wrong *= 1.0 - k / i
    return 1.0 - prob_all_wrong


def _correct(cid: int | None, cluster_correct: Mapping[int, bool]) -> float:
    return float(cid is not None and bool(cluster_correct.get(cid)))


def problem_metrics(labels: Sequence[int | None], cluster_correct: Mapping[int, bool],
                    scores: Sequence[float] | None = None, *,
                    pass_ks: Sequence[int] = (1,), maj_ks: Sequence[int] = (),
                    rerank_k: int = 8) -> dict[str, float]:
    """All metrics of one problem (see the module docstring); pass@k only for k <= N."""
    n = len(labels)
    if n == 0:
        raise ValueError("problem_metrics needs at least one sample")
    if scores is not None and len(scores) != n:
        raise ValueError(f"{len(scores)} scores for {n} samples")
    c = sum(_correct(label, cluster_correct) for label in labels)
    out: dict[str, float] = {}
    for k in pass_ks:
        if k <= n:
            out[f"pass@{k}"] = pass_at_k(n, int(c), k)
    out["Pass@N"] = float(c > 0)
    order = selection.clusters_by_size(labels)
    out["Maj1@N"] = _correct(order[0] if order else None, cluster_correct)
    for k in maj_ks:  # MajK@N with K = 1 is Maj1@N again
        out[f"Maj{k}@N"] = float(any(_correct(cid, cluster_correct) for cid in order[:k]))
    if scores is not None:
        out["RR.All"] = _correct(selection.rr_all(labels, scores), cluster_correct)
        out[f"RR.Top{rerank_k}"] = _correct(
            selection.rr_top_k(labels, scores, rerank_k), cluster_correct)
        out["W.RR"] = _correct(selection.weighted_vote(labels, scores), cluster_correct)
        out[f"W.RR.Maj{rerank_k}"] = _correct(
            selection.weighted_vote(labels, scores, rerank_k), cluster_correct)
    return out
