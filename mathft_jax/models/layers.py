"""Building blocks of the decoder: RMSNorm, rotary embeddings, attention, gated MLP.

Shapes use B = batch, T = query length, S = key length, D = embed_dim, H = query heads,
G = key/value heads, R = H // G (queries per key/value head), K = head_dim, M = mlp_dim.
Every parameter carries logical axis names (see `mathft_jax.partitioning` for the rules that
map them onto a device mesh).
"""

from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from mathft_jax.kernels.cpu_matmul import skinny_matmul
from mathft_jax.models.config import ModelConfig

# Finite, so that a row with every key masked (a padding query) gives uniform weights, not NaN.
MASK_VALUE = -1e30


def _init(stddev: float):
    return nn.initializers.normal(stddev=stddev)


def flat_dense(x: jax.Array, w: jax.Array, num_in_dims: int = 1,
               cpu_kernel: bool = True) -> jax.Array:
    """`x[..., *in] @ w[*in, *out]` computed as one 2-D matmul.

    XLA CPU computes the weight gradient of a 2-D dot ([N, D]^T @ [N, M]) in place, but for a
    3-D activation ([B, T, D], two contracting dims) it first copies both operands into
    transposed order: an MLP forward+backward measured 397 GFLOP/s flattened vs 212 GFLOP/s
    as [8, 256, 512] on this project's CPU. Reshapes of leading dims are free.

    A few rows (a decode step) go to `kernels.skinny_matmul` where it applies; pass
    `cpu_kernel=False` when `w` is a transposed view, which the kernel would need copied.

    Example:
        x [B, T, D], w [D, H, K] -> [B, T, H, K];  x [B, T, H, K], w [H, K, D] (num_in_dims=2)
        -> [B, T, D].
    """
    in_shape, out_shape = w.shape[:num_in_dims], w.shape[num_in_dims:]
    lead = x.shape[:x.ndim - num_in_dims]
    n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
    # Accumulates in float32 whatever the inputs: XLA CPU's bfloat16 x bfloat16 -> bfloat16
    # product ran at 344 GFLOP/s here against 772 with a float32 result (TPUs accumulate in
    # float32 anyway). A decode step's few rows go to the CPU kernel where it applies.
    y = skinny_matmul(x.reshape(-1, n_in), w.reshape(n_in, n_out), use_kernel=cpu_kernel)
    return y.reshape(*lead, *out_shape)


class RMSNorm(nn.Module):
    """y = x / rms(x) * scale, with `scale` a plain multiplier initialised to one."""

    eps: float = 1e-6
    dtype: jnp.dtype = jnp.float32
    param_dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        scale = self.param("scale", nn.with_logical_partitioning(nn.initializers.ones, ("norm",)),
                           (x.shape[-1],), self.param_dtype)
        x32 = x.astype(jnp.float32)
        normed = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.eps)
        return (normed * scale.astype(jnp.float32)).astype(self.dtype)


def rope_sin_cos(positions: jax.Array, base: jax.Array | float,
                 head_dim: int) -> tuple[jax.Array, jax.Array]:
    """The rotation tables of `apply_rope`: (signed sin, cos), [B, T, 1, head_dim] each.

    For feature i < K/2 paired with i + K/2: cos = [cos, cos], signed sin = [-sin, sin], so
    that rope(x) = x * cos + swap_halves(x) * signed_sin is one elementwise expression. Every
    layer with the same base rotates by the same angles: a decode step computes them once per
    base (`transformer.decode_forward`) instead of once per layer and head.
    """
    half = head_dim // 2
    exponents = jnp.arange(half, dtype=jnp.float32) * 2.0 / head_dim
    inv_freq = jnp.power(jnp.asarray(base, jnp.float32), -exponents)
    angles = positions.astype(jnp.float32)[:, :, None, None] * inv_freq  # [B, T, 1, K/2]
    sin, cos = jnp.sin(angles), jnp.cos(angles)
    return jnp.concatenate([-sin, sin], axis=-1), jnp.concatenate([cos, cos], axis=-1)


