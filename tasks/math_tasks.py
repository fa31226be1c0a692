"""SeqIO tasks over MATH (read lazily from `mathft_jax.data.math_data_dir()`).

| task          | inputs                  | targets            | splits       |
|---------------|-------------------------|--------------------|--------------|
| math_sft      | "Problem:...Solution:\n" | reference solution | train, test |
| math_sft_bos  | BOS, then the same      | reference solution | train, test  |
| math_eval     | same prompt             | reference solution | train, test  |
| math_fewshot  | 4 worked exemplars + it | reference solution | train, test  |

`math_eval` and `math_fewshot` keep only problems with a gold answer (2 of the 12,000 paper
train problems have an empty `\\boxed{}`; the count is logged). The split configuration
("paper": 12,000 / MATH500, or "original": 7,500 / 5,000) and the malformed-line policy are
gin bindings of `math_task_options`; the vocabulary is `mathft_jax.data.math_vocabulary`.
"""

from __future__ import annotations

import functools
import logging

import gin

from mathft_jax.data import math_dataset
from mathft_jax.data import task_factory


@gin.configurable(module="tasks")
def math_task_options(split_config: str = "paper", on_error: str = "raise",
                      data_dir: str | None = None) -> dict:
    """Gin-bindable options of the MATH tasks, read when a task is first used."""
    return dict(split_config=split_config, on_error=on_error, data_dir=data_dir)


@functools.lru_cache(maxsize=8)
def _problems(split: str, split_config: str, on_error: str, data_dir: str | None):
    problems, report = math_dataset.load_math(data_dir, split_config, split, on_error)
    logging.info("MATH %s/%s: %s", split_config, split, report.summary())
    return problems


def math_records(split: str, prompt_style: str = "sft", require_answer: bool = False
                 ) -> list[dict[str, str]]:
    """Task records of one MATH split under the gin-bound `math_task_options`."""
    opts = math_task_options()
    problems = _problems(split, opts["split_config"], opts["on_error"], opts["data_dir"])
    kept = [p for p in problems if p.answer or not require_answer]
    if len(kept) < len(problems):
        logging.warning("MATH %s: %d problems without a gold answer left out of this task",
                        split, len(problems) - len(kept))
    return [task_factory.example(p.problem_id, task_factory.format_prompt(p.problem, prompt_style),
                                 p.solution, p.answer, p.level, p.subject,
                                 problem=p.problem) for p in kept]


SPLITS = ("train", "test")
VOCAB = task_factory.MATH_VOCABULARY


def _reads() -> dict:
    """The options and the MATH folder (its files' sizes and times), for recipe stages."""
    opts = math_task_options()
    try:
        folder = [str(math_dataset.math_data_dir(opts["data_dir"]))]
    except FileNotFoundError:
        folder = []  # not found: the task itself says where it looked, when it is read
    return {"options": opts, "files": folder}

task_factory.register_records_task(
    "math_sft", functools.partial(math_records, prompt_style="sft"), SPLITS, VOCAB, reads=_reads)
# For pretrained models that need BOS (Gemma); decoding adds its own (`infer.prepend_bos`).
task_factory.register_records_task(
    "math_sft_bos", functools.partial(math_records, prompt_style="sft"), SPLITS, VOCAB, bos=True,
    reads=_reads)
task_factory.register_records_task(
    "math_eval", functools.partial(math_records, prompt_style="sft", require_answer=True),
    SPLITS, VOCAB, reads=_reads)
task_factory.register_records_task(
    "math_fewshot", functools.partial(math_records, prompt_style="fewshot", require_answer=True),
    SPLITS, VOCAB, reads=_reads)
