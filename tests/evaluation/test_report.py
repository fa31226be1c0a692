import json
import math

import numpy as np
import pytest

from mathft_jax.evaluation import plots, report
from mathft_jax.evaluation.problems import GradedProblem


def test_bootstrap_ci_contains_mean_and_is_deterministic():
    values = [0, 1] * 50
    lo, hi = report.bootstrap_ci(values, 500, seed=3)
    assert lo < 0.5 < hi
    assert (lo, hi) == report.bootstrap_ci(values, 500, seed=3)
    assert report.bootstrap_ci([1, 1, 1]) == (1.0, 1.0)


def test_bootstrap_ci_has_the_normal_width():
    # 100 values of 0 and 1: the mean's standard error is 0.05, so the 95% interval is about
    # 0.5 +/- 1.96 * 0.05 = [0.402, 0.598] (a 99% one would be 0.5 +/- 0.129).
    lo, hi = report.bootstrap_ci([0, 1] * 50, num_bootstrap=4000, seed=0)
    half = 1.96 * math.sqrt(0.25 / 100)
    assert lo == pytest.approx(0.5 - half, abs=0.015)
    assert hi == pytest.approx(0.5 + half, abs=0.015)


def test_bootstrap_ci_cuts_at_2_5_and_97_5_percent():
    # 400 normal values: the bootstrap means are close to normal with sd = se, so each end
    # lies 1.96 se from the mean (measured 1.92 to 1.99 over seeds; 3.5% would be 1.81).
    values = np.random.default_rng(1).standard_normal(400)
    se = values.std() / math.sqrt(len(values))
    lo, hi = report.bootstrap_ci(values, num_bootstrap=20000, seed=0)
    assert (values.mean() - lo) / se == pytest.approx(1.96, abs=0.07)
    assert (hi - values.mean()) / se == pytest.approx(1.96, abs=0.07)


def test_bootstrap_ci_defaults_and_empty_input():
    values = [0.1, 0.7, 0.3, 0.9, 0.45, 0.2, 0.05]
    assert report.bootstrap_ci(values) == report.bootstrap_ci(values, 1000, 0)
    assert all(math.isnan(x) for x in report.bootstrap_ci([]))
    assert report.bootstrap_ci([0.5]) == (0.5, 0.5)


def test_bootstrap_ci_resamples_all_n_items():
    # n = 20 values, one of them 1: a resampled mean is Binomial(20, 1/20) / 20, whose 97.5%
    # quantile is 3/20 (resampling 19 items, or leaving one out, gives another grid).
    n = 20
    cdf = np.cumsum([math.comb(n, j) * (1 / n) ** j * (1 - 1 / n) ** (n - j)
                     for j in range(n + 1)])
    upper = int(np.searchsorted(cdf, 0.975))
    assert cdf[upper - 1] < 0.97 and cdf[upper] > 0.98  # far from the cut: no interpolation
    lo, hi = report.bootstrap_ci([0] * (n - 1) + [1], num_bootstrap=4000, seed=0)
    assert (lo, hi) == (0.0, pytest.approx(upper / n))


def test_group_summaries_and_markdown(tmp_path):
    per_problem = [{"Maj1@N": 1.0}, {"Maj1@N": 0.0}, {"Maj1@N": 1.0, "Greedy": 1.0}]
    groups = report.group_summaries(per_problem, ["L1", "L2", "L2"], ["A", "A", "B"],
                                    ["Maj1@N", "Greedy"], num_bootstrap=100)
    assert groups["overall"]["all"]["Maj1@N"]["mean"] == pytest.approx(2 / 3)
    assert groups["overall"]["all"]["Greedy"]["n"] == 1
    assert groups["level"]["L2"]["Maj1@N"]["mean"] == 0.5
    rep = {"version": 1, "counts": {"problems": 3}, "metrics": ["Maj1@N", "Greedy"],
           "groups": groups}
    json_path, md_path = report.write_report(rep, str(tmp_path))
    assert (json_path, md_path) == (str(tmp_path / "report.json"), str(tmp_path / "report.md"))
    text = (tmp_path / "report.json").read_text()
    assert text.startswith('{\n "version": 1,\n "counts"') and text.endswith("}\n")
    assert json.loads(text) == rep
    md = open(md_path).read()
    assert "| L2 | 2 | 50.0 [" in md


