"""Laws of answer selection: relabelling, the K in RR.TopK / W.RR.MajK, agreement at K = all."""

from hypothesis import given
from hypothesis import strategies as st

from mathft_jax.evaluation import selection

# Up to 12 samples over clusters 0..5 (None = no answer), each with a score in [0, 1].
samples = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 5)),
                             st.floats(0.0, 1.0, allow_nan=False)), min_size=1, max_size=12)


def _choices(labels, scores, k):
    return [selection.majority(labels), selection.rr_all(labels, scores),
            selection.rr_top_k(labels, scores, k), selection.weighted_vote(labels, scores),
            selection.weighted_vote(labels, scores, k)]


@given(samples, st.permutations(range(6)), st.integers(1, 6))
def test_selection_is_invariant_under_relabelling(rows, relabel, k):
    labels = [label for label, _ in rows]
    scores = [score for _, score in rows]
    renamed = [None if label is None else relabel[label] for label in labels]
    want = [None if c is None else relabel[c] for c in _choices(labels, scores, k)]
    assert _choices(renamed, scores, k) == want


@given(samples)
def test_top_k_over_every_cluster_is_the_unrestricted_rule(rows):
    labels = [label for label, _ in rows]
    # Distinct scores (ranks), so the tie rules of RR.All (earliest sample) and RR.TopK
    # (larger cluster) never differ.
    ranked = sorted(range(len(rows)), key=lambda i: rows[i][1])
    scores = [0.0] * len(rows)
    for rank, i in enumerate(ranked):
        scores[i] = rank / len(rows)
    k = len(selection.clusters_by_size(labels))
    if k:
        assert selection.rr_top_k(labels, scores, k) == selection.rr_all(labels, scores)
        assert selection.weighted_vote(labels, scores, k) == \
            selection.weighted_vote(labels, scores)


@given(samples, st.integers(1, 6))
def test_top_k_picks_among_the_k_largest_clusters(rows, k):
    labels = [label for label, _ in rows]
    scores = [score for _, score in rows]
    top = selection.clusters_by_size(labels)[:k]
    for choice in (selection.rr_top_k(labels, scores, k),
                   selection.weighted_vote(labels, scores, k)):
        assert choice in top if top else choice is None


def test_the_kth_cluster_wins_when_it_holds_the_best_scores():
    labels = [0, 0, 0, 1, 1, 2, 2, 3]  # size order 0, 1, 2, 3
    scores = [0.1, 0.1, 0.1, 0.2, 0.2, 0.9, 0.8, 1.0]
    assert selection.rr_top_k(labels, scores, 3) == 2
    assert selection.weighted_vote(labels, scores, 3) == 2
    assert selection.rr_top_k(labels, scores, 2) == 1
    assert selection.weighted_vote(labels, scores, 2) == 1
    assert selection.rr_top_k(labels, scores, 4) == 3
