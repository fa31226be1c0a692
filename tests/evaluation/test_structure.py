"""Answer structure (evaluation/structure.py): which brackets make a set, a sequence or a list."""

from mathft_jax.evaluation.structure import Scalar, Seq, Unordered, parse_structure


def test_a_set_whose_items_hold_brackets():
    assert parse_structure(r"\{(1,2),3\}") == Unordered(
        "set", (Seq("(", ")", (Scalar("1"), Scalar("2"))), Scalar("3")))
    assert parse_structure(r"\{(1,(2,3)),4\}") == Unordered("set", (
        Seq("(", ")", (Scalar("1"), Seq("(", ")", (Scalar("2"), Scalar("3"))))), Scalar("4")))


def test_two_sets_in_a_list_are_not_one_set():
    # Starts with \{ and ends with \}, but the inside `1\},\{2` closes before it opens.
    assert parse_structure(r"\{1\},\{2\}") == Unordered(
        "list", (Unordered("set", (Scalar("1"),)), Unordered("set", (Scalar("2"),))))
