"""Decode throughput of the KV-cache loop vs. a naive full-recompute loop.

For each batch size it times (after a warm-up call that compiles) greedy decoding of
`--new_tokens` tokens after random prompts of `--prompt_len` tokens, with EOS disabled so every
row generates the full length, and prints generated tokens/s for

  * cached: `mathft_jax.decoding.generate` (prefill, then one token per step from the cache);
  * naive:  `mathft_jax.decoding.naive.naive_decode` (jitted, recomputes the whole
    prompt + generated sequence at every step, same length);

and the ratio cached / naive. Random-init weights (throughput does not depend on them).

    python benchmarks/decode_throughput.py --preset small
    python benchmarks/decode_throughput.py --preset tiny --batch_sizes 1,8 --new_tokens 32
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import flax.linen as nn
import gin
import jax
import jax.numpy as jnp
import numpy as np

from mathft_jax.decoding import Greedy, generate, left_pad
from mathft_jax.decoding.naive import naive_decode
from mathft_jax.models import Decoder, ModelConfig

REPO = Path(__file__).resolve().parents[1]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch_sizes", default="1,8,32")
    parser.add_argument("--prompt_len", type=int, default=32)
    parser.add_argument("--new_tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip_naive", action="store_true")
    args = parser.parse_args()

    cfg = load_preset(args.preset)
    params = nn.meta.unbox(
        jax.jit(lambda k: Decoder(cfg).init(k, jnp.zeros((1, 8), jnp.int32))["params"])(
            jax.random.key(0)))
    print(f"preset={args.preset} params={cfg.num_params() / 1e6:.1f}M "
          f"prompt_len={args.prompt_len} new_tokens={args.new_tokens} "
          f"devices={jax.devices()[0].platform}x{jax.device_count()} "
          f"(best of {args.repeats} after a compile call)")
    print(f"{'batch':>5} {'cached tok/s':>13} {'naive tok/s':>12} {'speed-up':>9}")
    rng = np.random.default_rng(0)
    for b in (int(x) for x in args.batch_sizes.split(",")):
        prompts = rng.integers(3, cfg.vocab_size, size=(b, args.prompt_len)).tolist()
        tokens = b * args.new_tokens

        def cached():
            out = generate(params, cfg, prompts, max_new_tokens=args.new_tokens,
                           sampling=Greedy(), eos_id=None)
            assert out.lengths.min() == args.new_tokens
            return out

        cached()
        t_cached = best_time(cached, args.repeats)
        line = f"{b:>5} {tokens / t_cached:>13.1f}"
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


if __name__ == "__main__":
    main()
