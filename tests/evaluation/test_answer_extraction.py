import pytest

from mathft_jax.evaluation.answer_extraction import extract_answer

CASES = [
    (r"so $\boxed{5}$.", "5"),
    (r"first \boxed{1} then \boxed{2}", "2"),
    (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
    (r"\boxed{\{1,2\}}", r"\{1,2\}"),
    (r"\boxed{\begin{pmatrix}1\\2\end{pmatrix}}", r"\begin{pmatrix}1\\2\end{pmatrix}"),
    (r"\fbox{7}", "7"),
    (r"\boxed{1} and \fbox{3}", "1,3"),
    (r"\boxed{1}. Then we see that \boxed{3}", "3"),
    (r"\boxed 5$", "5"),
    (r"\boxed{ x = 3 }", "x = 3"),
    (r"\boxed{}", None),
    (r"\boxed{5", None),
    (r"\boxed{1} then \boxed{2", None),
    ("The answer is $7$.", "7"),
    ("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", r"\frac{3}{4}"),
    ("the answer is 12\nmore text", "12"),
    ("no answer here", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected
