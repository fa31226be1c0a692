"""The three verdicts of the recipe's report (`recipe.table.verdicts`) and the seeds
aggregate's AUC columns (`recipe.seeds.build`), on hand-made per-problem values.

Guards which two rows each finding compares, on which metric, in which order (a − b), and
the zero boundary: an interval strictly above 0 "holds", strictly below "does not hold",
touching or containing 0 "inconclusive".
"""

import math

import pytest

from mathft_jax.models import ModelConfig
from mathft_jax.recipe import paper, seeds, table
from mathft_jax.recipe.settings import RecipeSettings

SETTINGS = RecipeSettings(model_config=ModelConfig(), pass_ks=(1,), maj_ks=(2,), rerank_k=2,
                          num_bootstrap=200)
# The table's rows as `paper.rows` lists them (written out here: only the labels matter).
ROWS = [("SSFT detailed", "test_sft_detailed", None),
        ("SSFT terse", "test_sft_terse", None),
        ("SSFT detailed + classification evaluator", "test_sft_detailed", "scores_classification"),
        ("SSFT detailed + margin evaluator", "test_sft_detailed", "scores_margin"),
        ("SSFT detailed + mixture evaluator", "test_sft_detailed", "scores_mixture"),
        ("multi-task sequential", "test_multitask", None),
        ("extra-MLE-steps control", "test_control", None),
        ("joint mixture", "test_joint", None)]
REPEATS = 10  # each 4-problem pattern 10 times: 40 problems, intervals well away from 0


def _problems(**columns: list[float]) -> dict[str, dict[str, float]]:
    """problem id -> {metric: value}, each 4-value pattern repeated REPEATS times."""
    return {f"p{i}": {m: float(v[i % 4]) for m, v in columns.items()}
            for i in range(4 * REPEATS)}


def _values() -> dict:
    """Per-problem values in which every wrong row, metric or order gives another answer.

    Finding 1: Maj1@N detailed [1,1,1,0] − terse [0,1,0,0] = +0.5 (Greedy would be −1).
    Finding 2: RR.Top2 of the margin row [1,1,1,1] − Maj1@N of SSFT detailed [1,1,1,0] =
      +0.25 (RR.All would be −0.75; the classification or mixture row −0.75).
    Finding 3: Greedy multi-task [1,1,0,0] − control [0,0,0,0] = +0.5 (Maj1@N would be −1;
      the joint mixture row would be −0.5).
    """
    detailed = dict(Greedy=[0, 0, 0, 0], **{"Maj1@N": [1, 1, 1, 0]})
    scored = lambda top2: _problems(**detailed, **{"RR.Top2": top2, "RR.All": [0, 0, 0, 0]})
    return {
        "SSFT detailed": _problems(**detailed),
        "SSFT terse": _problems(Greedy=[1, 1, 1, 1], **{"Maj1@N": [0, 1, 0, 0]}),
        "SSFT detailed + classification evaluator": scored([0, 0, 0, 0]),
        "SSFT detailed + margin evaluator": scored([1, 1, 1, 1]),
        "SSFT detailed + mixture evaluator": scored([0, 0, 0, 0]),
        "multi-task sequential": _problems(Greedy=[1, 1, 0, 0], **{"Maj1@N": [0, 0, 0, 0]}),
        "extra-MLE-steps control": _problems(Greedy=[0, 0, 0, 0], **{"Maj1@N": [1, 1, 1, 1]}),
        "joint mixture": _problems(Greedy=[1, 1, 1, 1], **{"Maj1@N": [1, 1, 1, 1]}),
    }


