"""One process of a multi-process CPU run; `tests/test_distributed.py` starts one or two.

    MATHFT_COORDINATOR=127.0.0.1:PORT MATHFT_NUM_PROCESSES=2 MATHFT_PROCESS_ID=i \
        python -m tests.multiprocess_worker [--export-from HF_DIR --export-to OUT]

With the MATHFT_* variables unset it is the 1-process reference run (give it two CPU
devices with XLA_FLAGS=--xla_force_host_platform_device_count=2, so that both runs use the
same two-device mesh). It trains the tiny model a few steps on two meshes (data-parallel and
FSDP over the two devices; in the 2-process run over the two processes, the second one
through `make_mesh(dcn=...)`'s hybrid mesh with processes as slices), feeding each process
only its own rows of a fixed global batch, and prints one JSON line with the losses.
`--train-dir` also runs the whole training loop (per-host SeqIO input, collective Orbax
checkpoint) for two steps.
"""

from __future__ import annotations

import argparse
import json

from mathft_jax import distributed

distributed.maybe_initialize()  # before anything touches the devices

import jax  # noqa: E402
import numpy as np  # noqa: E402

from mathft_jax import export, partitioning  # noqa: E402
from mathft_jax.training import losses, optimizers, train_state, train_step  # noqa: E402
from tests.training.helpers import TINY, random_batch  # noqa: E402

STEPS = 3
BATCH, LENGTH = 8, 16


def local_rows(batch: dict[str, np.ndarray], mesh) -> dict[str, np.ndarray]:
    """This process's rows of a global batch, as `make_global_batch` expects them."""
    sharding = partitioning.batch_sharding(mesh)
    index_map = sharding.addressable_devices_indices_map((BATCH, LENGTH))
    rows = sorted({i for idx in index_map.values() for i in range(BATCH)[idx[0]]})
    return {k: v[rows] for k, v in batch.items()}


def train_losses(mesh) -> list[float]:
    schedule = optimizers.make_schedule(STEPS, peak_value=3e-3, warmup_steps=1)
    opt = optimizers.make_optimizer(schedule, weight_decay=0.01)
    _, shardings = train_state.state_shardings(TINY, opt, mesh)
    state = train_state.init_train_state(TINY, opt, mesh, jax.random.key(0), shardings)
    step = train_step.make_train_step(losses.make_sft_loss(TINY), opt, mesh, shardings,
                                      {k: 2 for k in random_batch(BATCH, LENGTH, 8)}, 1,
                                      schedule)
    out = []
    for i in range(STEPS):
        batch = random_batch(BATCH, LENGTH, TINY.vocab_size, seed=i)
        state, metrics = step(state, partitioning.make_global_batch(local_rows(batch, mesh),
                                                                    mesh), jax.random.key(1))
        out.append(float(metrics["loss"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--export-from")
    parser.add_argument("--export-to")
    parser.add_argument("--train-dir", help="also run trainer.train_loop (tiny task) here")
    args = parser.parse_args()
    processes = jax.process_count()
    meshes = {"data": partitioning.make_mesh(data=2),
              "fsdp": partitioning.make_mesh(data=1, fsdp=2,
                                             dcn=(1, processes, 1) if processes > 1 else None)}
    result = {"process_index": jax.process_index(), "process_count": processes,
              "devices": jax.device_count(),
              "losses": {name: train_losses(mesh) for name, mesh in meshes.items()}}
    if args.train_dir:
        from tests.training import tiny_run
        run = tiny_run.run(args.train_dir, 2, checkpoint_every=2, log_every=1,
                           async_checkpoints=False)
        result["train_loop"] = {"step": run.step,
                                "losses": [h["loss"] for h in run.history]}
    if args.export_from:
        manifest = export.export(output_dir=args.export_to, pretrained=args.export_from)
        result["exported"] = manifest is not None
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
