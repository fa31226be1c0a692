"""Tests of the decoder: cache equivalence, masking, packing, logical axes, presets."""

from pathlib import Path

import flax.linen as nn
import gin
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.models import Decoder, ModelConfig, count_params, init_cache

REPO = Path(__file__).resolve().parents[2]

GEMMA_LIKE = dict(vocab_size=61, num_layers=3, embed_dim=32, mlp_dim=48, num_heads=4,
                  num_kv_heads=2, head_dim=8, sliding_window=3, local_global_pattern="LLG",
                  qk_norm=True, post_attention_norm=True, post_mlp_norm=True,
                  mlp_activation="gelu_tanh", scale_embeddings=True, rope_base=1e6)


def _init(cfg, length=12, batch=2, seed=0):
    model = Decoder(cfg)
    tokens = jax.random.randint(jax.random.PRNGKey(seed), (batch, length), 0, cfg.vocab_size)
    params = nn.meta.unbox(model.init(jax.random.PRNGKey(seed + 1), tokens)["params"])
    return model, params, tokens


@pytest.mark.parametrize("scan", [True, False])
def test_cached_decode_matches_full_forward(scan):
    cfg = ModelConfig(**GEMMA_LIKE, scan_layers=scan)
    model, params, tokens = _init(cfg)
    full = model.apply({"params": params}, tokens)
    cache = init_cache(cfg, 2, 16)
    pos = jnp.broadcast_to(jnp.arange(12), (2, 12))
    first, cache = model.apply({"params": params}, tokens[:, :5], pos[:, :5], cache=cache,
                               cache_index=0)
    steps = [first]
    for i in range(5, 12):
        out, cache = model.apply({"params": params}, tokens[:, i:i + 1], pos[:, i:i + 1],
                                 cache=cache, cache_index=i)
        steps.append(out)
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=2e-5, rtol=1e-5)


def test_left_padded_prompt_matches_unpadded():
    cfg = ModelConfig(**GEMMA_LIKE)
    model, params, tokens = _init(cfg, length=6, batch=1)
    alone = model.apply({"params": params}, tokens)
    pad = 3
    padded = jnp.concatenate([jnp.zeros((1, pad), jnp.int32), tokens], axis=1)
    positions = jnp.concatenate([jnp.full((1, pad), -1), jnp.arange(6)[None]], axis=1)
    cache = init_cache(cfg, 1, 10)
    out, _ = model.apply({"params": params}, padded, positions, cache=cache, cache_index=0)
    np.testing.assert_allclose(out[:, pad:], alone, atol=2e-5, rtol=1e-5)


def test_sliding_window_limits_what_local_layers_see():
    # Only local layers: position p must not depend on tokens before p - window + 1 beyond
    # what stacking layers propagates (layers * (window - 1) positions back).
    cfg = ModelConfig(**{**GEMMA_LIKE, "local_global_pattern": "L", "num_layers": 1})
    model, params, tokens = _init(cfg, length=10, batch=1)
    changed = tokens.at[0, 2].set((tokens[0, 2] + 1) % cfg.vocab_size)
    a = model.apply({"params": params}, tokens)
    b = model.apply({"params": params}, changed)
    diff = np.abs(np.asarray(a - b)).max(axis=-1)[0]
    assert diff[2:5].min() > 0  # window 3: positions 2, 3, 4 see token 2
    assert diff[5:].max() == 0


def test_segments_are_isolated_when_packed():
    cfg = ModelConfig(**GEMMA_LIKE)
    model, params, tokens = _init(cfg, length=8, batch=1)
    segments = jnp.array([[1, 1, 1, 2, 2, 2, 2, 2]])
    positions = jnp.array([[0, 1, 2, 0, 1, 2, 3, 4]])
    packed = model.apply({"params": params}, tokens, positions, segments)
    second_alone = model.apply({"params": params}, tokens[:, 3:])
    np.testing.assert_allclose(packed[:, 3:], second_alone, atol=2e-5, rtol=1e-5)


