"""The never-packing base converter: packing is refused silently (a row's read slots are its
own), the other options pass through, and every model feature gets the subclass's row
length."""

import pytest
import seqio
import tensorflow as tf

from mathft_jax.evaluator.unpacked import MODEL_FEATURE_NAMES, UnpackedConverter


class _NoLength(UnpackedConverter):
    """A subclass with task features but no row length."""

    TASK_FEATURES = {"x": seqio.FeatureConverter.FeatureSpec(dtype=tf.int32)}

    def _convert_features(self, ds, task_feature_lengths):
        return ds


class _Doubled(_NoLength):
    """A subclass whose rows are twice the `x` feature's length."""

    def row_length(self, task_feature_lengths):
        return 2 * task_feature_lengths["x"]


def test_packing_is_never_on_and_other_options_pass_through():
    for pack in (True, False):
        converter = _Doubled(pack=pack, apply_length_check=False, bos_id=7)
        assert converter.pack is False
        assert converter._apply_length_check is False and converter.bos_id == 7
    assert _Doubled()._apply_length_check is True and _Doubled().bos_id == 0


def test_every_model_feature_has_the_row_length():
    assert MODEL_FEATURE_NAMES == ("decoder_input_tokens", "decoder_target_tokens",
                                   "decoder_loss_weights", "decoder_positions",
                                   "decoder_segment_ids")
    assert _Doubled().get_model_feature_lengths({"x": 3}) == {k: 6 for k in MODEL_FEATURE_NAMES}


def test_the_base_has_no_row_length_of_its_own():
    with pytest.raises(NotImplementedError):
        _NoLength().get_model_feature_lengths({"x": 3})
