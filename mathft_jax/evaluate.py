"""Entry point: grade candidates, compute metrics, write report.json, report.md and a plot.

    python -m mathft_jax.evaluate --gin_file=gin_configs/runs/evaluate.gin \
        --gin.CANDIDATES_FILE="'runs/x/candidates.jsonl'" --gin.OUTPUT_DIR="'runs/x/eval'" \
        [--gin.SCORES_FILE="'runs/x/scores.jsonl'"] [--gin.GOLD_FILE="'../shared/data/math/test.jsonl'"]

File formats: see `mathft_jax.evaluation.records` (inputs), `mathft_jax.formats` (the graded
file) and `mathft_jax.evaluation.report` (report.json). The output directory receives
`report.json`, `report.md`, `accuracy_vs_n.png` and, when this run graded the candidates,
`graded.jsonl`: with `evaluate.graded_file` (instead of the candidates file) a later run reads
that grading, e.g. with another scores file of the same candidates. The run holds
`OUTPUT_DIR/evaluate.lock` (`training.run_lock`), so a second run into the same folder is
refused.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Sequence

import gin

from mathft_jax import distributed, preflight
from mathft_jax.evaluation import graded, plots, ranking, records, report
from mathft_jax.evaluation.problems import GradedProblem, with_scores
from mathft_jax.errors import ConfigError
from mathft_jax.training import run_lock


def scores_coverage(problems: Sequence[GradedProblem], scores_file: str,
                    candidates_file: str) -> dict[str, int]:
    """How many sampled rows and problems the scores cover; fails when they cover none.

    Scores match candidates on (problem_id, sample_index). The RR columns cover only the
    fully scored problems; partial coverage is printed to stderr as a warning with the counts.

    Returns:
      {"scored_rows", "sampled_rows", "scored_problems", "problems"}, e.g.
      {"scored_rows": 5, "sampled_rows": 8, "scored_problems": 1, "problems": 2}.
    """
    sampled = [p for p in problems if p.labels]
    rows = sum(len(p.labels) for p in sampled)
    missing = sum(p.num_missing_scores for p in sampled)
    coverage = {"scored_rows": rows - missing, "sampled_rows": rows,
                "scored_problems": sum(not p.num_missing_scores for p in sampled),
                "problems": len(sampled)}
    if not rows or coverage["scored_rows"] == 0:
        example = (f" (e.g. candidate problem_id {sampled[0].problem_id!r})" if sampled else "")
        raise ConfigError(f"{scores_file}: its scores match none of the {rows} sampled "
                          f"candidates of {candidates_file}; rows are matched on problem_id and "
                          f"sample_index{example}")
    if missing:
        print(f"warning: {scores_file} scores {coverage['scored_rows']} of {rows} sampled "
              f"candidates ({missing} missing): the RR columns cover only the "
              f"{coverage['scored_problems']} of {coverage['problems']} problems whose samples "
              f"are all scored", file=sys.stderr, flush=True)
    return coverage


@run_lock.releases_locks
@gin.configurable
def evaluate(candidates_file: str | None = None, output_dir: str = gin.REQUIRED,
             scores_file: str | None = None, gold_file: str | None = None,
             graded_file: str | None = None,
             pass_ks: Sequence[int] = (1, 4, 16, 64), maj_ks: Sequence[int] = (4, 8),
             rerank_k: int = 8, skip_malformed: bool = False, num_bootstrap: int = 1000,
             curve_repeats: int = 16, seed: int = 0) -> dict:
    """Grades `candidates_file` (or reads its grading, `graded_file`) and writes the report
    files into `output_dir`.

    Args:
      candidates_file: candidates JSONL (greedy and/or sampled rows); its grading is written
        to `output_dir/graded.jsonl`. Give this or `graded_file`.
      graded_file: a graded file (`formats`, written by an earlier run or the recipe's
        graded_* stages): the problems are read from it, not graded again.
      output_dir: where report.json, report.md and accuracy_vs_n.png go (created).
      scores_file: optional evaluator scores JSONL; enables RR.All, RR.TopK, W.RR, W.RR.MajK.
      gold_file: optional gold JSONL ({"problem_id","answer"} or MATH rows); used for rows
        without `gold_answer` (with `candidates_file` only: a graded file holds its gold).
      pass_ks: k values of the unbiased pass@k (only k <= N are reported).
      maj_ks: K values of MajK@N (K > 1; Maj1@N is always reported).
      rerank_k: the K of RR.TopK and W.RR.MajK (8 in the paper).
      skip_malformed: skip and count malformed lines instead of failing on the first.
      num_bootstrap: bootstrap resamples for the 95% intervals.
      curve_repeats: random subsets per problem and N for the accuracy-vs-N curves.
      seed: seed of the bootstrap and of the subsets.

    Returns:
      The report dictionary written to report.json (by the primary host only, in a
      multi-host run).
    """
    distributed.maybe_initialize()
    if (candidates_file is None) == (graded_file is None):
        raise ConfigError("evaluate needs one of evaluate.candidates_file and "
                          "evaluate.graded_file" + (", not both" if graded_file else ""))
    if graded_file and gold_file:
        raise ConfigError(f"evaluate.gold_file {gold_file}: the graded file {graded_file} "
                          "already holds the gold answers it was graded with")
    preflight.check_evaluate(candidates_file=candidates_file, graded_file=graded_file,
                             output_dir=output_dir, scores_file=scores_file,
                             gold_file=gold_file, pass_ks=pass_ks, maj_ks=maj_ks,
                             rerank_k=rerank_k, num_bootstrap=num_bootstrap,
                             curve_repeats=curve_repeats)
    run_lock.hold_output(output_dir, "evaluate.output_dir", folder=True)
    start = time.time()
    if graded_file:
        problems, counts, source = graded.read_graded(graded_file)
        candidates_file, gold_file = source["candidates_file"], source["gold_file"]
    else:
        problems, counts = graded.grade_candidates(candidates_file, gold_file, skip_malformed)
    scores, score_counts = (records.read_scores(scores_file, skip_malformed)
                            if scores_file else (None, records.Counts()))
    missing = 0
    if scores is not None:
        problems, missing = with_scores(problems, scores)
    if not problems:
        raise ConfigError(f"{candidates_file}: no problem with a gold answer to evaluate")
    coverage = (scores_coverage(problems, scores_file, candidates_file)
                if scores_file else None)
    rr = [f"RR.Top{rerank_k}", "RR.All", "W.RR", f"W.RR.Maj{rerank_k}"] if scores_file else []
    names = (["Greedy"] + [f"pass@{k}" for k in pass_ks] + ["Pass@N", "Maj1@N"]
             + [f"Maj{k}@N" for k in maj_ks if k > 1] + rr)
    per_problem = [p.metrics(pass_ks=pass_ks, maj_ks=maj_ks, rerank_k=rerank_k)
                   for p in problems]
    curves = plots.accuracy_vs_n(problems, ["Pass@N", "Maj1@N"] + rr, curve_repeats, seed,
                                 rerank_k)
    result = {
        "version": report.REPORT_VERSION,
        "config": {"candidates_file": candidates_file, "scores_file": scores_file,
                   "gold_file": gold_file,
                   **({"graded_file": graded_file} if graded_file else {}),
                   "pass_ks": list(pass_ks), "maj_ks": list(maj_ks),
                   "rerank_k": rerank_k, "num_bootstrap": num_bootstrap,
                   "curve_repeats": curve_repeats, "seed": seed},
        "counts": {
            "problems": len(problems),
            "sampled_rows": sum(len(p.labels) for p in problems),
            "greedy_rows": sum(p.greedy_correct is not None for p in problems),
            "malformed": counts["malformed"] + score_counts.malformed,
            "duplicate": counts["duplicate"],
            "conflicting_gold": counts["conflicting_gold"],
            "unextractable": counts["unextractable"], "missing_score": missing,
            "missing_gold": counts["missing_gold"],
            "unknown_verdicts": counts["unknown_verdicts"],
        },
        **({"scores_coverage": coverage} if coverage else {}),
        "metrics": names,
        "groups": report.group_summaries(per_problem, [p.level for p in problems],
                                         [p.subject for p in problems], names,
                                         num_bootstrap, seed),
        "accuracy_vs_n": curves,
    }
    if scores:
        result["evaluator_auc"] = evaluator_auc(problems, num_bootstrap, seed)
    result["counts"]["seconds"] = round(time.time() - start, 2)
    if distributed.is_primary_host():  # every host grades; one writes
        if not graded_file:
            graded.write_graded(os.path.join(output_dir, graded.GRADED), problems, counts,
                                candidates_file, gold_file)
        report.write_report(result, output_dir)
        plots.plot_accuracy_vs_n(curves, os.path.join(output_dir, "accuracy_vs_n.png"),
                                 title=os.path.basename(candidates_file))
    return result


def evaluator_auc(problems, num_bootstrap: int, seed: int) -> dict:
    """How well the scores rank correct above incorrect sampled candidates (`ranking`), over
    the fully scored problems."""
    scores, labels, groups = [], [], []
    for p in problems:
        if p.num_missing_scores:
            continue
        for label, score in zip(p.labels, p.scores or ()):
            scores.append(score)
            labels.append(label is not None and p.cluster_correct.get(label, False))
            groups.append(p.problem_id)
    return ranking.auc_with_ci(scores, labels, groups, num_bootstrap, seed)


if __name__ == "__main__":
    # evaluate.gin binds the short name `evaluate` and imports nothing, so that under
    # `python -m` only this `__main__.evaluate` is registered (importing the module again
    # would register a second, ambiguous `evaluate`).
    from mathft_jax import gin_utils
    gin_utils.run_main(evaluate)
