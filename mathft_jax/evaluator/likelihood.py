"""The untrained baseline of every evaluator: the generator's own probability of a sample.

A candidates file already holds each sample's summed log-prob under the model that wrote it
(`formats`, "logprob", untempered). Re-ranking by it needs no training: the scores file says
S = exp(logprob) (the model's probability of the whole text), or, `per_token`,
S = exp(logprob / num_tokens) (the geometric mean of its token probabilities, which does not
favour short texts). Both lie in [0, 1] and rank samples as the log-probs do, so `evaluate`
reports their re-ranking rows and within-problem AUC like any evaluator's.

Example:
    write_likelihood_scores("runs/main/test_sft_detailed/candidates.jsonl", "scores.jsonl")
    # -> {"rows_scored": 800, "evaluator": "likelihood:total"}
"""

from __future__ import annotations

import math

from mathft_jax import formats
from mathft_jax.atomic_files import atomic_write_bytes


def likelihood_score(row: dict, per_token: bool) -> float:
    """S of one candidate row (see the module docstring)."""
    logprob = float(row["logprob"])
    if per_token:
        logprob /= max(int(row["num_tokens"]), 1)
    return math.exp(min(logprob, 0.0))


def write_likelihood_scores(candidates_file: str, output_file: str, per_token: bool = False
                            ) -> dict:
    """Writes the scores JSONL of every sampled row of `candidates_file`; returns a summary."""
    rows, _ = formats.read_candidates(candidates_file)
    name = "likelihood:per_token" if per_token else "likelihood:total"
    out = [formats.score_row(problem_id=r["problem_id"], sample_index=r["sample_index"],
                             score=likelihood_score(r, per_token), positive_logprob=float(
                                 r["logprob"]), negative_logprob=0.0, evaluator=name)
           for r in rows if r["decoding"] == "sample"]
    atomic_write_bytes(output_file, formats.to_jsonl(out))
    return {"rows_scored": len(out), "evaluator": name}
