import pytest

from mathft_jax.evaluation.equivalence import Grader
from mathft_jax.evaluation.symbolic import SymbolicWorker


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
