"""Evaluator losses: label-word classification, pairwise margin, and their mixture.

All follow the loss contract of `training/losses.py` (`loss_fn(params, batch, rng) ->
(loss_sum, metrics)` with sums and a `denominator`) and read the model's next-token logits at
the slots whose `decoder_loss_weights` is 1: the evaluator prompt's last token, where the label
word (`label_words.LabelWords`) comes next.

Notation at a read slot, with l+ / l- the logits of the positive / negative label token:

    log S   = log p(+) - log(p(+) + p(-)) = log_sigmoid(l+ - l-)
    log (1 - S) = log_sigmoid(l- - l+)

Computed from the logit difference, both stay finite when p(+) and p(-) underflow to 0.

Losses (per example, then summed; `denominator` counts examples, so the reported loss is the
mean per example, and per-token and per-example terms never mix):

* "classification" on the classification task (prefix-LM rows, packed or not; the target
  token says the label): over="label_words" (default) is -log S for a correct solution and
  -log(1 - S) for an incorrect one, i.e. a two-way softmax over the label words: exactly the
  quantity S used to re-rank, and no capacity is spent pushing down the other 2^k tokens.
  over="vocabulary" is the full-vocabulary cross-entropy -log p(label token) (what the SFT
  loss computes on the same rows; the joint generation + evaluation mixture uses that).
* "margin" on the pair task (`pairs.PairFeatureConverter` rows): per pair
  max(0, log S(x-) - log S(x+) + margin).
* "mixture" on the pair task: per pair
  weight * (CE(x+) + CE(x-)) / 2 + (1 - weight) * margin term, CE as in "classification"
  on the pair's two halves; weight 0 is exactly "margin", weight 1 exactly the classification
  loss averaged over both halves.
* "likelihood" on the token task (`verifier.TokenFeatureConverter` rows, the likelihood
  verifier): -log p(token) on tokens weighted 1, and -log(1 - p(result)) per wrong result
  (tokens weighted -k, their log-probs summed into log p(result)); `denominator` counts the
  tokens plus the wrong results.
"""

from __future__ import annotations

from typing import Any

import gin
import jax
import jax.numpy as jnp

from mathft_jax.evaluator.label_words import LabelWords
from mathft_jax.evaluator.tasks import evaluator_info_of
from mathft_jax.evaluator.verifier import MAX_WRONG_STEPS
from mathft_jax.errors import ConfigError
from mathft_jax.models import Decoder, ModelConfig
from mathft_jax.models.logprobs import picked_logits, token_log_probs
from mathft_jax.training.losses import LossFn, model_logits

LOSSES = ("classification", "margin", "mixture", "likelihood")
OVER = ("label_words", "vocabulary")


def make_evaluator_loss(model_config: ModelConfig, task: Any, loss: str = "classification",
                        over: str = "label_words", margin: float = 0.5,
                        mixture_weight: float = 0.5) -> LossFn:
    """The evaluator loss named `loss` (see the module docstring).

    Args:
      model_config: the decoder.
      task: the evaluator task (or a mixture holding one): gives the label words.
      loss: "classification", "margin", "mixture" or "likelihood" (token tasks).
      over: for classification terms, "label_words" or "vocabulary".
      margin: the margin lambda (in nats of log S).
      mixture_weight: the classification share of "mixture", in [0, 1].
    """
    if loss not in LOSSES:
        raise ConfigError(f"make_evaluator_loss.loss must be one of {LOSSES}, got {loss!r}")
    if over not in OVER:
        raise ConfigError(f"make_evaluator_loss.over must be one of {OVER}, got {over!r}")
    if not 0.0 <= mixture_weight <= 1.0:
        raise ConfigError(f"make_evaluator_loss.mixture_weight must be in [0, 1], got "
                          f"{mixture_weight}")
    info = evaluator_info_of(task)
    if (loss == "likelihood") != (info.kind == "tokens"):
        raise ConfigError(f"the 'likelihood' loss goes with a 'tokens' evaluator task (and only "
                          f"it): got loss {loss!r} for {task.name!r}, a {info.kind!r} task")
    if loss == "likelihood":
        return _likelihood_loss(Decoder(model_config))
    paired = loss != "classification"
    if paired != (info.kind == "pair"):
        raise ConfigError(f"the {loss!r} loss needs a {'pair' if paired else 'classification'} "
                          f"evaluator task, but {task.name!r} is a {info.kind!r} task")
    words = info.label_words()
    model = Decoder(model_config)
    if not paired:
        return _classification_loss(model, words, over)
    weight = mixture_weight if loss == "mixture" else 0.0
    return _pair_loss(model, words, over, margin, weight)


# Not a decorator: mutmut skips decorated functions (tests/mutation_report.md).
make_evaluator_loss = gin.register(make_evaluator_loss, module="mathft_jax.evaluator")


