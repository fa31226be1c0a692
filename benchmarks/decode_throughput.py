"""Decode throughput of the KV-cache loop, against the compute roofline (and a naive loop).

For each batch size it times (best of `--repeats` calls after a warm-up call that compiles)
decoding of `--new_tokens` tokens after random prompts of `--prompt_len` tokens, with EOS
disabled so every row generates the full length, and prints generated tokens/s of

  * cached: `mathft_jax.decoding.generate` (prefill, then one token per step from the cache;
    the prefill is included in the time);
  * steps only: the decode steps without the prefill, (new_tokens - 1) x batch tokens over the
    time of a full call minus that of a call that generates one token (prefill + first pick);
    a difference of two timings, so noisy when the prefill dominates (long prompts, few new
    tokens): raise --new_tokens there;
  * naive (unless --skip_naive): `mathft_jax.decoding.naive.naive_decode` (jitted, recomputes
    the whole prompt + generated sequence at every step), and the speed-up cached / naive;

and the ratio of `cached` to the roofline: peak matmul FLOP/s of `--dtype` (`_peak.matmul_peak`, the
best of several measurements in this process before, between and after the runs) divided by
2 x parameters FLOPs per token (embedding counted once: with tied embeddings it is the output
head). At batch 1 it also prints the ratio to llama.cpp's ~69 tokens/s for Gemma 3 270M (a
reference figure for this 2-core CPU, not measured here) when llama-cpp-python is importable.
Random-init weights (throughput does not depend on them). `--sampling` decodes with
`Sampling(0.7, top_k=64, top_p=0.95)` (the few-shot baseline's rule) instead of greedy.

    python benchmarks/decode_throughput.py --preset gemma3_270m --batch_sizes 1,32 --skip_naive
    python benchmarks/decode_throughput.py --preset tiny --batch_sizes 1,8 --new_tokens 32
    python benchmarks/decode_throughput.py --preset mini --batch_sizes 32 --skip_naive \
        --compare_sampling          # prints `sampled/greedy <ratio>` (target >= 0.85)
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import flax.linen as nn
import gin
import jax
import jax.numpy as jnp
import numpy as np

from _peak import matmul_peak
from mathft_jax.decoding import Greedy, Sampling, generate, left_pad
from mathft_jax.decoding.naive import naive_decode
from mathft_jax.kernels import cpu_matmul
from mathft_jax.models import Decoder, ModelConfig

REPO = Path(__file__).resolve().parents[1]
LLAMA_CPP_TOKENS_PER_S = 69.0  # Gemma 3 270M, batch 1: the project's reference figure


def load_preset(name: str) -> ModelConfig:
    """The ModelConfig of `gin_configs/models/<name>.gin`."""
    path = REPO / "gin_configs" / "models" / f"{name}.gin"
    if not path.exists():
        raise SystemExit(f"unknown preset {name!r}: {path} does not exist")
    gin.clear_config()
    gin.parse_config_file(str(path))
    return ModelConfig()


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def sampled_time(params, cfg: ModelConfig, prompts: list, args) -> float:
    """Best time of the same decode as the greedy run with `Sampling(0.9)`."""
    def run():
        out = generate(params, cfg, prompts, max_new_tokens=args.new_tokens,
                       sampling=Sampling(0.9), eos_id=None, rng=jax.random.PRNGKey(0))
        assert out.lengths.min() == args.new_tokens
    run()
    return best_time(run, args.repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch_sizes", default="1,8,32")
    parser.add_argument("--prompt_len", type=int, default=32)
    parser.add_argument("--new_tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip_naive", action="store_true")
    parser.add_argument("--dtype", default="float32",
                        help="parameter and activation dtype; the roofline uses the peak of "
                             "this dtype (bfloat16 inputs, float32 accumulation)")
    parser.add_argument("--sampling", action="store_true",
                        help="Sampling(0.7, top_k=64, top_p=0.95) instead of greedy")
    parser.add_argument("--compare_sampling", action="store_true",
                        help="also decode with Sampling(0.9) (the main job's rule: no filter, "
                             "a draw over the whole vocabulary) at each batch size and print "
                             "`sampled/greedy <ratio>` of the two cached rates")
    args = parser.parse_args()
    try:
        import llama_cpp  # noqa: F401
        have_llama = True
    except ImportError:
        have_llama = False
    rule = Sampling(0.7, top_k=64, top_p=0.95) if args.sampling else Greedy()

    cfg = dataclasses.replace(load_preset(args.preset), dtype=args.dtype,
                              param_dtype=args.dtype)
    params = nn.meta.unbox(
        jax.jit(lambda k: Decoder(cfg).init(k, jnp.zeros((1, 8), jnp.int32))["params"])(
            jax.random.key(0)))
    flops_per_token = 2 * cfg.num_params()
    percent = lambda rate, peak: 100 * rate * flops_per_token / peak  # of the roofline
    peaks = [matmul_peak(dtype=args.dtype)]
    print(cpu_matmul.describe())
    print(f"preset={args.preset} params={cfg.num_params() / 1e6:.1f}M "
          f"prompt_len={args.prompt_len} new_tokens={args.new_tokens} rule={rule} "
          f"devices={jax.devices()[0].platform}x{jax.device_count()} "
          f"(best of {args.repeats} after a compile call)")
    print(f"{'batch':>5} {'cached tok/s':>13} {'roofline %':>10} {'steps tok/s':>12} "
          f"{'roofline %':>10} {'naive tok/s':>12} {'speed-up':>9}")
    results, comparisons = [], []
    rng = np.random.default_rng(0)
    for b in (int(x) for x in args.batch_sizes.split(",")):
        prompts = rng.integers(3, cfg.vocab_size, size=(b, args.prompt_len)).tolist()
        tokens = b * args.new_tokens

        def cached(new_tokens=args.new_tokens):
            out = generate(params, cfg, prompts, max_new_tokens=new_tokens,
                           sampling=rule, eos_id=None, rng=jax.random.PRNGKey(0))
            assert out.lengths.min() == new_tokens
            return out

        cached()
        t_cached = best_time(cached, args.repeats)
        if args.compare_sampling:
            sampled_rate = tokens / sampled_time(params, cfg, prompts, args)
            comparisons.append((b, tokens / t_cached, sampled_rate))
        cached(1)
        t_prefill = best_time(lambda: cached(1), args.repeats)
        peaks.append(matmul_peak(repeats=3, dtype=args.dtype))
        rate = tokens / t_cached
        steps_rate = b * (args.new_tokens - 1) / max(t_cached - t_prefill, 1e-9)
        results.append((b, rate, steps_rate))
        line = (f"{b:>5} {rate:>13.1f} {percent(rate, max(peaks)):>9.1f}% {steps_rate:>12.1f} "
                f"{percent(steps_rate, max(peaks)):>9.1f}%")
        if not args.skip_naive:
            padded, lengths = left_pad(prompts)
            padded, lengths = jnp.asarray(padded), jnp.asarray(lengths)

            def naive():
                out = naive_decode(params, cfg, padded, lengths, num_decodes=1,
                                   max_new_tokens=args.new_tokens, sampling=Greedy(),
                                   rng=jax.random.PRNGKey(0))
                jax.block_until_ready(out)
                return out

            naive()
            t_naive = best_time(naive, args.repeats)
            line += f" {tokens / t_naive:>12.1f} {t_naive / t_cached:>8.2f}x"
        print(line, flush=True)
    peak = max(peaks)
    print(f"peak {args.dtype} matmul {peak / 1e9:.1f} GFLOP/s (best of {len(peaks)} measurements, "
          f"lowest {min(peaks) / 1e9:.1f}); roofline = peak / (2 x {cfg.num_params() / 1e6:.1f}M "
          f"params) = {peak / flops_per_token:.1f} tokens/s")
    for b, rate, steps_rate in results:
        print(f"batch {b}: {rate:.1f} tokens/s = {percent(rate, peak):.1f}% of "
              f"the roofline (decode steps alone: {steps_rate:.1f} tokens/s = "
              f"{percent(steps_rate, peak):.1f}%)")
    for b, greedy_rate, sampled_rate in comparisons:
        print(f"batch {b}: greedy {greedy_rate:.1f} tokens/s, Sampling(0.9) "
              f"{sampled_rate:.1f} tokens/s")
        print(f"sampled/greedy {sampled_rate / greedy_rate:.2f} (preset={args.preset}, "
              f"batch {b})")
    one = [rate for b, rate, _ in results if b == 1]
    if not have_llama:
        print("llama.cpp comparison: llama-cpp-python not installed")
    elif one:
        print(f"batch 1 vs llama.cpp ({LLAMA_CPP_TOKENS_PER_S:.0f} tokens/s): "
              f"{one[0] / LLAMA_CPP_TOKENS_PER_S:.2f}x")


if __name__ == "__main__":
    main()
