"""The symbolic worker's comparison rules and size bounds, run in this process.

The worker process runs exactly these functions (`_serve` → `_compare_in_child`); the
process protocol (time-outs, restarts, hostile input) is tested in `test_hostile.py` and
`test_equivalence.py`. Here each rule and bound is pinned on its own, at its edges.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest
import sympy
from sympy import Eq, Float, Integer, Pow, Rational, factorial, sqrt, symbols

from mathft_jax.evaluation import symbolic
from mathft_jax.evaluation.verdict import Verdict

E, N, U = Verdict.EQUAL, Verdict.NOT_EQUAL, Verdict.UNKNOWN
x, y = symbols("x y")


def _pow(base: int, exp: int):
    return Pow(Integer(base), Integer(exp), evaluate=False)


def test_log2_bound_of_integers_powers_and_factorials():
    assert symbolic._log2_bound(Integer(0)) == 0.0
    assert symbolic._log2_bound(Integer(7)) == 3.0
    assert symbolic._log2_bound(Integer(-8)) == math.log2(9)
    assert symbolic._log2_bound(Integer(2) ** 5000) == 4096.0  # capped, never computed
    assert symbolic._log2_bound(_pow(2, 10)) == pytest.approx(math.log2(3) * 11)
    # An exponent of 60 bits is still multiplied out; one of 61 bits is infinite.
    assert symbolic._log2_bound(_pow(2, 2 ** 60 - 1)) == pytest.approx(math.log2(3) * 2 ** 60)
    assert symbolic._log2_bound(_pow(2, 2 ** 61)) == math.inf
    assert symbolic._log2_bound(_pow(0, 2 ** 61)) == 0.0
    assert symbolic._log2_bound(Pow(x, 2)) == 0.0
    assert symbolic._log2_bound(factorial(Integer(5), evaluate=False)) == pytest.approx(
        6 * math.log2(6))
    assert symbolic._log2_bound(factorial(Integer(2 ** 20 - 1), evaluate=False)) == 2 ** 20 * 20
    assert symbolic._log2_bound(factorial(Integer(2 ** 20), evaluate=False)) == math.inf
    assert symbolic._log2_bound(Rational(1, 3)) == 0.0


def test_too_big_counts_nodes_and_bounds_powers():
    assert not symbolic._too_big("not sympy")
    # An Add of k symbols is k + 1 nodes.
    assert not symbolic._too_big(sympy.Add(*symbols(f"a0:{symbolic.MAX_NODES - 1}")))
    assert symbolic._too_big(sympy.Add(*symbols(f"a0:{symbolic.MAX_NODES}")))
    assert not symbolic._too_big(_pow(2, 12000))    # log2(3) * 12001 ~ 19,021 bits
    assert symbolic._too_big(_pow(2, 13000))        # ~ 20,606 bits
    assert symbolic._too_big(sympy.Add(x, _pow(2, 13000), evaluate=False))  # below the root
    assert not symbolic._too_big(factorial(Integer(1000), evaluate=False))  # ~ 9,980 bits
    assert symbolic._too_big(factorial(Integer(2000), evaluate=False))      # ~ 21,950 bits


def test_numeric_zero_is_exact_for_rationals_and_relative_otherwise():
    assert symbolic._numeric_zero(Integer(0)) is True
    # Rational differences are exact, however small: no absolute floor.
    assert symbolic._numeric_zero(Rational(1, 10 ** 40)) is False
    assert symbolic._numeric_zero(_pow(2, -70) - _pow(2, -71)) is False
    assert symbolic._numeric_zero(_pow(10, 30) + 1 - _pow(10, 30)) is False
    # A difference evaluated to significant digits is non-zero, however small.
    assert symbolic._numeric_zero(sympy.pi ** -60 - sympy.pi ** -61) is False
    assert symbolic._numeric_zero(sympy.exp(sympy.pi * sqrt(163)) - 640320 ** 3 - 744) is False
    assert symbolic._numeric_zero(sympy.pi * sympy.I / 10 ** 30) is False
    # A zero that only simplification proves: evaluation finds no digit, the sides are ~1.
    trig = sympy.sin(sympy.pi / 7) ** 2 + sympy.cos(sympy.pi / 7) ** 2 - 1
    assert symbolic._numeric_zero(trig) is True
    assert symbolic._numeric_zero(trig, Integer(1), Integer(1)) is True
    for undecidable in (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo, x):
        assert symbolic._numeric_zero(undecidable) is None


def test_numeric_zero_needs_the_unresolved_rest_to_be_small_relative_to_the_sides():
    # The same unresolved "0.e-1472" rest, judged against sides of 1 and of 1e-1500.
    trig = sympy.sin(sympy.pi / 7) ** 2 + sympy.cos(sympy.pi / 7) ** 2 - 1
    assert symbolic._numeric_zero(trig, Integer(1)) is True
    assert symbolic._numeric_zero(trig, Rational(1, 10 ** 1500)) is False
    assert symbolic._numeric_zero(trig, sympy.zoo) is None


def test_numeric_zero_raises_the_working_precision_to_resolve_a_difference():
    assert symbolic._numeric_zero(Pow(2, Rational(1, 2 ** 1000)) - 1) is False


def test_exact_decimals_reads_a_decimal_as_the_rational_it_spells():
    assert symbolic._parse("0.1x") == x / 10
    assert symbolic._parse("4.12310562561766054982") == Rational("4.12310562561766054982")
    assert symbolic._exact_decimals(x + 1) == x + 1


@pytest.mark.parametrize("a, b, tolerance, expected", [
    (x + 1, 1 + x, 0.0, E),
    (sqrt(2) / 2, 1 / sqrt(2), 0.0, E),
    (Rational(1, 3), Float("0.3333", 30), 0.0, N),
    (Float("0.33", 30), Rational(1, 3), 0.01, E),     # 1/3 rounded at the 2nd decimal
    (Float("0.34", 30), Rational(1, 3), 0.01, N),
    (Float("0.3333", 30), Rational(1, 3), 0.0001, E),
    (sympy.I, Integer(1), 0.01, N),                    # not real: the exact test decides
    ((x + 1) ** 2, x ** 2 + 2 * x + 1, 0.0, E),
    (x, y, 0.0, N),                                    # distinct points per symbol
    (x * y, y * x + x - y, 0.0, N),
    (x - Rational(3, 7), Integer(0), 0.0, N),          # zero at the first point only
    # 0/0 at the first point (undecided there), zero at the others: simplify proves it.
    ((x ** 2 - Rational(9, 49)) / (x - Rational(3, 7)), x + Rational(3, 7), 0.0, E),
    (sympy.zoo, Integer(1), 0.0, U),
])
def test_expr_verdict(a, b, tolerance, expected):
    assert symbolic._expr_verdict(a, b, tolerance) is expected


def test_expr_verdict_points_are_distinct_for_each_symbol_and_point():
    # Zero where x = y (one shared point) or x = 3/7 (the first point): not equal elsewhere.
    assert symbolic._expr_verdict((x - y) * (x - Rational(3, 7)), Integer(0)) is N
    assert symbolic._expr_verdict((x - Rational(13, 4)) * (x + Rational(5, 11)), Integer(0)) is N


@pytest.mark.parametrize("da, db, expected", [
    (2 * x - 4, x - 2, E),
    (-3 * x + 6, x - 2, E),
    (x - 2, x - 3, N),
    (x - y, 2 * x - 2 * y, E),        # needs distinct values for x and y
    (Integer(0), x - 2, N),           # ratio 0: not a relation multiple
    (x - 2, x - Rational(3, 7), U),   # divides by zero at the first point
    (x - 2, x + Rational(5, 11), U),  # ... at the second
    (x - 2, x - Rational(13, 4), U),  # ... at the third
    ((1 + Rational(1, 10 ** 12)) * x - 2, x - 2, N),  # ratios compared exactly
    ((1 + sqrt(2) / 10 ** 25) * x - 2, x - 2, N),     # ... or to their significant digits
    (sqrt(2) * x - 2, x - sqrt(2), E),
    (Rational(1, 2 ** 70) * (x - 2), x - 2, E),       # a tiny factor is still a factor
    (Integer(2), Integer(2), E),
    (x ** 2 - 1, x - 1, N),
])
def test_constant_ratio(da, db, expected):
    assert symbolic._constant_ratio(da, db) is expected


@pytest.mark.parametrize("a, b, expected", [
    (Eq(x + y, 1), Eq(1 - x, y), E),          # the same equation, sides swapped
    (Eq(2 * x, 4), Eq(x, 2), E),              # a constant multiple
    (Eq(x, 2), Eq(x, 3), N),
    (x > 2, 2 < x, E),
    (x < 2, 2 > x, E),
    (x <= 2, 2 >= x, E),
    (x >= 2, x > 2, N),                       # strictness differs
    (x < 2, x > 2, N),
    (x > 2, x > 3, N),
    (Eq(x, 2), x > 2, U),
    (sympy.Ne(x, 2), sympy.Ne(x, 2), U),
    (x, x, U),                                # not relations
])
def test_relation_verdict(a, b, expected):
    assert symbolic._relation_verdict(a, b) is expected


@pytest.mark.parametrize("eq, expr, expected", [
    (Eq(y, 2 * x + 1), 2 * x + 1, E),
    (Eq(2 * x + 1, y), 2 * x + 1, E),
    (Eq(y, 2 * x + 1), 2 * x + 2, N),
    (Eq(x, x ** 2), x ** 2, N),               # x is on both sides
    (Eq(y, 3), y, N),                         # the expression uses the defined symbol
    (Eq(2 * y, 4), Integer(2), N),            # no lone symbol
    (x > 2, Integer(2), N),
    (Eq(y, 1), sympy.FiniteSet(1), N),
])
def test_definition_verdict(eq, expr, expected):
    assert symbolic._definition_verdict(eq, expr) is expected


COL = r"\begin{pmatrix}1\\2\end{pmatrix}"


@pytest.mark.parametrize("a, b, expected", [
    ("y = 2x+1", "2x+1", E),
    ("2x+1", "y = 2x+1", E),
    ("y = 2x+1", "2x+3", N),
    ("x > 2", "2 < x", E),
    (COL, COL, E),
    (COL, r"\begin{pmatrix}1\\3\end{pmatrix}", N),
    (COL, r"\begin{pmatrix}1&2\end{pmatrix}", N),   # same entries, other shape
    (COL, "1", N),
    ("1", COL, N),
    (r"\{1,2\}", r"\{2,1\}", E),
    (r"\{1,2\}", r"\{1,3\}", U),
    (r"\{1,2\}", "1", U),
    ("2^{99999}", "2^{99999}", U),                  # over the power bound: never compared
    ("1", "2^{99999}", U),
    ("2^{99999}", "1", U),                          # each side is checked
    (COL, r"\begin{pmatrix}0\\1\end{pmatrix}+\begin{pmatrix}1\\1\end{pmatrix}", E),
    (r"\begin{pmatrix}2&1\end{pmatrix}\begin{pmatrix}1\\0\end{pmatrix}", r"\begin{pmatrix}2\end{pmatrix}", E),
    (r"2\begin{pmatrix}1\\1\end{pmatrix}", r"\begin{pmatrix}2\\3\end{pmatrix}", N),
])
def test_compare_in_child_dispatch(a, b, expected):
    assert symbolic._compare_in_child(a, b) is expected


def test_compare_in_child_passes_the_tolerance_on():
    assert symbolic._compare_in_child("0.33", r"\frac{1}{3}", 0.01) is E
    assert symbolic._compare_in_child("0.33", r"\frac{1}{3}") is N


def test_serve_answers_one_line_per_request_and_survives_failures():
    requests = [["x+1", "1+x", 0.0], ["0.33", r"\frac{1}{3}", 0.01], ["1", "2", 0.0],
                [r"\frac{", "1", 0.0],  # unparseable: "cannot decide", and the loop goes on
                ["y+2.236", r"y+\sqrt{5}", 0.0, 4], ["y+2.236", r"y+\sqrt{5}", 0.0, None]]
    out = io.StringIO()
    symbolic._serve([json.dumps(r) + "\n" for r in requests], out)
    assert out.getvalue() == "equal\nequal\nnot_equal\nunknown\nequal\nnot_equal\n"


@pytest.mark.parametrize("a, b, expected", [
    # a decimal inside an expression stands for a constant of the other side it rounds
    (r"t+2.236", r"t+\sqrt{5}", E),
    (r"t+2.237", r"t+\sqrt{5}", N),                      # neither rounded nor truncated
    (r"t+2.23", r"t+\sqrt{5}", N),                       # three digits: exact
    (r"t-2.236i", r"t-\sqrt{5}i", E),                    # a negative coefficient
    (r"t-2.236", r"t+\sqrt{5}", N),                      # the other sign
    (r"6.283t", r"2\pi t", E),                           # a product's constant factor
    (r"6.283s", r"2\pi t", N),                           # ... the rest must be equal
    (r"u+v=0.7071", r"u+v=\frac{1}{\sqrt{2}}", E),        # in an equation
    (r"u+v\geq 0.7071", r"u+v\geq\frac{\sqrt{2}}{2}", E), # in an inequality
    (r"t^2+0.3333", r"t^2+\frac{1}{3}", E),               # a rational constant too
    (r"t+2.2361", r"t+2.236", N),                         # decimals on both sides: exact
    (r"2.236t+1.414", r"\sqrt{5}t+\sqrt{2}", E),           # each decimal its own constant
    (r"2.236t+1.414", r"\sqrt{5}t+\sqrt{3}", N),
])
def test_a_decimal_inside_an_expression(a, b, expected):
    assert symbolic._compare_in_child(a, b, 0.0, 4) is expected
    assert symbolic._compare_in_child(b, a, 0.0, 4) is expected
    if expected is E:  # without the rule: exact
        assert symbolic._compare_in_child(a, b) is N


def test_decimal_places_read_the_written_digits():
    places = symbolic._decimal_places("x+1.7320-0.05+.1234+3.", 4)
    assert places == {sympy.Rational("1.732"): sympy.Rational(1, 10_000),
                      sympy.Rational("0.1234"): sympy.Rational(1, 10_000)}


def test_parse_reads_i_as_the_imaginary_unit_and_keeps_case():
    assert symbolic._parse("i^2") == -1
    assert symbolic._parse("X + x").free_symbols == {sympy.Symbol("X"), x}


class _FakeChild:
    """A stand-in for the worker process: replies come from a real pipe (the worker reads
    them with select), requests go to a list. `replies` as a list of chunks: written one by
    one, 50 ms apart, from a thread (a reply split across reads)."""

    def __init__(self, args, env, stdin, stdout, stderr, replies: bytes | list[bytes]):
        self.args, self.env, self.streams = args, env, (stdin, stdout, stderr)
        read_fd, write_fd = os.pipe()
        self.stdout = os.fdopen(read_fd, "rb")
        self.stdin = io.BytesIO()
        self.killed = False
        self.returncode = None  # a test sets it to let the child "die"
        chunks = [replies] if isinstance(replies, bytes) else replies
        threading.Thread(target=self._write, args=(write_fd, chunks), daemon=True).start()

    @staticmethod
    def _write(fd: int, chunks: list[bytes]) -> None:
        for i, chunk in enumerate(chunks):
            time.sleep(0.05 if i else 0.0)
            os.write(fd, chunk)
        os.close(fd)

    def poll(self):
        return self.returncode

    def kill(self):
        self.killed, self.returncode = True, -9

    def wait(self, timeout=None):
        return self.returncode


def _fake_popen(monkeypatch, replies: bytes | list[bytes]) -> list:
    started = []

    def popen(args, env, stdin, stdout, stderr):
        started.append(_FakeChild(args, env, stdin, stdout, stderr, replies))
        return started[-1]
    monkeypatch.setattr(symbolic.subprocess, "Popen", popen)
    return started


def test_the_worker_starts_this_package_with_its_memory_cap(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    started = _fake_popen(monkeypatch, b"ready\nequal\n")
    worker = symbolic.SymbolicWorker(timeout_s=5.0, memory_limit_bytes=123)
    assert worker.compare("1", "1") is E
    child, = started
    assert child.args == [sys.executable, "-m", "mathft_jax.evaluation.symbolic"]
    root = str(Path(symbolic.__file__).resolve().parents[2])
    assert child.env["PYTHONPATH"] == os.pathsep.join([root, "/elsewhere"])
    assert child.env["MATHFT_SYMBOLIC_MEMORY"] == "123"
    assert child.streams == (subprocess.PIPE, subprocess.PIPE, subprocess.DEVNULL)
    assert json.loads(child.stdin.getvalue()) == ["1", "1", 0.0, None]
    assert worker.num_restarts == 1 and worker.num_timeouts == 0
    monkeypatch.delenv("PYTHONPATH")
    symbolic.SymbolicWorker(memory_limit_bytes=None).compare("1", "2")
    assert started[1].env["PYTHONPATH"] == root
    assert started[1].env["MATHFT_SYMBOLIC_MEMORY"] == "0"


def test_a_worker_that_never_says_ready_is_an_error(monkeypatch):
    from mathft_jax.errors import EnvironmentFailure
    started = _fake_popen(monkeypatch, b"Traceback ...\n")
    worker = symbolic.SymbolicWorker()
    with pytest.raises(EnvironmentFailure, match="^the symbolic grading worker .* was not "
                                                 "ready within its start-up limit"):
        worker.compare("1", "2")
    assert started[0].killed and worker.num_restarts == 0


def test_replies_are_read_line_by_line_and_eof_or_silence_is_unknown(monkeypatch):
    # Two replies in one chunk: each call takes one line; then end of file: UNKNOWN, and the
    # child is killed and counted as a time-out.
    started = _fake_popen(monkeypatch, b"ready\nequal\nnot_equal\n")
    worker = symbolic.SymbolicWorker(timeout_s=5.0)
    assert [worker.compare("a", "b"), worker.compare("a", "c")] == [E, N]
    assert worker.compare("a", "d") is U
    assert worker.num_timeouts == 1 and started[0].killed
    assert worker.compare("a", "e") is E and len(started) == 2  # a fresh child


def test_too_long_input_never_reaches_the_worker(monkeypatch):
    started = _fake_popen(monkeypatch, b"ready\n")
    worker = symbolic.SymbolicWorker()
    long = "1" * (symbolic.MAX_SYMBOLIC_CHARS + 1)
    assert worker.compare(long, "1") is U and worker.compare("1", long) is U
    assert not started
    at_limit = "1" * symbolic.MAX_SYMBOLIC_CHARS
    started_ok = _fake_popen(monkeypatch, b"ready\nequal\n")
    assert worker.compare(at_limit, at_limit) is E and len(started_ok) == 1


def test_a_call_bound_tighter_than_the_worker_bound_applies(monkeypatch):
    _fake_popen(monkeypatch, b"ready\n")  # never replies to the request
    worker = symbolic.SymbolicWorker(timeout_s=30.0)
    bounds = []
    read_line = worker._read_line

    def spy(timeout_s):
        bounds.append(timeout_s)
        return read_line(timeout_s)
    monkeypatch.setattr(worker, "_read_line", spy)
    worker.compare("1", "2", timeout_s=0.01)
    worker.compare("1", "2", timeout_s=99.0)
    assert bounds == [symbolic._STARTUP_TIMEOUT_S, 0.01, symbolic._STARTUP_TIMEOUT_S, 30.0]


def test_a_reply_split_across_reads_is_joined_within_a_sub_second_bound(monkeypatch):
    _fake_popen(monkeypatch, [b"ready\neq", b"ual\nnot_", b"equal\n"])
    worker = symbolic.SymbolicWorker(timeout_s=5.0)
    assert worker.compare("1", "1", timeout_s=0.5) is E
    assert worker.compare("1", "2", timeout_s=0.5) is N
    assert worker.num_timeouts == 0


def test_each_time_out_is_counted(monkeypatch):
    started = _fake_popen(monkeypatch, b"ready\n")  # every child ends after saying ready
    worker = symbolic.SymbolicWorker(timeout_s=5.0)
    assert [worker.compare("1", "1"), worker.compare("1", "1")] == [U, U]
    assert worker.num_timeouts == 2 and worker.num_restarts == 2
    assert all(child.killed for child in started)


def test_a_child_that_died_between_calls_is_replaced_and_its_pipes_closed(monkeypatch):
    started = _fake_popen(monkeypatch, b"ready\nequal\n")
    worker = symbolic.SymbolicWorker(timeout_s=5.0)
    assert worker.compare("1", "1") is E
    started[0].returncode = 1  # e.g. killed by the system between two calls
    assert worker.compare("2", "2") is E and len(started) == 2
    assert started[0].stdout.closed and worker.num_timeouts == 0


def test_a_request_that_cannot_be_written_is_unknown(monkeypatch):
    started = _fake_popen(monkeypatch, b"ready\nequal\n")
    worker = symbolic.SymbolicWorker(timeout_s=5.0)
    assert worker.compare("1", "1") is E
    started[0].stdin.close()  # writing raises ValueError, as a broken pipe raises OSError
    assert worker.compare("1", "1") is U
    assert worker.num_timeouts == 1 and started[0].killed


def test_a_forked_copy_leaves_its_parents_child_alone(monkeypatch):
    # After os.fork the worker object is shared but the child process belongs to the parent:
    # the copy starts its own and never kills the parent's, also on close().
    started = _fake_popen(monkeypatch, b"ready\nequal\n")
    worker = symbolic.SymbolicWorker(timeout_s=5.0)
    assert worker.compare("1", "1") is E
    worker._owner_pid = os.getpid() + 1  # as if this object were the fork's copy
    assert worker.compare("1", "1") is E and len(started) == 2
    assert not started[0].killed
    worker.close()  # its own child now
    assert started[1].killed and started[1].stdout.closed and worker._proc is None
    assert worker.compare("1", "1") is E
    worker._owner_pid = os.getpid() + 1
    worker.close()
    assert not started[2].killed


def test_the_default_worker_is_one_per_process_and_closed_at_exit(monkeypatch):
    registered = []
    monkeypatch.setattr(symbolic, "_DEFAULT", None)
    monkeypatch.setattr(symbolic.atexit, "register", registered.append)
    worker = symbolic.default_worker()
    assert isinstance(worker, symbolic.SymbolicWorker) and symbolic.default_worker() is worker
    assert worker.timeout_s == symbolic.DEFAULT_TIMEOUT_S and worker._proc is None  # lazy
    assert registered == [worker.close]


def test_exact_comparison_is_the_default():
    assert symbolic._expr_verdict(Rational(1, 3), Float("0.3", 30)) is N


def test_the_numeric_test_decides_without_simplify(monkeypatch):
    def simplify(expr):
        raise AssertionError("simplify called")
    monkeypatch.setattr(sympy, "simplify", simplify)
    assert symbolic._expr_verdict((x + 1) ** 2, x ** 2 + 2 * x + 1) is E
    assert symbolic._expr_verdict(x * y + y, y * (x + 1)) is E
    assert symbolic._expr_verdict(sqrt(8), 2 * sqrt(2)) is E
    assert symbolic._expr_verdict(x, x + 1) is N


def test_constant_ratio_divides_by_any_non_zero_value():
    # db is 1e-30 at the first point: tiny, not zero.
    tiny = x - Rational(3, 7) + Rational(1, 10 ** 30)
    assert symbolic._constant_ratio(tiny, tiny) is E
    assert symbolic._constant_ratio(tiny, x - Rational(3, 7) + Rational(1, 10 ** 31)) is N


def test_expr_verdict_keeps_tiny_and_huge_distinct_values_apart():
    assert symbolic._expr_verdict(_pow(2, -70), _pow(2, -71)) is N
    assert symbolic._expr_verdict(sqrt(2) / 10 ** 30, sqrt(3) / 10 ** 30) is N
    assert symbolic._expr_verdict(x ** 2 / 10 ** 30, 2 * x ** 2 / 10 ** 30) is N
    assert symbolic._expr_verdict(_pow(10, 30), _pow(10, 30) + 1) is N
    assert symbolic._expr_verdict(sympy.E ** -50, sympy.E ** -51) is N
    assert symbolic._expr_verdict(_pow(2, -70), 1 / _pow(2, 70)) is E


def test_substitutions_give_each_symbol_its_own_value_at_each_point():
    subs = symbolic._substitutions({y, x})
    assert subs == [{x: Rational(3, 7), y: Rational(3, 7) + symbolic._offset(0, 1)},
                    {x: Rational(-5, 11), y: Rational(-5, 11) + symbolic._offset(1, 1)},
                    {x: Rational(13, 4), y: Rational(13, 4) + symbolic._offset(2, 1)}]
    assert symbolic._substitutions(set()) == [{}, {}, {}]


def test_the_points_hold_no_simple_relation_between_symbols():
    # A relation that holds at every point makes two different answers equal there:
    # `u - v = 1` against `u - v = 2` (a constant ratio), `u w - v z` against 0.
    names = sympy.symbols("s0:5")
    points = [[Fraction(int(p[name].p), int(p[name].q)) for name in names]  # fast arithmetic
              for p in symbolic._substitutions(set(names))]
    for values in points:
        assert len(set(values)) == 5 and 0 not in values
    # sum(c v) is the same at every point iff sum(c (v_j - v_0)) = 0 for j = 1, 2.
    deltas = [[v - v0 for v, v0 in zip(values, points[0])] for values in points[1:]]
    for coefficients in itertools.product(range(-3, 4), repeat=5):
        if any(coefficients):
            assert any(sum(c * d for c, d in zip(coefficients, delta)) for delta in deltas), \
                coefficients
    for i, j, k, m in itertools.product(range(5), repeat=4):
        if {i, j} != {k, m}:
            assert len({v[i] * v[j] - v[k] * v[m] for v in points}) > 1, (i, j, k, m)


@pytest.mark.parametrize("a, b", [
    ("u-v=1", "u-v=2"), ("u-2v+w=0", "u-2v+w=5"), ("uw=vz", "uw=vz+1"), ("x-y+3", "x-y+4")])
def test_equations_on_several_symbols_that_differ_by_a_constant(a, b):
    assert symbolic._compare_in_child(a, b) is N


# ------------------------------------------------------------------ the worker's start-up


def test_a_worker_not_ready_within_its_start_up_limit_is_one_line(monkeypatch):
    """A slow start-up (a heavily loaded machine; simulated with a limit far below the
    child's import time) is an EnvironmentFailure line naming the limit and the setting,
    not a RuntimeError traceback; the worker is usable again once the limit allows it."""
    from mathft_jax import gin_utils
    monkeypatch.setenv(symbolic.STARTUP_ENV, "0.001")
    worker = symbolic.SymbolicWorker()
    with pytest.raises(gin_utils.EnvironmentFailure) as failure:
        worker.compare(r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}")
    assert gin_utils.classify(failure.value) == (gin_utils.EXIT_ENVIRONMENT, (
        "the symbolic grading worker (python -m mathft_jax.evaluation.symbolic) was not ready "
        "within its start-up limit of 0.001 s (a heavily loaded machine): rerun when the load "
        f"drops, or allow it longer with {symbolic.STARTUP_ENV}=<seconds>"))
    monkeypatch.delenv(symbolic.STARTUP_ENV)
    assert worker.compare(r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}") == Verdict.EQUAL
    worker.close()


def test_a_worker_that_dies_before_it_is_ready_is_one_line(monkeypatch):
    from mathft_jax import gin_utils
    monkeypatch.setattr(symbolic.sys, "executable", "/bin/false")
    worker = symbolic.SymbolicWorker()
    with pytest.raises(gin_utils.EnvironmentFailure, match=r"^the symbolic grading worker "
                       r"\(python -m mathft_jax.evaluation.symbolic\) exited with status 1 "
                       r"before it was ready: run that command to see why$"):
        worker.compare("x", "y")
    monkeypatch.setenv(symbolic.STARTUP_ENV, "soon")
    with pytest.raises(gin_utils.ConfigError, match="MATHFT_SYMBOLIC_STARTUP_S='soon'"):
        worker.compare("x", "y")


def test_a_worker_that_closes_its_output_before_exiting_is_reported_by_its_status(
        tmp_path, monkeypatch):
    # The race CI met: the parent sees the end of the output before the child's exit status
    # can be collected; it must still name the status, not a start-up time-out.
    from mathft_jax import gin_utils
    script = tmp_path / "slow_to_die"
    script.write_text("#!/bin/sh\nexec >&-\nsleep 1\nexit 3\n")
    script.chmod(0o755)
    monkeypatch.setattr(symbolic.sys, "executable", str(script))
    worker = symbolic.SymbolicWorker()
    with pytest.raises(gin_utils.EnvironmentFailure, match="exited with status 3 before"):
        worker.compare("x", "y")
