"""Versioned schemas of the files between stages, each with its writer and reader side by side.

Every file is JSON Lines, one object a line, each with a `"version"` field; readers accept
only the versions listed here and name `file:line` for anything else.

candidates (infer -> evaluate, score, evaluator data), version 1:
    {"version": 1, "problem_id": str, "sample_index": int, "decoding": "greedy" | "sample",
     "text": str, "logprob": float, "num_tokens": int, "finish_reason": "eos" | "length",
     "checkpoint": str, "sampling": {...}, "gold_answer": str | null, "level": str,
     "subject": str, "problem": str}
  Only problem_id, sample_index, decoding and text are required by readers; `problem` (the
  problem statement, for the evaluator prompt) is written since the evaluator existed.

scores (score -> evaluate), version 1:
    {"version": 1, "problem_id": str, "sample_index": int, "score": float in [0, 1],
     "positive_logprob": float, "negative_logprob": float, "evaluator": str}
  `evaluator` fingerprints the checkpoint and prompt settings that produced the score.

graded (evaluate, the recipe's graded_* stages -> evaluate, the recipe's report, evaluator
examples), version 1: the grading of one candidates file, so that nothing grades it again.
    {"version": 1, "kind": "source", "candidates_file": str, "gold_file": str | null,
     "counts": {"malformed": int, "duplicate": int, "conflicting_gold": int,
                "unextractable": int, "missing_gold": int, "unknown_verdicts": int}}
                                              (the first line: what was graded, and counts)
    {"version": 1, "kind": "problem", "problem_id": str, "level": str, "subject": str,
     "gold": str, "sample_indices": [int], "answers": [str | null],
     "labels": [int | null], "cluster_correct": {"<label>": bool},
     "greedy_correct": bool | null, "unknown_verdicts": int}
                                              (one per problem with a gold answer)
  `labels[i]` is the answer cluster of sample `sample_indices[i]` (null: no answer) and
  `cluster_correct` says whether each cluster's answer equals the gold one; scores are not
  part of it (they join on (problem_id, sample_index) when read).

evaluator examples (the recipe's evaluator_examples stage -> evaluator SeqIO tasks), version 1:
    {"version": 1, "kind": "classification", "problem_id": str, "problem": str,
     "solution": str, "label": bool}
    {"version": 1, "kind": "pair", "problem_id": str, "problem": str,
     "chosen": str, "rejected": str}          (chosen is correct, rejected is not)
    {"version": 1, "kind": "solution", "problem_id": str, "problem": str,
     "solution": str, "label": bool}          (every unique sampled solution of a problem with
                                               a gold answer: the step and token evaluators')

A malformed line raises `RecordError("<file>:<line>: <why>")`, or, with
`skip_malformed=True`, is skipped and counted in the returned `Counts`. Two different gold
answers for one problem in one file (`GoldAnswers`) raise a RecordError naming both lines,
or, skipping, leave that problem out with a warning and count it (`conflicting_gold`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from mathft_jax import file_paths
from mathft_jax.errors import ConfigError

CANDIDATES_VERSION = 1
SCORES_VERSION = 1
EXAMPLES_VERSION = 1
GRADED_VERSION = 1
DECODINGS = ("greedy", "sample")
EXAMPLE_KINDS = ("classification", "pair", "solution")
GRADED_COUNTS = ("malformed", "duplicate", "conflicting_gold", "unextractable", "missing_gold",
                 "unknown_verdicts")


class RecordError(ConfigError, ValueError):
    """A malformed input line; the message names the file and line (an entry point prints it
    as one `error:` line, exit 2)."""


@dataclasses.dataclass
class Counts:
    malformed: int = 0
    duplicate: int = 0
    conflicting_gold: int = 0  # problems left out: two different gold answers


class GoldAnswers:
    """The gold answer of each problem in one file and the line that gave it first.

    A later line of the same problem with a different answer is a RecordError naming both
    lines; with `skip` the problem is remembered instead, `finish` counts it in
    `counts.conflicting_gold`, warns once on stderr and returns the problems to leave out.
    A null answer says nothing and never conflicts.
    """

    def __init__(self, path: str, counts: Counts, skip: bool, field_name: str):
        self.path, self.counts, self.skip, self.field_name = path, counts, skip, field_name
        self.first: dict[str, tuple[int, str]] = {}
        self.conflicts: dict[str, tuple[int, int]] = {}

    def add(self, problem_id: str, answer: Optional[str], lineno: int) -> None:
        if answer is None:
            return
        first = self.first.setdefault(problem_id, (lineno, answer))
        if first[1] == answer or problem_id in self.conflicts:
            return
        if not self.skip:
            raise RecordError(f"{self.path}:{lineno}: problem {problem_id!r} has "
                              f"{self.field_name} {answer!r} here and {first[1]!r} on line "
                              f"{first[0]}")
        self.conflicts[problem_id] = (first[0], lineno)

    def finish(self) -> set[str]:
        if self.conflicts:
            self.counts.conflicting_gold += len(self.conflicts)
            pid, (a, b) = next(iter(self.conflicts.items()))
            print(f"warning: {self.path}: {len(self.conflicts)} problem(s) with two different "
                  f"{self.field_name} values left out (first: {pid!r}, lines {a} and {b})",
                  file=sys.stderr, flush=True)
        return set(self.conflicts)


# ----------------------------------------------------------------------------- line reading


def read_lines(path: str, counts: Counts, skip_malformed: bool) -> Iterator[tuple[int, dict]]:
    """(line number, JSON object) of every non-blank line; bad JSON or a line that is not
    UTF-8 is raised or counted."""
    # Decoded line by line, so one undecodable byte is one bad line, named like bad JSON.
    with file_paths.as_path(path).open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                bad_line(path, lineno, f"not UTF-8 text (byte 0x{raw[e.start]:02x} at byte "
                         f"{e.start + 1} of the line)", counts, skip_malformed)
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
            except ValueError as e:
                bad_line(path, lineno, f"invalid JSON ({e})", counts, skip_malformed)
                continue
            yield lineno, row


def bad_line(path: str, lineno: int, why: str, counts: Counts, skip: bool) -> None:
    if not skip:
        raise RecordError(f"{path}:{lineno}: {why}")
    counts.malformed += 1


def field(row: Mapping, name: str, types: Any) -> Any:
    """row[name] if present and of `types` (bools are not numbers), else ValueError."""
    if name not in row:
        raise ValueError(f"missing field {name!r}")
    value = row[name]
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise ValueError(f"field {name!r} has type bool")
    if not isinstance(value, types):
        raise ValueError(f"field {name!r} has type {type(value).__name__}")
    return value


def check_version(row: Mapping, supported: int) -> None:
    version = row.get("version")
    if version != supported:
        raise ValueError(f"unsupported version {version!r} (this library reads version "
                         f"{supported})")


def to_jsonl(rows: Iterable[Mapping]) -> bytes:
    """UTF-8 JSON Lines of `rows` (non-ASCII kept as is)."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


