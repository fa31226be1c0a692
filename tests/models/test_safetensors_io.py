"""Safetensors: Gemma 3 export -> import is exact; Llama-shaped HF checkpoints import."""

from __future__ import annotations

import dataclasses
import json

import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from mathft_jax.models import Decoder
from mathft_jax.models import safetensors_io as st
from tests.models.test_gguf_import import TINY_GEMMA, TINY_LLAMA, TOKENS, random_params


def _logits(config, params):
    return np.asarray(Decoder(config).apply({"params": params}, jnp.asarray(TOKENS)))


def test_gemma3_export_import_identical(tmp_path):
    params = random_params(TINY_GEMMA, seed=3)
    weights = st.export_safetensors(TINY_GEMMA, params, tmp_path / "hf")
    hf = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert hf["architectures"] == ["Gemma3ForCausalLM"] and hf["model_type"] == "gemma3_text"
    assert hf["layer_types"] == ["sliding_attention"] * 5 + ["full_attention"]
    assert hf["query_pre_attn_scalar"] == 32 and hf["sliding_window"] == 4
    tensors = load_file(str(weights))
    assert tensors["model.layers.0.self_attn.q_proj.weight"].shape == (2 * 32, 64)
    assert tensors["model.layers.5.mlp.down_proj.weight"].shape == (64, 96)
    assert "lm_head.weight" not in tensors
    # Hugging Face Gemma norms are x * (1 + w).
    np.testing.assert_allclose(
        tensors["model.layers.2.pre_feedforward_layernorm.weight"],
        params["layers"]["block"]["pre_mlp_norm"]["scale"][2] - 1.0, atol=1e-7)
    np.testing.assert_allclose(tensors["model.norm.weight"], params["final_norm"]["scale"] - 1,
                               atol=1e-7)

    config, loaded = st.load_safetensors(tmp_path / "hf")
    assert config == TINY_GEMMA
    np.testing.assert_array_equal(_logits(config, loaded), _logits(TINY_GEMMA, params))
    assert not list((tmp_path / "hf").glob("*.tmp"))


def test_export_bfloat16(tmp_path):
    params = random_params(TINY_GEMMA, seed=4)
    weights = st.export_safetensors(TINY_GEMMA, params, tmp_path, dtype="bfloat16")
    tensors = load_file(str(weights))
    assert {t.dtype for t in tensors.values()} == {np.dtype(ml_dtypes.bfloat16)}
    assert json.loads((tmp_path / "config.json").read_text())["torch_dtype"] == "bfloat16"
    config, loaded = st.load_safetensors(tmp_path)
    assert loaded["embedding"].dtype == np.float32
    # bf16 rounding: close, not equal.
    np.testing.assert_allclose(loaded["embedding"], params["embedding"], rtol=1e-2, atol=1e-3)


