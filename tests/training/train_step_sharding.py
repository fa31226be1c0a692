"""Run as a subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=4: one train
step and one eval step of a linear toy loss on a (data 2, fsdp 2) mesh and on one device;
prints one JSON line with the values and the shardings (see test_train_step_sharding.py).

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python -m tests.training.train_step_sharding
"""

from __future__ import annotations

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding, PartitionSpec as P

from mathft_jax import partitioning
from mathft_jax.training import train_step
from mathft_jax.training.train_state import TrainState

# Eight rows; c's column sums are 16 and 20, its first column [1, 0, 2, 1, 3, 0, 4, 5].
C = [[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [1.0, 3.0],
     [3.0, 1.0], [0.0, 4.0], [4.0, 4.0], [5.0, 5.0]]
N = [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0]  # denominator 10
W = [[1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, 1.0]]


def spec_of(sharding) -> list | str:
    """A NamedSharding's spec as JSON ([None, "fsdp"], [["data", "fsdp"]]; trailing Nones
    dropped), or the repr of any other sharding."""
    if not isinstance(sharding, NamedSharding):
        return repr(sharding)
    spec = [list(a) if isinstance(a, tuple) else a for a in sharding.spec]
    while spec and spec[-1] is None:
        spec.pop()
    return spec


def shardings_seen(record: list):
    """A callback for `jax.debug.inspect_array_sharding`: keeps the spec XLA gave a value."""
    def seen(sharding):
        record.append(spec_of(sharding))
    return seen


# Rules that are not the default ones, so the steps must pass on the ones they are given.
RULES = partitioning.DEFAULT_RULES + (("toy", "fsdp"),)


def make_loss(record: list, context: list):
    """loss_sum = sum(c @ w) + sum(c[:, 0] * v) over a microbatch's rows (v has one entry per
    row of a microbatch); records the spec of the microbatch's `c` that XLA chose, and the
    mesh axes and logical-axis rules the loss is traced under (a model's activation
    constraints need both)."""
    def loss_fn(params, batch, rng):
        context.append([list(jax.sharding.get_abstract_mesh().axis_names),
                        len(nn.get_logical_axis_rules()),
                        dict(nn.get_logical_axis_rules()).get("toy", "absent")])
        jax.debug.inspect_array_sharding(batch["c"], callback=shardings_seen(record))
        loss_sum = jnp.sum(batch["c"] @ params["w"]) + jnp.sum(batch["c"][:, 0] * params["v"])
        return loss_sum, {"denominator": jnp.sum(batch["n"]), "loss_sum": loss_sum}
    return loss_fn


def run(devices: int, num_microbatches: int) -> dict:
    """One train step (over `num_microbatches` microbatches) and one eval step, on 1 device
    or on 4 as a (data 2, fsdp 2) mesh: new values, shardings and what the loss saw."""
    split = 2 if devices == 4 else 1
    mesh = partitioning.make_mesh(data=split, fsdp=split, devices=jax.devices()[:devices])
    opt = optax.sgd(1.0, momentum=0.5)
    params = {"w": jnp.asarray(W), "v": jnp.ones(len(C) // num_microbatches)}
    by_shape = {(2, 4): NamedSharding(mesh, P(None, "fsdp")),
                params["v"].shape: NamedSharding(mesh, P())}
    params_shardings = {k: by_shape[v.shape] for k, v in params.items()}
    state = TrainState(step=jnp.asarray(0, jnp.int32), params=params,
                       opt_state=opt.init(params))
    shardings = TrainState(
        step=NamedSharding(mesh, P()), params=params_shardings,
        opt_state=jax.tree_util.tree_map(lambda x: by_shape.get(x.shape,
                                                                NamedSharding(mesh, P())),
                                         state.opt_state))
    state = jax.device_put(state, shardings)
    record: list = []
    context: list = []
    step = train_step.make_train_step(make_loss(record, context), opt, mesh, shardings,
                                      {"c": 2, "n": 1}, num_microbatches, rules=RULES)
    batch = {"c": np.asarray(C, np.float32), "n": np.asarray(N, np.float32)}
    new_state, metrics = step(state, batch, jax.random.key(0))
    context = list(context)  # the step's own trace (a lowering below may trace again)
    compiled = step.jitted.lower(new_state, batch, jax.random.key(0)).compile()
    (state_in, batch_in, _), _ = compiled.input_shardings
    eval_record: list = []
    eval_context: list = []
    eval_shardings = dict(params_shardings, v=NamedSharding(mesh, P()))
    eval_step = train_step.make_eval_step(make_loss(eval_record, eval_context), mesh,
                                          eval_shardings, {"c": 2, "n": 1}, rules=RULES)
    # The eval step reads the whole batch: the four-row v of two microbatches repeats.
    eval_params = jax.device_put(
        dict(new_state.params, v=jnp.tile(new_state.params["v"], num_microbatches)),
        eval_shardings)
    eval_metrics = eval_step(eval_params, batch)
    return {
        "w": np.asarray(new_state.params["w"]).tolist(),
        "v": np.asarray(new_state.params["v"]).tolist(),
        "loss": float(metrics["loss"]),
        "eval_loss_sum": float(eval_metrics["loss_sum"]),
        "specs": {
            "w": spec_of(new_state.params["w"].sharding),
            "v": spec_of(new_state.params["v"].sharding),
            "trace_w": spec_of(new_state.opt_state[0].trace["w"].sharding),
            "trace_v": spec_of(new_state.opt_state[0].trace["v"].sharding),
            "step": spec_of(new_state.step.sharding), "loss": spec_of(metrics["loss"].sharding),
            "eval_loss_sum": spec_of(eval_metrics["loss_sum"].sharding),
            "in_w": spec_of(state_in.params["w"]), "in_c": spec_of(batch_in["c"]),
            "in_n": spec_of(batch_in["n"]),
        },
        "microbatch_c": record,
        "eval_c": eval_record,
        "context": context,
        "eval_context": eval_context,
    }


def main():
    assert jax.device_count() == 4, jax.devices()
    print(json.dumps({f"{d}x{m}": run(d, m) for d in (1, 4) for m in (1, 2)}))


if __name__ == "__main__":
    main()
