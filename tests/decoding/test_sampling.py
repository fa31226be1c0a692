import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.decoding.sampling import NEG_INF, Greedy, Sampling, from_dict

# Probabilities [0.5, 0.3, 0.15, 0.05] as logits.
# NumPy, not JAX, at import: collecting the tests starts no JAX (mutation runs fork after it).
LOGITS = np.log(np.array([[0.5, 0.3, 0.15, 0.05]], np.float32))


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
    assert _candidates(Sampling(top_k=0)) == [0, 1, 2, 3]  # 0 is "off", not an error


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


# --- the draw itself: frequencies against the target distribution (chi-square) -------------

def _target(logits: np.ndarray, rule: Sampling) -> np.ndarray:
    """The rule's target distribution over ids, computed in numpy from its definition."""
    tempered = logits / rule.temperature
    probs = np.exp(tempered - tempered.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")
    keep = np.zeros_like(probs, dtype=bool)
    if rule.top_k:
        keep[order[:rule.top_k]] = True
    else:
        keep[:] = True
    kept = np.where(keep, probs, 0.0)
    kept /= kept.sum()
    if rule.top_p is not None:
        sorted_kept = kept[order]
        before = np.cumsum(sorted_kept) - sorted_kept
        keep[order[before >= rule.top_p]] = False
        keep[order[0]] = True
    if rule.min_p is not None:
        keep &= kept >= rule.min_p * kept.max()
    out = np.where(keep, probs, 0.0)
    return out / out.sum()


@pytest.mark.parametrize("rule", [Sampling(0.7), Sampling(1.6), Sampling(0.5, top_k=4),
                                  Sampling(1.3, top_p=0.8), Sampling(0.8, min_p=0.2),
                                  Sampling(1.5, top_k=5, top_p=0.9, min_p=0.05)],
                         ids=lambda r: str(r.to_dict()))
def test_draws_follow_the_target_distribution(rule):
    """Chi-square over 20,000 draws on 8 ids, at temperatures other than 1: a temperature
    applied twice, or a filter applied to the wrong distribution, fails it."""
    from scipy import stats
    logits = np.log(np.array([0.3, 0.2, 0.15, 0.12, 0.1, 0.07, 0.04, 0.02]))
    draws = 20000
    keys = jax.random.split(jax.random.PRNGKey(7), draws)
    tokens, _ = jax.jit(rule.sample)(jnp.asarray(np.tile(logits, (draws, 1)),
                                                 jnp.float32), keys)
    counts = np.bincount(np.asarray(tokens), minlength=8)
    target = _target(logits, rule)
    assert counts[target == 0].sum() == 0, "a filtered-out id was drawn"
    live = target > 0
    _, p_value = stats.chisquare(counts[live], draws * target[live])
    assert p_value > 1e-3, (counts.tolist(), (draws * target).round(1).tolist())
    # The same check fails against the untempered distribution (the test can tell them apart).
    untempered = _target(logits, Sampling(1.0, rule.top_k, rule.top_p, rule.min_p))
    if rule.temperature != 1.0 and (untempered > 0).sum() > 1:
        both = live & (untempered > 0)
        expected = draws * untempered[both] / untempered[both].sum() * counts[both].sum() / draws
        assert stats.chisquare(counts[both], expected)[1] < 1e-6


def test_draws_over_a_large_vocabulary_use_blocks_and_stay_exact():
    """32768 ids (the two-level path): the mass sits on ids in different blocks, including a
    block's first and last id."""
    from scipy import stats
    from mathft_jax.decoding import inverse_cdf
    vocab, hot = 32768, np.array([0, 1023, 1024, 5000, 20479, 32767])
    logits = np.full(vocab, -30.0, np.float32)
    logits[hot] = np.log([0.3, 0.25, 0.2, 0.1, 0.1, 0.05])
    draws = 6000
    u = inverse_cdf.uniforms(jax.random.split(jax.random.PRNGKey(3), draws))
    ids = np.asarray(jax.jit(inverse_cdf.draw)(jnp.tile(jnp.asarray(logits), (draws, 1)), u))
    assert set(ids.tolist()) <= set(hot.tolist())
    # Vocabulary-major logits [V, B] (the decode loop's layout) draw the same ids.
    ids_t = jax.jit(lambda l, u: inverse_cdf.draw(l, u, vocab_axis=0))(
        jnp.tile(jnp.asarray(logits)[:, None], (1, 64)), u[:64])
    np.testing.assert_array_equal(ids_t, ids[:64])
    counts = np.array([(ids == h).sum() for h in hot])
    probs = np.exp(logits[hot].astype(np.float64))
    assert stats.chisquare(counts, counts.sum() * probs / probs.sum())[1] > 1e-3


def test_inverse_cdf_picks_the_documented_ids_and_never_a_filtered_one():
    from mathft_jax.decoding import inverse_cdf
    logits = jnp.log(jnp.array([[0.5, 0.3, 0.15, 0.05]] * 5))
    u = jnp.array([0.0, 0.49, 0.5, 0.6, 0.9999])
    assert inverse_cdf.draw(logits, u).tolist() == [0, 0, 1, 1, 3]
    # Filtered ids (NEG_INF) at either end are never drawn, even at u = 0 or u -> 1.
    masked = jnp.array([[NEG_INF, 0.0, 0.0, NEG_INF]] * 2)
    assert inverse_cdf.draw(masked, jnp.array([0.0, 0.99999994])).tolist() == [1, 2]


def test_a_rows_draw_does_not_depend_on_the_other_rows():
    logits = jax.random.normal(jax.random.key(0), (9, 40000)) * 4
    keys = jax.random.split(jax.random.PRNGKey(5), 9)
    rule = Sampling(0.9)
    whole, _ = jax.jit(rule.sample)(logits, keys)
    alone = [int(jax.jit(rule.sample)(logits[i:i + 1], keys[i:i + 1])[0][0]) for i in (0, 4, 8)]
    assert alone == [int(whole[i]) for i in (0, 4, 8)]
