"""Gold-answer files (evaluation/records.py): both row forms, and bad lines named or counted."""

import json

import pytest

from mathft_jax.evaluation.records import RecordError, read_gold


def _write(tmp_path, rows):
    path = tmp_path / "gold.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def test_both_row_forms_and_a_missing_answer(tmp_path):
    path = _write(tmp_path, [
        {"problem_id": "a", "answer": "7", "level": "Level 2", "subject": "Algebra"},
        {"problem_id": "b", "answer": None},
        {"unique_id": "c", "solution": r"So it is $\boxed{\frac12}$.", "level": "Level 5",
         "type": "Geometry"},
    ])
    gold, counts = read_gold(path)
    assert gold == {"a": {"answer": "7", "level": "Level 2", "subject": "Algebra"},
                    "b": {"answer": None, "level": None, "subject": None},
                    "c": {"answer": r"\frac12", "level": "Level 5", "subject": "Geometry"}}
    assert (counts.malformed, counts.duplicate) == (0, 0)


@pytest.mark.parametrize("row,why", [
    ({"problem_id": "a", "answer": 5}, "field 'answer' must be a string"),
    ({"id": "a", "answer": "5"}, "needs 'problem_id' and 'answer', or MATH's 'unique_id' "
                                 "and 'solution'"),
    ("[1, 2]", "invalid JSON"),
])
def test_a_bad_line_is_named_by_default(tmp_path, row, why):
    path = _write(tmp_path, [{"problem_id": "ok", "answer": "1"}, row])
    with pytest.raises(RecordError) as err:
        read_gold(path)
    assert str(err.value).startswith(f"{path}:2: {why}")


def test_skip_malformed_counts_every_bad_line(tmp_path):
    path = _write(tmp_path, [{"problem_id": "a", "answer": 5}, "{not json",
                             {"problem_id": "b", "answer": "2"}])
    gold, counts = read_gold(path, skip_malformed=True)
    assert list(gold) == ["b"] and counts.malformed == 2
