"""Answer structure (evaluation/structure.py): which brackets make a set, a sequence or a list."""

import pytest

from mathft_jax.evaluation.structure import (
    MAX_DEPTH, Matrix, Named, Scalar, Seq, Unordered, _depth_profile_ok, _one_environment,
    named_groups, parse_structure)


def test_a_set_whose_items_hold_brackets():
    assert parse_structure(r"\{(1,2),3\}") == Unordered(
        "set", (Seq("(", ")", (Scalar("1"), Scalar("2"))), Scalar("3")))
    assert parse_structure(r"\{(1,(2,3)),4\}") == Unordered("set", (
        Seq("(", ")", (Scalar("1"), Seq("(", ")", (Scalar("2"), Scalar("3"))))), Scalar("4")))


def test_two_sets_in_a_list_are_not_one_set():
    # Starts with \{ and ends with \}, but the inside `1\},\{2` closes before it opens.
    assert parse_structure(r"\{1\},\{2\}") == Unordered(
        "list", (Unordered("set", (Scalar("1"),)), Unordered("set", (Scalar("2"),))))


def test_an_unclosed_set_is_one_scalar():
    # A truncated answer: `\{1,2` never closes, so it is no set (nor `{1}`).
    assert parse_structure(r"\{1,2") == Scalar(r"\{1,2")
    # A stray closer: a list of two items, not a set.
    assert parse_structure(r"1,2\}") == Unordered("list", (Scalar("1"), Scalar(r"2\}")))


def test_a_matrix_splits_into_rows_and_cells():
    assert parse_structure(r"\begin{pmatrix}1&2\\3&4\\\end{pmatrix}") == Matrix(
        ((Scalar("1"), Scalar("2")), (Scalar("3"), Scalar("4"))))


def test_parsing_stops_after_200_nodes():
    # 100 pairs are 301 nodes: the list (node 1), then each pair and its two numbers; pair k
    # is node 3k + 2. Pair 66 is node 200, the last one parsed; later pairs stay unparsed text.
    pairs = [f"({i},{i + 1})" for i in range(100)]
    node = parse_structure(",".join(pairs))
    assert isinstance(node, Unordered) and len(node.items) == 100
    assert node.items[65] == Seq("(", ")", (Scalar("65"), Scalar("66")))
    assert node.items[66] == Seq("(", ")", (Scalar("66"), Scalar("67")))
    assert node.items[67:] == tuple(Scalar(p) for p in pairs[67:])
    # One node earlier in the list: pair 66 is node 201, the first left unparsed.
    node = parse_structure(",".join(["0"] + pairs))
    assert node.items[66] == Seq("(", ")", (Scalar("65"), Scalar("66")))
    assert node.items[67] == Scalar(pairs[66])


def _right_nested(depth: int) -> str:
    return "(1," * depth + "1" + ")" * depth  # `(1,(1,1))` is depth 2


