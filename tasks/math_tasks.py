"""SeqIO tasks over MATH (read lazily from the folder the task options name).

| task          | inputs                  | targets            | splits       |
|---------------|-------------------------|--------------------|--------------|
| math_sft      | "Problem:...Solution:\n" | reference solution | train, test |
| math_sft_bos  | BOS, then the same      | reference solution | train, test  |
| math_eval     | same prompt             | reference solution | train, test  |
| math_fewshot  | 4 worked exemplars + it | reference solution | train, test  |

`math_eval` and `math_fewshot` keep only problems with a gold answer (2 of the 12,000 paper
train problems have an empty `\\boxed{}`; the count is logged). The split configuration
("paper": 12,000 / MATH500, or "original": 7,500 / 5,000), the malformed-line policy and the
folder are `task_options.current().math` (gin, read by the entry points:
`tasks.math_task_options.*`, `mathft_jax.data.math_data_dir.path`); the vocabulary is
`task_factory.MATH_VOCABULARY` (`mathft_jax.data.math_vocabulary.*`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging

from mathft_jax.data import math_dataset
from mathft_jax.data import task_factory
from mathft_jax.data import task_options


@functools.lru_cache(maxsize=8)
def _problems(split: str, split_config: str, on_error: str, data_dir: str | None):
    problems, report = math_dataset.load_math(data_dir, split_config, split, on_error)
    logging.info("MATH %s/%s: %s", split_config, split, report.summary())
    return problems


def _data_dir(options: task_options.TaskOptions) -> str | None:
    """The MATH folder the options name (`math.data_dir`, else `math_data_dir`); None lets
    `math_dataset.math_data_dir` search ($MATHFT_MATH_DIR, then `../shared/data/math`)."""
    return options.math.data_dir or options.math_data_dir


def math_records(split: str, prompt_style: str = "sft", require_answer: bool = False
                 ) -> list[dict[str, str]]:
    """Task records of one MATH split under the current `task_options` (`.math`)."""
    options = task_options.current()
    opts = options.math
    problems = _problems(split, opts.split_config, opts.on_error,
                         str(math_dataset.math_data_dir(_data_dir(options))))
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
    options = task_options.current()
    try:
        folder = [str(math_dataset.math_data_dir(_data_dir(options)))]
    except FileNotFoundError:
        folder = []  # not found: the task itself says where it looked, when it is read
    return {"options": dataclasses.asdict(options.math), "files": folder}

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
