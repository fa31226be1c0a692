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
Sizes, seed and difficulty levels are gin bindings of `synthetic_task_options`.
"""

from __future__ import annotations

import functools
import random
from typing import Optional

import gin

from mathft_jax.data import prompts
from mathft_jax.data import synthetic
from mathft_jax.data import task_factory


@gin.configurable(module="tasks")
def synthetic_task_options(num_train: int = 20000, num_validation: int = 500,
                           num_test: int = 500, seed: int = 0,
                           corruption_rate: float = 0.25,
                           levels: tuple[int, ...] = synthetic.LEVELS,
                           families: Optional[tuple[str, ...]] = None) -> dict:
    """Gin-bindable sizes of the synthetic tasks, read when a task is first used.

    `levels` picks the difficulty levels drawn (uniformly); e.g. (1, 2) for an easier
    benchmark that a small model learns in fewer steps. `families` picks the subjects drawn
    (uniformly; None for all six), e.g. `('Linear Equations', 'Fractions')`.
    """
    if not 0.0 <= corruption_rate <= 1.0:
        raise ValueError(f"corruption_rate must be in [0, 1], got {corruption_rate}")
    levels = tuple(levels)
    if not levels or not set(levels) <= set(synthetic.LEVELS):
        raise ValueError(f"levels must be a non-empty subset of {synthetic.LEVELS}, got {levels}")
    families = None if families is None else tuple(families)
    synthetic.select_families(families)  # raises on an unknown subject
    return dict(num_train=num_train, num_validation=num_validation, num_test=num_test,
                seed=seed, corruption_rate=corruption_rate, levels=levels, families=families)


def _is_corrupted(problem_id: str, seed: int, rate: float) -> bool:
    return random.Random(f"corrupt/{seed}/{problem_id}").random() < rate


def synthetic_records(split: str, style: str = "detailed", corrupt: bool = False
                      ) -> list[dict[str, str]]:
    """Task records of one synthetic split; `style` is "detailed" or "terse"."""
    opts = synthetic_task_options()
    num = opts[f"num_{split}"]
    problems = synthetic.generate_split(split, num, opts["seed"], opts["num_test"],
                                        opts["levels"], opts["num_validation"],
                                        opts["families"])
    out = []
    for p in problems:
        solution = p.solution if style == "detailed" else p.solution_terse
        if corrupt and split == "train" and _is_corrupted(p.problem_id, opts["seed"],
                                                         opts["corruption_rate"]):
            solution = p.corrupted_solution
        out.append(task_factory.example(p.problem_id, prompts.sft_prompt(p.problem), solution,
                                        p.answer, p.level, p.subject,
                                        problem=p.problem))
    return out


SPLITS = ("train", "validation", "test")
VOCAB = task_factory.SYNTHETIC_VOCABULARY

# What every task here reads (a recipe stage's fingerprint): the gin-bound options.
READS = lambda: {"options": synthetic_task_options()}  # noqa: E731

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
