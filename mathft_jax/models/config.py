"""ModelConfig: every architectural choice of the decoder in one frozen, gin-registered record."""

from __future__ import annotations

import dataclasses
from typing import Optional

import gin
import jax.numpy as jnp

GLOBAL_WINDOW = 1 << 30  # "no window": larger than any sequence we will ever see.


@gin.register
@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of a decoder-only transformer.

    It covers Llama-style (SwiGLU, untied head, one RoPE base) and Gemma-3-style
    (GeGLU, QK-norm, pre+post norms, interleaved sliding-window layers with their own RoPE
    base, tied and scaled embeddings) models.

    Attributes:
      vocab_size: rows of the embedding table.
      num_layers: decoder blocks (scanned, so compile time does not grow with depth).
      embed_dim: model width D.
      mlp_dim: hidden width of the gated MLP.
      num_heads: query heads H.
      num_kv_heads: key/value heads G (H % G == 0; G < H is grouped-query attention).
      head_dim: per-head width K.
      mlp_activation: "silu" (SwiGLU), "gelu_tanh" (GeGLU, tanh-approximate GELU) or "gelu".
      rope_base: RoPE base of global (full-attention) layers.
      local_rope_base: RoPE base of sliding-window layers.
      sliding_window: window of local layers in tokens (a query at position p sees keys at
        positions p - window + 1 .. p); None means no local layers.
      local_global_pattern: layer i is local when `pattern[i % len(pattern)] == "L"` and global
        when it is "G". Gemma 3 uses "LLLLLG"; "G" makes every layer global.
      qk_norm: RMSNorm over head_dim on queries and keys before RoPE.
      post_attention_norm: RMSNorm on the attention output before the residual add.
      post_mlp_norm: RMSNorm on the MLP output before the residual add.
      tie_embeddings: output head shares the input embedding table.
      scale_embeddings: multiply input embeddings by sqrt(embed_dim).
      norm_eps: RMSNorm epsilon. Norm scales are plain multipliers (x * w, init 1).
      query_scale: factor on queries; None means head_dim ** -0.5.
      final_logit_softcap: tanh soft-cap on logits (cap * tanh(x / cap)); None for none.
      param_dtype: storage dtype of parameters.
      dtype: activation / matmul dtype (logits are always float32).
      scan_layers: use nn.scan over blocks (params get a leading "layers" axis).
      remat: "none", "full" (recompute each block in the backward pass) or "dots"
        (save matmul outputs only).
      max_seq_len: longest sequence the model is used with (KV-cache size default).
    """

    vocab_size: int = 256
    num_layers: int = 2
    embed_dim: int = 64
    mlp_dim: int = 256
    num_heads: int = 4
    num_kv_heads: int = 4
    head_dim: int = 16
    mlp_activation: str = "silu"
    rope_base: float = 10_000.0
    local_rope_base: float = 10_000.0
    sliding_window: Optional[int] = None
    local_global_pattern: str = "G"
    qk_norm: bool = False
    post_attention_norm: bool = False
    post_mlp_norm: bool = False
    tie_embeddings: bool = True
    scale_embeddings: bool = False
    norm_eps: float = 1e-6
    query_scale: Optional[float] = None
    final_logit_softcap: Optional[float] = None
    param_dtype: str = "float32"
    dtype: str = "float32"
    scan_layers: bool = True
    remat: str = "none"
    max_seq_len: int = 2048

    def __post_init__(self):
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_heads={self.num_heads} is not a multiple of "
                             f"num_kv_heads={self.num_kv_heads}")
        if self.mlp_activation not in ("silu", "gelu_tanh", "gelu"):
            raise ValueError(f"unknown mlp_activation {self.mlp_activation!r}")
        if set(self.local_global_pattern) - {"L", "G"} or not self.local_global_pattern:
            raise ValueError(f"local_global_pattern must be a string of 'L'/'G', got "
                             f"{self.local_global_pattern!r}")
        if "L" in self.local_global_pattern and not self.sliding_window:
            raise ValueError("local layers in local_global_pattern need sliding_window")
        if self.remat not in ("none", "full", "dots"):
            raise ValueError(f"unknown remat {self.remat!r}")

    @property
    def jnp_dtype(self):
        return jnp.dtype(self.dtype)

    @property
    def jnp_param_dtype(self):
        return jnp.dtype(self.param_dtype)

    def layer_is_local(self, layer: int) -> bool:
        pattern = self.local_global_pattern
        return pattern[layer % len(pattern)] == "L"

    def layer_windows(self) -> list[int]:
        """Per-layer attention window in tokens (GLOBAL_WINDOW for global layers)."""
        return [self.sliding_window if self.layer_is_local(i) else GLOBAL_WINDOW
                for i in range(self.num_layers)]

    def layer_rope_bases(self) -> list[float]:
        return [self.local_rope_base if self.layer_is_local(i) else self.rope_base
                for i in range(self.num_layers)]

    def num_params(self, include_embedding: bool = True) -> int:
        """Parameter count, computed from the shapes (no arrays are built)."""
        d, h, g, k, m = (self.embed_dim, self.num_heads, self.num_kv_heads, self.head_dim,
                         self.mlp_dim)
        per_layer = d * h * k + 2 * d * g * k + h * k * d + 3 * d * m + 2 * d
        per_layer += (2 * k if self.qk_norm else 0)
        per_layer += (d if self.post_attention_norm else 0) + (d if self.post_mlp_norm else 0)
        total = self.num_layers * per_layer + d
        embedding = self.vocab_size * d * (1 if self.tie_embeddings else 2)
        return total + (embedding if include_embedding else 0)

    def flops_per_token(self, seq_len: int) -> float:
        """Forward-pass model FLOPs per token: 2 x (non-embedding params + output head)
        plus attention scores and mixing (2 x 2 x layers x seq_len x H x K, causal-halved)."""
        d, h, g, k, m = (self.embed_dim, self.num_heads, self.num_kv_heads, self.head_dim,
                         self.mlp_dim)
        per_layer = d * h * k + 2 * d * g * k + h * k * d + 3 * d * m
        matmul_params = self.num_layers * per_layer + self.vocab_size * d
        attention = 2 * 2 * self.num_layers * self.num_heads * self.head_dim * seq_len / 2
        return 2.0 * matmul_params + attention
