"""The decoder-only transformer (Flax linen), with scanned blocks and a functional KV cache."""

from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mathft_jax.kernels.cpu_matmul import rows_dot_t
from mathft_jax.models.config import GLOBAL_WINDOW, ModelConfig
from mathft_jax.models.layers import (Attention, GatedMLP, RMSNorm, attention_mask, flat_dense,
                                      ring_fill, rope_sin_cos)

Cache = dict  # {"k": [L, B, S, G, K], "v": [L, B, S, G, K], "positions": [B, S] int32}


def init_cache(config: ModelConfig, batch_size: int, max_length: int,
               dtype: Optional[jnp.dtype] = None) -> Cache:
    """An empty KV cache: every slot's key position is -1 (never attended to).

    Example:
        cache = init_cache(cfg, batch_size=2, max_length=16)
        cache["k"].shape == (cfg.num_layers, 2, 16, cfg.num_kv_heads, cfg.head_dim)
    """
    dtype = dtype or config.jnp_dtype
    shape = (config.num_layers, batch_size, max_length, config.num_kv_heads, config.head_dim)
    return {"k": jnp.zeros(shape, dtype), "v": jnp.zeros(shape, dtype),
            "positions": jnp.full((batch_size, max_length), -1, jnp.int32)}


class DecoderBlock(nn.Module):
    """Pre-norm block: x + [post_norm](attn(norm(x))), then x + [post_norm](mlp(norm(x)))."""

    config: ModelConfig

    @nn.compact
    def __call__(self, x, layer_info, positions, base_mask, distance, cache=None,
                 cache_index=None):
        cfg = self.config
        norm = lambda name: RMSNorm(cfg.norm_eps, cfg.jnp_dtype, cfg.jnp_param_dtype, name=name)
        window = layer_info["window"]
        mask = base_mask & (distance < window)
        attn_out, cache = Attention(cfg, name="attention")(
            norm("pre_attention_norm")(x), positions, mask,
            layer_info.get("rope", layer_info["rope_base"]), cache, cache_index,
            window if isinstance(window, int) and window < GLOBAL_WINDOW else None)
        if cfg.post_attention_norm:
            attn_out = norm("post_attention_norm")(attn_out)
        x = x + attn_out
        mlp_out = GatedMLP(cfg, name="mlp")(norm("pre_mlp_norm")(x))
        if cfg.post_mlp_norm:
            mlp_out = norm("post_mlp_norm")(mlp_out)
        x = nn.with_logical_constraint(x + mlp_out, ("batch", "length", "act_embed"))
        return x, cache


class _ScannedBlock(nn.Module):
    """Adapts DecoderBlock to nn.scan's (carry, per-layer inputs) -> (carry, outputs) form."""

    config: ModelConfig

    @nn.compact
    def __call__(self, x, per_layer, positions, base_mask, distance, cache_index):
        layer_info, cache = per_layer
        block = _maybe_remat(DecoderBlock, self.config)
        x, cache = block(self.config, name="block")(x, layer_info, positions, base_mask,
                                                    distance, cache, cache_index)
        return x, cache


def _maybe_remat(module_cls, config: ModelConfig):
    if config.remat == "none":
        return module_cls
    policy = (jax.checkpoint_policies.dots_with_no_batch_dims_saveable
              if config.remat == "dots" else None)
    return nn.remat(module_cls, policy=policy, prevent_cse=not config.scan_layers)


