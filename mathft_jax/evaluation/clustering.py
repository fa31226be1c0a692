"""Clusters sampled answers by mathematical equivalence with few symbolic comparisons.

Algorithm (deterministic):
1. Normalise every answer (cached) and group identical normal forms: no sympy.
2. Visit the groups, exact answers first, then the decimals that carry a rounding
   tolerance, then the answers written as percents (each may equal two other values, see
   `equivalence.py`), each in order of first sample index. Compare each group's
   normal form with the representative (first member) of each existing cluster, in cluster
   creation order, and join the first cluster proved EQUAL; otherwise open a new cluster.
   UNKNOWN counts as different.
3. Number the clusters 0, 1, ... in order of their first sample; samples without an answer
   (None) belong to no cluster.

Why this cannot chain unequal answers: every member is proved equal to its cluster's
representative directly (never through another member), and the tolerance rule only pairs a
decimal with an exact value it rounds or truncates; two different decimals are never equal.
Visiting exact answers first makes the representative an exact form whenever the samples hold
one, so `0.0833333`, `0.08333` and `\\frac{1}{12}` form one cluster in any sample order, while
`0.0834` (not a rounding of 1/12) and `0.33` (too short for the rule) stay apart.

Example:
    >>> labels = cluster_labels([r"\\frac12", "0.5", None, "2", "1/2"])
    >>> labels
    [0, 0, None, 1, 0]
"""

from __future__ import annotations

from typing import Sequence

from mathft_jax.evaluation import normalization
from mathft_jax.evaluation.equivalence import Grader, default_grader
from mathft_jax.evaluation.verdict import Verdict


def cluster_labels(answers: Sequence[str | None], grader: Grader | None = None
                   ) -> list[int | None]:
    """Cluster id of each answer (0, 1, ... in order of first appearance), None if no answer."""
    grader = grader or default_grader()
    normals = [None if a is None else grader.normal_form(a) for a in answers]
    # Distinct normal forms in order of first appearance (dicts keep insertion order).
    distinct = list(dict.fromkeys(n for n in normals if n is not None))

    def visit_order(normal: str) -> tuple[bool, bool]:
        """Exact values, then rounded decimals, then percents (two readings each)."""
        return (normal.endswith(normalization.PERCENT_MARK),
                normalization.decimal_tolerance(normal, grader.decimal_min_digits) is not None)

    representatives: list[str] = []
    cluster_of: dict[str, int] = {}
    # A stable sort keeps first appearance within each group.
    for normal in sorted(distinct, key=visit_order):
        for cid, rep in enumerate(representatives):
            if grader.check_normal(rep, normal) is Verdict.EQUAL:
                cluster_of[normal] = cid
                break
        else:
            cluster_of[normal] = len(representatives)
            representatives.append(normal)
    order: dict[int, int] = {}
    for normal in normals:
        if normal is not None:
            order.setdefault(cluster_of[normal], len(order))
    return [None if n is None else order[cluster_of[n]] for n in normals]
