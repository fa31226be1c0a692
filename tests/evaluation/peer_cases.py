"""The ported peer suites: `(gold, pred, expected)` facts from the field's graders' tests.

Each file in `cases/` is JSON lines `{"source", "gold", "pred", "equal"}`; `gold` and `pred` are
texts as the peer's test gave them (a bare answer, `$...$`, or a whole solution), and `equal` is
the peer test's expected verdict. Both texts go through `extract_answer` and then `is_equiv`,
the way a user grades a model's output against a reference. A case whose verdict holds only
under its test's own setup carries that setup as our equivalent, applied to both texts:
`"extract": {"math_only": true}` for math-verify's tests that parse with its LaTeX target alone
(`match_types=["latex"]`: `test_latex_notation`, `test_latex_notation_math`,
`test_relations_math`, `test_matrix_extraction`, `test_set_rel_assymetry`), where a bare
number outside math is no answer.

Sources: huggingface/Math-Verify tests, MARIO_EVAL's test_is_equiv, NeMo-Skills'
test_math_equal, Qwen2.5-Math's grader examples, Hendrycks MATH's math_equivalence_test and
lm-eval MATH grader's known failures (identical tuples, intervals, matrices).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

CASES_DIR = Path(__file__).resolve().parent / "cases"


@dataclasses.dataclass(frozen=True)
class Case:
    source: str
    gold: str
    pred: str
    equal: bool
    # Keyword arguments of `extract_answer` that reproduce the peer test's setup.
    extract: dict = dataclasses.field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        return f"{self.source.split('::')[-1]}:{self.gold[:30]}|{self.pred[:30]}"

    def answers(self) -> tuple[str | None, str | None]:
        """Gold's and prediction's extracted answers, under the case's setup."""
        from mathft_jax.evaluation.answer_extraction import extract_answer
        return (extract_answer(self.gold, **self.extract),
                extract_answer(self.pred, **self.extract))


def load_cases() -> list[Case]:
    """Every case of every file in `cases/`, in file then line order."""
    cases = []
    for path in sorted(CASES_DIR.glob("*.jsonl")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                cases.append(Case(**json.loads(line)))
            except (ValueError, TypeError) as e:
                raise ValueError(f"{path}:{lineno}: bad case line: {e}") from None
    return cases