# ----------------------------------------------------------------------------- candidates


def candidate_row(*, problem_id: str, sample_index: int, decoding: str, text: str,
                  logprob: float, num_tokens: int, finish_reason: str, checkpoint: str,
                  sampling: Mapping, gold_answer: Optional[str], level: str, subject: str,
                  problem: str) -> dict:
    """One candidates line (see the module docstring)."""
    return {"version": CANDIDATES_VERSION, "problem_id": problem_id,
            "sample_index": sample_index, "decoding": decoding, "text": text,
            "logprob": logprob, "num_tokens": num_tokens, "finish_reason": finish_reason,
            "checkpoint": checkpoint, "sampling": dict(sampling), "gold_answer": gold_answer,
            "level": level, "subject": subject, "problem": problem}


def read_candidates(path: str, skip_malformed: bool = False) -> tuple[list[dict], Counts]:
    """Validated candidate rows (first occurrence of a (problem, decoding, index) kept).

    The rows of one problem must agree on `gold_answer` (`GoldAnswers`)."""
    counts, rows, seen = Counts(), [], set()
    golds = GoldAnswers(path, counts, skip_malformed, "gold_answer")
    for lineno, row in read_lines(path, counts, skip_malformed):
        try:
            check_version(row, CANDIDATES_VERSION)
            field(row, "problem_id", str)
            index = field(row, "sample_index", int)
            decoding = field(row, "decoding", str)
            field(row, "text", str)
            if decoding not in DECODINGS:
                raise ValueError(f"decoding must be 'greedy' or 'sample', got {decoding!r}")
            if index < 0:
                raise ValueError(f"negative sample_index {index}")
            for optional in ("gold_answer", "problem"):
                if row.get(optional) is not None:
                    field(row, optional, str)
        except ValueError as e:
            bad_line(path, lineno, str(e), counts, skip_malformed)
            continue
        key = (row["problem_id"], decoding, index)
        if key in seen:
            bad_line(path, lineno, f"duplicate sample {key}", counts, skip_malformed)
            counts.duplicate += 1
            counts.malformed -= 1
            continue
        seen.add(key)
        golds.add(row["problem_id"], row.get("gold_answer"), lineno)
        rows.append(row)
    conflicting = golds.finish()
    if conflicting:
        rows = [r for r in rows if r["problem_id"] not in conflicting]
    return rows, counts


