"""Clusters sampled answers by mathematical equivalence with few symbolic comparisons.

Algorithm (deterministic):
1. Normalise every answer (cached) and group identical normal forms: no sympy.
2. Visit the groups in order of their first sample index; compare each group's normal form
   with the representative (first member) of each existing cluster, in cluster creation
   order, and join the first cluster proved EQUAL; otherwise open a new cluster. Rational
   answers compare by `Fraction` (no sympy); other scalar pairs are cached in the `Grader`.
   UNKNOWN counts as different. Equivalence is checked against representatives only, so a
   non-transitive chain never merges clusters behind one's back.
3. Samples without an answer (None) belong to no cluster.

Example:
    >>> labels = cluster_labels([r"\\frac12", "0.5", None, "2", "1/2"])
    >>> labels
    [0, 0, None, 1, 0]
"""

from __future__ import annotations

from typing import Sequence

from mathft_jax.evaluation.equivalence import Grader, default_grader
from mathft_jax.evaluation.verdict import Verdict


def cluster_labels(answers: Sequence[str | None], grader: Grader | None = None
                   ) -> list[int | None]:
    """Cluster id of each answer (0, 1, ... in order of first appearance), None if no answer."""
    grader = grader or default_grader()
    normals = [None if a is None else grader.normal_form(a) for a in answers]
    group_of: dict[str, int] = {}
    representatives: list[str] = []
    labels: list[int | None] = []
    for normal in normals:
        if normal is None:
            labels.append(None)
            continue
        if normal not in group_of:
            label = None
            for cid, rep in enumerate(representatives):
                if grader.check_normal(rep, normal) is Verdict.EQUAL:
                    label = cid
                    break
            if label is None:
                label = len(representatives)
                representatives.append(normal)
            group_of[normal] = label
        labels.append(group_of[normal])
    return labels
