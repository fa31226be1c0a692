"""The matmul peak of the local devices, measured in-process (shared by benchmarks).

    from _peak import matmul_peak          # benchmarks/ is on sys.path when run as a script
    peak = matmul_peak()                   # FLOP/s of the best jitted float32 2048^3 matmul
    peak = matmul_peak(dtype="bfloat16")   # bfloat16 inputs, float32 accumulation
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp


def matmul_peak(n: int = 2048, repeats: int = 10, dtype: str = "float32") -> float:
    """Best FLOP/s (2 n^3 per call) of a jitted n x n @ n x n matmul, after a warm-up.

    The inputs are `dtype` and the products accumulate in float32 (as the model's layers do).
    On a shared CPU take the max over several calls spread over the run: a single
    measurement may land on a busy moment.
    """
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32).astype(dtype)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32).astype(dtype)
    f = jax.jit(lambda x, y: jnp.matmul(x, y, preferred_element_type=jnp.float32))
    f(a, b).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        f(a, b).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best
