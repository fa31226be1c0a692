"""The answer syntaxes models write besides MATH's LaTeX (issue 29), extraction to verdict.

Plain-text and programming syntax, markdown emphasis, ordinals, a unit after a symbolic value,
labelled relations, several named solutions, one-sided inequalities against intervals, and
the percent rule's three modes.
"""

import pytest

from mathft_jax.evaluation import extract_answer, normalization, structure
from mathft_jax.evaluation.clustering import cluster_labels
from mathft_jax.evaluation.equivalence import Grader
from mathft_jax.evaluation.verdict import Verdict
from tests.evaluation.case_ids import plain_id

EQUAL = True
DIFF = False

# (gold, model output as written, expected): the output goes through `extract_answer`.
CASES = [
    # --- plain text and programming syntax, against LaTeX
    (r"\sqrt{2}", "sqrt(2)", EQUAL), (r"2\sqrt{3}", "2*sqrt(3)", EQUAL),
    (r"\frac{\sqrt{3}}{2}", "The answer is sqrt(3)/2.", EQUAL), (r"\sqrt{12}", "sqrt12", EQUAL),
    (r"\sqrt{2}", "sqrt(3)", DIFF), ("x^2+1", "x**2 + 1", EQUAL), ("x^3", "x**2", DIFF),
    (r"\frac{\pi}{2}", "pi/2", EQUAL), (r"2\pi", "The answer is 2*pi.", EQUAL),
    (r"3\sqrt{2}", "answer: 3*sqrt(2) cm", EQUAL), (r"\sqrt{\sqrt{16}}", "sqrt(sqrt(16))", EQUAL),
    (r"\sqrt{2}", "√2", EQUAL), (r"\sin x", "sin(x)", EQUAL), ("6", "2*3", EQUAL),
    (r"[3,\infty)", "[3, inf)", EQUAL), (r"(-\infty,0)", "(-infinity, 0)", EQUAL),
    # --- markdown emphasis around the final answer or its cue
    ("5", "**5**", EQUAL), ("5", "*5*", EQUAL), ("5", "The answer is **5**.", EQUAL),
    ("5", "**Final Answer:** 5", EQUAL), (r"\frac12", r"**Final Answer**: $\frac{1}{2}$", EQUAL),
    ("42", "**Answer: 42**", EQUAL), ("12", "So the answer is *12*.", EQUAL),
    ("5", "**6**", DIFF),
    # --- ordinal suffixes
    ("12", r"12^{\text{th}}", EQUAL), ("12", "12th", EQUAL), ("1", "1st", EQUAL),
    ("22", "22nd", EQUAL), ("3", r"3^{rd}", EQUAL), ("12", "13th", DIFF),
    # --- a unit after a symbolic value
    (r"2\pi", r"2\pi cm", EQUAL), (r"2\pi", r"2\pi \text{ cm}", EQUAL),
    (r"4\sqrt{2}", r"4\sqrt{2} inches", EQUAL), (r"2\pi", r"3\pi cm", DIFF),
    # --- a labelled relation
    ("74", r"\angle ABC = 74^\circ", EQUAL), ("74", r"m\angle B = 74", EQUAL),
    ("5", r"\overline{AB} = 5", EQUAL), ("12", r"\text{Area} = 12", EQUAL),
    ("74", r"\angle ABC = 75^\circ", DIFF),
    # --- several named solutions, separated by words or semicolons
    ("(2,3)", "x = 2; y = 3", EQUAL), ("(2,3)", "x=2 and y=3", EQUAL),
    (r"\{2,3\}", r"x = 2 \text{ and } y = 3", EQUAL), ("2, 3", "x=2, y=3", EQUAL),
    ("(2,3)", "The answer is x = 2 and y = 3.", EQUAL), ("(3,2)", "x = 2; y = 3", DIFF),
    ("x=2, y=3", "y = 3; x = 2", EQUAL), ("x=2, y=3", "x=3, y=2", DIFF),
    ("x=2, y=3", "a=2, b=3", DIFF), ("(2,3,4)", "x=2, y=3", DIFF),
    ("[2,3]", "x=2, y=3", DIFF), ("5", "x=2, y=3", DIFF),
    # --- several solutions of the same names in turn
    ("(1,-4),(3,0)", "a = 1, b = -4; a = 3, b = 0", EQUAL),
    (r"\{(3,0),(1,-4)\}", "a=1, b=-4 or a=3, b=0", EQUAL),     # solutions in any order
    ("(3,0),(1,-4)", "a=1, b=-4 or a=3, b=0", DIFF),           # a bare list: in order
    ("a=3,b=0;a=1,b=-4", r"b=-4,a=1 \text{ and } b=0,a=3", EQUAL),  # names in any order
    (r"\{(1,-4),(3,0)\}", "a=1, b=-4; a=3, b=0", EQUAL),
    ("(-4,1),(0,3)", "a=1, b=-4; a=3, b=0", DIFF),            # a tuple in the order written
    ("a=1,b=-4;a=3,b=0", "a=-4,b=1;a=0,b=3", DIFF),           # values under other names
    ("a=1,b=-4;a=3,b=0", "a=1,b=0;a=3,b=-4", DIFF),           # values in other solutions
    ("-4,0,1,3", "a=1, b=-4; a=3, b=0", DIFF),                # not a flat list of values
    ("(1,-4)", "a=1, b=-4; a=3, b=0", DIFF),
    # --- one-sided inequalities and intervals to infinity
    (r"(3,\infty)", "x > 3", EQUAL), (r"(3, +\infty)", "x > 3", EQUAL),
    (r"x>3", r"(3, +\infty)", EQUAL), (r"[3,+\infty)", r"x \geq 3", EQUAL),
    (r"(3,\infty)", r"x \in (3, +\infty)", EQUAL), (r"(3,\infty)", "x > 3", EQUAL),
    (r"(-\infty, 3)", "x < 3", EQUAL), (r"(3,+\infty)", r"x \geq 3", DIFF),
    (r"(3,\infty)", "(3, ∞)", EQUAL),
]