def test_summaries_are_reproducible():
    per_problem = [{"m": float(i % 3 == 0)} for i in range(30)]
    first = report.group_summaries(per_problem, ["L"] * 30, ["S"] * 30, ["m"],
                                   num_bootstrap=50, seed=5)
    assert first == report.group_summaries(per_problem, ["L"] * 30, ["S"] * 30, ["m"],
                                           num_bootstrap=50, seed=5)
    summary = report.summarize(per_problem, ["m"], 50, 5)
    assert first["overall"]["all"] == first["level"]["L"] == summary
    assert summary["m"]["ci95"] == list(report.bootstrap_ci([p["m"] for p in per_problem],
                                                            50, 5))


def test_markdown_layout():
    rep = {"version": 1, "counts": {"problems": 2, "malformed": 0}, "metrics": ["A", "B", "C"],
           "groups": {
               "overall": {"all": {"n": 2, "A": {"mean": 0.5, "ci95": [0.0, 1.0], "n": 2},
                                   "B": {"mean": 1.0, "ci95": [1.0, 1.0], "n": 1}}},
               "level": {"L1": {"n": 1, "A": {"mean": 0.25, "ci95": [0.125, 0.5], "n": 1}}},
               "subject": {"S": {"n": 2, "A": {"mean": 0.5, "ci95": [0.0, 1.0], "n": 2}}}}}
    assert report.markdown(rep) == """# Evaluation report

Counts: problems 2, malformed 0

## Overall

| group | problems | A | B |
|---|---:|---:|---:|
| all | 2 | 50.0 [0.0, 100.0] | 100.0 [100.0, 100.0] |

## By level

| group | problems | A | B |
|---|---:|---:|---:|
| L1 | 1 | 25.0 [12.5, 50.0] | – |

## By subject

| group | problems | A | B |
|---|---:|---:|---:|
| S | 2 | 50.0 [0.0, 100.0] | – |

Cells: accuracy in percent, [bootstrap 95% interval over problems].
"""


def test_markdown_evaluator_auc_lines():
    base = {"version": 1, "counts": {"problems": 2}, "metrics": ["A"],
            "groups": {field: {"all": {"n": 2, "A": {"mean": 0.5, "ci95": [0.0, 1.0],
                                                      "n": 2}}}
                       for field in ("overall", "level", "subject")}}
    auc = {"auc": 0.61234, "ci95": [0.4, 0.8], "candidates": 16, "correct": 5, "problems": 2}
    within = {"auc": 0.55, "ci95": [0.25, 0.875], "problems": 1}
    text = report.markdown({**base, "evaluator_auc": {**auc, "within_problem": within}})
    assert text.endswith(
        "Cells: accuracy in percent, [bootstrap 95% interval over problems].\n\n"
        "Evaluator AUC (correct above incorrect sampled candidates): 0.612 [0.400, 0.800] over "
        "16 candidates (5 correct) of 2 problems.\n"
        "Within problems (what re-ranking can use): 0.550 [0.250, 0.875], the mean AUC of the 1 "
        "problems with correct and incorrect samples.\n")
    older = report.markdown({**base, "evaluator_auc": auc})  # written before within_problem
    assert older.endswith("of 2 problems.\n") and "Within" not in older
    assert "Evaluator AUC" not in report.markdown(base)


def test_summaries_default_to_1000_resamples_and_seed_0():
    # Continuous values, so that another resample count or seed moves the interval.
    per_problem = [{"m": float(v)} for v in np.random.default_rng(0).random(30)]
    assert report.summarize(per_problem, ["m"]) != report.summarize(per_problem, ["m"], 1000, 1)
    assert report.summarize(per_problem, ["m"]) == report.summarize(per_problem, ["m"], 1000, 0)
    assert report.group_summaries(per_problem, ["L"] * 30, ["S"] * 30, ["m"]) == \
        report.group_summaries(per_problem, ["L"] * 30, ["S"] * 30, ["m"], 1000, 0)
