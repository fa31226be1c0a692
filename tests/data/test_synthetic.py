import collections
import re

import pytest

from mathft_jax import evaluation
from mathft_jax.data import synthetic
from mathft_jax.data.answers import last_boxed_content

N = 600


@pytest.fixture(scope="module")
def problems():
    return synthetic.generate_split("train", N, seed=0)


def test_deterministic_per_seed(problems):
    assert synthetic.generate_split.__wrapped__("train", N, 0) == problems
    other = synthetic.generate_split.__wrapped__("train", N, 1)
    assert sum(a.problem != b.problem for a, b in zip(problems, other)) > N // 2
    # problem i depends only on (seed, split, i): a smaller split is a prefix
    assert synthetic.generate_split.__wrapped__("train", 50, 0) == problems[:50]


def test_fields_and_ids(problems):
    for p in problems:
        assert re.fullmatch(r"synthetic/train/\d{6}", p.problem_id)
        assert p.level in {f"Level {k}" for k in synthetic.LEVELS}
        for text in (p.solution, p.solution_terse, p.corrupted_solution):
            assert text.rstrip().endswith("$.")
        assert last_boxed_content(p.solution) == p.answer
        assert last_boxed_content(p.solution_terse) == p.answer
        assert last_boxed_content(p.corrupted_solution) == p.corrupted_answer
        assert p.corrupted_answer != p.answer
        assert p.solution_terse != p.solution
    subjects = collections.Counter(p.subject for p in problems)
    assert set(subjects) == {f.subject for f in synthetic.FAMILIES}
    assert collections.Counter(p.level for p in problems).keys() == {
        f"Level {k}" for k in synthetic.LEVELS}


def test_answer_kinds_need_equivalence_aware_grading(problems):
    answers = [p.answer for p in problems]
    assert any(a.startswith("-") for a in answers)
    assert any(r"\frac" in a for a in answers)
    assert any(r"\sqrt" in a for a in answers)
    assert any(a[0] in "[(" and r"\infty" in a for a in answers)  # intervals
    assert any(a.startswith("(") and r"\infty" not in a for a in answers)  # tuples / open


def test_splits_disjoint_by_text():
    test = synthetic.generate_split("test", 200, seed=3, test_size=200)
    val = synthetic.generate_split("validation", 200, seed=3, test_size=200)
    train = synthetic.generate_split("train", 2000, seed=3, test_size=200, validation_size=200)
    test_text = {p.problem for p in test}
    assert not test_text & {p.problem for p in val}
    assert not (test_text | {p.problem for p in val}) & {p.problem for p in train}
    assert len(train) == 2000


def test_levels_and_seed_arguments():
    only5 = synthetic.generate_split("test", 50, seed=0, levels=(5,))
    assert {p.level for p in only5} == {"Level 5"}
    with pytest.raises(ValueError):
        synthetic.generate_split("train", -1)


def test_tex_num():
    from fractions import Fraction
    assert synthetic.tex_num(Fraction(-6, 4)) == r"-\frac{3}{2}"
    assert synthetic.tex_num(Fraction(8, 4)) == "2"


def test_gold_answers_graded_correct_by_project_checker(problems):
    for p in problems:
        assert evaluation.is_equiv(p.answer, evaluation.extract_answer(p.solution)), p
        assert evaluation.is_equiv(p.answer, evaluation.extract_answer(p.solution_terse)), p
        assert not evaluation.is_equiv(p.answer, evaluation.extract_answer(
            p.corrupted_solution)), p


def test_equivalent_forms_are_accepted():
    """Gold answers really need equivalence: other spellings of them grade as equal."""
    pairs = [(r"-\frac{7}{3}", r"\frac{-14}{6}"), (r"2\sqrt{3}", r"\sqrt{12}"),
             (r"(\frac{1}{2}, -3)", "(0.5,-3)"), (r"[-2, 8]", r"[-2,8]")]
    for gold, other in pairs:
        assert evaluation.is_equiv(gold, other), (gold, other)


INTEGER_OP = re.compile(r"\$(-?\d+) (\+|-|\\cdot) (\(-\d+\)|\d+) = (-?\d+)\$")


def _evaluate(x: str, op: str, y: str) -> int:
    a, b = int(x), int(y.strip("()"))
    return a + b if op == "+" else a - b if op == "-" else a * b


def test_detailed_shows_each_operation_terse_skips_them(problems):
    """Finding 1's contrast: one step per operation (each right) vs the equations only."""
    with_ops = 0
    for p in problems:
        ops = INTEGER_OP.findall(p.solution)
        with_ops += bool(ops)
        for x, op, y, result in ops:
            assert _evaluate(x, op, y) == int(result), (p.solution, x, op, y, result)
        assert not INTEGER_OP.findall(p.solution_terse), p.solution_terse
        assert len(p.solution_terse) < len(p.solution) / 2
    assert with_ops > 0.95 * len(problems)


def test_corruption_is_one_wrong_operation(problems):
    """The corrupted solution's first differing sentence is an operation with a wrong result."""
    for p in problems:
        for good, bad in zip(p.solution.split(". "), p.corrupted_solution.split(". ")):
            if good != bad:
                break
        wrong = [(x, op, y, r) for x, op, y, r in INTEGER_OP.findall(bad)
                 if _evaluate(x, op, y) != int(r)]
        claimed = [r for *_, r in INTEGER_OP.findall(bad)]
        if claimed:  # integer operations: the slip is visible as a wrong result
            assert len(wrong) == 1 and 1 <= abs(
                _evaluate(*wrong[0][:3]) - int(wrong[0][3])) <= 2, (good, bad)


def test_wrong_operations_counts_the_slip_of_a_corrupted_solution(problems):
    """The library's slip counter agrees with this file's own parse of the operations."""
    visible = 0
    for p in problems:
        assert synthetic.wrong_operations(p.solution) == 0
        expected = sum(_evaluate(x, op, y) != int(r)
                       for x, op, y, r in INTEGER_OP.findall(p.corrupted_solution))
        assert synthetic.wrong_operations(p.corrupted_solution) == expected <= 1
        visible += expected
    assert visible > len(problems) / 2  # most slips hit an integer operation


def test_families_argument_restricts_subjects_and_keeps_the_full_set_unchanged():
    two = ("Linear Equations", "Radicals")
    picked = synthetic.generate_split("test", 60, seed=0, families=two)
    assert {p.subject for p in picked} == set(two)
    every = synthetic.generate_split("test", 20, seed=0)
    assert synthetic.generate_split("test", 20, seed=0,
                                    families=tuple(f.subject for f in synthetic.FAMILIES)) == every
    with pytest.raises(ValueError, match="Geometry"):
        synthetic.generate_split("test", 5, families=("Geometry",))
