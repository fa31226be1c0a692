"""The untrained baseline by hand: S = exp(logprob) or exp(logprob / num_tokens), capped at 1,
written for the sampled rows only under the evaluator's name."""

import json
import math

import pytest

from mathft_jax import formats
from mathft_jax.evaluator.likelihood import likelihood_score, write_likelihood_scores


def _row(problem_id, index, logprob, num_tokens, decoding="sample"):
    return formats.candidate_row(
        problem_id=problem_id, sample_index=index, decoding=decoding, text="x",
        logprob=logprob, num_tokens=num_tokens, finish_reason="eos", checkpoint="c",
        sampling={"name": decoding}, gold_answer="1", level="", subject="", problem="p")


@pytest.mark.parametrize("logprob, num_tokens, total, per_token", [
    (-2.0, 4, math.exp(-2.0), math.exp(-0.5)),
    (-3.0, 1, math.exp(-3.0), math.exp(-3.0)),
    # No tokens: the per-token score divides by 1, not by 0.
    (-1.5, 0, math.exp(-1.5), math.exp(-1.5)),
    # A sum rounded above 0 (a sure text) is probability 1, not more.
    (0.25, 2, 1.0, 1.0),
    (0.0, 3, 1.0, 1.0),
])
def test_the_score_by_hand(logprob, num_tokens, total, per_token):
    row = {"logprob": logprob, "num_tokens": num_tokens}
    assert likelihood_score(row, per_token=False) == pytest.approx(total, rel=1e-12)
    assert likelihood_score(row, per_token=True) == pytest.approx(per_token, rel=1e-12)


def test_the_score_reads_numbers_written_as_strings():
    assert likelihood_score({"logprob": "-2", "num_tokens": "4"}, True) == pytest.approx(
        math.exp(-0.5), rel=1e-12)


@pytest.mark.parametrize("per_token, name", [(False, "likelihood:total"),
                                             (True, "likelihood:per_token")])
def test_the_scores_file_holds_every_sampled_row(tmp_path, per_token, name):
    candidates = tmp_path / "candidates.jsonl"
    candidates.write_bytes(formats.to_jsonl([
        _row("a", 0, -2.0, 4, decoding="greedy"), _row("a", 0, -2.0, 4),
        _row("a", 1, -6.0, 3), _row("b", 2, -1.0, 2)]))
    out = tmp_path / "scores.jsonl"
    assert write_likelihood_scores(str(candidates), str(out), per_token) == {
        "rows_scored": 3, "evaluator": name}
    scores = [json.loads(line) for line in out.read_text().splitlines()]
    expected = [("a", 0, -2.0, 4), ("a", 1, -6.0, 3), ("b", 2, -1.0, 2)]
    assert scores == [formats.score_row(
        problem_id=p, sample_index=i, score=pytest.approx(math.exp(lp / n if per_token else lp),
                                                          rel=1e-12),
        positive_logprob=lp, negative_logprob=0.0, evaluator=name) for p, i, lp, n in expected]
    assert formats.read_scores(str(out))[0] == pytest.approx(
        {(p, i): math.exp(lp / n if per_token else lp) for p, i, lp, n in expected})


def test_the_total_score_is_the_default(tmp_path):
    candidates = tmp_path / "candidates.jsonl"
    candidates.write_bytes(formats.to_jsonl([_row("a", 0, -2.0, 4)]))
    out = tmp_path / "scores.jsonl"
    assert write_likelihood_scores(str(candidates), str(out))["evaluator"] == "likelihood:total"
    assert json.loads(out.read_text())["score"] == pytest.approx(math.exp(-2.0), rel=1e-12)
