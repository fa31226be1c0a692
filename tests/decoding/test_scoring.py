import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.decoding.scoring import label_word_probs, score_continuations
from mathft_jax.models import Decoder

PROMPTS = [[5, 6], [9], [10, 11, 12, 13]]
CONTS = [[7, 8], [3], []]


def _naive_logprob(cfg, params, prompt, cont):
    seq = jnp.asarray([prompt + cont])
    logprobs = jax.nn.log_softmax(Decoder(cfg).apply({"params": params}, seq)[0], axis=-1)
    return [float(logprobs[len(prompt) - 1 + i, tok]) for i, tok in enumerate(cont)]


def test_scores_match_per_example_forward(tiny):
    cfg, params = tiny
    out = score_continuations(params, cfg, PROMPTS, CONTS)
    for i, (p, c) in enumerate(zip(PROMPTS, CONTS)):
        expect = _naive_logprob(cfg, params, p, c)
        np.testing.assert_allclose(out.per_token[i, :len(c)], expect, atol=1e-5)
        assert out.mask[i].sum() == len(c) and (out.per_token[i, len(c):] == 0).all()
        np.testing.assert_allclose(out.total[i], sum(expect), atol=1e-5)
    assert out.total[2] == 0.0


@pytest.mark.parametrize("positive,negative", [([11], [12]), ([9, 11], [9, 12])])
def test_label_word_probs(tiny, positive, negative):
    """One pass reads both words; a shared first token cancels in S (products of the words'
    token probabilities, computed naively, give the same S)."""
    cfg, params = tiny
    s = label_word_probs(params, cfg, PROMPTS, positive=positive, negative=negative)
    for i, p in enumerate(PROMPTS):
        lp_pos = sum(_naive_logprob(cfg, params, p, positive))
        lp_neg = sum(_naive_logprob(cfg, params, p, negative))
        expect = np.exp(lp_pos) / (np.exp(lp_pos) + np.exp(lp_neg))
        np.testing.assert_allclose(s.score[i], expect, rtol=1e-4)
        last_pos = _naive_logprob(cfg, params, p + positive[:-1], positive[-1:])[0]
        np.testing.assert_allclose(s.positive_logprob[i], last_pos, atol=1e-5)


def test_errors(tiny):
    cfg, params = tiny
    with pytest.raises(ValueError, match="continuations"):
        score_continuations(params, cfg, [[1]], [[2], [3]])
    with pytest.raises(ValueError, match="empty prompts"):
        score_continuations(params, cfg, [[]], [[2]])
    with pytest.raises(ValueError, match="label words"):
        label_word_probs(params, cfg, [[1]], [], [2])
    with pytest.raises(ValueError, match="one final token"):
        label_word_probs(params, cfg, [[1]], [11], [12, 13])
