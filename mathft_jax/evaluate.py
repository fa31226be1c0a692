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

From Python, gin-free: `run_evaluate(EvaluateSettings(...))`, or the keyword form `evaluate(...)`; only the
command line (`main`) reads gin, where `EvaluateSettings`'s fields are bound as `evaluate.*`.
"""

from __future__ import annotations

import sys
from typing import Any, Optional, Sequence

if __name__ == "__main__":
    # Run the copy imported under its package name, so that gin registers one `evaluate`.
    from mathft_jax.evaluate import main as _main
    _main()
    sys.exit(0)

import dataclasses  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import gin  # noqa: E402

from mathft_jax import distributed, preflight  # noqa: E402
from mathft_jax.evaluation import graded, plots, ranking, records, report  # noqa: E402
from mathft_jax.evaluation.problems import GradedProblem, with_scores  # noqa: E402
from mathft_jax.errors import ConfigError  # noqa: E402
from mathft_jax.training import run_lock  # noqa: E402


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


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvaluateSettings:
    """Everything one `evaluate` run reads. On the command line, gin binds these fields under
    the name `evaluate` (`gin_configs/runs/evaluate.gin`).

    Attributes:
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

    """

    output_dir: str
    candidates_file: Optional[str] = None
    scores_file: Optional[str] = None
    gold_file: Optional[str] = None
    graded_file: Optional[str] = None
    pass_ks: Sequence[int] = (1, 4, 16, 64)
    maj_ks: Sequence[int] = (4, 8)
    rerank_k: int = 8
    skip_malformed: bool = False
    num_bootstrap: int = 1000
    curve_repeats: int = 16
    seed: int = 0


def evaluate(candidates_file: Optional[str] = None, output_dir: Optional[str] = None,
             **settings: Any) -> dict:
    """`run_evaluate(EvaluateSettings(...))` from arguments, e.g.
    `evaluate("runs/x/candidates.jsonl", "runs/x/eval", num_bootstrap=200)`."""
    if output_dir is None:
        raise TypeError("evaluate() needs output_dir")
    return run_evaluate(EvaluateSettings(candidates_file=candidates_file,
                                         output_dir=output_dir, **settings))


@run_lock.releases_locks
def run_evaluate(settings: EvaluateSettings) -> dict:
    """Grades `settings.candidates_file` (or reads its grading, `graded_file`) and writes the
    report files into `settings.output_dir`.

    Returns:
      The report dictionary written to report.json (by the primary host only, in a
      multi-host run).
    """
    s = settings
    distributed.maybe_initialize()
    _check(s)
    run_lock.hold_output(s.output_dir, "evaluate.output_dir", folder=True)
    start = time.time()
    candidates_file, gold_file = s.candidates_file, s.gold_file
    if s.graded_file:
        problems, counts, source = graded.read_graded(s.graded_file)
        candidates_file, gold_file = source["candidates_file"], source["gold_file"]
    else:
        problems, counts = graded.grade_candidates(candidates_file, gold_file, s.skip_malformed)
    scores, score_counts = (records.read_scores(s.scores_file, s.skip_malformed)
                            if s.scores_file else (None, records.Counts()))
    missing = 0
    if scores is not None:
        problems, missing = with_scores(problems, scores)
    if not problems:
        raise ConfigError(f"{candidates_file}: no problem with a gold answer to evaluate")
    coverage = (scores_coverage(problems, s.scores_file, candidates_file)
                if s.scores_file else None)
    body = _report(s, problems, candidates_file, gold_file)
    result = {"version": body.pop("version"), "config": body.pop("config"),
              "counts": _counts(problems, counts, score_counts, missing),
              **({"scores_coverage": coverage} if coverage else {}), **body}
    if scores:
        result["evaluator_auc"] = evaluator_auc(problems, s.num_bootstrap, s.seed)
    result["counts"]["seconds"] = round(time.time() - start, 2)
    if distributed.is_primary_host():  # every host grades; one writes
        if not s.graded_file:
            graded.write_graded(os.path.join(s.output_dir, graded.GRADED), problems, counts,
                                candidates_file, gold_file)
        report.write_report(result, s.output_dir)
        plots.plot_accuracy_vs_n(result["accuracy_vs_n"],
                                 os.path.join(s.output_dir, "accuracy_vs_n.png"),
                                 title=os.path.basename(candidates_file))
    return result


def _check(s: EvaluateSettings) -> None:
    """The settings' own checks, before anything is read."""
    if (s.candidates_file is None) == (s.graded_file is None):
        raise ConfigError("evaluate needs one of evaluate.candidates_file and "
                          "evaluate.graded_file" + (", not both" if s.graded_file else ""))
    if s.graded_file and s.gold_file:
        raise ConfigError(f"evaluate.gold_file {s.gold_file}: the graded file {s.graded_file} "
                          "already holds the gold answers it was graded with")
    preflight.check_evaluate(candidates_file=s.candidates_file, graded_file=s.graded_file,
                             output_dir=s.output_dir, scores_file=s.scores_file,
                             gold_file=s.gold_file, pass_ks=s.pass_ks, maj_ks=s.maj_ks,
                             rerank_k=s.rerank_k, num_bootstrap=s.num_bootstrap,
                             curve_repeats=s.curve_repeats)


