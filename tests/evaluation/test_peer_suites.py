"""The ported peer suites (see `peer_cases.py`): our verdict against each peer test's verdict.

Where we differ on purpose, `DELIBERATE` says why and the test pins our verdict; `KNOWN_GAPS`
are cases we still get wrong (strict xfail: fixing one fails the run until it is removed here).
Keys are the first 60 characters of gold and prediction. Neither list may hold a case the
suite calls different: the default grader gives no false "equal" on the ported cases (issue
29), which `test_no_false_equal_on_the_suites` checks on its own.
"""

import pytest

from mathft_jax.evaluation.equivalence import check_equiv
from mathft_jax.evaluation.verdict import Verdict
from tests.evaluation.case_ids import plain_id
from tests.evaluation.peer_cases import load_cases

MIN_AGREEMENT = 0.95  # issue 29: at least 396 of the 416 cases

DELIBERATE = {
    ('\\begin{matrix} \\frac12 \\\\ 1 \\end{matrix}',
     '[0.5, 1]'):
        'a column vector equals a one-column matrix, not a bracketed list (an interval or a tuple)',
    ('1,22',
     '1.22'):
        'a bare `1,22` is a list of two answers, not a decimal comma (`-2,1` is a MATH500 gold)',
    ('1, 2, 3',
     '1, 3, 2'):
        'a bare comma list is read in the order written (Grader(comma_lists="ordered"), the '
        'default: it may be an ordered answer; Hendrycks MATH calls `10, 4, -2` and '
        '`4, 10, -2` different); comma_lists="unordered" is MARIO_EVAL\'s rule',
    ('7, -2, \\text{ and } -5',
     '-5,-2,7'):
        'a bare comma list is read in the order written ("and" does not make it a set)',
    ('$(0;0;0),(0;-2;0),(0;0;6),(0;-2;6),(4;0;0),(4;-2;0),(4;0;6),',
     '\\boxed{(4, 0, 6), (4, -2, 6), (0, 0, 6), (0, -2, 6), (4, 0, '):
        'a bare list of tuples is read in the order written',
    ('$(2,1),(1,2),(-1,-20),(-20,-1)$',
     'solutions are:\n\n\\[\n\\boxed{(1, 2)}, \\boxed{(2, 1)}, \\boxed{(-'):
        'a bare list of tuples is read in the order written',
    ('Setting $x = y = 0,$ we get \\[2f(0) = f(0) - 1,\\]so $f(0) = ',
     '<think> Okay, so I have this functional equation to solve: \\'):
        'a bare list is read in the order written (`1,-2` against the boxes `-2` and `1`)',
    ('\\(\\boxed{1}\\) and \\(\\boxed{-2}\\).',
     '$\\boxed{-2,1}$.'):
        'a bare list is read in the order written',
    ('$(11,7)or(7,11)$',
     '$\\boxed{(7,11),\\ (11,7)}$'):
        'alternatives joined by "or" are a set, but a set against a bare list compares in the '
        'order written: only two unordered lists are multisets',
    ('\\boxed{a=4,\\,-8,\\,-10}',
     '$\\boxed{-10,-8,4}$'):
        'values of one name are a set, but a set against a bare list compares in the order '
        'written',
    ('[1,+\\infty)',
     '[2^{\\frac{1}{2^{1000}}}, \\infty)'):
        '2^(1/2^1000) is not 1: only a peer float rounding makes them equal',
    ('$(\\begin{pmatrix}\\frac{1}{3}\\\\ \\frac{1}{5} \\end{pmatrix})$',
     '$\\begin{pmatrix}0.33\\\\0.2 \\end{pmatrix}$'):
        'short decimals are exact: 0.33 is not 1/3',
    ('$(1,3)$',
     '${1,3}$'):
        'a set {1,3} is not the ordered pair (1,3)',
    ('\\boxed{1} papers and \\boxed{2} bins',
     '$\\boxed{1,2}$'):
        'boxes separated by prose are separate answers: the last one counts',
}
KNOWN_GAPS = {
    ('$(37,3,3,13),(17,3,3,7),(3,37,3,13),(3,17,3,7),(3,3,2,3)$',
     '$\\boxed{(3, 37, 3, 13), (3, 17, 3, 7), (3, 3, 2, 3), (3,17,3'),
    ('$1\\leq|z|\\leq \\frac{3}{2}$',
     '$z \\in \\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{'),
    ('\\\\boxed{W(n) = 1 \\\\text{ and } W(n) = -1',
     'W(x)=1orW(x)=-1'),
}

CASES = load_cases()


def _key(case):
    return case.gold[:60], case.pred[:60]


def _grade(case, grader) -> bool:
    return check_equiv(*case.answers(), grader) is Verdict.EQUAL


def _params() -> list:
    """A list, not a generator: pytest keeps the argument in the mark, and a second collection
    in the same process (mutmut's fork server collects before it runs a mutant's tests) would
    find a spent generator, no cases, and stop with "not found" (exit 4)."""
    params = []
    for case in CASES:
        marks = ()
        if _key(case) in KNOWN_GAPS:
            marks = pytest.mark.xfail(strict=True, reason="known gap")
        params.append(pytest.param(case, id=plain_id(case.id), marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_peer_case(patient_grader, case):
    expected = case.equal
    if _key(case) in DELIBERATE:
        expected = not case.equal
    assert _grade(case, patient_grader) == expected, case.source


def test_no_false_equal_on_the_suites(patient_grader):
    """Issue 29: the default grader (only the time bounds are patient) says "equal" on no
    case that its suite calls different, and no exception list excuses one."""
    assert (patient_grader.comma_lists, patient_grader.percent) == ("ordered", "both")
    different = [c for c in CASES if not c.equal]
    assert len(different) >= 50
    assert not [c.id for c in different if _grade(c, patient_grader)]
    assert not [c.id for c in different if _key(c) in DELIBERATE or _key(c) in KNOWN_GAPS]


def test_overall_agreement(patient_grader):
    agree = sum(_grade(c, patient_grader) == c.equal for c in CASES)
    assert len(CASES) >= 400
    assert agree / len(CASES) >= MIN_AGREEMENT, (agree, len(CASES))


def test_exception_lists_name_real_cases():
    keys = {_key(c) for c in CASES}
    assert set(DELIBERATE) <= keys and set(KNOWN_GAPS) <= keys
