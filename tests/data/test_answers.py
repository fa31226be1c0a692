import pytest

from mathft_jax.data.answers import last_boxed_content


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
