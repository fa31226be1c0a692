"""Hostile model output: every case must finish within its bound and never be EQUAL."""

import os
import threading
import time

import pytest

from mathft_jax.evaluation import extract_answer
from mathft_jax.evaluation.equivalence import Grader, check_equiv
from mathft_jax.evaluation.symbolic import SymbolicWorker
from mathft_jax.evaluation.verdict import Verdict

# Per-comparison timeout (2 s) plus killing the child; its restart is lazy (next call)
# and excluded from the bound.
BOUND_S = 4.0

HOSTILE = [
    "9^{9^{9^{9}}}",
    "2^{10^{10}}",
    "(x+y+z+w)^{30}",  # passes the size guards; decided numerically, never expanded
    "1" + "0" * 100_000,
    "x+" * 50_000 + "1",
    "{" * 10_000 + "1" + "}" * 10_000,
    "(" * 10_000 + "1" + ")" * 10_000,
    "__import__('os').system('touch /tmp/mathft_pwned')",
    "eval('1+1')",
    r"\boxed{",
    r"\frac{1}{0}",
    r"1000000!",
    r"\sqrt{" * 3000 + "2" + "}" * 3000,
]


@pytest.mark.parametrize("pred", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_answer_is_bounded(grader, pred):
    grader.worker.compare("x", "x")  # A killed worker restarts lazily: not part of the bound.
    start = time.monotonic()
    verdict = check_equiv("7", pred, grader)
    elapsed = time.monotonic() - start
    assert verdict is not Verdict.EQUAL
    assert elapsed < BOUND_S, elapsed
    assert not os.path.exists("/tmp/mathft_pwned")


@pytest.mark.parametrize("text", [
    r"\boxed{", r"\boxed{" * 10_000, "{" * 10_000 + r"\boxed{1}" + "}" * 10_000,
    "a" * 100_000 + r"\boxed{5}", r"\fbox{" + "x" * 100_000])
def test_hostile_extraction_is_fast(text):
    start = time.monotonic()
    extract_answer(text)
    assert time.monotonic() - start < 1.0


def test_timeout_kills_and_recovers_off_main_thread():
    # A 1 ms bound is shorter than any LaTeX parse, so the first comparison must time out:
    # this exercises the kill-and-restart path deterministically, from a non-main thread.
    worker = SymbolicWorker(timeout_s=5.0)
    grader = Grader(worker)
    results = {}

    def run():
        worker.compare("x", "x")
        worker.timeout_s = 0.001
        start = time.monotonic()
        results["hostile"] = grader.check("7", r"(x+y+z+w)^{30}+\sqrt{8}")
        results["elapsed"] = time.monotonic() - start
        worker.timeout_s = 5.0
        results["after"] = grader.check(r"\sqrt{8}", r"2\sqrt{2}")

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    worker.close()
    assert results["hostile"] is Verdict.UNKNOWN
    assert results["elapsed"] < 2.0
    assert results["after"] is Verdict.EQUAL
    assert worker.num_timeouts == 1