def test_each_finding_compares_its_rows_on_its_metric():
    f1, f2, f3 = table.verdicts(_values(), ROWS, SETTINGS)
    assert (f1["a"], f1["b"], f1["metric"]) == ("SSFT detailed", "SSFT terse", "Maj1@N")
    assert f1["difference"] == pytest.approx(0.5) and f1["problems"] == 4 * REPEATS
    assert (f2["a"], f2["b"], f2["metric"]) == ("SSFT detailed + margin evaluator",
                                                "SSFT detailed", "RR.Top2 vs Maj1@N")
    assert f2["difference"] == pytest.approx(0.25) and f2["problems"] == 4 * REPEATS
    assert (f3["a"], f3["b"], f3["metric"]) == ("multi-task sequential",
                                                "extra-MLE-steps control", "Greedy")
    assert f3["difference"] == pytest.approx(0.5) and f3["problems"] == 4 * REPEATS
    for v in (f1, f2, f3):
        lo, hi = v["ci95"]
        assert 0 < lo <= v["difference"] <= hi and v["verdict"] == "holds"


def test_the_better_second_row_gives_does_not_hold():
    """The difference is a − b: with the rows' values exchanged every finding flips."""
    values = _values()
    for a, b in (("SSFT detailed", "SSFT terse"),
                 ("multi-task sequential", "extra-MLE-steps control")):
        values[a], values[b] = values[b], values[a]
    for p in values["SSFT detailed + margin evaluator"].values():
        p["RR.Top2"] = 0.0  # 0 − Maj1@N of SSFT detailed, now [0,1,0,0]: −0.25
    f1, f2, f3 = table.verdicts(values, ROWS, SETTINGS)
    assert [f1["difference"], f2["difference"], f3["difference"]] == pytest.approx(
        [-0.5, -0.25, -0.5])
    for v in (f1, f2, f3):
        assert v["ci95"][1] < 0 and v["verdict"] == "does not hold"


def test_no_difference_at_all_is_inconclusive():
    """Equal rows: every paired difference is 0, the interval is [0, 0]."""
    same = _problems(Greedy=[1, 0, 1, 0], **{"Maj1@N": [1, 0, 0, 1], "RR.Top2": [1, 0, 0, 1]})
    values = {label: same for label, _, _ in ROWS}
    for v in table.verdicts(values, ROWS, SETTINGS):
        assert v["difference"] == 0.0 and v["ci95"] == [0.0, 0.0]
        assert v["verdict"] == "inconclusive"


@pytest.mark.parametrize("interval, verdict", [
    ((0.0, 0.3), "inconclusive"), ((1e-9, 0.3), "holds"),
    ((-0.3, 0.0), "inconclusive"), ((-0.3, -1e-9), "does not hold"),
    ((-0.1, 0.1), "inconclusive")])
def test_zero_boundary_of_the_interval(monkeypatch, interval, verdict):
    """An interval touching 0 is inconclusive; only one strictly off 0 decides."""
    monkeypatch.setattr(table, "bootstrap_ci", lambda *args, **kw: interval)
    out = table.paired({"p": {"m": 1.0}}, {"p": {"m": 0.0}}, "m", SETTINGS)
    assert out["ci95"] == list(interval) and out["verdict"] == verdict


def _seed_report(values: dict, auc: float, within: float) -> dict:
    """One seed's report.json as `table.build` writes it; the margin row has evaluator AUCs."""
    rows = []
    for label, _, scores in ROWS:
        cells = {c: table.cell([m[c] for m in values[label].values()], SETTINGS)
                 for c in ("Greedy", "Maj1@N")}
        evaluator_auc = ({"auc": auc, "ci95": [0, 1], "within_problem": {
            "auc": within, "ci95": [0, 1], "problems": 3}} if scores == "scores_margin"
            else None)
        rows.append({"label": label, "cells": cells, "evaluator_auc": evaluator_auc})
    return {"rows": rows, "verdicts": table.verdicts(values, ROWS, SETTINGS)}


