"""The base of the evaluator's own feature converters: one task example -> one model row.

Pair rows (`pairs.py`) and step rows (`steps.py`) must never be packed or split: a row's read
slots belong to it alone. Subclasses set `TASK_FEATURES`, `row_length` and
`_convert_features`; the model features are the decoder's usual five.
"""

from __future__ import annotations

from typing import Mapping

import seqio
import tensorflow as tf

MODEL_FEATURE_NAMES = ("decoder_input_tokens", "decoder_target_tokens", "decoder_loss_weights",
                       "decoder_positions", "decoder_segment_ids")


class UnpackedConverter(seqio.FeatureConverter):
    """A converter that never packs; see the module docstring."""

    MODEL_FEATURES = {k: seqio.FeatureConverter.FeatureSpec(dtype=tf.int32)
                      for k in MODEL_FEATURE_NAMES}
    PACKING_FEATURE_DTYPES = {}

    def __init__(self, pack: bool = False, **kwargs):
        del pack  # a row's read slots are its own: rows are never packed
        super().__init__(pack=False, **kwargs)

    def row_length(self, task_feature_lengths: Mapping[str, int]) -> int:
        """The model row length for these task lengths."""
        raise NotImplementedError

    def get_model_feature_lengths(self, task_feature_lengths: Mapping[str, int]
                                  ) -> Mapping[str, int]:
        length = self.row_length(task_feature_lengths)
        return {k: length for k in MODEL_FEATURE_NAMES}
