"""The ported peer suites: `(gold, pred, expected)` facts from the field's graders' tests.

Each file in `cases/` is JSON lines `{"source", "gold", "pred", "equal"}`; `gold` and `pred` are
texts as the peer's test gave them (a bare answer, `$...$`, or a whole solution), and `equal` is
the peer test's expected verdict. Both texts go through `extract_answer` and then `is_equiv`,
the way a user grades a model's output against a reference.

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

    @property
    def id(self) -> str:
        return f"{self.source.split('::')[-1]}:{self.gold[:30]}|{self.pred[:30]}"


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
