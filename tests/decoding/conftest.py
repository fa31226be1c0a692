"""A tiny random decoder shared by the decoding tests (built once per session)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from mathft_jax.models import Decoder, ModelConfig

TINY = ModelConfig(vocab_size=64, num_layers=2, embed_dim=32, mlp_dim=64, num_heads=4,
                   num_kv_heads=2, head_dim=8)


@pytest.fixture(scope="session")
def tiny():
    params = Decoder(TINY).init(jax.random.PRNGKey(0), jnp.zeros((1, 4), jnp.int32))["params"]
    return TINY, nn.meta.unbox(params)