@pytest.mark.parametrize("gold, output, expected", CASES,
                         ids=[plain_id(f"{g}|{o}") for g, o, _ in CASES])
def test_answer_syntax(patient_grader, gold, output, expected):
    verdict = patient_grader.check(gold, extract_answer(output))
    assert (verdict is Verdict.EQUAL) is expected, (normalization.normalize_answer(gold),
                                                    extract_answer(output))


@pytest.mark.parametrize("text, normal", [
    ("sqrt(x+1)", r"\sqrt{x+1}"),
    ("sqrt(sqrt(2))", r"\sqrt{\sqrt{2}}"),
    ("sqrt(2", "sqrt(2"),                         # unclosed: left as written
    ("2**(-1)", "2^{-1}"),                        # a parenthesised exponent is a group
    ("(x+1)**(2)", "(x+1)^{2}"),
    ("2*x", r"2\cdot x"),
    ("z^*", "z^*"),                               # a conjugate's star is no product
    ("(3, +inf)", r"(3,\infty)"),
    ("x = 2; y = 3", "x=2,y=3"),                  # distinct names stay
    ("x = 2 or x = 3", "2,3"),                    # one name: its values
    ("x = 2y, y = 3", "x=2y,3"),                  # a value with a variable: not named
    ("m=1, n=2; m=5, n=6", "m=1,n=2,m=5,n=6"),    # solutions of the same names keep them
    ("m=1, n=2; m=5", "1,2,5"),                   # not whole solutions: the values
    ("**5.**", "5"),
])
def test_normal_forms_of_plain_syntax_and_names(text, normal):
    assert normalization.normalize_answer(text) == normal


def test_nested_plain_calls_are_rewritten_a_bounded_number_of_times():
    deep = "sqrt(" * 1500 + "2" + ")" * 1500  # under MAX_NORMALIZE_CHARS
    normal = normalization.normalize_answer(deep)
    assert normal.count(r"\sqrt{") == normalization._MAX_PLAIN_CALLS


