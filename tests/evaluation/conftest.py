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
