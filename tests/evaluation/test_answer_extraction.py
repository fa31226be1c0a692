import pytest

from mathft_jax.evaluation import answer_extraction
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
    (r"\boxed{5.}", "5"), (r"\boxed{$5$}", "5"), (r"\boxed{$5$.}", "5"), (r"\boxed{$5.$}", "5"),
    (r"\boxed{.5}", ".5"),
    (r"\boxed{}", None),
    (r"\boxed{5", None),
    (r"\boxedx", None),                      # the word, not a box
    (r"\boxed{1} then \boxed{2", None),
    ("The answer is $7$.", "7"),
    ("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", r"\frac{3}{4}"),
    ("the answer is 12\nmore text", "12"),
    # rule 1: JSON-escaped text
    (r"so \\boxed{\\frac{1}{2}}", r"\frac{1}{2}"),
    # rule 2: adjacent boxes form one list; `or` separates alternative forms; prose splits
    (r"$\boxed{35 cm} + \boxed{4}$", "35 cm,4"),
    (r"$\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}$", "(2, 2),(6, 2)"),
    (r"$\boxed{1.5}$ or $\boxed{\frac32}$", r"\frac32"),
    (r"\boxed{004}. So \boxed{004} it is. **Final Answer** \boxed{004}", "004"),
    (r"\boxed{1} papers and \boxed{2} bins", "2"),
    # rule 3: cues
    (r"Answer \[ 9 \]", "9"), (r"Answer $$ 9 $$", "9"), (r"Answer \( (9+1) \)", "(9+1)"),
    ("Final Answer: 42", "42"), ("So the answer is: 17 apples.", "17"),
    ("Thus $x <= 2$ is our answer.", "x <= 2"),
    # rule 4: the last math span, joined with spans listed before it
    (r"We get $x=3$ and then $y = 4$.", "y = 4"), (r"So $x=3$ and $y = 4$.", "x=3,y = 4"),
    (r"First $a$, so we compute things. Hence $\frac{1}{2}$ works.", r"\frac{1}{2}"),
    (r"$1$ and $2$ and $3$", "1,2,3"),
    # rule 5: a short answer is the whole text
    ("10 square units", "10 square units"), ("1 1/2", "1 1/2"), ("-2,1", "-2,1"),
    ("1000,99", "1000.99"), ("0,111", "0.111"),
    # rule 6: the last number of prose
    ("the number is not 10 which is 1,000.99 euros", "1000.99"),
    ("Soucis : 2,74 $ a..", "2.74"), ("AZYUK2A", None),
    ("no answer here", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_a_short_answer_is_at_most_150_characters():
    # Past 150 characters the text after the cue is prose: only its last number is taken.
    at_limit = "x+" + "1" * 148
    assert extract_answer(f"The answer is {at_limit}") == at_limit
    assert extract_answer(f"The answer is {at_limit}1") == "1" * 149


def test_a_short_answer_has_fewer_than_three_short_words():
    assert extract_answer("The answer is 5 ab cd") == "5 ab cd"
    assert extract_answer("The answer is 5 ab cd ef") == "5"  # prose: its last number


def test_empty_boxes_add_nothing_to_a_joined_answer():
    assert extract_answer(r"\boxed{1} \quad \boxed{ }") == "1"
    assert extract_answer(r"\boxed{ } \quad \boxed{1}") == "1"
    assert extract_answer(r"\boxed{ }") is None
    assert answer_extraction._join_last("a  b", [(0, 1, " "), (3, 4, "  ")],
                                        answer_extraction._SPAN_GAP) is None
