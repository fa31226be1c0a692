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
from mathft_jax.decoding.decode_loop import bucket_length, left_pad
from mathft_jax.models import Decoder, ModelConfig
from mathft_jax.models.logprobs import picked_logits, picked_logits_and_lse, token_log_probs


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
    # Continuation token c sits at slot start + c and is predicted from slot start + c - 1:
    # the output head runs on those C slots only, not on the prompt's.
    c = jnp.arange(num_cont, dtype=jnp.int32)[None, :]
    slots = jnp.clip(starts[:, None] - 1 + c, 0, tokens.shape[1] - 2)
    logits = Decoder(config).apply({"params": params}, tokens, positions, logit_slots=slots)
    per_token = token_log_probs(logits, jnp.take_along_axis(tokens, slots + 1, axis=1))
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


def _label_logprobs(params, tokens, positions, *, config: ModelConfig, positive: int,
                    negative: int):
    # Left padding puts every prompt's last token in the last slot: one [B, 1, V] head call.
    logits = Decoder(config).apply({"params": params}, tokens, positions, last_only=True)[:, 0]
    rows = logits.shape[0]
    pos, lse = picked_logits_and_lse(logits, jnp.full((rows,), positive, jnp.int32))
    neg = picked_logits(logits, jnp.full((rows,), negative, jnp.int32))
    return pos - lse, neg - lse


@functools.lru_cache(maxsize=32)
def _compiled_label_logprobs(config, positive, negative, mesh, rules):
    return partitioning.in_mesh_context(jax.jit(functools.partial(
        _label_logprobs, config=config, positive=positive, negative=negative)), mesh, rules)


def label_word_probs(params, config: ModelConfig, prompts: Sequence[Sequence[int]],
                     positive: Sequence[int], negative: Sequence[int], *, pad_id: int = 0,
                     padded_length: Optional[int] = None, mesh: Optional[Mesh] = None,
                     logical_axis_rules=None) -> LabelScores:
    """The evaluator score S = p(positive) / (p(positive) + p(negative)) after each prompt.

    `positive` / `negative` are the label words' token ids (e.g. " correct" and
    " incorrect"). Tokens the two share at the front cancel in S and are appended to the
    prompts; what remains of each must be one token (`evaluator.label_words`), so ONE forward
    pass per prompt reads both at its last position. Prompts are left-padded, so only the last
    slot goes through the output head: the pass holds no [B, T, V] logits. S is computed as
    sigmoid(log p(+) - log p(-)), which stays finite when both probabilities underflow; the
    returned log-probs are those of the differing tokens.

    Example:
        s = label_word_probs(params, cfg, [[5, 6], [7]], positive=[11], negative=[12])
        s.score.shape == (2,); 0 <= s.score <= 1
    """
    if not positive or not negative:
        raise ValueError("positive and negative label words need at least one token each")
    shared = 0
    while shared < min(len(positive), len(negative)) and positive[shared] == negative[shared]:
        shared += 1
    if len(positive) - shared != 1 or len(negative) - shared != 1:
        raise ValueError(f"label words {list(positive)} / {list(negative)} must differ in "
                         "exactly one final token each")
    prefix = list(positive[:shared])
    tokens, lengths = left_pad([list(p) + prefix for p in prompts], pad_id=pad_id,
                               padded_length=padded_length)
    b = tokens.shape[0]
    b_pad = b + (-b) % partitioning.batch_multiple(mesh)
    positions = np.arange(tokens.shape[1])[None, :] - (tokens.shape[1] - lengths[:, None])
    positions = np.where(positions >= 0, positions, -1).astype(np.int32)
    args = [np.concatenate([a, np.repeat(a[-1:], b_pad - b, 0)]) for a in (tokens, positions)]
    if mesh is not None:
        args = [jax.device_put(a, partitioning.maybe_batch_sharding(mesh, a.ndim)) for a in args]
    fn = _compiled_label_logprobs(config, int(positive[shared]), int(negative[shared]), mesh,
                                  tuple(tuple(r) for r in logical_axis_rules or ()))
    pos, neg = (partitioning.to_host(x)[:b] for x in fn(nn.meta.unbox(params), *args))
    return LabelScores(np.asarray(jax.nn.sigmoid(pos - neg)), pos, neg)


def _slot_label_logits(params, tokens, positions, slots, *, config: ModelConfig, positive: int,
                       negative: int):
    logits = Decoder(config).apply({"params": params}, tokens, positions, logit_slots=slots)
    shape = slots.shape
    pos = picked_logits(logits, jnp.full(shape, positive, jnp.int32))
    neg = picked_logits(logits, jnp.full(shape, negative, jnp.int32))
    return jax.nn.sigmoid(pos - neg)


@functools.lru_cache(maxsize=32)
def _compiled_slot_labels(config, positive, negative, mesh, rules):
    return partitioning.in_mesh_context(jax.jit(functools.partial(
        _slot_label_logits, config=config, positive=positive, negative=negative)), mesh, rules)


def label_word_probs_at(params, config: ModelConfig, rows: Sequence[Sequence[int]],
                        slots: Sequence[Sequence[int]], positive: int, negative: int, *,
                        pad_id: int = 0, padded_length: int, max_slots: int,
                        mesh: Optional[Mesh] = None, logical_axis_rules=None) -> list[np.ndarray]:
    """S = p(positive) / (p(positive) + p(negative)) at given slots of each row.

    Rows are complete evaluator inputs (label prefix included, e.g. `evaluator.inputs`),
    RIGHT-padded to `padded_length` (one shape per run, so a score does not depend on its
    batch); the output head runs on `max_slots` slots per row only.

    Example:
        s = label_word_probs_at(params, cfg, [[5, 6, 7], [8, 9]], [[0, 2], [1]], 11, 12,
                                padded_length=8, max_slots=4)
        [len(x) for x in s] == [2, 1]
    """
    b = len(rows)
    if any(not 0 < len(s) <= max_slots for s in slots):
        raise ValueError(f"each row needs 1 to max_slots={max_slots} read slots")
    if max(len(r) for r in rows) > padded_length:
        raise ValueError(f"a row of {max(len(r) for r in rows)} tokens does not fit "
                         f"padded_length={padded_length}")
    b_pad = b + (-b) % partitioning.batch_multiple(mesh)
    tokens = np.full((b_pad, padded_length), pad_id, np.int32)
    positions = np.full((b_pad, padded_length), -1, np.int32)
    slot_array = np.zeros((b_pad, max_slots), np.int32)
    for i, (r, s) in enumerate(zip(rows, slots)):
        tokens[i, :len(r)] = r
        positions[i, :len(r)] = np.arange(len(r))
        slot_array[i, :len(s)] = s
    args = [tokens, positions, slot_array]
    if mesh is not None:
        args = [jax.device_put(a, partitioning.maybe_batch_sharding(mesh, a.ndim)) for a in args]
    fn = _compiled_slot_labels(config, int(positive), int(negative), mesh,
                               tuple(tuple(r) for r in logical_axis_rules or ()))
    probs = partitioning.to_host(fn(nn.meta.unbox(params), *args))
    return [np.asarray(probs[i, :len(s)]) for i, s in enumerate(slots)]
