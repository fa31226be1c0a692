"""Gold-answer files (evaluation/records.py): both row forms, and bad lines named or counted."""

import json

import pytest

from mathft_jax.evaluation.records import RecordError, read_candidates, read_gold


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


def test_two_different_gold_answers_name_both_lines_or_are_counted(tmp_path, capsys):
    path = _write(tmp_path, [{"problem_id": "a", "answer": "7"},
                             {"problem_id": "b", "answer": "1"},
                             {"problem_id": "a", "answer": "7"},   # the same again: fine
                             {"problem_id": "a", "answer": None},  # says nothing: fine
                             {"problem_id": "a", "answer": "8"}])
    with pytest.raises(RecordError, match=rf"^{path}:5: problem 'a' has answer '8' here and "
                                          r"'7' on line 1$"):
        read_gold(path)
    gold, counts = read_gold(path, skip_malformed=True)
    assert list(gold) == ["b"] and counts.conflicting_gold == 1 and counts.malformed == 0
    assert capsys.readouterr().err == (f"warning: {path}: 1 problem(s) with two different "
                                       f"answer values left out (first: 'a', lines 1 and 5)\n")


def test_candidate_rows_of_one_problem_must_agree_on_the_gold_answer(tmp_path, capsys):
    def row(pid, index, gold):
        return {"version": 1, "problem_id": pid, "sample_index": index, "decoding": "sample",
                "text": "t", "gold_answer": gold}

    path = _write(tmp_path, [row("a", 0, "1"), row("b", 0, "2"), row("a", 1, None),
                             row("a", 2, "1"), row("a", 3, "3"), row("a", 4, "4")])
    with pytest.raises(RecordError, match=rf"^{path}:5: problem 'a' has gold_answer '3' here "
                                          r"and '1' on line 1$"):
        read_candidates(path)
    rows, counts = read_candidates(path, skip_malformed=True)
    assert [r["problem_id"] for r in rows] == ["b"] and counts.conflicting_gold == 1
    assert "1 problem(s) with two different gold_answer values left out (first: 'a', " \
           "lines 1 and 5)" in capsys.readouterr().err


def test_a_line_that_is_not_utf8_is_named_or_counted(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_bytes(b'{"problem_id": "a", "answer": "1"}\n{"problem_id": "b", "answer": "\xff"}\n'
                     b'{"problem_id": "c", "answer": "3"}\n')
    with pytest.raises(RecordError, match=rf"^{path}:2: not UTF-8 text \(byte 0xff at byte 32 "
                                          r"of the line\)$"):
        read_gold(str(path))
    gold, counts = read_gold(str(path), skip_malformed=True)
    assert sorted(gold) == ["a", "c"] and counts.malformed == 1
