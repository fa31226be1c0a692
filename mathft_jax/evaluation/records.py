"""Readers for the files `python -m mathft_jax.evaluate` consumes (all JSON Lines).

candidates (written by decoding), one sample per line:
    {"version": 1, "problem_id": str, "sample_index": int, "decoding": "greedy"|"sample",
     "text": str, ... optional: "gold_answer": str|null, "level": str, "subject": str}
evaluator scores:
    {"version": 1, "problem_id": str, "sample_index": int, "score": float in [0, 1]}
gold answers, either form per line:
    {"problem_id": str, "answer": str, "level"?: str, "subject"?: str}
    {"unique_id": str, "solution": str, "level": str, "type": str}   (MATH rows; the answer is
                                                                       extract_answer(solution))

A malformed line raises `RecordError("<file>:<line>: <why>")`, or, with `skip_malformed=True`,
is skipped and counted in the returned `Counts`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Iterator

from mathft_jax.evaluation.answer_extraction import extract_answer
from mathft_jax.gin_utils import ConfigError


class RecordError(ConfigError, ValueError):
    """A malformed input line; the message names the file and line."""


@dataclasses.dataclass
class Counts:
    malformed: int = 0
    duplicate: int = 0


def _lines(path: str, counts: Counts, skip_malformed: bool) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
            except ValueError as e:
                _bad(path, lineno, f"invalid JSON ({e})", counts, skip_malformed)
                continue
            yield lineno, row


def _bad(path: str, lineno: int, why: str, counts: Counts, skip: bool) -> None:
    if not skip:
        raise RecordError(f"{path}:{lineno}: {why}")
    counts.malformed += 1


def _check(row: dict, field: str, types: Any) -> Any:
    if field not in row:
        raise ValueError(f"missing field {field!r}")
    value = row[field]
    if isinstance(value, bool) or not isinstance(value, types):
        raise ValueError(f"field {field!r} has type {type(value).__name__}")
    return value


def read_candidates(path: str, skip_malformed: bool = False) -> tuple[list[dict], Counts]:
    """Validated candidate rows (first occurrence of a (problem, decoding, index) kept)."""
    counts, rows, seen = Counts(), [], set()
    for lineno, row in _lines(path, counts, skip_malformed):
        try:
            _check(row, "problem_id", str)
            index = _check(row, "sample_index", int)
            decoding = _check(row, "decoding", str)
            _check(row, "text", str)
            if decoding not in ("greedy", "sample"):
                raise ValueError(f"decoding must be 'greedy' or 'sample', got {decoding!r}")
            if index < 0:
                raise ValueError(f"negative sample_index {index}")
            if row.get("gold_answer") is not None:
                _check(row, "gold_answer", str)
        except ValueError as e:
            _bad(path, lineno, str(e), counts, skip_malformed)
            continue
        key = (row["problem_id"], decoding, index)
        if key in seen:
            _bad(path, lineno, f"duplicate sample {key}", counts, skip_malformed)
            counts.duplicate += 1
            counts.malformed -= 1
            continue
        seen.add(key)
        rows.append(row)
    return rows, counts


def read_scores(path: str, skip_malformed: bool = False
                ) -> tuple[dict[tuple[str, int], float], Counts]:
    """Evaluator scores keyed by (problem_id, sample_index)."""
    counts, scores = Counts(), {}
    for lineno, row in _lines(path, counts, skip_malformed):
        try:
            pid = _check(row, "problem_id", str)
            index = _check(row, "sample_index", int)
            score = float(_check(row, "score", (int, float)))
            if not (math.isfinite(score) and 0.0 <= score <= 1.0):
                raise ValueError(f"score {score} outside [0, 1]")
        except ValueError as e:
            _bad(path, lineno, str(e), counts, skip_malformed)
            continue
        scores[(pid, index)] = score
    return scores, counts


def read_gold(path: str, skip_malformed: bool = False) -> tuple[dict[str, dict], Counts]:
    """problem_id -> {"answer": str|None, "level": str|None, "subject": str|None}."""
    counts, gold = Counts(), {}
    for lineno, row in _lines(path, counts, skip_malformed):
        try:
            if "problem_id" in row:
                pid = _check(row, "problem_id", str)
                answer = row.get("answer")
                if answer is not None and not isinstance(answer, str):
                    raise ValueError("field 'answer' must be a string")
            elif "unique_id" in row:
                pid = _check(row, "unique_id", str)
                answer = extract_answer(_check(row, "solution", str))
            else:
                raise ValueError("needs 'problem_id' and 'answer', or MATH's 'unique_id' "
                                 "and 'solution'")
        except ValueError as e:
            _bad(path, lineno, str(e), counts, skip_malformed)
            continue
        gold[pid] = {"answer": answer, "level": row.get("level"),
                     "subject": row.get("subject", row.get("type"))}
    return gold, counts