def test_every_param_has_logical_axes():
    cfg = ModelConfig(**GEMMA_LIKE, tie_embeddings=False)
    boxed = Decoder(cfg).init(jax.random.PRNGKey(0), jnp.zeros((1, 4), jnp.int32))["params"]
    leaves = jax.tree_util.tree_leaves(boxed, is_leaf=lambda x: isinstance(x, nn.LogicallyPartitioned))
    assert leaves and all(isinstance(x, nn.LogicallyPartitioned) for x in leaves)
    for leaf in leaves:
        assert len(leaf.names) == leaf.value.ndim
    assert boxed["layers"]["block"]["attention"]["q"].names == ("layers", "embed", "heads", "kv")
    assert count_params(nn.meta.unbox(boxed)) == cfg.num_params()


def test_activation_and_param_dtypes_are_separate():
    cfg = ModelConfig(**{**GEMMA_LIKE, "dtype": "bfloat16", "scan_layers": False})
    model, params, tokens = _init(cfg)
    assert all(p.dtype == jnp.float32 for p in jax.tree_util.tree_leaves(params))
    logits, state = model.apply({"params": params}, tokens, capture_intermediates=True)
    # Logits are cast to float32 at the end, so the activations inside are what show the
    # dtype: every module's output (blocks, attention, MLP, norms) is bfloat16.
    outputs = {jax.tree_util.keystr(path): x.dtype for path, x in
               jax.tree_util.tree_leaves_with_path(state["intermediates"])}
    assert outputs.pop("['__call__'][0]") == jnp.float32 == logits.dtype
    assert len(outputs) == 9 * cfg.num_layers + 1, sorted(outputs)
    assert set(outputs.values()) == {jnp.dtype(jnp.bfloat16)}
    # And the numbers are bfloat16 ones: near the float32 model's logits, never equal (here
    # 0.046 apart at most, logits up to 3.9).
    f32 = Decoder(ModelConfig(**{**GEMMA_LIKE, "scan_layers": False})).apply(
        {"params": params}, tokens)
    gap = float(jnp.max(jnp.abs(f32 - logits)))
    assert 0 < gap < 0.05 * float(jnp.max(jnp.abs(f32)))


@pytest.mark.parametrize("bad", [dict(num_heads=3, num_kv_heads=2),
                                 dict(mlp_activation="relu6"),
                                 dict(local_global_pattern="LX"),
                                 dict(sliding_window=None, local_global_pattern="LG")])
def test_invalid_configs_are_rejected(bad):
    with pytest.raises(ValueError):
        ModelConfig(**{**GEMMA_LIKE, **bad})


def _preset(name):
    gin.clear_config()
    gin.parse_config_file(str(REPO / "gin_configs" / "models" / f"{name}.gin"))
    try:
        return gin.get_configurable(ModelConfig)()
    finally:
        gin.clear_config()


@pytest.mark.parametrize("name,total,non_embedding", [
    ("gemma3_270m", 268_098_176, 100_326_016),  # the GGUF's counts
    ("small", None, None),
    ("tiny", None, None),
])
def test_presets_parse_with_expected_sizes(name, total, non_embedding):
    cfg = _preset(name)
    if total is not None:
        assert cfg.num_params() == total
        assert cfg.num_params(include_embedding=False) == non_embedding
    if name == "small":
        assert 20e6 <= cfg.num_params() <= 30e6


def test_multi_billion_preset_checked_abstractly():
    cfg = _preset("gemma3_4b")
    model = Decoder(cfg)
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0),
                                               jnp.zeros((1, 8), jnp.int32))["params"])
    unboxed = nn.meta.unbox(shapes)
    assert count_params(unboxed) == cfg.num_params() > 3e9
    q = shapes["layers"]["block"]["attention"]["q"]
    assert q.value.shape == (34, 2560, 8, 256) and q.names == ("layers", "embed", "heads", "kv")
    logits = jax.eval_shape(lambda p, t: model.apply({"params": p}, t), unboxed,
                            jax.ShapeDtypeStruct((2, 16), jnp.int32))
    assert logits.shape == (2, 16, cfg.vocab_size) and logits.dtype == jnp.float32


def test_last_only_gives_the_last_position_logits():
    cfg = ModelConfig(**GEMMA_LIKE)
    model, params, tokens = _init(cfg)
    full = model.apply({"params": params}, tokens)
    last = model.apply({"params": params}, tokens, last_only=True)
    assert last.shape == (2, 1, cfg.vocab_size)
    np.testing.assert_allclose(last[:, 0], full[:, -1], atol=1e-6)

