"""The evaluator losses by hand, on fixed logits instead of a decoder (fast to run).

Vocabulary of 4 tokens; the positive label word is token 1, the negative one token 2.
log_sigmoid(x) = -log(1 + e^-x). test_losses.py trains a tiny decoder with the same losses.
"""

import math
import types

import jax.numpy as jnp
import numpy as np
import pytest
import seqio

from mathft_jax.errors import ConfigError
from mathft_jax.evaluator import losses, tasks
from mathft_jax.evaluator.label_words import LabelWords
from mathft_jax.models import Decoder
from tests.training.helpers import TINY

POS, NEG = 1, 2


def _ls(x):
    return -math.log1p(math.exp(-x))


@pytest.fixture()
def task(monkeypatch):
    """kind -> a task registered as an evaluator task of that kind, label words POS, NEG."""
    class ToyInfo(tasks.EvaluatorTaskInfo):
        def label_words(self):
            return LabelWords((), POS, NEG)

    for kind in ("classification", "pair", "tokens"):
        monkeypatch.setitem(tasks._REGISTERED, f"toy_{kind}",
                            (None, ToyInfo(kind, "{problem}{solution}", "+", "-",
                                           seqio.ByteVocabulary())))
    return lambda kind: types.SimpleNamespace(name=f"toy_{kind}")


# Stands for the parameters: the fake `model_logits` checks that the loss hands them on.
PARAMS = {"toy": "params"}


def _with_logits(monkeypatch, logits):
    """Replaces the decoder run by fixed logits; the loss must still hand the fake the
    decoder of the config, the parameters it got, and the batch."""
    def fake(model, params, batch):
        assert isinstance(model, Decoder) and model.config == TINY, model
        assert params is PARAMS, params
        assert "decoder_input_tokens" in batch and "decoder_loss_weights" in batch
        return jnp.asarray(logits, jnp.float32)
    monkeypatch.setattr(losses, "model_logits", fake)


# Row 0 reads a correct label at slot 1 (l+ - l- = 3 - 1); row 1 incorrect ones at slot 0
# (l+ - l- = 1: the model is wrong there) and at slot 1 (a tie, which counts as "negative").
# Row 0's slot 2 is weighted but its target (3) is no label word, and row 0's slot 0 is not
# weighted: neither counts.
CLS_LOGITS = [[[0, 0, 9, 0], [0, 3, 1, 0], [0, 0, 7, 0]],
              [[0, 1, 0, 5], [0, 4, 4, 0], [0, 0, 0, 0]]]
CLS_BATCH = {"decoder_input_tokens": [[0, 0, 0], [0, 0, 0]],
             "decoder_target_tokens": [[POS, POS, 3], [NEG, NEG, 0]],
             "decoder_loss_weights": [[0, 1, 1], [1, 1, 0]]}


@pytest.mark.parametrize("over,want", [
    ("label_words", math.log1p(math.exp(-2)) + math.log1p(math.e) + math.log(2)),
    # -log p(+) at row 0's slot, -log p(-) at row 1's two.
    ("vocabulary", math.log(2 + math.e + math.exp(3)) - 3 + math.log(2 + math.e + math.exp(5))
     + math.log(2 + 2 * math.exp(4)) - 4)])
def test_classification_loss_by_hand(task, monkeypatch, over, want):
    _with_logits(monkeypatch, CLS_LOGITS)
    kwargs = {} if over == "label_words" else {"over": over}  # label words: the default
    loss_fn = losses.make_evaluator_loss(TINY, task("classification"), **kwargs)
    batch = {k: jnp.asarray(v) for k, v in CLS_BATCH.items()}
    loss_sum, metrics = loss_fn(PARAMS, batch, None)
    assert float(loss_sum) == pytest.approx(want, rel=1e-6)
    assert {k: float(v) for k, v in metrics.items()} == pytest.approx(
        {"denominator": 3.0, "loss_sum": want, "accuracy_sum": 2.0}, rel=1e-6)


