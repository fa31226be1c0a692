import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mathft_jax.data.answers import boxes, brace_pairs, closing_brace, last_boxed_content


@pytest.mark.parametrize("text,expected", [
    (r"so $\boxed{5}$", "5"),
    (r"$\boxed{\frac{1}{2}}$", r"\frac{1}{2}"),
    (r"first $\boxed{1}$ then $\boxed{2}$", "2"),
    (r"$\fbox{ 7 }$", "7"),
    (r"$\boxed{\{1, 2\}}$", r"\{1, 2\}"),           # escaped braces are not grouping
    (r"$\boxed{\left( 3, \frac{\pi}{2} \right)}$", r"\left( 3, \frac{\pi}{2} \right)"),
    (r"$\boxed 5$.", "5"),
    (r"$\boxed{3}$ and then $\boxed{4", None),       # unclosed last box: cut off, no answer
    ("no box here", None),
    (r"$\boxed{}$", ""),
    (r"\boxedtext{3}", None),                        # a longer command is not a box
])
def test_last_boxed_content(text, expected):
    assert last_boxed_content(text) == expected


def test_rejects_non_string():
    with pytest.raises(TypeError):
        last_boxed_content(None)


def test_deep_nesting_is_fast():
    text = r"\boxed{" + "{" * 5000 + "x" + "}" * 5000 + "}"
    assert last_boxed_content(text) == "{" * 5000 + "x" + "}" * 5000


def test_many_unclosed_boxes_are_linear():
    # 700,000 characters of unclosed boxes: the former scan from every box to the end of the
    # text is quadratic (8,000 boxes took 73 s, so this would take about three hours); the one
    # pass takes a second.
    text = r"\boxed{" * 100_000
    assert last_boxed_content(text) is None
    assert last_boxed_content(text + r"\boxed{7}") == "7"  # a closed box inside open ones
    assert len(boxes(text)) == 100_000


@pytest.mark.parametrize("text,expected", [
    (r"\boxed{ \boxed{3}", "3"),                   # the open outer box does not hide it
    (r"} \boxed{2} }", "2"),                        # a stray `}` closes nothing
    (r"\\\boxed{\\}", "\\\\"),                      # `\\` is one literal character
    (r"\boxed{a\}b}", r"a\}b"),
])
def test_brace_edge_cases(text, expected):
    assert last_boxed_content(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="{}\\ab", max_size=40))
def test_brace_pairs_agree_with_closing_brace(text):
    pairs = brace_pairs(text)
    for pos, ch in enumerate(text):
        if ch == "{" and (pos == 0 or text[pos - 1] != "\\"):
            assert pairs.get(pos) == closing_brace(text, pos), (text, pos)
