"""Hand-written equivalence table: (gold, prediction, expected equal?)."""

import math
import threading

import pytest

from mathft_jax.evaluation import symbolic
from mathft_jax.evaluation.equivalence import Grader, check_equiv, is_equiv
from mathft_jax.evaluation.verdict import Verdict
from tests.evaluation.case_ids import plain_id
from tests.evaluation.conftest import ScriptedGrader

EQUAL = True
DIFF = False

CASES = [
    # --- integers
    ("5", "5", EQUAL), ("5", "05", EQUAL), ("5", "+5", EQUAL), ("-3", "-3", EQUAL),
    ("5", "6", DIFF), ("-3", "3", DIFF), ("0", "-0", EQUAL), ("10", "1", DIFF),
    ("1000", "1,000", EQUAL), ("1000000", "1{,}000{,}000", EQUAL), ("12345", "12,345", EQUAL),
    ("1000", "1,001", DIFF), ("7", "7.", EQUAL), ("7", r"7\text{.}", EQUAL),
    ("42", "$42$", EQUAL), ("42", r"\mathbf{42}", EQUAL), ("42", r"\textbf{42}", EQUAL),
    # --- fractions
    (r"\frac{1}{2}", r"\dfrac{1}{2}", EQUAL), (r"\frac{1}{2}", r"\tfrac12", EQUAL),
    (r"\frac{1}{2}", "1/2", EQUAL), (r"\frac{1}{2}", r"\frac{2}{4}", EQUAL),
    (r"\frac{1}{2}", "0.5", EQUAL), (r"\frac{1}{2}", ".5", EQUAL),
    (r"-\frac{1}{2}", r"\frac{-1}{2}", EQUAL), (r"-\frac{1}{2}", r"\frac{1}{-2}", EQUAL),
    (r"\frac{1}{2}", r"\frac{1}{3}", DIFF), (r"\frac{1}{3}", "0.33", DIFF),
    (r"\frac{1}{3}", "0.333", DIFF), (r"\frac{3}{2}", r"1\frac{1}{2}", EQUAL),
    (r"\frac{5}{2}", r"2\frac12", EQUAL), (r"\frac{7}{4}", "1.75", EQUAL),
    (r"\frac{7}{4}", "1.74", DIFF), (r"\frac{1}{2}", r"-\frac{1}{2}", DIFF),
    (r"\frac{9}{3}", "3", EQUAL), (r"\frac{10}{4}", r"\frac{5}{2}", EQUAL),
    # --- decimals
    ("0.25", r"\frac{1}{4}", EQUAL), ("2.50", "2.5", EQUAL), ("3.0", "3", EQUAL),
    ("3.01", "3.1", DIFF), ("0.1", "0.10", EQUAL), ("1.5", "1.05", DIFF),
    (r"\$5.00", "5", EQUAL), ("12.5", "12.50", EQUAL), ("-0.75", r"-\frac{3}{4}", EQUAL),
    # --- percent, degrees, units, text wrappers
    (r"50\%", "50", EQUAL), ("50", "50%", EQUAL), (r"25\%", "26", DIFF),
    (r"30^\circ", "30", EQUAL), (r"30^{\circ}", "30", EQUAL), ("45", r"45^\circ", EQUAL),
    ("30", r"31^\circ", DIFF), (r"10\text{ cm}", "10", EQUAL), (r"10 \text{ inches}", "10", EQUAL),
    ("10", r"10\text{ square units}", EQUAL), ("6", "6 cm", EQUAL), ("18", r"18\mbox{ feet}", EQUAL),
    (r"5\text{ dollars}", "5", EQUAL), (r"\$18.90", "18.9", EQUAL), ("20", r"20\text{ cm}^2", EQUAL),
    ("4", r"4\text{ m}", EQUAL), ("12", r"13 \text{ cm}", DIFF),
    # --- x = prefixes, spacing, punctuation
    ("5", "x=5", EQUAL), ("5", "x = 5", EQUAL), ("-2", r"y = -2", EQUAL),
    (r"\frac{3}{4}", r"k=\frac34", EQUAL), ("5", "x=6", DIFF), ("3", r"\theta = 3", EQUAL),
    ("2x+3", "y = 2x + 3", EQUAL), ("2x+3", "y = 2x + 4", DIFF), ("x+1", "x = x + 1", DIFF), ("7", " 7 ", EQUAL), ("7", "7.", EQUAL), ("8", "8,", EQUAL),
    (r"\frac{1}{2}", r"\left(\frac{1}{2}\right)", EQUAL), ("12", r"1\,2", EQUAL),
    # --- radicals
    (r"\sqrt{2}", r"\sqrt2", EQUAL), (r"2\sqrt{3}", r"\sqrt{12}", EQUAL),
    (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", EQUAL), (r"\sqrt{8}", r"2\sqrt{2}", EQUAL),
    (r"3\sqrt{5}", r"\sqrt{45}", EQUAL), (r"\sqrt{2}", "1.414", EQUAL), (r"\sqrt{2}", "1.415", DIFF),
    (r"\sqrt{2}", "1.41", DIFF), (r"\frac{1}{12}", "0.0833333333333333", EQUAL),
    (r"\frac{1}{12}", "0.0834", DIFF), (r"40\pi", "125.663", EQUAL), (r"40\pi", "125.664", EQUAL),
    (r"40\pi", "125.665", DIFF), ("5", "5.001", DIFF), ("0.25", "0.2501", DIFF),
    (r"\sqrt{17}", "4.1231056", EQUAL), (r"\frac{1}{432}", r"2.314814814815 \times 10^{-3}", EQUAL),
    (r"\frac{1}{3}", "0.3334", DIFF), (r"\frac{1}{3}", "0.3333", EQUAL),
    (r"\sqrt{3}", r"\sqrt{2}", DIFF), (r"\frac{\sqrt{3}}{3}", r"\frac{1}{\sqrt3}", EQUAL),
    (r"4\sqrt{2}", r"2\sqrt{8}", EQUAL), (r"\sqrt[3]{8}", "2", EQUAL), (r"\sqrt[3]{9}", "2", DIFF),
    (r"5+2\sqrt{6}", r"(\sqrt{2}+\sqrt{3})^2", EQUAL), (r"2+\sqrt{3}", r"2-\sqrt{3}", DIFF),
    (r"\frac{1+\sqrt{5}}{2}", r"\frac{1}{2}+\frac{\sqrt{5}}{2}", EQUAL),
    (r"\sqrt{2}/2", r"\frac{\sqrt{2}}{2}", EQUAL),
    # --- constants and powers
    (r"\pi", r"\pi", EQUAL), (r"2\pi", r"\pi \cdot 2", EQUAL), (r"\pi", "3.14", DIFF),
    (r"\frac{\pi}{2}", r"\pi/2", EQUAL), (r"\frac{\pi}{3}", r"\frac{\pi}{6}", DIFF),
    ("2^{10}", "1024", EQUAL), ("2^{10}", "1023", DIFF), ("10^{-3}", "0.001", EQUAL),
    ("3^4", "81", EQUAL), (r"5!", "120", EQUAL), (r"e^{0}", "1", EQUAL),
    (r"\binom{5}{2}", "10", EQUAL), ("2^{-1}", r"\frac12", EQUAL), (r"4\pi", r"4 \pi", EQUAL),
    # --- expressions
    ("x^2+2x+1", "(x+1)^2", EQUAL), ("2x+3", "3+2x", EQUAL), ("2x+3", "2x-3", DIFF),
    ("x^2-1", "(x-1)(x+1)", EQUAL), ("x^2+1", "(x+1)^2", DIFF), (r"\frac{x}{2}", "0.5x", EQUAL),
    ("a+b", "b+a", EQUAL), ("ab", "ba", EQUAL), ("a-b", "b-a", DIFF),
    (r"\frac{1}{x}", "x^{-1}", EQUAL), ("3x^2", "3x^3", DIFF), ("6x-2", "2(3x-1)", EQUAL),
    (r"\sin^2 x + \cos^2 x", "1", EQUAL), ("x(x+2)", "x^2+2x", EQUAL), ("n+1", "n-1", DIFF),
    ("3+4i", "4i+3", EQUAL), ("3+4i", "3-4i", DIFF), ("i^2", "-1", EQUAL), ("2i", "-2i", DIFF),
    (r"\frac{x^2-4}{x-2}", "x+2", EQUAL),
    # --- equations and inequalities
    ("y=2x+3", "2x+3=y", EQUAL), ("x^2+y^2=4", "y^2+x^2=4", EQUAL), ("x+y=1", "2x+2y=2", EQUAL),
    ("x+y=1", "x-y=1", DIFF), ("y=x^2", "y=x^3", DIFF), ("x<3", "3>x", EQUAL),
    (r"x\le 3", r"3 \ge x", EQUAL), ("x<3", r"x\leq 3", DIFF), ("x>2", "x>3", DIFF),
    ("2x-y=4", "y=2x-4", EQUAL), ("x^2=y", "y-x^2=0", EQUAL),
    # --- intervals (open vs closed matters)
    ("[1,2]", "[1,2]", EQUAL), ("[1,2)", "[1, 2)", EQUAL), ("(1,2]", "(1,2)", DIFF),
    ("[1,2]", "(1,2)", DIFF), (r"(-\infty,3]", r"(-\infty, 3]", EQUAL),
    (r"(-\infty,3]", r"(-\infty,3)", DIFF), (r"[\frac{1}{2},1)", "[0.5,1)", EQUAL),
    (r"[0,1)\cup(2,\infty)", r"(2,\infty)\cup[0,1)", EQUAL),
    (r"[0,1)\cup(2,\infty)", r"[0,1]\cup(2,\infty)", DIFF), ("(0,5)", "(0,6)", DIFF),
    (r"\left[ 2, 5 \right)", "[2,5)", EQUAL), (r"x\in[1,2]", "[1,2]", EQUAL),
    (r"(-\infty,\infty)", r"(-\infty, \infty)", EQUAL),
    # --- tuples (ordered)
    ("(1,2)", "(1, 2)", EQUAL), ("(1,2)", "(2,1)", DIFF), ("(1,2,3)", "(1,2,3)", EQUAL),
    ("(1,2,3)", "(3,2,1)", DIFF), (r"(\frac{1}{2},3)", "(0.5,3)", EQUAL), ("(1,2)", "(1,2,3)", DIFF),
    (r"(2,-\frac{1}{3})", r"\left(2,-\frac13\right)", EQUAL), ("(1,2)", "1,2", DIFF),
    (r"(\sqrt{2},0)", r"(\sqrt2, 0)", EQUAL), ("(0,-4)", "(0,4)", DIFF),
    # --- sets (unordered) and bare comma lists (in the order written: see COMMA_LIST_CASES)
    (r"\{1,2\}", r"\{2,1\}", EQUAL), ("1,2", "2,1", DIFF), ("1,2,3", "3, 1, 2", DIFF),
    (r"\{1,2\}", "1,2", EQUAL), ("1,2", "1,3", DIFF), ("1,2", "1,2,3", DIFF),
    (r"-2,\frac{1}{2}", r"-2, 0.5", EQUAL), (r"1\pm\sqrt{2}", r"1\pm\sqrt{2}", EQUAL),
    (r"1+\sqrt{2},1-\sqrt{2}", r"1+\sqrt2, 1-\sqrt2", EQUAL), ("3, 4", "3 and 4", EQUAL),
    ("1,1,2", "1,2,2", DIFF), (r"\emptyset", r"\varnothing", EQUAL),
    # --- matrices
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", EQUAL),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1&2\\4&3\end{pmatrix}", DIFF),
    (r"\begin{pmatrix}1\\2\end{pmatrix}", r"\begin{pmatrix}1&2\end{pmatrix}", DIFF),
    (r"\begin{pmatrix}\frac12\\0\end{pmatrix}", r"\begin{bmatrix}0.5\\0\end{bmatrix}", EQUAL),
    (r"\begin{pmatrix}\sqrt{8}\\1\end{pmatrix}", r"\begin{pmatrix}2\sqrt2\\1\end{pmatrix}", EQUAL),
    (r"\begin{pmatrix}1&0\\0&1\end{pmatrix}", r"\begin{pmatrix}1&0\\0&-1\end{pmatrix}", DIFF),
    # cell by cell with the scalar rules, which a whole-matrix symbolic parse would not apply
    (r"\begin{pmatrix}0.3333\\2\end{pmatrix}", r"\begin{pmatrix}\frac13\\2\end{pmatrix}", EQUAL),
    (r"\begin{pmatrix}\{1,2\}\\3\end{pmatrix}", r"\begin{pmatrix}\{2,1\}\\3\end{pmatrix}", EQUAL),
    (r"\begin{pmatrix}1\\2\\\end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}", EQUAL),  # a trailing row break
    # a matrix expression is the matrix it evaluates to
    (r"\begin{pmatrix}4\\-1\end{pmatrix}",
     r"\begin{pmatrix}3\\0\end{pmatrix}+\begin{pmatrix}1\\-1\end{pmatrix}", EQUAL),
    (r"\begin{pmatrix}2&3\end{pmatrix}", r"\begin{pmatrix}2&3\end{pmatrix}\begin{pmatrix}1&0\\0&1\end{pmatrix}", EQUAL),
    (r"\begin{pmatrix}0&-1\\1&0\end{pmatrix}",
     r"\begin{pmatrix}0&1\\1&0\end{pmatrix}\begin{pmatrix}1&0\\0&-1\end{pmatrix}", EQUAL),
    (r"\begin{pmatrix}0&1\\-1&0\end{pmatrix}",     # the product in the other order
     r"\begin{pmatrix}0&1\\1&0\end{pmatrix}\begin{pmatrix}1&0\\0&-1\end{pmatrix}", DIFF),
    (r"\begin{pmatrix}6\\9\end{pmatrix}", r"3\begin{pmatrix}2\\3\end{pmatrix}", EQUAL),
    (r"\begin{pmatrix}6\\9\end{pmatrix}", r"2\begin{pmatrix}2\\3\end{pmatrix}", DIFF),
    (r"\begin{pmatrix}4\\-1\end{pmatrix}",          # other shape
     r"\begin{pmatrix}3&0\end{pmatrix}+\begin{pmatrix}1&-1\end{pmatrix}", DIFF),
    ("3", r"\begin{pmatrix}1\end{pmatrix}+\begin{pmatrix}2\end{pmatrix}", DIFF),
    # --- text answers
    (r"\text{even}", "even", EQUAL), (r"\text{Even}", r"\text{even}", EQUAL),
    (r"\text{odd}", r"\text{even}", DIFF), (r"\text{(C)}", "C", EQUAL), ("(C)", "C", EQUAL),
    (r"\text{(A)}", "B", DIFF), (r"\text{Monday}", "Monday", EQUAL), (r"\text{Monday}", "Tuesday", DIFF),
    (r"\text{neither}", "5", DIFF), ("A,C", "A, C", EQUAL), (r"\text{Devon}", "devon", EQUAL),
    # --- named answers
    ("(3,2)", "(p,q)=(3,2)", EQUAL), ("1", "|AB|=1", EQUAL), ("11:21", "V_1:V_2=11:21", EQUAL),
    ("y = 2x+3", "f(x) = 2x+3", EQUAL), (r"\frac{1}{\sqrt{6}}", r"\frac{NO}{BO}=\frac{1}{\sqrt{6}}", EQUAL),
    ("25", "x^2+y^2=25", DIFF), ("5", "x+y=5", DIFF), ("11", "x = 5+5+1 = 11", EQUAL),
    # systems of equations: the equations in any order; named rows are named solutions
    (r"\begin{cases}2u+v=5\\u-v=1\end{cases}", r"\begin{cases}u-v=1\\2u+v=5\end{cases}", EQUAL),
    (r"\begin{cases}2u+v=5\\u-v=1\end{cases}", r"\begin{aligned}2u+v&=5\\u-v&=1\end{aligned}", EQUAL),
    (r"\begin{cases}2u+v=5\\u-v=1\end{cases}", r"\begin{cases}2u+v=5\\u-v=2\end{cases}", DIFF),
    (r"\begin{cases}2u+v=5\\u-v=1\end{cases}", r"\begin{cases}2u+v=5\end{cases}", DIFF),
    (r"\begin{cases}u=2\\v=1\end{cases}", "u=2, v=1", EQUAL),
    (r"\begin{cases}u=2\\v=1\end{cases}", "(2,1)", EQUAL),
    (r"\begin{cases}u=2\\v=1\end{cases}", "u=1, v=2", DIFF),
    (r"\begin{cases}u=2\\v=1\end{cases}", "2, 1, 0", DIFF),
    # a decimal inside an equation stands for the constant it rounds (four digits or more)
    (r"\begin{cases}u+v=\sqrt{5}\\u-v=\frac{1}{4}\end{cases}",
     r"\begin{cases}u+v=2.236\\u-v=0.25\end{cases}", EQUAL),
    (r"\begin{cases}u+v=\sqrt{5}\\u-v=\frac{1}{4}\end{cases}",
     r"\begin{cases}u+v=2.24\\u-v=0.25\end{cases}", DIFF),
    (r"z + \sqrt{3}i", "z + 1.732i", EQUAL), (r"z + \sqrt{3}i", "z + 1.733i", DIFF),
    # several equations are not a chain: their last sides alone never decide
    ("p=4=q", "p=9=q", DIFF), (r"u=3 \\ v=8", r"u=5 \\ v=8", DIFF),
    (r"\begin{cases}u=3\\v=8\end{cases}", r"\begin{cases}u=1\\v=8\end{cases}", DIFF),
    # --- relations against intervals, relation spellings
    ("[-2,7]", r"-2 \le x \le 7", EQUAL), ("(0,1)", "0<f(x)<1", EQUAL), (r"(2,\infty)", "x > 2", EQUAL),
    (r"[2,\infty)", r"x \geq 2", EQUAL), (r"(-\infty,3)", "x<3", EQUAL), ("x >= 3", r"x \geq 3", EQUAL),
    ("x != 3", r"x \neq 3", EQUAL), (r"x \lt 3", "x<3", EQUAL), (r"x \gt 3", "x > 3", EQUAL),
    (r"x \leq 5", r"5 \geq x", EQUAL), ("x < 1", "-x > -1", EQUAL), ("x < -1", "-x > -1", DIFF),
    ("[-2,7]", r"-2 < x \le 7", DIFF), (r"(2,\infty)", r"x \geq 2", DIFF),
    (r"x<1-\sqrt{2}", r"-x>-1+\sqrt{2}", EQUAL), (r"x<1+\sqrt{2}", r"-x>-1-\sqrt{2}", EQUAL),
    ("x<-2", "-x>2", EQUAL),
    # a long decimal may be a truncation of the exact value, whichever side it is on
    ("0.6666", r"\frac23", EQUAL), (r"\frac{2}{3}", "0.6666", EQUAL), ("3.1415", r"\pi", EQUAL),
    (r"\pi", "3.1415", EQUAL),
    # --- several solutions, any separator
    ("2, 3", "2; 3", EQUAL), ("2, 3", r"2 \text{ and } 3", EQUAL), ("2, 3", "2 or 3", EQUAL),
    ("2, 3", r"2 \quad 3", EQUAL), ("2,3", "{2, 3}", EQUAL), ("(11,7),(7,11)", "(11,7)or(7,11)", EQUAL),
    ("1, 2, 3", "x = 1, y = 2, z = 3", EQUAL), (r"\pm 2021", "2021, -2021", EQUAL),
    (r"\pm 2021", "2021", DIFF), ("32349", "32, 349", DIFF),
    # --- units, text, clock times, trig at a point
    ("10", "10 weeks", EQUAL), ("10", "10weeks", EQUAL), ("10", "10cm", DIFF), ("28", "28 pct", EQUAL),
    ("28", "28 percentage", EQUAL), ("17", r"17\text{ any text}", EQUAL), ("20:34", "20:34:00", EQUAL),
    ("20:34", "08:34 PM", EQUAL), ("12:00", "1:00", DIFF), (r"\cos x", r"\sin(90^\circ - x)", EQUAL),
    # --- numbers written differently
    ("14916", "14{,}916", EQUAL), ("11111111100", r"11,\! 111,\! 111,\! 100", EQUAL),
    ("1000.99", "1,000.99", EQUAL), (r"\frac{3}{2}", "1 1/2", EQUAL), ("2^6 3^5", "15552", EQUAL),
    (r"\frac{1}{72}", r"\frac1{72}", EQUAL), (r"\frac{1}{2004!}", r"\frac{1}{2006!}", DIFF),
    # --- LaTeX spelled differently
    (r"\frac{1}{2}", r"\\frac{1}{2}", EQUAL), (r"\sqrt{5}", r"\\sqrt{5}", EQUAL),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\left[\begin{array}{cc}1&2\\3&4\end{array}\right]", EQUAL),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{matrix}1&2\\3&4\end{matrix}", EQUAL),
    (r"\frac{\sqrt{3}}{3}", r"\frac{\sqrt{3}}{3} \approx 0.577", EQUAL), ("11", r"x\approx11", EQUAL),
    ("C", "C. x = 42", EQUAL), ("C", "D. x = 42", DIFF),
    # --- mixed kinds never equal
    ("5", "(5,5)", DIFF), ("[1,2]", r"\{1,2\}", DIFF), ("2", r"\begin{pmatrix}2\end{pmatrix}", DIFF),
]