# Row 0: a pair, chosen (segment 1) read at slot 1 with l+ - l- = 1, rejected (segment 2)
# read at slot 3 with l+ - l- = 0.5, then padding. Row 1 lost its rejected half (cut by the
# length): it has no rejected read slot and counts for nothing.
PAIR_LOGITS = [[[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0.5, 0, 3], [0, 9, 0, 0]],
               [[0, 0, 0, 0], [0, 0, 4, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]]
PAIR_BATCH = {"decoder_input_tokens": [[0] * 5] * 2, "decoder_target_tokens": [[0] * 5] * 2,
              "decoder_loss_weights": [[0, 1, 0, 1, 0], [0, 1, 0, 0, 0]],
              "decoder_segment_ids": [[1, 1, 2, 2, 0], [1, 1, 1, 1, 1]]}
MARGIN_TERM = _ls(0.5) - _ls(1.0) + 0.5  # 0.339: inside the hinge
CE_TERM = 0.5 * (-_ls(1.0) - _ls(-0.5))  # -log S(x+) and -log(1 - S(x-))


@pytest.mark.parametrize("loss,kwargs,want", [
    ("margin", {}, MARGIN_TERM),  # margin 0.5 by default
    ("margin", {"margin": 0.3}, MARGIN_TERM - 0.2),
    ("mixture", {}, 0.5 * CE_TERM + 0.5 * MARGIN_TERM),  # weight 0.5 by default
    ("mixture", {"mixture_weight": 0.25}, 0.25 * CE_TERM + 0.75 * MARGIN_TERM),
    ("mixture", {"mixture_weight": 1.0, "over": "vocabulary"},
     0.5 * (math.log(3 + math.e) - 1 + math.log(2 + math.exp(0.5) + math.exp(3))))])
def test_pair_losses_by_hand(task, monkeypatch, loss, kwargs, want):
    _with_logits(monkeypatch, PAIR_LOGITS)
    loss_fn = losses.make_evaluator_loss(TINY, task("pair"), loss, **kwargs)
    batch = {k: jnp.asarray(v) for k, v in PAIR_BATCH.items()}
    loss_sum, metrics = loss_fn(PARAMS, batch, None)
    assert float(loss_sum) == pytest.approx(want, rel=1e-5)
    margin = MARGIN_TERM + kwargs.get("margin", 0.5) - 0.5
    assert {k: float(v) for k, v in metrics.items()} == pytest.approx(
        {"denominator": 1.0, "loss_sum": want, "accuracy_sum": 1.0, "margin_sum": margin},
        rel=1e-5)


def test_pair_with_the_rejected_above_is_not_ordered_and_hinge_saturates(task, monkeypatch):
    # Chosen l+ - l- = 0.5, rejected 1: the margin term is log S(x-) - log S(x+) + 0.5; with a
    # margin of -1 the hinge is 0.
    logits = np.asarray(PAIR_LOGITS)
    logits[0, 1, POS], logits[0, 3, POS] = 0.5, 1.0
    _with_logits(monkeypatch, logits)
    batch = {k: jnp.asarray(v) for k, v in PAIR_BATCH.items()}
    _, metrics = losses.make_evaluator_loss(TINY, task("pair"), "margin")(PARAMS, batch, None)
    assert float(metrics["accuracy_sum"]) == 0.0
    assert float(metrics["margin_sum"]) == pytest.approx(_ls(1) - _ls(0.5) + 0.5, rel=1e-6)
    _, metrics = losses.make_evaluator_loss(TINY, task("pair"), "margin", margin=-1.0)(
        PARAMS, batch, None)
    assert float(metrics["margin_sum"]) == 0.0


def test_likelihood_loss_by_hand(task, monkeypatch):
    """Equal logits: every token has log p = -log 4. Row 0: one token weighted 1 (argmax 0 is
    its target), a wrong result of two tokens (weight -1: p = 1/16) and one of one token
    (weight -2: p = 1/4). Row 1: a wrong result the model is sure of (p = 1 in float32),
    which costs -log(1 - e^-1e-6) instead of infinity."""
    logits = np.zeros((2, 5, 4), np.float32)
    logits[1, 4, 0] = 100.0
    _with_logits(monkeypatch, logits)
    batch = {"decoder_input_tokens": jnp.zeros((2, 5), jnp.int32),
             "decoder_target_tokens": jnp.asarray([[0, 0, 1, 2, 3], [0, 0, 0, 0, 0]]),
             "decoder_loss_weights": jnp.asarray([[0, 1, -1, -1, -2], [0, 0, 0, 0, -1]])}
    loss_sum, metrics = losses.make_evaluator_loss(TINY, task("tokens"), "likelihood")(
        PARAMS, batch, None)
    lm = math.log(4)
    unlikely = -math.log(15 / 16) - math.log(3 / 4) - math.log(-math.expm1(-1e-6))
    assert float(loss_sum) == pytest.approx(lm + unlikely, rel=1e-5)
    assert {k: float(v) for k, v in metrics.items()} == pytest.approx(
        {"denominator": 4.0, "loss_sum": lm + unlikely, "likelihood_sum": lm,
         "unlikelihood_sum": unlikely, "wrong_results": 3.0, "accuracy_sum": 1.0}, rel=1e-5)


@pytest.mark.parametrize("kind,kwargs,match", [
    ("classification", {"loss": "hinge"}, r"loss must be one of \('classification'"),
    ("classification", {"over": "tokens"}, r"over must be one of \('label_words'"),
    ("pair", {"loss": "mixture", "mixture_weight": -0.5}, r"must be in \[0, 1\], got -0.5"),
    ("pair", {}, "the 'classification' loss needs a classification evaluator task, but "
                 "'toy_pair' is a 'pair' task"),
    ("tokens", {"loss": "margin"}, "got loss 'margin' for 'toy_tokens', a 'tokens' task"),
    ("pair", {"loss": "likelihood"}, "got loss 'likelihood' for 'toy_pair', a 'pair' task")])
def test_settings_that_are_refused(task, kind, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        losses.make_evaluator_loss(TINY, task(kind), **kwargs)


def test_pair_terms_stay_per_row(task, monkeypatch):
    # Two copies of PAIR_LOGITS' complete pair in one batch: each row's margin term is its own
    # (MARGIN_TERM), not one read from the other row's slots.
    _with_logits(monkeypatch, [PAIR_LOGITS[0], PAIR_LOGITS[0]])
    batch = {k: jnp.asarray([v[0], v[0]]) for k, v in PAIR_BATCH.items()}
    loss_sum, metrics = losses.make_evaluator_loss(TINY, task("pair"), "margin")(PARAMS, batch, None)
    assert float(loss_sum) == pytest.approx(2 * MARGIN_TERM, rel=1e-5)
    assert float(metrics["denominator"]) == 2.0
