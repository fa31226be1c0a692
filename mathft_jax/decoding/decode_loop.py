"""A compiled decode loop with a KV cache: prefill once, then one token per step.

Layout. Prompts of different lengths are LEFT-padded to a common, bucketed length P, so that
the last prompt token of every row sits in cache slot P-1 and step t writes slot P+t for all
rows at once. Padding gets position -1 and is never attended to; real tokens get positions
0..len-1, so a row's numbers do not depend on how much padding it received.

    prompts [[5, 6, 7], [8]], P = 4, max_new_tokens = 3, num_decodes = 2
    cache slot      0   1   2   3 | 4   5   6
    row 0 tokens    0   5   6   7 | a0  a1  a2     (a = generated)
    row 0 position -1   0   1   2 | 3   4   5
    row 1 tokens    0   0   0   8 | b0  b1  b2
    row 1 position -1  -1  -1   0 | 1   2   3
    After prefill the cache is repeated num_decodes times: rows b*N + n, n < N.

Randomness. Row (prompt b, sample n) at step t uses
`fold_in(fold_in(fold_in(rng, row_ids[b]), n), t)`: with `row_ids` the prompts' global
indices (e.g. their index in the dataset), a sample does not depend on batch composition,
padding or sharding, so the same seed gives the same samples and a resumed run is exact.

Stopping. A row stops after emitting `eos_id` or a token sequence in `stop_sequences` (the
EOS / stop tokens are kept in `tokens` and counted in `lengths`), or after `max_new_tokens`.
The `lax.while_loop` ends as soon as every row has stopped.

Example:
    out = generate(params, cfg, [[5, 6, 7], [8]], num_decodes=4, max_new_tokens=32,
                   sampling=Sampling(temperature=0.9, top_p=0.95), eos_id=1,
                   rng=jax.random.PRNGKey(0))
    out.tokens.shape == (2, 4, 32); out.lengths.shape == (2, 4)
    out.finish_reason_names()[0, 0] in ("eos", "length", "stop")
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Optional, Sequence, Union

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from mathft_jax import partitioning
from mathft_jax.decoding.sampling import Greedy, SamplingRule
from mathft_jax.models import ModelConfig
from mathft_jax.models.transformer import decode_forward, init_layered_cache, split_layer_params

FINISH_EOS, FINISH_LENGTH, FINISH_STOP = 0, 1, 2
FINISH_REASONS = ("eos", "length", "stop")

Prompts = Union[Sequence[Sequence[int]], np.ndarray]


@dataclasses.dataclass
class DecodeOutput:
    """Host (numpy) results of `generate` for B prompts x N decodes x L = max_new_tokens.

    Attributes:
      tokens: [B, N, L] int32 generated ids; `pad_id` after a row's end.
      logprobs: [B, N, L] float32 log-prob of each token under the untempered model; 0 after
        the end.
      lengths: [B, N] int32 number of generated tokens, EOS / stop tokens included.
      finish_reasons: [B, N] int32: FINISH_EOS, FINISH_LENGTH or FINISH_STOP.
    """

    tokens: np.ndarray
    logprobs: np.ndarray
    lengths: np.ndarray
    finish_reasons: np.ndarray

    def finish_reason_names(self) -> np.ndarray:
        return np.asarray(FINISH_REASONS, dtype=object)[self.finish_reasons]

    def sequences(self) -> list[list[list[int]]]:
        """Generated ids without padding: [b][n] -> list of length lengths[b, n]."""
        return [[self.tokens[b, n, :self.lengths[b, n]].tolist()
                 for n in range(self.tokens.shape[1])] for b in range(self.tokens.shape[0])]


def bucket_length(n: int, minimum: int = 8) -> int:
    """Padded prompt length: the next power of two up to 512, then the next multiple of 256.

    Bounds the number of compiled shapes while wasting at most 2x (short) or 256 tokens (long).

    Example:
        [bucket_length(n) for n in (1, 9, 300, 513, 1000)] == [8, 16, 512, 768, 1024]
    """
    n = max(n, minimum)
    if n <= 512:
        return 1 << (n - 1).bit_length()
    return -(-n // 256) * 256


def left_pad(prompts: Prompts, lengths: Optional[Sequence[int]] = None, *, pad_id: int = 0,
             padded_length: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """Left-pads prompts into one array.

    Args:
      prompts: a list of token lists, or a RIGHT-padded [B, T] array with `lengths`.
      lengths: [B] prompt lengths (only with an array; the default is T for every row).
      pad_id: id written into padding (it is never attended to).
      padded_length: P; the default is `bucket_length(max length)`.

    Returns:
      (tokens [B, P] int32, lengths [B] int32).

    Example:
        left_pad([[5, 6, 7], [8]], padded_length=4)
        -> ([[0, 5, 6, 7], [0, 0, 0, 8]], [3, 1])
    """
    if isinstance(prompts, np.ndarray) or hasattr(prompts, "shape"):
        array = np.asarray(prompts)
        if array.ndim != 2:
            raise ValueError(f"prompt array must be [B, T], got shape {array.shape}")
        lens = (np.full(array.shape[0], array.shape[1]) if lengths is None
                else np.asarray(lengths))
        rows = [array[i, :lens[i]].tolist() for i in range(array.shape[0])]
    else:
        if lengths is not None:
            raise ValueError("lengths is only accepted with a padded prompt array")
        rows = [list(p) for p in prompts]
    lens = np.asarray([len(r) for r in rows], np.int32)
    if len(rows) == 0:
        raise ValueError("no prompts")
    if (lens == 0).any():
        raise ValueError(f"empty prompts at rows {np.flatnonzero(lens == 0).tolist()}: every "
                         "prompt needs at least one token (e.g. BOS)")
    p = padded_length or bucket_length(int(lens.max()))
    if lens.max() > p:
        raise ValueError(f"prompt of length {lens.max()} does not fit padded_length={p}")
    out = np.full((len(rows), p), pad_id, np.int32)
    for i, r in enumerate(rows):
        out[i, p - len(r):] = r
    return out, lens


def _decode(params, prompt_tokens, prompt_lengths, row_ids, rng, *, config: ModelConfig,
            sampling: SamplingRule, num_decodes: int, max_new_tokens: int,
            eos_id: Optional[int], stop_sequences: tuple[tuple[int, ...], ...], pad_id: int,
            mesh: Optional[Mesh]):
    """The traced decode: see the module docstring. Returns device arrays over rows b*N+n."""
    b, p = prompt_tokens.shape
    n, steps = num_decodes, max_new_tokens
    rows = b * n
    # One cache buffer per layer, updated in place by the loop (see models.decode_forward);
    # the per-layer params are sliced once, outside the loop.
    layer_params = split_layer_params(config, params)
    forward = functools.partial(decode_forward, config, params, layer_params)

    # Prefill the B prompts once.
    cache = init_layered_cache(config, b, p + steps, ring_windows=True)
    slots = jnp.arange(p, dtype=jnp.int32)[None, :]
    pad = (p - prompt_lengths)[:, None]
    positions = jnp.where(slots >= pad, slots - pad, -1)
    # Logits are vocabulary-major, [V, rows]: the output head's fastest layout on CPU.
    last_logits, cache = forward(prompt_tokens, positions, cache, 0, vocab_major=True)

    # ... then give each of the N decodes its own copy (rows b*N + n).
    repeat = lambda x, axis: jnp.repeat(x, n, axis=axis)
    cache = jax.tree_util.tree_map(lambda x: partitioning.constrain_batch(repeat(x, 0), mesh), cache)
    last_logits = partitioning.constrain_batch(repeat(last_logits, 1), mesh, batch_axis=1)
    lengths = repeat(prompt_lengths, 0)
    prompt_keys = jax.vmap(lambda i: jax.random.fold_in(rng, i))(row_ids)
    row_keys = jax.vmap(lambda k: jax.vmap(lambda j: jax.random.fold_in(k, j))(
        jnp.arange(n)))(prompt_keys).reshape((rows,) + prompt_keys.shape[1:])
    step_keys = lambda t: jax.vmap(lambda k: jax.random.fold_in(k, t))(row_keys)

    window = max([len(s) for s in stop_sequences], default=0)

    def emit(state, token, logprob, t):
        """Records step t's token for rows still running and updates their stopping state."""
        done = state["done"]
        token = jnp.where(done, pad_id, token)
        logprob = jnp.where(done, 0.0, logprob)
        reason = state["reason"]
        stopped = jnp.zeros_like(done)
        if eos_id is not None:
            hit = ~done & (token == eos_id)
            reason = jnp.where(hit, FINISH_EOS, reason)
            stopped |= hit
        recent = state["recent"]
        if window:
            recent = jnp.concatenate([recent[:, 1:], token[:, None]], axis=1)
            for seq in stop_sequences:
                hit = ~done & ~stopped & jnp.all(
                    recent[:, window - len(seq):] == jnp.asarray(seq, jnp.int32), axis=1)
                reason = jnp.where(hit, FINISH_STOP, reason)
                stopped |= hit
        return dict(
            state, token=token, recent=recent, reason=reason, done=done | stopped,
            tokens=state["tokens"].at[:, t].set(token),
            logprobs=state["logprobs"].at[:, t].set(logprob),
            lengths=jnp.where(done, state["lengths"], t + 1),
            t=t + 1)

    state = dict(
        t=jnp.int32(0), cache=cache, token=jnp.zeros((rows,), jnp.int32),
        recent=jnp.full((rows, max(window, 1)), -1, jnp.int32),
        done=jnp.zeros((rows,), bool), reason=jnp.full((rows,), FINISH_LENGTH, jnp.int32),
        tokens=jnp.full((rows, steps), pad_id, jnp.int32),
        logprobs=jnp.zeros((rows, steps), jnp.float32),
        lengths=jnp.zeros((rows,), jnp.int32))
    token, logprob = sampling.sample(last_logits, step_keys(0), vocab_axis=0)
    state = emit(state, token, logprob, jnp.int32(0))

    def cond(state):
        return (state["t"] < steps) & ~jnp.all(state["done"])

    def body(state):
        t = state["t"]
        step_logits, new_cache = forward(state["token"][:, None], (lengths + t - 1)[:, None],
                                         state["cache"], p + t - 1, vocab_major=True)
        token, logprob = sampling.sample(step_logits, step_keys(t), vocab_axis=0)
        return emit(dict(state, cache=new_cache), token, logprob, t)

    state = jax.lax.while_loop(cond, body, state)
    return state["tokens"], state["logprobs"], state["lengths"], state["reason"]


