"""A tiny random decoder shared by the decoding tests (built once per session)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from mathft_jax.models import Decoder
from tests import kit

TINY = kit.tiny_config(vocab_size=64, embed_dim=32, mlp_dim=64, head_dim=8)


@pytest.fixture(scope="session")
def tiny():
    params = Decoder(TINY).init(jax.random.PRNGKey(0), jnp.zeros((1, 4), jnp.int32))["params"]
    return TINY, nn.meta.unbox(params)
