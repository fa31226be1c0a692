"""Toy cases of the evaluator losses (evaluator/losses.py) on a tiny decoder."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import seqio

from mathft_jax.evaluator import losses, tasks
from mathft_jax.evaluator.label_words import LabelWords
from mathft_jax.models import Decoder
from tests import kit

CFG = kit.tiny_config(vocab_size=32, num_layers=1, embed_dim=16, mlp_dim=32, num_heads=2,
                      num_kv_heads=1, head_dim=8, max_seq_len=32)
POS, NEG = 5, 6


@pytest.fixture()
def fake_tasks(monkeypatch):
    """A classification and a pair evaluator task (registry entries only) with label words
    whose remaining tokens are POS and NEG."""
    class ToyInfo(tasks.EvaluatorTaskInfo):
        def label_words(self):
            return LabelWords((), POS, NEG)

    def info(kind):
        return ToyInfo(kind, "{problem}{solution}", "+", "-", seqio.ByteVocabulary())
    monkeypatch.setitem(tasks._REGISTERED, "toy_cls", (None, info("classification")))
    monkeypatch.setitem(tasks._REGISTERED, "toy_pair", (None, info("pair")))
    return types.SimpleNamespace(cls=types.SimpleNamespace(name="toy_cls"),
                                 pair=types.SimpleNamespace(name="toy_pair"))


def _params():
    return Decoder(CFG).init(jax.random.key(0), jnp.zeros((1, 8), jnp.int32))["params"]


def _cls_batch(prompt, label_token):
    n = len(prompt)
    return {"decoder_input_tokens": jnp.asarray([prompt + [0]]),
            "decoder_target_tokens": jnp.asarray([prompt[1:] + [label_token, 0]]),
            "decoder_loss_weights": jnp.asarray([[0] * (n - 1) + [1, 0]])}


def _pair_batch(chosen, rejected):
    tokens = chosen + rejected
    read = [0] * len(tokens)
    read[len(chosen) - 1] = read[-1] = 1
    return {"decoder_input_tokens": jnp.asarray([tokens]),
            "decoder_target_tokens": jnp.asarray([tokens]),
            "decoder_loss_weights": jnp.asarray([read]),
            "decoder_positions": jnp.asarray([list(range(len(chosen)))
                                              + list(range(len(rejected)))]),
            "decoder_segment_ids": jnp.asarray([[1] * len(chosen) + [2] * len(rejected)])}


def _score(params, prompt):
    logits = Decoder(CFG).apply({"params": params}, jnp.asarray([prompt]))[0, -1]
    return float(jax.nn.sigmoid(logits[POS] - logits[NEG]))


def _train(loss_fn, params, batch, steps=20, lr=0.05):
    opt = optax.sgd(lr)
    state = opt.init(params)
    grad = jax.jit(jax.grad(lambda p: loss_fn(p, batch, None)[0]))
    for _ in range(steps):
        updates, state = opt.update(grad(params), state)
        params = optax.apply_updates(params, updates)
    return params


@pytest.mark.parametrize("over", ["label_words", "vocabulary"])
def test_classification_raises_s_of_a_correct_example(fake_tasks, over):
    loss_fn = losses.make_evaluator_loss(CFG, fake_tasks.cls, "classification", over=over)
    params, prompt = _params(), [3, 9, 12, 4]
    before = _score(params, prompt)
    after = _score(_train(loss_fn, params, _cls_batch(prompt, POS)), prompt)
    assert after > before + 0.1
    lowered = _score(_train(loss_fn, params, _cls_batch(prompt, NEG)), prompt)
    assert lowered < before - 0.1


def test_margin_puts_the_correct_solution_above(fake_tasks):
    loss_fn = losses.make_evaluator_loss(CFG, fake_tasks.pair, "margin", margin=1.0)
    params, good, bad = _params(), [3, 9, 12, 4], [3, 9, 13, 7]
    batch = _pair_batch(good, bad)
    loss_before = float(loss_fn(params, batch, None)[0])
    trained = _train(loss_fn, params, batch)
    assert _score(trained, good) > _score(trained, bad)
    assert float(loss_fn(trained, batch, None)[0]) < loss_before
    # log S(x+) - log S(x-) reached the margin: the hinge is (nearly) flat.
    assert float(loss_fn(trained, batch, None)[1]["margin_sum"]) < 0.5 * loss_before


def test_mixture_weight_0_is_margin_and_1_is_classification(fake_tasks):
    params, batch = _params(), _pair_batch([3, 9, 12, 4], [3, 9, 13, 7])
    margin = losses.make_evaluator_loss(CFG, fake_tasks.pair, "margin", margin=0.7)
    mix0 = losses.make_evaluator_loss(CFG, fake_tasks.pair, "mixture", margin=0.7,
                                      mixture_weight=0.0)
    assert float(mix0(params, batch, None)[0]) == float(margin(params, batch, None)[0])
    g_margin = jax.grad(lambda p: margin(p, batch, None)[0])(params)
    g_mix0 = jax.grad(lambda p: mix0(p, batch, None)[0])(params)
    for a, b in zip(jax.tree_util.tree_leaves(g_margin), jax.tree_util.tree_leaves(g_mix0)):
        np.testing.assert_array_equal(a, b)
    # weight 1: the mean of -log S(x+) and -log(1 - S(x-)).
    mix1 = losses.make_evaluator_loss(CFG, fake_tasks.pair, "mixture", mixture_weight=1.0)
    s_good, s_bad = _score(params, [3, 9, 12, 4]), _score(params, [3, 9, 13, 7])
    want = 0.5 * (-np.log(s_good) - np.log(1 - s_bad))
    np.testing.assert_allclose(float(mix1(params, batch, None)[0]), want, rtol=1e-5)


@pytest.mark.parametrize("loss,task", [("classification", "cls"), ("margin", "pair"),
                                       ("mixture", "pair")])
def test_finite_when_both_label_probabilities_underflow(fake_tasks, monkeypatch, loss, task):
    """p(+) and p(-) both exp(-4e4) ~ 0 in float32: losses and gradients stay finite."""
    monkeypatch.setattr(losses, "model_logits", lambda model, params, batch: params["logits"])
    batch = (_cls_batch([3, 9, 12, 4], POS) if task == "cls"
             else _pair_batch([3, 9, 12, 4], [3, 9, 13, 7]))
    t = batch["decoder_input_tokens"].shape[1]
    logits = jnp.full((1, t, CFG.vocab_size), 2e4).at[..., POS].set(-2e4).at[..., NEG].set(-2e4)
    loss_fn = losses.make_evaluator_loss(CFG, getattr(fake_tasks, task), loss)
    value, grads = jax.value_and_grad(lambda p: loss_fn(p, batch, None)[0])({"logits": logits})
    assert np.isfinite(float(value))
    assert np.isfinite(np.asarray(grads["logits"])).all()


def test_wrong_task_kind_and_settings_are_refused(fake_tasks):
    from mathft_jax.errors import ConfigError
    with pytest.raises(ConfigError, match="needs a pair evaluator task"):
        losses.make_evaluator_loss(CFG, fake_tasks.cls, "margin")
    with pytest.raises(ConfigError, match="mixture_weight"):
        losses.make_evaluator_loss(CFG, fake_tasks.pair, "mixture", mixture_weight=2.0)
    with pytest.raises(ConfigError, match="no evaluator task"):
        losses.make_evaluator_loss(CFG, types.SimpleNamespace(name="other"), "margin")