def apply_rope(x: jax.Array, positions: jax.Array,
               rope: jax.Array | float | tuple[jax.Array, jax.Array]) -> jax.Array:
    """Rotary position embedding in the rotate-half (NeoX) form.

    Args:
      x: [B, T, N, K] queries or keys (K even).
      positions: [B, T] integer positions.
      rope: the RoPE base (a Python float, or a traced scalar: it differs per scanned layer),
        or the tables that `rope_sin_cos(positions, base, K)` returns.

    Returns:
      x rotated: the pair (x[..., i], x[..., i + K/2]) is rotated by positions * base^(-2i/K).
    """
    signed_sin, cos = (rope if isinstance(rope, tuple)
                       else rope_sin_cos(positions, rope, x.shape[-1]))
    x32 = x.astype(jnp.float32)
    x1, x2 = jnp.split(x32, 2, axis=-1)
    rotated = x32 * cos + jnp.concatenate([x2, x1], axis=-1) * signed_sin
    return rotated.astype(x.dtype)


def attention_mask(q_positions: jax.Array, k_positions: jax.Array,
                   q_segments: Optional[jax.Array] = None,
                   k_segments: Optional[jax.Array] = None) -> tuple[jax.Array, jax.Array]:
    """The layer-independent part of the attention mask, and query-key distances.

    A query sees a key when the key's position is valid (>= 0, so empty cache slots and left
    padding are never seen), not after the query's, and in the same segment (packing). Each
    layer then also requires `distance < window` (sliding-window layers).

    Returns:
      (mask [B, T, S] bool, distance [B, T, S] int32 = q_position - k_position).

    Example (one row, keys at positions 0..3, queries at 2 and 3; window 2 then keeps
    distance 0 and 1):
        mask     [[T, T, T, F],      distance [[2, 1, 0, -1],
                  [T, T, T, T]]                [3, 2, 1,  0]]
    """
    q = q_positions[:, :, None].astype(jnp.int32)
    k = k_positions[:, None, :].astype(jnp.int32)
    mask = (k >= 0) & (k <= q)
    if q_segments is not None and k_segments is not None:
        mask &= q_segments[:, :, None] == k_segments[:, None, :]
    return mask, q - k