# gold, pred, equal under comma_lists="ordered" (the default), equal under "unordered"
COMMA_LIST_CASES = [
    ("1,2", "2,1", DIFF, EQUAL), ("1,2,3", "3, 1, 2", DIFF, EQUAL),
    ("10, 4, -2", "4, 10, -2", DIFF, EQUAL),  # Hendrycks MATH: different; MARIO_EVAL: equal
    (r"-2,\frac{1}{2}", "0.5, -2", DIFF, EQUAL), (r"-2,\frac{1}{2}", "-2, 0.5", EQUAL, EQUAL),
    (r"1+\sqrt{2},1-\sqrt{2}", r"1-\sqrt2, 1+\sqrt2", DIFF, EQUAL), ("A,C", "C,A", DIFF, EQUAL),
    ("2, 3", "3; 2", DIFF, EQUAL), ("7, -2, \\text{ and } -5", "-5,-2,7", DIFF, EQUAL),
    # a bare list against a set: in the order written; two sets: in any order
    ("2,3", "{3, 2}", DIFF, EQUAL), ("2,3", "{2, 3}", EQUAL, EQUAL),
    (r"\{1,2\}", r"\{2,1\}", EQUAL, EQUAL), ("{x, x - 1}", "{x - 1, x}", EQUAL, EQUAL),
    # solutions of one unknown named more than once, or a \pm: a set
    ("x = 1 or x = 2", "x=2, x=1", EQUAL, EQUAL), (r"\{1,2\}", "x = 2 or x = 1", EQUAL, EQUAL),
    ("1,2", "x = 2 or x = 1", DIFF, EQUAL), ("1,2", "x = 1 or x = 2", EQUAL, EQUAL),
    (r"\pm 2", "x=-2 or x=2", EQUAL, EQUAL), (r"x = \pm 2", r"\{-2, 2\}", EQUAL, EQUAL),
    (r"\pm 2", "-2, 2", DIFF, EQUAL), (r"1\pm\sqrt{2}", r"x=1-\sqrt2 \text{ or } x=1+\sqrt2", EQUAL, EQUAL),
    # named solutions against a bare list: like a tuple, or a multiset
    ("x=2, y=3", "2, 3", EQUAL, EQUAL), ("x=2, y=3", "3, 2", DIFF, EQUAL),
    ("x=2, y=3", r"\{3, 2\}", EQUAL, EQUAL),
    # never a different value, in either mode
    ("1,2", "1,3", DIFF, DIFF), ("1,1,2", "1,2,2", DIFF, DIFF), ("1,2", "1,2,3", DIFF, DIFF),
    ("x = 1 or x = 2", "x=1, x=3", DIFF, DIFF), (r"\pm 2", "x=2 or x=3", DIFF, DIFF),
]


