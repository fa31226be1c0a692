"""Hostile model output: bounded by the grader's own time budget, never evaluated, never EQUAL.

The bound lives in the grader (`Grader(timeout_s=...)` per check, `SymbolicWorker(timeout_s=)`
per comparison); these tests assert the verdicts and the worker's time-out accounting, not
wall-clock times.
"""

import os
import threading

import pytest

from mathft_jax.evaluation import extract_answer
from mathft_jax.evaluation.equivalence import Grader, check_equiv
from mathft_jax.evaluation.symbolic import SymbolicWorker
from mathft_jax.evaluation.verdict import Verdict

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
    "sqrt(" * 1900 + "7" + ")" * 1900,  # plain-text calls: rewritten a bounded number of times
    "sqrt(" * 3000,
    "**" * 4000 + "7" + "**" * 4000,
    "1" + "%" * 5000,
    "2^{-99999}",
    ",".join(f"x_{i}=7" for i in range(2000)),
]


@pytest.mark.parametrize("pred", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_answer_is_not_equal(grader, pred):
    assert check_equiv("7", pred, grader) is not Verdict.EQUAL
    assert not os.path.exists("/tmp/mathft_pwned")


def test_per_check_budget_bounds_a_structure_of_slow_items(worker):
    # Ten items that each need the worker: with a budget of ~0 s no comparison may start, so
    # the verdict is UNKNOWN without a single time-out of the worker.
    grader = Grader(worker, timeout_s=0.0)
    slow = ",".join(f"(x+y+z+w)^{{{30 + i}}}" for i in range(10))
    before = worker.num_timeouts
    assert grader.check(",".join(["1"] * 10), slow) is not Verdict.EQUAL
    assert grader.check(r"\sqrt{2}", r"\frac{2}{\sqrt{2}}") is Verdict.UNKNOWN
    assert grader.num_symbolic_calls == 0 and worker.num_timeouts == before


def test_unknown_is_not_cached(worker):
    grader = Grader(worker, timeout_s=0.0)
    assert grader.check(r"\sqrt{2}", r"\frac{2}{\sqrt{2}}") is Verdict.UNKNOWN
    grader.timeout_s = 15.0
    assert grader.check(r"\sqrt{2}", r"\frac{2}{\sqrt{2}}") is Verdict.EQUAL


@pytest.mark.parametrize("text,expected", [
    (r"\boxed{", None),
    (r"\boxed{" * 10_000, None),
    ("{" * 10_000 + r"\boxed{1}" + "}" * 10_000, "1"),
    ("a" * 100_000 + r"\boxed{5}", "5"),
    (r"\fbox{" + "x" * 100_000, None),
    ("$" * 50_000, None),
    ("answer is " * 20_000, None),
    ("\n" * 50_000, None),                                   # concluding-sentence starts
    ("<|im_end|>" * 1_999 + "7", "7"),                         # turn markers before any text
    ("Therefore, " * 5_000 + "9", "9"),
    (r"\boxed{1} final answer is " + "$2$ and " * 3_000, "2"),  # spans after a final cue
    ("1/" * 20_000, "1"),
])
def test_hostile_extraction(text, expected):
    assert extract_answer(text) == expected


def test_timeout_kills_and_recovers_off_main_thread():
    # A 1 ms bound is shorter than any LaTeX parse, so the first comparison must time out:
    # this exercises the kill-and-restart path deterministically, from a non-main thread.
    worker = SymbolicWorker(timeout_s=5.0)
    grader = Grader(worker)
    results = {}

    def run():
        worker.compare("x", "x")
        worker.timeout_s = 0.001
        results["hostile"] = grader.check("7", r"(x+y+z+w)^{30}+\sqrt{8}")
        worker.timeout_s = 5.0
        results["after"] = grader.check(r"\sqrt{8}", r"2\sqrt{2}")

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    worker.close()
    assert results["hostile"] is Verdict.UNKNOWN
    assert results["after"] is Verdict.EQUAL
    assert worker.num_timeouts == 1 and worker.num_restarts == 2
