"""Decoder parameters for decoding and scoring, from one of three sources, sharded on a mesh.

    load_params(cfg, "runs/sft", mesh)                  # a training run's MODEL_DIR, a step
                                                        # folder or a params export
    load_params(cfg, "pretrained:gemma3_270m", mesh)    # models.load_pretrained(name)
    load_params(cfg, "random_init", mesh)               # random (key 0): smoke tests

`pretrained:<name>` checks that the gin-bound ModelConfig matches the pretrained model's (up to
dtypes and max_seq_len) and returns the model's BOS id, which Gemma needs before every prompt.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from mathft_jax import partitioning
from mathft_jax.errors import ConfigError
from mathft_jax.models import Decoder, ModelConfig

RANDOM_INIT = "random_init"
PRETRAINED_PREFIX = "pretrained:"
# ModelConfig fields a pretrained model's config may differ in from the gin-bound one.
_FREE_CONFIG_FIELDS = ("param_dtype", "dtype", "remat", "max_seq_len")


class ParamsSourceError(ConfigError):
    """The checkpoint cannot be loaded into the configured model (one-line message)."""


@dataclasses.dataclass
class LoadedParams:
    params: Any  # unboxed arrays, sharded on the mesh
    bos_id: Optional[int]  # the pretrained model's BOS id, else None


def load_params(model_config: ModelConfig, checkpoint: str, mesh) -> LoadedParams:
    """Parameters of `model_config` from `checkpoint` (see the module docstring)."""
    from mathft_jax.training import checkpoints, train_state  # heavy: orbax
    boxed = train_state.abstract_params(model_config)
    shardings = partitioning.logical_to_sharding(boxed, mesh)
    if checkpoint == RANDOM_INIT:
        def init(key):
            return nn.unbox(Decoder(model_config).init(key, jnp.zeros((1, 8), jnp.int32))["params"])
        return LoadedParams(jax.jit(init, out_shardings=shardings)(jax.random.key(0)), None)
    if checkpoint.startswith(PRETRAINED_PREFIX):
        return _load_pretrained(model_config, checkpoint[len(PRETRAINED_PREFIX):], boxed,
                                shardings)
    target = train_state.with_shardings(nn.unbox(boxed), shardings)
    try:
        return LoadedParams(checkpoints.restore_params(checkpoint, target), None)
    except checkpoints.CheckpointError as e:
        raise ParamsSourceError(str(e)) from None


def _load_pretrained(model_config: ModelConfig, name: str, boxed, shardings) -> LoadedParams:
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
    return LoadedParams(jax.device_put(loaded.params, shardings), loaded.bos_id)


def resolve_bos(prepend_bos: bool, bos_id: Optional[int], loaded: LoadedParams, vocab,
                owner: str) -> Optional[int]:
    """The id to put before every prompt: None unless `prepend_bos`; else `bos_id`, by default
    the pretrained model's, else the vocabulary's (`owner` names the caller in the error)."""
    if not prepend_bos:
        return None
    if bos_id is None:
        bos_id = loaded.bos_id if loaded.bos_id is not None else vocab.bos_id
    if bos_id is None or bos_id < 0:
        raise ParamsSourceError(f"{owner}.prepend_bos = True but neither the checkpoint nor "
                                f"the vocabulary has a BOS id: bind {owner}.bos_id")
    return bos_id
