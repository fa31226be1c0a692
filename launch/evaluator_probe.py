"""One evaluator setting, measured on a finished recipe run: does the evaluator learn?

Trains an evaluator from the run's detailed-SSFT model on some evaluator data, scores the
run's test samples (`test_sft_detailed/`) with it, and prints the evaluator AUC pooled and
within problems (`evaluation/ranking.py`). The README's evaluator table ("Does the evaluator
learn?") comes from it.

    python launch/evaluator_probe.py --run_dir runs/main --out runs/probe_224    # the run's data
    python launch/evaluator_probe.py --run_dir runs/main --out runs/probe_1000 \
        --sample_problems 1000 --steps 400 --learning_rate 3e-4                   # more data
    python launch/evaluator_probe.py --run_dir runs/main --out runs/probe_slips \
        --gold_slips 3000 --loss margin --steps 400 --learning_rate 3e-4          # clean pairs

Evaluator data, one of:
  * (default) the run's own `train_samples/candidates.jsonl`;
  * `--sample_problems N`: N training problems sampled afresh (`--samples` each, the run's
    temperature) with the detailed-SSFT model;
  * `--gold_slips N` (synthetic benchmark only): for N training problems, the reference
    detailed solution and the same solution with one arithmetic slip (the benchmark's
    `corrupted_solution`): clean pairs that differ in one operation, not model samples.

`--slips` only prints, for the run's test samples, how many correct and incorrect ones contain
an integer operation `a op b = c` that is wrong (`synthetic.wrong_operations`): what a perfect
slip detector would see.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run_dir", required=True, help="a finished recipe run (runs/main)")
    p.add_argument("--gin_file", default="gin_configs/recipe/synthetic_mini.gin",
                   help="the run's recipe config (for its task options)")
    p.add_argument("--out", help="the probe's folder (evaluator, scores, report)")
    p.add_argument("--sample_problems", type=int, default=0)
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--gold_slips", type=int, default=0)
    p.add_argument("--loss", default="classification",
                   choices=("classification", "margin", "mixture"))
    p.add_argument("--steps", type=int, default=70)
    p.add_argument("--learning_rate", type=float, default=1e-4)
    p.add_argument("--slips", action="store_true", help="only count slips in the test samples")
    args = p.parse_args(argv)
    if not args.slips and not args.out:
        p.error("--out is required unless --slips")
    return args


def _gold_slips_file(path: str, problems: int) -> str:
    from mathft_jax import formats
    from mathft_jax.data import synthetic, task_options
    opts = task_options.current().synthetic
    chosen = synthetic.generate_split("train", problems, opts.seed, opts.num_test,
                                      opts.levels, opts.num_validation, opts.families)
    rows = [formats.candidate_row(
        problem_id=q.problem_id, sample_index=k, decoding="sample", text=text, logprob=0.0,
        num_tokens=0, finish_reason="eos", checkpoint="reference", sampling={"name": "reference"},
        gold_answer=q.answer, level=q.level, subject=q.subject, problem=q.problem)
        for q in chosen for k, text in enumerate((q.solution, q.corrupted_solution))]
    with open(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def _count_slips(run_dir: str) -> None:
    from mathft_jax import formats
    from mathft_jax.data import synthetic
    from mathft_jax.evaluation.problems import grade_problems
    rows, _ = formats.read_candidates(os.path.join(run_dir, "test_sft_detailed",
                                                   "candidates.jsonl"))
    sampled = [r for r in rows if r["decoding"] == "sample"]
    problems, _ = grade_problems(sampled, {}, None)
    by_problem = {p.problem_id: p for p in problems}
    seen: Counter = Counter()
    texts: dict[str, list] = {}
    for r in sorted(sampled, key=lambda r: (r["problem_id"], r["sample_index"])):
        texts.setdefault(r["problem_id"], []).append(r["text"])
    for pid, p in by_problem.items():
        for text, label in zip(texts[pid], p.labels):
            correct = label is not None and p.cluster_correct.get(label, False)
            seen["correct" if correct else "incorrect", synthetic.wrong_operations(text) > 0] += 1
    for kind in ("correct", "incorrect"):
        total = seen[kind, True] + seen[kind, False]
        print(f"{kind} samples: {total}, with a wrong integer operation: {seen[kind, True]}")


def main(argv=None) -> None:
    args = _parse(argv)
    import mathft_jax.recipe.__main__  # noqa: F401  (registers `recipe` for the gin file)
    from mathft_jax.gin_utils import parse_config, use_task_options_from_gin
    from mathft_jax.recipe.settings import RecipeSettings
    parse_config([args.gin_file], [f"RUN_DIR = '{args.run_dir}'"])
    use_task_options_from_gin()  # the run's task options, as the recipe's CLI read them
    import gin
    s = gin.get_configurable(RecipeSettings)()
    if args.slips:
        _count_slips(args.run_dir)
        return
    from mathft_jax.decoding.sampling import Sampling
    from mathft_jax.evaluate import evaluate
    from mathft_jax.evaluator.losses import make_evaluator_loss
    from mathft_jax.evaluator.objective import task_objective
    from mathft_jax.evaluator.tasks import register_evaluator_task
    from mathft_jax.infer import infer
    from mathft_jax.score import score
    from mathft_jax.training import optimizers, trainer
    os.makedirs(args.out, exist_ok=True)
    generator = os.path.join(args.run_dir, "sft_detailed")
    candidates = os.path.join(args.run_dir, "train_samples", "candidates.jsonl")
    if args.sample_problems:
        candidates = os.path.join(args.out, "train_candidates.jsonl")
        infer(model_config=s.model_config, checkpoint=generator,
              mixture_or_task_name=s.eval_task, output_file=candidates, split="train",
              greedy=False, num_samples=args.samples,
              sampling=Sampling(temperature=s.temperature), max_new_tokens=s.max_new_tokens,
              batch_size=s.decode_batch_size, max_problems=args.sample_problems, seed=s.seed)
    elif args.gold_slips:
        candidates = _gold_slips_file(os.path.join(args.out, "train_candidates.jsonl"),
                                      args.gold_slips)
    kind = "classification" if args.loss == "classification" else "pair"
    task = register_evaluator_task(name=f"evaluator_probe_{kind}", candidates_file=candidates,
                                   kind=kind, like_task=s.generation_task, seed=s.seed)
    built = optimizers.build_optimizer(
        args.steps, schedule={"peak_value": args.learning_rate, "decay": "cosine",
                              "warmup_steps": min(s.warmup_steps, args.steps // 2),
                              "end_value_fraction": 0.1}, optimizer={"weight_decay": 0.01})
    evaluator = os.path.join(args.out, "evaluator")
    trainer.train_loop(
        model_config=s.model_config, model_dir=evaluator, mixture_or_task_name=task,
        train_steps=args.steps, **built.train_loop_args(),
        objective=task_objective(lambda cfg, t: make_evaluator_loss(cfg, t, loss=args.loss)),
        init_checkpoint=generator, batch_size=s.batch_size, sequence_length=s.sequence_length,
        seed=s.seed,
        checkpoint_every=args.steps, log_every=max(args.steps // 5, 1), eval_every=0)
    test = os.path.join(args.run_dir, "test_sft_detailed", "candidates.jsonl")
    scores = os.path.join(args.out, "scores.jsonl")
    score(model_config=s.model_config, checkpoint=evaluator, candidates_file=test,
          output_file=scores, like_task=s.generation_task, batch_size=s.score_batch_size)
    report = evaluate(candidates_file=test, output_dir=os.path.join(args.out, "eval"),
                      scores_file=scores, pass_ks=(1,), maj_ks=(2,), curve_repeats=1)
    a = report["evaluator_auc"]
    w = a["within_problem"]
    print(f"evaluator AUC pooled {a['auc']:.3f} [{a['ci95'][0]:.3f}, {a['ci95'][1]:.3f}], "
          f"within problems {w['auc']:.3f} [{w['ci95'][0]:.3f}, {w['ci95'][1]:.3f}] "
          f"({w['problems']} problems with both)")


if __name__ == "__main__":
    main()
