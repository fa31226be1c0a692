"""Hugging Face safetensors checkpoints: export and import for Gemma 3, import for Llama.

A checkpoint is a directory with `config.json` and one or more `*.safetensors` files (sharded
checkpoints work: every `*.safetensors` file in the directory is read), using Hugging Face's
tensor names:

    Gemma 3 (model_type "gemma3_text")        Llama family (model_type "llama")
    model.embed_tokens.weight                 model.embed_tokens.weight
    model.layers.{i}.self_attn.{q,k,v,o}_proj.weight          (same)
    model.layers.{i}.self_attn.{q,k}_norm.weight              -
    model.layers.{i}.input_layernorm.weight                   (same: before attention)
    model.layers.{i}.post_attention_layernorm.weight  (after attention)  (before the MLP!)
    model.layers.{i}.pre_feedforward_layernorm.weight         -
    model.layers.{i}.post_feedforward_layernorm.weight        -
    model.layers.{i}.mlp.{gate,up,down}_proj.weight           (same)
    model.norm.weight                                         (same)
    -                                         lm_head.weight (absent or ignored when tied)

Norm conventions: Hugging Face's Gemma RMSNorm computes `x * (1 + w)`, ours `x * w`, so
Gemma norm weights are shifted by one on the way in (+1) and out (-1), computed in float64.
The round trip is bit-exact for every norm weight >= 0.5 (the subtraction is then exact in
float32); a weight below 0.5 may move by one float32 ulp. Llama's RMSNorm is already `x * w`.
Hugging Face's Llama Q/K rows are in the rotate-half layout our RoPE uses: no permutation.

Example:
    export_safetensors(config, params, "out/hf")           # out/hf/{model.safetensors,config.json}
    config2, params2 = load_safetensors("out/hf")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
from etils import epath

from mathft_jax import file_paths
from mathft_jax.atomic_files import atomic_write
from mathft_jax.models import gguf_import
from mathft_jax.models.config import ModelConfig

GEMMA3, LLAMA = "gemma3_text", "llama"
FORMAT_VERSION = 1  # of the `mathft_jax` entry we add to config.json

_COMMON_LAYER = {
    "q": "self_attn.q_proj.weight", "k": "self_attn.k_proj.weight",
    "v": "self_attn.v_proj.weight", "o": "self_attn.o_proj.weight",
    "gate": "mlp.gate_proj.weight", "up": "mlp.up_proj.weight", "down": "mlp.down_proj.weight",
    "pre_attention_norm": "input_layernorm.weight",
}
HF_LAYER_NAMES = {
    GEMMA3: {**_COMMON_LAYER, "q_norm": "self_attn.q_norm.weight",
             "k_norm": "self_attn.k_norm.weight",
             "post_attention_norm": "post_attention_layernorm.weight",
             "pre_mlp_norm": "pre_feedforward_layernorm.weight",
             "post_mlp_norm": "post_feedforward_layernorm.weight"},
    LLAMA: {**_COMMON_LAYER, "pre_mlp_norm": "post_attention_layernorm.weight"},
}
HF_GLOBAL_NAMES = {"embedding": "model.embed_tokens.weight", "final_norm": "model.norm.weight",
                   "unembedding": "lm_head.weight"}
_NORMS = {"q_norm", "k_norm", "final_norm", *gguf_import.BLOCK_NORMS}


class SafetensorsError(ValueError):
    """A checkpoint that cannot be mapped onto the Decoder; the message names the file."""


def hf_name(family: str, name: str, layer: Optional[int]) -> str:
    """Hugging Face tensor name of a canonical name (see `gguf_import`)."""
    if layer is None:
        return HF_GLOBAL_NAMES[name]
    return f"model.layers.{layer}.{HF_LAYER_NAMES[family][name]}"


def family_of(config: ModelConfig) -> str:
    """GEMMA3 or LLAMA, for a config that fits one of them exactly."""
    if (config.qk_norm and config.post_attention_norm and config.post_mlp_norm
            and config.scale_embeddings and config.mlp_activation == "gelu_tanh"):
        return GEMMA3
    if (not config.qk_norm and not config.post_attention_norm and not config.post_mlp_norm
            and not config.scale_embeddings and config.mlp_activation == "silu"
            and config.sliding_window is None and config.final_logit_softcap is None):
        return LLAMA
    raise SafetensorsError("config fits neither the Gemma 3 nor the Llama layout of Hugging "
                           f"Face: {config}")


# ---------------------------------------------------------------------------------------------
# config.json


def hf_config(config: ModelConfig, bos_id: int = 2, eos_id: int = 1,
              pad_id: int = 0) -> dict:
    """A Hugging Face config.json dict for `config` (Gemma3ForCausalLM or LlamaForCausalLM)."""
    family = family_of(config)
    common = {
        "vocab_size": config.vocab_size, "hidden_size": config.embed_dim,
        "intermediate_size": config.mlp_dim, "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads, "num_key_value_heads": config.num_kv_heads,
        "head_dim": config.head_dim, "rms_norm_eps": config.norm_eps,
        "rope_theta": config.rope_base, "max_position_embeddings": config.max_seq_len,
        "tie_word_embeddings": config.tie_embeddings, "rope_scaling": None,
        "bos_token_id": bos_id, "eos_token_id": eos_id, "pad_token_id": pad_id,
        "torch_dtype": config.param_dtype, "attention_bias": False,
    }
    if family == LLAMA:
        return {"architectures": ["LlamaForCausalLM"], "model_type": LLAMA,
                "hidden_act": "silu", "mlp_bias": False, **common}
    scale = config.query_scale if config.query_scale is not None else config.head_dim ** -0.5
    layer_types = ["sliding_attention" if config.layer_is_local(i) else "full_attention"
                   for i in range(config.num_layers)]
    return {"architectures": ["Gemma3ForCausalLM"], "model_type": GEMMA3,
            "hidden_activation": "gelu_pytorch_tanh",
            # transformers (5.x) validates this field as an int, which it is for Gemma 3.
            "query_pre_attn_scalar": _int_if_whole(round(scale ** -2, 6)),
            "rope_local_base_freq": config.local_rope_base,
            "sliding_window": config.sliding_window or config.max_seq_len,
            "layer_types": layer_types,
            "final_logit_softcapping": config.final_logit_softcap,
            "attn_logit_softcapping": None, **common}


def _int_if_whole(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def config_from_hf(hf: Mapping[str, Any], source: str = "config.json",
                   **overrides) -> ModelConfig:
    """A ModelConfig from a Hugging Face config.json dict (Gemma 3 text or Llama)."""
    family = _family_from_hf(hf, source)

    def need(key):
        if key not in hf:
            raise SafetensorsError(f"{source}: field {key!r} is missing")
        return hf[key]

    if hf.get("rope_scaling"):
        raise SafetensorsError(f"{source}: rope_scaling {hf['rope_scaling']!r} is not "
                               "supported")
    d, heads = int(need("hidden_size")), int(need("num_attention_heads"))
    head_dim = int(hf.get("head_dim") or d // heads)
    fields = dict(
        vocab_size=int(need("vocab_size")), num_layers=int(need("num_hidden_layers")),
        embed_dim=d, mlp_dim=int(need("intermediate_size")), num_heads=heads,
        num_kv_heads=int(hf.get("num_key_value_heads") or heads), head_dim=head_dim,
        norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
        rope_base=float(hf.get("rope_theta", 10_000.0)),
        max_seq_len=int(hf.get("max_position_embeddings", 2048)),
        tie_embeddings=bool(hf.get("tie_word_embeddings", family == GEMMA3)))
    if family == LLAMA:
        if hf.get("attention_bias") or hf.get("mlp_bias"):
            raise SafetensorsError(f"{source}: attention/MLP biases are not supported")
        act = hf.get("hidden_act", "silu")
        if act != "silu":
            raise SafetensorsError(f"{source}: hidden_act {act!r} is not supported (silu only)")
        fields.update(mlp_activation="silu", local_rope_base=fields["rope_base"])
    else:
        act = hf.get("hidden_activation", hf.get("hidden_act", "gelu_pytorch_tanh"))
        if act not in ("gelu_pytorch_tanh", "gelu_tanh"):
            raise SafetensorsError(f"{source}: hidden_activation {act!r} is not supported")
        if hf.get("attn_logit_softcapping"):
            raise SafetensorsError(f"{source}: attn_logit_softcapping is not supported")
        layer_types = hf.get("layer_types")
        if layer_types is None:
            period = int(hf.get("sliding_window_pattern", 6))
            layer_types = ["full_attention" if (i + 1) % period == 0 else "sliding_attention"
                           for i in range(fields["num_layers"])]
        pattern = "".join("L" if t == "sliding_attention" else "G" for t in layer_types)
        if len(pattern) != fields["num_layers"]:
            raise SafetensorsError(f"{source}: {len(pattern)} layer_types for "
                                   f"{fields['num_layers']} layers")
        has_local = "L" in pattern
        fields.update(
            mlp_activation="gelu_tanh",
            local_rope_base=float(hf.get("rope_local_base_freq", 10_000.0)),
            sliding_window=int(hf["sliding_window"]) if has_local else None,
            local_global_pattern=_shortest_period(pattern),
            qk_norm=True, post_attention_norm=True, post_mlp_norm=True, scale_embeddings=True,
            query_scale=float(hf.get("query_pre_attn_scalar", head_dim)) ** -0.5,
            final_logit_softcap=hf.get("final_logit_softcapping"))
    fields.update(overrides)
    return ModelConfig(**fields)


def _shortest_period(pattern: str) -> str:
    """"LLLLLGLLLLLG" -> "LLLLLG"; a pattern with no period is returned whole."""
    for n in range(1, len(pattern) + 1):
        if all(pattern[i] == pattern[i % n] for i in range(len(pattern))):
            return pattern[:n]
    return pattern


def _family_from_hf(hf: Mapping[str, Any], source: str) -> str:
    model_type = hf.get("model_type")
    if model_type in (GEMMA3, "gemma3") and "text_config" not in hf:
        return GEMMA3
    if model_type in (LLAMA, "mistral") and not hf.get("sliding_window"):
        return LLAMA
    raise SafetensorsError(f"{source}: model_type {model_type!r} is not supported (text-only "
                           "gemma3_text, or llama-shaped: llama, mistral without sliding window)")


# ---------------------------------------------------------------------------------------------
# Tensors


def hf_tensors(config: ModelConfig, params: Mapping, dtype: Any = None) -> dict[str, np.ndarray]:
    """Our params as {Hugging Face name: array} (norms shifted for Gemma).

    Args:
      dtype: numpy dtype of the tensors (default: config.param_dtype), e.g. "bfloat16".
    """
    family = family_of(config)
    dtype = np.dtype(dtype or config.param_dtype)
    out = {}
    for (name, layer), w in gguf_import.torch_layout_from_params(config, params).items():
        w = np.asarray(w)
        if family == GEMMA3 and name in _NORMS:
            w = w.astype(np.float64) - 1.0
        out[hf_name(family, name, layer)] = np.ascontiguousarray(w.astype(dtype))
    return out


def export_safetensors(config: ModelConfig, params: Mapping, out_dir: str | os.PathLike,
                       dtype: Any = None, extra_config: Optional[Mapping[str, Any]] = None
                       ) -> epath.Path:
    """Writes `out_dir/model.safetensors` and `out_dir/config.json` (both atomically).

    Args:
      config, params: the model (params boxed or plain, any array type).
      out_dir: created if missing.
      dtype: tensor dtype in the file (default config.param_dtype).
      extra_config: merged into config.json (e.g. token ids of the vocabulary).

    Returns:
      The path of model.safetensors.
    """
    from safetensors.numpy import save_file

    out_dir = file_paths.as_path(out_dir)
    tensors = hf_tensors(config, params, dtype)
    dtype_name = str(next(iter(tensors.values())).dtype)
    hf = hf_config(config)
    hf["torch_dtype"] = dtype_name
    hf["mathft_jax"] = {"version": FORMAT_VERSION, "model_config": _asdict(config)}
    hf.update(extra_config or {})
    weights = out_dir / "model.safetensors"
    atomic_write(weights, lambda tmp: save_file(tensors, tmp, metadata={"format": "pt"}))
    atomic_write(out_dir / "config.json",
                  lambda tmp: Path(tmp).write_text(json.dumps(hf, indent=2) + "\n"))
    return weights


def _asdict(config: ModelConfig) -> dict:
    import dataclasses
    return dataclasses.asdict(config)


def read_tensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file, or of all such files in a directory."""
    from safetensors.numpy import load, load_file

    path = file_paths.as_path(path)
    files = sorted(path.glob("*.safetensors")) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"no *.safetensors files in {path}")
    tensors: dict[str, np.ndarray] = {}
    for f in files:
        try:
            part = (load_file(os.fspath(f)) if file_paths.is_local(f)  # mmap locally
                    else load(f.read_bytes()))
        except Exception as e:  # safetensors raises its own SafetensorError
            raise SafetensorsError(f"{f}: not a readable safetensors file ({e})") from e
        dup = set(part) & set(tensors)
        if dup:
            raise SafetensorsError(f"{f}: tensor {sorted(dup)[0]!r} also in another shard")
        tensors.update(part)
    return tensors


