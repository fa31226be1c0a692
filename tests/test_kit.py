"""The test kit itself: configs with overrides, and the tiny task registered on import."""

import doctest

import pytest
import seqio

from tests import kit


def test_tiny_config_overrides_and_rejects_unknown_fields():
    assert kit.tiny_config() == kit.tiny_config(**kit.TINY_FIELDS)
    assert kit.tiny_config(num_layers=1).num_layers == 1
    assert kit.tiny_config(num_layers=1).embed_dim == kit.TINY_FIELDS["embed_dim"]
    assert kit.BYTE_MODEL.vocab_size == kit.BYTES.vocab_size == 259
    with pytest.raises(TypeError, match="num_layer"):
        kit.tiny_config(num_layer=1)
    assert doctest.testmod(kit).failed == 0


def test_the_infer_task_is_registered_on_import():
    task = seqio.get_mixture_or_task(kit.INFER_TASK)
    assert kit.INFER_SETTINGS["mixture_or_task_name"] == kit.INFER_TASK
    assert task.output_features["targets"].vocabulary.vocab_size == kit.BYTES.vocab_size
