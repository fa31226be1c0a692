"""Every MATH500 gold equals itself, its reference solution's boxed answer and its common
rewritings (skipped when ../shared/data/math is absent)."""

import json
import re
from pathlib import Path

import pytest

from mathft_jax.data.answers import last_boxed_content
from mathft_jax.evaluation import extract_answer
from mathft_jax.evaluation.equivalence import check_equiv
from mathft_jax.evaluation.verdict import Verdict

MATH_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "math"


def _golds() -> list[tuple[str, str]]:
    """(gold answer, reference solution) of each MATH500 problem."""
    if not (MATH_DIR / "math500_ids.txt").exists():
        return []
    ids = set((MATH_DIR / "math500_ids.txt").read_text().split())
    rows = []
    with open(MATH_DIR / "test.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["unique_id"] in ids:
                rows.append((row.get("answer") or last_boxed_content(row["solution"]),
                             row["solution"]))
    return rows


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


@pytest.mark.skipif(not GOLDS, reason="MATH data not found at ../shared/data/math")
@pytest.mark.parametrize("rewrite", sorted(REWRITINGS))
def test_gold_equals_its_rewriting(patient_grader, rewrite):
    failures = []
    for gold, solution in GOLDS:
        for pred in (REWRITINGS[rewrite](gold), solution) if rewrite == "itself" else \
                (REWRITINGS[rewrite](gold),):
            if check_equiv(gold, extract_answer(pred), patient_grader) is not Verdict.EQUAL:
                failures.append((gold, pred[-80:]))
    assert not failures, failures[:10]
