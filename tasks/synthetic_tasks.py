"""SeqIO tasks over the built-in synthetic benchmark (`mathft_jax.data.synthetic`).

| task                      | targets                                                  |
|---------------------------|----------------------------------------------------------|
| synthetic_sft             | detailed step-by-step solution                           |
| synthetic_sft_terse       | terse solution (bare equations)                          |
| synthetic_sft_corrupted   | detailed; a `corruption_rate` share of train solutions   |
|                           | carries one arithmetic slip (a noisy solution source)    |
| synthetic_eval            | detailed (for decoding: gold `answer` passes through)     |
| synthetic_sft_styles      | mixture: synthetic_sft + synthetic_sft_terse, equal rate |

All have splits "train", "validation" and "test" (disjoint by problem text; only train is
ever corrupted), the prompt of
`prompts.sft_prompt`, and the synthetic SentencePiece vocabulary (`synthetic_vocabulary`).
Sizes, seed and difficulty levels are `task_options.current().synthetic` (gin, read by the
entry points: `tasks.synthetic_task_options.*`).
"""

from __future__ import annotations

import dataclasses
import functools
import random

from mathft_jax.data import prompts
from mathft_jax.data import synthetic
from mathft_jax.data import task_factory
from mathft_jax.data import task_options


def _is_corrupted(problem_id: str, seed: int, rate: float) -> bool:
    return random.Random(f"corrupt/{seed}/{problem_id}").random() < rate


def synthetic_records(split: str, style: str = "detailed", corrupt: bool = False
                      ) -> list[dict[str, str]]:
    """Task records of one synthetic split under the current `task_options` (`.synthetic`);
    `style` is "detailed" or "terse"."""
    opts = task_options.current().synthetic
    num = getattr(opts, f"num_{split}")
    problems = synthetic.generate_split(split, num, opts.seed, opts.num_test, opts.levels,
                                        opts.num_validation, opts.families)
    out = []
    for p in problems:
        solution = p.solution if style == "detailed" else p.solution_terse
        if corrupt and split == "train" and _is_corrupted(p.problem_id, opts.seed,
                                                         opts.corruption_rate):
            solution = p.corrupted_solution
        out.append(task_factory.example(p.problem_id, prompts.sft_prompt(p.problem), solution,
                                        p.answer, p.level, p.subject,
                                        problem=p.problem))
    return out


SPLITS = ("train", "validation", "test")
VOCAB = task_factory.SYNTHETIC_VOCABULARY

# What every task here reads (a recipe stage's fingerprint): the current options.
READS = lambda: {"options": dataclasses.asdict(task_options.current().synthetic)}  # noqa: E731

task_factory.register_records_task("synthetic_sft", synthetic_records, SPLITS, VOCAB,
                                   reads=READS)
task_factory.register_records_task(
    "synthetic_sft_terse", functools.partial(synthetic_records, style="terse"), SPLITS, VOCAB,
    reads=READS)
task_factory.register_records_task(
    "synthetic_sft_corrupted", functools.partial(synthetic_records, corrupt=True), SPLITS, VOCAB,
    reads=READS)
task_factory.register_records_task("synthetic_eval", synthetic_records, SPLITS, VOCAB,
                                   reads=READS)
task_factory.register_sft_mixture("synthetic_sft_styles",
                                  ["synthetic_sft", "synthetic_sft_terse"])
