"""Evaluator training examples from graded candidates: a balanced set per problem.

From candidates sampled on the TRAINING problems (graded against their gold answers by the
same grader as evaluation), each problem contributes:

* classification examples: k correct and k incorrect solutions, k = min(#correct, #incorrect,
  max_per_problem // 2), so every problem is balanced;
* pairs: the same k correct and k incorrect solutions zipped into k (chosen, rejected) pairs.

Identical texts (after stripping white space) are kept once. The solutions kept are a seeded
random choice per problem (`seed`, problem id), not the first ones sampled.

One-sided problems, whose samples are all correct or all incorrect, carry no contrast. Rule
`one_sided`: "skip" (default) leaves them out, so the label balance stays 50/50 and the
evaluator cannot learn "easy problem => correct"; "keep" adds up to max_per_problem // 2
classification examples of their one label (no pairs). Either way they are counted.

The problems come graded: from the candidates' graded file (`evaluation.graded`, the recipe's
graded_train_samples stage) when given, else graded here. `write_examples` writes both kinds and
the unique solutions of the step and token evaluators into one examples file, the recipe's
evaluator_examples stage.

Example:
    examples, summary = build_examples(rows, max_per_problem=10)
    summary == {"problems": 32, "contrastive": 20, "all_correct": 3, "all_incorrect": 9,
                "no_gold": 0, "duplicates": 41, "classification": 168, "positive": 84,
                "pairs": 84}
"""

from __future__ import annotations

import random
from typing import Mapping, Optional, Sequence

from mathft_jax import formats
from mathft_jax.atomic_files import atomic_write_bytes
from mathft_jax.evaluation.graded import read_graded
from mathft_jax.evaluation.problems import GradedProblem, grade_problems

ONE_SIDED_RULES = ("skip", "keep")