# ----------------------------------------------------------------------------- scores


def score_row(*, problem_id: str, sample_index: int, score: float, positive_logprob: float,
              negative_logprob: float, evaluator: str) -> dict:
    """One scores line (see the module docstring)."""
    return {"version": SCORES_VERSION, "problem_id": problem_id, "sample_index": sample_index,
            "score": score, "positive_logprob": positive_logprob,
            "negative_logprob": negative_logprob, "evaluator": evaluator}


def read_scores(path: str, skip_malformed: bool = False
                ) -> tuple[dict[tuple[str, int], float], Counts]:
    """Evaluator scores keyed by (problem_id, sample_index).

    Raises RecordError when the file mixes scores of two evaluators (different
    `evaluator` fields): their scales are not comparable.
    """
    counts, scores, evaluators = Counts(), {}, set()
    for lineno, row in read_lines(path, counts, skip_malformed):
        try:
            check_version(row, SCORES_VERSION)
            pid = field(row, "problem_id", str)
            index = field(row, "sample_index", int)
            score = float(field(row, "score", (int, float)))
            if not (math.isfinite(score) and 0.0 <= score <= 1.0):
                raise ValueError(f"score {score} outside [0, 1]")
        except ValueError as e:
            bad_line(path, lineno, str(e), counts, skip_malformed)
            continue
        evaluators.add(row.get("evaluator"))
        if len(evaluators) > 1:
            raise RecordError(f"{path}:{lineno}: scores of two evaluators in one file "
                              f"({sorted(map(str, evaluators))})")
        scores[(pid, index)] = score
    return scores, counts


# ----------------------------------------------------------------------------- evaluator examples


def classification_example(problem_id: str, problem: str, solution: str, label: bool) -> dict:
    return {"version": EXAMPLES_VERSION, "kind": "classification", "problem_id": problem_id,
            "problem": problem, "solution": solution, "label": bool(label)}


def pair_example(problem_id: str, problem: str, chosen: str, rejected: str) -> dict:
    return {"version": EXAMPLES_VERSION, "kind": "pair", "problem_id": problem_id,
            "problem": problem, "chosen": chosen, "rejected": rejected}


def solution_example(problem_id: str, problem: str, solution: str, label: bool) -> dict:
    return {"version": EXAMPLES_VERSION, "kind": "solution", "problem_id": problem_id,
            "problem": problem, "solution": solution, "label": bool(label)}


def read_examples(path: str, kind: str) -> list[dict]:
    """The evaluator examples of one `kind` (`EXAMPLE_KINDS`); any malformed line raises
    RecordError naming it."""
    if kind not in EXAMPLE_KINDS:
        raise ValueError(f"kind must be one of {EXAMPLE_KINDS}, got {kind!r}")
    counts, out = Counts(), []
    for lineno, row in read_lines(path, counts, skip_malformed=False):
        try:
            check_version(row, EXAMPLES_VERSION)
            if field(row, "kind", str) not in EXAMPLE_KINDS:
                raise ValueError(f"kind must be one of {EXAMPLE_KINDS}, got {row['kind']!r}")
            field(row, "problem_id", str)
            field(row, "problem", str)
            if row["kind"] in ("classification", "solution"):
                field(row, "solution", str)
                field(row, "label", bool)
            else:
                field(row, "chosen", str)
                field(row, "rejected", str)
        except ValueError as e:
            bad_line(path, lineno, str(e), counts, skip=False)
        if row["kind"] == kind:
            out.append(row)
    return out


