import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathft_jax.evaluation import metrics, selection
from mathft_jax.evaluation.clustering import cluster_labels


def test_pass_at_k_hand_values():
    assert metrics.pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 - C(3,2)/C(5,2)
    assert metrics.pass_at_k(5, 0, 3) == 0.0
    assert metrics.pass_at_k(5, 4, 2) == 1.0                  # n - c < k
    assert metrics.pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert metrics.pass_at_k(64, 3, 8) == pytest.approx(
        1 - math.comb(61, 8) / math.comb(64, 8))
    with pytest.raises(ValueError):
        metrics.pass_at_k(3, 1, 4)


@pytest.mark.parametrize("n", range(1, 13))
def test_pass_at_k_is_the_combinatorial_formula_for_every_small_case(n):
    # Includes k == n and n - c == k, the boundaries of the closed-form shortcut.
    for c in range(n + 1):
        for k in range(1, n + 1):
            want = 1 - math.comb(n - c, k) / math.comb(n, k)  # comb is 0 when k > n - c
            assert metrics.pass_at_k(n, c, k) == pytest.approx(want, abs=1e-12), (n, c, k)


@pytest.mark.parametrize("n,c,k", [(0, 0, 1), (3, 0, 0), (3, 1, 4), (3, 4, 1), (3, -1, 1)])
def test_pass_at_k_rejects_impossible_arguments(n, c, k):
    with pytest.raises(ValueError, match="pass_at_k needs"):
        metrics.pass_at_k(n, c, k)


@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_is_monotone_in_k_and_c(case):
    n, c, k = case
    p = metrics.pass_at_k(n, c, k)
    assert 0.0 <= p <= 1.0
    if k < n:
        assert metrics.pass_at_k(n, c, k + 1) >= p - 1e-12
    if c < n:
        assert metrics.pass_at_k(n, c + 1, k) >= p - 1e-12
    assert metrics.pass_at_k(n, c, 1) == pytest.approx(c / n)
    assert metrics.pass_at_k(n, c, n) == float(c > 0)


def test_pass_at_k_is_reported_for_k_equal_to_n():
    m = metrics.problem_metrics([0, 1, 1, None], {0: True, 1: False}, pass_ks=(1, 4, 5))
    assert m["pass@4"] == 1.0 and "pass@5" not in m
    m = metrics.problem_metrics([1, 1, None], {0: True, 1: False}, pass_ks=(3,))
    assert m["pass@3"] == 0.0  # no correct sample: pass@N is 0, never 1


def test_problem_metrics_hand_example():
    # Samples: 0,0 (wrong cluster 0), 1 (right cluster 1), None, 2 (wrong), 2.
    labels = [0, 0, 1, None, 2, 2]
    correct = {0: False, 1: True, 2: False}
    scores = [0.1, 0.2, 0.9, 0.99, 0.3, 0.35]
    m = metrics.problem_metrics(labels, correct, scores, pass_ks=(1, 2, 8), maj_ks=(2, 3),
                                rerank_k=2)
    assert m["pass@1"] == pytest.approx(1 / 6)
    assert m["pass@2"] == pytest.approx(1 - math.comb(5, 2) / math.comb(6, 2))
    assert "pass@8" not in m
    assert m["Pass@N"] == 1.0
    assert m["Maj1@N"] == 0.0       # clusters 0 and 2 tie at size 2; 0 came first
    assert m["Maj2@N"] == 0.0       # top-2 are 0 and 2
    assert m["Maj3@N"] == 1.0
    assert m["RR.All"] == 1.0       # best answered sample is index 2 (0.99 has no answer)
    assert m["RR.Top2"] == 0.0      # among clusters 0, 2: best scores .2 vs .35 -> 2
    assert m["W.RR"] == 1.0         # sums .3, .9, .65 -> cluster 1
    assert m["W.RR.Maj2"] == 0.0    # sums .3 vs .65 -> cluster 2