class Attention(nn.Module):
    """Grouped-query self-attention with optional QK-norm, RoPE and a KV cache."""

    config: ModelConfig

    @nn.compact
    def __call__(self, x: jax.Array, positions: jax.Array, mask: jax.Array, rope,
                 cache: Optional[dict] = None, cache_index: Optional[jax.Array] = None,
                 window: Optional[int] = None):
        """Attends over `x`, or over the cache after writing `x`'s keys into it.

        Args:
          x: [B, T, D] normalised inputs.
          positions: [B, T] positions of `x` (negative for padding).
          mask: [B, T, S] boolean mask of this layer (S = T without a cache, else cache size).
          rope: this layer's RoPE base, or its (sin, cos) from `rope_sin_cos`.
          cache: None, or {"k": [B, S, G, K], "v": [B, S, G, K]} of this layer.
          cache_index: slot where `x`'s keys are written (the same for every row), or [B]
            slots, one per row, for one-token steps (continuous batching, where rows are at
            different steps). The Python int 0 starts a fresh cache (a prefill): the cache's
            earlier contents are not read.
          window: this layer's attention window when known statically (an int); it only
            narrows the keys a prefill reads, the mask is what applies it.

        Returns:
          ([B, T, D] output, updated cache or None).
        """
        cfg = self.config
        dtype, pdtype = cfg.jnp_dtype, cfg.jnp_param_dtype
        d, h, g, k = cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
        std = d ** -0.5

        def dense(name, shape, axes, stddev):
            return self.param(name, nn.with_logical_partitioning(_init(stddev), axes), shape,
                              pdtype).astype(dtype)

        wq = dense("q", (d, h, k), ("embed", "heads", "kv"), std)
        wk = dense("k", (d, g, k), ("embed", "kv_heads", "kv"), std)
        wv = dense("v", (d, g, k), ("embed", "kv_heads", "kv"), std)
        wo = dense("o", (h, k, d), ("heads", "kv", "embed"),
                   (h * k) ** -0.5 / (2 * cfg.num_layers) ** 0.5)

        q = flat_dense(x, wq)
        key = flat_dense(x, wk)
        value = flat_dense(x, wv)
        if cfg.qk_norm:
            norm = lambda name: RMSNorm(cfg.norm_eps, dtype, pdtype, name=name)
            q, key = norm("q_norm")(q), norm("k_norm")(key)
        q = apply_rope(q, positions, rope)
        key = apply_rope(key, positions, rope)
        scale = cfg.query_scale if cfg.query_scale is not None else k ** -0.5
        q = q * jnp.asarray(scale, dtype)

        b, t = q.shape[:2]
        q = q.reshape(b, t, g, h // g, k)
        if cache is None:
            mixed = _attend(q, key, value, mask, dtype)
        elif isinstance(cache_index, int) and cache_index == 0:
            mixed = _chunked_causal_attention(q, key, value, mask[:, :, :t], dtype, window)
            cache = _write_cache(cache, key, value, 0)
        else:
            mixed, cache = _cached_attention(q, key, value, mask, cache, cache_index, dtype)
        out = flat_dense(mixed.reshape(b, t, h * k), wo.reshape(h * k, d))
        return out, cache


def _attend(q, key, value, mask, dtype):
    """Softmax attention: q [B, T, G, R, K], key/value [B, S, G, K], mask [B, T, S]."""
    logits = jnp.einsum("btgrk,bsgk->bgrts", q, key).astype(jnp.float32)
    logits = jnp.where(mask[:, None, None, :, :], logits, MASK_VALUE)
    weights = jax.nn.softmax(logits, axis=-1).astype(dtype)
    return jnp.einsum("bgrts,bsgk->btgrk", weights, value)


# Queries per block in `_chunked_causal_attention`.
PREFILL_QUERY_BLOCK = 128


def _chunked_causal_attention(q, key, value, mask, dtype, window: Optional[int] = None):
    """Causal self-attention over T tokens, one block of queries at a time.

    Query block [i, j) reads keys [max(0, i - window + 1), j) only: later keys are masked by
    causality, earlier ones by the window. Against one [B, G, R, T, T] pass this skips about
    half the work (more with a window) and keeps the logits in cache: prefilling 8 prompts of
    1,024 tokens into Gemma 3 270M spent 4.5 s of 13 s on attention masks and softmaxes over
    the full square (and, reading the empty cache, over a second one).

    Slots are positions up to each row's left padding, so slicing by slot is slicing by
    position. Shapes as `_attend` with S = T.
    """
    t = q.shape[1]
    block = PREFILL_QUERY_BLOCK
    if t <= block:
        return _attend(q, key, value, mask, dtype)
    outputs = []
    for start in range(0, t, block):
        end = min(t, start + block)
        first = 0 if window is None else max(0, start - window + 1)
        outputs.append(_attend(q[:, start:end], key[:, first:end], value[:, first:end],
                               mask[:, start:end, first:end], dtype))
    return jnp.concatenate(outputs, axis=1)


def ring_fill(x: jax.Array, slots: int) -> jax.Array:
    """x [B, T, ...] placed for writing at slot 0 of a `slots`-long ring (axis 1).

    Token j belongs in slot j mod `slots`: when T > slots only the last `slots` tokens are kept,
    rotated into place; otherwise x is returned as is.

    Example:
        ring_fill([[10, 11, 12, 13, 14]], 3) -> [[13, 14, 12]]   (slots 0, 1, 2 hold 3, 4, 2)
    """
    t = x.shape[1]
    return jnp.roll(x[:, -slots:], t % slots, axis=1) if t > slots else x


def _write_cache(cache, key, value, cache_index):
    """The cache with T new keys/values written at `cache_index` (layouts as below).

    A prefill (`cache_index` 0) longer than the buffer is a ring buffer's
    (`transformer.init_layered_cache(ring_windows=True)`): see `ring_fill`.
    """
    if jnp.ndim(cache_index) == 1:
        return _write_cache_rows(cache, key, value, cache_index)
    slots = cache["k"].shape[1]
    key, value = ring_fill(key, slots), ring_fill(value, slots)
    k = jax.lax.dynamic_update_slice(cache["k"], key.astype(cache["k"].dtype),
                                     (0, cache_index, 0, 0))
    if "v_t" in cache:
        v_t = jnp.transpose(value, (0, 2, 3, 1)).astype(cache["v_t"].dtype)  # [B, G, K, T]
        return {"k": k, "v_t": jax.lax.dynamic_update_slice(cache["v_t"], v_t,
                                                             (0, 0, 0, cache_index))}
    return {"k": k, "v": jax.lax.dynamic_update_slice(
        cache["v"], value.astype(cache["v"].dtype), (0, cache_index, 0, 0))}


def _write_cache_rows(cache, key, value, slots):
    """The cache with one new key/value per row b written at its own slot `slots[b]`."""
    rows = jnp.arange(key.shape[0])
    k = cache["k"].at[rows, slots].set(key[:, 0].astype(cache["k"].dtype))
    if "v_t" in cache:
        return {"k": k, "v_t": cache["v_t"].at[rows, :, :, slots].set(
            value[:, 0].astype(cache["v_t"].dtype))}
    return {"k": k, "v": cache["v"].at[rows, slots].set(value[:, 0].astype(cache["v"].dtype))}


def _cached_attention(q, key, value, mask, cache, cache_index, dtype):
    """Attention of `q` over the cache plus the new keys, and the cache with them written.

    The old cache and the T new keys are attended to separately (one softmax over both) and
    the new keys are written, after the reads, with a dynamic_update_slice whose result is only
    returned. Reading the updated buffer instead makes XLA keep two versions of it (on CPU it
    copied each layer's cache several times per decode step); this way the update happens in
    place in a decode loop. The T slots being written are masked out of the old-cache part.

    `cache_index` is a scalar slot, or [B] slots (one per row) when T = 1.
    Shapes: q [B, T, G, R, K], key/value [B, T, G, K], mask [B, T, S] (over the cache slots,
    with the new keys' positions already in place), cache {"k": [B, S, G, K], and "v":
    [B, S, G, K] or "v_t": [B, G, K, S]} (values stored transposed: the layout XLA CPU's
    weights x values matmul reads without first copying the whole buffer).
    Returns ([B, T, G, R, K] output, updated cache in the same layout).
    """
    t, s = q.shape[1], cache["k"].shape[1]
    transposed = "v_t" in cache
    old_k = cache["k"].astype(dtype)
    old_v = (cache["v_t"] if transposed else cache["v"]).astype(dtype)
    slots = jnp.arange(s)
    if jnp.ndim(cache_index) == 1:  # one slot per row, one-token steps
        fresh = slots[None, :] == cache_index[:, None]  # [B, S]: overwritten now
        old_mask = mask & ~fresh[:, None, :]
        new_mask = jnp.take_along_axis(mask, cache_index[:, None, None], axis=2)  # [B, 1, 1]
    else:
        fresh = (slots >= cache_index) & (slots < cache_index + t)  # [S]: overwritten now
        old_mask = mask & ~fresh[None, None, :]
        new_mask = jax.lax.dynamic_slice_in_dim(mask, cache_index, t, axis=2)  # [B, T, T]
    old_logits = jnp.einsum("btgrk,bsgk->bgrts", q, old_k).astype(jnp.float32)
    new_logits = jnp.einsum("btgrk,bsgk->bgrts", q, key).astype(jnp.float32)
    old_logits = jnp.where(old_mask[:, None, None], old_logits, MASK_VALUE)
    new_logits = jnp.where(new_mask[:, None, None], new_logits, MASK_VALUE)
    weights = jax.nn.softmax(jnp.concatenate([old_logits, new_logits], axis=-1),
                             axis=-1).astype(dtype)
    mixed = (jnp.einsum("bgrts,bgks->btgrk" if transposed else "bgrts,bsgk->btgrk",
                        weights[..., :s], old_v)
             + jnp.einsum("bgrts,bsgk->btgrk", weights[..., s:], value))
    # Makes the writes depend on the reads (0 x one output element): without a data
    # dependency XLA CPU may schedule a write first, and then copies each buffer twice per
    # step (an optimization_barrier does not prevent it).
    after_reads = jnp.zeros((), dtype) * mixed.reshape(-1)[0]
    return mixed, _write_cache(cache, key + after_reads, value + after_reads, cache_index)


class GatedMLP(nn.Module):
    """down(act(x @ gate) * (x @ up)): SwiGLU with silu, GeGLU with gelu."""

    config: ModelConfig

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        cfg = self.config
        dtype, pdtype = cfg.jnp_dtype, cfg.jnp_param_dtype
        d, m = cfg.embed_dim, cfg.mlp_dim

        def dense(name, shape, axes, stddev):
            return self.param(name, nn.with_logical_partitioning(_init(stddev), axes), shape,
                              pdtype).astype(dtype)

        gate = dense("gate", (d, m), ("embed", "mlp"), d ** -0.5)
        up = dense("up", (d, m), ("embed", "mlp"), d ** -0.5)
        down = dense("down", (m, d), ("mlp", "embed"), m ** -0.5 / (2 * cfg.num_layers) ** 0.5)
        hidden_gate = flat_dense(x, gate)
        if cfg.mlp_activation == "silu":
            hidden_gate = jax.nn.silu(hidden_gate)
        else:
            hidden_gate = jax.nn.gelu(hidden_gate, approximate=cfg.mlp_activation == "gelu_tanh")
        hidden = nn.with_logical_constraint(hidden_gate * flat_dense(x, up),
                                            ("batch", "length", "act_mlp"))
        return flat_dense(hidden, down)
