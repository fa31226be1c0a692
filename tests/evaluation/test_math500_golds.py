"""Every MATH500 gold equals itself, its reference solution's boxed answer and its common
rewritings (skipped when the MATH data is absent: see `math_data_dir`)."""

import re

import pytest

from mathft_jax.data.math_dataset import load_math
from mathft_jax.evaluation import extract_answer
from mathft_jax.evaluation.equivalence import check_equiv
from mathft_jax.evaluation.verdict import Verdict


def _golds() -> list[tuple[str, str]]:
    """(gold answer, reference solution) of each MATH500 problem; [] without the data."""
    try:
        problems, _ = load_math(split_config="paper", split="test")
    except FileNotFoundError:
        return []
    return [(p.answer, p.solution) for p in problems]


GOLDS = _golds()

REWRITINGS = {
    "itself": lambda g: g,
    "inline math": lambda g: f"${g}$",
    "boxed in a sentence": lambda g: f"Therefore the answer is $\\boxed{{{g}}}$.",
    "final answer line": lambda g: f"Final Answer: The final answer is ${g}$. I hope it is correct.",
    "dfrac and spacing": lambda g: " " + g.replace("\\frac", "\\dfrac") + " ",
    # JSON-escaped text is recognised by its doubled letter commands (`\\\\frac`).
    "json-escaped": lambda g: ("\\boxed{" + g.replace("\\", "\\\\") + "}"
                              if re.search(r"\\[a-zA-Z]{2}", g) else g),
}


@pytest.mark.skipif(not GOLDS, reason="MATH data not found (math_data_dir)")
@pytest.mark.parametrize("rewrite", sorted(REWRITINGS))
def test_gold_equals_its_rewriting(patient_grader, rewrite):
    failures = []
    for gold, solution in GOLDS:
        for pred in (REWRITINGS[rewrite](gold), solution) if rewrite == "itself" else \
                (REWRITINGS[rewrite](gold),):
            if check_equiv(gold, extract_answer(pred), patient_grader) is not Verdict.EQUAL:
                failures.append((gold, pred[-80:]))
    assert not failures, failures[:10]