def test_named_solutions_have_their_own_structure():
    node = structure.parse_structure("x=2,y_1=3")
    assert node == structure.Named(("x", "y_1"), (structure.Scalar("2"), structure.Scalar("3")))
    assert structure.parse_structure("x=2,x=3") == structure.Unordered(
        "list", (structure.Scalar("x=2"), structure.Scalar("x=3")))


# --- percent: one documented option, three modes
PERCENT_CASES = [
    # gold, prediction, equal under "both", "number", "value"
    (r"50\%", "50", (EQUAL, EQUAL, DIFF)),
    (r"50\%", "0.5", (EQUAL, DIFF, EQUAL)),
    (r"50\%", r"\frac{1}{2}", (EQUAL, DIFF, EQUAL)),
    ("0.5", "50 percent", (EQUAL, DIFF, EQUAL)),
    ("0.28", "28 pct", (EQUAL, DIFF, EQUAL)),
    (r"\frac{1}{3}", r"33.33\%", (EQUAL, DIFF, EQUAL)),   # the decimal tolerance applies
    (r"\frac{1}{3}", r"33\frac{1}{3}\%", (EQUAL, DIFF, EQUAL)),
    (r"50\%", r"50\%", (EQUAL, EQUAL, EQUAL)),
    (r"50\%", r"0.5\%", (DIFF, DIFF, DIFF)),               # two percents: their numbers
    (r"50\%", "5", (DIFF, DIFF, DIFF)),
    (r"50\%", "0.05", (DIFF, DIFF, DIFF)),
    (r"10\%, 20\%", "10, 20", (EQUAL, EQUAL, EQUAL)),      # a list: decoration
    (r"\sqrt{2}\%", r"\frac{\sqrt{2}}{100}", (EQUAL, DIFF, EQUAL)),
]


@pytest.mark.parametrize("gold, pred, expected", PERCENT_CASES,
                         ids=[plain_id(f"{g}|{p}") for g, p, _ in PERCENT_CASES])
def test_percent_modes(patient_worker, gold, pred, expected):
    for mode, equal in zip(("both", "number", "value"), expected):
        grader = Grader(patient_worker, percent=mode)
        assert (grader.check(gold, pred) is Verdict.EQUAL) is equal, mode
        assert (grader.check(pred, gold) is Verdict.EQUAL) is equal, mode


def test_percent_mode_is_checked():
    with pytest.raises(ValueError, match="percent"):
        Grader(percent="decimal")


def test_the_default_percent_rule_is_the_peers_both():
    assert Grader().percent == "both"


def test_percent_answers_never_found_a_cluster_that_gathers_both_readings():
    # `10%` equals 10 and 0.1, which differ: it must join one of their clusters, in any order.
    for answers in (["10%", "0.1", "10"], ["10", "10%", "0.1"], ["0.1", "10", "10%"]):
        labels = cluster_labels(answers, Grader())
        by_answer = dict(zip(answers, labels))
        assert by_answer["10"] != by_answer["0.1"]
        assert by_answer["10%"] in (by_answer["10"], by_answer["0.1"])
    assert cluster_labels(["10%", "10 percent", "0.1%"], Grader()) == [0, 0, 1]


def test_percent_marks_and_values():
    assert normalization.percent_marked(r"12.5\%", "12.5") == "12.5%"
    assert normalization.percent_marked("12.5", "12.5") == "12.5"
    assert normalization.percent_marked(r"10\%, 20\%", "10,20") == "10,20"
    assert normalization.percent_marked("28 percentage", "28") == "28%"
    assert normalization.percent_value("50") == "0.50"
    assert normalization.percent_value("-5") == "-0.05"
    assert normalization.percent_value(r"\frac{200}{3}") == r"\frac{2}{3}"
    assert normalization.percent_value("300") == "3.00"
    assert normalization.percent_value(r"\frac{100}{1}") == "1"
    assert normalization.percent_value("x") == r"\frac{x}{100}"
