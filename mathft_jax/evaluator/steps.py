"""A SeqIO feature converter for step-labelled evaluator rows (kind "steps").

One row per solution, never packed. Task features (`evaluator/tasks.py`, built by
`inputs.build_input`): `tokens` [n], the evaluator prompt; `read_targets` [n], the label word's
token at each read slot (after each checked step, and at the end for the outcome) and 0
elsewhere. The model features read the label at those slots with the classification loss
(`losses.py`: weighted slots whose target is a label token):

    tokens [5, 6, 7, 8], read_targets [0, 302, 0, 307], length 6
    decoder_input_tokens    [5, 6, 7, 8, 0, 0]
    decoder_target_tokens   [0, 302, 0, 307, 0, 0]
    decoder_loss_weights    [0, 1, 0, 1, 0, 0]
    decoder_positions       [0, 1, 2, 3, 0, 0]
    decoder_segment_ids     [1, 1, 1, 1, 0, 0]
"""

from __future__ import annotations

from typing import Mapping

import seqio
import tensorflow as tf

from mathft_jax.evaluator.unpacked import UnpackedConverter

STEP_FEATURES = ("tokens", "read_targets")


class StepFeatureConverter(UnpackedConverter):
    """See the module docstring. Never packs."""

    TASK_FEATURES = {k: seqio.FeatureConverter.FeatureSpec(dtype=tf.int32) for k in STEP_FEATURES}

    def row_length(self, task_feature_lengths: Mapping[str, int]) -> int:
        return task_feature_lengths["tokens"]

    def _convert_features(self, ds: tf.data.Dataset,
                          task_feature_lengths: Mapping[str, int]) -> tf.data.Dataset:
        length = self.row_length(task_feature_lengths)

        def convert(ex):
            tokens, targets = ex["tokens"], ex["read_targets"]
            n = tf.size(tokens)
            row = {"decoder_input_tokens": tokens, "decoder_target_tokens": targets,
                   "decoder_loss_weights": tf.cast(targets > 0, tf.int32),
                   "decoder_positions": tf.range(n), "decoder_segment_ids": tf.ones([n], tf.int32)}
            return {k: tf.pad(v, [[0, length - n]]) for k, v in row.items()}

        return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
