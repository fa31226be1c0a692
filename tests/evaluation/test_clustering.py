"""Clustering by equivalent final answers: real grader cases, and the rules checked with a
scripted grader (what merges, and into which cluster)."""

import itertools

import pytest

from mathft_jax.evaluation.clustering import cluster_labels
from mathft_jax.evaluation.equivalence import Grader
from mathft_jax.evaluation.verdict import Verdict
from tests.evaluation.conftest import ScriptedGrader


@pytest.mark.parametrize("answers,expected", [
    ([r"\frac12", "0.5", None, "2", "1/2"], [0, 0, None, 1, 0]),
    (["0.0833333", "0.08333", r"\frac{1}{12}", "0.0834"], [0, 0, 0, 1]),
    (["0.33", "0.34", "1/3"], [0, 1, 2]),  # short decimals are exact: no cluster grows
    (["1.732", r"\sqrt{3}", "1.733", "1.7321"], [0, 0, 1, 0]),
    (["x = 5", "5", r"5\text{ cm}", "(5)"], [0, 0, 0, 0]),
    ([None, None], [None, None]),
])
def test_cluster_labels(patient_grader, answers, expected):
    assert cluster_labels(answers, patient_grader) == expected


def test_rounded_decimals_join_the_exact_value_in_any_order(patient_grader):
    answers = ["0.0833333", r"\frac{1}{12}", "0.08333", "0.0834"]
    for perm in itertools.permutations(answers):
        labels = dict(zip(perm, cluster_labels(list(perm), patient_grader)))
        assert labels["0.0833333"] == labels["0.08333"] == labels[r"\frac{1}{12}"]
        assert labels["0.0834"] != labels[r"\frac{1}{12}"]


def test_every_member_equals_its_representative(patient_grader):
    answers = ["0.0833333", "1/12", "0.08333", "0.0834", "2", "2.0", r"\sqrt{4}", "x=2",
               "(1,2)", "(2,1)", r"\{1,2\}", "1,2"]
    labels = cluster_labels(answers, patient_grader)
    for label in set(labels):
        members = [a for a, l in zip(answers, labels) if l == label]
        exact = [m for m in members if "." not in m] or members
        for m in members:
            assert patient_grader.check(exact[0], m) is Verdict.EQUAL, (exact[0], m)


def test_tolerance_can_be_switched_off(patient_worker):
    grader = Grader(patient_worker, decimal_min_digits=None)
    assert cluster_labels(["0.0833333", r"\frac{1}{12}"], grader) == [0, 1]



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
