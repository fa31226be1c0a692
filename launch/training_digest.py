"""Does this machine train the same model as another one? A digest of a small decoder's
parameters after a few jitted SGD steps, to compare across CPUs or numeric settings.

    python launch/training_digest.py
    ONEDNN_MAX_CPU_ISA=AVX2 python launch/training_digest.py           # oneDNN's kernels capped
    XLA_FLAGS=--xla_cpu_max_isa=AVX2 python launch/training_digest.py   # XLA's code generation

Two runs that print the same digest trained bit-for-bit the same parameters; the main
job's table can only be expected to match across machines where this digest does (README,
"On another CPU"). Prints the CPU model, the final loss (repr) and the digest.
"""

from __future__ import annotations

import argparse
import hashlib
import platform

import jax
import jax.numpy as jnp
import numpy as np
from flax.linen import meta

from mathft_jax.models import Decoder, ModelConfig


def cpu_model() -> str:
    """The CPU's model name (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def train_digest(steps: int = 20, seed: int = 0) -> tuple[float, str]:
    """(last loss, sha256 prefix of every parameter's bytes) after `steps` SGD steps of a
    2-layer decoder (width 128, vocabulary 512) on fixed random tokens."""
    config = ModelConfig(vocab_size=512, num_layers=2, embed_dim=128, mlp_dim=512,
                         num_heads=4, num_kv_heads=2, head_dim=32)
    model = Decoder(config)
    tokens = jax.random.randint(jax.random.PRNGKey(seed + 1), (8, 64), 1, config.vocab_size)
    params = meta.unbox(model.init(jax.random.PRNGKey(seed), tokens)["params"])

    def loss(p):
        logits = model.apply({"params": p}, tokens)[:, :-1].astype(jnp.float32)
        picked = jnp.take_along_axis(jax.nn.log_softmax(logits), tokens[:, 1:, None], -1)
        return -jnp.mean(picked)

    @jax.jit
    def step(p):
        value, grads = jax.value_and_grad(loss)(p)
        return value, jax.tree_util.tree_map(lambda w, g: w - 0.5 * g, p, grads)

    value = None
    for _ in range(steps):
        value, params = step(params)
    flat = np.concatenate([np.asarray(x).ravel() for x in jax.tree_util.tree_leaves(params)])
    return float(value), hashlib.sha256(flat.tobytes()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    value, digest = train_digest(args.steps)
    print(f"{cpu_model()}: loss {value!r} after {args.steps} steps, params digest {digest}")


if __name__ == "__main__":
    main()
