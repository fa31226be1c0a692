"""Fixtures shared by the evaluator tests: the synthetic vocabulary and a small candidates
file of reference solutions (right) and their one-slip copies (wrong)."""

import pytest

from mathft_jax import formats
from mathft_jax.data.synthetic import generate_problem
from mathft_jax.data.task_lookup import get_task

LIKE = "synthetic_sft"


@pytest.fixture(scope="module")
def vocab():
    return get_task(LIKE).output_features["targets"].vocabulary


@pytest.fixture(scope="module")
def candidates(tmp_path_factory):
    """Two problems, each with its reference solution (right) and its one-slip copy (wrong)."""
    rows = []
    for i in range(2):
        p = generate_problem(seed=0, split="train", index=i, levels=(1,))
        for n, text in enumerate((p.solution, p.corrupted_solution)):
            rows.append(formats.candidate_row(
                problem_id=p.problem_id, sample_index=n, decoding="sample", text=text,
                logprob=-1.0, num_tokens=1, finish_reason="eos", checkpoint="c",
                sampling={"name": "sample"}, gold_answer=p.answer, level=p.level,
                subject=p.subject, problem=p.problem))
    path = tmp_path_factory.mktemp("candidates") / "candidates.jsonl"
    path.write_bytes(formats.to_jsonl(rows))
    return path, rows
