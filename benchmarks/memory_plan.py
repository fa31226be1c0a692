"""Per-device memory of a training run on a pod you do not have yet.

    python benchmarks/memory_plan.py --preset gemma3_4b --preset gemma3_12b \
        [--devices 256] [--mesh 1,256,1 --mesh 16,16,1 --mesh 8,16,2] [--batch 256] [--seq 2048]

For each preset and (data, fsdp, tensor) mesh it prints, per device:
  params      parameter shards (from the partitioning rules; exact),
  opt_state   optimizer-state shards (AdamW mu and nu follow the params; exact),
  temp        XLA's temporary buffers of the compiled train step: activations kept for the
              backward pass, gradients and workspace (the CPU compiler's figure: TPU's fusion
              and layout differ, so read it as an estimate),
  peak        arguments + outputs - donated aliases + temp.
The train step (`training.train_step.make_train_step`: SFT loss, AdamW, clipping) is lowered
and compiled ahead of time for `--devices` simulated CPU devices
(`--xla_force_host_platform_device_count`, set by this script before JAX starts), with
abstract inputs (`jax.ShapeDtypeStruct` with shardings): no parameter is ever allocated.
`--json` prints one JSON object instead of the table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

GIB = 1 << 30


def _parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", help="gin_configs/models/NAME.gin")
    parser.add_argument("--devices", type=int, default=256)
    parser.add_argument("--mesh", action="append", help="data,fsdp,tensor (product = devices)")
    parser.add_argument("--batch", type=int, default=256, help="global batch in sequences")
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    args.preset = args.preset or ["gemma3_4b", "gemma3_12b"]
    n = args.devices
    args.mesh = [tuple(int(x) for x in m.split(",")) for m in args.mesh] if args.mesh else [
        (1, n, 1), (n // 16, 16, 1), (n // 32, 16, 2)]
    for mesh in args.mesh:
        if len(mesh) != 3 or math.prod(mesh) != n:
            parser.error(f"--mesh {mesh} must be data,fsdp,tensor with product {n}")
    return args


def _nbytes_per_device(abstract, shardings) -> int:
    import jax
    import numpy as np
    sizes = jax.tree_util.tree_map(
        lambda a, s: math.prod(s.shard_shape(a.shape)) * np.dtype(a.dtype).itemsize,
        abstract, shardings)
    return int(sum(jax.tree_util.tree_leaves(sizes)))


def plan_one(config, mesh_shape, batch: int, seq: int) -> dict:
    """Per-device bytes of one preset on one mesh; compiles the train step ahead of time."""
    import jax
    import jax.numpy as jnp
    from mathft_jax import partitioning
    from mathft_jax.training import losses, optimizers, train_state, train_step

    mesh = partitioning.make_mesh(*mesh_shape)
    optimizer = optimizers.make_optimizer(optimizers.make_schedule(1000, warmup_steps=10))
    abstract, shardings = train_state.state_shardings(config, optimizer, mesh)
    features = ("decoder_target_tokens", "decoder_input_tokens", "decoder_loss_weights")
    step = train_step.make_train_step(losses.make_sft_loss(config), optimizer, mesh, shardings,
                                      {k: 2 for k in features})
    batch_structs = {k: jax.ShapeDtypeStruct((batch, seq), jnp.int32,
                                             sharding=partitioning.batch_sharding(mesh))
                     for k in features}
    rng = jax.ShapeDtypeStruct(jax.random.key(0).shape, jax.random.key(0).dtype,
                               sharding=partitioning.replicated(mesh))
    start = time.time()
    with partitioning.mesh_context(mesh):
        compiled = step.jitted.lower(train_state.with_shardings(abstract, shardings),
                                     batch_structs, rng).compile()
    memory = compiled.memory_analysis()
    peak = (memory.argument_size_in_bytes + memory.output_size_in_bytes
            - memory.alias_size_in_bytes + memory.temp_size_in_bytes)
    return {"mesh": list(mesh_shape), "devices": mesh.size,
            "params": _nbytes_per_device(abstract.params, shardings.params),
            "opt_state": _nbytes_per_device(abstract.opt_state, shardings.opt_state),
            "temp": int(memory.temp_size_in_bytes), "peak": int(peak),
            "compile_s": round(time.time() - start, 1)}


def _table(results: dict) -> str:
    lines = []
    for preset, r in results.items():
        lines.append(f"{preset}: {r['num_params']:,} parameters, global batch {r['batch']} x "
                     f"{r['seq']} tokens, {r['devices']} devices (GiB per device)")
        lines.append(f"  {'data,fsdp,tensor':>17} {'params':>8} {'opt_state':>9} {'temp':>8} "
                     f"{'peak':>8}")
        for row in r["meshes"]:
            mesh = ",".join(map(str, row["mesh"]))
            lines.append(f"  {mesh:>17} {row['params'] / GIB:8.2f} {row['opt_state'] / GIB:9.2f} "
                         f"{row['temp'] / GIB:8.2f} {row['peak'] / GIB:8.2f}")
    return "\n".join(lines)


def main(argv=None) -> None:
    args = _parse_args(argv)
    # Before JAX creates its CPU client: simulated devices, no accelerator.
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + f" --xla_force_host_platform_device_count={args.devices}")
    os.environ["JAX_PLATFORMS"] = "cpu"
    os.environ.setdefault("MATHFT_CPU_KERNELS", "0")
    from train_throughput import load_preset  # benchmarks/ is the script's folder
    results = {}
    for name in args.preset:
        config = load_preset(name, [])
        results[name] = {"num_params": config.num_params(), "batch": args.batch,
                         "seq": args.seq, "devices": args.devices,
                         "meshes": [plan_one(config, m, args.batch, args.seq)
                                    for m in args.mesh]}
    print(json.dumps(results) if args.json else _table(results))


if __name__ == "__main__":
    main()
