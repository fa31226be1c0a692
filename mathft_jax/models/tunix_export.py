"""Our Gemma-3-style decoder's weights in a Tunix (`google-tunix`) Gemma3 model.

Tunix is an optional peer (the `peers` extra): nothing here imports it at module load.
`to_tunix_gemma3` builds Tunix's `tunix.models.gemma3.model.Gemma3` (Flax NNX) with our
parameters, so both libraries can be run on the same weights (benchmarks/peers.py).

Layout differences (ours -> Tunix), per decoder block i (`blocks_{i}` or the i-th slice of the
scanned `layers/block`):

    attention/q [D, H, K]                -> layers[i].attn.q_einsum.w [H, D, K]
    attention/k, v [D, G, K]             -> layers[i].attn.kv_einsum.w [2, G, D, K]
      (H == G: q, k, v                   -> layers[i].attn.qkv_einsum.w [3, H, D, K])
    attention/o [H, K, D]                -> layers[i].attn.attn_vec_einsum.w (same)
    attention/q_norm, k_norm scale [K]   -> attn._query_norm / _key_norm .scale, minus 1
    mlp/gate, up [D, M], down [M, D]     -> mlp.gate_proj / up_proj / down_proj .kernel (same)
    *_norm/scale [D]                     -> pre_attention_norm, post_attention_norm,
                                            pre_ffw_norm, post_ffw_norm .scale, minus 1
    embedding [V, D], final_norm/scale   -> embedder.input_embedding, final_norm.scale - 1

Norm scales: ours multiply (`x * w`); Tunix computes `x * (1 + w)`, hence the minus one.
Tunix's Gemma3 hard-codes the Gemma 3 architecture, so only configs with that shape map
(`check_mappable` says which field is off).

Example:
    model = to_tunix_gemma3(cfg, params)       # cfg: gemma3_270m.gin or a smaller Gemma 3
    logits, _ = model(tokens, positions, None, model.get_attention_mask(tokens))
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from mathft_jax.models.config import ModelConfig
from mathft_jax.models.transformer import split_layer_params

# Fields whose value Tunix's Gemma3 fixes (it has no switch for them).
_GEMMA3_FIXED = {"mlp_activation": "gelu_tanh", "local_global_pattern": "LLLLLG",
                 "qk_norm": True, "post_attention_norm": True, "post_mlp_norm": True,
                 "tie_embeddings": True, "scale_embeddings": True, "norm_eps": 1e-6,
                 "final_logit_softcap": None}


def check_mappable(config: ModelConfig) -> None:
    """Raises ValueError naming the first field Tunix's Gemma3 cannot express."""
    for field, value in _GEMMA3_FIXED.items():
        if getattr(config, field) != value:
            raise ValueError(f"Tunix's Gemma3 needs ModelConfig.{field}={value!r}, got "
                             f"{getattr(config, field)!r}")
    if config.query_scale not in (None, config.head_dim ** -0.5):
        raise ValueError(f"Tunix's Gemma3 scales queries by head_dim ** -0.5, got "
                         f"query_scale={config.query_scale}")
    if config.sliding_window is None:
        raise ValueError("Tunix's Gemma3 needs a sliding_window for its local layers")


def tunix_config(config: ModelConfig, remat: str = "none") -> Any:
    """The `tunix.models.gemma3.model.ModelConfig` with our config's shapes.

    Sharding annotations are Tunix's defaults (they are no-ops without a mesh). Parameters
    are kept in our `param_dtype`; Tunix computes in the parameters' dtype.
    """
    from tunix.models.gemma3 import model as tunix_model

    check_mappable(config)
    remat_config = {"none": tunix_model.RematConfig.NONE,
                    "full": tunix_model.RematConfig.DECODER}[remat]
    return tunix_model.ModelConfig(
        num_layers=config.num_layers, num_embed=config.vocab_size,
        embed_dim=config.embed_dim, hidden_dim=config.mlp_dim, num_heads=config.num_heads,
        head_dim=config.head_dim, num_kv_heads=config.num_kv_heads,
        sliding_window_size=config.sliding_window,
        local_base_frequency=config.local_rope_base, global_base_frequency=config.rope_base,
        remat_config=remat_config, param_dtype=jnp.dtype(config.param_dtype))


