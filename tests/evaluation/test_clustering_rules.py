"""Clustering rules checked with a scripted grader: what merges, and into which cluster."""

import pytest

from mathft_jax.evaluation.clustering import cluster_labels
from mathft_jax.evaluation.verdict import Verdict
from tests.evaluation.conftest import ScriptedGrader


def test_unknown_never_merges():
    grader = ScriptedGrader({("a", "b"): Verdict.UNKNOWN, ("a", "c"): Verdict.EQUAL})
    assert cluster_labels(["a", "b", "c", "b"], grader) == [0, 1, 0, 1]


def test_a_non_transitive_chain_joins_the_first_matching_cluster():
    # b equals both a and c, but a and c differ: b joins a's cluster, created first.
    grader = ScriptedGrader({("a", "b"): Verdict.EQUAL, ("b", "c"): Verdict.EQUAL})
    assert cluster_labels(["a", "c", "b"], grader) == [0, 1, 0]
    # Compared only with representatives: c joins b's cluster without meeting a.
    grader = ScriptedGrader({("a", "b"): Verdict.EQUAL, ("b", "c"): Verdict.EQUAL})
    assert cluster_labels(["b", "a", "c"], grader) == [0, 0, 0]
    assert grader.calls == [("b", "a"), ("b", "c")]


@pytest.mark.parametrize("answers,want", [
    ([None, None], [None, None]),
    (["x", None, "x"], [0, None, 0]),
    (["p", "q", "r"], [0, 1, 2]),
])
def test_labels_follow_first_appearance(answers, want):
    assert cluster_labels(answers, ScriptedGrader({})) == want


def test_each_distinct_answer_is_compared_once_per_representative():
    grader = ScriptedGrader({})
    cluster_labels(["p", "q", "p", "r", "q"], grader)
    assert grader.calls == [("p", "q"), ("p", "r"), ("q", "r")]
