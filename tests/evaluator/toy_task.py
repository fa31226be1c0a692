"""A toy generation task for the evaluator pipeline tests: "a + b" with boxed answers.

`import tests.evaluator.toy_task` registers TASK over byte tokens: "train" has 40 of the 100
sums a + b with a, b in 0..9, "test" 16 others (held out: no sum of the test split is in
train). Gin files of the subprocess tests import it the same way.
"""

from __future__ import annotations

import random

import seqio

from mathft_jax.data import prompts, task_factory
from tests import kit

TASK = "mathft_test_toy_sums"
VOCAB = kit.BYTES
MODEL = kit.BYTE_MODEL
# Byte tokens: " Y" and " N" share the space and differ in one token.
LABELS = (" Y", " N")


def _records(split: str) -> list[dict[str, str]]:
    order = random.Random(0).sample(range(100), 100)
    chosen = order[:40] if split == "train" else order[40:56]
    out = []
    for i in chosen:
        a, b = divmod(i, 10)
        problem = f"{a} + {b}"
        out.append(task_factory.example(f"toy/{split}/{i}", prompts.sft_prompt(problem),
                                        f"\\boxed{{{a + b}}}", str(a + b), problem=problem))
    return out


if TASK not in seqio.TaskRegistry.names():
    task_factory.register_records_task(TASK, _records, ["train", "test"], VOCAB)