@pytest.mark.parametrize("gold, pred, ordered, unordered", COMMA_LIST_CASES,
                         ids=[plain_id(f"{g}|{p}") for g, p, _, _ in COMMA_LIST_CASES])
def test_comma_lists_option(patient_grader, gold, pred, ordered, unordered):
    worker = patient_grader.worker
    for mode, expected in (("ordered", ordered), ("unordered", unordered)):
        grader = Grader(worker, timeout_s=patient_grader.timeout_s, comma_lists=mode)
        for a, b in ((gold, pred), (pred, gold)):
            assert (grader.check(a, b) is Verdict.EQUAL) is expected, (mode, a, b)


def test_comma_lists_default_is_ordered_and_modes_are_checked():
    assert Grader().comma_lists == "ordered"
    with pytest.raises(ValueError, match="comma_lists"):
        Grader(comma_lists="sorted")


def test_at_least_200_cases():
    assert len(CASES) >= 200
    assert sum(1 for c in CASES if c[2]) >= 50 and sum(1 for c in CASES if not c[2]) >= 50


@pytest.mark.parametrize("gold,pred,expected", CASES,
                         ids=[plain_id(f"{i}:{c[0]}|{c[1]}") for i, c in enumerate(CASES)])
def test_equivalence_table(patient_grader, gold, pred, expected):
    verdict = check_equiv(gold, pred, patient_grader)
    if expected:
        assert verdict is Verdict.EQUAL
    else:
        assert verdict is not Verdict.EQUAL