class Decoder(nn.Module):
    """Decoder-only language model.

    Call forms:
      * training / scoring: `logits = model.apply(v, tokens, positions, segment_ids)`
      * decoding with a cache: `logits, cache = model.apply(v, tokens, positions,
        cache=cache, cache_index=i)` writes the keys of `tokens` ([B, T]) at slots i..i+T-1
        of the cache and attends over every filled slot. Rows with padding give those tokens a
        negative position: they are never attended to.

    Example (shapes):
        model = Decoder(ModelConfig(vocab_size=100))
        params = model.init(rng, jnp.zeros((2, 8), jnp.int32))["params"]
        logits = model.apply({"params": params}, tokens)        # [2, 8, 100] float32
    """

    config: ModelConfig

    def setup(self):
        cfg = self.config
        self.embedding = self.param(
            "embedding",
            nn.with_logical_partitioning(nn.initializers.normal(cfg.embed_dim ** -0.5),
                                         ("vocab", "embed")),
            (cfg.vocab_size, cfg.embed_dim), cfg.jnp_param_dtype)
        if not cfg.tie_embeddings:
            self.unembedding = self.param(
                "unembedding",
                nn.with_logical_partitioning(nn.initializers.normal(cfg.embed_dim ** -0.5),
                                             ("embed", "vocab")),
                (cfg.embed_dim, cfg.vocab_size), cfg.jnp_param_dtype)
        self.final_norm = RMSNorm(cfg.norm_eps, cfg.jnp_dtype, cfg.jnp_param_dtype)
        if cfg.scan_layers:
            self.layers = nn.scan(
                _ScannedBlock,
                variable_axes={"params": 0},
                split_rngs={"params": True},
                in_axes=(0, nn.broadcast, nn.broadcast, nn.broadcast, nn.broadcast),
                length=cfg.num_layers,
                metadata_params={nn.PARTITION_NAME: "layers"},
            )(cfg)
        else:
            block = _maybe_remat(DecoderBlock, cfg)
            self.blocks = [block(cfg) for _ in range(cfg.num_layers)]

    def embed(self, tokens: jax.Array) -> jax.Array:
        cfg = self.config
        x = jnp.take(self.embedding, tokens, axis=0).astype(cfg.jnp_dtype)
        if cfg.scale_embeddings:
            x = x * jnp.asarray(cfg.embed_dim ** 0.5, cfg.jnp_dtype)
        return nn.with_logical_constraint(x, ("batch", "length", "act_embed"))

    def logits(self, x: jax.Array, vocab_major: bool = False) -> jax.Array:
        """Final norm and output head: [B, T, D] -> float32 [B, T, V].

        With `vocab_major`, [B, D] -> float32 [V, B]: a decode step's logits in the layout
        that reads tied embeddings in their stored order (`embedding [V, D] @ x^T`). For
        Gemma 3 270M at batch 32, XLA CPU ran it in 41 ms against 52 ms for `x @ embedding^T`
        (whose [B, V] result then cost 14 ms more to transpose), and the CPU kernel behind
        `kernels.rows_dot_t` in 22 ms. `decoding.blocked_topk` and the sampling rules
        consume either layout.
        """
        cfg = self.config
        x = self.final_norm(x)
        if vocab_major:
            table = (self.embedding if cfg.tie_embeddings else self.unembedding.T)
            out = rows_dot_t(table.astype(cfg.jnp_dtype), x)
            axes = ("act_vocab", "batch")
        elif cfg.tie_embeddings:
            # A transposed view: the CPU kernel would need it copied into stored order first.
            out = flat_dense(x, self.embedding.astype(cfg.jnp_dtype).T, cpu_kernel=False)
            axes = ("batch", "length", "act_vocab")
        else:
            out = flat_dense(x, self.unembedding.astype(cfg.jnp_dtype))
            axes = ("batch", "length", "act_vocab")
        out = out.astype(jnp.float32)
        if cfg.final_logit_softcap:
            out = cfg.final_logit_softcap * jnp.tanh(out / cfg.final_logit_softcap)
        return nn.with_logical_constraint(out, axes)

    def __call__(self, tokens: jax.Array, positions: Optional[jax.Array] = None,
                 segment_ids: Optional[jax.Array] = None, cache: Optional[Cache] = None,
                 cache_index: Optional[jax.Array] = None, last_only: bool = False,
                 logit_slots: Optional[jax.Array] = None):
        """Runs the model.

        Args:
          tokens: [B, T] int token ids.
          positions: [B, T] positions (default 0..T-1); negative marks padding.
          segment_ids: [B, T] packing segments (tokens attend within their segment only).
          cache: a cache from `init_cache`, to decode; None to run on `tokens` alone.
          cache_index: int32 scalar, the cache slot of `tokens[:, 0]`.
          last_only: compute logits for the last position only ([B, 1, V]): a decode prefill
            needs nothing else, and the output head dominates for large vocabularies.
          logit_slots: [B, C] int slots whose logits to compute ([B, C, V]), e.g. only a
            scored continuation's; the head runs on those slots alone.

        Returns:
          logits [B, T, V] float32 ([B, 1, V] / [B, C, V] with last_only / logit_slots);
          with a cache, (logits, updated cache).
        """
        cfg = self.config
        b, t = tokens.shape
        if positions is None:
            positions = jnp.broadcast_to(jnp.arange(t, dtype=jnp.int32), (b, t))
        if cache is None:
            base_mask, distance = attention_mask(positions, positions, segment_ids, segment_ids)
            layer_caches = None
        else:
            if cache_index is None:
                raise ValueError("decoding with a cache needs cache_index")
            key_positions = jax.lax.dynamic_update_slice(
                cache["positions"], positions.astype(jnp.int32), (0, cache_index))
            base_mask, distance = attention_mask(positions, key_positions)
            layer_caches = {"k": cache["k"], "v": cache["v"]}

        x = self.embed(tokens)
        layer_info = {"window": jnp.asarray(cfg.layer_windows(), jnp.int32),
                      "rope_base": jnp.asarray(cfg.layer_rope_bases(), jnp.float32)}
        if cfg.scan_layers:
            x, new_caches = self.layers(x, (layer_info, layer_caches), positions, base_mask,
                                        distance, cache_index)
        else:
            per_layer_caches = []
            for i, block in enumerate(self.blocks):
                info_i = jax.tree_util.tree_map(lambda a: a[i], layer_info)
                cache_i = (None if layer_caches is None else
                           jax.tree_util.tree_map(lambda a: a[i], layer_caches))
                x, cache_i = block(x, info_i, positions, base_mask, distance, cache_i,
                                   cache_index)
                per_layer_caches.append(cache_i)
            new_caches = (None if layer_caches is None else
                          jax.tree_util.tree_map(lambda *a: jnp.stack(a), *per_layer_caches))
        if last_only:
            x = x[:, -1:]
        elif logit_slots is not None:
            x = jnp.take_along_axis(x, logit_slots[..., None], axis=1)
        logits = self.logits(x)
        if cache is None:
            return logits
        return logits, {"k": new_caches["k"], "v": new_caches["v"], "positions": key_positions}