def load_safetensors(path: str | os.PathLike, dtype: Any = np.float32,
                     **config_overrides) -> tuple[ModelConfig, dict]:
    """Imports a Hugging Face Gemma 3 (text) or Llama-family checkpoint directory.

    Args:
      path: directory with config.json and *.safetensors.
      dtype: numpy dtype of the returned params.
      **config_overrides: ModelConfig fields to override (e.g. dtype="bfloat16").

    Returns:
      (config, plain numpy params tree).

    Raises:
      FileNotFoundError: no config.json or no safetensors file.
      SafetensorsError: unsupported model type, or a missing / misshapen tensor (named).
    """
    path = file_paths.as_path(path)
    config_path = path / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found (a Hugging Face checkpoint directory "
                                "holds config.json next to its *.safetensors files)")
    try:
        hf = json.loads(config_path.read_text())
    except json.JSONDecodeError as e:
        raise SafetensorsError(f"{config_path}: invalid JSON at line {e.lineno}: {e.msg}") from e
    config = config_from_hf(hf, str(config_path), **config_overrides)
    family = _family_from_hf(hf, str(config_path))
    tensors = read_tensors(path)
    if not config.tie_embeddings and HF_GLOBAL_NAMES["unembedding"] not in tensors:
        raise SafetensorsError(f"{path}: tie_word_embeddings is false but lm_head.weight is "
                               "missing")

    used = set()

    def fetch(name, layer):
        key = hf_name(family, name, layer)
        used.add(key)
        if key not in tensors:
            raise SafetensorsError(f"{path}: tensor {key!r} is missing")
        w = tensors[key]
        if family == GEMMA3 and name in _NORMS:
            w = w.astype(np.float64) + 1.0
        return w

    try:
        params = gguf_import.params_from_torch_layout(config, fetch, dtype)
    except SafetensorsError:
        raise
    except ValueError as e:
        raise SafetensorsError(f"{path}: {e}") from None
    ignorable = {HF_GLOBAL_NAMES["unembedding"]} if config.tie_embeddings else set()
    unused = sorted(k for k in set(tensors) - used - ignorable
                    if not k.endswith("rotary_emb.inv_freq"))
    if unused:
        raise SafetensorsError(f"{path}: {len(unused)} tensor(s) the model has no place for, "
                               f"e.g. {unused[0]!r} (biases and other extras are not supported)")
    return config, params
