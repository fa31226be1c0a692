"""ROC AUC and its problem-level bootstrap interval, pooled and within problems."""

import itertools

import numpy as np
import pytest

from mathft_jax.evaluation.ranking import auc, auc_with_ci, within_problem_auc


def _pairwise_auc(scores, labels):
    pairs = [(p, n) for p, n in itertools.product(
        [s for s, y in zip(scores, labels) if y], [s for s, y in zip(scores, labels) if not y])]
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)


def test_docstring_example_and_extremes():
    assert auc([0.9, 0.2, 0.6, 0.6], [True, False, True, False]) == 0.875
    assert auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert auc([0.1, 0.8, 0.9], [True, False, False]) == 0.0
    assert np.isnan(auc([0.3, 0.4], [True, True]))


def test_matches_the_pairwise_definition_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(30):
        scores = rng.integers(0, 5, 12) / 4.0  # many ties
        labels = rng.random(12) < 0.5
        if labels.all() or not labels.any():
            continue
        assert auc(scores, labels) == pytest.approx(_pairwise_auc(scores, labels))


def test_interval_resamples_problems_and_brackets_the_estimate():
    rng = np.random.default_rng(1)
    groups = np.repeat([f"p{i}" for i in range(40)], 6)
    labels = rng.random(len(groups)) < 0.4
    scores = labels * 0.3 + rng.random(len(groups))
    out = auc_with_ci(scores, labels, groups, num_bootstrap=300)
    assert out["ci95"][0] < out["auc"] < out["ci95"][1]
    assert 0.5 < out["ci95"][0]  # a real signal: the interval excludes chance
    assert out["problems"] == 40 and out["candidates"] == 240
    noise = auc_with_ci(rng.random(len(groups)), labels, groups, num_bootstrap=300)
    assert noise["ci95"][0] < 0.5 < noise["ci95"][1]


def test_interval_is_reproducible_from_its_seed():
    rng = np.random.default_rng(2)
    groups = np.repeat([f"p{i}" for i in range(10)], 4)
    labels = rng.random(len(groups)) < 0.5
    scores = rng.random(len(groups))
    first = auc_with_ci(scores, labels, groups, num_bootstrap=50, seed=3)
    assert auc_with_ci(scores, labels, groups, num_bootstrap=50, seed=3) == first
    assert auc_with_ci(scores, labels, groups, num_bootstrap=50, seed=4) != first


def test_interval_is_the_2_5_and_97_5_percentiles_of_problem_resamples():
    rng = np.random.default_rng(6)
    groups = np.repeat(np.arange(30), 4)
    labels = rng.random(120) < 0.5
    scores = labels * 0.2 + rng.random(120)
    out = auc_with_ci(scores, labels, groups, num_bootstrap=200, seed=5)
    rng, draws = np.random.default_rng(5), []
    for _ in range(200):
        pick = np.concatenate([np.arange(4 * i, 4 * i + 4) for i in rng.integers(0, 30, 30)])
        draws.append(auc(scores[pick], labels[pick]))
    assert out["ci95"] == pytest.approx(list(np.percentile(draws, [2.5, 97.5])), rel=1e-12)


def test_interval_without_both_classes_is_nan():
    out = auc_with_ci([0.1, 0.2], [True, True], ["a", "b"], num_bootstrap=10)
    assert np.isnan(out["auc"]) and all(np.isnan(out["ci95"]))


def test_within_problem_auc_ignores_telling_easy_from_hard_problems():
    # The module's example: problem a scored high, b low; inside each, no better than chance.
    scores, labels = [0.9, 0.7, 0.8, 0.2, 0.3, 0.1], [True, True, False, True, False, False]
    out = auc_with_ci(scores, labels, list("aaabbb"), num_bootstrap=20)
    assert out["auc"] == pytest.approx(6 / 9)
    assert out["within_problem"]["auc"] == 0.5 and out["within_problem"]["problems"] == 2


