"""The problems of a SeqIO task split, in dataset order, for decoding and scoring.

Reads the task's dataset before feature conversion, so the pass-through fields (`problem_id`,
`answer`, `level`, `subject`, `problem`; see `task_factory`) survive; the prompt is the
tokenized `inputs` feature without the EOS a feature may append.

Example:
    problems, total, vocab = read_problems("synthetic_eval", "test", max_problems=2)
    first = next(problems)   # Problem(index=0, problem_id="synthetic/test/0", prompt=[...], ...)
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, Optional

import numpy as np
import seqio

from mathft_jax.errors import ConfigError


@dataclasses.dataclass
class Problem:
    index: int  # position in the split: seeds the problem's samples
    problem_id: str
    prompt: list[int]
    gold_answer: Optional[str]
    level: str
    subject: str
    problem: str  # the bare statement ("" when the task does not pass it through)


def as_text(value) -> str:
    """A dataset string feature (bytes, 0-d array or str) as str."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return as_text(value.item())
    return str(value)


def _tasks(name: str) -> list[seqio.Task]:
    provider = seqio.get_mixture_or_task(name)
    if isinstance(provider, seqio.Mixture):
        return list(provider.tasks)
    return [provider]


def read_problems(name: str, split: str, max_problems: Optional[int] = None
                  ) -> tuple[Iterator[Problem], Optional[int], seqio.Vocabulary]:
    """The problems of a task (or a mixture's tasks, one after another) in dataset order.

    Returns:
      (iterator of Problem, number of problems if known, the `inputs` vocabulary).
    """
    tasks = _tasks(name)
    total: Optional[int] = 0
    for task in tasks:
        if "inputs" not in task.output_features:
            raise ConfigError(f"task {task.name} has no 'inputs' feature to decode from")
        n = task.num_input_examples(split)
        total = None if (n is None or total is None) else total + n
    vocab = tasks[0].output_features["inputs"].vocabulary
    if max_problems is not None:
        total = max_problems if total is None else min(total, max_problems)
    return _iterate(tasks, split, max_problems), total, vocab


def _iterate(tasks: list[seqio.Task], split: str, max_problems: Optional[int]
             ) -> Iterator[Problem]:
    index = 0
    for task in tasks:
        feature = task.output_features["inputs"]
        ds = task.get_dataset(sequence_length=None, split=split, shuffle=False)
        for ex in ds.as_numpy_iterator():
            if max_problems is not None and index >= max_problems:
                return
            prompt = [int(t) for t in ex["inputs"]]
            if feature.add_eos and prompt and prompt[-1] == feature.vocabulary.eos_id:
                prompt = prompt[:-1]
            answer = as_text(ex["answer"]) if "answer" in ex else ""
            yield Problem(
                index=index,
                problem_id=(as_text(ex["problem_id"]) if "problem_id" in ex
                            else f"{task.name}/{split}/{index}"),
                prompt=prompt, gold_answer=answer or None,
                level=as_text(ex.get("level", "")), subject=as_text(ex.get("subject", "")),
                problem=as_text(ex.get("problem", "")))
            index += 1