def label_logits(logits: jax.Array, words: LabelWords) -> tuple[jax.Array, jax.Array]:
    """(l+, l-) at every slot: [B, T, V] -> two [B, T] float32 arrays."""
    shape = logits.shape[:-1]
    pos = picked_logits(logits, jnp.full(shape, words.positive, jnp.int32))
    neg = picked_logits(logits, jnp.full(shape, words.negative, jnp.int32))
    return pos, neg


def _cross_entropy(logits, pos, neg, is_positive, over: str) -> jax.Array:
    """-log S or -log(1 - S) (label words), or -log p(label token) (vocabulary), per slot."""
    if over == "label_words":
        return -jax.nn.log_sigmoid(jnp.where(is_positive, pos - neg, neg - pos))
    lse = jax.nn.logsumexp(logits.astype(jnp.float32), axis=-1)
    return lse - jnp.where(is_positive, pos, neg)


def _classification_loss(model: Decoder, words: LabelWords, over: str) -> LossFn:
    def loss_fn(params, batch, rng):
        del rng
        logits = model_logits(model, params, batch)
        pos, neg = label_logits(logits, words)
        targets = batch["decoder_target_tokens"]
        is_positive = targets == words.positive
        # Only label slots count (a task whose targets end with EOS also weights that slot).
        weights = batch["decoder_loss_weights"].astype(jnp.float32) * (
            is_positive | (targets == words.negative))
        ce = _cross_entropy(logits, pos, neg, is_positive, over)
        agree = ((pos > neg) == is_positive).astype(jnp.float32)
        loss_sum = jnp.sum(ce * weights)
        return loss_sum, {"denominator": jnp.sum(weights), "loss_sum": loss_sum,
                          "accuracy_sum": jnp.sum(agree * weights)}
    return loss_fn


def _pair_loss(model: Decoder, words: LabelWords, over: str, margin: float,
               weight: float) -> LossFn:
    def loss_fn(params, batch, rng):
        del rng
        logits = model_logits(model, params, batch)
        pos, neg = label_logits(logits, words)
        read = batch["decoder_loss_weights"].astype(jnp.float32)
        segments = batch["decoder_segment_ids"]
        chosen_slot = read * (segments == 1)
        rejected_slot = read * (segments == 2)
        valid = jnp.minimum(jnp.sum(chosen_slot, axis=1), jnp.sum(rejected_slot, axis=1))
        log_s = jax.nn.log_sigmoid(pos - neg)
        log_s_chosen = jnp.sum(log_s * chosen_slot, axis=1)
        log_s_rejected = jnp.sum(log_s * rejected_slot, axis=1)
        margin_term = jax.nn.relu(log_s_rejected - log_s_chosen + margin)
        ce = _cross_entropy(logits, pos, neg, segments == 1, over)
        ce_term = 0.5 * jnp.sum(ce * (chosen_slot + rejected_slot), axis=1)
        per_pair = (weight * ce_term if weight else 0.0) + (1.0 - weight) * margin_term
        loss_sum = jnp.sum(per_pair * valid)
        ordered = (log_s_chosen > log_s_rejected).astype(jnp.float32)
        return loss_sum, {"denominator": jnp.sum(valid), "loss_sum": loss_sum,
                          "accuracy_sum": jnp.sum(ordered * valid),
                          "margin_sum": jnp.sum(margin_term * valid)}
    return loss_fn


def _likelihood_loss(model: Decoder) -> LossFn:
    def loss_fn(params, batch, rng):
        del rng
        logits = model_logits(model, params, batch)
        log_p = token_log_probs(logits, batch["decoder_target_tokens"])
        weights = batch["decoder_loss_weights"]
        kept = (weights > 0).astype(jnp.float32)
        # [B, T, K]: which wrong result (1..K) each token belongs to.
        wrong = jax.nn.one_hot(-weights - 1, MAX_WRONG_STEPS, dtype=jnp.float32)
        result_log_p = jnp.einsum("bt,btk->bk", log_p, wrong)
        has_result = jnp.sum(wrong, axis=1) > 0
        # -log(1 - p) from log p, finite as p -> 1 (p = 1 costs what p = 1 - 1e-6 does).
        unlikely = -jnp.log(-jnp.expm1(jnp.minimum(result_log_p, -1e-6)))
        lm_sum = -jnp.sum(log_p * kept)
        unlikely_sum = jnp.sum(jnp.where(has_result, unlikely, 0.0))
        loss_sum = lm_sum + unlikely_sum
        agree = (jnp.argmax(logits, axis=-1) == batch["decoder_target_tokens"])
        return loss_sum, {"denominator": jnp.sum(kept) + jnp.sum(has_result),
                          "loss_sum": loss_sum, "likelihood_sum": lm_sum,
                          "unlikelihood_sum": unlikely_sum, "wrong_results": jnp.sum(has_result),
                          "accuracy_sum": jnp.sum(agree * kept)}
    return loss_fn