# ------------------------------------------------------------------------ fast decoding
#
# `Decoder.__call__` with a cache runs the scanned layers with the stacked cache as per-layer
# scan inputs/outputs: every call slices each layer's cache out and restacks the updated ones,
# i.e. copies the whole cache (on CPU, at batch 32 with 900 cached tokens, over 1 GB per token).
# The functions below are the same computation with the cache kept as one buffer per layer
# (a "layered" cache) and the layers unrolled, so that inside a `lax.while_loop` each step only
# writes its new key/value slot in place.

# {"k": L-tuple of [B, S_l, G, K], "v_t": L-tuple of [B, G, K, S_l] (values transposed, see
#  layers._cached_attention), "positions": [B, S] int32, and with ring buffers
#  "ring_positions": [B, W] int32}. S_l = S, or W for a sliding-window layer kept as a ring.
LayeredCache = dict


def init_layered_cache(config: ModelConfig, batch_size: int, max_length: int,
                       dtype: Optional[jnp.dtype] = None,
                       ring_windows: bool = False) -> LayeredCache:
    """An empty cache with one key and one value buffer per layer (see `decode_forward`).

    With `ring_windows`, a sliding-window layer whose window W is shorter than `max_length`
    keeps only W slots, used as a ring: the key at position p lives in slot p mod W (relative
    to its row's first slot), and "ring_positions" records the position in each slot (masks
    and RoPE read positions, never slot order). Its attention then reads W slots per step
    instead of every cached token. Such a cache takes a prefill (`cache_index` 0, any length)
    followed by one-token steps.

    Example:
        cache = init_layered_cache(cfg, batch_size=2, max_length=16)
        len(cache["k"]) == len(cache["v_t"]) == cfg.num_layers
        cache["k"][0].shape == (2, 16, cfg.num_kv_heads, cfg.head_dim)
        cache["v_t"][0].shape == (2, cfg.num_kv_heads, cfg.head_dim, 16)
        # Gemma 3 (window 512), ring_windows=True, max_length=1024: local layers' k is
        # (2, 512, G, K), global layers' (2, 1024, G, K).
    """
    dtype = dtype or config.jnp_dtype
    lengths = [min(w, max_length) if ring_windows else max_length
               for w in config.layer_windows()]
    keys = tuple(jnp.zeros((batch_size, n, config.num_kv_heads, config.head_dim), dtype)
                 for n in lengths)
    values = tuple(jnp.zeros((batch_size, config.num_kv_heads, config.head_dim, n), dtype)
                   for n in lengths)
    cache = {"k": keys, "v_t": values,
             "positions": jnp.full((batch_size, max_length), -1, jnp.int32)}
    ring = _ring_length(cache)
    if ring is not None:
        cache["ring_positions"] = jnp.full((batch_size, ring), -1, jnp.int32)
    return cache


def _ring_length(cache: LayeredCache) -> Optional[int]:
    """W when some layer's buffer is a ring (shorter than the cache), else None."""
    full = cache["positions"].shape[1]
    short = {k.shape[1] for k in cache["k"] if k.shape[1] < full}
    if len(short) > 1:
        raise ValueError(f"ring buffers of different lengths {sorted(short)}: one window only")
    return short.pop() if short else None