def test_selection_tie_breaking():
    labels = [0, 1, 1, 0, 2]
    assert selection.clusters_by_size(labels) == [0, 1, 2]  # sizes 2,2,1; 0 is earlier
    assert selection.majority(labels) == 0
    assert selection.rr_all(labels, [0.5, 0.5, 0.1, 0.1, 0.5]) == 0  # earliest max
    # RR.Top: equal best scores -> larger cluster, then earliest.
    assert selection.rr_top_k(labels, [0.1, 0.9, 0.1, 0.1, 0.9], k=3) == 1
    assert selection.rr_top_k(labels, [0.9, 0.9, 0.1, 0.1, 0.9], k=3) == 0
    # W.RR: equal sums -> larger cluster.
    assert selection.weighted_vote(labels, [0.3, 0.2, 0.2, 0.1, 0.4]) == 0
    assert selection.weighted_vote([None, None], [1.0, 1.0]) is None
    assert selection.majority([None]) is None


def test_clustering_groups_equivalent_answers(grader):
    answers = [r"\frac12", "0.5", None, "2", "1/2", r"\sqrt{8}", r"2\sqrt{2}", "2.0"]
    assert cluster_labels(answers, grader) == [0, 0, None, 1, 0, 2, 2, 1]


def test_clustering_symbolic_calls_only_between_representatives(grader):
    answers = [r"\sqrt{8}"] * 20 + [r"2\sqrt{2}"] * 20 + ["3"] * 20
    labels = cluster_labels(answers, grader)
    assert set(labels) == {0, 1}
    # Three distinct normal forms: sqrt8 vs 2sqrt2 (symbolic), 3 vs sqrt8 (symbolic).
    assert grader.num_symbolic_calls == 2


def test_the_kth_cluster_can_win_rr_top_k_and_weighted_maj_k():
    # Sizes 3, 2, 1: clusters 0, 1, 2 in size order; only cluster 1 (the 2nd) is correct.
    labels = [0, 0, 0, 1, 1, 2]
    correct = {0: False, 1: True, 2: False}
    scores = [0.1, 0.1, 0.1, 0.8, 0.7, 0.99]  # cluster 2 scores best but is outside the top 2
    m = metrics.problem_metrics(labels, correct, scores, maj_ks=(2,), rerank_k=2)
    assert m["RR.Top2"] == 1.0 and m["W.RR.Maj2"] == 1.0 and m["Maj2@N"] == 1.0
    assert m["RR.All"] == 0.0 and m["Maj1@N"] == 0.0
    m = metrics.problem_metrics(labels, correct, scores, maj_ks=(3,), rerank_k=1)
    assert m["RR.Top1"] == 0.0 and m["W.RR.Maj1"] == 0.0


def test_maj_k_counts_exactly_k_clusters():
    labels = [0, 0, 0, 1, 1, 2, 3]  # size order 0, 1, 2, 3; only the 3rd is correct
    correct = {0: False, 1: False, 2: True, 3: False}
    m = metrics.problem_metrics(labels, correct, maj_ks=(2, 3))
    assert m["Maj2@N"] == 0.0 and m["Maj3@N"] == 1.0


labels_st = st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=1, max_size=12)


@given(labels_st, st.data())
def test_maj1_is_one_of_the_maj_k_clusters(labels, data):
    k = data.draw(st.integers(1, 6))
    order = selection.clusters_by_size(labels)
    assert sorted(order) == sorted({x for x in labels if x is not None})
    if order:
        assert selection.majority(labels) in order[:k]
    correct = {cid: data.draw(st.booleans()) for cid in order}
    m = metrics.problem_metrics(labels, correct, maj_ks=(k,))
    assert m["Maj1@N"] <= m.get(f"Maj{k}@N", m["Maj1@N"]) <= m["Pass@N"]


def test_problem_metrics_defaults_and_errors():
    m = metrics.problem_metrics([0, 1], {0: True}, [0.2, 0.9])  # cluster 1 has no verdict
    assert set(m) == {"pass@1", "Pass@N", "Maj1@N", "RR.All", "RR.Top8", "W.RR", "W.RR.Maj8"}
    assert m["RR.All"] == 0.0 and m["pass@1"] == 0.5  # a cluster without a verdict is wrong
    with pytest.raises(ValueError, match="^problem_metrics needs at least one sample$"):
        metrics.problem_metrics([], {})
    with pytest.raises(ValueError, match="^1 scores for 2 samples$"):
        metrics.problem_metrics([0, 0], {0: True}, [0.5])