def _write_llama_checkpoint(path, config, params, extra=None):
    """Writes a Llama checkpoint with HF names spelled out here, independent of st's tables."""
    b = params["layers"]["block"]
    d, h, g, k = config.embed_dim, config.num_heads, config.num_kv_heads, config.head_dim
    tensors = {"model.embed_tokens.weight": params["embedding"],
               "model.norm.weight": params["final_norm"]["scale"]}
    if not config.tie_embeddings:
        tensors["lm_head.weight"] = params["unembedding"].T
    for i in range(config.num_layers):
        p = f"model.layers.{i}."
        tensors[p + "self_attn.q_proj.weight"] = b["attention"]["q"][i].reshape(d, h * k).T
        tensors[p + "self_attn.k_proj.weight"] = b["attention"]["k"][i].reshape(d, g * k).T
        tensors[p + "self_attn.v_proj.weight"] = b["attention"]["v"][i].reshape(d, g * k).T
        tensors[p + "self_attn.o_proj.weight"] = b["attention"]["o"][i].reshape(h * k, d).T
        tensors[p + "mlp.gate_proj.weight"] = b["mlp"]["gate"][i].T
        tensors[p + "mlp.up_proj.weight"] = b["mlp"]["up"][i].T
        tensors[p + "mlp.down_proj.weight"] = b["mlp"]["down"][i].T
        tensors[p + "input_layernorm.weight"] = b["pre_attention_norm"]["scale"][i]
        tensors[p + "post_attention_layernorm.weight"] = b["pre_mlp_norm"]["scale"][i]
    tensors.update(extra or {})
    path.mkdir(parents=True, exist_ok=True)
    # Two shards, as large checkpoints come.
    names = sorted(tensors)
    save_file({n: np.ascontiguousarray(tensors[n]) for n in names[::2]},
              str(path / "model-00001-of-00002.safetensors"))
    save_file({n: np.ascontiguousarray(tensors[n]) for n in names[1::2]},
              str(path / "model-00002-of-00002.safetensors"))
    hf = {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
          "vocab_size": config.vocab_size, "hidden_size": d, "intermediate_size": config.mlp_dim,
          "num_hidden_layers": config.num_layers, "num_attention_heads": h,
          "num_key_value_heads": g, "rms_norm_eps": config.norm_eps,
          "rope_theta": config.rope_base, "max_position_embeddings": config.max_seq_len,
          "tie_word_embeddings": config.tie_embeddings, "hidden_act": "silu",
          "rope_scaling": None}
    (path / "config.json").write_text(json.dumps(hf))


@pytest.mark.parametrize("tied", [False, True])
def test_llama_import(tmp_path, tied):
    config = dataclasses.replace(TINY_LLAMA, tie_embeddings=tied)
    params = random_params(config, seed=5)
    _write_llama_checkpoint(tmp_path, config, params)
    loaded_config, loaded = st.load_safetensors(tmp_path)
    assert loaded_config == config
    np.testing.assert_array_equal(_logits(loaded_config, loaded), _logits(config, params))


def test_llama_export_import(tmp_path):
    params = random_params(TINY_LLAMA, seed=6)
    st.export_safetensors(TINY_LLAMA, params, tmp_path)
    assert "lm_head.weight" in load_file(str(tmp_path / "model.safetensors"))
    config, loaded = st.load_safetensors(tmp_path)
    assert config == TINY_LLAMA
    np.testing.assert_array_equal(_logits(config, loaded), _logits(TINY_LLAMA, params))


def test_unused_tensor_is_an_error(tmp_path):
    params = random_params(TINY_LLAMA, seed=7)
    _write_llama_checkpoint(tmp_path, TINY_LLAMA, params,
                            extra={"model.layers.0.self_attn.q_proj.bias": np.zeros(64, np.float32)})
    with pytest.raises(st.SafetensorsError, match="q_proj.bias"):
        st.load_safetensors(tmp_path)


def test_missing_tensor_is_named(tmp_path):
    params = random_params(TINY_GEMMA, seed=8)
    st.export_safetensors(TINY_GEMMA, params, tmp_path)
    tensors = load_file(str(tmp_path / "model.safetensors"))
    del tensors["model.layers.3.self_attn.k_norm.weight"]
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(st.SafetensorsError, match=r"layers\.3\.self_attn\.k_norm"):
        st.load_safetensors(tmp_path)


def test_wrong_shape_is_named(tmp_path):
    params = random_params(TINY_GEMMA, seed=9)
    st.export_safetensors(TINY_GEMMA, params, tmp_path)
    hf = json.loads((tmp_path / "config.json").read_text())
    hf["intermediate_size"] = 128
    (tmp_path / "config.json").write_text(json.dumps(hf))
    with pytest.raises(st.SafetensorsError, match="gate.*layer 0"):
        st.load_safetensors(tmp_path)


def test_unsupported_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    with pytest.raises(st.SafetensorsError, match="qwen2"):
        st.load_safetensors(tmp_path)
    (tmp_path / "config.json").write_text("{\n  'bad': json\n}")
    with pytest.raises(st.SafetensorsError, match="line 2"):
        st.load_safetensors(tmp_path)
    with pytest.raises(FileNotFoundError, match="config.json"):
        st.load_safetensors(tmp_path / "nowhere")
