"""Grades candidate rows problem by problem: answers, clusters, correctness, metrics.

`grade_problems` turns validated candidate rows (see `records.py`) into one `GradedProblem`
per problem: sampled answers are extracted and clustered once, each cluster representative is
compared once with the gold answer, and the greedy answer (if any) is graded. Every metric,
for the full N or any subset of samples (accuracy-vs-N curves), is then a pure function of
`labels`, `cluster_correct` and `scores`.
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
    grader = grader or default_grader()
    gold = gold or {}
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
    counts = {"unextractable": 0, "missing_score": 0, "missing_gold": 0, "unknown_verdicts": 0}
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
        problem_scores, missing = None, 0
        if scores is not None:
            problem_scores = []
            for i in indices:
                if (pid, i) in scores:
                    problem_scores.append(scores[(pid, i)])
                else:
                    problem_scores.append(0.0)
                    missing += 1
        counts["missing_score"] += missing
        counts["unknown_verdicts"] += unknown
        problems.append(GradedProblem(
            problem_id=pid, level=str(entry["meta"].get("level", g.get("level")) or "unknown"),
            subject=str(entry["meta"].get("subject", g.get("subject")) or "unknown"),
            gold=gold_answer, answers=answers, labels=labels, cluster_correct=cluster_correct,
            scores=problem_scores, greedy_correct=greedy_correct, num_missing_scores=missing,
            num_unknown_verdicts=unknown))
    return problems, counts
