"""Continuous batching: a fixed set of decode rows, refilled with waiting requests as rows end.

`generate` (decode_loop) decodes one batch until its longest row stops: finished rows keep
their place and cost a full step each until then. `ContinuousDecoder.run` keeps R rows busy
instead: when enough rows have stopped, the loop returns to the host, which hands their
results back and prefills the next waiting prompt into the freed rows.

Layout. Every row keeps `generate`'s layout for the run's fixed prompt bucket P: its prompt
left-padded into slots 0..P-1, its generated token t written at slot P + t. Rows differ only
in their step t, so one-token steps write one slot per row (`decode_forward` with [R]
cache slots), and a refill overwrites a whole row. A row's numbers therefore never depend on
its neighbours or on when it started.

    R = 3 rows, P = 4, max_new_tokens = 3; row 2 was refilled at a later step
    cache slot      0   1   2   3 | 4   5   6
    row 0 tokens    0   5   6   7 | a0  a1  .      t = 2
    row 1 tokens    0   0   0   8 | b0  .   .      t = 1
    row 2 tokens    0   0   9   9 | .   .   .      t = 0 (just prefilled)

Randomness. Request (seed_id, sample_index) at its step t draws with
`fold_in(fold_in(fold_in(rng, seed_id), sample_index), t)`, exactly as `generate` with
`row_ids`: a sample depends on (rng, seed_id, sample_index, prompt) only, not on its row, on
R or on what else is running; greedy requests equal `generate`'s token for token.

Shapes are static: one compiled refill (one prompt [1, P] into up to `group_rows` rows) and
one compiled step loop per (R, P, L, rules), whatever the requests (`TRACE_COUNTS`).

Example:
    decoder = ContinuousDecoder(params, cfg, rows=16, group_rows=4, prompt_bucket=32,
                                max_new_tokens=64, sampling=Sampling(0.9), eos_id=1,
                                rng=jax.random.PRNGKey(0))
    requests = [Request(prompt=(5, 6, 7), seed_id=i, sample_index=n, greedy=False, tag=(i, n))
                for i in range(10) for n in range(4)]
    for done in decoder.run(iter(requests)):   # in finishing order
        done.request.tag, done.tokens, done.logprobs, done.finish_reason
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from typing import Any, Iterator, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mathft_jax import partitioning
from mathft_jax.decoding.decode_loop import FINISH_EOS, FINISH_LENGTH, FINISH_STOP, left_pad
from mathft_jax.decoding.sampling import Greedy, SamplingRule
from mathft_jax.models import ModelConfig
from mathft_jax.models.transformer import decode_forward, init_layered_cache, split_layer_params

# How many times each compiled function was traced (a retrace means a recompile).
TRACE_COUNTS: collections.Counter = collections.Counter()


@dataclasses.dataclass(frozen=True)
class Request:
    """One row to decode.

    Attributes:
      prompt: the prompt's ids (requests sharing a prompt in a row of the input share a
        prefill).
      seed_id: seeds the row's key with `sample_index` (e.g. the problem's dataset index).
      sample_index: the sample's index n.
      greedy: decode with `Greedy()` instead of the decoder's sampling rule.
      tag: anything the caller needs to place the result.
    """

    prompt: tuple[int, ...]
    seed_id: int
    sample_index: int
    greedy: bool
    tag: Any = None


@dataclasses.dataclass
class Finished:
    """A request's result: `tokens` [length] (EOS / stop tokens included), `logprobs`
    [max_new_tokens] (0 after the end) and a FINISH_* code."""

    request: Request
    tokens: np.ndarray
    logprobs: np.ndarray
    finish_reason: int


@dataclasses.dataclass
class ContinuousDecoder:
    """R decode rows kept busy by refilling finished ones (see the module docstring).

    Attributes:
      params: decoder parameters.
      config: the model's ModelConfig.
      rows: R, rows decoded per step.
      group_rows: the most rows one refill fills from one prompt (e.g. greedy + N samples);
        the loop returns to the host once this many rows (or all the waiting ones) are free.
      prompt_bucket: P, the padded prompt length of every row (fix it for a whole run: a
        row's numbers depend on it).
      max_new_tokens: L.
      sampling: the rule of non-greedy requests.
      eos_id, stop_sequences, pad_id: as in `generate`.
      rng: the run's PRNG key.
      mesh, logical_axis_rules: as in `generate` (rows are not sharded).
    """

    params: Any
    config: ModelConfig
    rows: int
    group_rows: int
    prompt_bucket: int
    max_new_tokens: int
    sampling: SamplingRule
    eos_id: Optional[int]
    rng: jax.Array
    stop_sequences: Sequence[Sequence[int]] = ()
    pad_id: int = 0
    mesh: Any = None
    logical_axis_rules: Sequence[tuple[str, object]] = ()

    def __post_init__(self):
        if not 1 <= self.group_rows <= self.rows:
            raise ValueError(f"group_rows must be in [1, rows={self.rows}], got "
                             f"{self.group_rows}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        static = _Static(
            config=self.config, sampling=self.sampling, rows=self.rows,
            group_rows=self.group_rows, prompt_bucket=self.prompt_bucket,
            max_new_tokens=self.max_new_tokens, eos_id=self.eos_id,
            stop_sequences=tuple(tuple(int(t) for t in s) for s in self.stop_sequences),
            pad_id=self.pad_id)
        rules = tuple(tuple(r) for r in self.logical_axis_rules or ())
        self._static = static
        self._refill = _compiled(_refill, static, self.mesh, rules)
        self._steps = _compiled(_steps, static, self.mesh, rules)
        self._params = nn.meta.unbox(self.params)

    def run(self, requests: Iterator[Request]) -> Iterator[Finished]:
        """Decodes every request, yielding each as it finishes (not in input order)."""
        waiting = _Lookahead(requests)
        state = _initial_state(self._static, self.rng)
        occupant: list[Optional[Request]] = [None] * self.rows
        while True:
            free = [r for r in range(self.rows) if occupant[r] is None]
            while free and waiting.peek() is not None:
                group = waiting.take_group(min(len(free), self.group_rows))
                state = self._admit(state, group, free[:len(group)], occupant)
                free = free[len(group):]
            if all(o is None for o in occupant):
                return
            head = waiting.peek()
            need = (min(self.group_rows, waiting.group_size(self.group_rows))
                    if head is not None else self.rows)
            state = self._steps(self._params, state, jnp.int32(need))
            yield from self._collect(state, occupant)

    def _admit(self, state, group: list[Request], rows: list[int],
               occupant: list[Optional[Request]]):
        tokens, lengths = left_pad([group[0].prompt], pad_id=self.pad_id,
                                   padded_length=self.prompt_bucket)
        q = self.group_rows
        fill = lambda values, pad: np.asarray(values + [pad] * (q - len(values)), np.int32)
        state = self._refill(
            self._params, state, jnp.asarray(tokens), jnp.asarray(lengths),
            jnp.asarray(fill(rows, self.rows)),  # out-of-range rows are dropped
            jnp.asarray(fill([r.seed_id for r in group], 0)),
            jnp.asarray(fill([r.sample_index for r in group], 0)),
            jnp.asarray(fill([int(r.greedy) for r in group], 1)).astype(bool), self.rng)
        for r, request in zip(rows, group):
            occupant[r] = request
        return state

    def _collect(self, state, occupant: list[Optional[Request]]) -> Iterator[Finished]:
        done = np.asarray(state["done"])
        ended = [r for r in range(self.rows) if done[r] and occupant[r] is not None]
        if not ended:
            return
        tokens, logprobs, lengths, reasons = (np.asarray(state[k]) for k in
                                              ("tokens", "logprobs", "lengths", "reason"))
        for r in ended:
            request, occupant[r] = occupant[r], None
            yield Finished(request, tokens[r, :lengths[r]].copy(), logprobs[r].copy(),
                           int(reasons[r]))


class _Lookahead:
    """The request stream with a look at the next requests (they are grouped by prompt)."""

    def __init__(self, requests: Iterator[Request]):
        self._it = iter(requests)
        self._buffer: collections.deque = collections.deque()

    def _fill(self, n: int) -> None:
        while len(self._buffer) < n:
            nxt = next(self._it, None)
            if nxt is None:
                return
            self._buffer.append(nxt)

    def peek(self) -> Optional[Request]:
        self._fill(1)
        return self._buffer[0] if self._buffer else None

    def group_size(self, limit: int) -> int:
        """How many of the next (at most `limit`) requests share the first one's prompt."""
        self._fill(limit)
        first, n = self._buffer[0].prompt, 0
        while n < min(limit, len(self._buffer)) and self._buffer[n].prompt == first:
            n += 1
        return n

    def take_group(self, limit: int) -> list[Request]:
        return [self._buffer.popleft() for _ in range(self.group_size(limit))]


@dataclasses.dataclass(frozen=True)
class _Static:
    config: ModelConfig
    sampling: SamplingRule
    rows: int
    group_rows: int
    prompt_bucket: int
    max_new_tokens: int
    eos_id: Optional[int]
    stop_sequences: tuple[tuple[int, ...], ...]
    pad_id: int

    @property
    def window(self) -> int:
        return max([len(s) for s in self.stop_sequences], default=0)


@functools.lru_cache(maxsize=32)
def _compiled(fn, static: _Static, mesh, rules):
    return partitioning.in_mesh_context(jax.jit(functools.partial(fn, static)), mesh, rules)


def _initial_state(s: _Static, rng: jax.Array) -> dict:
    """Every row empty: done, at step 1 (so an idle row's step writes a valid slot)."""
    r, steps = s.rows, s.max_new_tokens
    return dict(
        cache=init_layered_cache(s.config, r, s.prompt_bucket + steps),
        token=jnp.zeros((r,), jnp.int32), t=jnp.ones((r,), jnp.int32),
        prompt_length=jnp.ones((r,), jnp.int32),
        key=jax.vmap(lambda i: jax.random.fold_in(rng, i))(jnp.zeros((r,), jnp.int32)),
        greedy=jnp.ones((r,), bool), done=jnp.ones((r,), bool),
        recent=jnp.full((r, max(s.window, 1)), -1, jnp.int32),
        reason=jnp.full((r,), FINISH_LENGTH, jnp.int32),
        tokens=jnp.full((r, steps), s.pad_id, jnp.int32),
        logprobs=jnp.zeros((r, steps), jnp.float32),
        lengths=jnp.zeros((r,), jnp.int32))


def _pick(s: _Static, logits, keys, t, greedy):
    """Each row's token and model log-prob: arg-max for greedy rows, else the rule's draw
    with key fold_in(key, t)."""
    picked = Greedy().sample(logits, keys, vocab_axis=0)
    if s.sampling.is_greedy:
        return picked
    step_keys = jax.vmap(jax.random.fold_in)(keys, t)
    drawn = s.sampling.sample(logits, step_keys, vocab_axis=0)
    return tuple(jnp.where(greedy, g, d) for g, d in zip(picked, drawn))


def _emit(s: _Static, state: dict, token, logprob) -> dict:
    """Records each running row's token at its step t and updates its stopping state
    (`generate`'s rules, per row)."""
    done, t = state["done"], state["t"]
    token = jnp.where(done, s.pad_id, token)
    logprob = jnp.where(done, 0.0, logprob)
    reason, stopped = state["reason"], jnp.zeros_like(done)
    if s.eos_id is not None:
        hit = ~done & (token == s.eos_id)
        reason = jnp.where(hit, FINISH_EOS, reason)
        stopped |= hit
    recent = state["recent"]
    if s.window:
        recent = jnp.where(done[:, None], recent,
                           jnp.concatenate([recent[:, 1:], token[:, None]], axis=1))
        for seq in s.stop_sequences:
            hit = ~done & ~stopped & jnp.all(
                recent[:, s.window - len(seq):] == jnp.asarray(seq, jnp.int32), axis=1)
            reason = jnp.where(hit, FINISH_STOP, reason)
            stopped |= hit
    at_t = (jnp.arange(s.max_new_tokens)[None, :] == t[:, None]) & ~done[:, None]
    new_t = jnp.where(done, t, t + 1)
    return dict(
        state, token=jnp.where(done, state["token"], token), recent=recent, reason=reason,
        done=done | stopped | (new_t >= s.max_new_tokens),
        tokens=jnp.where(at_t, token[:, None], state["tokens"]),
        logprobs=jnp.where(at_t, logprob[:, None], state["logprobs"]),
        lengths=jnp.where(done, state["lengths"], t + 1), t=new_t)


def _refill(s: _Static, params, state, prompt, prompt_length, rows, seed_ids, sample_indices,
            greedy, rng):
    """Prefills one prompt [1, P] and starts it (step 0) in `rows` [Q] (out of range: none)."""
    TRACE_COUNTS["refill"] += 1
    q, p = s.group_rows, s.prompt_bucket
    layer_params = split_layer_params(s.config, params)
    cache = init_layered_cache(s.config, 1, p + s.max_new_tokens)
    slots = jnp.arange(p, dtype=jnp.int32)[None, :]
    pad = (p - prompt_length)[:, None]
    positions = jnp.where(slots >= pad, slots - pad, -1)
    logits, cache = decode_forward(s.config, params, layer_params, prompt, positions, cache, 0,
                                   vocab_major=True)
    keys = jax.vmap(lambda i, n: jax.random.fold_in(jax.random.fold_in(rng, i), n))(
        seed_ids, sample_indices)
    fresh = dict(
        token=jnp.zeros((q,), jnp.int32), t=jnp.zeros((q,), jnp.int32),
        prompt_length=jnp.repeat(prompt_length, q), key=keys, greedy=greedy,
        done=jnp.zeros((q,), bool), recent=jnp.full((q, max(s.window, 1)), -1, jnp.int32),
        reason=jnp.full((q,), FINISH_LENGTH, jnp.int32),
        tokens=jnp.full((q, s.max_new_tokens), s.pad_id, jnp.int32),
        logprobs=jnp.zeros((q, s.max_new_tokens), jnp.float32),
        lengths=jnp.zeros((q,), jnp.int32))
    token, logprob = _pick(s, jnp.repeat(logits, q, axis=1), keys, fresh["t"], greedy)
    fresh = _emit(s, fresh, token, logprob)
    put = lambda old, new: old.at[rows].set(new, mode="drop")
    new_state = {k: put(state[k], v) for k, v in fresh.items()}
    new_state["cache"] = jax.tree_util.tree_map(
        lambda old, new: put(old, jnp.broadcast_to(new, (q,) + new.shape[1:])),
        state["cache"], cache)
    return new_state


def _steps(s: _Static, params, state, min_done):
    """One-token steps of every row until `min_done` rows are done (or all are)."""
    TRACE_COUNTS["steps"] += 1
    layer_params = split_layer_params(s.config, params)
    p = s.prompt_bucket

    def cond(state):
        done = state["done"]
        return ~jnp.all(done) & (jnp.sum(done) < min_done)

    def body(state):
        t = state["t"]
        logits, cache = decode_forward(
            s.config, params, layer_params, state["token"][:, None],
            (state["prompt_length"] + t - 1)[:, None], state["cache"], p + t - 1,
            vocab_major=True)
        token, logprob = _pick(s, logits, state["key"], t, state["greedy"])
        return _emit(s, dict(state, cache=cache), token, logprob)

    return jax.lax.while_loop(cond, body, state)