def test_nesting_deeper_than_max_depth_is_one_scalar():
    node = parse_structure(_right_nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        assert isinstance(node, Seq)
        node = node.items[1]
    assert node == Seq("(", ")", (Scalar("1"), Scalar("1")))
    assert parse_structure(_right_nested(MAX_DEPTH + 1)) == Scalar(_right_nested(MAX_DEPTH + 1))


def test_depth_counts_open_brackets_not_all_brackets():
    # Two siblings of depth 30: 60 brackets open in all, but never more than 31 at once.
    twins = f"({_right_nested(30)},{_right_nested(30)})"
    assert isinstance(parse_structure(twins), Seq)


def test_an_empty_set_has_no_items():
    assert parse_structure(r"\{\}") == Unordered("set", ())


def test_a_tuple_may_open_with_a_tuple():
    # `((1,2),3)`: the inside `(1,2),3` is balanced even though it starts with a bracket.
    assert parse_structure("((1,2),3)") == Seq(
        "(", ")", (Seq("(", ")", (Scalar("1"), Scalar("2"))), Scalar("3")))
    assert parse_structure("[(0,1),2)") == Seq(
        "[", ")", (Seq("(", ")", (Scalar("0"), Scalar("1"))), Scalar("2")))


def test_a_closing_bracket_lowers_the_depth_by_one():
    # 30 open, 1 closed: 29; then 21 more reach exactly MAX_DEPTH, 22 more pass it.
    assert _depth_profile_ok("(" * 30 + ")" + "(" * (MAX_DEPTH - 29))
    assert not _depth_profile_ok("(" * 30 + ")" + "(" * (MAX_DEPTH - 28))


@pytest.mark.parametrize("items, groups", [
    (["a=1", "b=4", "a=9", "b=0"], [[("a", "1"), ("b", "4")], [("a", "9"), ("b", "0")]]),
    # each solution in the first one's name order
    (["m=3", "n=1", "n=6", "m=2"], [[("m", "3"), ("n", "1")], [("m", "2"), ("n", "6")]]),
    (["u=1", "v=2", "w=3", "u=4", "v=5", "w=6", "u=7", "v=8", "w=9"],
     [[("u", "1"), ("v", "2"), ("w", "3")], [("u", "4"), ("v", "5"), ("w", "6")],
      [("u", "7"), ("v", "8"), ("w", "9")]]),
    (["a=1", "b=4"], None),                        # one solution: `named_items`' case
    (["a=1", "a=2"], None),                        # one name: a list of values
    (["a=1", "b=4", "a=9"], None),                 # the last solution is short
    (["a=1", "b=4", "a=9", "c=0"], None),          # other names
    (["a=1", "b=4", "a=9", "a=0"], None),          # a name twice in one solution
    (["a=1", "b=c", "a=9", "b=0"], None),          # a value with a variable
    (["a=1", "b=4", "a=9", "7"], None),            # an item without a name
])
def test_named_groups(items, groups):
    assert named_groups(items) == groups


def test_solutions_of_the_same_names_parse_as_a_list_of_named():
    node = parse_structure("s=1,t=-2,s=0,t=\\pi")
    named = [Named(("s", "t"), (Scalar("1"), Scalar("-2"))),
             Named(("s", "t"), (Scalar("0"), Scalar("\\pi")))]
    assert node == Unordered("solutions", tuple(named))


@pytest.mark.parametrize("text, one", [
    (r"\begin{pmatrix}1&2\end{pmatrix}", True),
    (r"\begin{bmatrix}\begin{matrix}1\end{matrix}&2\end{bmatrix}", True),   # nested
    (r"\begin{pmatrix}1\end{pmatrix}+\begin{pmatrix}2\end{pmatrix}", False),
    (r"\begin{pmatrix}1\end{pmatrix}\begin{pmatrix}2\end{pmatrix}", False),
    (r"\begin{pmatrix}1&2", False),                                          # unclosed
])
def test_one_environment(text, one):
    assert _one_environment(text) is one


def test_a_matrix_expression_is_a_scalar_and_a_matrix_keeps_its_text():
    product = r"\begin{pmatrix}1\end{pmatrix}\begin{pmatrix}2\end{pmatrix}"
    assert parse_structure(product) == Scalar(product)
    matrix = parse_structure(r"\begin{pmatrix}1&2\end{pmatrix}")
    assert matrix.text == r"\begin{pmatrix}1&2\end{pmatrix}"


@pytest.mark.parametrize("text, node", [
    (r"\begin{cases}u+v=1\\u-v=3\end{cases}",
     Unordered("system", (Scalar("u+v=1"), Scalar("u-v=3")))),
    (r"\begin{aligned}u+v&=1\\u-v&=3\end{aligned}",                  # alignment marks go
     Unordered("system", (Scalar("u+v=1"), Scalar("u-v=3")))),
    (r"\begin{cases}u=1\\v=3\end{cases}", Named(("u", "v"), (Scalar("1"), Scalar("3")))),
    (r"\begin{cases}u+v=1\end{cases}", Scalar("u+v=1")),              # one row: the row
    (r"\begin{cases}u^2&u<0\\u&u\geq0\end{cases}",                   # piecewise: opaque
     Scalar(r"\begin{cases}u^2&u<0\\u&u\geq0\end{cases}")),
    (r"\begin{cases}u+v\\u-v=3\end{cases}",                           # a row with no relation
     Scalar(r"\begin{cases}u+v\\u-v=3\end{cases}")),
])
def test_a_system_of_relations(text, node):
    assert parse_structure(text) == node
