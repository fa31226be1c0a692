"""The step rows' converter by hand: one unpacked row per solution, the label read at each
weighted slot (any nonzero target) and nowhere else, padded to the task's length."""

import numpy as np
import pytest
import tensorflow as tf

from mathft_jax.evaluator.steps import STEP_FEATURES, StepFeatureConverter


def _convert(rows, length, **kwargs):
    """`rows` ((tokens, read_targets) pairs) through the converter at `length`."""
    ds = tf.data.Dataset.from_generator(
        lambda: iter([{"tokens": t, "read_targets": r} for t, r in rows]),
        output_signature={k: tf.TensorSpec([None], tf.int32) for k in STEP_FEATURES})
    converter = StepFeatureConverter(**kwargs)
    lengths = {"tokens": length, "read_targets": length}
    return [{k: v.tolist() for k, v in ex.items()}
            for ex in converter(ds, lengths).as_numpy_iterator()]


def test_the_docstring_row_by_hand():
    [row] = _convert([([5, 6, 7, 8], [0, 302, 0, 307])], 6)
    assert row == {"decoder_input_tokens": [5, 6, 7, 8, 0, 0],
                   "decoder_target_tokens": [0, 302, 0, 307, 0, 0],
                   "decoder_loss_weights": [0, 1, 0, 1, 0, 0],
                   "decoder_positions": [0, 1, 2, 3, 0, 0],
                   "decoder_segment_ids": [1, 1, 1, 1, 0, 0]}


def test_rows_are_never_packed_and_a_full_row_has_no_padding():
    """Two short rows that would fit one packed row stay two rows, even when packing is asked
    for; a read target of id 1 is read like any nonzero one; a row of the whole length gets
    no padding."""
    rows = [([9, 8], [1, 0]), ([4], [3]), ([1, 2, 3, 4, 5], [0, 0, 7, 0, 2])]
    got = _convert(rows, 5, pack=True)
    assert got == [
        {"decoder_input_tokens": [9, 8, 0, 0, 0], "decoder_target_tokens": [1, 0, 0, 0, 0],
         "decoder_loss_weights": [1, 0, 0, 0, 0], "decoder_positions": [0, 1, 0, 0, 0],
         "decoder_segment_ids": [1, 1, 0, 0, 0]},
        {"decoder_input_tokens": [4, 0, 0, 0, 0], "decoder_target_tokens": [3, 0, 0, 0, 0],
         "decoder_loss_weights": [1, 0, 0, 0, 0], "decoder_positions": [0, 0, 0, 0, 0],
         "decoder_segment_ids": [1, 0, 0, 0, 0]},
        {"decoder_input_tokens": [1, 2, 3, 4, 5], "decoder_target_tokens": [0, 0, 7, 0, 2],
         "decoder_loss_weights": [0, 0, 1, 0, 1], "decoder_positions": [0, 1, 2, 3, 4],
         "decoder_segment_ids": [1, 1, 1, 1, 1]}]


def test_every_model_feature_is_int32_and_as_long_as_the_tokens():
    converter = StepFeatureConverter()
    assert converter.row_length({"tokens": 7, "read_targets": 7}) == 7
    assert converter.get_model_feature_lengths({"tokens": 7, "read_targets": 7}) == {
        k: 7 for k in ("decoder_input_tokens", "decoder_target_tokens", "decoder_loss_weights",
                       "decoder_positions", "decoder_segment_ids")}
    ds = tf.data.Dataset.from_tensors({"tokens": tf.constant([3, 4], tf.int32),
                                       "read_targets": tf.constant([0, 5], tf.int32)})
    out = converter(ds, {"tokens": 3, "read_targets": 3})
    assert {k: s.dtype for k, s in out.element_spec.items()} == {
        k: tf.int32 for k in converter.get_model_feature_lengths({"tokens": 3})}
    assert np.asarray(next(out.as_numpy_iterator())["decoder_loss_weights"]).tolist() == [0, 1, 0]


def test_a_row_longer_than_the_task_length_is_refused():
    with pytest.raises(tf.errors.InvalidArgumentError):
        _convert([([1, 2, 3], [0, 0, 4])], 2)
