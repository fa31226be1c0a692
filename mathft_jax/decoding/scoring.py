"""Log-likelihood of given continuations after given prompts, in one compiled forward pass.

Layout: each row is `prompt + continuation`, RIGHT-padded to a bucketed length T; padding has
position -1 (never attended to). The log-prob of continuation token c is read from the logits
at the slot before it.

    prompt [5, 6], continuation [7, 8], T = 8
    slot        0  1  2  3  4  5  6  7
    token       5  6  7  8  0  0  0  0
    position    0  1  2  3 -1 -1 -1 -1
    scored      -  -  7  8  -  -  -  -    (log p(7 | 5 6) from slot 1, log p(8 | 5 6 7) slot 2)

Example:
    out = score_continuations(params, cfg, [[5, 6], [9]], [[7, 8], [3]])
    out.total.shape == (2,); out.per_token.shape == (2, C) with C >= 2; out.mask[1] == [1, 0, ...]
    s = label_word_probs(params, cfg, prompts, tok(" correct"), tok(" incorrect"))
    # s.score[i] = p(correct) / (p(correct) + p(incorrect)) after prompts[i]
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from mathft_jax import partitioning
from mathft_jax.decoding.decode_loop import bucket_length
from mathft_jax.models import Decoder, ModelConfig
from mathft_jax.models.logprobs import token_log_probs


@dataclasses.dataclass
class ScoreOutput:
    """Host results of `score_continuations` for B rows.

    Attributes:
      total: [B] float32 summed log-prob of each continuation (0 for an empty one).
      per_token: [B, C] float32 log-prob of continuation token c (0 past its end).
      mask: [B, C] bool, True for real continuation tokens.
    """

    total: np.ndarray
    per_token: np.ndarray
    mask: np.ndarray


@dataclasses.dataclass
class LabelScores:
    """S = p(positive) / (p(positive) + p(negative)) per prompt, with both log-probs."""

    score: np.ndarray
    positive_logprob: np.ndarray
    negative_logprob: np.ndarray


def _score(params, tokens, positions, starts, cont_lengths, *, config: ModelConfig,
           num_cont: int):
    logits = Decoder(config).apply({"params": params}, tokens, positions)
    target_logprobs = token_log_probs(logits[:, :-1], tokens[:, 1:])
    # Continuation token c sits at slot start + c and is predicted from slot start + c - 1.
    c = jnp.arange(num_cont, dtype=jnp.int32)[None, :]
    index = jnp.clip(starts[:, None] - 1 + c, 0, target_logprobs.shape[1] - 1)
    per_token = jnp.take_along_axis(target_logprobs, index, axis=1)
    mask = c < cont_lengths[:, None]
    per_token = jnp.where(mask, per_token, 0.0)
    return per_token.sum(axis=1), per_token, mask


@functools.lru_cache(maxsize=32)
def _compiled_score(config, num_cont, mesh, rules):
    return partitioning.in_mesh_context(
        jax.jit(functools.partial(_score, config=config, num_cont=num_cont)), mesh, rules)


def score_continuations(params, config: ModelConfig, prompts: Sequence[Sequence[int]],
                        continuations: Sequence[Sequence[int]], *, pad_id: int = 0,
                        padded_length: Optional[int] = None, mesh: Optional[Mesh] = None,
                        logical_axis_rules=None) -> ScoreOutput:
    """Summed and per-token log-probs of `continuations[i]` after `prompts[i]`.

    Args:
      params: decoder parameters (plain or boxed).
      config: the model's ModelConfig.
      prompts: B token lists, each non-empty.
      continuations: B token lists (may be empty).
      pad_id: padding id.
      padded_length: T (default `bucket_length(longest prompt + continuation)`).
      mesh: optional mesh; the batch is split over its ('data', 'fsdp') axes.
      logical_axis_rules: optional flax logical-axis rules active while tracing.

    Returns:
      ScoreOutput (numpy).
    """
    if len(prompts) != len(continuations):
        raise ValueError(f"{len(prompts)} prompts but {len(continuations)} continuations")
    if not prompts:
        raise ValueError("no prompts to score")
    empty = [i for i, p in enumerate(prompts) if len(p) == 0]
    if empty:
        raise ValueError(f"empty prompts at rows {empty}: each needs at least one token")
    rows = [list(p) + list(c) for p, c in zip(prompts, continuations)]
    b = len(rows)
    t = padded_length or bucket_length(max(len(r) for r in rows))
    if max(len(r) for r in rows) > t:
        raise ValueError(f"a prompt + continuation of {max(len(r) for r in rows)} tokens does "
                         f"not fit padded_length={t}")
    num_cont = bucket_length(max(len(c) for c in continuations), minimum=1)
    b_pad = b + (-b) % partitioning.batch_multiple(mesh)
    tokens = np.full((b_pad, t), pad_id, np.int32)
    positions = np.full((b_pad, t), -1, np.int32)
    starts = np.ones(b_pad, np.int32)
    cont_lengths = np.zeros(b_pad, np.int32)
    for i, r in enumerate(rows):
        tokens[i, :len(r)] = r
        positions[i, :len(r)] = np.arange(len(r))
        starts[i] = len(prompts[i])
        cont_lengths[i] = len(continuations[i])
    args = [tokens, positions, starts, cont_lengths]
    if mesh is not None:
        args = [jax.device_put(a, partitioning.maybe_batch_sharding(mesh, a.ndim)) for a in args]
    fn = _compiled_score(config, num_cont, mesh,
                         tuple(tuple(r) for r in logical_axis_rules or ()))
    total, per_token, mask = (partitioning.to_host(x)[:b] for x in fn(nn.meta.unbox(params), *args))
    return ScoreOutput(total, per_token, mask)


def label_word_probs(params, config: ModelConfig, prompts: Sequence[Sequence[int]],
                     positive: Sequence[int], negative: Sequence[int], **kwargs) -> LabelScores:
    """The evaluator score S = p(positive) / (p(positive) + p(negative)) after each prompt.

    `positive` / `negative` are the label words' token ids (e.g. " correct" and
    " incorrect"); a multi-token word's probability is the product over its tokens. Both are
    scored in one compiled pass of 2B rows. S is computed as sigmoid(log p(+) - log p(-)),
    which stays finite when both probabilities underflow.

    Example:
        s = label_word_probs(params, cfg, [[5, 6], [7]], positive=[11], negative=[12])
        s.score.shape == (2,); 0 <= s.score <= 1
    """
    if not positive or not negative:
        raise ValueError("positive and negative label words need at least one token each")
    both = score_continuations(params, config, list(prompts) + list(prompts),
                               [positive] * len(prompts) + [negative] * len(prompts), **kwargs)
    pos, neg = both.total[:len(prompts)], both.total[len(prompts):]
    return LabelScores(np.asarray(jax.nn.sigmoid(pos - neg)), pos, neg)
