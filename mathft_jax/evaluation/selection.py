"""Answer selection over the clusters of one problem's N samples.

Inputs are per-sample `labels` (cluster id or None for "no answer", from
`clustering.cluster_labels`) and, for re-ranking, per-sample evaluator `scores` in [0, 1]
(a missing score is passed as 0.0 and counted by the report). All functions return a
cluster id (or None when no sample has an answer). Tie-breaking is deterministic:

* cluster size order (`clusters_by_size`): larger first, then the cluster whose earliest
  sample index is smaller;
* Maj1 = the first cluster in size order;
* RR.All: the answered sample with the highest score, ties to the earliest sample; its cluster;
* RR.TopK: among the K first clusters in size order, the one holding the highest single
  score (a cluster's score is its members' maximum); ties -> larger, then earlier;
* W.RR: the cluster with the largest sum of member scores; ties -> larger, then earlier;
* W.RR.MajK: W.RR restricted to the K first clusters in size order.

Example: Maj1 -> 0 (size 2); RR.All -> 1 (score .9); RR.Top2 -> 1 (the top-2 clusters are 0
and 1, best scores .2 vs .9); W.RR -> 1 (sums .3, .9, .3):
    >>> labels, scores = [0, 0, 1, 2], [.1, .2, .9, .3]
    >>> majority(labels), rr_all(labels, scores), rr_top_k(labels, scores, 2)
    (0, 1, 1)
    >>> weighted_vote(labels, scores), weighted_vote(labels, scores, k=1)
    (1, 0)
"""

from __future__ import annotations

from typing import Sequence


def _members(labels: Sequence[int | None]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        if label is not None:
            members.setdefault(label, []).append(i)
    return members


def clusters_by_size(labels: Sequence[int | None]) -> list[int]:
    """Cluster ids ordered by size (descending), ties by earliest member index."""
    members = _members(labels)
    return sorted(members, key=lambda c: (-len(members[c]), members[c][0]))


def majority(labels: Sequence[int | None]) -> int | None:
    """Maj1: the largest cluster (ties: earliest first member)."""
    order = clusters_by_size(labels)
    return order[0] if order else None


def rr_all(labels: Sequence[int | None], scores: Sequence[float]) -> int | None:
    """RR.All: the cluster of the single best-scored answered sample (ties: earliest)."""
    best = None
    for i, label in enumerate(labels):
        if label is not None and (best is None or scores[i] > scores[best]):
            best = i
    return None if best is None else labels[best]


def _pick(candidates: list[int], members: dict[int, list[int]], value) -> int | None:
    if not candidates:
        return None
    return min(candidates, key=lambda c: (-value(c), -len(members[c]), members[c][0]))


def rr_top_k(labels: Sequence[int | None], scores: Sequence[float], k: int) -> int | None:
    """RR.TopK: within the K largest clusters, the one with the best single score."""
    members = _members(labels)
    top = clusters_by_size(labels)[:k]
    return _pick(top, members, lambda c: max(scores[i] for i in members[c]))


def weighted_vote(labels: Sequence[int | None], scores: Sequence[float],
                  k: int | None = None) -> int | None:
    """W.RR (k=None) or W.RR.MajK: the cluster with the largest sum of scores."""
    members = _members(labels)
    candidates = clusters_by_size(labels)
    if k is not None:
        candidates = candidates[:k]
    return _pick(candidates, members, lambda c: sum(scores[i] for i in members[c]))