@pytest.mark.parametrize("gold,pred,expected", CASES[::7])
def test_symmetric(patient_grader, gold, pred, expected):
    assert (check_equiv(pred, gold, patient_grader) is Verdict.EQUAL) == expected


def test_none_is_not_equal(grader):
    assert check_equiv("1", None, grader) is Verdict.NOT_EQUAL
    assert check_equiv(None, None, grader) is Verdict.NOT_EQUAL


def test_rationals_never_reach_sympy(grader):
    for a, b in [("1/2", "0.5"), ("3", "4"), (r"\frac{6}{8}", "0.75"), ("1,000", "1000")]:
        check_equiv(a, b, grader)
    assert grader.num_symbolic_calls == 0


def test_is_equiv_asks_the_given_grader_and_only_equal_is_true():
    grader = ScriptedGrader({("a", "b"): Verdict.EQUAL, ("a", "c"): Verdict.UNKNOWN})
    assert is_equiv("a", "b", grader) and is_equiv("b", "a", grader)
    assert grader.calls == [("a", "b"), ("b", "a")]
    assert not is_equiv("a", "c", grader) and not is_equiv("a", "d", grader)


class _InProcessWorker:
    """The symbolic worker's comparison run in this process (no child, no time bound), so
    that tools which trace calls in the test process (mutmut) see `symbolic.py`'s own
    functions; the child runs exactly `_compare_in_child`, and a failure (an answer the
    parser rejects) is UNKNOWN, as `symbolic._serve` answers."""

    def compare(self, a: str, b: str, tolerance: float = 0.0,
                timeout_s: float | None = None, decimal_min_digits: int | None = None
                ) -> Verdict:
        try:
            return symbolic._compare_in_child(a, b, tolerance, decimal_min_digits)
        except Exception:  # noqa: BLE001 — as in the child
            return Verdict.UNKNOWN


