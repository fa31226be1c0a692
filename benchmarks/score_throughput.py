"""Evaluator scoring throughput and memory: `decoding.label_word_probs`, the pass behind
`python -m mathft_jax.score`.

    python benchmarks/score_throughput.py [--preset small] [--batch 16] [--prompt_len 256]
                                          [--memory_preset gemma3_270m]

Prints, for `--preset` (random weights, prompts of exactly `--prompt_len` tokens):
  * scored candidates/s and prompt tokens/s of the compiled pass (after a warm-up call);
  * MFU = model FLOPs/s / the float32 matmul peak measured in the same process
    (`_peak.matmul_peak`); model FLOPs per candidate = T x (forward FLOPs per token without
    the output head) + the head once (the pass reads the label words at the last slot only).
And for `--memory_preset` at batch 8 x 512 tokens, compiled ahead of time on abstract shapes
(no weights needed): XLA's temporary buffer size, against the size one [B, T, V] float32
logits buffer would take (the target: the pass holds none).
"""

from __future__ import annotations

import argparse
import functools
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from _peak import matmul_peak  # benchmarks/_peak.py (the script's folder is on sys.path)
from train_throughput import load_preset
from mathft_jax import partitioning
from mathft_jax.decoding import scoring
from mathft_jax.decoding.scoring import label_word_probs
from mathft_jax.params_source import load_params
from mathft_jax.training import train_state


def _flops_per_candidate(cfg, t: int) -> float:
    head = 2.0 * cfg.vocab_size * cfg.embed_dim
    return t * (cfg.flops_per_token(t) - head) + head


def throughput(preset: str, batch: int, prompt_len: int, repeats: int) -> None:
    cfg = load_preset(preset, [])
    mesh = partitioning.make_mesh()
    params = load_params(cfg, "random_init", mesh).params
    rng = np.random.default_rng(0)
    prompts = rng.integers(3, cfg.vocab_size, (batch, prompt_len)).tolist()
    kw = dict(positive=[7], negative=[8], mesh=mesh, padded_length=prompt_len,
              logical_axis_rules=partitioning.DEFAULT_RULES)
    label_word_probs(params, cfg, prompts, **kw)  # compile + warm-up
    peak = matmul_peak()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        label_word_probs(params, cfg, prompts, **kw)
        best = min(best, time.perf_counter() - start)
    peak = max(peak, matmul_peak())
    flops = batch * _flops_per_candidate(cfg, prompt_len) / best
    print(f"{preset}: batch {batch} x {prompt_len} tokens: {best * 1e3:.1f} ms per call, "
          f"{batch / best:,.1f} candidates/s, {batch * prompt_len / best:,.0f} tokens/s")
    print(f"  model {flops / 1e9:.1f} GFLOP/s, peak {peak / 1e9:.1f} GFLOP/s -> "
          f"MFU {100 * flops / peak:.1f}%")


def memory(preset: str, batch: int = 8, prompt_len: int = 512) -> None:
    cfg = load_preset(preset, [])
    params = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype),
                                    nn.unbox(train_state.abstract_params(cfg)))
    fn = jax.jit(functools.partial(scoring._label_logprobs, config=cfg, positive=7, negative=8))
    tokens = jax.ShapeDtypeStruct((batch, prompt_len), jnp.int32)
    compiled = fn.lower(params, tokens, tokens).compile()
    stats = compiled.memory_analysis()
    logits_bytes = batch * prompt_len * cfg.vocab_size * 4
    temp = getattr(stats, "temp_size_in_bytes", None)
    print(f"{preset}: batch {batch} x {prompt_len}: compiled temporaries "
          f"{temp / 2**20:,.1f} MiB; one [B, T, V] float32 logits buffer would be "
          f"{logits_bytes / 2**20:,.1f} MiB -> "
          f"{'no' if temp < logits_bytes else 'possibly a'} [B, T, V] buffer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--prompt_len", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory_preset", default="gemma3_270m")
    args = parser.parse_args()
    throughput(args.preset, args.batch, args.prompt_len, args.repeats)
    if args.memory_preset:
        memory(args.memory_preset)


if __name__ == "__main__":
    main()
