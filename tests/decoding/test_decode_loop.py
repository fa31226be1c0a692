import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.decoding.decode_loop import bucket_length, generate, left_pad
from mathft_jax.decoding.naive import naive_decode, truncate_at_eos
from mathft_jax.decoding.sampling import Greedy, Sampling

PROMPTS = [[5, 6, 7, 8, 9], [3], [10, 11, 12]]
EOS = 2


def _naive(tiny, prompts, rule, n, steps, rng, row_ids=None):
    cfg, params = tiny
    tokens, lengths = left_pad(prompts)
    out_t, out_lp = naive_decode(params, cfg, jnp.asarray(tokens), jnp.asarray(lengths),
                                 num_decodes=n, max_new_tokens=steps, sampling=rule, rng=rng,
                                 row_ids=None if row_ids is None else jnp.asarray(row_ids))
    return truncate_at_eos(np.asarray(out_t), np.asarray(out_lp), EOS)


@pytest.mark.parametrize("rule", [Greedy(), Sampling(temperature=1.3, top_k=20, top_p=0.9)],
                         ids=["greedy", "sample"])
def test_cached_decode_equals_naive_full_recompute(tiny, rule):
    cfg, params = tiny
    rng = jax.random.PRNGKey(1)
    out = generate(params, cfg, PROMPTS, num_decodes=3, max_new_tokens=12, sampling=rule,
                   eos_id=EOS, rng=rng)
    tokens, logprobs, lengths, ended = _naive(tiny, PROMPTS, rule, 3, 12, rng)
    np.testing.assert_array_equal(out.tokens.reshape(9, 12), tokens)
    np.testing.assert_allclose(out.logprobs.reshape(9, 12), logprobs, atol=1e-4)
    np.testing.assert_array_equal(out.lengths.ravel(), lengths)
    np.testing.assert_array_equal(out.finish_reason_names().ravel() == "eos", ended)
    assert set(out.finish_reason_names().ravel()) <= {"eos", "length"}


def test_eos_stops_rows_and_pads_after(tiny):
    cfg, params = tiny
    # Use a token that greedy decoding emits anyway as EOS, so the test does not depend on
    # which ids the random init happens to produce.
    first = generate(params, cfg, PROMPTS, max_new_tokens=6, eos_id=None)
    eos = int(first.tokens[0, 0, 2])
    out = generate(params, cfg, PROMPTS, max_new_tokens=6, eos_id=eos)
    row = out.tokens[0, 0]
    stop = int(np.flatnonzero(first.tokens[0, 0] == eos)[0])
    assert out.lengths[0, 0] == stop + 1
    assert out.finish_reason_names()[0, 0] == "eos"
    assert (row[stop + 1:] == 0).all() and (out.logprobs[0, 0, stop + 1:] == 0).all()
    np.testing.assert_array_equal(row[:stop + 1], first.tokens[0, 0, :stop + 1])
    assert (first.lengths == 6).all() and (first.finish_reason_names() == "length").all()


def test_stop_sequences(tiny):
    cfg, params = tiny
    first = generate(params, cfg, PROMPTS, max_new_tokens=8, eos_id=None)
    seq = first.tokens[2, 0, 3:5].tolist()
    out = generate(params, cfg, PROMPTS, max_new_tokens=8, eos_id=None, stop_sequences=[seq])
    assert out.finish_reason_names()[2, 0] == "stop"
    assert out.lengths[2, 0] <= 5
    got = out.sequences()[2][0]
    assert got[-2:] == seq and got == first.tokens[2, 0, :len(got)].tolist()


def test_ragged_prompts_do_not_depend_on_padding_or_batch(tiny):
    cfg, params = tiny
    rule = Sampling(temperature=1.0)
    rng = jax.random.PRNGKey(7)
    batched = generate(params, cfg, PROMPTS, num_decodes=2, max_new_tokens=8, sampling=rule,
                       eos_id=EOS, rng=rng)
    for i, prompt in enumerate(PROMPTS):
        alone = generate(params, cfg, [prompt], num_decodes=2, max_new_tokens=8, sampling=rule,
                         eos_id=EOS, rng=rng, row_ids=[i], padded_length=32)
        np.testing.assert_array_equal(alone.tokens[0], batched.tokens[i])
        np.testing.assert_allclose(alone.logprobs[0], batched.logprobs[i], atol=1e-4)


def test_shapes_seeds_and_distinct_samples(tiny):
    cfg, params = tiny
    rule = Sampling(temperature=1.5)
    kw = dict(num_decodes=4, max_new_tokens=10, sampling=rule, eos_id=None)
    a = generate(params, cfg, PROMPTS, rng=jax.random.PRNGKey(3), **kw)
    b = generate(params, cfg, PROMPTS, rng=jax.random.PRNGKey(3), **kw)
    c = generate(params, cfg, PROMPTS, rng=jax.random.PRNGKey(4), **kw)
    assert a.tokens.shape == a.logprobs.shape == (3, 4, 10)
    assert a.lengths.shape == a.finish_reasons.shape == (3, 4)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    assert not np.array_equal(a.tokens, c.tokens)
    # The N samples of one prompt differ from each other.
    assert len({tuple(a.tokens[0, n]) for n in range(4)}) > 1


def test_padded_array_input_and_errors(tiny):
    cfg, params = tiny
    array = np.array([[5, 6, 7, 8, 9], [3, 0, 0, 0, 0]])
    a = generate(params, cfg, array, [5, 1], max_new_tokens=4, eos_id=None)
    b = generate(params, cfg, PROMPTS[:2], max_new_tokens=4, eos_id=None)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    with pytest.raises(ValueError, match="empty prompts"):
        generate(params, cfg, [[1], []], max_new_tokens=4, eos_id=None)
    with pytest.raises(ValueError, match="rng"):
        generate(params, cfg, [[1]], max_new_tokens=4, eos_id=None, sampling=Sampling())


def test_left_pad_and_buckets():
    tokens, lengths = left_pad([[5, 6, 7], [8]], padded_length=4)
    assert tokens.tolist() == [[0, 5, 6, 7], [0, 0, 0, 8]] and lengths.tolist() == [3, 1]
    assert [bucket_length(n) for n in (1, 9, 300, 513, 1000)] == [8, 16, 512, 768, 1024]


def test_sliding_window_model_decodes_like_the_naive_loop():
    """generate keeps window layers in ring buffers; greedy output equals full recompute."""
    import dataclasses

    import flax.linen as nn

    from mathft_jax.models import Decoder
    from tests.decoding.conftest import TINY
    cfg = dataclasses.replace(TINY, num_layers=3, sliding_window=5, local_global_pattern="LLG")
    params = nn.meta.unbox(Decoder(cfg).init(jax.random.PRNGKey(1),
                                             jnp.zeros((1, 4), jnp.int32))["params"])
    prompts = [[5, 6, 7, 8, 9, 10, 11, 12, 13], [3, 4]]  # longer and shorter than the window
    tokens, lengths = left_pad(prompts)
    want, _ = naive_decode(params, cfg, jnp.asarray(tokens), jnp.asarray(lengths),
                           num_decodes=1, max_new_tokens=14, sampling=Greedy(),
                           rng=jax.random.PRNGKey(0))
    out = generate(params, cfg, prompts, max_new_tokens=14, eos_id=None)
    np.testing.assert_array_equal(out.tokens[:, 0], np.asarray(want))
