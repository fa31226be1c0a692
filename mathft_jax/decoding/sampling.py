"""Sampling rules: how the next token is chosen from the model's logits.

Two small frozen, hashable records cover every rule the library uses (registered with gin:
bound only where a gin file names them, `@Sampling()`):

* `Greedy()`: the arg-max token.
* `Sampling(temperature, top_k, top_p, min_p)`: a draw from the tempered distribution after
  the optional filters, which can be combined and are applied in this order on the tempered
  distribution: top-k (keep the k most likely tokens), top-p / nucleus (keep the smallest set
  of the remaining tokens whose renormalised probability reaches p), min-p (keep tokens whose
  probability is at least `min_p` x the most likely token's).

A draw takes one uniform number per row (`inverse_cdf`), not one random number per
vocabulary entry, so sampling costs about as much as the arg-max.

Both return the chosen token and its log-probability under the *untempered, unfiltered*
model distribution (`log_softmax(logits)`), so summed log-probs are comparable across sampling
settings (they are the model's likelihood of the text, not the sampler's).

Example:
    rule = Sampling(temperature=0.9, top_k=40, top_p=0.95)
    tokens, logprobs = rule.sample(logits, keys)    # logits [B, V], keys [B] -> [B], [B]
    rule.to_dict()  # {"name": "sample", "temperature": 0.9, "top_k": 40, "top_p": 0.95,
                    #  "min_p": None}
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Union

import gin
import jax
import jax.numpy as jnp

from mathft_jax.decoding import blocked_topk, inverse_cdf

NEG_INF = -1e30


@gin.register
@dataclasses.dataclass(frozen=True)
class Greedy:
    """Always the most likely token (ties go to the lowest id).

    Example:
        Greedy().sample(jnp.array([[0., 2., 1.]]), keys)  # -> ([1], [log_softmax(...)[1]])
    """

    name = "greedy"

    @property
    def is_greedy(self) -> bool:
        return True

    def sample(self, logits: jax.Array, keys: jax.Array,
               vocab_axis: int = -1) -> tuple[jax.Array, jax.Array]:
        """Returns (tokens [B] int32, model log-probs [B] float32); `keys` is unused.

        `vocab_axis=0` takes vocabulary-major [V, B] logits (see `blocked_topk`).
        """
        del keys
        row_max, tokens = blocked_topk.max_and_argmax(logits, vocab_axis)
        return tokens, blocked_topk.log_softmax_at(logits, tokens, vocab_axis, row_max)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}


@gin.register
@dataclasses.dataclass(frozen=True)
class Sampling:
    """Temperature sampling with optional, combinable top-k, top-p and min-p filters.

    Attributes:
      temperature: divides the logits (> 0). Use `Greedy()` for arg-max decoding.
      top_k: keep the k most likely tokens; None or 0 keeps all.
      top_p: nucleus threshold in (0, 1]; the most likely token is always kept. None keeps all.
      min_p: keep tokens with probability >= min_p x max probability, in [0, 1]; None keeps all.

    Example (V = 4, tempered probabilities [0.5, 0.3, 0.15, 0.05]):
        Sampling(top_k=3)              -> candidates {0, 1, 2}
        Sampling(top_k=3, top_p=0.7)   -> candidates {0, 1}   (0.5 < 0.7 <= 0.5 + 0.3)
        Sampling(min_p=0.5)            -> candidates {0, 1}   (0.3 >= 0.5 x 0.5)
    """

    temperature: float = 1.0
    top_k: Optional[int] = None
    top_p: Optional[float] = None
    min_p: Optional[float] = None

    name = "sample"

    def __post_init__(self):
        if not self.temperature > 0:
            raise ValueError(f"Sampling.temperature must be > 0 (use Greedy() for arg-max), "
                             f"got {self.temperature}")
        if self.top_k is not None and self.top_k < 0:
            raise ValueError(f"Sampling.top_k must be >= 0, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"Sampling.top_p must be in (0, 1], got {self.top_p}")
        if self.min_p is not None and not 0 <= self.min_p <= 1:
            raise ValueError(f"Sampling.min_p must be in [0, 1], got {self.min_p}")

    @property
    def is_greedy(self) -> bool:
        return False

    def filtered_logits(self, logits: jax.Array,
                        vocab_axis: int = -1) -> tuple[jax.Array, jax.Array]:
        """The tempered, filtered candidate logits and their token ids.

        Args:
          logits: [B, V] float32 (or [V, B] with `vocab_axis=0`).
          vocab_axis: the vocabulary axis of `logits`.

        Returns:
          (candidate logits [B, C], token ids [B, C]); filtered-out candidates hold NEG_INF.
          C = top_k when top-k is on (only k candidates are ever sorted), else V (sorted
          descending when top-p or min-p is on, else the identity order).
        """
        tempered = logits.astype(jnp.float32) / self.temperature
        vocab = logits.shape[vocab_axis]
        if self.top_k and self.top_k < vocab:
            values, ids = blocked_topk.top_k(tempered, self.top_k, vocab_axis)
        elif vocab_axis % logits.ndim != logits.ndim - 1:
            return self.filtered_logits(jnp.moveaxis(logits, vocab_axis, -1))
        elif self.top_p is not None or self.min_p is not None:
            ids = jnp.argsort(-tempered, axis=-1, stable=True)
            values = jnp.take_along_axis(tempered, ids, axis=-1)
        else:
            ids = jnp.broadcast_to(jnp.arange(vocab, dtype=jnp.int32), tempered.shape)
            return tempered, ids
        # values are sorted descending from here on.
        probs = jax.nn.softmax(values, axis=-1)
        keep = jnp.ones_like(values, dtype=bool)
        if self.top_p is not None:
            mass_before = jnp.cumsum(probs, axis=-1) - probs
            keep &= mass_before < self.top_p
        if self.min_p is not None:
            keep &= probs >= self.min_p * probs[:, :1]
        keep = keep.at[:, 0].set(True)
        return jnp.where(keep, values, NEG_INF), ids.astype(jnp.int32)

    def sample(self, logits: jax.Array, keys: jax.Array,
               vocab_axis: int = -1) -> tuple[jax.Array, jax.Array]:
        """Draws one token per row.

        Args:
          logits: [B, V] float32 model logits (or [V, B] with `vocab_axis=0`).
          keys: [B] PRNG keys, one per row (so a row's draw does not depend on the others).
          vocab_axis: the vocabulary axis of `logits`.

        Returns:
          (tokens [B] int32, untempered model log-probs of those tokens [B] float32).
        """
        u = inverse_cdf.uniforms(keys)
        if not (self.top_k or self.top_p is not None or self.min_p is not None):
            # No filter: draw straight from the model's logits, in their layout, and share
            # the row maximum with the log-prob lookup.
            axis = vocab_axis % logits.ndim
            row_max = jnp.max(logits.astype(jnp.float32), axis=axis)
            tokens = inverse_cdf.draw(logits, u, axis, self.temperature, row_max)
            return tokens, blocked_topk.log_softmax_at(logits, tokens, axis, row_max)
        candidates, ids = self.filtered_logits(logits, vocab_axis)
        choice = inverse_cdf.draw(candidates, u)
        tokens = jnp.take_along_axis(ids, choice[:, None], axis=-1)[:, 0]
        return tokens, blocked_topk.log_softmax_at(logits, tokens, vocab_axis)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "temperature": self.temperature, "top_k": self.top_k,
                "top_p": self.top_p, "min_p": self.min_p}


SamplingRule = Union[Greedy, Sampling]


def from_dict(settings: dict[str, Any]) -> SamplingRule:
    """Inverse of `to_dict`.

    Example:
        from_dict({"name": "sample", "temperature": 0.9, "top_p": 0.95}) == Sampling(0.9, top_p=0.95)
    """
    settings = dict(settings)
    name = settings.pop("name", None)
    if name == "greedy":
        return Greedy()
    if name == "sample":
        return Sampling(**settings)
    raise ValueError(f"unknown sampling rule {name!r} (expected 'greedy' or 'sample')")

