"""Normal forms' numeric helpers: when a written decimal stands for an exact value."""

from fractions import Fraction as F

import pytest

from mathft_jax.evaluation import normalization
from mathft_jax.evaluation.normalization import rounds_to


@pytest.mark.parametrize("decimal, value, ulp, expected", [
    ("0.3333", F(1, 3), "0.0001", True),       # rounded (and truncated)
    ("0.6667", F(2, 3), "0.0001", True),       # rounded up
    ("0.6666", F(2, 3), "0.0001", True),       # truncated
    ("0.6665", F(2, 3), "0.0001", False),
    ("1.3", F(5, 4), "0.1", True),             # exactly half an ulp above: rounds half up
    ("1.2", F(5, 4), "0.1", True),             # half below, and a truncation too
    ("1.2", F(13, 10), "0.1", False),          # a whole ulp: neither
    ("1.4", F(13, 10), "0.1", False),
    ("0", F(7, 100), "0.1", True),             # truncated towards zero from above
    ("-1.2", F(-127, 100), "0.1", True),       # truncated, negative
    ("-1.3", F(-127, 100), "0.1", True),       # rounded, negative
    ("-0.1", F(5, 100), "0.1", False),         # opposite signs, more than half an ulp
    ("0.1", F(-7, 100), "0.1", False),
])
def test_rounds_to(decimal, value, ulp, expected):
    assert rounds_to(F(decimal), value, F(ulp)) is expected


@pytest.mark.parametrize("text, interval", [
    (r"-2\leq x\leq 7", "[-2,7]"),
    (r"-2<x\leq 7", "(-2,7]"),
    (r"7>x\geq -2", "[-2,7)"),                 # a falling chain reads right to left
    (r"7\geq x>-2", "(-2,7]"),
    (r"7>x>-2", "(-2,7)"),
    (r"-2<x>7", r"-2<x>7"),                    # mixed directions: no interval
    (r"7>x<9", r"7>x<9"),
    ("a<x<7", "a<x<7"),                        # a bound with a variable
    (r"0\leq x\leq \pi", r"[0,\pi]"),          # ... but a constant command is no variable
    ("x>2", r"(2,\infty)"),
    (r"x\geq 2", r"[2,\infty)"),
    ("x<3", r"(-\infty,3)"),
    (r"x\leq 3", r"(-\infty,3]"),
    (r"5\geq x", r"(-\infty,5]"),
    ("-x>-1", r"(-\infty,1)"),
    ("y", "y"),
])
def test_inequalities_become_intervals(text, interval):
    assert normalization._interval(text) == interval


@pytest.mark.parametrize("text, normal", [
    (r"\sin x", r"\sin x"),                    # a space between two letters stays ...
    (r"\sin X", r"\sin X"),                    # ... upper case too (`\sinX` is another command)
    (r"\frac{1}{2} x", r"\frac{1}{2}x"),      # ... and goes anywhere else
    ("3,\t4", "3,4"),                          # any white space, not only the space
    ("a\t\tb", "a b"),
])
def test_spaces_stay_only_between_letters(text, normal):
    assert normalization.normalize_answer(text) == normal


@pytest.mark.parametrize("relation", ["<", ">", r"\leq", r"\geq"])
def test_a_chain_with_a_relation_keeps_all_its_sides(relation):
    # `x = y = 3` names its answer last; `x = y = z < 1` is a relation, not an answer.
    assert normalization.normalize_answer("x = y = 3") == "3"
    assert normalization.normalize_answer(f"x = y = z {relation} 1") == f"x=y=z{relation}1"


@pytest.mark.parametrize("text, normal", [
    ("m = 2+2+3 = 7", "7"),                                    # a computation's result
    (r"V = \frac{4}{3}\pi 3^3 = 36\pi", r"36\pi"),           # a constant command is no variable
    ("p = 1 = q", "p=1=q"),                                    # the last side is a variable
    ("s = 4t-4 = 4(t-1)", "s=4t-4=4(t-1)"),
    (r"u=3 \\ v=8", r"u=3\\v=8"),                              # equations, one per row
    (r"\begin{cases}u=3\\v=8\end{cases}", r"\begin{cases}u=3\\v=8\end{cases}"),
    (r"u &= 3 = 3", r"u&=3=3"),                                  # an aligned row
])
def test_a_chain_keeps_its_last_side_only_when_that_is_a_constant_on_one_line(text, normal):
    assert normalization.normalize_answer(text) == normal


def test_a_name_is_not_stripped_from_a_value_that_is_an_equation():
    # `(a,b) = (1,2) = (1,2)`: what follows the name is itself an equation, not a value.
    assert normalization._strip_name("(a,b) = (1,2)") == "(1,2)"
    assert normalization._strip_name("(a,b) = (1,2) = (1,2)") == "(a,b) = (1,2) = (1,2)"


