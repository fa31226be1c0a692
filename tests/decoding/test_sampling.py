import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.decoding.sampling import NEG_INF, Greedy, Sampling, from_dict

# Probabilities [0.5, 0.3, 0.15, 0.05] as logits.
LOGITS = jnp.log(jnp.array([[0.5, 0.3, 0.15, 0.05]]))


def _candidates(rule, logits=LOGITS):
    values, ids = rule.filtered_logits(logits)
    return sorted(np.asarray(ids[0])[np.asarray(values[0]) > NEG_INF / 2].tolist())


def test_filters_match_docstring_examples():
    assert _candidates(Sampling(top_k=3)) == [0, 1, 2]
    assert _candidates(Sampling(top_k=3, top_p=0.7)) == [0, 1]
    assert _candidates(Sampling(top_p=0.5)) == [0]
    assert _candidates(Sampling(top_p=0.81)) == [0, 1, 2]
    assert _candidates(Sampling(min_p=0.5)) == [0, 1]
    assert _candidates(Sampling(top_k=1)) == [0]
    assert _candidates(Sampling()) == [0, 1, 2, 3]


def test_top_p_applies_to_tempered_and_top_k_renormalised_distribution():
    # After top_k=2 the renormalised probabilities are [0.625, 0.375]: top_p=0.6 keeps one.
    assert _candidates(Sampling(top_k=2, top_p=0.6)) == [0]
    # A high temperature flattens the distribution, so top_p keeps more tokens.
    assert len(_candidates(Sampling(temperature=10.0, top_p=0.6))) > len(
        _candidates(Sampling(temperature=1.0, top_p=0.6)))


def test_samples_stay_inside_the_candidate_set_and_follow_its_distribution():
    rule = Sampling(top_k=3, top_p=0.7)
    keys = jax.random.split(jax.random.PRNGKey(0), 4000)
    tokens, logprobs = rule.sample(jnp.repeat(LOGITS, 4000, 0), keys)
    counts = np.bincount(np.asarray(tokens), minlength=4)
    assert counts[2] == counts[3] == 0
    assert abs(counts[0] / 4000 - 0.625) < 0.03
    # The reported log-prob is the untempered, unfiltered model's.
    np.testing.assert_allclose(np.asarray(logprobs)[np.asarray(tokens) == 1], np.log(0.3),
                               rtol=1e-5)


def test_greedy_and_validation():
    tokens, logprobs = Greedy().sample(jnp.array([[0.0, 2.0, 1.0]]), None)
    assert tokens.tolist() == [1]
    np.testing.assert_allclose(logprobs, jax.nn.log_softmax(jnp.array([0.0, 2.0, 1.0]))[1],
                               rtol=1e-6)
    for bad in (dict(temperature=0.0), dict(top_p=0.0), dict(top_p=1.5), dict(top_k=-1),
                dict(min_p=2.0)):
        with pytest.raises(ValueError):
            Sampling(**bad)


def test_to_dict_round_trip():
    for rule in (Greedy(), Sampling(0.9, top_k=40, top_p=0.95, min_p=0.05)):
        assert from_dict(rule.to_dict()) == rule
    with pytest.raises(ValueError, match="unknown sampling rule"):
        from_dict({"name": "beam"})


@pytest.mark.parametrize("rule", [Greedy(), Sampling(0.7, top_k=64, top_p=0.95), Sampling(),
                                  Sampling(top_p=0.9), Sampling(top_k=5, min_p=0.1)])
def test_vocab_major_logits_give_the_same_tokens(rule):
    logits = jax.random.normal(jax.random.key(4), (6, 4096)) * 3
    keys = jax.random.split(jax.random.PRNGKey(1), 6)
    tokens, logprobs = rule.sample(logits, keys)
    tokens_t, logprobs_t = jax.jit(lambda l, k: rule.sample(l, k, vocab_axis=0))(logits.T, keys)
    np.testing.assert_array_equal(tokens_t, tokens)
    np.testing.assert_allclose(logprobs_t, logprobs, rtol=1e-6, atol=1e-6)
