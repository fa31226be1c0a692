"""infer's end-to-end generated tokens/s next to the decode loop's steady state, same run.

The main job's sampling shape: `--problems` synthetic_eval problems, one greedy row and
`--samples` rows at Sampling(0.9) each, `--batch_size` problems at a time, on a random-init
`--preset` model. A random model rarely ends a row by itself, so rows get a SYNTHETIC length
distribution: `--stop_tokens` single-token stop strings end a row when sampled (about
stop_tokens / vocab per step, so lengths are roughly geometric, capped at
`--max_new_tokens`); the greedy rows usually run to the cap. Printed:

  * infer: generated tokens/s of `mathft_jax.infer.infer` (its summary: the decode time of
    the whole file, prefills, host work and writing included), first call (compiles) and a
    second call into a fresh file;
  * decode loop: the steady state of `generate`'s one-token steps at the same number of rows
    (batch_size x (1 + samples)) with EOS off: (L - 1) x rows tokens over the time of an L-token
    call minus a 1-token call (as benchmarks/decode_throughput.py's "steps only");
  * the ratio infer / decode loop (the target of issue 13: >= 0.70).

    python benchmarks/infer_throughput.py --preset small
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import jax

import tasks  # noqa: F401  (registers synthetic_eval)
from decode_throughput import best_time, load_preset
from mathft_jax.data.task_problems import read_problems
from mathft_jax.decoding import Sampling, generate
from mathft_jax.decoding.decode_loop import bucket_length
from mathft_jax.params_source import load_params
from mathft_jax import partitioning


def stop_strings(vocab, count: int) -> list[str]:
    """`count` printable characters that are single tokens of `vocab` (and not EOS)."""
    found = []
    for c in "qzjxkvwyfbgpmuclhdrsnioate0123456789":
        ids = vocab.encode(c)
        if len(ids) == 1 and ids[0] != vocab.eos_id:
            found.append(c)
        if len(found) == count:
            return found
    raise SystemExit(f"only {len(found)} single-token stop characters found")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--task", default="synthetic_eval")
    parser.add_argument("--problems", type=int, default=32)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--max_new_tokens", type=int, default=96)
    parser.add_argument("--stop_tokens", type=int, default=18)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    from mathft_jax.infer import infer

    cfg = load_preset(args.preset)
    _, _, vocab = read_problems(args.task, "test", args.problems)
    stops = stop_strings(vocab, args.stop_tokens)
    kw = dict(model_config=cfg, checkpoint="random_init", mixture_or_task_name=args.task,
              greedy=True, num_samples=args.samples, sampling=Sampling(0.9),
              max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
              max_problems=args.problems, seed=0, stop_strings=stops, show_progress=False,
              overwrite=True)
    with tempfile.TemporaryDirectory() as tmp:
        summaries = [infer(output_file=str(Path(tmp) / f"c{i}.jsonl"), **kw) for i in range(2)]
    tokens = summaries[-1]["generated_tokens"]
    rows = summaries[-1]["rows_written"]

    problems, _, _ = read_problems(args.task, "test", args.problems)
    prompts = [p.prompt for p in problems][:args.batch_size]
    bucket = bucket_length(max(len(p.prompt) for p in read_problems(
        args.task, "test", args.problems)[0]))
    params = load_params(cfg, "random_init", partitioning.make_mesh()).params
    n = 1 + args.samples
    big = args.max_new_tokens

    def loop(new_tokens):
        out = generate(params, cfg, prompts, num_decodes=n, max_new_tokens=new_tokens,
                       sampling=Sampling(0.9), eos_id=None, rng=jax.random.PRNGKey(0),
                       padded_length=bucket)
        assert out.lengths.min() == new_tokens

    loop(big), loop(1)
    t_full, t_one = best_time(lambda: loop(big), args.repeats), best_time(lambda: loop(1),
                                                                         args.repeats)
    steady = len(prompts) * n * (big - 1) / (t_full - t_one)
    first, second = (s["tokens_per_second"] for s in summaries)
    print(f"preset={args.preset} task={args.task} problems={args.problems} rows/problem={n} "
          f"batch={args.batch_size} problems ({args.batch_size * n} rows) "
          f"max_new_tokens={big} stop tokens={len(stops)} (synthetic lengths) "
          f"devices={jax.devices()[0].platform}x{jax.device_count()}")
    print(f"rows {rows}, generated tokens {tokens}, mean {tokens / rows:.1f} per row")
    print(f"infer end to end: {first:.1f} tokens/s (first call, compiles), "
          f"{second:.1f} tokens/s (second call, {summaries[-1]['seconds']:.1f} s)")
    print(f"decode loop steady state at {len(prompts) * n} rows: {steady:.1f} tokens/s")
    print(f"ratio infer / decode loop: {second / steady:.2f} (target >= 0.70)")


if __name__ == "__main__":
    main()