# ----------------------------------------------------------------------------- graded


def graded_source(*, candidates_file: str, gold_file: Optional[str],
                  counts: Mapping[str, int]) -> dict:
    """The first line of a graded file (see the module docstring)."""
    return {"version": GRADED_VERSION, "kind": "source", "candidates_file": candidates_file,
            "gold_file": gold_file, "counts": {k: int(counts[k]) for k in GRADED_COUNTS}}


def graded_problem(*, problem_id: str, level: str, subject: str, gold: str,
                   sample_indices: Sequence[int], answers: Sequence[Optional[str]],
                   labels: Sequence[Optional[int]], cluster_correct: Mapping[int, bool],
                   greedy_correct: Optional[bool], unknown_verdicts: int) -> dict:
    """One problem line of a graded file (see the module docstring)."""
    return {"version": GRADED_VERSION, "kind": "problem", "problem_id": problem_id,
            "level": level, "subject": subject, "gold": gold,
            "sample_indices": list(sample_indices), "answers": list(answers),
            "labels": list(labels),
            "cluster_correct": {str(k): bool(v) for k, v in cluster_correct.items()},
            "greedy_correct": greedy_correct, "unknown_verdicts": unknown_verdicts}


def read_graded(path: str) -> tuple[dict, list[dict]]:
    """(the source line, the problem lines) of a graded file, `cluster_correct` keyed by int
    again; any malformed line raises RecordError naming it."""
    counts, source, problems = Counts(), None, []
    for lineno, row in read_lines(path, counts, skip_malformed=False):
        try:
            check_version(row, GRADED_VERSION)
            kind = field(row, "kind", str)
            if kind not in ("source", "problem"):
                raise ValueError(f"kind must be 'source' or 'problem', got {kind!r}")
            if (kind == "source") != (source is None):
                raise ValueError("the 'source' line must be the first line, and the only one")
            if kind == "source":
                field(row, "candidates_file", str)
                got = field(row, "counts", dict)
                for name in GRADED_COUNTS:
                    field(got, name, int)
                source = row
                continue
            problems.append(_graded_problem_fields(row))
        except ValueError as e:
            bad_line(path, lineno, str(e), counts, skip=False)
    if source is None:
        raise RecordError(f"{path}:1: no 'source' line (an empty or cut graded file)")
    return source, problems


def _graded_problem_fields(row: dict) -> dict:
    for name, types in (("problem_id", str), ("level", str), ("subject", str), ("gold", str),
                        ("sample_indices", list), ("answers", list), ("labels", list),
                        ("cluster_correct", dict), ("unknown_verdicts", int)):
        field(row, name, types)
    if row.get("greedy_correct") is not None:
        field(row, "greedy_correct", bool)
    n = len(row["sample_indices"])
    if len(row["answers"]) != n or len(row["labels"]) != n:
        raise ValueError(f"{n} sample_indices but {len(row['answers'])} answers and "
                         f"{len(row['labels'])} labels")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in row["sample_indices"]):
        raise ValueError("sample_indices must be integers")
    try:
        cluster_correct = {int(k): v for k, v in row["cluster_correct"].items()}
    except ValueError:
        raise ValueError("cluster_correct keys must be cluster labels (integers)") from None
    if not all(isinstance(v, bool) for v in cluster_correct.values()):
        raise ValueError("cluster_correct values must be true or false")
    if any(l is not None and l not in cluster_correct for l in row["labels"]):
        raise ValueError("a label without a cluster_correct entry")
    return {**row, "cluster_correct": cluster_correct, "greedy_correct":
            row.get("greedy_correct")}