@pytest.mark.parametrize("text, interval", [
    (r"x>\pi", r"(\pi,\infty)"),              # a constant command in a one-sided bound ...
    (r"\pi<x", r"(\pi,\infty)"),              # ... written bound first ...
    (r"-x<-\pi", r"(\pi,\infty)"),            # ... or on a negated variable
    ("y<x", "y<x"),                            # a variable bound: no interval
    ("-x>2", r"(-\infty,-(2))"),              # a bound without a sign is negated whole
])
def test_one_sided_inequalities_become_intervals(text, interval):
    assert normalization.normalize_answer(text) == interval


@pytest.mark.parametrize("text, time", [
    ("12:30 PM", "12:30"), ("12:15 AM", "00:15"), ("08:34 AM", "08:34"), ("08:34 pm", "20:34"),
    ("7:05:00", "07:05"), ("12:00", "12:00"),
])
def test_clock_times_are_24_hour(text, time):
    assert normalization.normalize_answer(text) == time


def test_text_wrappers_are_removed_ten_levels_deep():
    def nest(levels):
        return "\\text{" * levels + "5" + "}" * levels
    assert normalization._strip_text_wrappers(nest(10)) == "5"
    assert normalization._strip_text_wrappers(nest(11)) == nest(1)


def test_a_scientific_decimal_is_allowed_its_mantissa_place_scaled():
    assert normalization.decimal_tolerance(r"2.3148\cdot10^{-3}", 4) == F(1, 10 ** 7)
    assert normalization.decimal_tolerance(r"2.3148\cdot10^{3}", 4) == F(1, 10)


@pytest.mark.parametrize("normal, value", [
    ("-12", F(-12)), ("0.125", F(1, 8)), ("3/6", F(1, 2)), ("1/0", None),
    (r"\frac{3}{1}", F(3)), (r"-\frac{3}{6}", F(-1, 2)), (r"\frac{1}{0}", None),
    (r"2.5\cdot10^{3}", F(2500)), (r"2.5\cdot10^{-3}", F(1, 400)),
    (r"2\frac{1}{2}", F(5, 2)), (r"-2\frac{1}{2}", F(-5, 2)), (r"2\frac{1}{1}", F(3)),
    (r"2\frac{1}{0}", None), ("", None), ("x", None), (r"\sqrt{2}", None),
])
def test_as_rational(normal, value):
    assert normalization.as_rational(normal) == value


def test_as_rational_reads_at_most_200_characters():
    at_limit = "1" * normalization._MAX_FAST_DIGITS
    assert normalization.as_rational(at_limit) == int(at_limit)
    assert normalization.as_rational(at_limit + "1") is None


@pytest.mark.parametrize("text, normal", [
    ("€5", "5"),
    ("2,\n3", "2,3"),                          # a line break is white space
    (r"10\%, 20\%", "10,20"),                  # `\%` goes whole, not leaving `\,`
    (", 3, 4", "3,4"),                         # a leading separator
    (r"\text{5.}", "5"),                       # a full stop inside the wrapper
    ("2 1/3", r"2\frac{1}{3}"),                # a mixed number keeps its whole part
    ("-1 000.25", "-1000.25"),                 # spaced thousands
    ("m", "m"),                                # a lone letter is no unit
    (r"\frac1{72}", r"\frac{1}{72}"),          # braces for a one-digit numerator ...
    (r"\frac{a}2", r"\frac{a}{2}"),            # ... or denominator
    ("Yes", "yes"), ("AB", "AB"),              # words of three letters or more lose case
    ("{5}", "{5}"), ("{1,2}", r"\{1,2\}"),     # bare braces make a set only with two items
    ("+1, +2", "1,2"),                         # each item loses its plus sign
    (r"1\pm\sqrt{2}", r"1+\sqrt{2},1-\sqrt{2}"), (r"\pm 3", "3,-3"),
    (r"1\pm2\pm3", r"1\pm2\pm3"),             # two signs: left alone
    (r"\pm 1, 2", r"\pm1,2"),                  # a list: left alone
])
def test_normal_forms(text, normal):
    assert normalization.normalize_answer(text) == normal


def test_answers_longer_than_the_bound_are_left_as_written():
    limit = normalization.MAX_NORMALIZE_CHARS
    at_limit = "x = " + "1" * (limit - 4)
    assert normalization.normalize_answer(at_limit) == "1" * (limit - 4)
    assert normalization.normalize_answer(at_limit + "1") == at_limit + "1"
