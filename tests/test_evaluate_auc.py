"""evaluate.evaluator_auc: a sampled solution with no extractable answer is an INCORRECT
candidate of the AUC (not dropped, not correct), by hand on two graded problems."""

import pytest

from mathft_jax.evaluate import evaluator_auc
from mathft_jax.evaluation.problems import grade_problems


def _row(pid, index, text, gold):
    return {"problem_id": pid, "sample_index": index, "decoding": "sample", "text": text,
            "gold_answer": gold}


ROWS = [_row("p1", 0, r"so \boxed{4}", "4"), _row("p1", 1, r"\boxed{5}", "4"),
        _row("p1", 2, "I am not sure.", "4"),
        _row("p2", 0, r"\boxed{1}", "1"), _row("p2", 1, "no idea", "1")]
SCORES = {("p1", 0): 0.5, ("p1", 1): 0.2, ("p1", 2): 0.9, ("p2", 0): 0.3, ("p2", 1): 0.1}


def test_unextractable_samples_count_as_incorrect():
    problems, counts = grade_problems(ROWS, {}, SCORES)
    assert counts["unextractable"] == 2
    out = evaluator_auc(problems, num_bootstrap=50, seed=0)
    assert (out["candidates"], out["correct"], out["problems"]) == (5, 2, 2)
    # Correct {0.5, 0.3} vs incorrect {0.2, 0.9 (no answer), 0.1 (no answer)}: 4 of the 6
    # pairs ordered right. (Dropped: 2/2 = 1.0; counted correct: 3/4.)
    assert out["auc"] == pytest.approx(4 / 6)
    # Within problems: p1 (0.5 above 0.2, below 0.9) 1/2; p2 (0.3 above 0.1) 1.
    assert out["within_problem"]["auc"] == pytest.approx(0.75)
    assert out["within_problem"]["problems"] == 2
