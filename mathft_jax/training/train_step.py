"""The jitted, sharded train step with gradient accumulation over microbatches.

Example:
    step_fn = make_train_step(loss_fn, optimizer, mesh, state_shardings, batch_spec,
                              num_microbatches=4, schedule=schedule)
    state, metrics = step_fn(state, batch, rng)   # `state` is donated: do not reuse it

Microbatch i of a global batch of B rows holds rows i, i + M, i + 2M, ... (M microbatches),
so every microbatch is spread over all the devices that hold the batch and no rows move.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from mathft_jax import partitioning
from mathft_jax.training.losses import LossFn
from mathft_jax.training.train_state import TrainState

StepFn = Callable[[TrainState, Mapping[str, jax.Array], jax.Array],
                  tuple[TrainState, dict]]


def split_microbatches(batch: Mapping[str, jax.Array], num_microbatches: int):
    """[B, ...] arrays -> [M, B/M, ...]; microbatch i takes rows i, i+M, i+2M, ...

    Example (B=4, M=2): rows [r0, r1, r2, r3] -> [[r0, r2], [r1, r3]].
    """
    def split(x):
        b = x.shape[0]
        if b % num_microbatches:
            raise ValueError(f"batch size {b} is not divisible by num_microbatches="
                             f"{num_microbatches}")
        x = x.reshape((b // num_microbatches, num_microbatches) + x.shape[1:])
        return jnp.swapaxes(x, 0, 1)
    return {k: split(v) for k, v in batch.items()}


def accumulate_gradients(loss_fn: LossFn, params, batch, rng, num_microbatches: int,
                         constrain: Callable = lambda x: x):
    """Sum of loss-sums, metrics and gradients over microbatches (no normalisation yet)."""
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    if num_microbatches == 1:
        (_, metrics), grads = grad_fn(params, batch, rng)
        return grads, metrics

    micro = split_microbatches(batch, num_microbatches)

    def body(carry, inputs):
        grads_acc, metrics_acc = carry
        index, mb = inputs
        mb = {k: constrain(v) for k, v in mb.items()}
        (_, metrics), grads = grad_fn(params, mb, jax.random.fold_in(rng, index))
        grads_acc = jax.tree_util.tree_map(lambda a, g: a + g.astype(jnp.float32),
                                           grads_acc, grads)
        metrics_acc = jax.tree_util.tree_map(jnp.add, metrics_acc, metrics)
        return (grads_acc, metrics_acc), None

    zeros = jax.tree_util.tree_map(lambda p: jnp.zeros(p.shape, jnp.float32), params)
    first_mb = jax.tree_util.tree_map(lambda v: v[0], micro)
    metric_shapes = jax.eval_shape(lambda: loss_fn(params, first_mb, rng)[1])
    metric_zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), metric_shapes)
    (grads, metrics), _ = jax.lax.scan(
        body, (zeros, metric_zeros), (jnp.arange(num_microbatches), micro))
    grads = jax.tree_util.tree_map(lambda g, p: g.astype(p.dtype), grads, params)
    return grads, metrics


def summarize_metrics(metrics: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
    """Turns summed metrics into reported ones: `x_sum` -> `x` = x_sum / denominator."""
    denom = jnp.maximum(metrics["denominator"], 1.0)
    out = {}
    for k, v in metrics.items():
        if k.endswith("_sum"):
            out[k[:-len("_sum")]] = v / denom
        else:
            out[k] = v
    return out


def make_train_step(loss_fn: LossFn, optimizer: optax.GradientTransformation, mesh: Mesh,
                    state_shardings: TrainState, batch_ndims: Mapping[str, int],
                    num_microbatches: int = 1, schedule: Optional[optax.Schedule] = None,
                    rules=partitioning.DEFAULT_RULES) -> StepFn:
    """Builds `step(state, batch, rng) -> (new_state, metrics)`, jitted and sharded.

    Args:
      loss_fn: `loss_fn(params, batch, rng) -> (loss_sum, metrics)` (see training/losses.py).
      optimizer: the optax transformation.
      mesh: the device mesh; batches are sharded over (data, fsdp).
      state_shardings: TrainState of NamedShardings (from `train_state.state_shardings`).
      batch_ndims: feature name -> rank of that batch array (2 for [B, T] features).
      num_microbatches: gradient accumulation steps within one train step.
      schedule: learning-rate schedule, only to report `learning_rate`.
      rules: logical axis rules for the model's activation constraints.

    The per-step rng is `fold_in(rng, state.step)`, so a resumed run draws the same numbers.
    Gradients are `sum over microbatches of d(loss_sum)` divided by the total denominator,
    i.e. exactly the gradient of the big batch's mean loss.
    """
    batch_shardings = {k: partitioning.batch_sharding(mesh, n) for k, n in batch_ndims.items()}
    replicated = partitioning.replicated(mesh)

    def constrain(x):
        return partitioning.constrain_batch(x, mesh)

    def step(state: TrainState, batch, rng):
        rng = jax.random.fold_in(rng, state.step)
        grads, metrics = accumulate_gradients(loss_fn, state.params, batch, rng,
                                              num_microbatches, constrain)
        denom = jnp.maximum(metrics["denominator"], 1.0)
        grads = jax.tree_util.tree_map(lambda g: g / denom.astype(g.dtype), grads)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        report = summarize_metrics(metrics)
        report["grad_norm"] = optax.global_norm(grads)
        if schedule is not None:
            report["learning_rate"] = jnp.asarray(schedule(state.step), jnp.float32)
        new_state = TrainState(step=state.step + 1, params=params, opt_state=opt_state)
        return new_state, report

    jitted = jax.jit(step, in_shardings=(state_shardings, batch_shardings, replicated),
                     out_shardings=(state_shardings, replicated), donate_argnums=(0,))

    def run(state, batch, rng):
        with partitioning.mesh_context(mesh, rules):
            return jitted(state, batch, rng)

    run.jitted = jitted  # exposed for lowering / cost analysis in benchmarks
    return run


def make_eval_step(loss_fn: LossFn, mesh: Mesh, params_shardings,
                   batch_ndims: Mapping[str, int], rules=partitioning.DEFAULT_RULES):
    """`eval_step(params, batch) -> summed metrics` (add them over batches, then
    `summarize_metrics`)."""
    batch_shardings = {k: partitioning.batch_sharding(mesh, n) for k, n in batch_ndims.items()}

    def step(params, batch):
        _, metrics = loss_fn(params, batch, jax.random.key(0))
        return metrics

    jitted = jax.jit(step, in_shardings=(params_shardings, batch_shardings),
                     out_shardings=partitioning.replicated(mesh))

    def run(params, batch):
        with partitioning.mesh_context(mesh, rules):
            return jitted(params, batch)

    return run
