"""A pretrained model's parameters for a configured Decoder: checked against it, then sharded.

`load_pretrained_params(model_config, name, boxed, shardings)` is what a checkpoint named
"pretrained:<name>" resolves to, both where a run starts (`training.trainer`'s
`init_checkpoint`) and where params are loaded for decoding and scoring (`params_source`).
It checks that the configured ModelConfig matches the pretrained model's (up to dtypes and
max_seq_len) and returns the model's BOS id, which Gemma needs before every prompt.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from mathft_jax.errors import ConfigError
from mathft_jax.models.config import ModelConfig

PRETRAINED_PREFIX = "pretrained:"
# ModelConfig fields a pretrained model's config may differ in from the gin-bound one.
_FREE_CONFIG_FIELDS = ("param_dtype", "dtype", "remat", "max_seq_len")


class ParamsSourceError(ConfigError):
    """The checkpoint cannot be loaded into the configured model (one-line message)."""


def load_pretrained_params(model_config: ModelConfig, name: str, boxed, shardings
                           ) -> tuple[Any, Optional[int]]:
    """(params laid out by `shardings`, BOS id) of pretrained model `name` for `model_config`.

    Args:
      model_config: the configured decoder.
      name: a `load_pretrained` name (the part after "pretrained:").
      boxed: the decoder's abstract params (with logical-axis boxes), to compare shapes.
      shardings: the params' shardings.

    Raises:
      ParamsSourceError: no name, the model cannot be loaded, or it does not fit the config.
    """
    from mathft_jax.models import pretrained
    label = f"checkpoint {PRETRAINED_PREFIX}{name}"
    if not name:
        raise ParamsSourceError(f"checkpoint {PRETRAINED_PREFIX!r} needs a model name, e.g. "
                                f"'{PRETRAINED_PREFIX}gemma3_270m'")
    try:
        loaded = pretrained.load_pretrained(name, param_dtype=model_config.param_dtype)
    except (ImportError, ValueError, FileNotFoundError) as e:
        raise ParamsSourceError(f"{label}: {e}") from None
    ours, theirs = dataclasses.asdict(model_config), dataclasses.asdict(loaded.config)
    differ = sorted(k for k in ours if k not in _FREE_CONFIG_FIELDS and ours[k] != theirs.get(k))
    if differ:
        raise ParamsSourceError(
            f"{label}: the gin model_config differs from the pretrained model's in "
            + "; ".join(f"{k}: {ours[k]!r} (gin) vs {theirs.get(k)!r}" for k in differ)
            + " (include its gin_configs/models/*.gin)")
    want = jax.tree_util.tree_map(lambda x: (tuple(x.shape), jnp.dtype(x.dtype)),
                                  nn.unbox(boxed))
    got = jax.tree_util.tree_map(lambda x: (tuple(x.shape), jnp.dtype(x.dtype)), loaded.params)
    if want != got:
        raise ParamsSourceError(f"{label}: its parameter tree (shapes/dtypes) does not match "
                                "model_config's")
    return jax.device_put(loaded.params, shardings), loaded.bos_id
