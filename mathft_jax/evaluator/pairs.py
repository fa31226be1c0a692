"""A SeqIO feature converter that keeps a (chosen, rejected) pair in ONE row.

Packing, shuffling and microbatching move rows, never parts of rows, so a pair that is one row
cannot be separated (`train_step.split_microbatches` sends row r to microbatch r mod M: two
adjacent rows would land in different microbatches). The two solutions sit in two segments
that do not attend to each other, each with its own positions, and the loss weight marks the
slot whose next-token distribution is read (the last token of each segment).

Task features `chosen` [c] and `rejected` [r] (evaluator prompts + label-word prefix), with
task lengths Lc and Lr -> model features of length Lc + Lr:

    chosen [5, 6, 7], rejected [8, 9], Lc = 4, Lr = 3
    decoder_input_tokens    [5, 6, 7, 8, 9, 0, 0]
    decoder_target_tokens   [5, 6, 7, 8, 9, 0, 0]   (unused by the pairwise losses)
    decoder_positions       [0, 1, 2, 0, 1, 0, 0]
    decoder_segment_ids     [1, 1, 1, 2, 2, 0, 0]
    decoder_loss_weights    [0, 0, 1, 0, 1, 0, 0]   (read slots: segment 1 = chosen, 2 = rejected)
"""

from __future__ import annotations

from typing import Mapping

import seqio
import tensorflow as tf

from mathft_jax.evaluator.unpacked import UnpackedConverter

PAIR_FEATURES = ("chosen", "rejected")


class PairFeatureConverter(UnpackedConverter):
    """See the module docstring. Never packs (a row is a pair)."""

    TASK_FEATURES = {k: seqio.FeatureConverter.FeatureSpec(dtype=tf.int32) for k in PAIR_FEATURES}

    def row_length(self, task_feature_lengths: Mapping[str, int]) -> int:
        return sum(task_feature_lengths[k] for k in PAIR_FEATURES)

    def _convert_features(self, ds: tf.data.Dataset,
                          task_feature_lengths: Mapping[str, int]) -> tf.data.Dataset:
        length = self.row_length(task_feature_lengths)

        def convert(ex):
            chosen, rejected = ex["chosen"], ex["rejected"]
            nc, nr = tf.size(chosen), tf.size(rejected)
            tokens = tf.concat([chosen, rejected], 0)
            read = tf.tensor_scatter_nd_update(tf.zeros_like(tokens), [[nc - 1], [nc + nr - 1]],
                                               [1, 1])
            row = {"decoder_input_tokens": tokens, "decoder_target_tokens": tokens,
                   "decoder_loss_weights": read,
                   "decoder_positions": tf.concat([tf.range(nc), tf.range(nr)], 0),
                   "decoder_segment_ids": tf.concat([tf.ones([nc], tf.int32),
                                                     tf.fill([nr], 2)], 0)}
            return {k: tf.pad(v, [[0, length - tf.size(v)]]) for k, v in row.items()}

        return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