def _report(s: EvaluateSettings, problems: Sequence[GradedProblem], candidates_file: str,
            gold_file: Optional[str]) -> dict[str, Any]:
    """report.json's version, config, metric names, per-group summaries and accuracy-vs-N
    curves (its counts are `_counts`)."""
    rr = ([f"RR.Top{s.rerank_k}", "RR.All", "W.RR", f"W.RR.Maj{s.rerank_k}"]
          if s.scores_file else [])
    names = (["Greedy"] + [f"pass@{k}" for k in s.pass_ks] + ["Pass@N", "Maj1@N"]
             + [f"Maj{k}@N" for k in s.maj_ks if k > 1] + rr)
    per_problem = [p.metrics(pass_ks=s.pass_ks, maj_ks=s.maj_ks, rerank_k=s.rerank_k)
                   for p in problems]
    curves = plots.accuracy_vs_n(problems, ["Pass@N", "Maj1@N"] + rr, s.curve_repeats, s.seed,
                                 s.rerank_k)
    return {
        "version": report.REPORT_VERSION,
        "config": {"candidates_file": candidates_file, "scores_file": s.scores_file,
                   "gold_file": gold_file,
                   **({"graded_file": s.graded_file} if s.graded_file else {}),
                   "pass_ks": list(s.pass_ks), "maj_ks": list(s.maj_ks),
                   "rerank_k": s.rerank_k, "num_bootstrap": s.num_bootstrap,
                   "curve_repeats": s.curve_repeats, "seed": s.seed},
        "metrics": names,
        "groups": report.group_summaries(per_problem, [p.level for p in problems],
                                         [p.subject for p in problems], names,
                                         s.num_bootstrap, s.seed),
        "accuracy_vs_n": curves,
    }


def _counts(problems: Sequence[GradedProblem], counts: dict, score_counts: records.Counts,
            missing_scores: int) -> dict[str, int]:
    """report.json's "counts": what was graded and what was left out, by cause."""
    return {
        "problems": len(problems),
        "sampled_rows": sum(len(p.labels) for p in problems),
        "greedy_rows": sum(p.greedy_correct is not None for p in problems),
        "malformed": counts["malformed"] + score_counts.malformed,
        "duplicate": counts["duplicate"],
        "conflicting_gold": counts["conflicting_gold"],
        "unextractable": counts["unextractable"], "missing_score": missing_scores,
        "missing_gold": counts["missing_gold"],
        "unknown_verdicts": counts["unknown_verdicts"],
    }


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


gin.register("evaluate", module="mathft_jax.evaluate")(EvaluateSettings)


def main(argv: Optional[Sequence[str]] = None) -> Any:
    """`python -m mathft_jax.evaluate`: the settings from gin, then `run_evaluate`."""
    from mathft_jax import gin_utils
    return gin_utils.run_tool("evaluate", EvaluateSettings, run_evaluate, argv)
