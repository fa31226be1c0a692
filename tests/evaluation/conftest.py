import pytest

from mathft_jax.evaluation import equivalence, normalization
from mathft_jax.evaluation.equivalence import Grader
from mathft_jax.evaluation.symbolic import SymbolicWorker
from mathft_jax.evaluation.verdict import Verdict


@pytest.fixture(autouse=True)
def _empty_grading_caches():
    """Each test computes its own normal forms: with the process-wide caches warm, a test whose
    answers an earlier test already normalised never runs the rules, so mutation testing
    (which maps tests to the functions they call) would not run it against them."""
    for cached in (normalization.normalize_answer, normalization.as_rational,
                   equivalence._structure):
        cached.cache_clear()


class ScriptedGrader:
    """A `Grader` stand-in: normal form = the answer itself; comparisons answer from a
    symmetric table (NOT_EQUAL for pairs not listed) and are recorded in `calls`. No decimal
    tolerance, so clustering visits answers in plain first-appearance order."""

    decimal_min_digits = None

    def __init__(self, table: dict[tuple[str, str], Verdict]):
        self.table = {**table, **{(b, a): v for (a, b), v in table.items()}}
        self.calls: list[tuple[str, str]] = []

    def normal_form(self, answer: str) -> str:
        return answer

    def check_normal(self, a: str, b: str) -> Verdict:
        self.calls.append((a, b))
        return Verdict.EQUAL if a == b else self.table.get((a, b), Verdict.NOT_EQUAL)

    def check(self, gold: str | None, pred: str | None) -> Verdict:
        if gold is None or pred is None:
            return Verdict.NOT_EQUAL
        return self.check_normal(gold, pred)


@pytest.fixture(scope="session")
def worker():
    w = SymbolicWorker(timeout_s=2.0)
    w.compare("x", "x")  # Start the child now, outside any timed test.
    yield w
    w.close()


@pytest.fixture()
def grader(worker):
    return Grader(worker)


@pytest.fixture(scope="session")
def patient_worker():
    """For correctness tables: a bound generous enough that a loaded CI machine (the default
    2 s is per comparison, wall clock) cannot turn a decidable case into UNKNOWN. The hostile
    tests keep the default bound."""
    w = SymbolicWorker(timeout_s=15.0)
    w.compare("x", "x")
    yield w
    w.close()


@pytest.fixture()
def patient_grader(patient_worker):
    return Grader(patient_worker)
