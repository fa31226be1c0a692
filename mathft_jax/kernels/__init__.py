"""Hand-written kernels for what XLA runs slowly on some backend, each with an XLA fallback."""

from mathft_jax.kernels.cpu_matmul import kernels_enabled, rows_dot_t, skinny_matmul

__all__ = ["kernels_enabled", "rows_dot_t", "skinny_matmul"]
