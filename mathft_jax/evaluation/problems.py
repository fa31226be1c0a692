"""Grades candidate rows problem by problem: answers, clusters, correctness, metrics.

`grade_problems` turns validated candidate rows (see `records.py`) into one `GradedProblem`
per problem: sampled answers are extracted and clustered once, each cluster representative is
compared once with the gold answer, and the greedy answer (if any) is graded. Every metric,
for the full N or any subset of samples (accuracy-vs-N curves), is then a pure function of
`labels`, `cluster_correct` and `scores`. Scores join after grading (`with_scores`), so one
grading (`graded.py` keeps it in a file) serves every scores file of the same candidates.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from mathft_jax.evaluation import metrics
from mathft_jax.evaluation.answer_extraction import extract_answer
from mathft_jax.evaluation.clustering import cluster_labels
from mathft_jax.evaluation.equivalence import Grader, default_grader
from mathft_jax.evaluation.verdict import Verdict


@dataclasses.dataclass
class GradedProblem:
    problem_id: str
    level: str
    subject: str
    gold: str | None
    answers: list[str | None]          # sampled answers, by sample_index order
    labels: list[int | None]
    cluster_correct: dict[int, bool]
    scores: list[float] | None         # None when no scores file was given; a row without
                                       # a score holds 0.0 (see num_missing_scores)
    greedy_correct: bool | None        # None when there is no greedy row
    num_missing_scores: int = 0
    num_unknown_verdicts: int = 0
    sample_indices: list[int] = dataclasses.field(default_factory=list)  # of `labels`

    def metrics(self, positions: Sequence[int] | None = None, *, pass_ks=(1,), maj_ks=(),
                rerank_k: int = 8) -> dict[str, float]:
        """Metrics on all samples or on the subset at `positions`.

        The re-ranking metrics (RR.*, W.RR*) exist only for a problem whose every sampled row
        has an evaluator score: the RR columns of a report cover the fully scored problems.
        """
        labels = self.labels
        scores = self.scores if not self.num_missing_scores else None
        if positions is not None:
            labels = [labels[i] for i in positions]
            scores = None if scores is None else [scores[i] for i in positions]
        out = {}
        if labels:  # A problem may have only a greedy row.
            out = metrics.problem_metrics(labels, self.cluster_correct, scores,
                                          pass_ks=pass_ks, maj_ks=maj_ks, rerank_k=rerank_k)
        if self.greedy_correct is not None:
            out["Greedy"] = float(self.greedy_correct)
        return out


def grade_problems(rows: Sequence[dict], gold: Mapping[str, dict] | None = None,
                   scores: Mapping[tuple[str, int], float] | None = None,
                   grader: Grader | None = None) -> tuple[list[GradedProblem], dict[str, int]]:
    """Groups rows by problem and grades them.

    Args:
      rows: candidate rows; gold answers come from a row's `gold_answer` when present, else
        from `gold[problem_id]["answer"]`.
      gold: optional problem_id -> {"answer", "level", "subject"}.
      scores: optional (problem_id, sample_index) -> evaluator score. A sampled row without a
        score is counted as `missing_score`, and its problem gets no re-ranking metrics.

    Returns:
      (problems sorted by problem_id, counts) where counts has `unextractable` (sampled rows
      without an answer), `missing_score`, `missing_gold` (problems skipped: no gold anywhere),
      `unknown_verdicts` (symbolic comparisons that could not decide).
    """
    problems, counts = _grade(rows, gold or {}, grader or default_grader())
    missing = 0
    if scores is not None:
        problems, missing = with_scores(problems, scores)
    return problems, {"unextractable": counts["unextractable"], "missing_score": missing,
                      "missing_gold": counts["missing_gold"],
                      "unknown_verdicts": counts["unknown_verdicts"]}


def with_scores(problems: Sequence[GradedProblem], scores: Mapping[tuple[str, int], float]
                ) -> tuple[list[GradedProblem], int]:
    """`problems` with their sampled rows' evaluator scores (a missing score is 0.0 and
    counted in the problem's `num_missing_scores`), and the number of missing scores."""
    out, total = [], 0
    for p in problems:
        found = [scores.get((p.problem_id, i)) for i in p.sample_indices]
        missing = sum(s is None for s in found)
        total += missing
        out.append(dataclasses.replace(p, scores=[0.0 if s is None else s for s in found],
                                       num_missing_scores=missing))
    return out, total


def _grade(rows: Sequence[dict], gold: Mapping[str, dict], grader: Grader
           ) -> tuple[list[GradedProblem], dict[str, int]]:
    """`grade_problems` without scores."""
    by_problem: dict[str, dict] = {}
    for row in rows:
        entry = by_problem.setdefault(row["problem_id"], {"samples": {}, "greedy": None,
                                                          "meta": {}})
        for field in ("gold_answer", "level", "subject"):
            if row.get(field) is not None:
                entry["meta"].setdefault(field, row[field])
        if row["decoding"] == "greedy":
            entry["greedy"] = row["text"]
        else:
            entry["samples"][row["sample_index"]] = row["text"]
    counts = {"unextractable": 0, "missing_gold": 0, "unknown_verdicts": 0}
    problems = []
    for pid in sorted(by_problem):
        entry = by_problem[pid]
        g = gold.get(pid, {})
        gold_answer = entry["meta"].get("gold_answer", g.get("answer"))
        if gold_answer is None or not entry["samples"] and entry["greedy"] is None:
            counts["missing_gold"] += gold_answer is None
            continue
        indices = sorted(entry["samples"])
        answers = [extract_answer(entry["samples"][i]) for i in indices]
        counts["unextractable"] += sum(a is None for a in answers)
        labels = cluster_labels(answers, grader)
        cluster_correct, unknown = {}, 0
        gold_normal = grader.normal_form(gold_answer)
        for pos, label in enumerate(labels):
            if label is not None and label not in cluster_correct:
                verdict = grader.check_normal(gold_normal, grader.normal_form(answers[pos]))
                unknown += verdict is Verdict.UNKNOWN
                cluster_correct[label] = verdict is Verdict.EQUAL
        greedy_correct = None
        if entry["greedy"] is not None:
            verdict = grader.check(gold_answer, extract_answer(entry["greedy"]))
            unknown += verdict is Verdict.UNKNOWN
            greedy_correct = verdict is Verdict.EQUAL
        counts["unknown_verdicts"] += unknown
        problems.append(GradedProblem(
            problem_id=pid, level=str(entry["meta"].get("level", g.get("level")) or "unknown"),
            subject=str(entry["meta"].get("subject", g.get("subject")) or "unknown"),
            gold=gold_answer, answers=answers, labels=labels, cluster_correct=cluster_correct,
            scores=None, greedy_correct=greedy_correct, num_unknown_verdicts=unknown,
            sample_indices=indices))
    return problems, counts