def test_seeds_aggregate_within_problem_auc_column():
    """Pooled AUC 0.30/0.40/0.50 and within-problem AUC 0.50/0.60/0.70 over three seeds:
    each column is the mean over seeds with the t-interval, from its own per-seed values."""
    values = _values()
    per_seed = {k: values for k in (0, 1, 2)}
    reports = {k: _seed_report(values, auc=0.3 + 0.1 * k, within=0.5 + 0.1 * k)
               for k in (0, 1, 2)}
    out = seeds.build(reports, per_seed, SETTINGS, ROWS)
    margin = out["rows"][3]
    assert margin["label"] == "SSFT detailed + margin evaluator"
    half = 4.302652729749462 * 0.1 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(3)
    within = margin["within_problem_auc"]
    assert within["per_seed"] == pytest.approx([0.5, 0.6, 0.7])
    assert within["mean"] == pytest.approx(0.6)
    assert within["ci95"] == pytest.approx([0.6 - half, 0.6 + half])
    pooled = margin["evaluator_auc"]
    assert pooled["per_seed"] == pytest.approx([0.3, 0.4, 0.5])
    assert pooled["mean"] == pytest.approx(0.4)
    assert out["rows"][0]["within_problem_auc"] is None  # a row without an evaluator
    line = next(l for l in seeds.markdown(out).splitlines()
                if l.startswith("| SSFT detailed + margin evaluator |"))
    assert line.endswith(f"| 0.40 [{0.4 - half:.2f}, {0.4 + half:.2f}] | "
                         f"0.60 [{0.6 - half:.2f}, {0.6 + half:.2f}] |")


def test_seeds_aggregate_within_problem_auc_needs_every_seed():
    values = _values()
    reports = {k: _seed_report(values, auc=0.4, within=0.6) for k in (0, 1)}
    reports[1]["rows"][3]["evaluator_auc"]["within_problem"] = None
    out = seeds.build(reports, {0: values, 1: values}, SETTINGS, ROWS)
    assert out["rows"][3]["within_problem_auc"] is None
    assert out["rows"][3]["evaluator_auc"]["mean"] == pytest.approx(0.4)


def test_finding_two_is_decided_by_the_verifier_then_the_step_evaluator_then_the_margin():
    """The deciding row is fixed by which evaluators the settings train, never by results;
    the others are reported after it, each named."""
    margin = "SSFT detailed + margin evaluator"
    labels = ["SSFT detailed", margin, paper.STEP_ROW, paper.VERIFIER_ROW,
              paper.LIKELIHOOD_ROWS[0]]
    assert table.reranking_rows(labels) == [paper.VERIFIER_ROW, paper.STEP_ROW, margin]
    assert table.reranking_rows(labels[:3]) == [paper.STEP_ROW, margin]
    assert table.reranking_rows(labels[:2]) == [margin]
    rows = [(label, "test_sft_detailed", None) for label in labels]
    rows += [("SSFT terse", "t", None), ("multi-task sequential", "m", None),
             ("extra-MLE-steps control", "c", None)]
    found = [v["finding"] for v in table.verdicts({}, rows, SETTINGS)]
    assert found[1].startswith("2. re-ranking") and found[2] == (
        "2 (also reported). the same with the step evaluator")
    assert found[3] == "2 (also reported). the same with the paper's margin evaluator"


def test_finding_two_without_verifier_step_or_margin_rows_takes_the_first_evaluator():
    """A likelihood-loss evaluator row ("likelihood" in its label) is never the fallback."""
    labels = ["SSFT detailed", "SSFT detailed + likelihood evaluator",
              "SSFT detailed + classification evaluator", "SSFT detailed + mixture evaluator"]
    assert table.reranking_rows(labels) == ["SSFT detailed + classification evaluator"]
    assert table.reranking_rows(["SSFT detailed", "SSFT terse"]) == []


def test_evaluator_named_by_what_follows_the_first_plus():
    assert table._evaluator_name("SSFT detailed + margin evaluator") == (
        "the paper's margin evaluator")
    assert table._evaluator_name(paper.STEP_ROW) == "the step evaluator"
    assert table._evaluator_name("A + classification + margin evaluator") == (
        "the paper's classification + margin evaluator")
    assert table._evaluator_name("verifier") == "the verifier"


@pytest.mark.parametrize("maj_ks, rerank_k, expected", [
    ((1, 2, 4), 3, ["Greedy", "pass@1", "Maj1@N", "Maj2@N", "Pass@N", "RR.All", "RR.Top3",
                    "W.RR", "W.RR.Maj3"]),
    ((1,), 5, ["Greedy", "pass@1", "Maj1@N", "Pass@N", "RR.All", "RR.Top5", "W.RR",
               "W.RR.Maj5"])])
