"""Decoder models: configuration, the Flax transformer, presets and weight importers."""

from mathft_jax.models.config import GLOBAL_WINDOW, ModelConfig
from mathft_jax.models.transformer import Cache, Decoder, count_params, init_cache

from mathft_jax.models.pretrained import load_pretrained  # noqa: E402 (needs the above)

__all__ = ["GLOBAL_WINDOW", "ModelConfig", "Decoder", "Cache", "count_params", "init_cache",
           "load_pretrained"]
