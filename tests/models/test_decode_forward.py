"""decode_forward (layered cache, unrolled layers) equals Decoder.apply with the stacked cache."""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.models import Decoder, init_cache, layers
from mathft_jax.models.transformer import (decode_forward, init_layered_cache,
                                           split_layer_params)
from tests import kit

CFG = kit.tiny_config(vocab_size=97, num_layers=3, embed_dim=32, mlp_dim=64, head_dim=8,
                      sliding_window=4, local_global_pattern="LLG", qk_norm=True,
                      post_attention_norm=True, post_mlp_norm=True)


@pytest.mark.parametrize("scan", [True, False])
def test_layered_cache_matches_stacked_cache_and_full_forward(scan):
    cfg = dataclasses.replace(CFG, scan_layers=scan)
    model = Decoder(cfg)
    tokens = jax.random.randint(jax.random.key(1), (2, 9), 3, cfg.vocab_size)
    # Row 1 is left-padded by 2 (positions -1), as in the decode loop.
    positions = jnp.asarray([list(range(9)), [-1, -1] + list(range(7))], jnp.int32)
    params = model.init(jax.random.key(0), tokens)["params"]
    layer_params = split_layer_params(cfg, params)
    assert len(layer_params) == cfg.num_layers

    stacked, layered = init_cache(cfg, 2, 12), init_layered_cache(cfg, 2, 12)
    assert layered["v_t"][0].shape == (2, cfg.num_kv_heads, cfg.head_dim, 12)
    ref, stacked = model.apply({"params": params}, tokens[:, :6], positions[:, :6],
                               cache=stacked, cache_index=0)
    out, layered = decode_forward(cfg, params, layer_params, tokens[:, :6], positions[:, :6],
                                  layered, 0)
    np.testing.assert_allclose(out, ref, atol=1e-5, rtol=1e-5)
    outs = [out]
    for i in range(6, 9):  # one token at a time, cache slots 6..8
        ref, stacked = model.apply({"params": params}, tokens[:, i:i + 1],
                                   positions[:, i:i + 1], cache=stacked, cache_index=i)
        out, layered = decode_forward(cfg, params, layer_params, tokens[:, i:i + 1],
                                      positions[:, i:i + 1], layered, i)
        np.testing.assert_allclose(out, ref, atol=1e-5, rtol=1e-5)
        outs.append(out)
    for layer in range(cfg.num_layers):
        np.testing.assert_allclose(layered["k"][layer], stacked["k"][layer], atol=1e-5,
                                   rtol=1e-5)
        np.testing.assert_allclose(jnp.transpose(layered["v_t"][layer], (0, 3, 1, 2)),
                                   stacked["v"][layer], atol=1e-5, rtol=1e-5)
    # ... and equal to the uncached forward over the whole sequence (real tokens only).
    full = model.apply({"params": params}, tokens, positions)
    cached = jnp.concatenate(outs, axis=1)
    np.testing.assert_allclose(cached[0], full[0], atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(cached[1, 2:], full[1, 2:], atol=1e-4, rtol=1e-4)
    last, _ = decode_forward(cfg, params, layer_params, tokens[:, :6], positions[:, :6],
                             init_layered_cache(cfg, 2, 12), 0, last_only=True)
    np.testing.assert_allclose(last[:, 0], cached[:, 5], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("ring", [False, True])
def test_decode_step_updates_cache_in_place(ring):
    """Inside a loop the per-layer buffers are written in place: no full-cache copies."""
    cfg = dataclasses.replace(CFG, num_kv_heads=1)
    model = Decoder(cfg)
    params = model.init(jax.random.key(0), jnp.zeros((1, 4), jnp.int32))["params"]
    b, s = 2, 40

    def run(params, cache):
        layer_params = split_layer_params(cfg, params)

        def body(i, cache):
            tok = jnp.full((b, 1), 5, jnp.int32)
            _, cache = decode_forward(cfg, params, layer_params, tok, jnp.full((b, 1), i),
                                      cache, i)
            return cache
        return jax.lax.fori_loop(0, 4, body, cache)

    cache = init_layered_cache(cfg, b, s, ring_windows=ring)
    hlo = jax.jit(run).lower(params, cache).compile().as_text()
    shapes = {f"f32[{b},{k.shape[1]},1,{cfg.head_dim}]" for k in cache["k"]}
    shapes |= {f"f32[{b},1,{cfg.head_dim},{v.shape[3]}]" for v in cache["v_t"]}
    assert len(shapes) == (4 if ring else 2)
    copies = [line for line in hlo.splitlines()
              if " copy(" in line and any(shape in line for shape in shapes)]
    # Only the loop's entry copies of the (non-donated) input buffers remain.
    assert len(copies) <= 2 * cfg.num_layers, copies


@pytest.mark.parametrize("block", [4, 5, 64])
def test_blockwise_prefill_matches_full_forward(monkeypatch, block):
    """Prefill reads only its causal / windowed keys per query block, with left padding."""
    monkeypatch.setattr(layers, "PREFILL_QUERY_BLOCK", block)
    cfg = dataclasses.replace(CFG, sliding_window=3, scan_layers=False)
    model = Decoder(cfg)
    tokens = jax.random.randint(jax.random.key(2), (2, 23), 3, cfg.vocab_size)
    params = nn.meta.unbox(model.init(jax.random.key(3), tokens)["params"])
    # Row 1 is left-padded by 6 slots: its positions start at 0 after the padding.
    pad = jnp.asarray([0, 6])[:, None]
    slots = jnp.arange(23)[None, :]
    positions = jnp.where(slots >= pad, slots - pad, -1)
    cache = init_layered_cache(cfg, 2, 30)
    logits, cache = decode_forward(cfg, params, split_layer_params(cfg, params), tokens,
                                   positions, cache, 0)
    full_row0 = model.apply({"params": params}, tokens[:1])
    full_row1 = model.apply({"params": params}, tokens[1:, 6:])
    np.testing.assert_allclose(logits[0], full_row0[0], atol=2e-5, rtol=2e-5)
    np.testing.assert_allclose(logits[1, 6:], full_row1[0], atol=2e-5, rtol=2e-5)
    # The cache it wrote continues the sequence like a full forward over one more token.
    nxt = jnp.asarray([[7], [9]])
    step, _ = decode_forward(cfg, params, split_layer_params(cfg, params), nxt,
                             positions[:, -1:] + 1, cache, jnp.int32(23), vocab_major=True)
    want0 = model.apply({"params": params}, jnp.concatenate([tokens[:1], nxt[:1]], 1))[0, -1]
    want1 = model.apply({"params": params},
                        jnp.concatenate([tokens[1:, 6:], nxt[1:]], 1))[0, -1]
    np.testing.assert_allclose(step[:, 0], want0, atol=2e-5, rtol=2e-5)
    np.testing.assert_allclose(step[:, 1], want1, atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize("prompt_len", [3, 4, 7, 10])
def test_ring_buffers_for_window_layers_match_full_buffers(prompt_len):
    """Window layers kept as W-slot rings give the same logits, prefill and steps, padded."""
    cfg = dataclasses.replace(CFG, sliding_window=4, scan_layers=False)
    model = Decoder(cfg)
    total = prompt_len + 8
    tokens = jax.random.randint(jax.random.key(5), (2, total), 3, cfg.vocab_size)
    params = nn.meta.unbox(model.init(jax.random.key(6), tokens)["params"])
    layer_params = split_layer_params(cfg, params)
    pad = jnp.asarray([0, 2])[:, None]  # row 1 left-padded by 2
    slots = jnp.arange(total)[None, :]
    positions = jnp.where(slots >= pad, slots - pad, -1)
    full = init_layered_cache(cfg, 2, total)
    ring = init_layered_cache(cfg, 2, total, ring_windows=True)
    assert ring["k"][0].shape[1] == 4 and ring["k"][2].shape[1] == total  # "LLG"
    assert ring["ring_positions"].shape == (2, 4)

    def prefill(cache):
        return decode_forward(cfg, params, layer_params, tokens[:, :prompt_len],
                              positions[:, :prompt_len], cache, 0, last_only=True)

    step = jax.jit(lambda cache, i: decode_forward(
        cfg, params, layer_params, jax.lax.dynamic_slice_in_dim(tokens, i, 1, axis=1),
        jax.lax.dynamic_slice_in_dim(positions, i, 1, axis=1), cache, i, vocab_major=True))
    want, full = prefill(full)
    got, ring = prefill(ring)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    for i in range(prompt_len, total):  # the ring wraps around at least once
        want, full = step(full, jnp.int32(i))
        got, ring = step(ring, jnp.int32(i))
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def test_ring_cache_refuses_multi_token_steps():
    cfg = dataclasses.replace(CFG, sliding_window=4, scan_layers=False)
    params = nn.meta.unbox(Decoder(cfg).init(jax.random.key(0),
                                             jnp.zeros((1, 4), jnp.int32))["params"])
    cache = init_layered_cache(cfg, 1, 12, ring_windows=True)
    with pytest.raises(ValueError, match="one-token steps"):
        decode_forward(cfg, params, split_layer_params(cfg, params),
                       jnp.zeros((1, 2), jnp.int32), jnp.asarray([[5, 6]]), cache,
                       jnp.int32(5))


def test_ring_fill_places_token_j_in_slot_j_mod_w():
    tokens = jnp.arange(10, 17)[None, :]  # tokens 0..6 carry the values 10..16
    np.testing.assert_array_equal(layers.ring_fill(tokens, 3), [[16, 14, 15]])
    np.testing.assert_array_equal(layers.ring_fill(tokens[:, :3], 3), [[10, 11, 12]])
    np.testing.assert_array_equal(layers.ring_fill(tokens[:, :2], 3), [[10, 11]])