@functools.lru_cache(maxsize=64)
def _compiled_decode(config, sampling, num_decodes, max_new_tokens, eos_id, stop_sequences,
                     pad_id, mesh, rules):
    fn = functools.partial(_decode, config=config, sampling=sampling, num_decodes=num_decodes,
                           max_new_tokens=max_new_tokens, eos_id=eos_id,
                           stop_sequences=stop_sequences, pad_id=pad_id, mesh=mesh)
    return partitioning.in_mesh_context(jax.jit(fn), mesh, rules)


def generate(params, config: ModelConfig, prompts: Prompts,
             prompt_lengths: Optional[Sequence[int]] = None, *, num_decodes: int = 1,
             max_new_tokens: int, sampling: SamplingRule = Greedy(),
             eos_id: Optional[int], rng: Optional[jax.Array] = None,
             row_ids: Optional[Sequence[int]] = None,
             stop_sequences: Sequence[Sequence[int]] = (), pad_id: int = 0,
             padded_length: Optional[int] = None, mesh: Optional[Mesh] = None,
             logical_axis_rules: Optional[Sequence[tuple[str, object]]] = None) -> DecodeOutput:
    """Decodes `num_decodes` continuations of each prompt in one compiled call.

    Args:
      params: decoder parameters (plain or logically-boxed arrays, possibly sharded).
      config: the model's ModelConfig.
      prompts: list of token lists, or a right-padded [B, T] array with `prompt_lengths`.
      prompt_lengths: lengths of a padded prompt array.
      num_decodes: N samples per prompt (with `Greedy()` they are N identical copies).
      max_new_tokens: L, the most tokens generated per row.
      sampling: a `Greedy()` or `Sampling(...)` rule.
      eos_id: stop token, or None to always generate L tokens (unless a stop sequence hits).
      rng: PRNG key (needed for sampling; ignored by Greedy).
      row_ids: [B] global ids of the prompts that seed their keys (default 0..B-1); pass
        dataset indices so that samples do not depend on batching.
      stop_sequences: token sequences that also end a row (finish reason "stop").
      pad_id: id used for padding outputs and prompts.
      padded_length: prompt bucket P (default `bucket_length(longest prompt)`).
      mesh: optional device mesh; the batch is split over its ('data', 'fsdp') axes (the batch
        is padded to a multiple of those devices with copies of the last prompt).
      logical_axis_rules: optional flax logical-axis rules, active while tracing the model.

    Returns:
      DecodeOutput with numpy arrays [B, N, L] / [B, N].
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if num_decodes < 1:
        raise ValueError(f"num_decodes must be >= 1, got {num_decodes}")
    tokens, lengths = left_pad(prompts, prompt_lengths, pad_id=pad_id,
                               padded_length=padded_length)
    b = tokens.shape[0]
    ids = np.arange(b, dtype=np.int32) if row_ids is None else np.asarray(row_ids, np.int32)
    if ids.shape != (b,):
        raise ValueError(f"row_ids must have shape ({b},), got {ids.shape}")
    multiple = partitioning.batch_multiple(mesh)
    extra = (-b) % multiple
    if extra:
        tokens = np.concatenate([tokens, np.repeat(tokens[-1:], extra, 0)])
        lengths = np.concatenate([lengths, np.repeat(lengths[-1:], extra)])
        ids = np.concatenate([ids, np.repeat(ids[-1:], extra)])
    if rng is None:
        if not isinstance(sampling, Greedy):
            raise ValueError("sampling needs an rng key")
        rng = jax.random.PRNGKey(0)
    args = [jnp.asarray(tokens), jnp.asarray(lengths), jnp.asarray(ids)]
    if mesh is not None:
        args = [jax.device_put(a, partitioning.maybe_batch_sharding(mesh, a.ndim)) for a in args]
    fn = _compiled_decode(config, sampling, num_decodes, max_new_tokens, eos_id,
                          tuple(tuple(int(t) for t in s) for s in stop_sequences), pad_id, mesh,
                          tuple(tuple(r) for r in logical_axis_rules or ()))
    out = fn(nn.meta.unbox(params), *args, rng)
    out = [partitioning.to_host(x) for x in out]
    rows = b + extra
    shape = lambda x: x.reshape((rows, num_decodes) + x.shape[1:])[:b]
    return DecodeOutput(*(shape(x) for x in out))
