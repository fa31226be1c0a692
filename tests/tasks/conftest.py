"""Task tests: a private vocabulary cache, and a checker of the prefix-LM layout."""

from __future__ import annotations

import os

import numpy as np
import pytest
import seqio


@pytest.fixture(scope="session", autouse=True)
def private_vocab_cache(tmp_path_factory):
    old = os.environ.get("MATHFT_CACHE")
    os.environ["MATHFT_CACHE"] = str(tmp_path_factory.mktemp("mathft_cache"))
    yield
    if old is None:
        os.environ.pop("MATHFT_CACHE", None)
    else:
        os.environ["MATHFT_CACHE"] = old


def check_prefix_lm_batches(task_name: str, split: str, lengths: dict, num: int = 4) -> dict:
    """Converts `num` examples unpacked and packed; asserts loss only on target tokens.

    Returns the first raw (pre-conversion) example.
    """
    task = seqio.get_mixture_or_task(task_name)
    raw = list(task.get_dataset(lengths, split=split, shuffle=False).take(num))
    assert len(raw) == num
    converter = seqio.DecoderFeatureConverter(pack=False, use_custom_packing_ops=False)
    ds = task.get_dataset(lengths, split=split, shuffle=False).take(num)
    batch = next(iter(converter(ds, lengths).batch(num)))
    batch = {k: v.numpy() for k, v in batch.items()}
    assert set(batch) == {"decoder_target_tokens", "decoder_input_tokens",
                          "decoder_loss_weights", "decoder_causal_attention"}
    for row, ex in enumerate(raw):
        inputs, targets = ex["inputs"].numpy(), ex["targets"].numpy()
        assert 0 < len(inputs) <= lengths["inputs"] and 0 < len(targets) <= lengths["targets"]
        assert targets[-1] == task.output_features["targets"].vocabulary.eos_id
        n_in, n_tg = len(inputs), len(targets)
        tokens, weights = batch["decoder_target_tokens"][row], batch["decoder_loss_weights"][row]
        np.testing.assert_array_equal(tokens[:n_in + n_tg], np.concatenate([inputs, targets]))
        expected = np.zeros_like(weights)
        expected[n_in:n_in + n_tg] = 1
        np.testing.assert_array_equal(weights, expected)  # loss on target tokens only
        causal = batch["decoder_causal_attention"][row]
        assert causal[:n_in + 1].all() and not causal[n_in + 1:].any()
    packer = seqio.DecoderFeatureConverter(pack=True, use_custom_packing_ops=False)
    ds = task.get_dataset(lengths, split=split, shuffle=False).take(num)
    packed = [{k: v.numpy() for k, v in ex.items()} for ex in packer(ds, lengths)]
    assert {"decoder_positions", "decoder_segment_ids"} <= set(packed[0])
    assert sum(int(p["decoder_loss_weights"].sum()) for p in packed) == sum(
        len(ex["targets"]) for ex in raw)
    return raw[0]
