"""Decode-step matmuls on CPU: AVX-512 XLA FFI kernels where they apply, XLA's dot elsewhere.

A decode step multiplies a handful of activation rows (the batch) by every weight matrix of
the model. XLA CPU's GEMM runs those skinny shapes at about half of the machine's matmul
peak; `cpu_matmul.cc` keeps them near it. Measured on a 2-core AVX-512 EPYC, inside a loop
as a decode step sees them: Gemma 3 270M's output head `[262144, 640] . [32, 640]^T` in
21.9 ms against 33.8 ms for `jnp.dot`; `[32, 640] @ [640, 2048]` at ~450 GFLOP/s against ~280
with its weights in cache (streamed from memory, both run at ~15 GB/s).

Both ops fall back to the XLA dot (same result up to float32 rounding order) unless all of
these hold, decided when the caller is traced:
  * float32 operands, 2-D, `MIN_ROWS` to `MAX_ROWS` activation rows (a single row is a
    matrix-vector product, which XLA already streams at memory speed: 8.7 ms for the head
    against the kernel's 14.4);
  * the default backend is CPU with a single device (multi-device CPU meshes, used to
    simulate TPU slices, keep XLA's partitionable dot);
  * `$MATHFT_CPU_KERNELS` is not "0";
  * the CPU reports AVX-512F in /proc/cpuinfo (Linux x86-64), and the kernels were built: on
    first use they are compiled with the machine's C++ compiler for its own CPU (see
    `native_build`); no compiler, or a failed build, logs one warning and leaves XLA's dot.
Both ops are differentiable (the backward pass is XLA's dot), so a model that uses them
still trains.
"""
import ctypes
import logging
import os
import threading
from pathlib import Path

import jax
import jax.numpy as jnp

from mathft_jax.kernels.native_build import NativeBuildError, build_shared_library, cpu_flags

ENV_SWITCH = "MATHFT_CPU_KERNELS"
MIN_ROWS = 2
MAX_ROWS = 32
SOURCE = Path(__file__).with_name("cpu_matmul.cc")
_TARGETS = {"mathft_rows_dot_t": "MathftRowsDotT", "mathft_skinny_matmul": "MathftSkinnyMatmul"}
_log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict = {}  # "ready": bool once decided; "error": why not


def _register() -> bool:
    """Builds (or finds) the library and registers its FFI targets once per process."""
    with _lock:
        if "ready" not in _state:
            if "avx512f" not in cpu_flags():  # expected on other CPUs: no warning
                _state.update(ready=False, error="this CPU has no AVX-512F (or no /proc/cpuinfo)")
                return False
            try:
                library = ctypes.cdll.LoadLibrary(str(build_shared_library(SOURCE)))
                for target, symbol in _TARGETS.items():
                    jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(getattr(library, symbol)),
                                                platform="cpu")
                _state["ready"] = True
            except (NativeBuildError, OSError) as error:
                _state.update(ready=False, error=str(error))
                _log.warning("mathft_jax CPU matmul kernels unavailable, using XLA's dot: %s",
                             error)
        return _state["ready"]


def _off_reason() -> str | None:
    """Why the kernels are not used in this process, or None when they are."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return f"${ENV_SWITCH}=0"
    if jax.default_backend() != "cpu" or jax.device_count() != 1:
        return f"backend {jax.default_backend()} with {jax.device_count()} device(s)"
    if not _register():
        return unavailable_reason()
    return None


def kernels_enabled() -> bool:
    """Whether the kernels may be used in this process (see the module docstring)."""
    return _off_reason() is None


def unavailable_reason() -> str | None:
    """Why the kernels failed to build or load, or None (also None before the first try)."""
    return _state.get("error")


def _applies(x: jax.Array, w: jax.Array) -> bool:
    return (x.ndim == 2 and w.ndim == 2 and x.dtype == jnp.float32 and w.dtype == jnp.float32
            and MIN_ROWS <= x.shape[0] <= MAX_ROWS and kernels_enabled())


def _xla_rows_dot_t(w: jax.Array, x: jax.Array) -> jax.Array:
    return jax.lax.dot_general(w, x, (((1,), (1,)), ((), ())),
                               preferred_element_type=jnp.float32)


def _xla_matmul(x: jax.Array, w: jax.Array) -> jax.Array:
    return jnp.matmul(x, w, preferred_element_type=jnp.float32).astype(jnp.result_type(x, w))


def _kernel_differentiated_as(target: str, reference):
    """The FFI call `target`, with the gradient of `reference` (the XLA op it stands for)."""

    @jax.custom_vjp
    def op(a: jax.Array, b: jax.Array) -> jax.Array:
        out = jax.eval_shape(reference, a, b)
        call = jax.ffi.ffi_call(target, jax.ShapeDtypeStruct(out.shape, jnp.float32),
                                vmap_method="sequential")
        return call(a, b)

    def forward(a, b):
        return op(a, b), (a, b)

    def backward(operands, g):
        return jax.vjp(reference, *operands)[1](g)

    op.defvjp(forward, backward)
    return op


_rows_dot_t_kernel = _kernel_differentiated_as("mathft_rows_dot_t", _xla_rows_dot_t)
_skinny_matmul_kernel = _kernel_differentiated_as("mathft_skinny_matmul", _xla_matmul)


def rows_dot_t(w: jax.Array, x: jax.Array) -> jax.Array:
    """`w @ x.T` accumulated in float32: w [M, K], x [B, K] -> float32 [M, B].

    The output head of a decode step in vocabulary-major layout (w is the embedding table).
    """
    if _applies(x, w) and x.shape[1] == w.shape[1]:
        return _rows_dot_t_kernel(w, x)
    return _xla_rows_dot_t(w, x)


def skinny_matmul(x: jax.Array, w: jax.Array, use_kernel: bool = True) -> jax.Array:
    """`x @ w` accumulated in float32, cast back to the operands' type: x [B, K], w [K, N].

    `use_kernel=False` always takes XLA's dot: for a `w` that is a transposed view, which the
    kernel (reading w in stored row-major order) would need copied first.
    """
    if use_kernel and _applies(x, w) and x.shape[1] == w.shape[0]:
        return _skinny_matmul_kernel(x, w)
    return _xla_matmul(x, w)


def describe() -> str:
    """One line for benchmark logs: whether the kernels are in use, and if not, why."""
    why = _off_reason()
    return "CPU matmul kernels: on" if why is None else f"CPU matmul kernels: off ({why})"
