"""A tiny, self-contained SeqIO task for the training tests (no project tasks needed).

`import tests.training.tiny_task` registers TASK_NAME: a handful of fixed (inputs, targets)
byte strings, with train and validation splits, in the prefix-LM layout.
"""

from __future__ import annotations

import seqio
import tensorflow as tf

from tests import kit

TASK_NAME = "mathft_test_tiny_sft"
VOCAB = kit.BYTES  # 259 ids: 0 pad, 1 eos, 2 unk, then bytes

EXAMPLES = [
    ("What is 2+3?", "2+3 = 5. The answer is 5."),
    ("What is 7*6?", "7*6 = 42. The answer is 42."),
    ("Simplify 10/4.", "10/4 = 5/2. The answer is 5/2."),
    ("Solve x+1=4.", "x = 4-1 = 3. The answer is 3."),
]


def _dataset_fn(split: str, shuffle_files: bool, seed=None):
    del shuffle_files, seed
    rows = EXAMPLES if split == "train" else EXAMPLES[:2]
    return tf.data.Dataset.from_tensor_slices(
        {"inputs": [q for q, _ in rows], "targets": [a for _, a in rows]})


if TASK_NAME not in seqio.TaskRegistry.names():
    seqio.TaskRegistry.add(
        TASK_NAME,
        source=seqio.FunctionDataSource(_dataset_fn, splits=("train", "validation")),
        preprocessors=[seqio.preprocessors.tokenize, seqio.preprocessors.append_eos],
        output_features={
            "inputs": seqio.Feature(VOCAB, add_eos=True),
            "targets": seqio.Feature(VOCAB, add_eos=True),
        })
