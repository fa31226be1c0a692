"""Decoder parameters for decoding and scoring, from one of three sources, sharded on a mesh.

    load_params(cfg, "runs/sft", mesh)                  # a training run's MODEL_DIR, a step
                                                        # folder or a params export
    load_params(cfg, "pretrained:gemma3_270m", mesh)    # models.load_pretrained(name)
    load_params(cfg, "random_init", mesh)               # random (key 0): smoke tests

`pretrained:<name>` checks that the gin-bound ModelConfig matches the pretrained model's (up to
dtypes and max_seq_len) and returns the model's BOS id, which Gemma needs before every prompt
(`models.pretrained_params`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from mathft_jax import partitioning
from mathft_jax.models import Decoder, ModelConfig
# The pretrained source and its error live with the models (the trainer starts from them too).
from mathft_jax.models.pretrained_params import (PRETRAINED_PREFIX, ParamsSourceError,
                                                 load_pretrained_params)

RANDOM_INIT = "random_init"


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
        return LoadedParams(*load_pretrained_params(
            model_config, checkpoint[len(PRETRAINED_PREFIX):], boxed, shardings))
    target = train_state.with_shardings(nn.unbox(boxed), shardings)
    try:
        return LoadedParams(checkpoints.restore_params(checkpoint, target), None)
    except checkpoints.CheckpointError as e:
        raise ParamsSourceError(str(e)) from None


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
