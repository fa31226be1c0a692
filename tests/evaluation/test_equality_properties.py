"""Property tests of the grader's numeric equality (issue 29).

Distinct values are never judged equal, however close, tiny or huge they are (random distinct
rationals, powers with large exponents, scientific notation, surds, equations in several
variables, lists of named solutions, decimals inside expressions); equal values are equal
however they are spelled (LaTeX, plain text, decimals, percents where the rule allows).
Examples are drawn derandomized (the suite's hypothesis profile); pairs that reach the
symbolic worker are kept few so the whole module stays within a few seconds.
"""

import math
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mathft_jax.evaluation.equivalence import Grader
from mathft_jax.evaluation.verdict import Verdict

FAST = settings(max_examples=100)      # decided by the exact rational path, no worker
SYMBOLIC = settings(max_examples=20)   # each example sends a few pairs to the worker

rationals = st.fractions(min_value=-10 ** 6, max_value=10 ** 6, max_denominator=10 ** 6)
bases = st.integers(2, 12)
exponents = st.integers(-400, 400)
squarefree = st.sampled_from([2, 3, 5, 6, 7, 10, 11, 13, 14, 15, 17, 19, 21, 22, 23])


def _latex(value: Fraction) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value.denominator == 1:
        return f"{sign}{value.numerator}"
    return f"{sign}\\frac{{{value.numerator}}}{{{value.denominator}}}"


def _decimal(value: Fraction) -> str | None:
    """The exact decimal spelling of `value`, or None when it does not terminate."""
    den, twos, fives = value.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den != 1:
        return None
    places = max(twos, fives)
    scaled = abs(value) * 10 ** places
    digits = str(scaled.numerator).rjust(places + 1, "0")
    text = digits[:-places] + "." + digits[-places:] if places else digits
    return ("-" if value < 0 else "") + text


def _never_equal(grader: Grader, a: str, b: str) -> None:
    for x, y in ((a, b), (b, a)):
        assert grader.check(x, y) is not Verdict.EQUAL, (x, y)


def _equal(grader: Grader, a: str, b: str) -> None:
    for x, y in ((a, b), (b, a)):
        assert grader.check(x, y) is Verdict.EQUAL, (x, y)


# --- distinct values are never equal


@FAST
@given(rationals, rationals)
def test_distinct_rationals_are_never_equal(a, b):
    assume(a != b)
    grader = Grader(percent="number")  # percent plays no part here; no worker is needed
    _never_equal(grader, _latex(a), _latex(b))
    _never_equal(grader, f"{a.numerator}/{a.denominator}", _decimal(b) or _latex(b))


@FAST
@given(bases, exponents, exponents)
def test_distinct_integer_powers_are_never_equal(base, e1, e2):
    assume(e1 != e2)
    _never_equal(Grader(), f"{base}^{{{e1}}}", f"{base}^{{{e2}}}")


@FAST
@given(st.integers(1, 9), st.integers(0, 99), st.integers(-300, 300), st.integers(1, 99))
def test_distinct_tiny_and_huge_decimals_are_never_equal(lead, tail, exponent, step):
    # m * 10^e against (m + step/1000) * 10^e: far below 1e-20 or far above 1e20.
    a = f"{lead}.{tail:02d}\\cdot10^{{{exponent}}}"
    b = f"{lead}.{tail:02d}{step:02d}1\\cdot10^{{{exponent}}}"
    _never_equal(Grader(), a, b)


@SYMBOLIC
@given(st.integers(2, 3), st.integers(40, 200))
def test_distinct_powers_written_symbolically_are_never_equal(patient_worker, base, k):
    grader = Grader(patient_worker)
    _never_equal(grader, f"\\frac{{1}}{{{base}^{{{k}}}}}", f"\\frac{{1}}{{{base}^{{{k + 1}}}}}")
    _never_equal(grader, f"\\pi^{{{-k}}}", f"\\pi^{{{-k - 1}}}")
    _never_equal(grader, f"e^{{{-k}}}", f"e^{{{-k}}}+{base}^{{{-4 * k}}}")


@SYMBOLIC
@given(st.integers(1, 20), squarefree, st.integers(1, 20), squarefree, st.integers(0, 60))
def test_distinct_surds_are_never_equal(patient_worker, a, b, c, d, shift):
    assume(a * a * b != c * c * d)
    grader = Grader(patient_worker)
    scale = f"\\cdot10^{{{-shift}}}"  # tiny magnitudes too: 1e-60 and below
    _never_equal(grader, f"{a}\\sqrt{{{b}}}{scale}", f"{c}\\sqrt{{{d}}}{scale}")


@SYMBOLIC
@given(st.integers(1, 12), st.integers(25, 60))
def test_a_value_plus_a_far_smaller_one_is_not_the_value(patient_worker, n, k):
    grader = Grader(patient_worker)
    _never_equal(grader, f"\\sqrt{{{n + 1}}}", f"\\sqrt{{{n + 1}}}+10^{{{-k}}}")
    _never_equal(grader, f"{n}\\cdot10^{{{k}}}", f"{n}\\cdot10^{{{k}}}+1")