def test_equivalence_table_with_the_comparison_in_process():
    grader = Grader(_InProcessWorker(), timeout_s=600.0)
    wrong = [(gold, pred) for gold, pred, expected in CASES
             if (check_equiv(gold, pred, grader) is Verdict.EQUAL) != expected]
    assert not wrong
    assert grader.num_symbolic_calls > 20  # the table does reach the symbolic stage


class _UndecidedAboutSqrt3(_InProcessWorker):
    """The in-process comparison, except that anything against sqrt(3) cannot be decided."""

    def compare(self, a, b, tolerance=0.0, timeout_s=None, decimal_min_digits=None):
        if r"\sqrt{3}" in (a, b):
            return Verdict.UNKNOWN
        return super().compare(a, b, tolerance, timeout_s, decimal_min_digits)


@pytest.mark.parametrize("gold, pred, expected", [
    (r"\{1, \sqrt{2}\}", r"\{\sqrt{2}, 1\}", Verdict.EQUAL),
    (r"\{1, 2\}", r"\{1, 3\}", Verdict.NOT_EQUAL),          # every comparison decided
    (r"\{1, \sqrt{2}\}", r"\{1, \sqrt{3}\}", Verdict.UNKNOWN),
    # 1 against 2 is decided (not equal), 1 against sqrt(3) is not: no match, and unknown.
    (r"\{1, \sqrt{2}\}", r"\{2, \sqrt{3}\}", Verdict.UNKNOWN),
    (r"\{1, 2\}", r"\{1, 2, 3\}", Verdict.NOT_EQUAL),
])
def test_an_unmatched_set_member_is_unknown_only_when_a_comparison_was(gold, pred, expected):
    assert Grader(_UndecidedAboutSqrt3(), timeout_s=600.0).check(gold, pred) is expected


