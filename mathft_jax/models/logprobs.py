"""The one token-log-prob primitive: log p(token) read from logits without a log-softmax copy.

Losses (SFT, evaluator), scoring and the samplers all need `log_softmax(logits)[token]`. A full
log-softmax materialises a second `[..., V]` array (for Gemma's 262k vocabulary, 8 rows of 512
tokens are 4.3 GB of float32); `logit[token] - logsumexp(logits)` reads the same number from
the logits alone.

Example:
    logits = [[2., 0., 0.]]                    # one position, vocabulary of 3
    token_log_probs(logits, [0])               # [log(e^2 / (e^2 + 2))] = [-0.2395]
    picked, lse = picked_logits_and_lse(logits, [0])   # ([2.], [2.2395]) for z-loss users
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def picked_logits_and_lse(logits: jax.Array, tokens: jax.Array, axis: int = -1
                          ) -> tuple[jax.Array, jax.Array]:
    """(logits[token], logsumexp(logits)) along the vocabulary `axis`, both float32.

    Args:
      logits: [..., V, ...] logits (any float dtype).
      tokens: integer ids with the shape of `logits` without `axis`.
      axis: the vocabulary axis of `logits`.
    """
    logits = logits.astype(jnp.float32)
    return picked_logits(logits, tokens, axis), jax.nn.logsumexp(logits, axis=axis)


def picked_logits(logits: jax.Array, tokens: jax.Array, axis: int = -1) -> jax.Array:
    """logits[token] along the vocabulary `axis`, as float32."""
    axis = axis % logits.ndim
    index = jnp.expand_dims(jnp.asarray(tokens).astype(jnp.int32), axis)
    return jnp.take_along_axis(logits, index, axis=axis).squeeze(axis).astype(jnp.float32)


def token_log_probs(logits: jax.Array, tokens: jax.Array, axis: int = -1) -> jax.Array:
    """log softmax(logits)[token] along `axis`: e.g. [B, T, V] logits, [B, T] ids -> [B, T]."""
    picked, lse = picked_logits_and_lse(logits, tokens, axis)
    return picked - lse