def tunix_layer_weights(config: ModelConfig, layer: dict) -> dict[str, Any]:
    """One block's arrays keyed by their attribute path in Tunix's `DecoderLayer`."""
    attn, mlp = layer["attention"], layer["mlp"]
    to_hdk = lambda w: jnp.transpose(w, (1, 0, 2))  # [D, N, K] -> [N, D, K]
    out = {"attn.attn_vec_einsum.w": attn["o"],
           "attn._query_norm.scale": attn["q_norm"]["scale"] - 1,
           "attn._key_norm.scale": attn["k_norm"]["scale"] - 1,
           "mlp.gate_proj.kernel": mlp["gate"], "mlp.up_proj.kernel": mlp["up"],
           "mlp.down_proj.kernel": mlp["down"],
           "pre_attention_norm.scale": layer["pre_attention_norm"]["scale"] - 1,
           "post_attention_norm.scale": layer["post_attention_norm"]["scale"] - 1,
           "pre_ffw_norm.scale": layer["pre_mlp_norm"]["scale"] - 1,
           "post_ffw_norm.scale": layer["post_mlp_norm"]["scale"] - 1}
    if config.num_heads == config.num_kv_heads:
        out["attn.qkv_einsum.w"] = jnp.stack([to_hdk(attn[n]) for n in ("q", "k", "v")])
    else:
        out["attn.q_einsum.w"] = to_hdk(attn["q"])
        out["attn.kv_einsum.w"] = jnp.stack([to_hdk(attn["k"]), to_hdk(attn["v"])])
    return out


def _assign(module: Any, path: str, value: jnp.ndarray) -> None:
    *parents, leaf = path.split(".")
    for name in parents:
        module = getattr(module, name)
    param = getattr(module, leaf)
    if tuple(param.value.shape) != tuple(value.shape):
        raise ValueError(f"Tunix parameter {path} has shape {tuple(param.value.shape)}, "
                         f"the mapped one {tuple(value.shape)}")
    param.value = jnp.asarray(value, param.value.dtype)


def to_tunix_gemma3(config: ModelConfig, params, remat: str = "none") -> Any:
    """A Tunix Gemma3 (NNX) model holding `params` (our tree, scanned or not).

    The model is built abstractly (`nnx.eval_shape`: no random init of 268M parameters) and
    every parameter is then set from ours; a parameter left unset would stay abstract, so
    the mapping is checked to cover the whole model.

    Args:
      config: our ModelConfig (Gemma 3 shaped: see `check_mappable`).
      params: our parameters (plain or logically boxed).
      remat: "none" or "full" (Tunix's per-decoder-layer remat).

    Returns:
      `tunix.models.gemma3.model.Gemma3`.
    """
    import jax
    from flax import nnx
    from tunix.models.gemma3 import model as tunix_model

    cfg = tunix_config(config, remat)
    model = nnx.eval_shape(lambda: tunix_model.Gemma3(cfg, rngs=nnx.Rngs(0)))
    params = nn.meta.unbox(params)
    _assign(model, "embedder.input_embedding", params["embedding"])
    _assign(model, "final_norm.scale", params["final_norm"]["scale"] - 1)
    for i, layer in enumerate(split_layer_params(config, params)):
        for path, value in tunix_layer_weights(config, layer).items():
            _assign(model.layers[i], path, value)
    abstract = [p for p in jax.tree_util.tree_leaves(nnx.state(model))
                if isinstance(p, jax.ShapeDtypeStruct)]
    if abstract:
        raise ValueError(f"{len(abstract)} Tunix parameters were not mapped")
    return model