class _RecordingWorker(_InProcessWorker):
    """The in-process comparison, recording each request's strings and time bound."""

    def __init__(self):
        self.calls = []

    def compare(self, a, b, tolerance=0.0, timeout_s=None, decimal_min_digits=None):
        self.calls.append((a, b, timeout_s))
        return super().compare(a, b, tolerance, timeout_s, decimal_min_digits)


def test_an_empty_answer_equals_nothing_and_asks_no_one():
    worker = _RecordingWorker()
    grader = Grader(worker)
    assert grader.check_normal("", "5") is Verdict.NOT_EQUAL
    assert grader.check_normal("5", "") is Verdict.NOT_EQUAL
    assert not worker.calls


def test_the_worker_gets_what_is_left_of_the_check_bound():
    worker = _RecordingWorker()
    assert Grader(worker, timeout_s=0.5).check_normal("x+1", "1+x") is Verdict.EQUAL
    (_, _, bound), = worker.calls
    assert 0 < bound <= 0.5


def test_a_scalar_comparison_outside_a_check_has_no_deadline():
    # `scalar` is public: called on its own (in any thread, before or after a check) it is
    # bounded only by the worker's own time-out.
    worker = _RecordingWorker()
    grader = Grader(worker, timeout_s=5.0)
    assert grader.scalar("x+1", "1+x") is Verdict.EQUAL
    assert grader.check_normal("x+2", "2+x") is Verdict.EQUAL
    assert grader.scalar("x+3", "3+x") is Verdict.EQUAL
    results = []
    thread = threading.Thread(target=lambda: results.append(grader.scalar("x+4", "4+x")))
    thread.start()
    thread.join()
    assert results == [Verdict.EQUAL]
    bounds = [bound for _, _, bound in worker.calls]
    assert bounds[0] == bounds[2] == bounds[3] == math.inf and 0 < bounds[1] <= 5.0


