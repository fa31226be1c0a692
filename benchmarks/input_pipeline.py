"""Input-pipeline throughput of a SeqIO task through the training feature converter.

Builds the pipeline the trainer uses (task -> tokenize -> trim -> shuffle ->
`seqio.DecoderFeatureConverter(pack=..., use_custom_packing_ops=False)` -> batch), drains
`--num_batches` batches after one warm-up batch, and prints examples/s, tokens/s (non-padding)
and target tokens/s (loss-weighted), plus the share of examples cut by the feature lengths.
With `--consumer_tokens_per_s` (the trainer's measured throughput) it prints the ratio
pipeline / trainer: above 1 means the pipeline is not the bottleneck.

    python benchmarks/input_pipeline.py --task=math_sft --batch_size=8 \
        --inputs_length=512 --targets_length=512 --num_batches=200
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import seqio  # noqa: E402

import tasks  # noqa: E402,F401  (registers the tasks)


def _num_examples(batch: dict, packed: bool) -> int:
    if not packed:
        return int((batch["decoder_loss_weights"].sum(axis=1) > 0).sum())
    return int(batch["decoder_segment_ids"].max(axis=1).sum())


def truncation_share(task: seqio.Task, lengths: dict, split: str, sample: int) -> dict:
    """Share of `sample` examples whose prompt / solution exceed the feature lengths."""
    records = task.source.records(split)[:sample] if hasattr(task.source, "records") else []
    out = {}
    for feature in ("inputs", "targets"):
        vocab = task.output_features[feature].vocabulary
        extra = 1 if task.output_features[feature].add_eos else 0
        sizes = [len(vocab.encode(r[feature])) + extra for r in records]
        out[feature] = float(np.mean([s > lengths[feature] for s in sizes])) if sizes else None
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="math_sft")
    parser.add_argument("--split", default="train")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--inputs_length", type=int, default=512)
    parser.add_argument("--targets_length", type=int, default=512)
    parser.add_argument("--num_batches", type=int, default=200)
    parser.add_argument("--no_pack", action="store_true")
    parser.add_argument("--consumer_tokens_per_s", type=float, default=None)
    args = parser.parse_args(argv)

    lengths = {"inputs": args.inputs_length, "targets": args.targets_length}
    task = seqio.get_mixture_or_task(args.task)
    start = time.perf_counter()
    ds = task.get_dataset(lengths, split=args.split, shuffle=True, seed=0, num_epochs=None)
    converter = seqio.DecoderFeatureConverter(pack=not args.no_pack,
                                              use_custom_packing_ops=False)
    ds = converter(ds, lengths).batch(args.batch_size, drop_remainder=True).prefetch(2)
    it = ds.as_numpy_iterator()
    next(it)
    first_batch_s = time.perf_counter() - start

    examples = tokens = target_tokens = 0
    start = time.perf_counter()
    for _ in range(args.num_batches):
        batch = next(it)
        examples += _num_examples(batch, not args.no_pack)
        tokens += int((batch["decoder_target_tokens"] > 0).sum())
        target_tokens += int(batch["decoder_loss_weights"].sum())
    elapsed = time.perf_counter() - start

    result = {"task": args.task, "batch_size": args.batch_size, "lengths": lengths,
              "packed": not args.no_pack, "num_batches": args.num_batches,
              "first_batch_s": round(first_batch_s, 2),
              "examples_per_s": round(examples / elapsed, 1),
              "tokens_per_s": round(tokens / elapsed, 1),
              "target_tokens_per_s": round(target_tokens / elapsed, 1),
              "truncated_share": truncation_share(task, lengths, args.split, 2000)}
    print(f"{args.task}: {result['examples_per_s']:,} examples/s, "
          f"{result['tokens_per_s']:,} tokens/s ({result['target_tokens_per_s']:,} target "
          f"tokens/s), batch {args.batch_size} x {sum(lengths.values())} "
          f"{'packed' if not args.no_pack else 'unpacked'}; first batch after "
          f"{first_batch_s:.1f} s; share cut by the lengths: {result['truncated_share']}")
    if args.consumer_tokens_per_s:
        ratio = result["tokens_per_s"] / args.consumer_tokens_per_s
        result["ratio_vs_consumer"] = round(ratio, 1)
        print(f"pipeline / trainer throughput = {ratio:.1f}x "
              f"({'not' if ratio > 1 else 'IS'} the bottleneck)")
    return result


if __name__ == "__main__":
    main()
