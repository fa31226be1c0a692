"""GGUF import: tiny GGUF files written here with gguf.GGUFWriter must import to the same
config, parameters and logits; the tokenizer metadata must rebuild a working .model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import gguf
import pytest
from flax.linen import meta

from mathft_jax.models import Decoder, ModelConfig
from mathft_jax.models import gguf_import, gguf_tokenizer
from tests import kit

TINY_GEMMA, TINY_LLAMA = kit.TINY_GEMMA, kit.TINY_LLAMA

_GGUF_NAMES = {"q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output",
               "q_norm": "attn_q_norm", "k_norm": "attn_k_norm", "pre_attention_norm": "attn_norm",
               "post_attention_norm": "post_attention_norm", "pre_mlp_norm": "ffn_norm",
               "post_mlp_norm": "post_ffw_norm", "gate": "ffn_gate", "up": "ffn_up",
               "down": "ffn_down"}


def random_params(config: ModelConfig, seed: int = 0) -> dict:
    """Random float32 params in our tree; norm scales around 1 so a mix-up shows in logits."""
    shapes = jax.eval_shape(lambda: meta.unbox(
        Decoder(config).init(jax.random.PRNGKey(0), jnp.zeros((1, 2), jnp.int32))["params"]))
    rng = np.random.default_rng(seed)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(shapes)
    out = []
    for path, leaf in leaves:
        is_norm = any(getattr(k, "key", None) == "scale" for k in path)
        x = rng.normal(size=leaf.shape).astype(np.float32)
        out.append(1.0 + 0.2 * x if is_norm else 0.15 * x)
    return jax.tree_util.tree_unflatten(treedef, out)


def tiny_vocab() -> tuple[list[str], list[float], list[int]]:
    """A 300-piece SentencePiece-style vocabulary laid out like Gemma's GGUF.

    <unk> is CONTROL and one user-defined piece holds raw spaces: the two repairs.
    """
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>"]
    types = [3, 3, 3, 3]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [6] * 256
    tokens += ["   "]  # three raw spaces: stored like Gemma's whitespace pieces
    types += [4]
    normal = ["\u2581", "a", "b", "c", "x", "+", "=", "1", "2", "\u2581a", "ab", "\u2581ab",
              "bc", "\u2581x", "\u2581=", "\u2581+"]
    tokens += normal
    types += [1] * len(normal)
    tokens += [f"<unused{i}>" for i in range(300 - len(tokens))]
    types += [5] * (300 - len(types))
    scores = [0.0] * 261 + [-float(i) for i in range(len(normal))] + [0.0] * (300 - 261 -
                                                                           len(normal))
    return tokens, scores, types


def write_tiny_gguf(path: Path, config: ModelConfig, params: dict, arch: str,
                    quantize: tuple[str, ...] = ()) -> dict:
    """Writes `params` as a GGUF; returns the params the file really holds (after the
    round trip through any quantized tensor types named in `quantize`)."""
    torch_layout = gguf_import.torch_layout_from_params(config, params)
    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_block_count(config.num_layers)
    writer.add_embedding_length(config.embed_dim)
    writer.add_feed_forward_length(config.mlp_dim)
    writer.add_head_count(config.num_heads)
    writer.add_head_count_kv(config.num_kv_heads)
    writer.add_layer_norm_rms_eps(config.norm_eps)
    writer.add_rope_freq_base(config.rope_base)
    writer.add_context_length(config.max_seq_len)
    if arch == "gemma3":
        writer.add_key_length(config.head_dim)
        writer.add_value_length(config.head_dim)
        if config.sliding_window:
            writer.add_sliding_window(config.sliding_window)
    tokens, scores, types = tiny_vocab()
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(2)
    writer.add_eos_token_id(1)
    writer.add_unk_token_id(3)
    writer.add_pad_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(False)

    stored = {}
    for (name, layer), w in torch_layout.items():
        w = np.ascontiguousarray(w, np.float32)
        if layer is None:
            gguf_name = {"embedding": "token_embd.weight", "unembedding": "output.weight",
                         "final_norm": "output_norm.weight"}[name]
        else:
            gguf_name = f"blk.{layer}.{_GGUF_NAMES[name]}.weight"
        if arch == "llama" and name in ("q", "k"):
            # llama.cpp's converter: rows of each head go from rotate-half to interleaved.
            n = config.num_heads if name == "q" else config.num_kv_heads
            written = w.reshape(n, 2, w.shape[0] // n // 2, w.shape[1]).swapaxes(1, 2)
            written = np.ascontiguousarray(written.reshape(w.shape))
        else:
            written = w
        if name in quantize:
            qtype = gguf.GGMLQuantizationType.Q8_0
            q = gguf.quants.quantize(written, qtype)
            writer.add_tensor(gguf_name, q, raw_shape=q.shape, raw_dtype=qtype)
            w = gguf.quants.dequantize(q, qtype).reshape(w.shape)
        else:
            writer.add_tensor(gguf_name, written)
        stored[(name, layer)] = w
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return gguf_import.params_from_torch_layout(config, lambda n, i: stored[(n, i)])


def _logits(config, params, tokens):
    return np.asarray(Decoder(config).apply({"params": params}, jnp.asarray(tokens)))


TOKENS = np.array([[2, 270, 261, 5, 300 - 40, 262, 263, 264, 270, 271, 272, 9]], np.int32)


def test_gemma3_gguf_round_trip(tmp_path):
    params = random_params(TINY_GEMMA)
    path = tmp_path / "tiny.gguf"
    expected = write_tiny_gguf(path, TINY_GEMMA, params, "gemma3", quantize=("up",))
    model = gguf_import.load_gguf(path)
    assert model.config == TINY_GEMMA
    jax.tree_util.tree_map(np.testing.assert_array_equal, model.params, expected)
    # The Q8_0 tensor really was quantized: the file's params are not the originals.
    assert not np.array_equal(model.params["layers"]["block"]["mlp"]["up"],
                              params["layers"]["block"]["mlp"]["up"])
    np.testing.assert_allclose(_logits(model.config, model.params, TOKENS),
                               _logits(TINY_GEMMA, expected, TOKENS), rtol=0, atol=1e-5)


def test_llama_gguf_unpermutes_qk(tmp_path):
    params = random_params(TINY_LLAMA, seed=1)
    path = tmp_path / "llama.gguf"
    write_tiny_gguf(path, TINY_LLAMA, params, "llama")
    model = gguf_import.load_gguf(path)
    assert model.config == TINY_LLAMA
    jax.tree_util.tree_map(np.testing.assert_array_equal, model.params, params)
    np.testing.assert_allclose(_logits(model.config, model.params, TOKENS),
                               _logits(TINY_LLAMA, params, TOKENS), rtol=0, atol=1e-5)


def test_torch_layout_round_trip():
    params = random_params(TINY_GEMMA, seed=2)
    layout = gguf_import.torch_layout_from_params(TINY_GEMMA, params)
    assert layout[("q", 0)].shape == (2 * 32, 64)
    assert layout[("o", 5)].shape == (64, 2 * 32)
    back = gguf_import.params_from_torch_layout(TINY_GEMMA, lambda n, i: layout[(n, i)])
    jax.tree_util.tree_map(np.testing.assert_array_equal, back, params)


def test_unsupported_architecture_names_file(tmp_path):
    path = tmp_path / "phi.gguf"
    writer = gguf.GGUFWriter(str(path), arch="phi2")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((8, 4), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(gguf_import.GGUFImportError, match=r"phi\.gguf.*phi2"):
        gguf_import.load_gguf(path)


def test_missing_tensor_names_file_and_tensor(tmp_path):
    cfg = dataclasses.replace(TINY_GEMMA, num_layers=1, sliding_window=None,
                              local_global_pattern="G")
    params = random_params(cfg)
    path = tmp_path / "partial.gguf"
    write_tiny_gguf(path, cfg, params, "gemma3")
    reader = gguf_import.open_gguf(path)
    reader.tensors = [t for t in reader.tensors if t.name != "blk.0.ffn_down.weight"]
    with pytest.raises(gguf_import.GGUFImportError, match=r"partial\.gguf.*blk\.0\.ffn_down"):
        gguf_import.load_gguf(path, reader=reader)


def test_not_a_gguf_file(tmp_path):
    path = tmp_path / "junk.gguf"
    path.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(gguf_import.GGUFImportError, match="junk.gguf"):
        gguf_import.open_gguf(path)


def test_tokenizer_rebuilt_from_metadata(tmp_path):
    import sentencepiece as spm

    cfg = dataclasses.replace(TINY_GEMMA, num_layers=1, sliding_window=None,
                              local_global_pattern="G")
    path = tmp_path / "tok.gguf"
    write_tiny_gguf(path, cfg, random_params(cfg), "gemma3")
    model_path = gguf_tokenizer.write_sentencepiece_model(gguf_import.open_gguf(path),
                                                          tmp_path / "tok.model")
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    assert sp.get_piece_size() == 300
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()) == (3, 2, 1, 0)
    tokens, _, _ = tiny_vocab()
    # Repaired whitespace piece: three spaces tokenize as that one user-defined piece.
    assert sp.encode("a   b") == [tokens.index("a"), 260, tokens.index("b")]
    assert sp.id_to_piece(260) == "\u2581" * 3
    assert sp.encode("ab ab") == [tokens.index("ab"), tokens.index("\u2581ab")]
    # Digits split one per piece; unknown characters fall back to bytes.
    assert sp.encode("12") == [tokens.index("1"), tokens.index("2")]
    assert sp.encode("é") == [4 + 0xC3, 4 + 0xA9]
    for text in ["ab ab", "x + 1 = 2", "a   b é\n", " leading space"]:
        assert sp.decode(sp.encode(text)) == text
    assert not list(tmp_path.glob("*.tmp"))


def test_tokenizer_rejects_non_sentencepiece(tmp_path):
    tok = gguf_tokenizer.GGUFTokenizer(model="gpt2", tokens=["a"], scores=[0.0],
                                       token_types=[1], bos_id=-1, eos_id=-1, unk_id=-1,
                                       pad_id=-1, add_bos=False, add_space_prefix=False)
    with pytest.raises(gguf_tokenizer.GGUFTokenizerError, match="gpt2"):
        gguf_tokenizer.sentencepiece_model_proto(tok, "x.gguf")