def test_within_problem_auc_is_the_mean_over_problems_with_both_classes():
    scores = [0.9, 0.1, 0.5, 0.2, 0.4, 0.3, 0.7, 0.6]
    labels = [True, False, True, False, True, True, False, False]
    groups = ["a", "a", "b", "b", "b", "c", "c", "d"]  # c: one of each; d: one-sided
    out = within_problem_auc(scores, labels, groups, num_bootstrap=50, seed=1)
    per = [auc(scores[:2], labels[:2]), auc(scores[2:5], labels[2:5]),
           auc(scores[5:7], labels[5:7])]
    assert per == [1.0, 1.0, 0.0]
    assert out["auc"] == pytest.approx(2 / 3) and out["problems"] == 3
    rng = np.random.default_rng(1)
    draws = [np.mean(np.asarray(per)[rng.integers(0, 3, 3)]) for _ in range(50)]
    assert out["ci95"] == pytest.approx(list(np.percentile(draws, [2.5, 97.5])), rel=1e-12)


def test_within_problem_auc_without_contrastive_problems_is_nan():
    out = within_problem_auc([0.1, 0.2, 0.3], [True, True, False], ["a", "a", "b"])
    assert np.isnan(out["auc"]) and out["problems"] == 0 and all(np.isnan(out["ci95"]))


def test_auc_reads_integer_labels_as_classes_and_warns_on_nothing(recwarn):
    assert auc([0.9, 0.2, 0.6, 0.6], [1, 0, 1, 0]) == 0.875
    assert auc([3, 1, 2], np.array([1, 0, 0])) == 1.0  # integer scores too
    assert np.isnan(auc([0.3, 0.4], [True, True])) and np.isnan(auc([0.3], [False]))
    assert not recwarn.list  # one class: NaN by the rule, not by dividing by zero


def test_within_problem_auc_of_a_single_contrastive_problem():
    out = within_problem_auc([0.9, 0.1, 0.5], [True, False, True], ["a", "a", "b"],
                             num_bootstrap=10)
    assert (out["auc"], out["problems"], out["ci95"]) == (1.0, 1, [1.0, 1.0])
    empty = within_problem_auc([0.1], [True], ["a"])
    assert len(empty["ci95"]) == 2 and np.isnan(empty["auc"])


def test_within_problem_interval_resamples_all_problems_with_the_given_settings():
    # Eight problems of two candidates each, their AUCs 1, 0, 1, 1, 0, 1, 0.5, 1.
    wins = [1, 0, 1, 1, 0, 1, 0.5, 1]
    scores, labels, groups = [], [], []
    for i, w in enumerate(wins):
        scores += [w, 1 - w] if w != 0.5 else [0.5, 0.5]
        labels += [True, False]
        groups += [f"p{i}"] * 2
    out = within_problem_auc(scores, labels, groups, num_bootstrap=400, seed=9)
    rng = np.random.default_rng(9)
    draws = [np.mean(np.asarray(wins)[rng.integers(0, 8, 8)]) for _ in range(400)]
    assert out["auc"] == pytest.approx(np.mean(wins))
    assert out["ci95"] == pytest.approx(list(np.percentile(draws, [2.5, 97.5])), rel=1e-12)
    pooled = auc_with_ci(scores, labels, groups, num_bootstrap=400, seed=9)
    assert pooled["within_problem"] == out
    assert auc_with_ci(scores, labels, groups, 7, 3)["within_problem"] == within_problem_auc(
        scores, labels, groups, 7, 3)


def test_documented_defaults_are_1000_resamples_and_seed_0():
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(12), 3)
    labels = rng.random(36) < 0.5
    scores = rng.random(36)
    assert auc_with_ci(scores, labels, groups) == auc_with_ci(scores, labels, groups, 1000, 0)
    assert within_problem_auc(scores, labels, groups) == within_problem_auc(
        scores, labels, groups, 1000, 0)