# --- equal values are equal in any spelling


@FAST
@given(rationals)
def test_a_rational_equals_its_other_spellings(value):
    grader = Grader()
    gold = _latex(value)
    _equal(grader, gold, f"{value.numerator}/{value.denominator}")
    _equal(grader, gold, gold.replace("\\frac", "\\dfrac"))
    _equal(grader, gold, f"$x = {gold}$")
    decimal = _decimal(value)
    if decimal is not None:
        _equal(grader, gold, decimal)
        _equal(grader, gold, f"**{decimal}**")


@FAST
@given(st.fractions(min_value=0, max_value=10, max_denominator=400))
def test_a_percent_equals_its_value_where_the_rule_allows(value):
    percent = _decimal(value * 100)
    assume(percent is not None)
    gold = _latex(value)
    for mode, equal in (("both", True), ("value", True), ("number", value * 100 == value)):
        grader = Grader(percent=mode)
        verdict = grader.check(gold, f"{percent}\\%")
        assert (verdict is Verdict.EQUAL) is equal, (mode, gold, percent)


@SYMBOLIC
@given(st.integers(1, 20), squarefree)
def test_a_surd_equals_its_plain_text_and_latex_spellings(patient_worker, a, b):
    grader = Grader(patient_worker)
    gold = f"{a}\\sqrt{{{b}}}"
    _equal(grader, gold, f"{a}*sqrt({b})")
    _equal(grader, gold, f"sqrt({a * a * b})")
    _equal(grader, gold, f"\\sqrt{{{a * a * b}}}")


@SYMBOLIC
@given(bases, st.integers(1, 300))
def test_a_power_equals_its_plain_text_and_fraction_spellings(patient_worker, base, k):
    grader = Grader(patient_worker)
    gold = f"{base}^{{-{k}}}"
    _equal(grader, gold, f"{base}**(-{k})")
    _equal(grader, gold, f"\\frac{{1}}{{{base}^{{{k}}}}}")
    _equal(grader, gold, str(Fraction(1, base ** k)) if k <= 30 else f"1/{base}**{k}")


# --- distinct relations and solution lists are never equal


coefficients = st.integers(-9, 9).filter(bool)


@SYMBOLIC
@given(coefficients, coefficients, coefficients, st.integers(-20, 20), st.integers(-20, 20),
       st.integers(2, 5))
def test_distinct_linear_equations_in_several_variables_are_never_equal(
        patient_worker, a, b, c, d1, d2, k):
    # `a u + b v + c w = d1` against `... = d2`: the same left side, another constant.
    assume(d1 != d2)
    grader = Grader(patient_worker)
    left = f"{a}u+{b}v+{c}w".replace("+-", "-")
    _never_equal(grader, f"{left}={d1}", f"{left}={d2}")
    _never_equal(grader, f"u-v={d1}", f"u-v={d2}")
    scaled = f"{k * a}u+{k * b}v+{k * c}w".replace("+-", "-")
    _equal(grader, f"{left}={d1}", f"{scaled}={k * d1}")  # a multiple is the same equation


solutions = st.lists(st.tuples(st.integers(-9, 9), st.integers(-9, 9)), min_size=2, max_size=3,
                     unique=True)


@FAST
@given(solutions, solutions)
def test_named_solutions_are_equal_exactly_when_their_pairs_are(first, second):
    grader = Grader(percent="number")  # integers only: no worker is needed
    named = ";".join(f"p={p},q={q}" for p, q in first)
    tuples = ",".join(f"({p},{q})" for p, q in second)
    verdict = grader.check(named, tuples)
    assert (verdict is Verdict.EQUAL) is (sorted(first) == sorted(second)), (named, tuples)
    swapped = ";".join(f"p={q},q={p}" for p, q in second)
    if sorted(first) != sorted((q, p) for p, q in second):
        _never_equal(grader, named, swapped)


@SYMBOLIC
@given(squarefree, st.integers(4, 8), st.integers(-3, 3))
def test_a_decimal_inside_an_expression_equals_only_the_constant_it_rounds(
        patient_worker, n, digits, step):
    # `t + d` against `t + \sqrt{n}`: equal when d is sqrt(n) truncated to its digits, and
    # never when d is neither its truncation nor its rounding.
    grader = Grader(patient_worker)
    units = math.isqrt(n * 10 ** (2 * digits))  # sqrt(n) truncated, in units of 10^-digits

    def written(u: int) -> str:  # every place written, trailing zeros too
        return f"{u // 10 ** digits}.{u % 10 ** digits:0{digits}d}"

    _equal(grader, f"t+\\sqrt{{{n}}}", f"t+{written(units)}")
    # Truncation is `units`, rounding `units` or `units + 1`: anything else is off.
    off = units + (step + 1 if step > 0 else step - 1 if step < 0 else 2)
    _never_equal(grader, f"t+\\sqrt{{{n}}}", f"t+{written(off)}")