def split_layer_params(config: ModelConfig, params) -> list:
    """The blocks' parameters, one tree per layer (from scanned or unrolled params).

    Slicing stacked params copies them once; do it outside a decode loop (loop invariant).
    """
    params = nn.meta.unbox(params)
    if config.scan_layers:
        stacked = params["layers"]["block"]
        return [jax.tree_util.tree_map(lambda a, i=i: a[i], stacked)
                for i in range(config.num_layers)]
    return [params[f"blocks_{i}"] for i in range(config.num_layers)]


def decode_forward(config: ModelConfig, params, layer_params: list, tokens: jax.Array,
                   positions: jax.Array, cache: LayeredCache, cache_index: jax.Array,
                   last_only: bool = False,
                   vocab_major: bool = False) -> tuple[jax.Array, LayeredCache]:
    """`Decoder.apply(..., cache=..., cache_index=...)` on a layered cache.

    Args:
      config: the model's ModelConfig.
      params: the full parameter tree (embedding and final norm are read from it).
      layer_params: `split_layer_params(config, params)`.
      tokens, positions: [B, T] ids and positions (negative for padding).
      cache: a layered cache (`init_layered_cache`).
      cache_index: the cache slot of `tokens[:, 0]`; or [B] slots, one per row, for
        one-token steps on a cache without ring buffers (rows at different steps).
      last_only: logits of the last position only.
      vocab_major: logits of the last position only, as [V, B] (see `Decoder.logits`).

    Returns:
      (logits [B, T or 1, V] float32, or [V, B] with `vocab_major`; updated layered cache):
      equal to the Decoder's.
    """
    model = Decoder(config)
    variables = {"params": nn.meta.unbox(params)}
    positions = positions.astype(jnp.int32)
    ring = _ring_length(cache)
    if jnp.ndim(cache_index) == 1:
        if tokens.shape[1] != 1 or ring is not None:
            raise ValueError("per-row cache slots take one-token steps on a cache without "
                             f"ring buffers, got {tokens.shape[1]} tokens, ring {ring}")
        key_positions = cache["positions"].at[jnp.arange(tokens.shape[0]), cache_index].set(
            positions[:, 0])
    else:
        key_positions = jax.lax.dynamic_update_slice(cache["positions"], positions,
                                                     (0, cache_index))
    base_mask, distance = attention_mask(positions, key_positions)
    prefill = isinstance(cache_index, int) and cache_index == 0
    if ring is not None:
        t = tokens.shape[1]
        if prefill:
            ring_positions = jax.lax.dynamic_update_slice(
                cache["ring_positions"], ring_fill(positions, ring), (0, 0))
            ring_index = 0
            # A prefill attends over its own tokens only: the cache-slot mask serves.
            ring_mask, ring_distance = base_mask, distance
        else:
            if t != 1:
                raise ValueError(f"a cache with ring buffers takes one-token steps after its "
                                 f"prefill, got {t} tokens at a traced index")
            ring_index = cache_index % ring
            ring_positions = jax.lax.dynamic_update_slice(cache["ring_positions"], positions,
                                                          (0, ring_index))
            ring_mask, ring_distance = attention_mask(positions, ring_positions)
    x = model.apply(variables, tokens, method="embed")
    block = DecoderBlock(config)
    windows, bases = config.layer_windows(), config.layer_rope_bases()
    # One (sin, cos) per distinct base, kept out of the layers' fusions: fused, XLA CPU
    # recomputed them for every element of every layer's queries and keys (2.5 of a 75 ms
    # step for Gemma 3 270M at batch 32).
    rope = {base: jax.lax.optimization_barrier(
        rope_sin_cos(positions, base, config.head_dim)) for base in set(bases)}
    keys, values = [], []
    for i, lp in enumerate(layer_params):
        info = {"window": windows[i], "rope_base": bases[i], "rope": rope[bases[i]]}
        in_ring = cache["k"][i].shape[1] == ring
        x, layer_cache = block.apply(
            {"params": lp}, x, info, positions, ring_mask if in_ring else base_mask,
            ring_distance if in_ring else distance,
            {"k": cache["k"][i], "v_t": cache["v_t"][i]},
            ring_index if in_ring else cache_index)
        keys.append(layer_cache["k"])
        values.append(layer_cache["v_t"])
    if vocab_major:
        logits = model.apply(variables, x[:, -1], vocab_major=True, method="logits")
    else:
        logits = model.apply(variables, x[:, -1:] if last_only else x, method="logits")
    new_cache = {"k": tuple(keys), "v_t": tuple(values), "positions": key_positions}
    if ring is not None:
        new_cache["ring_positions"] = ring_positions
    return logits, new_cache


def count_params(params) -> int:
    """Number of scalars in a parameter tree (boxed or not)."""
    return int(sum(np.prod(x.shape) for x in jax.tree_util.tree_leaves(params)))
