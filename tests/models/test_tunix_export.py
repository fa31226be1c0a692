"""Our weights in Tunix's Gemma3 give our logits and our greedy tokens (`peers` extra)."""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathft_jax.decoding import Greedy, generate
from mathft_jax.models import Decoder, ModelConfig
from mathft_jax.models.tunix_export import check_mappable, to_tunix_gemma3
from tests import kit

# Gemma 3's layout at toy size: 7 layers = LLLLLG + one more local layer, window 5 < length.
TINY = kit.tiny_config(vocab_size=128, num_layers=7, embed_dim=32, mlp_dim=64, num_kv_heads=1,
                       mlp_activation="gelu_tanh", rope_base=1e6, local_rope_base=1e4,
                       sliding_window=5, local_global_pattern="LLLLLG", qk_norm=True,
                       post_attention_norm=True, post_mlp_norm=True, scale_embeddings=True)


@pytest.fixture(scope="module")
def tunix_utils():
    pytest.importorskip("tunix", reason="optional: the peers extra (google-tunix) is not "
                                        "installed")
    from tunix.generate import utils
    return utils


def _params(cfg: ModelConfig, seed: int = 0):
    params = nn.meta.unbox(Decoder(cfg).init(jax.random.key(seed),
                                             jnp.zeros((1, 8), jnp.int32))["params"])
    # Norm scales away from 1, so that a missing "minus one" (Tunix uses x * (1 + w)) shows.
    keys = iter(jax.random.split(jax.random.key(seed + 1), 1000))
    return jax.tree_util.tree_map_with_path(
        lambda path, x: x + 0.2 * jax.random.normal(next(keys), x.shape)
        if "scale" in jax.tree_util.keystr(path) else x, params)


@pytest.mark.parametrize("heads,kv_heads,scan", [(4, 1, True), (4, 4, False), (4, 2, False)])
def test_mapped_tunix_model_gives_our_logits(tunix_utils, heads, kv_heads, scan):
    cfg = dataclasses.replace(TINY, num_heads=heads, num_kv_heads=kv_heads, scan_layers=scan)
    params = _params(cfg)
    tokens = jax.random.randint(jax.random.key(2), (2, 16), 3, cfg.vocab_size)
    ours = Decoder(cfg).apply({"params": params}, tokens)
    model = to_tunix_gemma3(cfg, params)
    valid = tokens != 0
    theirs, _ = model(tokens, tunix_utils.build_positions_from_mask(valid), None,
                      model.get_attention_mask(tokens))
    np.testing.assert_allclose(np.asarray(theirs), np.asarray(ours), atol=1e-4, rtol=1e-4)


def test_tunix_sampler_greedy_matches_generate(tunix_utils):
    from tunix.generate import sampler as tunix_sampler

    cfg = TINY
    params = _params(cfg, seed=3)
    prompts = np.asarray(jax.random.randint(jax.random.key(4), (2, 8), 3, cfg.vocab_size))
    ours = generate(params, cfg, prompts.tolist(), max_new_tokens=12, sampling=Greedy(),
                    eos_id=None).tokens[:, 0]

    class Ids:  # Tunix samples from strings: hand it our ids as text
        encode = staticmethod(lambda text, **_: [int(t) for t in text.split()])
        decode = staticmethod(lambda ids, **_: " ".join(map(str, ids)))
        bos_id = staticmethod(lambda: 0)
        eos_id = staticmethod(lambda: 1)
        pad_id = staticmethod(lambda: 0)

    sampler = tunix_sampler.Sampler(
        to_tunix_gemma3(cfg, params), Ids(),
        tunix_sampler.CacheConfig(cache_size=20, num_layers=cfg.num_layers,
                                  num_kv_heads=cfg.num_kv_heads, head_dim=cfg.head_dim))
    out = sampler([" ".join(map(str, p)) for p in prompts], max_generation_steps=12,
                  max_prompt_length=8, eos_tokens=[cfg.vocab_size])
    np.testing.assert_array_equal(np.stack([np.asarray(t) for t in out.tokens]), ours)


@pytest.mark.parametrize("field,value", [("mlp_activation", "silu"), ("qk_norm", False),
                                         ("local_global_pattern", "G"),
                                         ("tie_embeddings", False)])
def test_check_mappable_names_the_field_tunix_cannot_express(field, value):
    cfg = dataclasses.replace(TINY, **{field: value})
    with pytest.raises(ValueError, match=field):
        check_mappable(cfg)


def test_check_mappable_accepts_gemma3_and_rejects_other_query_scales():
    check_mappable(TINY)
    check_mappable(dataclasses.replace(TINY, query_scale=TINY.head_dim ** -0.5))
    with pytest.raises(ValueError, match="query_scale"):
        check_mappable(dataclasses.replace(TINY, query_scale=0.5))
