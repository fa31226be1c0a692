"""grade_problems: rows to graded problems (gold, level, subject, greedy, scores, counts)."""

import pytest

from mathft_jax.evaluation.problems import GradedProblem, grade_problems
from mathft_jax.evaluation.verdict import Verdict
from tests.evaluation.conftest import ScriptedGrader


def _row(pid, decoding, text, index=0, **meta):
    return {"problem_id": pid, "decoding": decoding, "sample_index": index, "text": text, **meta}


ROWS = [
    # p1: gold, level and subject on its first row; samples 3 ("u") and 5 ("w") cannot be
    # decided; the scripted grader (not the real one) calls "v" equal to "b".
    _row("p1", "sample", r"so \boxed{b}", 1, gold_answer="a", level="Level 2",
         subject="Algebra"),
    _row("p1", "sample", r"\boxed{a}", 0, level="Level 9"),
    _row("p1", "sample", "no answer", 2),
    _row("p1", "sample", r"\boxed{u}", 3),
    _row("p1", "sample", r"\boxed{v}", 4),
    _row("p1", "sample", r"\boxed{w}", 5),
    _row("p1", "greedy", r"\boxed{a}"),
    # p0: gold, level and subject from the gold file only.
    _row("p0", "sample", r"\boxed{c}"),
    # p2: only a greedy row, which cannot be decided; p05 and p3: no gold anywhere (skipped).
    _row("p2", "greedy", r"\boxed{u}"),
    _row("p05", "sample", r"\boxed{a}"),
    _row("p3", "sample", r"\boxed{a}"),
]
GOLD = {"p0": {"answer": "c", "level": "Level 5", "subject": "Geometry"}, "p2": {"answer": "a"}}
SCORES = {("p1", 0): 0.9, ("p1", 1): 0.2, ("p1", 3): 0.5, ("p1", 4): 0.4, ("p1", 5): 0.1}
# (p1 #2 and p0 #0 have none)
TABLE = {("a", "u"): Verdict.UNKNOWN, ("a", "w"): Verdict.UNKNOWN, ("b", "v"): Verdict.EQUAL}


@pytest.fixture
def graded():
    return grade_problems(ROWS, GOLD, SCORES, ScriptedGrader(TABLE))


def test_grade_problems_fields_and_counts(graded):
    problems, counts = graded
    assert problems == [
        GradedProblem("p0", "Level 5", "Geometry", "c", ["c"], [0], {0: True}, [0.0], None,
                      num_missing_scores=1, sample_indices=[0]),
        GradedProblem("p1", "Level 2", "Algebra", "a", ["a", "b", None, "u", "v", "w"],
                      [0, 1, None, 2, 1, 3], {0: True, 1: False, 2: False, 3: False},
                      [0.9, 0.2, 0.0, 0.5, 0.4, 0.1], True, num_missing_scores=1,
                      num_unknown_verdicts=2, sample_indices=[0, 1, 2, 3, 4, 5]),
        GradedProblem("p2", "unknown", "unknown", "a", [], [], {}, [], False,
                      num_unknown_verdicts=1)]
    assert counts == {"unextractable": 1, "missing_score": 2, "missing_gold": 2,
                      "unknown_verdicts": 3}


def test_without_scores_or_gold_file():
    problems, counts = grade_problems(ROWS[:7], grader=ScriptedGrader({}))
    assert [p.problem_id for p in problems] == ["p1"] and problems[0].scores is None
    assert counts == {"unextractable": 1, "missing_score": 0, "missing_gold": 0,
                      "unknown_verdicts": 0}


def test_metrics_of_a_subset_and_the_greedy_row(graded):
    import dataclasses
    # p1 has one unscored sample: it gets no re-ranking metrics (they would rank a made-up 0).
    assert not any(k.startswith(("RR.", "W.RR")) for k in graded[0][1].metrics())
    p1 = dataclasses.replace(graded[0][1], num_missing_scores=0)  # as if fully scored
    assert p1.metrics([0, 3], pass_ks=(1, 2), maj_ks=(2,), rerank_k=1) == {
        "pass@1": 0.5, "pass@2": 1.0, "Pass@N": 1.0, "Maj1@N": 1.0, "Maj2@N": 1.0,
        "RR.All": 1.0, "RR.Top1": 1.0, "W.RR": 1.0, "W.RR.Maj1": 1.0, "Greedy": 1.0}
    # All samples, default rerank_k: the largest cluster ("b", "v") is wrong; sample 0 ("a",
    # right) scores best and its cluster has the largest sum.
    assert p1.metrics() == pytest.approx({
        "pass@1": 1 / 6, "Pass@N": 1.0, "Maj1@N": 0.0, "RR.All": 1.0, "RR.Top8": 1.0,
        "W.RR": 1.0, "W.RR.Maj8": 1.0, "Greedy": 1.0})
    assert graded[0][2].metrics() == {"Greedy": 0.0}  # only a greedy row
