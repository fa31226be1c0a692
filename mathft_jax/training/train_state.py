"""The train state and its sharded initialisation.

Parameters are stored in `ModelConfig.param_dtype` (e.g. float32 master weights) while the
model computes in `ModelConfig.dtype` (e.g. bfloat16); the optimizer state follows the
parameters' dtype.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from mathft_jax import partitioning
from mathft_jax.models import Decoder, ModelConfig


@flax.struct.dataclass
class TrainState:
    """step (int32 scalar), params (unboxed tree), opt_state (optax state tree)."""

    step: jax.Array
    params: Any
    opt_state: Any


def _boxed_init(model_config: ModelConfig, rng: jax.Array):
    dummy = jnp.zeros((1, 8), jnp.int32)
    return Decoder(model_config).init(rng, dummy)["params"]


def abstract_params(model_config: ModelConfig):
    """Boxed (`nn.LogicallyPartitioned`) ShapeDtypeStructs of the parameters; no arrays."""
    return jax.eval_shape(lambda: _boxed_init(model_config, jax.random.key(0)))


def _opt_state_shardings(optimizer: optax.GradientTransformation, params_abstract,
                         params_shardings, mesh: Mesh):
    """Optimizer-state leaves shaped like a parameter get its sharding; others replicate.

    optax states mirror the params tree inside (e.g. Adam's mu / nu), so we match subtrees
    with the params' structure; factored Adafactor moments (smaller shapes) replicate.
    """
    opt_abstract = jax.eval_shape(optimizer.init, params_abstract)
    params_struct = jax.tree_util.tree_structure(params_abstract)

    def is_params_like(x):
        return jax.tree_util.tree_structure(x) == params_struct

    def match(sub):
        if is_params_like(sub):
            return jax.tree_util.tree_map(
                lambda leaf, p, s: s if leaf.shape == p.shape else NamedSharding(mesh, P()),
                sub, params_abstract, params_shardings)
        return jax.tree_util.tree_map(lambda _: NamedSharding(mesh, P()), sub)

    return opt_abstract, jax.tree_util.tree_map(match, opt_abstract, is_leaf=is_params_like)


def state_shardings(model_config: ModelConfig, optimizer: optax.GradientTransformation,
                    mesh: Mesh, rules=partitioning.DEFAULT_RULES):
    """(abstract TrainState, TrainState of NamedShardings) for this model on this mesh."""
    boxed = abstract_params(model_config)
    params_shardings = partitioning.logical_to_sharding(boxed, mesh, rules)
    params_abstract = nn.unbox(boxed)
    opt_abstract, opt_shardings = _opt_state_shardings(optimizer, params_abstract,
                                                       params_shardings, mesh)
    abstract = TrainState(step=jax.ShapeDtypeStruct((), jnp.int32), params=params_abstract,
                          opt_state=opt_abstract)
    shardings = TrainState(step=NamedSharding(mesh, P()), params=params_shardings,
                           opt_state=opt_shardings)
    return abstract, shardings


def with_shardings(abstract, shardings):
    """ShapeDtypeStructs carrying shardings (the target tree of a sharded restore)."""
    return jax.tree_util.tree_map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract, shardings)


def init_train_state(model_config: ModelConfig, optimizer: optax.GradientTransformation,
                     mesh: Mesh, rng: jax.Array, shardings: TrainState) -> TrainState:
    """Initialises parameters and optimizer state directly in their sharded layout."""

    def init(rng):
        params = nn.unbox(_boxed_init(model_config, rng))
        return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                          opt_state=optimizer.init(params))

    return jax.jit(init, out_shardings=shardings)(rng)


def state_from_params(params, optimizer: optax.GradientTransformation,
                      shardings: TrainState) -> TrainState:
    """A fresh train state (step 0, new optimizer state) around existing params."""

    def build(params):
        return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                          opt_state=optimizer.init(params))

    return jax.jit(build, in_shardings=(shardings.params,), out_shardings=shardings)(params)