def test_decided_comparisons_are_cached_in_either_order_and_unknown_ones_are_not():
    worker = _RecordingWorker()
    grader = Grader(worker)
    assert grader.scalar("x+1", "1+x") is Verdict.EQUAL
    assert grader.scalar("1+x", "x+1") is Verdict.EQUAL
    assert grader.scalar("x+1", "1+x") is Verdict.EQUAL
    assert len(worker.calls) == 1 and grader.num_symbolic_calls == 1
    undecided = Grader(_UndecidedAboutSqrt3())
    for _ in range(2):
        assert undecided.scalar(r"\sqrt{3}", "x") is Verdict.UNKNOWN
    assert undecided.num_symbolic_calls == 2  # a time-out is worth a retry


def test_a_word_is_compared_as_text_never_as_a_product_of_letters():
    worker = _RecordingWorker()
    grader = Grader(worker)
    assert grader.scalar("even", r"e\cdot v\cdot e\cdot n") is Verdict.NOT_EQUAL
    assert grader.scalar(r"e\cdot v\cdot e\cdot n", "even") is Verdict.NOT_EQUAL
    assert not worker.calls
    assert grader.scalar("infty", "x") is Verdict.NOT_EQUAL  # a LaTeX name is no word ...
    assert len(worker.calls) == 1  # ... so sympy reads it
