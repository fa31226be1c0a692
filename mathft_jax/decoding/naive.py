"""Reference decoder without a KV cache: the whole sequence is recomputed at every step.

It exists to check `decode_loop.generate` (tests) and to measure what the cache buys
(`benchmarks/decode_throughput.py`). It always runs `max_new_tokens` steps and derives lengths
and finish reasons afterwards from the first EOS, so it shares no stopping logic with the
compiled loop. Keys follow the same rule as `generate`
(`fold_in(fold_in(fold_in(rng, row_id), n), t)`), so with the same rng it draws the same
samples.

Example:
    tokens, logprobs = naive_decode(params, cfg, prompt_tokens, prompt_lengths, num_decodes=2,
                                    max_new_tokens=8, sampling=Greedy(), rng=key)
    tokens.shape == (B * 2, 8)
"""

from __future__ import annotations

import functools
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from mathft_jax.decoding.sampling import SamplingRule
from mathft_jax.models import Decoder, ModelConfig


@functools.partial(jax.jit, static_argnames=("config", "sampling", "num_decodes",
                                             "max_new_tokens"))
def naive_decode(params, config: ModelConfig, prompt_tokens: jax.Array,
                 prompt_lengths: jax.Array, *, num_decodes: int, max_new_tokens: int,
                 sampling: SamplingRule, rng: jax.Array,
                 row_ids: Optional[jax.Array] = None) -> tuple[jax.Array, jax.Array]:
    """Samples `max_new_tokens` tokens per row by full recomputation.

    Args:
      prompt_tokens: [B, P] LEFT-padded prompts (see `decode_loop.left_pad`).
      prompt_lengths: [B].
      row_ids: [B] key ids (default 0..B-1).

    Returns:
      (tokens [B*N, L], model log-probs [B*N, L]) over rows b*N + n, never stopped early.
    """
    model = Decoder(config)
    b, p = prompt_tokens.shape
    n, steps = num_decodes, max_new_tokens
    if row_ids is None:
        row_ids = jnp.arange(b, dtype=jnp.int32)
    seq = jnp.concatenate([jnp.repeat(prompt_tokens, n, 0),
                           jnp.zeros((b * n, steps), jnp.int32)], axis=1)
    pad = jnp.repeat(p - prompt_lengths, n)[:, None]
    slots = jnp.arange(p + steps, dtype=jnp.int32)[None, :]
    positions = jnp.where(slots >= pad, slots - pad, -1)
    keys = jnp.stack([jax.random.fold_in(jax.random.fold_in(rng, row_ids[i // n]), i % n)
                      for i in range(b * n)])

    def step(t, carry):
        seq, logprobs = carry
        logits = model.apply({"params": params}, seq, positions)
        next_logits = jax.lax.dynamic_index_in_dim(logits, p + t - 1, axis=1, keepdims=False)
        step_keys = jax.vmap(lambda k: jax.random.fold_in(k, t))(keys)
        token, logprob = sampling.sample(next_logits, step_keys)
        seq = jax.lax.dynamic_update_index_in_dim(seq, token, p + t, axis=1)
        logprobs = logprobs.at[:, t].set(logprob)
        return seq, logprobs

    seq, logprobs = jax.lax.fori_loop(0, steps, step,
                                      (seq, jnp.zeros((b * n, steps), jnp.float32)))
    return seq[:, p:], logprobs


def truncate_at_eos(tokens: np.ndarray, logprobs: np.ndarray, eos_id: Optional[int],
                    pad_id: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Post-hoc stopping: (tokens, logprobs, lengths, ended_by_eos) with everything after the
    first EOS replaced by `pad_id` / 0."""
    tokens, logprobs = np.array(tokens), np.array(logprobs)
    rows, steps = tokens.shape
    lengths = np.full(rows, steps, np.int32)
    ended = np.zeros(rows, bool)
    for r in range(rows):
        hits = np.flatnonzero(tokens[r] == eos_id) if eos_id is not None else []
        if len(hits):
            lengths[r], ended[r] = hits[0] + 1, True
            tokens[r, hits[0] + 1:] = pad_id
            logprobs[r, hits[0] + 1:] = 0.0
    return tokens, logprobs, lengths, ended