def build_examples(rows: Sequence[Mapping], max_per_problem: int = 10, one_sided: str = "skip",
                   seed: int = 0, graded: Optional[Sequence[GradedProblem]] = None
                   ) -> tuple[list[dict], dict[str, int]]:
    """Evaluator examples (`formats` rows, both kinds) and a summary of what was kept.

    `graded`: the rows' problems graded already (`evaluation.graded.read_graded`); None
    grades them here."""
    if max_per_problem < 2:
        raise ValueError(f"max_per_problem must be >= 2, got {max_per_problem}")
    if one_sided not in ONE_SIDED_RULES:
        raise ValueError(f"one_sided must be one of {ONE_SIDED_RULES}, got {one_sided!r}")
    problems, texts = _graded_samples(rows, graded)
    summary = dict.fromkeys(("problems", "contrastive", "all_correct", "all_incorrect",
                             "no_gold", "duplicates", "classification", "positive", "pairs"), 0)
    summary["problems"] = len(texts)
    summary["no_gold"] = len(texts) - len(problems)
    examples: list[dict] = []
    for p in problems:
        correct, incorrect, duplicates = _split_unique(p, texts[p.problem_id])
        summary["duplicates"] += duplicates
        rng = random.Random(f"{seed}/{p.problem_id}")
        rng.shuffle(correct)
        rng.shuffle(incorrect)
        statement = texts[p.problem_id]["problem"]
        if correct and incorrect:
            summary["contrastive"] += 1
            k = min(len(correct), len(incorrect), max_per_problem // 2)
            chosen, rejected = correct[:k], incorrect[:k]
        else:
            summary["all_correct" if correct else "all_incorrect"] += 1
            if one_sided == "skip":
                continue
            chosen, rejected = correct[:max_per_problem // 2], incorrect[:max_per_problem // 2]
        examples += [formats.classification_example(p.problem_id, statement, s, True)
                     for s in chosen]
        examples += [formats.classification_example(p.problem_id, statement, s, False)
                     for s in rejected]
        if chosen and rejected:
            examples += [formats.pair_example(p.problem_id, statement, c, r)
                         for c, r in zip(chosen, rejected)]
    summary["classification"] = sum(e["kind"] == "classification" for e in examples)
    summary["positive"] = sum(e["kind"] == "classification" and e["label"] for e in examples)
    summary["pairs"] = sum(e["kind"] == "pair" for e in examples)
    return examples, summary


def _graded_samples(rows: Sequence[Mapping], graded: Optional[Sequence[GradedProblem]]
                    ) -> tuple[list[GradedProblem], dict[str, dict]]:
    """The graded problems with sampled rows (graded here when `graded` is None) and their
    texts (`_texts_by_problem`)."""
    sampled = [r for r in rows if r["decoding"] == "sample"]
    texts = _texts_by_problem(sampled)
    if graded is None:
        graded, _ = grade_problems(sampled, {}, None)
    problems = [p for p in graded if p.problem_id in texts]
    for p in problems:
        if len(p.labels) != len(texts[p.problem_id]["texts"]):
            raise formats.RecordError(
                f"problem {p.problem_id!r}: {len(p.labels)} graded samples but "
                f"{len(texts[p.problem_id]['texts'])} sampled rows (a graded file of other "
                "candidates?)")
    return problems, texts


def _texts_by_problem(rows: Sequence[Mapping]) -> dict[str, dict]:
    """problem_id -> {"problem": statement, "texts": texts by sample_index order}."""
    out: dict[str, dict] = {}
    for r in sorted(rows, key=lambda r: (r["problem_id"], r["sample_index"])):
        entry = out.setdefault(r["problem_id"], {"problem": r.get("problem") or "", "texts": []})
        entry["texts"].append(r["text"])
    return out


def _split_unique(problem, entry: dict) -> tuple[list[str], list[str], int]:
    """(unique correct texts, unique incorrect texts, number of duplicates dropped)."""
    seen: set[str] = set()
    correct, incorrect, duplicates = [], [], 0
    for text, label in zip(entry["texts"], problem.labels):
        key = text.strip()
        if key in seen or not key:
            duplicates += bool(key)
            continue
        seen.add(key)
        ok = label is not None and problem.cluster_correct.get(label, False)
        (correct if ok else incorrect).append(text)
    return correct, incorrect, duplicates


def format_summary(summary: Mapping[str, int]) -> str:
    """One line for the console, e.g. 'evaluator data: 32 problems (20 contrastive, ...'."""
    return (f"evaluator data: {summary['problems']} problems ({summary['contrastive']} with "
            f"correct and incorrect samples, {summary['all_correct']} all correct, "
            f"{summary['all_incorrect']} all incorrect, {summary['no_gold']} without gold); "
            f"{summary['duplicates']} duplicate texts dropped; "
            f"{summary['classification']} classification examples "
            f"({summary['positive']} correct), {summary['pairs']} pairs")


def build_step_examples(rows: Sequence[Mapping],
                        graded: Optional[Sequence[GradedProblem]] = None
                        ) -> tuple[list[dict], dict[str, int]]:
    """Process-supervision examples: every unique sampled solution of a problem with a gold
    answer (one-sided problems included: their steps still carry labels), with its outcome
    label and its checked steps (`synthetic.checked_operations`: (end offset, right)).

    Example:
        examples, summary = build_step_examples(rows)
        examples[0] == {"problem_id": ..., "problem": ..., "solution": "... $6 - 5 = 1$ ...",
                        "label": False, "steps": [(14, True), ...]}
        summary == {"problems": 32, "no_gold": 0, "duplicates": 41, "solutions": 215,
                    "correct": 40, "steps": 1210, "wrong_steps": 260}
    """
    solutions, summary = unique_solutions(rows, graded)
    examples, steps = with_steps(solutions)
    return examples, {**summary, **steps}


def unique_solutions(rows: Sequence[Mapping], graded: Optional[Sequence[GradedProblem]] = None
                     ) -> tuple[list[dict], dict[str, int]]:
    """Every unique sampled solution of a problem with a gold answer, as `formats`
    "solution" examples, and {"problems", "no_gold", "duplicates", "solutions", "correct"}."""
    problems, texts = _graded_samples(rows, graded)
    summary = {"problems": len(texts), "no_gold": len(texts) - len(problems), "duplicates": 0}
    examples: list[dict] = []
    for p in problems:
        correct, incorrect, duplicates = _split_unique(p, texts[p.problem_id])
        summary["duplicates"] += duplicates
        statement = texts[p.problem_id]["problem"]
        examples += [formats.solution_example(p.problem_id, statement, text, label)
                     for label, group in ((True, correct), (False, incorrect)) for text in group]
    summary.update(solutions=len(examples), correct=sum(e["label"] for e in examples))
    return examples, summary


def with_steps(solutions: Sequence[Mapping]) -> tuple[list[dict], dict[str, int]]:
    """`solutions` as process-supervision examples (`build_step_examples`' rows) and
    {"steps", "wrong_steps"}."""
    from mathft_jax.data.synthetic import checked_operations
    examples = [{"problem_id": e["problem_id"], "problem": e["problem"],
                 "solution": e["solution"], "label": e["label"],
                 "steps": checked_operations(e["solution"].strip())} for e in solutions]
    return examples, {"steps": sum(len(e["steps"]) for e in examples),
                      "wrong_steps": sum(not ok for e in examples for _, ok in e["steps"])}


def format_step_summary(summary: Mapping[str, int]) -> str:
    """One line for the console about `build_step_examples`' data."""
    return (f"step evaluator data: {summary['problems']} problems ({summary['no_gold']} without "
            f"gold); {summary['duplicates']} duplicate texts dropped; {summary['solutions']} "
            f"solutions ({summary['correct']} correct) with {summary['steps']} checked steps "
            f"({summary['wrong_steps']} wrong)")


def write_examples(candidates_file: str, graded_file: str, output_file: str, *,
                   max_per_problem: int = 10, one_sided: str = "skip", seed: int = 0
                   ) -> dict[str, dict[str, int]]:
    """The examples file of `candidates_file` (its problems read from `graded_file`, not
    graded again): `build_examples`' classification and pair rows, then `unique_solutions`'
    solution rows. Returns {"data": build summary, "solutions": unique-solutions summary}."""
    rows, _ = formats.read_candidates(candidates_file)
    problems, _, _ = read_graded(graded_file)
    examples, summary = build_examples(rows, max_per_problem, one_sided, seed, problems)
    solutions, solution_summary = unique_solutions(rows, problems)
    atomic_write_bytes(output_file, formats.to_jsonl(examples + solutions))
    return {"data": summary, "solutions": solution_summary}
