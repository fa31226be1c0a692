"""Readers for the files `python -m mathft_jax.evaluate` consumes (all JSON Lines).

Candidates and scores are read by `mathft_jax.formats` (re-exported here, where the
evaluation code looks for them); this module adds the gold-answer files.

gold answers, either form per line:
    {"problem_id": str, "answer": str, "level"?: str, "subject"?: str}
    {"unique_id": str, "solution": str, "level": str, "type": str}   (MATH rows; the answer is
                                                                       extract_answer(solution))

A malformed line raises `RecordError("<file>:<line>: <why>")`, or, with `skip_malformed=True`,
is skipped and counted in the returned `Counts`. A problem given two different answers is a
RecordError naming both lines, or, skipping, left out of the file's answers with a warning
(`formats.GoldAnswers`, counted in `conflicting_gold`).
"""

from __future__ import annotations

from mathft_jax.evaluation.answer_extraction import extract_answer
from mathft_jax.formats import (Counts, GoldAnswers, RecordError, bad_line, field,  # noqa: F401
                                read_candidates, read_lines, read_scores)


def read_gold(path: str, skip_malformed: bool = False) -> tuple[dict[str, dict], Counts]:
    """problem_id -> {"answer": str|None, "level": str|None, "subject": str|None}."""
    counts, gold = Counts(), {}
    answers = GoldAnswers(path, counts, skip_malformed, "answer")
    for lineno, row in read_lines(path, counts, skip_malformed):
        try:
            if "problem_id" in row:
                pid = field(row, "problem_id", str)
                answer = row.get("answer")
                if answer is not None and not isinstance(answer, str):
                    raise ValueError("field 'answer' must be a string")
            elif "unique_id" in row:
                pid = field(row, "unique_id", str)
                answer = extract_answer(field(row, "solution", str))
            else:
                raise ValueError("needs 'problem_id' and 'answer', or MATH's 'unique_id' "
                                 "and 'solution'")
        except ValueError as e:
            bad_line(path, lineno, str(e), counts, skip_malformed)
            continue
        answers.add(pid, answer, lineno)
        if answer is None and gold.get(pid, {}).get("answer") is not None:
            continue  # a null answer says nothing: the one given keeps
        gold[pid] = {"answer": answer, "level": row.get("level"),
                     "subject": row.get("subject", row.get("type"))}
    for pid in answers.finish():
        del gold[pid]
    return gold, counts