def test_columns_one_majk_column_the_smallest_k_above_one(maj_ks, rerank_k, expected):
    settings = RecipeSettings(model_config=ModelConfig(), maj_ks=maj_ks, rerank_k=rerank_k)
    assert table.columns(settings) == expected


def test_cell_and_paired_bootstrap_with_the_settings_seed(monkeypatch):
    calls = []

    def fake_ci(values, num_bootstrap, seed):
        calls.append((list(values), num_bootstrap, seed))
        return 0.1, 0.5

    monkeypatch.setattr(table, "bootstrap_ci", fake_ci)
    settings = RecipeSettings(model_config=ModelConfig(), num_bootstrap=77, seed=5)
    assert table.cell([1.0, 0.0, 1.0, 1.0], settings) == {
        "mean": 0.75, "ci95": [0.1, 0.5], "n": 4}
    out = table.paired({"p1": {"m": 1.0}, "p2": {"m": 1.0}}, {"p1": {"m": 0.0},
                       "p2": {"m": 0.5}}, "m", settings)
    assert out == {"difference": 0.75, "ci95": [0.1, 0.5], "problems": 2, "verdict": "holds",
                   "detectable": pytest.approx(0.2)}
    assert calls == [([1.0, 0.0, 1.0, 1.0], 77, 5), ([1.0, 0.5], 77, 5)]


def test_paired_uses_only_problems_with_the_metric_in_both_rows():
    a = {"p1": {"m": 1.0}, "p2": {"m": 1.0}, "p3": {"m": 1.0}, "p4": {"x": 1.0}}
    b = {"p2": {"m": 0.0}, "p3": {"x": 0.0}, "p4": {"m": 0.0}, "p5": {"m": 0.0}}
    out = table.paired(a, b, "m", SETTINGS)
    assert (out["difference"], out["problems"]) == (1.0, 1)  # p2 alone
    empty = {"difference": None, "ci95": [None, None], "problems": 0,
             "verdict": "inconclusive"}
    assert table.paired(a, {"p9": {"m": 0.0}}, "m", SETTINGS) == empty  # no common problem
    assert table.paired({"p3": {"m": 1.0}}, b, "m", SETTINGS) == empty  # metric in one only


def test_findings_are_named_in_full():
    f1, f2, f3 = table.verdicts(_values(), ROWS, SETTINGS)
    assert f1["finding"] == (
        "1. fine-grained (detailed) solutions fine-tune better than terse ones")
    assert f2["finding"] == (
        "2. re-ranking answer clusters with the evaluator beats majority voting")
    assert f3["finding"] == ("3. multi-task sequential fine-tuning improves the generator "
                             "over extra MLE steps")


def test_a_row_without_results_leaves_its_finding_inconclusive_and_the_next_decided():
    values = _values()
    del values["SSFT terse"], values["multi-task sequential"]
    f1, f2, f3 = table.verdicts(values, ROWS, SETTINGS)
    assert {k: f1[k] for k in ("difference", "ci95", "problems", "verdict", "why")} == {
        "difference": None, "ci95": [None, None], "problems": 0, "verdict": "inconclusive",
        "why": "no results for SSFT terse (skipped stage)"}
    assert f2["verdict"] == "holds" and f2["difference"] == pytest.approx(0.25)
    assert f3["why"] == "no results for multi-task sequential (skipped stage)"


def test_a_problem_without_reranking_makes_finding_two_nan_not_dropped():
    """RR.Top2 exists only for fully scored problems; one without it is not silently left
    out of finding 2: the difference is NaN and the verdict inconclusive."""
    values = _values()
    del values["SSFT detailed + margin evaluator"]["p0"]["RR.Top2"]
    _, f2, _ = table.verdicts(values, ROWS, SETTINGS)
    assert f2["problems"] == 4 * REPEATS and math.isnan(f2["difference"])
    assert f2["verdict"] == "inconclusive"
