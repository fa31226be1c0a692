"""Train-step throughput and MFU of a model preset on the local devices.

    python benchmarks/train_throughput.py [--preset small] [--batch 8] [--seq 256] [--steps 5]

Prints tokens/s and MFU = model FLOPs/s / peak FLOPs/s, where
  * model FLOPs per step = 3 x ModelConfig.flops_per_token(seq) x batch x seq (forward + 2x
    for the backward pass; no remat recompute counted), and
  * peak = the best of several jitted float32 2048x2048 @ 2048x2048 matmuls (2 x 2048^3 FLOPs)
    measured in the same process, on the same devices, just before the train steps.
The train step is the real one (`training.train_step.make_train_step`: SFT loss, AdamW,
clipping) on random tokens, after one compile/warm-up step.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gin
import jax
import numpy as np

from _peak import matmul_peak  # benchmarks/_peak.py (the script's folder is on sys.path)
from mathft_jax import partitioning
from mathft_jax.models import ModelConfig
from mathft_jax.training import losses, optimizers, train_state, train_step

REPO = Path(__file__).resolve().parents[1]


def load_preset(name: str, overrides: list[str]) -> ModelConfig:
    gin.clear_config()
    gin.parse_config_files_and_bindings([str(REPO / "gin_configs" / "models" / f"{name}.gin")],
                                        overrides)
    return gin.get_configurable(ModelConfig)()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--microbatches", type=int, default=1)
    parser.add_argument("--gin", action="append", default=[],
                        help="extra binding, e.g. --gin 'ModelConfig.remat=\"full\"'")
    parser.add_argument("--scan_layers", action="store_true",
                        help="keep the preset's scanned layers (by default unrolled: on XLA CPU "
                             "the scanned backward pass spends ~40%% of the step transposing "
                             "saved MLP activations out of the stacked scan buffers)")
    args = parser.parse_args()

    bindings = ([] if args.scan_layers else ["ModelConfig.scan_layers = False"]) + args.gin
    cfg = load_preset(args.preset, bindings)
    mesh = partitioning.make_mesh()
    schedule = optimizers.make_schedule(1000, peak_value=1e-4, warmup_steps=10)
    opt = optimizers.make_optimizer(schedule, weight_decay=0.01)
    _, shardings = train_state.state_shardings(cfg, opt, mesh)
    state = train_state.init_train_state(cfg, opt, mesh, jax.random.key(0), shardings)
    rng = np.random.default_rng(0)
    tokens = rng.integers(3, cfg.vocab_size, (args.batch, args.seq)).astype(np.int32)
    batch = {"decoder_target_tokens": tokens,
             "decoder_input_tokens": np.concatenate(
                 [np.zeros((args.batch, 1), np.int32), tokens[:, :-1]], 1),
             "decoder_loss_weights": np.ones_like(tokens)}
    step = train_step.make_train_step(losses.make_sft_loss(cfg), opt, mesh, shardings,
                                      {k: 2 for k in batch}, args.microbatches, schedule)
    global_batch = partitioning.make_global_batch(batch, mesh)
    key = jax.random.key(1)

    t = time.perf_counter()
    state, metrics = step(state, global_batch, key)
    jax.block_until_ready(metrics)
    compile_s = time.perf_counter() - t

    # The CPU may be shared: the peak is the best matmul seen before, between and after the
    # steps, and MFU is reported for the median and for the fastest step.
    peaks = [matmul_peak()]
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        state, metrics = step(state, global_batch, key)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - t)
        peaks.append(matmul_peak(repeats=3))
    peak = max(peaks)
    step_s = float(np.median(times))
    tokens_per_step = args.batch * args.seq
    model_flops = 3 * cfg.flops_per_token(args.seq) * tokens_per_step
    tokens_per_s = tokens_per_step / step_s
    mfu = model_flops / step_s / peak
    best_mfu = model_flops / min(times) / peak
    print(f"bindings: {bindings}")
    print(f"preset={args.preset} params={cfg.num_params() / 1e6:.1f}M batch={args.batch} "
          f"seq={args.seq} microbatches={args.microbatches} devices={jax.device_count()} "
          f"({jax.devices()[0].platform})")
    print(f"compile+first step {compile_s:.1f}s; step median {step_s * 1e3:.0f} ms "
          f"(min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}) over {args.steps} steps; "
          f"loss {float(metrics['loss']):.3f}")
    print(f"tokens/s {tokens_per_s:,.0f} (median step), {tokens_per_step / min(times):,.0f} "
          f"(fastest step)")
    print(f"model GFLOP/s {model_flops / step_s / 1e9:.1f}; peak float32 matmul GFLOP/s "
          f"{peak / 1e9:.1f} (best of {len(peaks)} measurements, lowest "
          f"{min(peaks) / 1e9:.1f})")
    print(f"MFU {100 * mfu:.1f}% (median step), {100 * best_mfu:.1f}% (fastest step)")


if __name__ == "__main__":
    main()
