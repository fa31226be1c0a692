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
    # rule 0: a chat template's turn marker ends the answer
    ("The sum is 41. <|im_start|>user\nNow compute 6+2.", "41"),
    ("So we get $7$.<|eot_id|>Step 9", "7"),
    ("<|im_start|>assistant\nIt is 3.<|im_end|>", "3"),  # a marker before any text: skipped
    ("<|im_end|>\n7", "7"),
    ("Hence 15 marbles.<end_of_turn>\n<start_of_turn>user 99", "15 marbles"),
    # rule 2's exception: a "final answer" cue after the last box restates the answer
    (r"Step 1: $3\cdot 4 = \boxed{12}$. Step 2: $12+8=\boxed{20}$. Final Answer: The final "
     r"answer is $1,020$. I hope it is correct.", "1,020"),
    (r"$\boxed{6}$, so the final answer is 6.", "6"),
    (r"We box $\boxed{8}$ and check our answer: it is right.", "8"),  # only a final-answer cue
    (r"$\boxed{9}$. Final answer: see above.", "9"),            # the cue states no answer
    (r"$\boxed{9}$. The final answer is in the box, after 2 steps.", "9"),  # prose: the box
    # rule 3: spans listed right after a cue, quotes skipped
    (r'The final answer is "$4$ and $9$". I hope it is correct.', "4,9"),
    (r"The answer is $4$; we also computed $8$ before.", "4"),
    # rule 4's exception: a concluding sentence after the last math span
    (r"Let $k = \frac{60}{m}$ for each divisor $m$. Therefore, there are 8 such values.", "8"),
    (r"We solve $3y = 2$. Thus the probability is 2/3.", "2/3"),
    ("The price rose from $5$ to $6$. In conclusion, it rose by 20%.", "20%"),
    (r"Hence $x = 4$ works. So we tried 3 cases.", "x = 4"),    # `So` is no conclusion word
    (r"Therefore, $y = 2$, after 3 steps.", "y = 2"),            # the span itself is last
    (r"We get $z = 5$. Therefore, that is it.", "z = 5"),         # no number: the span
    # rule 6: fractions and percents of prose
    ("the chance is 3/8 overall", "3/8"), ("it grew by 12.5% in a year", "12.5%"),
    (r"it grew by 7\% in May", r"7\%"), ("2,5% of them", "2.5%"),
    ("between x/4 and y", None),                                 # a denominator alone
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
