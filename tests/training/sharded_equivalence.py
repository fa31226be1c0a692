"""Run as a subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=8: trains the
tiny model 5 steps on several meshes and prints one JSON line with losses and shard shapes.

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python -m tests.training.sharded_equivalence
"""

from __future__ import annotations

import json

import jax
import numpy as np

from mathft_jax import partitioning
from mathft_jax.training import losses, optimizers, train_state, train_step
from tests.training.helpers import TINY, random_batch

MESHES = {"single": (1, 1, 1), "data8": (8, 1, 1), "fsdp8": (1, 8, 1), "d2f2t2": (2, 2, 2)}
STEPS = 5


def run(shape):
    devices = jax.devices()[:int(np.prod(shape))]
    mesh = partitioning.make_mesh(*shape, devices=devices)
    schedule = optimizers.make_schedule(STEPS, peak_value=3e-3, warmup_steps=1)
    opt = optimizers.make_optimizer(schedule, weight_decay=0.01)
    _, shardings = train_state.state_shardings(TINY, opt, mesh)
    state = train_state.init_train_state(TINY, opt, mesh, jax.random.key(0), shardings)
    step = train_step.make_train_step(losses.make_sft_loss(TINY), opt, mesh, shardings,
                                      {k: 2 for k in random_batch(8, 16, 8)}, 1, schedule)
    lossvals = []
    for i in range(STEPS):
        batch = partitioning.make_global_batch(random_batch(8, 16, TINY.vocab_size, seed=i),
                                               mesh)
        state, metrics = step(state, batch, jax.random.key(1))
        lossvals.append(float(metrics["loss"]))
    params = state.params
    shapes = {
        "embedding": params["embedding"].addressable_shards[0].data.shape,
        "gate": params["layers"]["block"]["mlp"]["gate"].addressable_shards[0].data.shape,
        "q": params["layers"]["block"]["attention"]["q"].addressable_shards[0].data.shape,
        "k": params["layers"]["block"]["attention"]["k"].addressable_shards[0].data.shape,
        "adam_mu_gate": state.opt_state[1][0].mu["layers"]["block"]["mlp"]["gate"]
        .addressable_shards[0].data.shape,
    }
    return {"losses": lossvals, "shard_shapes": shapes, "devices": len(devices)}


def main():
    assert jax.device_count() == 8, jax.devices()
    print(json.dumps({name: run(shape) for name, shape in MESHES.items()}))


if __name__ == "__main__":
    main()
