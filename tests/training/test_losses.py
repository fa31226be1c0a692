import jax
import jax.numpy as jnp
import numpy as np

from mathft_jax.models import Decoder
from mathft_jax.training import losses
from tests.training.helpers import TINY, random_batch


def test_token_log_probs_matches_log_softmax():
    logits = jax.random.normal(jax.random.key(0), (2, 5, 11)) * 3
    targets = jax.random.randint(jax.random.key(1), (2, 5), 0, 11)
    expected = jnp.take_along_axis(jax.nn.log_softmax(logits), targets[..., None], -1)[..., 0]
    np.testing.assert_allclose(losses.token_log_probs(logits, targets), expected, rtol=1e-6,
                               atol=1e-6)


def test_sft_loss_counts_only_weighted_tokens():
    params = Decoder(TINY).init(jax.random.key(0), jnp.zeros((1, 8), jnp.int32))["params"]
    batch = {k: jnp.asarray(v) for k, v in random_batch(3, 12, TINY.vocab_size).items()}
    loss_fn = jax.jit(losses.make_sft_loss(TINY))
    loss_sum, metrics = loss_fn(params, batch, jax.random.key(0))
    logits = jax.jit(Decoder(TINY).apply)({"params": params}, batch["decoder_input_tokens"])
    lp = losses.token_log_probs(logits, batch["decoder_target_tokens"])
    w = batch["decoder_loss_weights"]
    assert float(metrics["denominator"]) == float(w.sum()) == 3 * 8 - 1 - 2
    np.testing.assert_allclose(loss_sum, -(lp * w).sum(), rtol=1e-5)
    # Changing an unweighted (input / padding) target does not change the loss.
    changed = dict(batch, decoder_target_tokens=batch["decoder_target_tokens"].at[:, 0].set(7))
    np.testing.assert_allclose(loss_fn(params, changed, jax.random.key(0))[0], loss_sum, rtol=1e-6)


def test_packed_rows_equal_separate_rows():
    """Two examples packed in one row (segment ids, restarting positions) give the same loss
    sum as the two examples in rows of their own."""
    params = Decoder(TINY).init(jax.random.key(0), jnp.zeros((1, 8), jnp.int32))["params"]
    loss_fn = jax.jit(losses.make_sft_loss(TINY))
    a = random_batch(1, 6, TINY.vocab_size, seed=1, targets_from=2)
    b = random_batch(1, 5, TINY.vocab_size, seed=2, targets_from=3)
    packed = {k: np.concatenate([a[k], b[k], np.zeros((1, 1), np.int32)], 1) for k in a}
    packed["decoder_input_tokens"][0, 6] = 0  # each segment starts from BOS
    packed["decoder_positions"] = np.array([[0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 0]], np.int32)
    packed["decoder_segment_ids"] = np.array([[1] * 6 + [2] * 5 + [0]], np.int32)
    sep = loss_fn(params, a, jax.random.key(0))[0] + loss_fn(params, b, jax.random.key(0))[0]
    np.testing.assert_allclose(loss_fn(params, packed, jax.random.key(0))[0], sep, rtol=1e-5)


def test_token_log_probs_of_bfloat16_logits_are_float32():
    logits = (jax.random.normal(jax.random.key(0), (2, 5, 300)) * 8).astype(jnp.bfloat16)
    targets = jax.random.randint(jax.random.key(1), (2, 5), 0, 300)
    got = losses.token_log_probs(logits, targets)
    want = losses.token_log_probs(logits.astype(jnp.float32), targets)
    assert got.dtype == jnp.float32
    np.testing.assert_array_equal(got, want)  # the sum runs in float32, not in bfloat16
