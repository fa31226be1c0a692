"""Losses over batches in SeqIO's decoder (prefix-LM) layout.

The loss-function contract used by the train step (and later by the evaluator losses):

    loss_fn(params, batch, rng) -> (loss_sum, metrics)

* `loss_sum` is a float32 scalar: the SUM of the per-token (or per-example) losses of this
  batch. The train step adds sums and normalisers over microbatches and divides once, so 4
  microbatches give the same update as one big batch.
* `metrics` is a dict of float32 scalars that are also sums over the batch; it must contain
  `"denominator"` (the number of weighted tokens / examples `loss_sum` is normalised by).

Batch layout (`seqio.DecoderFeatureConverter`, packed; `decoder_causal_attention` is also
present but ignored: the decoder is fully causal):

    decoder_target_tokens   [7, 8, 5, 1, 3, 9, 1, 8, 4, 9, 3, 1, 4, 1, 0]
    decoder_input_tokens    [0, 7, 8, 5, 1, 3, 9, 0, 8, 4, 9, 3, 1, 4, 0]
    decoder_loss_weights    [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0]   (targets only)
    decoder_positions       [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0]   (packed only)
    decoder_segment_ids     [1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 0]   (packed only)
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import gin
import jax
import jax.numpy as jnp

from mathft_jax.models import Decoder, ModelConfig
from mathft_jax.models.logprobs import picked_logits_and_lse, token_log_probs  # noqa: F401 (re-export)

LossFn = Callable[[Any, Mapping[str, jax.Array], jax.Array], tuple[jax.Array, dict]]


def model_logits(model: Decoder, params, batch: Mapping[str, jax.Array]) -> jax.Array:
    """Runs the decoder on a converted batch (packed or not): float32 [B, T, V]."""
    return model.apply({"params": params}, batch["decoder_input_tokens"],
                       batch.get("decoder_positions"), batch.get("decoder_segment_ids"))


def make_sft_loss(model_config: ModelConfig, task: Any = None, z_loss: float = 0.0) -> LossFn:
    """Next-token cross-entropy on the tokens with `decoder_loss_weights` > 0.

    Args:
      model_config: the decoder to build.
      task: the SeqIO task or mixture trained on (unused: every target token is scored).
      z_loss: weight of a `logsumexp(logits)^2` penalty (PaLM-style; 0 disables it).

    Returns:
      loss_fn(params, batch, rng) -> (loss_sum, metrics) with metrics `denominator`
      (number of target tokens), `loss_sum`, `accuracy_sum` (argmax == target).
    """
    del task
    model = Decoder(model_config)

    def loss_fn(params, batch, rng):
        del rng  # the decoder has no dropout
        logits = model_logits(model, params, batch)
        targets = batch["decoder_target_tokens"]
        weights = batch["decoder_loss_weights"].astype(jnp.float32)
        target_logits, lse = picked_logits_and_lse(logits, targets)
        nll = lse - target_logits
        if z_loss:
            nll = nll + z_loss * jnp.square(lse)
        loss_sum = jnp.sum(nll * weights)
        correct = (jnp.argmax(logits, axis=-1) == targets).astype(jnp.float32)
        metrics = {"denominator": jnp.sum(weights), "loss_sum": loss_sum,
                   "accuracy_sum": jnp.sum(correct * weights)}
        return loss_sum, metrics

    return loss_fn


# Not a decorator: mutmut skips decorated functions (tests/mutation_report.md).
make_sft_loss = gin.register(make_sft_loss)
