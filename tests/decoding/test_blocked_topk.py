import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.decoding import blocked_topk


def test_block_size_is_the_largest_divisor_not_above_target():
    assert blocked_topk.block_size(262144, 1024) == 1024
    assert blocked_topk.block_size(32000, 1024) == 1000
    assert blocked_topk.block_size(151936, 1024) == 128  # 2^7 x 1187
    assert blocked_topk.block_size(7919, 1024) == 1  # a prime vocabulary


@pytest.mark.parametrize("vocab", [4096, 32000, 7919, 48])
def test_argmax_equals_jnp_argmax_with_ties(vocab):
    logits = jax.random.normal(jax.random.key(0), (6, vocab)) * 3
    logits = logits.at[1, vocab // 2].set(50.0).at[1, vocab - 1].set(50.0)  # tie, 2 blocks
    logits = logits.at[2, 5].set(40.0).at[2, 6].set(40.0)  # tie inside one block
    logits = logits.at[3].set(1.0)  # all equal: id 0
    got = blocked_topk.argmax(logits)
    np.testing.assert_array_equal(got, jnp.argmax(logits, axis=-1))
    np.testing.assert_array_equal(blocked_topk.argmax(logits.T, vocab_axis=0), got)
    assert got.dtype == jnp.int32
    assert int(got[1]) == vocab // 2 and int(got[2]) == 5 and int(got[3]) == 0


@pytest.mark.parametrize("vocab,k", [(4096, 64), (32000, 40), (7919, 8), (4096, 1), (256, 64)])
def test_top_k_equals_lax_top_k_with_ties(vocab, k):
    logits = jax.random.normal(jax.random.key(1), (5, vocab)) * 2
    # Many ties across blocks: a coarse grid of values.
    logits = logits.at[0].set(jnp.round(logits[0]))
    logits = logits.at[1].set(0.0)
    # The top values concentrated in one block.
    logits = logits.at[2, 100:100 + k].set(9.0 + jnp.arange(k) / k)
    want_values, want_ids = jax.lax.top_k(logits, k)
    values, ids = blocked_topk.top_k(logits, k)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(values, want_values)
    assert ids.dtype == jnp.int32
    values_t, ids_t = blocked_topk.top_k(logits.T, k, vocab_axis=0)
    np.testing.assert_array_equal(ids_t, want_ids)
    np.testing.assert_array_equal(values_t, want_values)


def test_reductions_compile_under_jit_and_vmap_free_batch():
    logits = jax.random.normal(jax.random.key(2), (3, 262144))
    np.testing.assert_array_equal(jax.jit(blocked_topk.argmax)(logits),
                                  jnp.argmax(logits, axis=-1))
    values, ids = jax.jit(lambda x: blocked_topk.top_k(x, 64))(logits)
    np.testing.assert_array_equal(ids, jax.lax.top_k(logits, 64)[1])


def test_log_softmax_at_matches_log_softmax_in_both_layouts():
    logits = jax.random.normal(jax.random.key(3), (5, 1000)) * 4
    tokens = jnp.asarray([0, 999, 7, 500, 3])
    want = jnp.take_along_axis(jax.nn.log_softmax(logits, -1), tokens[:, None], -1)[:, 0]
    np.testing.assert_allclose(blocked_topk.log_softmax_at(logits, tokens), want,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(blocked_topk.log_softmax_at(logits.T, tokens, vocab_axis=0),
                               want, rtol=1e-5, atol=1e-5)
    for axis, layout in ((-1, logits), (0, logits.T)):
        row_max, _ = blocked_topk.max_and_argmax(layout, axis)
        np.testing.assert_array_equal(row_max, logits.max(-1))
        np.testing.assert_allclose(blocked_topk.log_softmax_at(layout, tokens, axis, row_max),
                                   want, rtol=1e-5, atol=1e-5)


def test_three_dimensional_logits_are_refused():
    with pytest.raises(ValueError, match="2-D"):
        blocked_topk.argmax(jnp.zeros((2, 3, 4)))
