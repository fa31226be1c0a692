"""A candidates file graded once: `grade_candidates` grades it, `write_graded` keeps the result
as a graded file (`formats`' "graded" schema) and `read_graded` gives the same problems back,
so every scores file, report and evaluator example built on the same candidates reads one
grading instead of grading again.

Example:
    problems, counts = grade_candidates("runs/x/candidates.jsonl")
    write_graded("runs/x/graded.jsonl", problems, counts, "runs/x/candidates.jsonl")
    again, counts, source = read_graded("runs/x/graded.jsonl")   # again == problems
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from mathft_jax import formats
from mathft_jax.atomic_files import atomic_write_bytes
from mathft_jax.evaluation import records
from mathft_jax.evaluation.problems import GradedProblem, grade_problems

GRADED = "graded.jsonl"  # the graded file's name in an output folder


def grade_candidates(candidates_file: str, gold_file: Optional[str] = None,
                     skip_malformed: bool = False) -> tuple[list[GradedProblem], dict[str, int]]:
    """The graded problems of `candidates_file` (gold answers from its rows, else from
    `gold_file`) and the counts a graded file keeps (`formats.GRADED_COUNTS`)."""
    rows, cand_counts = records.read_candidates(candidates_file, skip_malformed)
    gold, gold_counts = (records.read_gold(gold_file, skip_malformed)
                         if gold_file else ({}, records.Counts()))
    problems, grade_counts = grade_problems(rows, gold)
    counts = {"malformed": cand_counts.malformed + gold_counts.malformed,
              "duplicate": cand_counts.duplicate,
              "conflicting_gold": cand_counts.conflicting_gold + gold_counts.conflicting_gold,
              **{k: grade_counts[k] for k in ("unextractable", "missing_gold",
                                              "unknown_verdicts")}}
    return problems, counts


def write_graded(path: str, problems: Sequence[GradedProblem], counts: Mapping[str, int],
                 candidates_file: str, gold_file: Optional[str] = None) -> None:
    """Writes the graded file of `problems` (graded without scores) atomically."""
    lines = [formats.graded_source(candidates_file=candidates_file, gold_file=gold_file,
                                   counts=counts)]
    lines += [formats.graded_problem(
        problem_id=p.problem_id, level=p.level, subject=p.subject, gold=p.gold,
        sample_indices=p.sample_indices, answers=p.answers, labels=p.labels,
        cluster_correct=p.cluster_correct, greedy_correct=p.greedy_correct,
        unknown_verdicts=p.num_unknown_verdicts) for p in problems]
    atomic_write_bytes(path, formats.to_jsonl(lines))


def read_graded(path: str) -> tuple[list[GradedProblem], dict[str, int], dict]:
    """(problems, counts, source line) of a graded file; the problems carry no scores (join
    them with `problems.with_scores`)."""
    source, rows = formats.read_graded(path)
    problems = [GradedProblem(
        problem_id=r["problem_id"], level=r["level"], subject=r["subject"], gold=r["gold"],
        answers=list(r["answers"]), labels=list(r["labels"]),
        cluster_correct=dict(r["cluster_correct"]), scores=None,
        greedy_correct=r["greedy_correct"], num_unknown_verdicts=r["unknown_verdicts"],
        sample_indices=list(r["sample_indices"])) for r in rows]
    return problems, dict(source["counts"]), source


def grade_file(candidates_file: str, output_file: str, gold_file: Optional[str] = None
               ) -> dict[str, int]:
    """Grades `candidates_file` into the graded file `output_file`; returns its counts with
    the number of problems."""
    problems, counts = grade_candidates(candidates_file, gold_file)
    write_graded(output_file, problems, counts, candidates_file, gold_file)
    return {"problems": len(problems), **counts}
